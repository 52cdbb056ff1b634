"""Timers: alarm, interval timers and POSIX timers, all in virtual time.

The state lives in kernel/timers.py; these handlers decode and encode the structures.
A timerfd is a real eventfd in the program (created in its place: reading one gives
the same 8-byte count and resets it, and both poll the same way); the host adds the
expirations to it at their virtual times, and reads of it are gated like any other
descriptor's.
"""
from __future__ import annotations

import errno
import struct

from ..kernel.timers import SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID
from .args import einval_on_invalid, pack_timespec, read_timespec, read_timeval, s32, u32
from .outcome import eventfd_in_place
from .registry import handles

_VALID_CLOCKS = frozenset({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11})


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
        interval = read_timeval(ctx, new_ptr)
        value = read_timeval(ctx, new_ptr + 16)
    old_value, old_interval = ctx.engine.timers.setitimer(ctx.proc.pid, s32(which), value,
                                                          interval)
    if old_ptr:
        ctx.mem.write(old_ptr, _timeval(old_interval) + _timeval(old_value))
    return 0


@handles("timer_create")
def timer_create(ctx, clock_id, sevp, timerid_ptr, *_):
    clock_id = s32(clock_id)
    if clock_id not in _VALID_CLOCKS:
        return -errno.EINVAL
    notify, signo, sigval, target = SIGEV_SIGNAL, 14, None, None  # SIGALRM, value = id
    if sevp:
        sigval, signo, notify, tid = struct.unpack("<qiii", ctx.mem.read(sevp, 20))
        if notify not in (SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID):
            return -errno.EINVAL
        if notify != SIGEV_NONE and not 1 <= signo <= 64:
            return -errno.EINVAL
        if notify == SIGEV_THREAD:
            # the C library runs the function (sigevent(7)); the kernel only signals
            notify = SIGEV_SIGNAL
        if notify == SIGEV_THREAD_ID:
            thread = ctx.engine.tasks_by_tid.get(tid)
            if thread is None or thread.proc.pid != ctx.proc.pid:
                return -errno.EINVAL  # not a thread of this process
            if tid != ctx.proc.pid:
                # glibc's SIGEV_THREAD timers signal a helper thread this way
                ctx.engine.refuse(ctx, "a timer signalling a thread other than the main "
                                  "one: the host posts timer signals to the process")
                return -errno.EINVAL
            target = tid
    timer_id = ctx.engine.timers.timer_create(ctx.proc.pid, clock_id, notify, signo,
                                              sigval, target)
    ctx.mem.write_i32(timerid_ptr, timer_id)
    return 0


@handles("timer_settime")
@einval_on_invalid
def timer_settime(ctx, timer_id, flags, new_ptr, old_ptr, *_):
    if not new_ptr:
        return -errno.EINVAL  # timer_settime(2), before the timer id is looked up
    interval = read_timespec(ctx, new_ptr)
    value = read_timespec(ctx, new_ptr + 16)
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
TFD_TIMER_ABSTIME = 1
_TIMERFD_CLOCKS = frozenset({0, 1, 7, 8, 9})  # REALTIME MONOTONIC BOOTTIME *_ALARM


@handles("timerfd_create")
def timerfd_create(ctx, clock_id, flags, *_):
    clock_id, flags = s32(clock_id), s32(flags)
    if clock_id not in _TIMERFD_CLOCKS or flags & ~(TFD_NONBLOCK | TFD_CLOEXEC):
        return -errno.EINVAL

    return eventfd_in_place(flags, lambda c, fd: c.engine.timerfd_created(c.task, fd, clock_id))


@handles("timerfd_settime")
@einval_on_invalid
def timerfd_settime(ctx, fd, flags, new_ptr, old_ptr, *_):
    timer = ctx.engine.timerfds.get((ctx.proc.pid, s32(fd)))
    if timer is None:
        return -errno.EINVAL  # timerfd_settime(2): fd is not a timerfd
    interval = read_timespec(ctx, new_ptr)
    value = read_timespec(ctx, new_ptr + 16)
    old_value, old_interval = ctx.engine.timers.fd_timer_settime(
        ctx.proc.pid, timer, s32(flags) & TFD_TIMER_ABSTIME, value, interval)
    if old_ptr:
        ctx.mem.write(old_ptr, pack_timespec(old_interval) + pack_timespec(old_value))
    return 0


@handles("timerfd_gettime")
def timerfd_gettime(ctx, fd, cur_ptr, *_):
    timer = ctx.engine.timerfds.get((ctx.proc.pid, s32(fd)))
    if timer is None:
        return -errno.EINVAL
    value, interval = ctx.engine.timers.fd_timer_gettime(ctx.proc.pid, timer)
    ctx.mem.write(cur_ptr, pack_timespec(interval) + pack_timespec(value))
    return 0
