"""When a thread of the test will act by itself: the end of its real timed wait.

Before the host exists, a thread of the test sleeps and waits in real time, while the
test's event loop moves its virtual clock to its next timer as soon as nothing is
ready. tornado's tests hand a thread ``time.sleep(0.01)`` and then a callback to the
loop (``add_callback`` from the thread, a ``ThreadPoolExecutor`` job under
``with_timeout``), with a 5 s limit on the loop: the loop's clock jumped the 5 s while
the thread slept its 10 ms, and the test timed out. Natively the thread wakes first.

A thread blocked in a system call shows it in ``/proc/self/task/TID/syscall``
(proc(5)): its number and arguments. For the timed ones the deadline is in the
thread's own memory (a timespec, absolute for ``clock_nanosleep`` with TIMER_ABSTIME,
which ``time.sleep`` uses, and for ``FUTEX_WAIT_BITSET``, which timed lock acquires and
condition waits use), read here through ``/proc/self/mem``, so the loop can tell a
thread that wakes before its timer from one that does not (a heartbeat thread waiting
a minute).
"""
from __future__ import annotations

import os
import struct

from .procfs import _real_open
from .selfusage import _real_clock_gettime

# x86-64 system call numbers
_POLL, _SELECT, _NANOSLEEP, _FUTEX = 7, 23, 35, 202
_CLOCK_NANOSLEEP, _EPOLL_WAIT, _PSELECT6, _PPOLL, _EPOLL_PWAIT = 230, 232, 270, 271, 281
_TIMER_ABSTIME = 1  # clock_nanosleep(2)
_FUTEX_WAIT, _FUTEX_WAIT_BITSET = 0, 9  # futex(2)
_FUTEX_PRIVATE, _FUTEX_CLOCK_REALTIME = 128, 256

_mem = None  # a descriptor of /proc/self/mem, opened at the first use


def _read(address: int, fmt: str):
    global _mem
    if _mem is None:
        _mem = os.open("/proc/self/mem", os.O_RDONLY | os.O_CLOEXEC)
    data = os.pread(_mem, struct.calcsize(fmt), address)
    return struct.unpack(fmt, data)


def _timespec(address: int) -> float:
    sec, nsec = _read(address, "qq")
    return sec + nsec / 1e9


def _signed(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >> 31 else value


def syscall_fields(tid: int) -> list[bytes] | None:
    """The fields of /proc/self/task/TID/syscall (proc(5): the number and arguments of
    the call the thread is blocked in, or "running"); None once the thread is gone."""
    try:
        with _real_open(f"/proc/self/task/{tid}/syscall", "rb") as f:
            return f.read().split()
    except OSError:
        return None


def wake_in(tid: int) -> float | None:
    """Real seconds until thread ``tid`` of this process goes on by itself: 0 when it
    runs (or is not in a system call), the time left of its timed wait, or None when
    it waits with no time limit (for another thread, a descriptor...) or is gone."""
    fields = syscall_fields(tid)
    if fields is None:
        return None
    if not fields or fields[0] == b"running":
        return 0.0
    number = int(fields[0])
    if number < 0 or len(fields) < 7:
        return 0.0  # blocked outside a system call (a page fault): at work
    args = [int(x, 16) for x in fields[1:7]]
    try:
        return _left(number, args)
    except (OSError, struct.error, ValueError, OverflowError):
        return None


def _left(number: int, args: list) -> float | None:
    if number == _CLOCK_NANOSLEEP:
        when = _timespec(args[2])
        if args[1] & _TIMER_ABSTIME:
            return max(when - _real_clock_gettime(args[0]), 0.0)
        return when  # relative: at most that long
    if number == _NANOSLEEP:
        return _timespec(args[0])
    if number == _FUTEX:
        command = args[1] & ~(_FUTEX_PRIVATE | _FUTEX_CLOCK_REALTIME)
        if not args[3] or command not in (_FUTEX_WAIT, _FUTEX_WAIT_BITSET):
            return None
        when = _timespec(args[3])
        if command == _FUTEX_WAIT:
            return when  # relative
        import time
        clock = (time.CLOCK_REALTIME if args[1] & _FUTEX_CLOCK_REALTIME
                 else time.CLOCK_MONOTONIC)
        return max(when - _real_clock_gettime(clock), 0.0)
    if number == _POLL or number in (_EPOLL_WAIT, _EPOLL_PWAIT):
        ms = _signed(args[2] if number == _POLL else args[3])
        return None if ms < 0 else ms / 1000
    if number in (_SELECT, _PSELECT6, _PPOLL):
        address = args[4] if number != _PPOLL else args[2]
        if not address:
            return None
        if number == _SELECT:
            sec, usec = _read(address, "qq")
            return sec + usec / 1e6
        return _timespec(address)
    return None


def soon(tids, within: float | None) -> bool:
    """One of these threads goes on by itself within ``within`` real seconds (None:
    at any time)."""
    for tid in tids:
        left = wake_in(tid)
        if left is not None and (within is None or left <= within):
            return True
    return False
