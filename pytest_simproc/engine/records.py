"""The tracer's records: a native thread (Task), what the host knows of a process that
the kernel model does not (ProcInfo), what a handler sees (SyscallContext), and reads of
a native thread's signal state."""
from __future__ import annotations

import signal as _signal

from ..kernel.sigstate import PendingSignals
from ..syscalls import syscall_name
from ..trace import ptrace_ops as pt
from ..trace.memory import TraceeMemory
from ..trace.procstatus import status_sets
from ..trace.ptrace_ops import syscall_args  # noqa: F401  (the engine's name for it)

SIGCHLD = _signal.SIGCHLD


class SyscallContext:
    """What a handler sees: the calling task, its raw arguments, the kernel."""

    __slots__ = ("engine", "task", "nr", "args", "regs", "proc", "table", "mem")

    def __init__(self, engine, task, nr, args, regs):
        self.engine, self.task, self.nr, self.args, self.regs = engine, task, nr, args, regs
        # a task's process, memory and the host's table never change: plain attributes,
        # read without a property's call at every stop
        self.proc, self.table, self.mem = task.proc, engine.table, task.mem

    @property
    def now_ns(self) -> int:
        return self.engine.clock.now_ns

    @property
    def name(self) -> str:
        return syscall_name(self.nr)


class Task:
    """One native thread under the tracer, and what it will do when resumed."""

    __slots__ = ("native", "tgid_native", "tid", "proc", "mem", "stop", "regs", "ctx",
                 "result", "native_call", "fork", "fork_child", "deliver_sig",
                 "block", "wake", "expect_stop", "gone", "exiting", "native_parked",
                 "awaiting_initial", "child_tid_ptr", "pending", "injected",
                 "restart_syscall", "last_syscall", "park_mask",
                 "strace_call", "strace_call_unfinished", "rerun", "saved_regs", "clear_tid",
                 "saved_mem", "exits_alone", "first_regs", "spun", "spun_mark")

    def __init__(self, native: int, proc, tgid_native: int | None = None):
        self.native = native
        self.tgid_native = tgid_native or native
        self.tid = proc.pid
        self.proc = proc
        self.mem = TraceeMemory(native)
        self.stop = None          # the kind of ptrace stop it sits in, None if running
        self.regs = None
        self.ctx = None
        self.result = None        # emulated return value to write at resume
        self.native_call = None   # Native outcome: let the kernel run the call
        self.fork = None          # Fork outcome in progress
        self.fork_child = None    # a vfork's child's virtual pid (or -errno), from its event
        self.deliver_sig = 0      # signal to pass at a signal-delivery-stop
        self.block = None         # (Block, ctx) while parked in an emulated call
        self.wake = None          # why a parked task became runnable
        self.expect_stop = False  # we wait for its next stop as a scheduling point
        self.gone = False
        self.exiting = False
        self.native_parked = False
        self.awaiting_initial = False
        self.child_tid_ptr = 0
        self.pending = PendingSignals()
        self.injected: list[tuple[int, bytes]] = []
        self.restart_syscall = False
        self.last_syscall = None
        self.park_mask = 0        # blocked set while natively parked (sigsuspend's)
        self.strace_call = None   # the strace log's record of the call in progress
        self.strace_call_unfinished = False
        self.rerun = False        # the call starts over after its wait (writeback.RERUN)
        self.saved_regs = None
        self.clear_tid = 0        # CLONE_CHILD_CLEARTID / set_tid_address word
        self.saved_mem = None     # (address, bytes) of the program's, put back at exit
        self.exits_alone = False  # called exit(2): only this thread ends
        self.first_regs = None    # a new child's (putregs mask, registers) at its first stop
        self.spun = 0.0           # real seconds it spun before a preemption (watchdog)
        self.spun_mark = -1       # the host's calls_charged at its last preemption

    def __repr__(self):
        return f"<Task tid={self.tid} native={self.native} stop={self.stop}>"


class ProcInfo:
    """Host-side facts about a simulated process that the kernel model does not hold."""

    __slots__ = ("native", "dispositions", "exit_signal", "vfork_parent", "tasks",
                 "cpu_ns", "children_cpu_ns", "xcpu_next_ns", "sys_ns", "children_sys_ns",
                 "maxrss_kb", "children_maxrss_kb")

    def __init__(self, native, dispositions, exit_signal=SIGCHLD):
        self.native = native
        self.dispositions = dispositions
        self.exit_signal = exit_signal
        self.vfork_parent = None
        self.tasks: list[Task] = []
        self.cpu_ns = 0
        self.children_cpu_ns = 0   # CPU of children it waited for (RUSAGE_CHILDREN)
        self.sys_ns = self.children_sys_ns = 0   # their system part (kernel/rusage.py)
        self.maxrss_kb = 0           # VmHWM its earlier programs and its death reached
        self.children_maxrss_kb = 0
        self.xcpu_next_ns = 0      # RLIMIT_CPU: when the next SIGXCPU is due


class WatchdogState:
    """Shared with the watchdog thread: which task runs natively, since when; ``epoch``
    counts the tracer's waits (a new one starts a new preemption slice), ``asked`` is
    the epoch the watchdog sent its preemption SIGSTOP in."""

    __slots__ = ("task", "since", "fired", "epoch", "asked")

    def __init__(self):
        self.task = None
        self.since = 0.0
        self.fired = None
        self.epoch = 0
        self.asked = -1


def blocked_mask(task: Task) -> int:
    """The thread's blocked set, read from the real kernel (proc(5) SigBlk) while it is
    stopped; while parked in sigsuspend, the mask that call installed."""
    if task.native_parked:
        return task.park_mask
    if task.block is not None and task.block[0].sigmask is not None:
        return task.block[0].sigmask  # ppoll/pselect6/epoll_pwait's temporary mask
    if task.stop is not None:
        try:
            return pt.getsigmask(task.native)
        except pt.PtraceError:
            pass
    return status_sets(task.tgid_native, task.native, (b"SigBlk",)).get(b"SigBlk", 0)


def natively_pending(task: Task) -> int:
    """The signals the real kernel holds pending for the thread or its process."""
    pending = 0
    for value in status_sets(task.tgid_native, task.native, (b"SigPnd", b"ShdPnd")).values():
        pending |= value
    return pending
