"""What the host's own threads (tracers, the watchdog) used of the process's CPU.

In drop-in mode those threads live in the test process, so the kernel counts their CPU
time and context switches as the test's (getrusage(2) RUSAGE_SELF, times(2), proc(5)
/proc/self/stat). dropin/selfusage.py leaves them out. The cost is paid when the test
reads its usage (rarely), never by the threads' work (a tracer hands over thousands of
jobs a second): a live thread's CPU time is its CPU clock (pthread_getcpuclockid(3)),
split into user and system time as its /proc/self/task/TID/stat's ticks are, and its
switches are its status file's (proc(5)); a thread that ends notes its exact usage
(getrusage(2) RUSAGE_THREAD) as it goes.
"""
from __future__ import annotations

import os
import resource
import threading
import time

__all__ = ["register", "retire", "usage", "status_switches"]

_RUSAGE_THREAD = getattr(resource, "RUSAGE_THREAD", 1)
_clock_ns = time.clock_gettime_ns   # the real one (drop-in's is the test's view)

_lock = threading.Lock()
_live: set[int] = set()   # native tids of the live host threads
_retired = [0, 0, 0, 0]   # user ns, system ns, nvcsw, nivcsw of the threads that ended


def register() -> None:
    """The calling thread is one of the host's."""
    with _lock:
        _live.add(threading.get_native_id())


def retire() -> None:
    """The calling host thread ends: what it used goes to the ended threads' total."""
    ru = resource.getrusage(_RUSAGE_THREAD)
    with _lock:
        _live.discard(threading.get_native_id())
        for i, value in enumerate((round(ru.ru_utime * 1e9), round(ru.ru_stime * 1e9),
                                   ru.ru_nvcsw, ru.ru_nivcsw)):
            _retired[i] += value


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def status_switches(data: bytes) -> tuple[int, int] | None:
    """(voluntary, involuntary) context switches of a proc(5) status file."""
    try:
        vol = data.split(b"\nvoluntary_ctxt_switches:", 1)[1].split(None, 1)[0]
        invol = data.split(b"\nnonvoluntary_ctxt_switches:", 1)[1].split(None, 1)[0]
        return int(vol), int(invol)
    except (IndexError, ValueError):
        return None


def _cpu_clock(tid: int) -> int:
    """The CPU clock of thread ``tid`` of this process, as the kernel numbers it (what
    glibc's pthread_getcpuclockid(3) gives; a tid that is not one of the process's
    threads is EINVAL, clock_gettime(2))."""
    return (~tid << 3) | 6   # per thread, CPUCLOCK_SCHED


def _thread_usage(tid: int) -> tuple[int, int, int, int]:
    """(user ns, system ns, nvcsw, nivcsw) of a live thread of this process."""
    try:
        cpu = _clock_ns(_cpu_clock(tid))
    except OSError:
        return 0, 0, 0, 0   # it ended: retire() counted it
    try:
        fields = _read(f"/proc/self/task/{tid}/stat").rpartition(b")")[2].split()
        user_ticks, sys_ticks = int(fields[11]), int(fields[12])
    except (IndexError, ValueError):
        user_ticks = sys_ticks = 0
    share = sys_ticks / (user_ticks + sys_ticks) if user_ticks + sys_ticks else 0.5
    vol, invol = status_switches(_read(f"/proc/self/task/{tid}/status")) or (0, 0)
    return cpu - int(cpu * share), int(cpu * share), vol, invol


def usage() -> tuple[int, int, int, int]:
    """(user ns, system ns, voluntary, involuntary switches) the host's threads have
    used in this process, those that ended included."""
    with _lock:
        total = list(_retired)
        live = list(_live)
    for tid in live:
        for i, value in enumerate(_thread_usage(tid)):
            total[i] += value
    return total[0], total[1], total[2], total[3]


def _forget() -> None:
    """In a forked child: none of the parent's threads, and the child's own usage."""
    global _lock
    _lock = threading.Lock()
    _live.clear()
    _retired[:] = [0, 0, 0, 0]


os.register_at_fork(after_in_child=_forget)
