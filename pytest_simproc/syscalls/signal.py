"""Signals: sending by virtual pid, dispositions, masks, waiting for signals.

rt_sigaction and rt_sigprocmask run natively so that handlers run natively with the
kernel's own frames and masks; the simulated kernel records the dispositions it needs
to decide delivery and reads the native blocked mask when it delivers.
"""
from __future__ import annotations

import errno
import os
import signal as _signal
import struct

from ..kernel.rlimits import RLIMIT_SIGPENDING
from ..kernel.table import INIT_PID
from ..kernel.sigstate import (SI_MESGQ, SI_TKILL, SI_USER, SIGRTMIN_KERNEL, NSIG, SigAction,
                               kill_targets, siginfo_bytes)
from ..trace import ptrace_ops as pt
from ..trace.procstatus import credentials, status_sets
from .args import einval_on_invalid, read_timespec, s32, u32
from .timer import not_of_the_kind
from .outcome import Block, Native, NativePark, eventfd_in_place
from . import procfs
from .registry import handles

SIGKILL, SIGSTOP, SIGCONT = 9, 19, 18
CAP_KILL = 5  # capabilities(7)
_UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))  # sigprocmask(2)


def _valid(sig: int) -> bool:
    return 0 <= sig <= NSIG


def _send(sig: int, send) -> int:
    """``send(sig)`` for a valid signal; for an invalid one the kernel looks the target
    up first (ESRCH when there is none) and refuses the signal after (EINVAL, from
    check_kill_permission, before any permission check): ``send(0)`` is that look-up."""
    if _valid(sig):
        return send(sig)
    found = send(0)
    return found if found == -errno.ESRCH else -errno.EINVAL


def _may_signal_all(ctx) -> bool:
    """The sender has CAP_KILL (or its ids cannot be read: the host lets it)."""
    sender = credentials(ctx.task.tgid_native, ctx.task.native)
    return sender is None or bool(sender[1] & (1 << CAP_KILL))


def _permitted(ctx, pid: int, thread=None) -> bool:
    """kill(2): a sender without CAP_KILL must have a real or effective user id that
    is the receiver's real or saved one; SIGCONT within a session always goes. The ids
    are the native process's: set-user-ID calls run natively."""
    sender = credentials(ctx.task.tgid_native, ctx.task.native)
    if sender is None or sender[1] & (1 << CAP_KILL):
        return True
    if pid == INIT_PID or ctx.table.is_outsider(pid):
        # the host's init has no native process: its ids are those its /proc status
        # shows, the machine's test process's (procview); the outsider is the test
        receiver_ids = os.getresuid()
    else:
        if thread is None:
            thread = ctx.engine.tasks_by_tid.get(pid)
        if thread is None:
            return True  # no live thread to ask: the host answers (ESRCH, a zombie's 0)
        receiver = credentials(thread.tgid_native, thread.native)
        if receiver is None:
            return True
        receiver_ids = receiver[0]
    real, effective, _ = sender[0]
    their_real, _, their_saved = receiver_ids
    return bool({real, effective} & {their_real, their_saved})


def _may_signal(ctx, pid: int, sig: int, thread=None) -> bool:
    if pid == ctx.proc.pid:
        return True  # a process may always signal itself (its ids are its own)
    proc = ctx.table.get(pid)
    if proc is None:
        return True
    if sig == SIGCONT and proc.sid == ctx.proc.sid:
        return True
    return _permitted(ctx, pid, thread)


@handles("kill")
def kill(ctx, pid, sig, *_):
    pid = s32(pid)
    return _send(s32(sig), lambda n: _kill(ctx, pid, n))


def _kill(ctx, pid: int, sig: int) -> int:
    if pid > 0 and not _may_signal(ctx, pid, sig):
        return -errno.EPERM
    if pid <= 0 and not _may_signal_all(ctx):
        # a group or everyone: those it may signal get it; EPERM if none (kill(2))
        targets = kill_targets(ctx.table, ctx.proc.pid, pid)
        allowed = [p.pid for p in targets if _may_signal(ctx, p.pid, sig)]
        if targets and len(allowed) < len(targets):
            for target in allowed:
                ctx.engine.kill(ctx.proc.pid, target, sig, code=SI_USER)
            return 0 if allowed else -errno.EPERM
    return ctx.engine.kill(ctx.proc.pid, pid, sig, code=SI_USER)


