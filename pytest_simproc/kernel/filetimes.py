"""File times on the host's clock.

The machine's kernel stamps a file's times (stat(2): st_atime, st_mtime, st_ctime; statx's
btime) with its own CLOCK_REALTIME, the real date, while the host's programs and its test
read the host's clock (kernel/clock.py). On a machine one clock does both (inode(7),
"Timestamp fields"), and programs compare them: a lock is stale when ``time() - st_mtime``
passes a limit, make rebuilds a target older than its sources.

``FileClock`` keeps the map between the two clocks, as the host's clock moves: the
instants (real ns, host ns) at which it showed a new value. A time the machine stamped at
real instant t reads as what the host's clock showed then (``shown``); one from after the
real now (a date set in the future), as that far after the host's now. One from before
the map's first instant stays as it is: a Python program's compiled module (.pyc)
records its source's mtime and compares it at every import, so shifted, every module
imported in a host would be compiled again, and the .pyc written back would be stale for
the machine; and a host that starts "now" has those files in its past, as a machine. A time a program or the test
writes (utimensat(2)) is stored as the real instant at which the host's clock showed it
(``stored``), and remembered, so that it reads back exactly as written even when no real
instant stands for it alone (a date inside a sleep, which passes in no real time).

Changes of the clock less than ``GRAIN_NS`` apart both in real and host time are not
kept (a program's CPU moves it in steps of microseconds): a stamp reads at most that much
early. The kernel stamps most times from its coarse clock, the time of its last tick
(up to a tick, 4 ms at HZ=250, before a read of CLOCK_REALTIME made before the stamp),
so a stamp made just after a jump of the host's clock (a sleep) could not be told from
one made just before it. At a jump of ``JUMP_NS`` or more the jump's instant is taken
from the kernel instead: a fine-grained stamp of a scratch file whose times were just
read (Linux 6.13's multigrain timestamps), after which no stamp the kernel makes is
earlier (its coarse stamps never go below the last fine-grained one). Where the stamp
is not fine-grained (an older kernel), the host waits, in real time, for the coarse
clock to pass the jump's instant (a tick at most). A shorter jump is neither: a stamp
just after it may read as before it.
"""
from __future__ import annotations

import atexit
import bisect
import contextlib
import os
import tempfile
import threading
import time

_real_ns = time.clock_gettime_ns   # the machine's, taken before any fake of the clock
_real_sleep = time.sleep
_REALTIME = time.CLOCK_REALTIME
_REALTIME_COARSE = 5   # linux/time.h, which Python's time module does not name
GRAIN_NS = 1_000_000
JUMP_NS = 50_000_000
_real_stat, _real_utime = os.stat, os.utime   # before drop-in mode's fakes
# a scratch file's path, made at the first jump (no descriptor is kept: suites count the
# test process's), and the pid that made it, whose exit removes it
_scratch: list = []
_scratch_lock = threading.Lock()


def real_now_ns() -> int:
    return _real_ns(_REALTIME)


class FileClock:
    """The map between real CLOCK_REALTIME and the host's realtime (module docstring)."""

    __slots__ = ("_reals", "_shown", "_exact")

    def __init__(self, host_ns: int, real_ns: int | None = None) -> None:
        self._reals = [real_now_ns() if real_ns is None else real_ns]
        self._shown = [host_ns]
        self._exact: dict[int, int] = {}   # real ns stored by stored() -> the host ns meant

    def note(self, host_ns: int, force: bool = False) -> None:
        """The host's clock shows ``host_ns`` from now on. ``force``: keep it even within
        the grain (a time about to be stamped must read as exactly this)."""
        shown = self._shown
        last = shown[-1]
        if host_ns == last:
            return
        real = real_now_ns()
        reals = self._reals
        if real <= reals[-1]:
            real = reals[-1] + 1
        elif (not force and real - reals[-1] < GRAIN_NS
              and -GRAIN_NS < host_ns - last < GRAIN_NS):
            return
        if not force and host_ns - last >= JUMP_NS:
            real = max(_stamps_after(real), reals[-1] + 1)
        reals.append(real)
        shown.append(host_ns)

    @property
    def since(self) -> int:
        """The map's first instant: a time before it reads as it is (``shown``)."""
        return self._reals[0]

    def shown(self, real_ns: int) -> int:
        """The host's time for a time the machine stamped (or one stored())."""
        exact = self._exact.get(real_ns)
        if exact is not None:
            return exact
        reals = self._reals
        if real_ns < reals[0]:
            return real_ns
        if real_ns > reals[-1]:
            now = real_now_ns()
            if real_ns > now:   # a date set in the future of the machine
                return self._shown[-1] + real_ns - now
            return self._shown[-1]
        return self._shown[bisect.bisect_right(reals, real_ns) - 1]

    def stored(self, host_ns: int) -> int:
        """The real time that stands for ``host_ns``: the instant the host's clock showed
        it (the first after, for one it jumped over), remembered to read back exactly."""
        shown, reals = self._shown, self._reals
        if host_ns < shown[0] and host_ns < reals[0]:
            return host_ns
        if host_ns > shown[-1]:
            real = real_now_ns() + host_ns - shown[-1]
        else:
            i = bisect.bisect_left(shown, host_ns)
            if i < len(shown) and shown[i] == host_ns and self.shown(reals[i]) == host_ns:
                return reals[i]
            real = reals[min(i, len(reals) - 1)]
        while self._taken(real, host_ns):
            real += 1
        self._exact[real] = host_ns
        return real

    def _taken(self, real_ns: int, host_ns: int) -> bool:
        """Another time already stands at that instant: one stored, or the host's time
        at an instant it began to show it."""
        held = self._exact.get(real_ns)
        if held is not None:
            return held != host_ns
        reals = self._reals
        i = bisect.bisect_left(reals, real_ns)
        return i < len(reals) and reals[i] == real_ns and self._shown[i] != host_ns


def _stamps_after(real_ns: int) -> int:
    """An instant at or after ``real_ns`` that no stamp the kernel makes from now on is
    before (module docstring)."""
    stamp = -1
    with _scratch_lock:
        for _ in range(2):   # once more with a new file if another process removed it
            try:
                if not _scratch:
                    fd, path = tempfile.mkstemp(prefix="simproc-filetimes-")
                    os.close(fd)
                    _scratch[:] = [path, os.getpid()]
                    atexit.register(_remove_scratch)
                path = _scratch[0]
                _real_stat(path)          # its times read: the next stamp is fine-grained
                _real_utime(path)
                stamp = _real_stat(path).st_mtime_ns
                break
            except OSError:
                _scratch.clear()
    if stamp >= real_ns:
        return stamp
    while _real_ns(_REALTIME_COARSE) < real_ns:   # no multigrain timestamps
        _real_sleep(0.0005)
    return real_ns


def _remove_scratch() -> None:
    if _scratch and _scratch[1] == os.getpid():
        with contextlib.suppress(OSError):
            os.unlink(_scratch[0])
