"""Carrying a call's outcome out on the native thread at resume: an emulated result
written into rax (the real call skipped), a restart after a handler, or the call run
natively with other registers and memory, the program's own put back at its exit stop."""
from __future__ import annotations

import errno
import struct

from ..syscalls.outcome import Block, Native
from ..trace import ptrace_ops as pt
from .records import Task, blocked_mask

MASK64 = pt.MASK64
# the registers a stop changes, set one by one (ptrace_ops.putregs: a few POKEUSERs
# cost less than a SETREGS of all of them)
_RAX, _RESULT = pt.REG_BIT["rax"], pt.reg_mask(("orig_rax", "rax"))
_RESTART = pt.reg_mask(("orig_rax", "rax", "rip"))
_CONT, _SYSCALL = pt.PTRACE_CONT, pt.PTRACE_SYSCALL   # ptrace_ops.step's requests
SYS_RT_SIGSUSPEND = 130


# task.result of a call parked at its exit stop whose retry runs it natively again:
# back over `syscall`, so that it enters (and stops at the filter) anew
RERUN = object()


class WriteBack:
    """Resuming a stopped task with what its call decided."""

    def _resume(self, task: Task) -> int:
        """Carry out the stop's decision; returns the request that resumes the task
        (ptrace_ops.step's ``how``: _await makes it with its wait), or 0 when none is
        left to make."""
        if task.pending:
            self._deliver_pending(task)
            if task.gone or task.exiting or task.proc.state != "running":
                return 0
            if task.block is not None:  # delivery decided the parked call's result
                return 0
        kind, task.stop = task.stop, None
        task.expect_stop = True
        if kind == "seccomp":
            regs = task.regs
            if task.result is not None:
                regs.orig_rax = MASK64
                if task.restart_syscall:
                    # re-execute the call after the handler: rip back over `syscall`
                    task.restart_syscall = False
                    regs.rip -= 2
                    regs.rax = task.ctx.nr
                    changed = _RESTART
                else:
                    regs.rax = task.result & MASK64
                    changed = _RESULT
                task.result = None
                pt.putregs(task.native, changed, regs)
                return _CONT
            if task.fork is not None:
                rewrite_for_native(task, regs, task.fork.regs, task.fork.patch)
                return _SYSCALL
            call, task.native_call = task.native_call, None
            if call.regs or call.patch:
                rewrite_for_native(task, regs, call.regs, call.patch)
                if call.on_exit is None:
                    call.on_exit = unchanged
            if call.on_exit is not None:
                task.native_call = call  # keep on_exit for the exit stop
                return _SYSCALL
            if isinstance(call, ParkNative):
                task.park_mask = call.mask if call.mask is not None else blocked_mask(task)
                pt.cont(task.native)
                task.native_parked = True
                task.expect_stop = False
                self.sched.park(task, keys=(("native-park", task.tid),))
                if task.pending:  # e.g. sigsuspend unblocks a pending signal
                    self._deliver_pending(task)
                return 0
            return _CONT
        if kind == "signal":
            sig, task.deliver_sig = task.deliver_sig, 0
            return _CONT | sig << 16
        if kind == "sysexit" and task.result is RERUN:
            regs = task.regs
            task.result = None
            task.rerun = True
            regs.rip -= 2
            regs.rax = task.ctx.nr
            pt.putregs(task.native, _RESTART, regs)
        elif kind == "sysexit" and task.result is not None:
            regs = task.regs  # a call that waited at its exit stop: its result now
            regs.rax = task.result & MASK64
            task.result = None
            # -ERESTARTSYS at an exit stop: the kernel itself restarts the call after
            # the handler (the call really ran, unlike a skipped one)
            task.restart_syscall = False
            pt.putregs(task.native, _RAX, regs)
        return _CONT

    def _on_sysexit(self, task: Task, result=None) -> None:
        """``result``: the call's return value (rax, signed) when ptrace_ops.step read
        it. The registers of the call's entry stop are the buffer for the ones put
        back (putregs writes only those it names; rax is the one the call changed that
        matters here), so the exit stop reads rax alone."""
        if result is None:
            result = pt.getrax(task.native)
        regs = task.regs
        if regs is None:   # (no entry stop seen: read them all)
            regs = pt.getregs(task.native)
        value = result
        if task.fork is not None:
            fork, task.fork = task.fork, None
            if result > 0:
                # the native child's pid: the child is known from here on, by its
                # virtual pid (a vfork's child already is, since its vfork event)
                value = (task.fork_child if task.fork_child is not None
                         else self._adopt_child(task, result, fork))
                if fork.parent_tid_ptr and value > 0:
                    task.mem.put_i32(fork.parent_tid_ptr, value)
                if fork.pidfd_ptr and value > 0:
                    self._clone_pidfd(task, fork.pidfd_ptr, value)
            task.fork_child = None
        elif task.native_call is not None:
            call, task.native_call = task.native_call, None
            value = call.on_exit(task.ctx, result)
        saved = put_back(task, regs)
        task.stop = "sysexit"
        if isinstance(value, Block):
            # The native part is done but the call must still wait (a connect in
            # progress): park at the exit stop; the result goes into rax at resume.
            task.regs = regs
            if saved:
                pt.putregs(task.native, saved, regs)
            self._apply(task, task.ctx, value)
            return
        if value != result or saved:
            regs.rax = value & MASK64
            pt.putregs(task.native, saved | _RAX, regs)
        self._log_exit(task, value)

    def _clone_pidfd(self, task: Task, ptr: int, pid: int) -> None:
        """CLONE_PIDFD: the pidfd the kernel wrote for the native child names the
        virtual one (clone(2))."""
        try:
            fd = struct.unpack("<i", task.mem.read(ptr, 4))[0]
        except OSError:
            return
        if fd >= 0:
            self.pidfd_created(task, fd, pid)

    def _complete(self, task: Task, result: int) -> None:
        """An emulated call has its result: it is written back at the next resume."""
        task.result = result
        self._log_exit(task, result)


class ParkNative(Native):
    """Native call that sleeps until a signal: pause(2), rt_sigsuspend(2)."""

    def __init__(self, mask=None):
        super().__init__()
        self.mask = mask


def rewrite_for_native(task: Task, regs, new_regs: dict, patch=None) -> None:
    """Run the call natively with other argument registers (and bytes of memory) than
    the program's, keeping the program's for put_back: the kernel preserves argument
    registers across a call, and the program may rely on that."""
    if new_regs:
        task.saved_regs = {name: getattr(regs, name) for name in new_regs}
        for name, value in new_regs.items():
            setattr(regs, name, value & MASK64)
        pt.putregs(task.native, pt.reg_mask(new_regs), regs)
    if patch is not None:
        addr, data = patch
        task.saved_mem = (addr, task.mem.read(addr, len(data)))
        task.mem.write(addr, data)


def put_back(task: Task, regs) -> int:
    """Restore what rewrite_for_native changed: memory at once, registers into
    ``regs``; the mask of the registers that changed and must be set (0: none)."""
    if task.saved_mem is not None:
        addr, data = task.saved_mem
        task.saved_mem = None
        task.mem.write(addr, data)
    saved, task.saved_regs = task.saved_regs, None
    if not saved:
        return 0
    for name, original in saved.items():
        setattr(regs, name, original)
    return pt.reg_mask(saved)


def unchanged(_ctx, result: int) -> int:
    return result


def eintr_after_handler(_ctx, _result: int) -> int:
    return -errno.EINTR
