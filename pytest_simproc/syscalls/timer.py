"""Timers: alarm, interval timers and POSIX timers, all in virtual time.

The state lives in kernel/timers.py; these handlers decode and encode the structures.
A timerfd is a real eventfd in the program (created in its place: reading one gives
the same 8-byte count and resets it, and both poll the same way); the host adds the
expirations to it at their virtual times, and reads of it are gated like any other
descriptor's.
"""
from __future__ import annotations

import errno
import os
import struct

from ..kernel.timers import SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID
from .args import checked_timespec, checked_timeval, einval_on_invalid, pack_timespec, s32, u32
from .time import cpu_clock_ns, dynamic_clock
from .outcome import Native, eventfd_in_place
from .registry import handles

NSEC = 1_000_000_000
_VALID_CLOCKS = frozenset({0, 1, 2, 3, 7, 8, 9, 11})
_NO_TIMERS = frozenset({4, 5, 6})  # MONOTONIC_RAW and the COARSE clocks: EOPNOTSUPP


def _read_itimerval(ctx, ptr) -> tuple[int, int]:
    """struct itimerval (interval, value) in ns: read whole (EFAULT), then checked."""
    data = ctx.mem.read(ptr, 32)
    return checked_timeval(data[:16]), checked_timeval(data[16:])


def _read_itimerspec(ctx, ptr) -> tuple[int, int]:
    """struct itimerspec (interval, value) in ns: read whole (EFAULT), then checked."""
    data = ctx.mem.read(ptr, 32)
    return checked_timespec(data[:16]), checked_timespec(data[16:])


