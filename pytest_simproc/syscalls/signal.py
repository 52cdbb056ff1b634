"""Signals: sending by virtual pid, dispositions, masks, waiting for signals.

rt_sigaction and rt_sigprocmask run natively so that handlers run natively with the
kernel's own frames and masks; the simulated kernel records the dispositions it needs
to decide delivery and reads the native blocked mask when it delivers.
"""
from __future__ import annotations

import errno
import struct

from ..kernel.sigstate import SI_TKILL, SI_USER, NSIG, SigAction
from .args import s32, u32
from .outcome import Native, NativePark
from .registry import handles

SIGKILL, SIGSTOP = 9, 19


def _valid(sig: int) -> bool:
    return 0 <= sig <= NSIG


@handles("kill")
def kill(ctx, pid, sig, *_):
    pid, sig = s32(pid), s32(sig)
    if not _valid(sig):
        return -errno.EINVAL
    return ctx.engine.kill(ctx.proc.pid, pid, sig, code=SI_USER)


@handles("tkill")
def tkill(ctx, tid, sig, *_):
    tid, sig = s32(tid), s32(sig)
    if tid <= 0 or not _valid(sig):
        return -errno.EINVAL
    return ctx.engine.kill_thread(ctx.proc.pid, None, tid, sig)


@handles("tgkill")
def tgkill(ctx, tgid, tid, sig, *_):
    tgid, tid, sig = s32(tgid), s32(tid), s32(sig)
    if tgid <= 0 or tid <= 0 or not _valid(sig):
        return -errno.EINVAL
    return ctx.engine.kill_thread(ctx.proc.pid, tgid, tid, sig)


def _recheck_pending(ctx, *_):
    """The mask may have changed: take the exit stop only if a signal is waiting."""
    if ctx.task.pending:
        return Native(on_exit=lambda c, result: result)
    return Native()


@handles("rt_sigaction")
def rt_sigaction(ctx, sig, act, oldact, sigsetsize, *_):
    sig = s32(sig)
    if u32(sigsetsize) != 8 or not 1 <= sig <= NSIG:
        return -errno.EINVAL
    if act:
        if sig in (SIGKILL, SIGSTOP):
            return -errno.EINVAL
        handler, flags, _restorer, mask = struct.unpack("<QQQQ", ctx.mem.read(act, 32))
        ctx.engine.dispositions(ctx.proc.pid).set(sig, SigAction(handler, flags, mask))
    return Native()


@handles("rt_sigprocmask")
def rt_sigprocmask(ctx, *_):
    return _recheck_pending(ctx)


@handles("rt_sigreturn")
def rt_sigreturn(ctx, *_):
    return _recheck_pending(ctx)


@handles("pause", "rt_sigsuspend")
def wait_for_signal(ctx, *_):
    return NativePark()
