"""Interval timers, alarm and POSIX timers, in virtual time.

Wall-clock timers (ITIMER_REAL, alarm, POSIX timers on REALTIME/MONOTONIC/BOOTTIME)
expire on the host's event queue, exactly at their virtual deadlines; the next expiry
of a periodic timer is the previous deadline plus the interval, never "now plus
interval", so a 100 ms timer fires ten times in a virtual second.

CPU-time timers (ITIMER_VIRTUAL, ITIMER_PROF, POSIX timers on CPU clocks) follow the
host's deterministic CPU model: the host calls ``cpu_advanced`` whenever a process's
CPU time grows.

Expiry posts a signal through the ``post(pid, sig, info)`` callback. A POSIX timer
queues at most one signal: expiries while it is still pending count as overruns
(timer_getoverrun(2)). Meanwhile it has no event of its own: as the kernel re-arms it
only when the signal is delivered, its missed periods are counted then (and by
timer_gettime), so a 1 ns timer whose signal stays blocked costs nothing per period;
a SIGEV_NONE timer likewise after its first expiry. Overrun counts are capped at
DELAYTIMER_MAX (INT_MAX). getitimer(2)/setitimer(2), alarm(2), timer_create(2),
timer_settime(2).
"""
from __future__ import annotations

import errno
import struct

from .errors import KernelError

ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2
ITIMER_SIGNALS = {ITIMER_REAL: 14, ITIMER_VIRTUAL: 26, ITIMER_PROF: 27}  # ALRM VTALRM PROF
SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
TIMER_ABSTIME = 1
SI_KERNEL, SI_TIMER = 0x80, -2
NSEC = 1_000_000_000
DELAYTIMER_MAX = 2**31 - 1  # limits.h: the largest overrun count reported
KTIME_MAX = 2**63 - 1       # the kernel's timers saturate here: no expiry or interval later

# clock ids that run on the wall timeline vs the CPU timeline (time.h)
WALL_CLOCKS = frozenset({0, 1, 4, 5, 6, 7, 8, 9, 11})
CPU_CLOCKS = frozenset({2, 3})
REALTIME_CLOCKS = frozenset({0, 5, 8, 11})  # REALTIME, its COARSE, ALARM and TAI views
CLOCK_TAI = 11
#: what a sleep until an absolute realtime waits for besides its deadline: a clock set
REALTIME_SET = ("realtime set",)


def _on_realtime(clock_id: int, flags: int) -> bool:
    """It moves when its clock is set: armed at an absolute time of a realtime clock,
    or on CLOCK_TAI at all (only a relative CLOCK_REALTIME timer is the kernel's
    CLOCK_MONOTONIC one, POSIX's rule; a relative TAI one expires at a TAI time)."""
    return clock_id == CLOCK_TAI or bool(flags & TIMER_ABSTIME) and clock_id in REALTIME_CLOCKS


def itimer_info(sig: int) -> bytes:
    """siginfo of an itimer signal: sent by the kernel (SI_KERNEL)."""
    return struct.pack("<iiii", sig, 0, SI_KERNEL, 0)


class _Timer:
    """One armed-or-not timer: an absolute expiry on its timeline and an interval."""

    __slots__ = ("expiry", "interval", "handle", "on_cpu")

    def __init__(self, on_cpu: bool):
        self.expiry = 0      # absolute ns on its timeline; 0 = disarmed
        self.interval = 0
        self.handle = None   # event-queue handle (wall timers)
        self.on_cpu = on_cpu


class PosixTimer(_Timer):
    __slots__ = ("timer_id", "clock_id", "notify", "signo", "sigval", "target_tid",
                 "overrun", "overrun_last", "queued", "resume")

    def __init__(self, timer_id, clock_id, notify, signo, sigval, target_tid):
        super().__init__(on_cpu=clock_id in CPU_CLOCKS or clock_id < 0)
        self.timer_id = timer_id
        self.clock_id = clock_id
        self.notify = notify
        self.signo = signo
        self.sigval = sigval
        self.target_tid = target_tid
        self.overrun = 0
        self.overrun_last = 0
        self.queued = False
        self.resume = None   # re-arms a parked periodic timer when its signal is delivered


class FdTimer(_Timer):
    """A timerfd's timer: expiries are handed to ``notify(count)`` (which makes the
    descriptor readable) instead of raising a signal (timerfd_create(2))."""

    __slots__ = ("clock_id", "notify")

    def __init__(self, clock_id: int, notify):
        super().__init__(on_cpu=False)
        self.clock_id = clock_id
        self.notify = notify


