"""Virtual time: one clock per simulated host, a queue of timed events, and the CPU
burst that moves the clock while programs work.

Time in the simulation moves only forward, and only three ways: to the next deadline in
the ``EventQueue`` when every process is blocked; by the CPU the programs were charged
(``CpuBurst``) once a burst passes its threshold or the host goes idle; and by a
preemption slice (engine/trap.py). Integer nanoseconds are used throughout so that
arithmetic is exact and results are reproducible.

The virtual time itself counts from the Unix epoch (it is CLOCK_REALTIME until a
program sets that clock); CLOCK_MONOTONIC and CLOCK_BOOTTIME read it less the host's
boot (``boot_ns``), as on a machine they count from the boot (clock_gettime(2)) and
programs mix them with /proc/uptime or take the boot as realtime - monotonic. The
host never suspends, so BOOTTIME reads what MONOTONIC does (less a time namespace's
offsets). The NTP discipline steers the monotonic clock: an adjtime(3) or ADJ_OFFSET
slew and ADJ_FREQUENCY/ADJ_TICK make it (and the realtime, TAI and boottime clocks,
which move with it) run faster or slower than the machine's oscillator, which
CLOCK_MONOTONIC_RAW shows (clock_gettime(2)). ``ClockRate`` keeps
how far the disciplined clocks have gained on the oscillator, so that sleeps and timers
stay exact on the clocks programs set them on while MONOTONIC_RAW shows the slew.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Optional

__all__ = ["VirtualClock", "ClockRate", "EventQueue", "TimerHandle", "CpuBurst"]

NSEC = 1_000_000_000
HZ = 250                 # the tick the NTP code divides a second into (NTP_INTERVAL_FREQ)
SCALE_SHIFT = 32         # NTP lengths are ns << 32 (timex.h NTP_SCALE_SHIFT)
NOMINAL = NSEC << SCALE_SHIFT  # a second of the disciplined clocks per oscillator second
SHIFT_PLL = 2
# A host booted this long before its start time, its first instant: on a machine the
# boot comes before anything that runs, and suites check that it does (psutil's
# boot_time() < time.time(), a process's create_time() after the boot). A minute, as
# a machine has been up a while when a test runs: a time namespace may take a
# CLOCK_MONOTONIC offset only down to minus the uptime (time_namespaces(7), ERANGE),
# and suites write offsets of -10 s (LTP's clock_gettime03, timerfd04, sysinfo03).
BOOT_LEAD_NS = 60 * NSEC
MAX_TICKADJ_US = 500     # adjtime(3) slews at most 500 us per second


def shift_right(value: int, bits: int) -> int:
    """A shift that rounds toward zero, as the kernel's for signed values."""
    return -((-value) >> bits) if value < 0 else value >> bits