def _queue_full(ctx, pid: int, sig: int) -> bool:
    """getrlimit(2) RLIMIT_SIGPENDING: a real-time signal sent with a siginfo the
    kernel does not own (sigqueue, tkill, tgkill) fails with EAGAIN once the signals
    queued for the user (every process of the host, standard and real-time) reach the
    receiver's limit; kill(2) and standard signals are always sent."""
    target = ctx.table.get(pid)
    if sig < SIGRTMIN_KERNEL or target is None:
        return False
    queued = sum(t.pending.queued() for t in ctx.engine.tasks_by_tid.values())
    return queued >= target.rlimits[RLIMIT_SIGPENDING][0]


@handles("tkill")
def tkill(ctx, tid, sig, *_):
    tid = s32(tid)
    if tid <= 0:
        return -errno.EINVAL
    return _send(s32(sig), lambda n: _kill_thread(ctx, None, tid, n))


@handles("tgkill")
def tgkill(ctx, tgid, tid, sig, *_):
    tgid, tid = s32(tgid), s32(tid)
    if tgid <= 0 or tid <= 0:
        return -errno.EINVAL
    return _send(s32(sig), lambda n: _kill_thread(ctx, tgid, tid, n))


def _kill_thread(ctx, tgid, tid: int, sig: int) -> int:
    thread = ctx.engine.tasks_by_tid.get(tid)
    if thread is not None and (tgid is None or tgid == thread.proc.pid):
        if not _may_signal(ctx, thread.proc.pid, sig, thread):
            return -errno.EPERM
        if _queue_full(ctx, thread.proc.pid, sig):
            return -errno.EAGAIN
    return ctx.engine.kill_thread(ctx.proc.pid, tgid, tid, sig)


def _recheck_pending(ctx, *_):
    """The mask may have changed: take the exit stop only if a signal is waiting."""
    if ctx.task.pending:
        return Native(on_exit=lambda c, result: result)
    return Native()


@handles("rt_sigaction")
def rt_sigaction(ctx, sig, act, oldact, sigsetsize, *_):
    # the kernel's order: the size, the new action read (EFAULT), then the signal
    sig = s32(sig)
    if sigsetsize != 8:
        return -errno.EINVAL
    new = struct.unpack("<QQQQ", ctx.mem.read(act, 32)) if act else None
    if not 1 <= sig <= NSIG or new and sig in (SIGKILL, SIGSTOP):
        return -errno.EINVAL
    if new:
        handler, flags, _restorer, mask = new
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
    if sigsetsize != 8:  # a size_t, compared whole
        return -errno.EINVAL
    mask = struct.unpack("<Q", ctx.mem.read(mask_ptr, 8))[0] & ~_UNBLOCKABLE
    return NativePark(mask=mask)


@handles("rt_sigpending")
def rt_sigpending(ctx, set_ptr, sigsetsize, *_):
    if sigsetsize > 8:
        return -errno.EINVAL
    pending = ctx.task.pending.mask() | _raised_by_calls(ctx.task, _kernel_sent(ctx))
    ctx.mem.write(set_ptr, struct.pack("<Q", pending)[:sigsetsize])
    return 0


# Signals the real kernel sends a thread for its own call (a write beyond RLIMIT_FSIZE,
# to a pipe without reader): pending natively while blocked (signal(7)).
_RAISED_BY_CALLS = (1 << (_signal.SIGXFSZ - 1)) | (1 << (_signal.SIGPIPE - 1))


def _kernel_sent(ctx) -> int:
    """The signals the real kernel may hold pending, blocked, for the calling thread:
    those raised by its own calls, and any once its process asked a message queue
    for a signal (mq_notify(3)) or owns a descriptor's signals (fcntl(2) F_SETOWN,
    F_NOTIFY, F_SETLEASE): the kernel sends those natively."""
    return -1 if ctx.proc.pid in ctx.engine.kernel_signalled else _RAISED_BY_CALLS


def _raised_by_calls(task, kinds: int = _RAISED_BY_CALLS) -> int:
    """The signals of ``kinds`` the real kernel holds pending for the thread."""
    pending = 0
    for native in status_sets(task.tgid_native, task.native, (b"SigPnd", b"ShdPnd")).values():
        pending |= native & kinds
    return pending


def _own_pid_in(ctx, info_ptr: int, result: int) -> int:
    """A kernel-sent signal's siginfo names a native pid: the virtual one instead."""
    if result > 0 and info_ptr:
        info = ctx.mem.read(info_ptr, 128)
        code, pid = struct.unpack_from("<i4xi", info, 8)
        if code == SI_USER and pid == ctx.task.tgid_native:
            ctx.mem.write_i32(info_ptr + 16, ctx.proc.pid)
        elif code == SI_MESGQ:
            ctx.mem.write(info_ptr, ctx.engine.mesgq_info(info))
    return result


def _read_siginfo(ctx, ptr) -> bytes:
    return ctx.mem.read(ptr, 128)


