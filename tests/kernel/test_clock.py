"""Virtual clock and the event queue."""

import pytest
from hypothesis import given, strategies as st

from pytest_simproc.kernel import EventQueue, VirtualClock

START = 946684800 * 10**9


def test_clock_starts_and_advances():
    clock = VirtualClock(START)
    assert clock.now_ns == START and clock.elapsed_ns == 0
    clock.advance_to(START + 1_500_000_000)
    assert clock.elapsed_ns == 1_500_000_000
    assert clock.now == pytest.approx(946684801.5)
    clock.advance_to(clock.now_ns)  # standing still is fine
    clock.advance_by(10)
    assert clock.now_ns == START + 1_500_000_010


def test_clock_never_goes_backwards():
    clock = VirtualClock(START)
    clock.advance_to(START + 5)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance_to(START + 4)
    with pytest.raises(ValueError):
        clock.advance_by(-1)
    assert clock.now_ns == START + 5


def test_queue_orders_by_time_then_insertion():
    q = EventQueue()
    assert q.next_time() is None and len(q) == 0 and not q
    q.schedule(30, "c")
    q.schedule(10, "a1")
    q.schedule(20, "b")
    q.schedule(10, "a2")
    assert len(q) == 4 and q.next_time() == 10
    assert q.pop_due(9) == []
    assert q.pop_due(20) == ["a1", "a2", "b"]
    assert q.next_time() == 30 and len(q) == 1
    assert q.pop_due(100) == ["c"]
    assert q.next_time() is None and len(q) == 0


def test_cancel():
    q = EventQueue()
    a = q.schedule(10, "a")
    b = q.schedule(20, "b")
    assert q.cancel(a) is True
    assert q.cancel(a) is False
    assert len(q) == 1 and q.next_time() == 20
    assert q.pop_due(20) == ["b"]
    assert q.cancel(b) is False  # already fired
    assert len(q) == 0


def test_many_cancellations_do_not_grow_the_heap():
    q = EventQueue()
    keep = q.schedule(10**12, "keep")
    for i in range(10_000):
        q.cancel(q.schedule(i, i))
    assert len(q) == 1
    assert len(q._heap) < 200
    assert q.pop_due(10**12) == ["keep"]
    assert not keep.active


@given(st.lists(st.tuples(st.integers(0, 50), st.booleans()), max_size=60),
       st.integers(0, 60))
def test_queue_matches_a_sorted_reference(items, now):
    q = EventQueue()
    reference = []
    for index, (when, cancel) in enumerate(items):
        handle = q.schedule(when, index)
        if cancel:
            q.cancel(handle)
        else:
            reference.append((when, index))
    reference.sort()
    assert len(q) == len(reference)
    assert q.next_time() == (reference[0][0] if reference else None)
    assert q.pop_due(now) == [i for w, i in reference if w <= now]
    assert len(q) == sum(1 for w, _ in reference if w > now)


# ---------------------------------------------------------------- CpuBurst
from pytest_simproc.kernel.clock import CpuBurst  # noqa: E402


def test_burst_is_due_at_its_threshold_and_applies_whole():
    clock = VirtualClock(1000)
    burst = CpuBurst(clock, threshold_ns=10)
    burst.unapplied_ns += 9
    assert not burst.due and clock.now_ns == 1000   # a few calls: the clock stands
    burst.unapplied_ns += 1
    assert burst.due
    assert burst.apply(limit_ns=10**9)
    assert (clock.now_ns, burst.unapplied_ns) == (1010, 0)
    assert not burst.apply(limit_ns=10**9)          # nothing left: no move


def test_burst_never_moves_the_clock_past_the_limit_and_keeps_the_rest():
    clock = VirtualClock(0)
    burst = CpuBurst(clock, threshold_ns=10)
    burst.unapplied_ns = 25
    assert burst.apply(limit_ns=20)
    assert (clock.now_ns, burst.unapplied_ns) == (20, 5)
    assert not burst.apply(limit_ns=20)             # at the limit: stays unapplied
    assert not burst.apply(limit_ns=15)             # a limit behind the clock
    assert burst.apply(limit_ns=100)
    assert (clock.now_ns, burst.unapplied_ns) == (25, 0)


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 200)), max_size=40))
def test_burst_conserves_charged_time(steps):
    """Whatever the charges and limits, the clock moved by exactly what was applied,
    only forward, never past a limit it was given, and nothing charged is lost."""
    clock = VirtualClock(0)
    burst = CpuBurst(clock, threshold_ns=16)
    charged = 0
    for charge, limit in steps:
        burst.unapplied_ns += charge
        charged += charge
        before = clock.now_ns
        moved = burst.apply(limit)
        assert clock.now_ns >= before and moved == (clock.now_ns > before)
        assert clock.now_ns <= max(before, limit)
        assert clock.now_ns + burst.unapplied_ns == charged
def test_on_change_hears_every_new_value():
    """The clock tells its listener (a host's clock page, trace/vdso.py) each value
    the monotonic (since the boot) and realtime clocks take, and nothing moves it
    without a call."""
    heard, raws = [], []
    c = VirtualClock(1000, boot_ns=400)
    c.on_change = lambda mono, real, raw: heard.append((mono, real)) or raws.append(raw - mono)
    assert heard == [(600, 1000)]           # the value at the time it is attached
    c.advance_to(1500)
    c.advance_by(0)
    c.realtime_offset_ns = -300               # clock_settime(CLOCK_REALTIME, ...)
    c.advance_by(100)
    assert heard == [(600, 1000), (1100, 1500), (1100, 1500), (1100, 1200), (1200, 1300)]
    with pytest.raises(ValueError):
        c.advance_to(1)
    assert heard[-1] == (1200, 1300) and len(heard) == 5
    assert raws == [0] * 5   # nothing slews: CLOCK_MONOTONIC_RAW reads CLOCK_MONOTONIC
