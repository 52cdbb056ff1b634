"""Signals: sending by virtual pid, dispositions, masks, waiting for signals.

rt_sigaction and rt_sigprocmask run natively so that handlers run natively with the
kernel's own frames and masks; the simulated kernel records the dispositions it needs
to decide delivery and reads the native blocked mask when it delivers.
"""
from __future__ import annotations

import errno
import struct

from ..kernel.sigstate import SI_TKILL, SI_USER, NSIG, SigAction, siginfo_bytes
from .args import s32, u32, unpack_timespec
from .outcome import Block, Native, NativePark
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


@handles("pause")
def pause(ctx, *_):
    return NativePark()


@handles("rt_sigsuspend")
def rt_sigsuspend(ctx, mask_ptr, sigsetsize, *_):
    if u32(sigsetsize) != 8:
        return -errno.EINVAL
    # SIGKILL and SIGSTOP can never be blocked (sigprocmask(2))
    mask = struct.unpack("<Q", ctx.mem.read(mask_ptr, 8))[0] & ~((1 << 8) | (1 << 18))
    return NativePark(mask=mask)


@handles("rt_sigpending")
def rt_sigpending(ctx, set_ptr, sigsetsize, *_):
    if u32(sigsetsize) > 8:
        return -errno.EINVAL
    ctx.mem.write(set_ptr, struct.pack("<Q", ctx.task.pending.mask())[:u32(sigsetsize)])
    return 0


def _read_siginfo(ctx, ptr) -> bytes:
    return ctx.mem.read(ptr, 128)


@handles("rt_sigqueueinfo")
def rt_sigqueueinfo(ctx, tgid, sig, info_ptr, *_):
    tgid, sig = s32(tgid), s32(sig)
    if not _valid(sig):
        return -errno.EINVAL
    return ctx.engine.queue_signal(ctx.proc.pid, tgid, None, sig, _read_siginfo(ctx, info_ptr))


@handles("rt_tgsigqueueinfo")
def rt_tgsigqueueinfo(ctx, tgid, tid, sig, info_ptr, *_):
    tgid, tid, sig = s32(tgid), s32(tid), s32(sig)
    if tgid <= 0 or tid <= 0 or not _valid(sig):
        return -errno.EINVAL
    return ctx.engine.queue_signal(ctx.proc.pid, tgid, tid, sig, _read_siginfo(ctx, info_ptr))


@handles("rt_sigtimedwait")
def rt_sigtimedwait(ctx, set_ptr, info_ptr, timeout_ptr, sigsetsize, *_):
    if u32(sigsetsize) != 8:
        return -errno.EINVAL
    wanted = struct.unpack("<Q", ctx.mem.read(set_ptr, 8))[0]
    deadline = None
    if timeout_ptr:
        sec, nsec = unpack_timespec(ctx.mem.read(timeout_ptr, 16))
        if sec < 0 or not 0 <= nsec < 1_000_000_000:
            return -errno.EINVAL
        deadline = ctx.now_ns + sec * 1_000_000_000 + nsec
    task = ctx.task

    def attempt(c):
        for sig in task.pending.signals():
            if wanted & (1 << (sig - 1)):
                info = siginfo_bytes(task.pending.remove(sig))
                if info_ptr:
                    c.mem.write(info_ptr, info.ljust(128, b"\0"))
                return sig
        if deadline is not None and deadline <= c.now_ns:
            return -errno.EAGAIN
        return Block(keys=(("signal", task.tid),), retry=attempt, deadline_ns=deadline,
                     on_timeout=lambda _c: -errno.EAGAIN)

    return attempt(ctx)
