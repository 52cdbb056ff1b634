"""The tracer side of a host: native tasks, their ptrace stops, and the simulated kernel.

Everything here runs on the host's tracer thread (ptrace requests must come from the
tracer). Data flows one way, module by module:

  trap.py       the stop loop: run the scheduler's pick, resume and wait for its ptrace
                stop in one call (trace/_ptrace.c step), dispatch
  decode.py     a seccomp stop -> SyscallContext -> the family's handler -> an outcome
  (syscalls/ -> kernel/)  the handler asks the kernel model; the kernel decides
  writeback.py  the outcome carried out at resume: rax, a native call with other registers
  log.py        the strace log's lines for what happened

beside them: records.py (Task, ProcInfo), lifecycle.py (adopt, exec, exit, retire),
deliver.py (kernel.delivery's outcomes carried out on native threads), fdobjects.py
(signalfd, timerfd, pidfd tables), epolledges.py (EPOLLEXCLUSIVE targets' wake-ups),
teardown.py (kill, drain, the survivors proof), and
core.py, the ``Engine`` façade that the rest of the code uses.
"""
from .core import CPU_NS_PER_SYSCALL, Engine
from .records import ProcInfo, SyscallContext, Task

__all__ = ["Engine", "Task", "ProcInfo", "SyscallContext", "CPU_NS_PER_SYSCALL"]
