"""Virtual time: one clock per simulated host, a queue of timed events, and the CPU
burst that moves the clock while programs work.

Time in the simulation moves only forward, and only three ways: to the next deadline in
the ``EventQueue`` when every process is blocked; by the CPU the programs were charged
(``CpuBurst``) once a burst passes its threshold or the host goes idle; and by a
preemption slice (engine/trap.py). Integer nanoseconds are used throughout so that
arithmetic is exact and results are reproducible.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Optional

__all__ = ["VirtualClock", "EventQueue", "TimerHandle", "CpuBurst"]


class VirtualClock:
    """A monotonic virtual clock in integer nanoseconds since the Unix epoch.

    ``realtime_offset_ns``: how far CLOCK_REALTIME has been set away from it
    (clock_settime(2)); the monotonic clocks never move but forward.
    ``on_change(now_ns, realtime_ns)``, when set, is told every new value (a host's
    clock page, trace/vdso.py)."""

    __slots__ = ("start_ns", "_now_ns", "_realtime_offset_ns", "_on_change")

    def __init__(self, start_ns: int) -> None:
        self.start_ns = int(start_ns)
        self._now_ns = self.start_ns
        self._realtime_offset_ns = 0
        self._on_change = None

    @property
    def on_change(self):
        return self._on_change

    @on_change.setter
    def on_change(self, listener) -> None:
        self._on_change = listener
        if listener is not None:
            listener(self._now_ns, self.realtime_ns)

    @property
    def realtime_offset_ns(self) -> int:
        return self._realtime_offset_ns

    @realtime_offset_ns.setter
    def realtime_offset_ns(self, offset_ns: int) -> None:
        self._realtime_offset_ns = int(offset_ns)
        if self._on_change is not None:
            self._on_change(self._now_ns, self.realtime_ns)

    @property
    def now_ns(self) -> int:
        """Current virtual time (ns since the epoch)."""
        return self._now_ns

    @property
    def realtime_ns(self) -> int:
        """CLOCK_REALTIME: the virtual time plus what clock_settime moved it by."""
        return self._now_ns + self._realtime_offset_ns

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
        if self._on_change is not None:
            self._on_change(t_ns, t_ns + self._realtime_offset_ns)

    def advance_by(self, delta_ns: int) -> None:
        """Move the clock forward by ``delta_ns`` (must be >= 0)."""
        self.advance_to(self._now_ns + int(delta_ns))

    def __repr__(self) -> str:
        return f"VirtualClock(now_ns={self._now_ns}, elapsed_ns={self.elapsed_ns})"


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
        current run: what does not fit stays for later). True if the clock moved."""
        step = min(self.unapplied_ns, limit_ns - self.clock.now_ns)
        if step <= 0:
            return False
        self.clock.advance_by(step)
        self.unapplied_ns -= step
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