def _queue(ctx, tgid, tid, sig, info_ptr):
    """rt_sigqueueinfo(2)'s checks in the kernel's order: the siginfo read (EFAULT),
    a kernel-only si_code for another process (EPERM), the target, the signal."""
    info = _read_siginfo(ctx, info_ptr)
    code = struct.unpack_from("<i", info, 8)[0]
    # compared with the caller's own tid (task_pid_vnr(current)): the thread's for
    # rt_tgsigqueueinfo, the pid for rt_sigqueueinfo
    if (code >= 0 or code == SI_TKILL) and (tgid if tid is None else tid) != ctx.task.tid:
        return -errno.EPERM
    if tid is None:
        thread = ctx.engine.tasks_by_tid.get(tgid)
        if thread is not None:
            tgid = thread.proc.pid  # a thread's id names its process (kill(2) does the same)

    thread = ctx.engine.tasks_by_tid.get(tid) if tid is not None else None
    if thread is not None and thread.proc.pid != tgid:
        thread = None  # not that process's: ESRCH, from the kernel model

    def send(n):
        if (tid is None or thread is not None) and not _may_signal(ctx, tgid, n, thread):
            return -errno.EPERM
        # RLIMIT_SIGPENDING: the kernel's own codes (>= 0, allowed only to oneself)
        # bypass the limit
        if n and code < 0 and _queue_full(ctx, tgid, n):
            return -errno.EAGAIN
        return ctx.engine.queue_signal(ctx.proc.pid, tgid, tid, n, info)
    return _send(sig, send)


@handles("rt_sigqueueinfo")
def rt_sigqueueinfo(ctx, tgid, sig, info_ptr, *_):
    return _queue(ctx, s32(tgid), None, s32(sig), info_ptr)


@handles("rt_tgsigqueueinfo")
def rt_tgsigqueueinfo(ctx, tgid, tid, sig, info_ptr, *_):
    tgid, tid = s32(tgid), s32(tid)
    if tgid <= 0 or tid <= 0:
        _read_siginfo(ctx, info_ptr)  # EFAULT first
        return -errno.EINVAL
    return _queue(ctx, tgid, tid, s32(sig), info_ptr)


@handles("rt_sigtimedwait")
@einval_on_invalid
def rt_sigtimedwait(ctx, set_ptr, info_ptr, timeout_ptr, sigsetsize, *_):
    if sigsetsize != 8:
        return -errno.EINVAL
    wanted = struct.unpack("<Q", ctx.mem.read(set_ptr, 8))[0]
    deadline = ctx.now_ns + read_timespec(ctx, timeout_ptr) if timeout_ptr else None
    task = ctx.task
    # A signal of the set that arrives during the wait is taken by the call, blocked
    # or not: its handler does not run (sigwaitinfo(2)). While parked, the set counts
    # as blocked, so the host leaves it pending for the retry to dequeue.
    waiting_mask = (pt.getsigmask(task.native) | wanted) & ~_UNBLOCKABLE
    kinds = _kernel_sent(ctx)

    def attempt(c):
        for sig in task.pending.signals():
            if wanted & (1 << (sig - 1)):
                info = siginfo_bytes(task.pending.remove(sig))
                if info_ptr:
                    c.mem.write(info_ptr, info.ljust(128, b"\0"))
                return sig
        if wanted & kinds and _raised_by_calls(task, kinds) & wanted:
            # a signal the kernel sent while blocked (SIGXFSZ, SIGPIPE, a queue's
            # notification): it takes it itself
            return Native(on_exit=lambda c2, r: _own_pid_in(c2, info_ptr, r))
        if deadline is not None and deadline <= c.now_ns:
            return -errno.EAGAIN
        # the kernel's own signals may come while it waits (looked at when idle)
        ready = (lambda: bool(_raised_by_calls(task, kinds) & wanted)) if kinds == -1 else None
        return Block(keys=(("signal", task.tid),), retry=attempt, deadline_ns=deadline,
                     on_timeout=lambda _c: -errno.EAGAIN, sigmask=waiting_mask, ready=ready)

    return attempt(ctx)


# ---------------------------------------------------------------- signalfd
SFD_NONBLOCK, SFD_CLOEXEC = 0o4000, 0o2000000
SIGNALFD_SIGINFO_SIZE = 128


