"""Work in flight in the test process's native threads, waited for before time moves.

Some libraries carry the test's messages on threads of their own that Python does not
know: libzmq's I/O threads (``ZMQbg/IO/0``) move every zmq message between a socket of
the test and the network, so a request of the test's circus client reaches its arbiter
(both in the test process) only once such a thread ran. Those threads live in real
time. Had the host's clock moved to its next timer while one of them was about to
deliver, the test's virtual timeout (tornado's ``gen_test``) would pass in no real
time while its answer was in flight; so did a request to a program of the host that
left too late for the host's look at its parked descriptors.

The rule: when nothing in the host can run at the current instant (the engine's idle
point, ``Engine.outside_busy``), the clock moves on only once no native thread of the
test process has work in flight: none is runnable, none ran since the look began, and
none is blocked in a wait that is already satisfied (an ``epoll_wait`` whose epoll
descriptor polls ready, a ``poll``/``ppoll`` with a ready descriptor, a ``read``/
``recv`` of a readable one; proc(5): /proc/self/task/TID/stat, schedstat and
syscall). A thread blocked elsewhere (a futex, a sleep), or in a wait whose only
end is its timeout, waits for something that is not the test's messages: libzmq's
reconnection timer is the machine's, and a socket left reconnecting to a closed port
would keep the thread busy for good. Once they are quiet, the host looks at its parked descriptors
again and the waits of the test are asked again, at the same instant: what the threads
delivered enters there, at the same points on every run. A thread that never rests
(a spinning worker pool) is waited for ``NEVER_QUIET`` real seconds at most, and then
left out until it is next found quiet, so a never-quiet thread costs that once, not at
every move of the clock.

Waiting for them is not free: natively the test's clock runs on while its message is
carried, and a loop of round trips (circus's test polling ``status`` for 5 s until its
watcher stopped) ends by that time. So a wait that found work in flight moves the
clock by the real time the test waited on the outside (from the start of its wait or
the end of the last such charge), as routing.waited_outside does for a real wait:
the host's clock up to its next deadline or the run's end, the rest on the test's
own clock, which the host catches up with at its next run. That amount is the
machine's, the one input here that is not deterministic; a test that polls no native
thread is not affected.
"""
from __future__ import annotations

import ctypes
import select
import threading

from ..host.threads import _native_state
from . import wakeups
from .clock import READ_COST_NS
from .procfs import _real_listdir, _real_stat
from .routing import _real_monotonic, _real_poll, _real_sleep, fd_ready

# How long (real seconds) a native thread may stay busy before it is left out.
NEVER_QUIET = 1.0
# Real seconds between two looks while a thread is busy, doubling up to the second.
_PAUSE = (0.00005, 0.002)
# x86-64 system call numbers of the waits that can be looked into (syscall(2) table)
_EPOLL_WAITS = (232, 281, 441)  # epoll_wait, epoll_pwait, epoll_pwait2: fd first
_POLLS = (7, 271)  # poll, ppoll: (struct pollfd *, nfds)
_READS = (0, 19, 45, 47)  # read, readv, recvfrom, recvmsg: fd first
_POLL_MAX = 4096  # a pollfd array larger than this is not copied


class _PollFd(ctypes.Structure):
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short),
                ("revents", ctypes.c_short)]


_left_out: dict = {}  # tid of a thread that never rested -> True until found quiet


def native_threads() -> list[int]:
    """The tids of the calling process's threads that Python did not start nor
    ever ran Python code in (libzmq's, a native library's pool)."""
    try:
        # a directory's link count is 2 plus its threads (proc(5)): a cheap first look,
        # which finds no more threads than Python's at nearly every idle point
        # (the real calls: the drop-in's fakes of them cost more than the look)
        python = _python_threads()
        if _real_stat("/proc/self/task").st_nlink - 2 <= len(python):
            return []
        names = _real_listdir("/proc/self/task")
    except OSError:
        return []
    python = {t.native_id for t in python}
    return [tid for tid in map(int, names) if tid not in python]


def _python_threads() -> list:
    """threading.enumerate() without its lock: the tracer thread asks (engine/trap.py)
    while a finalizer of the test's, run by a collection inside the test thread's
    enumerate (the lock held), may wait for the tracer (a dropped Popen reaps its
    program). A copy of the dicts is one step under the GIL."""
    return [*threading._active.copy().values(), *threading._limbo.copy().values()]


