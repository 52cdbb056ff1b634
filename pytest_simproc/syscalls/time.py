"""Time: every clock reads the host's virtual clock; sleeps park the thread.

All wall and monotonic clocks read the same virtual time (seconds since the epoch,
starting at the host's start_time), as Shadow does, until a privileged program sets
CLOCK_REALTIME (clock_settime, settimeofday): the realtime clocks then run that far
from the others; the machine's clock is never touched. CPU-time clocks read the
deterministic CPU model.

Most reads never reach these handlers: the host's vDSO (trace/vdso.c) answers
clock_gettime of the wall and monotonic clocks, gettimeofday, time and getcpu from
the clock page, and must give what they give (its clock kinds mirror
REALTIME_CLOCKS and _WALL_CLOCKS; tests/integration/test_vdso.py compares the two).
They still answer syscall(2), CPU-time clocks, unknown ids, and every read of a
program that has no vDSO.
"""
from __future__ import annotations

import errno
import struct

from ..kernel.rusage import times_ticks
from ..kernel.timers import REALTIME_CLOCKS, REALTIME_SET
from ..trace.procstatus import credentials
from .args import (efault_on_fault, einval_on_invalid, pack_timespec, read_timespec,
                   read_timeval, s32, s64)
from .outcome import Block
from .registry import handles

NSEC = 1_000_000_000
TIMER_ABSTIME = 1

# time.h clock ids
CLOCK_REALTIME, CLOCK_MONOTONIC = 0, 1
CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 2, 3
CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE = 4, 5, 6
CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM, CLOCK_TAI = 7, 8, 9, 11
_WALL_CLOCKS = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
                CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM,
                CLOCK_BOOTTIME_ALARM, CLOCK_TAI}
_CPU_CLOCKS = {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID}
_NO_SLEEP = {CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
             CLOCK_MONOTONIC_COARSE}
_COARSE_RES_NS = 4_000_000  # a 250 Hz tick, fixed so that clock_getres is deterministic


def _realtime(ctx) -> int:
    return ctx.engine.clock.realtime_ns


def _clock_value(ctx, clock_id: int) -> int | None:
    if clock_id in REALTIME_CLOCKS:
        return _realtime(ctx)
    if clock_id in _WALL_CLOCKS:
        return ctx.now_ns
    if clock_id in _CPU_CLOCKS:
        return ctx.engine.cpu_time_ns(ctx.task)
    if clock_id < 0:
        return cpu_clock_ns(ctx, clock_id)
    return None


def dynamic_clock(clock_id: int) -> bool:
    """A negative id whose low bits are 3 names a clock by descriptor (CLOCKFD, a PTP
    clock): none in a host can be slept on or carry a timer (EOPNOTSUPP), nor be read."""
    return clock_id < 0 and clock_id & 7 == 3


def cpu_clock_ns(ctx, clock_id: int) -> int | None:
    """A negative clock id names a process's or thread's CPU clock
    (clock_getcpuclockid(3), pthread_getcpuclockid(3)): ~pid << 3, 4 for a thread, and
    the clock type in the low bits. Its CPU time, or None where the kernel finds no
    such clock (EINVAL): type 3, a pid the host does not have or has reaped, a thread
    of another process."""
    if clock_id & 3 == 3:
        return None
    pid, engine = ~(clock_id >> 3), ctx.engine
    if pid in (0, ctx.task.tid, ctx.proc.pid):
        return engine.cpu_time_ns(ctx.task)
    if clock_id & 4:
        task = engine.tasks_by_tid.get(pid)
        return engine.cpu_time_ns(task) if task is not None and task.proc is ctx.proc else None
    if ctx.table.get(pid) is None:  # live or zombie processes only
        return None
    info = engine.info.get(pid)
    return info.cpu_ns if info is not None else 0


@handles("clock_gettime")
def clock_gettime(ctx, clock_id, tp, *_):
    value = _clock_value(ctx, s32(clock_id))
    if value is None:
        return -errno.EINVAL
    if not tp:
        return -errno.EFAULT
    ctx.mem.write(tp, pack_timespec(value))
    return 0


@handles("clock_getres")
def clock_getres(ctx, clock_id, res, *_):
    clock_id = s32(clock_id)
    if _clock_value(ctx, clock_id) is None:
        return -errno.EINVAL
    if res:
        coarse = clock_id in (CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE)
        ctx.mem.write(res, pack_timespec(_COARSE_RES_NS if coarse else 1))
    return 0


