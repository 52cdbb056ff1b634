"""A seccomp stop decoded: the registers become a SyscallContext, the family's handler
(or a user's hook) returns an outcome, and the task is set to carry it out at resume.
This is the per-system-call path: keep it lean."""
from __future__ import annotations

import errno
import struct

from ptrace.syscall.linux.i386 import SYSCALL_NAMES as I386_SYSCALL_NAMES

from ..kernel.delivery import kill_info
from ..kernel.errors import KernelError
from ..kernel.sigstate import SI_KERNEL
from ..syscalls import CONDITIONAL, HANDLERS, intercepted_numbers, syscall_name
from ..syscalls.outcome import Block, Fork, Native, NativePark
from ..trace import ptrace_ops as pt
from ..trace.seccomp import (AUDIT_ARCH_X86_64, FOREIGN_ABI_TAG, X32_SYSCALL_BIT,
                             prepared_filter)
from .records import SyscallContext, Task, syscall_args
from .writeback import RERUN, ParkNative, unchanged

MASK64 = pt.MASK64
SYS_SECCOMP = 1              # SIGSYS si_code
AUDIT_ARCH_I386 = 0x40000003
SYS_EXIT, SYS_EXIT_GROUP = 60, 231
# Calls whose exit stop may never come: the log ends their line at entry.
_NO_RETURN = frozenset({SYS_EXIT, SYS_EXIT_GROUP})


class SyscallStops:
    """Seccomp stops: decode, call the handler, apply its outcome."""

    def _on_seccomp(self, task: Task, regs=None, args=None) -> None:
        """``regs`` and ``args``: the stop's registers and the call's arguments when
        ptrace_ops.step read them."""
        if task.native_parked:
            # pause()/sigsuspend() restarted by the kernel after a signal we suppressed
            # (a real SIGCHLD): it goes straight back to sleep, still parked.
            pt.cont(task.native)
            return
        if regs is None:
            regs = pt.getregs(task.native)
            args = syscall_args(regs)
        task.regs = regs
        nr = regs.orig_rax
        task.stop = "seccomp"
        proc = task.proc
        if nr in self._simulated:
            # half in the kernel, half in the code around the call (kernel/rusage.py)
            ns = self.cpu_ns_per_syscall
            self._charge_cpu(proc, self.info[proc.pid], ns, ns >> 1)
            self.calls_charged += 1
        if self.strace_recorded is None and not self._stops_anyway(nr, args):
            self.sched.not_a_turn()   # a stop for the log alone
        task.ctx = ctx = SyscallContext(self, task, nr, args, regs)
        task.last_syscall = nr
        if task.rerun:
            # the same call again after its wait: its line goes on ("<... resumed>")
            task.rerun = False
        elif self.strace is not None:
            task.strace_call = self.strace.syscall_entry(task.tid, nr, args, task.mem,
                                                         self.clock.now_ns, sp=regs.rsp)
        if self.injector is None:
            outcome = self._handle(ctx)
        else:
            hit = self.injector.decide(proc.pid, task.tid, nr)
            outcome = (self._handle(ctx) if hit is None
                       else self._inject_fault(task, ctx, hit))
        self._apply(task, ctx, self._logged(task, outcome))
        if nr == SYS_EXIT and task.exits_alone and isinstance(outcome, Native):
            self._exit_one_thread(task, args[0])

    def _logged(self, task: Task, outcome):
        """A call run natively while the strace log follows it: its line needs the
        native result (an exit stop), or ends at entry for a call that never returns
        and, with logging off, for any call (the record takes no extra stop)."""
        if task.strace_call is not None and isinstance(outcome, Native):
            if task.ctx.nr in _NO_RETURN or (outcome.on_exit is None
                                             and self.strace_recorded is not None):
                self.strace.syscall_noreturn(task.strace_call, self.clock.now_ns)
                task.strace_call = None
            elif outcome.on_exit is None:
                outcome.on_exit = unchanged   # an exit stop for the log alone
                self.sched.not_a_turn()
        return outcome

    def _handle(self, ctx):
        """The outcome of the call: a user's hook, the family's handler, ENOSYS for a
        call not emulated, or the call run as it is."""
        nr = ctx.nr
        extra = self.extra_handlers.get(nr) if self.extra_handlers else None
        if extra is not None:
            outcome = extra(ctx)  # a user's hook: an int, or None to pass
            if outcome is not None:
                return int(outcome)
        handler = HANDLERS.get(nr)
        if handler is not None:
            return self._call(handler, ctx, *ctx.args)
        if nr in self._unsupported:
            self._count_unsupported(syscall_name(nr), ctx.task.proc.pid)
            return -errno.ENOSYS
        return Native()  # only trapped because strace logging wants to see it

    def _inject_fault(self, task: Task, ctx, hit):
        """strace -e inject= (inject.py) at the call's entry: the signal is generated
        first; delay_enter parks the call for a virtual delay before it runs; error= and
        retval= then answer it without running it; delay_exit parks it before it
        returns. Injected results are marked in the strace log as strace marks them."""
        rule = hit.rule
        self.injections.append({"pid": task.proc.pid, "tid": task.tid, "syscall": ctx.name,
                                "invocation": hit.count, "rule": rule.spec})
        if rule.signal is not None:
            # ptrace(2): a signal injected at a syscall stop is sent as by the kernel
            self._post_signal(task.proc.pid, rule.signal,
                              kill_info(rule.signal, SI_KERNEL, 0), task)
        if rule.delay_enter_ns:
            self._note(task, "(DELAYED)")
            # the call runs when the delay ends: its outcome goes through the log then
            return Block(deadline_ns=self.clock.now_ns + rule.delay_enter_ns,
                         on_timeout=lambda c: self._logged(c.task, self._after_entry(c, rule)),
                         interruptible=False)
        return self._after_entry(ctx, rule)

    def _after_entry(self, ctx, rule):
        if rule.skips_call:
            self._note(ctx.task, "(INJECTED)")
            outcome = -rule.error if rule.error is not None else rule.retval
        else:
            outcome = self._handle(ctx)
        if rule.delay_exit_ns:
            self._note(ctx.task, "(DELAYED)")
            outcome = _delayed_return(outcome, rule.delay_exit_ns, self.clock)
        return outcome

    def _note(self, task: Task, note: str) -> None:
        if task.strace_call is not None:
            self.strace.note(task.strace_call, note)

    @staticmethod
    def _call(func, ctx, *args):
        try:
            return func(ctx, *args)
        except KernelError as exc:
            return -exc.errno
        except OSError as exc:  # the program passed a bad pointer
            if exc.errno in (errno.EFAULT, errno.EIO):
                return -errno.EFAULT
            raise

    def _apply(self, task: Task, ctx, outcome) -> None:
        kind = type(outcome)
        if kind is int:   # (the outcomes' exact types first: one test for the common ones)
            self._complete(task, outcome)
        elif kind is Fork:
            task.fork = outcome
        elif isinstance(outcome, int):
            self._complete(task, outcome)
        elif isinstance(outcome, Native):
            if task.stop == "sysexit":
                # a wait parked at its exit stop (its native part ran) is to run
                # natively again: the call starts over, from its entry
                task.result = RERUN
            else:
                task.native_call = outcome
        elif isinstance(outcome, Block):
            task.block = (outcome, ctx)
            self.sched.park(task, outcome.keys, outcome.deadline_ns)
            if outcome.io or outcome.ready is not None:
                self._io_waiters[task] = outcome
                if outcome.ready_each_step:
                    self._step_waiters[task] = outcome
            if task.strace_call is not None and not task.strace_call_unfinished:
                task.strace_call_unfinished = True
                self.strace.syscall_unfinished(task.strace_call, self.clock.now_ns)
        elif isinstance(outcome, Fork):
            task.fork = outcome
        elif isinstance(outcome, NativePark):
            task.native_call = ParkNative(mask=outcome.mask)
        else:
            raise TypeError(f"handler for {ctx.name} returned {outcome!r}")

    def add_extra_handlers(self, handlers: dict) -> None:
        """Trap these syscall numbers too and offer them to ``handler(ctx)`` first;
        programs spawned from now on get the larger filter."""
        self.extra_handlers.update(handlers)
        self._simulated = intercepted_numbers() | frozenset(self.extra_handlers)
        self._off_traps = self._trapped_numbers()
        if self.strace_recorded is not None:
            self.strace_recorded = self._recorded_numbers()
            self.strace.set_numbers(self.strace_recorded)
            self._filter = prepared_filter(self._off_traps, CONDITIONAL)

    def _count_unsupported(self, name: str, pid: int) -> None:
        key = (name, pid)
        self.unsupported[key] = self.unsupported.get(key, 0) + 1

    def _refuse_foreign_call(self, task: Task, info: bytes) -> None:
        """A call through another ABI (seccomp.build_filter): it did not run, and
        returns -ENOSYS (SECCOMP_RET_TRAP leaves the number in rax, for a handler to
        see); the host counts it as unsupported, under a name saying so."""
        regs = pt.getregs(task.native)
        regs.rax = -errno.ENOSYS & MASK64
        pt.setregs(task.native, regs)
        nr, arch = struct.unpack_from("<iI", info, 24)  # siginfo _sigsys: si_syscall, si_arch
        if arch == AUDIT_ARCH_X86_64:
            name = f"x32 syscall {nr & ~X32_SYSCALL_BIT}"
        elif arch == AUDIT_ARCH_I386:
            name = f"i386 {I386_SYSCALL_NAMES.get(nr, f'syscall {nr}')}"
        else:
            name = f"syscall {nr} of audit arch {arch:#x}"
        self._count_unsupported(name, task.proc.pid)