def c_div(a: int, b: int) -> int:
    """C division: toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


class ClockRate:
    """The NTP discipline's rate: how much the disciplined clocks advance per second
    of the oscillator, and what is still to be slewed (adjtimex(2)).

    In the kernel's units: ``tick_length`` (ns << 32 per 1/HZ s) is the current
    second's, ``tick_length_base`` the one the frequency and tick give; ``offset``
    is the PLL phase still to slew (ns << 32 / HZ), ``adjust_us`` adjtime(3)'s. At
    each whole second of CLOCK_REALTIME the next second's length is worked out as
    the kernel's second_overflow does: a chunk of the PLL offset (offset >> shift)
    and up to 500 us of adjtime's, the last remainder at once. ``gain(now)``: how far
    the disciplined clocks have run ahead of the oscillator at virtual time ``now``;
    exact integers, so every run slews alike."""

    __slots__ = ("tick_length", "tick_length_base", "offset", "adjust_us", "shift",
                 "_at", "_gain_at", "next_second")

    def __init__(self) -> None:
        self.tick_length = self.tick_length_base = NOMINAL // HZ
        self.offset = 0
        self.adjust_us = 0
        self.shift = SHIFT_PLL + 2          # SHIFT_PLL + the PLL time constant
        self._at = 0                        # the virtual time the current length began
        self._gain_at = 0                   # the gain then
        self.next_second = None             # virtual time of the next second to run

    def gain(self, now_ns: int) -> int:
        """How far the disciplined clocks are ahead of CLOCK_MONOTONIC_RAW."""
        length = self.tick_length * HZ
        if length == NOMINAL:
            return self._gain_at
        elapsed = now_ns - self._at
        return self._gain_at + elapsed - elapsed * NOMINAL // length

    def set_length(self, now_ns: int, tick_length: int) -> None:
        """The clocks run at ``tick_length`` from ``now_ns`` on."""
        if tick_length != self.tick_length:
            self._gain_at = self.gain(now_ns)
            self._at = now_ns
            self.tick_length = tick_length

    def set_base(self, now_ns: int, base: int) -> None:
        """A new frequency or tick: applied at once, not at the next second
        (ntp_update_frequency)."""
        self.set_length(now_ns, self.tick_length + base - self.tick_length_base)
        self.tick_length_base = base

    @property
    def busy(self) -> bool:
        """A coming second would change the length: something is left to slew, or
        this second's length is not the base one."""
        return bool(self.adjust_us or shift_right(self.offset, self.shift)
                    or self.tick_length != self.tick_length_base)

    def rephase(self, now_ns: int, realtime_offset_ns: int) -> None:
        """Find the next whole second of CLOCK_REALTIME after ``now_ns`` (a set of the
        clock moves it); none is looked for while nothing is left to slew."""
        if not self.busy:
            self.next_second = None
            return
        real = now_ns + realtime_offset_ns
        self.next_second = now_ns + NSEC - real % NSEC

    def run(self, now_ns: int, realtime_offset_ns: int) -> None:
        """Run every whole second of CLOCK_REALTIME up to ``now_ns``."""
        while self.next_second is not None and self.next_second <= now_ns:
            at = self.next_second
            delta = shift_right(self.offset, self.shift)
            if not delta and (self.adjust_us > MAX_TICKADJ_US
                              or self.adjust_us < -MAX_TICKADJ_US):
                # seconds alike: 500 us each while more than 500 us is left
                seconds = min((abs(self.adjust_us) - 1) // MAX_TICKADJ_US,
                              (now_ns - at) // NSEC + 1)
                step = MAX_TICKADJ_US if self.adjust_us > 0 else -MAX_TICKADJ_US
                self.adjust_us -= step * seconds
                self.set_length(at, self.tick_length_base
                                + c_div(step * 1000 << SCALE_SHIFT, HZ))
                self.next_second = at + seconds * NSEC
                continue
            self._second(at)
            self.next_second = at + NSEC
            if not self.busy:
                self.next_second = None

    def _second(self, at: int) -> None:
        """second_overflow's choice of the next second's length (adjtimex(2))."""
        length = self.tick_length_base
        delta = shift_right(self.offset, self.shift)
        self.offset -= delta
        length += delta
        adjust = self.adjust_us
        if adjust > MAX_TICKADJ_US:
            self.adjust_us -= MAX_TICKADJ_US
            length += c_div(MAX_TICKADJ_US * 1000 << SCALE_SHIFT, HZ)
        elif adjust < -MAX_TICKADJ_US:
            self.adjust_us += MAX_TICKADJ_US
            length -= c_div(MAX_TICKADJ_US * 1000 << SCALE_SHIFT, HZ)
        elif adjust:
            length += c_div(adjust * 1000, HZ) << SCALE_SHIFT
            self.adjust_us = 0
        self.set_length(at, length)


class VirtualClock:
    """A monotonic virtual clock in integer nanoseconds since the Unix epoch.

    ``boot_ns``: when the host booted on that timeline (by default ``BOOT_LEAD_NS``
    before ``start_ns``): CLOCK_MONOTONIC (``monotonic_ns``) and CLOCK_BOOTTIME count
    from it. ``realtime_offset_ns``: how far CLOCK_REALTIME has been set away from
    the virtual time (clock_settime(2)); the monotonic clocks never move but forward.
    ``rate``: the NTP discipline's (``ClockRate``), which CLOCK_MONOTONIC_RAW
    (``raw_ns``) shows. ``on_change(monotonic_ns, realtime_ns, raw_ns)``, when set, is
    told every new value of the three clocks (a host's clock page, trace/vdso.py).
    ``files`` (kernel/filetimes.py), when set, is told every new realtime: the map that
    shows the machine's file times on this clock."""

    __slots__ = ("start_ns", "boot_ns", "_now_ns", "_realtime_offset_ns", "_on_change",
                 "rate", "files")

    def __init__(self, start_ns: int, boot_ns: int | None = None) -> None:
        self.start_ns = int(start_ns)
        self.boot_ns = self.start_ns - BOOT_LEAD_NS if boot_ns is None else int(boot_ns)
        if self.boot_ns > self.start_ns:
            raise ValueError(f"a host cannot boot ({self.boot_ns} ns) after its start "
                             f"({self.start_ns} ns)")
        self._now_ns = self.start_ns
        self._realtime_offset_ns = 0
        self._on_change = None
        self.rate = ClockRate()
        self.files = None

    @property
    def on_change(self):
        return self._on_change

    @on_change.setter
    def on_change(self, listener) -> None:
        self._on_change = listener
        self._tell()

    def _tell(self) -> None:
        if self._on_change is not None:
            now = self._now_ns
            mono = now - self.boot_ns
            self._on_change(mono, now + self._realtime_offset_ns, mono - self.rate.gain(now))

    @property
    def realtime_offset_ns(self) -> int:
        return self._realtime_offset_ns

    @realtime_offset_ns.setter
    def realtime_offset_ns(self, offset_ns: int) -> None:
        self._realtime_offset_ns = int(offset_ns)
        # the next second of the NTP discipline is the new realtime's
        self.rate.rephase(self._now_ns, self._realtime_offset_ns)
        self._tell()
        if self.files is not None:
            self.files.note(self._now_ns + self._realtime_offset_ns)

    def rate_changed(self) -> None:
        """The NTP state changed the rate or what is left to slew: its seconds are
        looked for from now on, and the listener hears the new raw time."""
        self.rate.rephase(self._now_ns, self._realtime_offset_ns)
        self._tell()

    @property
    def now_ns(self) -> int:
        """Current virtual time (ns since the epoch)."""
        return self._now_ns

    @property
    def realtime_ns(self) -> int:
        """CLOCK_REALTIME: the virtual time plus what clock_settime moved it by."""
        return self._now_ns + self._realtime_offset_ns

    @property
    def monotonic_ns(self) -> int:
        """CLOCK_MONOTONIC (and CLOCK_BOOTTIME): the time since the host's boot."""
        return self._now_ns - self.boot_ns

    @property
    def boottime_ns(self) -> int:
        """CLOCK_BOOTTIME: CLOCK_MONOTONIC and the time suspended, which a host never
        is (clock_gettime(2))."""
        return self._now_ns - self.boot_ns

    @property
    def raw_ns(self) -> int:
        """CLOCK_MONOTONIC_RAW: the time since the boot less what the NTP discipline
        gained."""
        return self._now_ns - self.boot_ns - self.rate.gain(self._now_ns)

    @property
    def elapsed_ns(self) -> int:
        """Virtual time passed since the clock started."""
        return self._now_ns - self.start_ns

    @property
    def now(self) -> float:
        """Current virtual time in float seconds (for display, not for arithmetic)."""
        return self._now_ns / 1e9

    def advance_to(self, t_ns: int) -> None:
        """Move the clock to ``t_ns``; moving backwards would break every timer."""
        t_ns = int(t_ns)
        if t_ns < self._now_ns:
            raise ValueError(
                f"virtual clock cannot go backwards: now {self._now_ns} ns, asked {t_ns} ns"
            )
        self._now_ns = t_ns
        rate = self.rate
        if rate.next_second is not None:
            rate.run(t_ns, self._realtime_offset_ns)
        if self.files is not None:
            self.files.note(t_ns + self._realtime_offset_ns)
        if self._on_change is not None:
            mono = t_ns - self.boot_ns
            self._on_change(mono, t_ns + self._realtime_offset_ns, mono - rate.gain(t_ns))

    def advance_by(self, delta_ns: int) -> None:
        """Move the clock forward by ``delta_ns`` (must be >= 0)."""
        self.advance_to(self._now_ns + int(delta_ns))

    def __repr__(self) -> str:
        return (f"VirtualClock(now_ns={self._now_ns}, elapsed_ns={self.elapsed_ns}, "
                f"boot_ns={self.boot_ns})")


class CpuBurst:
    """CPU time charged to the host's programs that the clock does not show yet.

    The host has one CPU: while its programs work, time passes. Each charge (a
    simulated call's cost, a preemption slice) is added here; ``apply`` moves the
    clock by what has gathered. The engine applies it once it reaches
    ``threshold_ns`` (a long burst sees time pass, its timers fire) and when the
    host goes idle (a sleep that ends after the burst ends exactly when it would
    have). Below the threshold a program doing a few calls between sleeps therefore
    reads exact times, as with an infinitely fast CPU; its CPU time may then run
    ahead of CLOCK_MONOTONIC by what is not applied yet, less than the threshold."""

    __slots__ = ("clock", "threshold_ns", "unapplied_ns")

    def __init__(self, clock: VirtualClock, threshold_ns: int) -> None:
        self.clock = clock
        self.threshold_ns = int(threshold_ns)
        self.unapplied_ns = 0

    @property
    def due(self) -> bool:
        """The burst has reached its threshold: the clock should show it."""
        return self.unapplied_ns >= self.threshold_ns

    def apply(self, limit_ns: int) -> bool:
        """Move the clock by the burst, but not past ``limit_ns`` (the end of the
        current run: what does not fit stays for later). True if the clock moved.
        CPU time is the oscillator's: while NTP slews the clock (``ClockRate``), a
        CPU second moves CLOCK_MONOTONIC by the second's length, at the rate the
        burst starts at."""
        clock = self.clock
        room = limit_ns - clock.now_ns
        length = clock.rate.tick_length * HZ
        if length == NOMINAL:
            step = used = min(self.unapplied_ns, room)
        else:
            step = self.unapplied_ns * length // NOMINAL
            used = self.unapplied_ns
            if step > room:
                step = room
                used = min(used, -(-room * NOMINAL // length))
        if step <= 0:
            return False
        clock.advance_by(step)
        self.unapplied_ns -= used
        return True


class TimerHandle:
    """Returned by ``EventQueue.schedule``; pass it to ``cancel``."""

    __slots__ = ("when_ns", "seq", "payload", "active")

    def __init__(self, when_ns: int, seq: int, payload: Any) -> None:
        self.when_ns = when_ns
        self.seq = seq
        self.payload = payload
        self.active = True  # False once fired or cancelled

    def __repr__(self) -> str:
        state = "active" if self.active else "done"
        return f"<TimerHandle at {self.when_ns} ns #{self.seq} {state}>"


class EventQueue:
    """Deadlines ordered by (time, insertion); cancellation is O(1).

    Cancelled entries stay in the heap and are skipped when they reach the top (lazy
    deletion); the heap is rebuilt when more than half of it is dead so that programs
    re-arming timers in a loop do not grow it without bound.
    """

    __slots__ = ("_heap", "_counter", "_live", "_dead")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, TimerHandle]] = []
        self._counter = itertools.count()
        self._live = 0
        self._dead = 0

    def schedule(self, when_ns: int, payload: Any) -> TimerHandle:
        """Queue ``payload`` for ``when_ns``; equal times keep insertion order."""
        handle = TimerHandle(int(when_ns), next(self._counter), payload)
        heapq.heappush(self._heap, (handle.when_ns, handle.seq, handle))
        self._live += 1
        return handle

    def cancel(self, handle: TimerHandle) -> bool:
        """Cancel a pending event; returns False if it already fired or was cancelled."""
        if not handle.active:
            return False
        handle.active = False
        self._live -= 1
        self._dead += 1
        if self._dead > 64 and self._dead > self._live:
            self._heap = [entry for entry in self._heap if entry[2].active]
            heapq.heapify(self._heap)
            self._dead = 0
        return True

    def _drop_dead_top(self) -> None:
        heap = self._heap
        while heap and not heap[0][2].active:
            heapq.heappop(heap)
            self._dead -= 1

    def next_time(self) -> Optional[int]:
        """Earliest pending deadline, or None when nothing is queued."""
        self._drop_dead_top()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now_ns: int) -> list[Any]:
        """Remove and return payloads due at or before ``now_ns``, in (time, insertion) order."""
        due: list[Any] = []
        heap = self._heap
        while True:
            self._drop_dead_top()
            if not heap or heap[0][0] > now_ns:
                return due
            _, _, handle = heapq.heappop(heap)
            handle.active = False
            self._live -= 1
            due.append(handle.payload)

    def __len__(self) -> int:
        return self._live

    def __bool__(self) -> bool:
        return self._live > 0