def _signalfd(ctx, fd, mask_ptr, sizemask, flags):
    # the kernel's order: the size, the mask read (EFAULT), then the flags
    if sizemask != 8:
        return -errno.EINVAL
    # signalfd(2): SIGKILL and SIGSTOP in the mask are silently ignored
    mask = struct.unpack("<Q", ctx.mem.read(mask_ptr, 8))[0] & ~_UNBLOCKABLE
    if flags & ~(SFD_NONBLOCK | SFD_CLOEXEC):
        return -errno.EINVAL
    fd = s32(fd)
    if fd != -1:
        sfd = signalfd_at(ctx, fd)
        if sfd is None:
            return not_of_the_kind(ctx, fd)
        sfd.mask = mask
        ctx.engine.signalfd_update(ctx.proc.pid)
        return fd

    # An eventfd stands in for it: the host makes it readable while a signal of the
    # mask is pending, and answers reads itself.
    return eventfd_in_place(flags, lambda c, newfd: c.engine.signalfd_created(c.task, newfd, mask))


@handles("signalfd")
def signalfd(ctx, fd, mask_ptr, sizemask, *_):
    return _signalfd(ctx, fd, mask_ptr, sizemask, 0)


@handles("signalfd4")
def signalfd4(ctx, fd, mask_ptr, sizemask, flags, *_):
    return _signalfd(ctx, fd, mask_ptr, sizemask, s32(flags))


def signalfd_at(ctx, fd: int):
    """The signalfd the caller's descriptor ``fd`` is (under any number), or None."""
    return ctx.engine.fd_object(ctx.engine.signalfds, ctx.task, fd)


def signalfd_siginfo(info: bytes) -> bytes:
    """struct signalfd_siginfo from a siginfo_t (signalfd(2)), by its si_code."""
    info = info.ljust(128, b"\0")
    signo, err, code = struct.unpack_from("<iii", info, 0)
    pid, uid = struct.unpack_from("<ii", info, 16)
    status, tid, overrun, value, utime, stime = 0, 0, 0, 0, 0, 0
    if signo == 17 and code > 0:  # SIGCHLD from the kernel: pid, uid, status, times
        status = struct.unpack_from("<i", info, 24)[0]
        utime, stime = struct.unpack_from("<qq", info, 32)
    elif code == -2:  # SI_TIMER: timer id, overrun, value
        tid, overrun = pid, uid
        pid = uid = 0
        value = struct.unpack_from("<q", info, 24)[0]
    elif code == -1:  # SI_QUEUE: pid, uid, value
        value = struct.unpack_from("<q", info, 24)[0]
    out = struct.pack("<IiiIIiIIIIiiQQQQ", signo, err, code, pid & 0xFFFFFFFF,
                      uid & 0xFFFFFFFF, 0, tid, 0, overrun, 0, status, value & 0xFFFFFFFF,
                      value & (2**64 - 1), utime, stime, 0)
    return out.ljust(SIGNALFD_SIGINFO_SIZE, b"\0")


def read_signalfd(ctx, sfd, buf, count):
    """read(2) of a signalfd: dequeue pending signals of its mask, one record each."""
    room = count // SIGNALFD_SIGINFO_SIZE
    if room == 0:
        return -errno.EINVAL
    task = ctx.task

    def attempt(c):
        records = []
        for sig in task.pending.signals():
            if len(records) == room:
                break
            if sfd.mask & (1 << (sig - 1)):
                records.append(signalfd_siginfo(siginfo_bytes(task.pending.remove(sig))))
        if records:
            c.mem.write(buf, b"".join(records))
            c.engine.signalfd_update(c.proc.pid)
            return len(records) * SIGNALFD_SIGINFO_SIZE
        if sfd.nonblocking():
            return -errno.EAGAIN
        return Block(keys=(("signal", task.tid),), retry=attempt, restart=True)

    return attempt(ctx)


@handles("pidfd_send_signal")
def pidfd_send_signal(ctx, pidfd, sig, info_ptr, flags, *_):
    pidfd, sig = s32(pidfd), s32(sig)
    if u32(flags) or not _valid(sig):
        return -errno.EINVAL
    target = ctx.engine.pidfd_target(ctx.task, pidfd)
    if target is None:  # or a descriptor of a /proc/<pid> directory (pidfd_send_signal(2))
        target = procfs.process_of_dir(ctx, pidfd)
    if target is None:
        return -errno.EBADF
    if target == 0:
        return -errno.ESRCH  # its process is gone, whoever has its number now
    if info_ptr:
        # pidfd_send_signal(2): the siginfo's own signal must be the one sent
        if struct.unpack_from("<i", _read_siginfo(ctx, info_ptr))[0] != sig:
            return -errno.EINVAL
        return _queue(ctx, target, None, sig, info_ptr)
    if not _may_signal(ctx, target, sig):
        return -errno.EPERM
    return ctx.engine.kill(ctx.proc.pid, target, sig, code=SI_USER)
