"""What the host's own threads (tracers, the watchdog) used of the process's CPU.

In drop-in mode those threads live in the test process, so the kernel counts their CPU
time and context switches as the test's (getrusage(2) RUSAGE_SELF, times(2), proc(5)
/proc/self/stat). dropin/selfusage.py leaves them out, and needs them exactly and
cheaply: each thread notes its own usage (getrusage(2) RUSAGE_THREAD, the only exact
split of user and system time) whenever it is about to wait for work, and once more
as it ends. A live thread has used what its CPU clock (pthread_getcpuclockid(3))
says, split as its note was (what it gained since its note is a few instructions if
it rests); its switches are read from /proc/self/task/TID/status (proc(5)).
"""
from __future__ import annotations

import os
import resource
import threading
import time

__all__ = ["note", "retire", "usage"]

_RUSAGE_THREAD = getattr(resource, "RUSAGE_THREAD", 1)
_clock_ns = time.clock_gettime_ns   # the real one (drop-in's is the test's view)


class _Noted:
    """One thread's usage at its last note: user and system ns, voluntary and
    involuntary switches."""

    __slots__ = ("ident", "user_ns", "sys_ns", "nvcsw", "nivcsw")

    def __init__(self, ident: int):
        self.ident = ident
        self.user_ns = self.sys_ns = self.nvcsw = self.nivcsw = 0

    def note(self) -> None:
        ru = resource.getrusage(_RUSAGE_THREAD)
        self.user_ns, self.sys_ns = round(ru.ru_utime * 1e9), round(ru.ru_stime * 1e9)
        self.nvcsw, self.nivcsw = ru.ru_nvcsw, ru.ru_nivcsw


_lock = threading.Lock()
_live: dict[int, _Noted] = {}   # native tid -> its last note
_retired = [0, 0, 0, 0]   # user ns, system ns, nvcsw, nivcsw of the threads that ended


def _mine() -> _Noted:
    tid = threading.get_native_id()
    noted = _live.get(tid)
    if noted is None or noted.ident != threading.get_ident():
        noted = _live[tid] = _Noted(threading.get_ident())
    return noted


def note() -> None:
    """The calling host thread is about to wait for work."""
    _mine().note()


def retire() -> None:
    """The calling host thread ends: what it used goes to the ended threads' total."""
    noted = _mine()
    noted.note()
    with _lock:
        _live.pop(threading.get_native_id(), None)
        for i, value in enumerate((noted.user_ns, noted.sys_ns, noted.nvcsw, noted.nivcsw)):
            _retired[i] += value


def _switches(tid: int) -> tuple[int, int] | None:
    """(voluntary, involuntary) switches of a thread of this process (proc(5) status)."""
    try:
        with open(f"/proc/self/task/{tid}/status", "rb") as f:
            data = f.read()
        vol = data.split(b"\nvoluntary_ctxt_switches:", 1)[1].split(None, 1)[0]
        invol = data.split(b"\nnonvoluntary_ctxt_switches:", 1)[1].split(None, 1)[0]
        return int(vol), int(invol)
    except (OSError, IndexError, ValueError):
        return None


def usage() -> tuple[int, int, int, int]:
    """(user ns, system ns, voluntary, involuntary switches) the host's threads have
    used in this process, those that ended included: a live thread's CPU from its
    CPU clock, its switches from proc(5) status."""
    with _lock:
        total = list(_retired)
        live = list(_live.items())
    for tid, noted in live:
        user, sys_, vol, invol = noted.user_ns, noted.sys_ns, noted.nvcsw, noted.nivcsw
        now = user + sys_
        if noted.ident in threading._active:   # a clock id of a thread that ended is no id
            try:
                now = _clock_ns(time.pthread_getcpuclockid(noted.ident))
            except (OSError, OverflowError):
                pass
        gained = max(0, now - user - sys_)
        # what it used since its note (a few instructions if it rests), split as its
        # earlier use was
        share = sys_ / (user + sys_) if user + sys_ else 0.5
        user, sys_ = user + gained - int(gained * share), sys_ + int(gained * share)
        # the switch into its wait comes after the note: counted where it is
        vol, invol = _switches(tid) or (vol, invol)
        total[0] += user
        total[1] += sys_
        total[2] += vol
        total[3] += invol
    return total[0], total[1], total[2], total[3]


def _forget() -> None:
    """In a forked child: none of the parent's threads, and the child's own usage."""
    global _lock
    _lock = threading.Lock()
    _live.clear()
    _retired[:] = [0, 0, 0, 0]


os.register_at_fork(after_in_child=_forget)