class TimerSignal:
    """A POSIX timer's pending signal: its siginfo is completed at delivery, when the
    overrun count is known (si_overrun)."""

    __slots__ = ("timer",)

    def __init__(self, timer: PosixTimer):
        self.timer = timer

    def materialize(self) -> bytes:
        t = self.timer
        if t.resume is not None:
            t.resume()
        t.overrun_last, t.overrun, t.queued = t.overrun, 0, False
        return struct.pack("<iiiiiiq", t.signo, 0, SI_TIMER, 0, t.timer_id,
                           min(t.overrun_last, DELAYTIMER_MAX), t.sigval)


class ProcessTimers:
    __slots__ = ("itimers", "posix", "next_id")

    def __init__(self):
        self.itimers = {ITIMER_REAL: _Timer(False), ITIMER_VIRTUAL: _Timer(True),
                        ITIMER_PROF: _Timer(True)}
        self.posix: dict[int, PosixTimer] = {}
        self.next_id = 0


class TimerTable:
    """Every timer of a host."""

    def __init__(self, clock, events, post, cpu_now):
        self._clock = clock
        self._events = events
        self._post = post            # post(pid, tid_or_None, sig, info)
        self._cpu_now = cpu_now      # cpu_now(pid) -> ns
        self._procs: dict[int, ProcessTimers] = {}
        # pid -> armed CPU timers (the engine charges CPU time to them only while any is armed)
        self.cpu_armed: dict[int, set] = {}
        self._on_realtime: dict[_Timer, int] = {}  # armed at an absolute realtime -> pid
        # ns_offset(pid, clock_id): how far the clock reads ahead of the timeline (and
        # of CLOCK_REALTIME, for a realtime clock): the process's time namespace's
        # offset (kernel/timens.py), CLOCK_TAI's TAI offset
        self.ns_offset = lambda pid, clock_id: 0

    def _of(self, pid: int) -> ProcessTimers:
        timers = self._procs.get(pid)
        if timers is None:
            timers = self._procs[pid] = ProcessTimers()
        return timers

    # ------------------------------------------------------------ arming
    def _now(self, pid: int, timer: _Timer) -> int:
        return self._cpu_now(pid) if timer.on_cpu else self._clock.now_ns

    def _disarm(self, pid: int, timer: _Timer) -> None:
        if isinstance(timer, PosixTimer):
            timer.resume = None
        if timer.handle is not None:
            self._events.cancel(timer.handle)
            timer.handle = None
        if timer.on_cpu:
            self.cpu_armed.get(pid, set()).discard(timer)
        self._on_realtime.pop(timer, None)
        timer.expiry = 0

    def _arm(self, pid: int, timer: _Timer, expiry: int, interval: int,
             on_realtime: bool = False) -> None:
        self._disarm(pid, timer)
        # a wall timer saturates where CLOCK_MONOTONIC, the kernel's timer base,
        # reads KTIME_MAX (it counts from the boot: kernel/clock.py)
        limit = KTIME_MAX if timer.on_cpu else KTIME_MAX + self._clock.boot_ns
        expiry, interval = min(expiry, limit), min(interval, KTIME_MAX)
        timer.interval = interval
        if not expiry:
            return
        timer.expiry = expiry
        if on_realtime:
            self._on_realtime[timer] = pid
        if timer.on_cpu:
            self.cpu_armed.setdefault(pid, set()).add(timer)
            self.cpu_advanced(pid)
        else:
            timer.handle = self._events.schedule(max(expiry, self._clock.now_ns),
                                                 (self._expire, pid, timer))

    def _remaining(self, pid: int, timer: _Timer) -> tuple[int, int]:
        if not timer.expiry:
            return 0, timer.interval
        return max(timer.expiry - self._now(pid, timer), 1), timer.interval

    def _expire(self, pid: int, timer: _Timer) -> None:
        timer.handle = None
        now = self._now(pid, timer)
        count = 1
        if timer.interval:
            timer.expiry += timer.interval
            if timer.expiry <= now:  # several periods at once (CPU timers)
                missed = (now - timer.expiry) // timer.interval + 1
                timer.expiry += missed * timer.interval
                count += missed
            if not timer.on_cpu:
                timer.handle = self._events.schedule(timer.expiry, (self._expire, pid, timer))
        else:
            timer.expiry = 0
            if timer.on_cpu:
                self.cpu_armed.get(pid, set()).discard(timer)
        self._fire(pid, timer, count)
        if isinstance(timer, PosixTimer) and timer.handle is not None and (
                timer.queued or timer.notify == SIGEV_NONE):
            # parked until its signal is delivered (never, for SIGEV_NONE): the
            # periods meanwhile are counted then, not one event each
            self._events.cancel(timer.handle)
            timer.handle = None
            if timer.queued:
                timer.resume = lambda: self._resume(pid, timer)

    def _forward(self, timer: PosixTimer) -> None:
        """Move a parked periodic timer's expiry past now, counting the periods it
        missed as overruns (the kernel's hrtimer_forward)."""
        now = self._clock.now_ns
        if timer.expiry and timer.interval and timer.expiry <= now:
            missed = (now - timer.expiry) // timer.interval + 1
            timer.expiry += missed * timer.interval
            timer.overrun += missed

    def _resume(self, pid: int, timer: PosixTimer) -> None:
        timer.resume = None
        self._forward(timer)
        if timer.expiry:
            timer.handle = self._events.schedule(timer.expiry, (self._expire, pid, timer))

    def _fire(self, pid: int, timer: _Timer, count: int) -> None:
        if isinstance(timer, FdTimer):
            timer.notify(count)
            return
        if isinstance(timer, PosixTimer):
            if timer.notify == SIGEV_NONE:
                return
            if timer.queued:
                timer.overrun += count
                return
            timer.overrun += count - 1
            timer.queued = True
            self._post(pid, timer.target_tid, timer.signo, TimerSignal(timer))
            return
        sig = next(s for w, s in ITIMER_SIGNALS.items() if self._of(pid).itimers[w] is timer)
        self._post(pid, None, sig, itimer_info(sig))

    def run_event(self, payload) -> None:
        func, pid, timer = payload
        func(pid, timer)

    def armed(self, pid: int) -> bool:
        """The process has an interval or POSIX timer armed, on any clock."""
        timers = self._procs.get(pid)
        return timers is not None and any(
            t.expiry for t in (*timers.itimers.values(), *timers.posix.values()))

    def cpu_advanced(self, pid: int) -> None:
        """The process's CPU time grew: fire the CPU timers that are due."""
        armed = self.cpu_armed.get(pid)
        if not armed:
            return
        now = self._cpu_now(pid)
        for timer in sorted(armed, key=lambda t: t.expiry):
            if timer.expiry and timer.expiry <= now:
                self._expire(pid, timer)

    # ------------------------------------------------------------ itimers
    def getitimer(self, pid: int, which: int) -> tuple[int, int]:
        timer = self._itimer(pid, which)
        return self._remaining(pid, timer)

    def setitimer(self, pid: int, which: int, value: int, interval: int) -> tuple[int, int]:
        timer = self._itimer(pid, which)
        old = self._remaining(pid, timer)
        self._arm(pid, timer, self._now(pid, timer) + value if value else 0, interval)
        return old

    def _itimer(self, pid: int, which: int) -> _Timer:
        if which not in ITIMER_SIGNALS:
            raise KernelError(errno.EINVAL, f"no interval timer {which}")
        return self._of(pid).itimers[which]

    def alarm(self, pid: int, seconds: int) -> int:
        """alarm(2): returns the seconds left of the previous alarm, rounded to the
        nearest second but at least 1 if one was pending."""
        old_value, _ = self.setitimer(pid, ITIMER_REAL, seconds * NSEC, 0)
        if not old_value:
            return 0
        return max(1, (old_value + NSEC // 2) // NSEC) & 0xFFFFFFFF  # an unsigned int

    def _absolute(self, pid: int, clock_id: int, value: int) -> int:
        """An absolute time on ``clock_id`` as a time on the timer's timeline: the
        realtime clocks run ``realtime_offset_ns`` ahead of the virtual clock (a
        later clock_settime moves such a timer: realtime_was_set), and ``ns_offset``
        more."""
        if clock_id in REALTIME_CLOCKS:
            value -= self._clock.realtime_offset_ns
        return value - self.ns_offset(pid, clock_id)

    def realtime_was_set(self, delta_ns: int, tai_ns: int | None = None) -> None:
        """CLOCK_REALTIME jumped by ``delta_ns`` and CLOCK_TAI by ``tai_ns`` (as far,
        when None; 0 at a leap second, whose step the TAI offset takes back; alone
        when adjtimex(2) ADJ_TAI sets the offset): a timer armed at an absolute time
        of either still expires at that time, sooner or later on the virtual
        timeline, at once if it has passed (clock_settime(2), timer_settime(2)
        TIMER_ABSTIME; the kernel's clock_was_set moves the realtime and TAI timer
        bases alike); relative timers and the monotonic clocks do not move."""
        if tai_ns is None:
            tai_ns = delta_ns
        for timer, pid in list(self._on_realtime.items()):
            if not timer.expiry:  # a one-shot that expired
                del self._on_realtime[timer]
                continue
            moved = tai_ns if timer.clock_id == CLOCK_TAI else delta_ns
            if not moved:
                continue
            timer.expiry = max(timer.expiry - moved, 1)
            if timer.handle is not None:  # else parked: moved when it resumes
                self._events.cancel(timer.handle)
                timer.handle = self._events.schedule(max(timer.expiry, self._clock.now_ns),
                                                     (self._expire, pid, timer))

    # ------------------------------------------------------------ POSIX timers
    def timer_create(self, pid: int, clock_id: int, notify: int, signo: int, sigval: int,
                     target_tid) -> int:
        timers = self._of(pid)
        timer_id = timers.next_id
        timers.next_id += 1
        timers.posix[timer_id] = PosixTimer(timer_id, clock_id, notify, signo,
                                            sigval if sigval is not None else timer_id,
                                            target_tid)
        return timer_id

    def _posix(self, pid: int, timer_id: int) -> PosixTimer:
        timer = self._of(pid).posix.get(timer_id)
        if timer is None:
            raise KernelError(errno.EINVAL, f"no timer {timer_id}")
        return timer

    def timer_settime(self, pid: int, timer_id: int, flags: int, value: int,
                      interval: int) -> tuple[int, int]:
        timer = self._posix(pid, timer_id)
        old = self._remaining(pid, timer)
        if value:
            expiry = (self._absolute(pid, timer.clock_id, value) if flags & TIMER_ABSTIME
                      else self._now(pid, timer) + value)
        else:
            expiry = 0
        self._arm(pid, timer, max(expiry, 1) if value else 0, interval,
                  _on_realtime(timer.clock_id, flags))
        return old

    def timer_gettime(self, pid: int, timer_id: int) -> tuple[int, int]:
        timer = self._posix(pid, timer_id)
        if timer.handle is None and not timer.on_cpu:
            self._forward(timer)  # parked: its next expiry after now
        return self._remaining(pid, timer)

    def timer_getoverrun(self, pid: int, timer_id: int) -> int:
        return min(self._posix(pid, timer_id).overrun_last, DELAYTIMER_MAX)

    def timer_delete(self, pid: int, timer_id: int) -> None:
        timer = self._posix(pid, timer_id)
        self._disarm(pid, timer)
        del self._of(pid).posix[timer_id]

    # ------------------------------------------------------------ timerfd
    def fd_timer_settime(self, pid: int, timer: FdTimer, flags: int, value: int,
                         interval: int) -> tuple[int, int]:
        old = self._remaining(pid, timer)
        if value:
            expiry = (self._absolute(pid, timer.clock_id, value) if flags & TIMER_ABSTIME
                      else self._clock.now_ns + value)
            self._arm(pid, timer, max(expiry, 1), interval,
                      _on_realtime(timer.clock_id, flags))
        else:
            self._arm(pid, timer, 0, interval)
        return old

    def fd_timer_gettime(self, pid: int, timer: FdTimer) -> tuple[int, int]:
        return self._remaining(pid, timer)

    def fd_timer_close(self, timer: FdTimer) -> None:
        self._disarm(0, timer)  # on the wall timeline: no process's CPU timers

    # ------------------------------------------------------------ lifecycle
    def exec(self, pid: int) -> None:
        """execve(2): POSIX timers are deleted; interval timers are kept."""
        for timer_id in list(self._of(pid).posix):
            self.timer_delete(pid, timer_id)

    def exit(self, pid: int) -> None:
        timers = self._procs.pop(pid, None)
        if timers is None:
            return
        for timer in list(timers.itimers.values()) + list(timers.posix.values()):
            self._disarm(pid, timer)
        self.cpu_armed.pop(pid, None)