def _timeval(ns: int) -> bytes:
    # setitimer(2): values are rounded up to whole microseconds
    us = (ns + 999) // 1000
    return struct.pack("<qq", us // 1_000_000, us % 1_000_000)


@handles("alarm")
def alarm(ctx, seconds, *_):
    return ctx.engine.timers.alarm(ctx.proc.pid, u32(seconds))


@handles("getitimer")
def getitimer(ctx, which, value_ptr, *_):
    value, interval = ctx.engine.timers.getitimer(ctx.proc.pid, s32(which))
    ctx.mem.write(value_ptr, _timeval(interval) + _timeval(value))
    return 0


@handles("setitimer")
@einval_on_invalid
def setitimer(ctx, which, new_ptr, old_ptr, *_):
    interval = value = 0
    if new_ptr:  # a NULL new value disarms, as Linux still accepts
        interval, value = _read_itimerval(ctx, new_ptr)
    old_value, old_interval = ctx.engine.timers.setitimer(ctx.proc.pid, s32(which), value,
                                                          interval)
    if old_ptr:
        ctx.mem.write(old_ptr, _timeval(old_interval) + _timeval(old_value))
    return 0


@handles("timer_create")
def timer_create(ctx, clock_id, sevp, timerid_ptr, *_):
    """timer_create(2) in the kernel's order: the sigevent read (EFAULT), the clock,
    the sigevent's checks (EINVAL), the new id written (EFAULT), then a CPU clock's
    owner (EINVAL)."""
    event = struct.unpack("<qiii", ctx.mem.read(sevp, 20)) if sevp else None
    clock_id = s32(clock_id)
    if clock_id >= 0 and clock_id not in _VALID_CLOCKS:
        return -errno.EOPNOTSUPP if clock_id in _NO_TIMERS else -errno.EINVAL
    if dynamic_clock(clock_id):
        return -errno.EOPNOTSUPP
    notify, signo, sigval, target = SIGEV_SIGNAL, 14, None, None  # SIGALRM, value = id
    if event:
        sigval, signo, notify, tid = event
        if notify == SIGEV_THREAD:
            # the C library runs SIGEV_THREAD itself (with SIGEV_THREAD_ID); the
            # kernel takes a raw one as SIGEV_SIGNAL (its good_sigevent)
            notify = SIGEV_SIGNAL
        if notify not in (SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD_ID):
            return -errno.EINVAL
        if notify == SIGEV_THREAD_ID:
            thread = ctx.engine.tasks_by_tid.get(tid)
            if thread is None or thread.proc.pid != ctx.proc.pid:
                return -errno.EINVAL  # not a thread of this process
            target = tid  # glibc's SIGEV_THREAD timers signal their helper thread so
        if notify != SIGEV_NONE and not 1 <= signo <= 64:
            return -errno.EINVAL
    if clock_id < 0:
        # a CPU clock by pid: the host's timers run on its own process's CPU time
        if cpu_clock_ns(ctx, clock_id) is None:
            return -errno.EINVAL if ctx.mem.writable(timerid_ptr, 4) else -errno.EFAULT
        if ~(clock_id >> 3) not in (0, ctx.proc.pid, ctx.task.tid):
            ctx.engine.refuse(ctx, "a timer on another process's CPU clock is not "
                                   "supported yet")
            return -errno.EINVAL
        clock_id = 3 if clock_id & 4 else 2
    timer_id = ctx.engine.timers.timer_create(ctx.proc.pid, clock_id, notify, signo,
                                              sigval, target)
    try:
        ctx.mem.write_i32(timerid_ptr, timer_id)
    except OSError:
        ctx.engine.timers.timer_delete(ctx.proc.pid, timer_id)  # never seen by the program
        raise
    return 0


@handles("timer_settime")
@einval_on_invalid
def timer_settime(ctx, timer_id, flags, new_ptr, old_ptr, *_):
    if not new_ptr:
        return -errno.EINVAL  # timer_settime(2): new_value NULL
    interval, value = _read_itimerspec(ctx, new_ptr)
    old_value, old_interval = ctx.engine.timers.timer_settime(
        ctx.proc.pid, s32(timer_id), s32(flags), value, interval)
    if old_ptr:
        ctx.mem.write(old_ptr, pack_timespec(old_interval) + pack_timespec(old_value))
    return 0


@handles("timer_gettime")
def timer_gettime(ctx, timer_id, cur_ptr, *_):
    value, interval = ctx.engine.timers.timer_gettime(ctx.proc.pid, s32(timer_id))
    ctx.mem.write(cur_ptr, pack_timespec(interval) + pack_timespec(value))
    return 0


@handles("timer_getoverrun")
def timer_getoverrun(ctx, timer_id, *_):
    return ctx.engine.timers.timer_getoverrun(ctx.proc.pid, s32(timer_id))


@handles("timer_delete")
def timer_delete(ctx, timer_id, *_):
    ctx.engine.timers.timer_delete(ctx.proc.pid, s32(timer_id))
    return 0


TFD_NONBLOCK, TFD_CLOEXEC = 0o4000, 0o2000000
TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET = 1, 2
_CANCELABLE = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET
_TIMERFD_CLOCKS = frozenset({0, 1, 7, 8, 9})  # REALTIME MONOTONIC BOOTTIME *_ALARM
_REALTIME_TIMERFD_CLOCKS = frozenset({0, 8})  # REALTIME, REALTIME_ALARM


def not_of_the_kind(ctx, fd: int) -> int:
    """The error for a descriptor that is not the host's timerfd or signalfd: EBADF
    when the program has no such descriptor open, else EINVAL (timerfd_create(2),
    signalfd(2))."""
    try:
        os.readlink(f"/proc/{ctx.task.tgid_native}/fd/{fd}")
    except (OSError, ValueError):
        return -errno.EBADF
    return -errno.EINVAL


def read_timerfd(ctx, timerfd, count):
    """read(2) of a timerfd that a setting of CLOCK_REALTIME canceled: ECANCELED, the
    expirations counted so far dropped (timerfd_create(2)); else it runs natively."""
    if timerfd.cancel_on_set and timerfd.canceled and count >= 8:
        timerfd.canceled = False
        timerfd.take_count()
        return -errno.ECANCELED
    return Native()


@handles("timerfd_create")
def timerfd_create(ctx, clock_id, flags, *_):
    clock_id, flags = s32(clock_id), s32(flags)
    if clock_id not in _TIMERFD_CLOCKS or flags & ~(TFD_NONBLOCK | TFD_CLOEXEC):
        return -errno.EINVAL

    return eventfd_in_place(flags, lambda c, fd: c.engine.timerfd_created(c.task, fd, clock_id))


@handles("timerfd_settime")
@einval_on_invalid
def timerfd_settime(ctx, fd, flags, new_ptr, old_ptr, *_):
    # the kernel's order: the new value read (EFAULT), the flags and the value
    # (EINVAL), the descriptor, then the old value written
    interval, value = _read_itimerspec(ctx, new_ptr)
    if s32(flags) & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        return -errno.EINVAL
    timerfd = ctx.engine.fd_object(ctx.engine.timerfds, ctx.task, s32(fd))
    if timerfd is None:
        return not_of_the_kind(ctx, s32(fd))
    flags = s32(flags)
    timerfd.cancel_on_set = (flags & _CANCELABLE == _CANCELABLE
                             and timerfd.timer.clock_id in _REALTIME_TIMERFD_CLOCKS)
    ctx.engine.cancelable_timerfds |= timerfd.cancel_on_set
    timerfd.take_count()  # a new setting starts counting expirations afresh
    old_value, old_interval = ctx.engine.timers.fd_timer_settime(
        ctx.proc.pid, timerfd.timer, flags & TFD_TIMER_ABSTIME, value, interval)
    if value and timerfd.cancel_on_set and timerfd.canceled:
        # timerfd_create(2) NOTES: armed all the same, but the caller learns that the
        # clock was set since (and the old value is not written)
        timerfd.canceled = False
        return -errno.ECANCELED
    if old_ptr:
        ctx.mem.write(old_ptr, pack_timespec(old_interval) + pack_timespec(old_value))
    return 0


@handles("timerfd_gettime")
def timerfd_gettime(ctx, fd, cur_ptr, *_):
    timerfd = ctx.engine.fd_object(ctx.engine.timerfds, ctx.task, s32(fd))
    if timerfd is None:
        return not_of_the_kind(ctx, s32(fd))
    value, interval = ctx.engine.timers.fd_timer_gettime(ctx.proc.pid, timerfd.timer)
    ctx.mem.write(cur_ptr, pack_timespec(interval) + pack_timespec(value))
    return 0