def thread_states(tids) -> dict:
    """{tid: (scheduler state, (nanoseconds on the CPU, times put on a CPU))} of the
    calling process's threads (proc(5): stat, schedstat); a thread that ended is left
    out."""
    states = {}
    for tid in tids:
        state = _native_state(tid)
        if state == "?":
            continue
        try:
            with open(f"/proc/self/task/{tid}/schedstat", "rb") as f:
                fields = f.read().split()
            ran = (int(fields[0]), int(fields[2]))
        except (OSError, IndexError, ValueError):
            continue
        states[tid] = (state, ran)
    return states


def _fd_ready(fd: int, events: int) -> bool:
    """routing.fd_ready of a descriptor read from another thread's registers: one that
    is not a descriptor (any more) is not ready."""
    try:
        return fd_ready(fd, events)
    except (OSError, ValueError):
        return False


def _pollfds_ready(address: int, count: int) -> bool:
    """Whether a pollfd array of this process (a blocked poll's) has a ready member."""
    if not address or not 0 < count <= _POLL_MAX:
        return False
    try:
        raw = ctypes.string_at(address, ctypes.sizeof(_PollFd) * count)
        fds = (_PollFd * count).from_buffer_copy(raw)
    except (ValueError, OSError):
        return False
    poller = _real_poll()
    for entry in fds:
        if entry.fd >= 0:
            try:
                poller.register(entry.fd, entry.events & 0xffff)
            except (OSError, ValueError):
                continue
    return bool(poller.poll(0))


def _waiting_satisfied(tid: int) -> bool:
    """Thread ``tid`` is asleep in a wait that something already satisfied, or not
    asleep in a system call at all (proc(5) /proc/PID/syscall)."""
    fields = wakeups.syscall_fields(tid)
    if fields is None:
        return False
    if not fields or fields[0] == b"running":
        return bool(fields)
    try:
        nr = int(fields[0])
        args = [int(x, 16) for x in fields[1:4]]
    except (ValueError, IndexError):
        return False
    if nr in _EPOLL_WAITS:
        return _fd_ready(args[0], select.POLLIN)  # an epoll fd polls ready with events
    if nr in _POLLS:
        return _pollfds_ready(args[0], args[1])
    if nr in _READS:
        return _fd_ready(args[0], select.POLLIN)
    return False


def _busy(tid: int) -> bool:
    before = thread_states([tid]).get(tid)
    if before is None:
        return False
    if before[0] in ("R", "D"):
        return True
    if before[0] != "S":
        return False  # stopped, traced, a zombie
    satisfied = _waiting_satisfied(tid)
    return satisfied or thread_states([tid]).get(tid) not in (before, None)


def busy_threads() -> list[int]:
    """The native threads with work in flight (see the module's docstring)."""
    busy = []
    for tid in native_threads():
        if _busy(tid):
            busy.append(tid)
        else:
            _left_out.pop(tid, None)
    return busy


def _still_busy() -> list[int]:
    return [tid for tid in busy_threads() if tid not in _left_out]


def quiet() -> bool:
    """Whether ``settle`` would find no native thread with work in flight."""
    return not _still_busy()


def settle(session) -> float:
    """Wait (real time, the GIL released) until no native thread of the process has
    work in flight, leaving out those busy for ``NEVER_QUIET`` seconds. Returns 0 if
    none had work; else the real seconds (> 0) the test waited on the outside since
    its wait began (``session._last_run``, or the end of the last such wait):
    natively the test's clock runs on while its message is carried."""
    global _charged_to
    busy = _still_busy()
    if not busy:
        return 0.0
    start = _real_monotonic()
    pause = _PAUSE[0]
    while busy:
        _real_sleep(pause)
        pause = min(pause * 2, _PAUSE[1])
        busy = _still_busy()
        if busy and _real_monotonic() - start >= NEVER_QUIET:
            for tid in busy:
                _left_out[tid] = True
            break
    end = _real_monotonic()
    since = min(start, max(session._last_run, _charged_to))
    _charged_to = end
    return max(end - since, 1e-9)


_charged_to = 0.0  # real time up to which waits on the outside moved the clock


def engine_hook(session):
    """``Engine.outside_busy`` for ``session``'s host: the clock moves by the time the
    outside took, as far as the host's next deadline and the run's end allow; the
    rest goes to the test's own clock (``clock.VirtualClock.reads``, in its read
    cost), which the host catches up with at its next run."""
    def outside_busy(room_ns: int) -> int | None:
        worked = settle(session)
        if not worked:
            return None
        worked_ns = max(1, int(worked * 1e9))
        moved = min(worked_ns, room_ns)
        clock = session._clock
        if clock is not None and worked_ns > moved:
            clock.reads += (worked_ns - moved) // READ_COST_NS
        return moved
    return outside_busy