def _delayed_return(outcome, delay_ns: int, clock):
    """The call's result, held back for ``delay_ns`` of virtual time after the call
    completes (delay_exit): a result parks, a native call parks at its exit stop, a
    blocking call parks once its wait ends."""
    def hold(result):
        if isinstance(result, Block):
            return _delayed_return(result, delay_ns, clock)
        return Block(deadline_ns=clock.now_ns + delay_ns, on_timeout=lambda _c: result,
                     interruptible=False)
    if isinstance(outcome, int):
        return hold(outcome)
    if isinstance(outcome, Native):
        inner = outcome.on_exit
        outcome.on_exit = (lambda c, r: hold(inner(c, r))) if inner else (lambda c, r: hold(r))
        return outcome
    if isinstance(outcome, Block):
        retry, on_timeout = outcome.retry, outcome.on_timeout
        if retry is not None:
            outcome.retry = lambda c: _delayed_return(retry(c), delay_ns, clock)
        if on_timeout is not None:
            outcome.on_timeout = lambda c: hold(on_timeout(c))
        return outcome
    return outcome  # a fork or a native sleep: returns when it returns


def is_foreign_abi_trap(info: bytes) -> bool:
    """Our filter's SIGSYS: si_code SYS_SECCOMP, our tag in si_errno (a program's own
    seccomp filter may send SIGSYS too)."""
    _signo, errno_, code = struct.unpack_from("<iii", info)
    return code == SYS_SECCOMP and errno_ == FOREIGN_ABI_TAG