@handles("gettimeofday")
def gettimeofday(ctx, tv, tz, *_):
    now = _realtime(ctx)
    if tv:
        ctx.mem.write(tv, struct.pack("<qq", now // NSEC, (now % NSEC) // 1000))
    if tz:
        ctx.mem.write(tz, struct.pack("<ii", 0, 0))  # UTC, no DST
    return 0


@handles("time")
def time_(ctx, tloc, *_):
    seconds = _realtime(ctx) // NSEC
    if tloc:
        ctx.mem.write(tloc, struct.pack("<q", seconds))
    return seconds


@handles("times")
def times(ctx, buf, *_):
    # clock ticks (USER_HZ = 100) since the host booted; CPU times from the CPU model,
    # user and system apart (kernel/rusage.py)
    if buf:
        own = times_ticks(ctx.engine.own_usage(ctx.proc.pid, maxrss=False))
        children = times_ticks(ctx.engine.children_usage(ctx.proc.pid))
        ctx.mem.write(buf, struct.pack("<qqqq", *own, *children))
    return ctx.engine.uptime_ns() // 10_000_000


def _sleep_until(ctx, deadline_ns: int, rem_ptr: int):
    """Park until ``deadline_ns``; a handled signal ends it with EINTR and the time left."""
    if deadline_ns <= ctx.now_ns:
        return 0

    @efault_on_fault  # nanosleep(2): a remaining time it cannot write is EFAULT
    def interrupted(c):
        if rem_ptr:
            c.mem.write(rem_ptr, pack_timespec(max(0, deadline_ns - c.now_ns)))
        return -errno.EINTR

    # nanosleep is never restarted after a handler, SA_RESTART or not (signal(7))
    return Block(deadline_ns=deadline_ns, on_timeout=lambda c: 0, on_interrupt=interrupted)


def _sleep_until_realtime(ctx, value_ns: int):
    """Park until CLOCK_REALTIME reads ``value_ns``: a clock_settime meanwhile makes the
    sleep end sooner or later (clock_nanosleep(2) TIMER_ABSTIME)."""
    deadline = value_ns - ctx.engine.clock.realtime_offset_ns
    block = _sleep_until(ctx, deadline, 0)
    if isinstance(block, Block):
        block.keys = (REALTIME_SET,)
        block.retry = lambda c: _sleep_until_realtime(c, value_ns)
    return block


@handles("nanosleep")
@einval_on_invalid
def nanosleep(ctx, req, rem, *_):
    if not req:
        return -errno.EFAULT
    duration = read_timespec(ctx, req)
    return _sleep_until(ctx, ctx.now_ns + duration, rem)


@handles("clock_nanosleep")
@einval_on_invalid
def clock_nanosleep(ctx, clock_id, flags, req, rem, *_):
    # clock_nanosleep(2)'s checks in the kernel's order: the clock, whether it can be
    # slept on (EOPNOTSUPP), the request read (EFAULT), its value (EINVAL), then a CPU
    # clock's owner (EINVAL: never the caller's own thread)
    clock_id, flags = s32(clock_id), s64(flags)
    if clock_id >= 0 and clock_id not in _WALL_CLOCKS | _CPU_CLOCKS:
        return -errno.EINVAL
    if clock_id in _NO_SLEEP or dynamic_clock(clock_id):
        return -errno.EOPNOTSUPP
    if not req:
        return -errno.EFAULT
    value = read_timespec(ctx, req)
    if clock_id < 0 and (cpu_clock_ns(ctx, clock_id) is None or clock_id & 4 and
                         ~(clock_id >> 3) in (0, ctx.task.tid)):
        return -errno.EINVAL
    if flags & TIMER_ABSTIME:
        # the remaining time is not written for absolute sleeps (clock_nanosleep(2))
        if clock_id in REALTIME_CLOCKS:
            return _sleep_until_realtime(ctx, value)
        return _sleep_until(ctx, value, 0)
    return _sleep_until(ctx, ctx.now_ns + value, rem)


CAP_SYS_TIME = 25  # capabilities(7)


def _set_realtime(ctx, value_ns: int | None) -> int:
    """Move the host's CLOCK_REALTIME to ``value_ns`` (None: leave it), never the
    machine's: EPERM without the native thread's CAP_SYS_TIME (clock_settime(2)).
    The monotonic clocks stay."""
    creds = credentials(ctx.task.tgid_native, ctx.task.native)
    if creds is None or not creds[1] & (1 << CAP_SYS_TIME):
        return -errno.EPERM
    if value_ns is not None:
        old = ctx.engine.clock.realtime_offset_ns
        ctx.engine.clock.realtime_offset_ns = value_ns - ctx.now_ns
        ctx.engine.realtime_was_set(value_ns - ctx.now_ns - old)
    return 0


@handles("clock_settime")
@einval_on_invalid
def clock_settime(ctx, clock_id, tp, *_):
    clock_id = s32(clock_id)
    if clock_id != CLOCK_REALTIME:
        # only the realtime clock can be set; a valid CPU clock id (clock_getcpuclockid(3))
        # refuses with EPERM after reading the value, every other clock has no setter
        if clock_id >= 0 or _clock_value(ctx, clock_id) is None:
            return -errno.EINVAL
        ctx.mem.read(tp, 16)  # EFAULT first
        return -errno.EPERM
    return _set_realtime(ctx, read_timespec(ctx, tp))


@handles("settimeofday")
@einval_on_invalid
def settimeofday(ctx, tv, tz, *_):
    value = read_timeval(ctx, tv) if tv else None
    if tz:
        ctx.mem.read(tz, 8)  # the time zone is taken and kept nowhere (gettimeofday: UTC)
    return _set_realtime(ctx, value)
