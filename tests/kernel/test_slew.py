"""The NTP discipline's rate (kernel/clock.py ClockRate, driven by kernel/ntp.py):
adjtime(3) and the PLL slew the disciplined clocks against CLOCK_MONOTONIC_RAW,
ADJ_FREQUENCY changes their rate, a set of the clock drops what is left. No tracee."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from pytest_simproc.kernel.clock import NOMINAL, CpuBurst, VirtualClock
from pytest_simproc.kernel.ntp import (
    ADJ_FREQUENCY, ADJ_OFFSET, ADJ_OFFSET_SINGLESHOT, ADJ_OFFSET_SS_READ, ADJ_STATUS,
    ADJ_TICK, ADJ_TIMECONST, STA_PLL, STA_UNSYNC, NtpState, Timex)
from pytest_simproc.kernel.timers import CLOCK_TAI, TIMER_ABSTIME, TimerTable
from pytest_simproc.kernel.clock import EventQueue

NSEC = 10**9
START = 946684800 * NSEC


def _host(at=START):
    clock = VirtualClock(START)
    if at > START:
        clock.advance_to(at)
    return clock, NtpState(clock.realtime_ns)


def _adj(ntp, clock, **fields):
    tx = Timex(**fields)
    NtpState.validate(tx, True)
    ntp.adjtimex(tx, clock.realtime_ns, clock)
    return tx


def _slewed(ns: int, extra_ns_per_s: int) -> int:
    """What the disciplined clocks gain over ``ns`` of their own time when they run
    ``extra_ns_per_s`` faster than the oscillator."""
    return ns - ns * NOMINAL // ((NSEC + extra_ns_per_s) << 32)


def test_adjtime_slews_half_a_millisecond_each_second_from_the_next_one():
    clock, ntp = _host(START + NSEC // 2)
    _adj(ntp, clock, modes=ADJ_OFFSET_SINGLESHOT, offset=1_000_000)
    assert clock.raw_ns == clock.monotonic_ns      # nothing before the next whole second
    clock.advance_to(START + NSEC)
    assert clock.raw_ns == clock.monotonic_ns
    clock.advance_to(START + 11 * NSEC)
    # ten seconds at 500 ppm: realtime (and monotonic) 5 ms ahead of the oscillator,
    # 500 us of the offset taken at each second's start (the one starting now too)
    assert clock.monotonic_ns - clock.raw_ns == _slewed(10 * NSEC, 500_000) == 4_997_502
    assert _adj(ntp, clock, modes=ADJ_OFFSET_SS_READ).offset == 1_000_000 - 11 * 500
    assert clock.realtime_ns == START + 11 * NSEC   # sleeps and timers stay exact


def test_the_last_remainder_is_slewed_at_once_then_the_rate_is_nominal():
    clock, ntp = _host()
    _adj(ntp, clock, modes=ADJ_OFFSET_SINGLESHOT, offset=-1_200)
    clock.advance_to(START + 3 * NSEC)   # -500 us, -500 us, then -200 us
    gain = _slewed(NSEC, -500_000) * 2
    assert clock.monotonic_ns - clock.raw_ns == gain
    clock.advance_to(START + 4 * NSEC)
    gain += _slewed(NSEC, -200_000)
    assert clock.monotonic_ns - clock.raw_ns == gain
    assert clock.rate.next_second is None   # idle: no second is looked at any more
    clock.advance_to(START + 100 * NSEC)
    assert clock.monotonic_ns - clock.raw_ns == gain
    assert _adj(ntp, clock, modes=ADJ_OFFSET_SS_READ).offset == 0


def test_a_new_adjtime_replaces_the_old_and_says_what_was_left():
    clock, ntp = _host()
    _adj(ntp, clock, modes=ADJ_OFFSET_SINGLESHOT, offset=3_000)
    clock.advance_to(START + 2 * NSEC + 1)
    assert _adj(ntp, clock, modes=ADJ_OFFSET_SINGLESHOT, offset=-100).offset == 2_000


def test_the_pll_slews_a_part_of_its_offset_each_second():
    clock, ntp = _host()
    _adj(ntp, clock, modes=ADJ_STATUS, status=STA_PLL)
    tx = _adj(ntp, clock, modes=ADJ_OFFSET | ADJ_TIMECONST, offset=2_000, constant=0)
    assert tx.offset == 2_000 and tx.constant == 4     # microseconds: constant + 4
    offsets = []
    for second in range(1, 4):
        clock.advance_to(START + second * NSEC)
        offsets.append(_adj(ntp, clock, modes=0).offset)
    assert offsets == [1968, 1937, 1907]     # 1/64 of what is left, each second
    clock.advance_to(START + 3600 * NSEC)
    left = _adj(ntp, clock, modes=0).offset
    # what went is what the clocks gained, to a nanosecond's rounding each second
    assert left == 0 and abs(clock.monotonic_ns - clock.raw_ns - 2_000_000) < 2_000


def test_a_frequency_applies_at_once():
    clock, ntp = _host(START + NSEC // 4)
    _adj(ntp, clock, modes=ADJ_FREQUENCY, freq=100 << 16)    # +100 ppm
    clock.advance_to(START + NSEC // 4 + 10 * NSEC)
    assert clock.monotonic_ns - clock.raw_ns == _slewed(10 * NSEC, 100_000)
    assert clock.rate.next_second is None   # a steady rate needs no second's work


def test_a_longer_tick_runs_the_clock_faster_with_the_frequency():
    """ADJ_TICK: 10,010 us a USER_HZ tick is 1 ms a second more, at once, on top of a
    frequency's; both go back to nominal with the old values."""
    clock, ntp = _host(START + NSEC // 3)
    _adj(ntp, clock, modes=ADJ_TICK | ADJ_FREQUENCY, tick=10_010, freq=-(200 << 16))
    clock.advance_by(4 * NSEC)
    gain = _slewed(4 * NSEC, 1_000_000 - 200_000)
    assert clock.monotonic_ns - clock.raw_ns == gain
    _adj(ntp, clock, modes=ADJ_TICK | ADJ_FREQUENCY, tick=10_000, freq=0)
    clock.advance_by(4 * NSEC)
    assert clock.monotonic_ns - clock.raw_ns == gain


def test_a_set_of_the_clock_drops_what_is_left_to_slew():
    clock, ntp = _host()
    _adj(ntp, clock, modes=ADJ_OFFSET_SINGLESHOT, offset=2_000_000)
    clock.advance_to(START + 3 * NSEC)
    gain = clock.monotonic_ns - clock.raw_ns
    clock.realtime_offset_ns += 123
    ntp.stepped(clock.realtime_ns, clock)
    assert ntp.status & STA_UNSYNC
    assert _adj(ntp, clock, modes=ADJ_OFFSET_SS_READ).offset == 0
    clock.advance_to(START + 30 * NSEC)
    assert clock.monotonic_ns - clock.raw_ns == gain


def test_cpu_time_is_the_oscillators_while_the_clock_is_slewed():
    """A CPU second of the burst moves CLOCK_MONOTONIC 1 s + 500 us while adjtime
    slews (a CPU clock keeps the oscillator's time, as natively); cut at a run's end,
    the rest waits, and the clock stays at the oscillator's pace."""
    clock, ntp = _host()
    burst = CpuBurst(clock, threshold_ns=1)
    _adj(ntp, clock, modes=ADJ_OFFSET_SINGLESHOT, offset=1_000_000)
    clock.advance_to(START + NSEC)          # the slew starts with this second
    raw = clock.raw_ns
    burst.unapplied_ns = NSEC
    assert burst.apply(START + 10 * NSEC)
    assert (clock.now_ns, burst.unapplied_ns) == (START + 2 * NSEC + 500_000, 0)
    assert clock.raw_ns - raw == NSEC
    burst.unapplied_ns = NSEC
    assert burst.apply(clock.now_ns + NSEC // 2)   # half a second fits
    assert burst.unapplied_ns == NSEC - 499_750_125   # 0.5 s / 1.0005 of CPU went
    assert burst.apply(START + 10 * NSEC) and burst.unapplied_ns == 0
    assert abs(clock.raw_ns - raw - 2 * NSEC) <= 1    # rounding at the cut


def test_listeners_hear_the_raw_clock():
    clock, ntp = _host()
    heard = []
    clock.on_change = lambda now, real, raw: heard.append(now - raw)
    _adj(ntp, clock, modes=ADJ_OFFSET_SINGLESHOT, offset=1_000_000)
    clock.advance_to(START + 3 * NSEC)
    assert heard[-1] == clock.monotonic_ns - clock.raw_ns > 0


@settings(max_examples=80, deadline=None)
@given(adjust=st.integers(-3_000_000, 3_000_000), pll=st.integers(-600_000, 600_000),
       freq=st.integers(-600, 600), start=st.integers(0, 3 * NSEC),
       steps=st.lists(st.integers(0, 7 * NSEC), min_size=1, max_size=12))
def test_one_jump_is_every_second_one_by_one(adjust, pll, freq, start, steps):
    """Seconds alike are run in one go: how far the clocks gained and what is left
    are those of every second run by itself, however the time is cut."""
    def run(by_second):
        clock, ntp = _host(START + start)
        _adj(ntp, clock, modes=ADJ_STATUS, status=STA_PLL)
        _adj(ntp, clock, modes=ADJ_OFFSET | ADJ_FREQUENCY, offset=pll, freq=freq << 16)
        _adj(ntp, clock, modes=ADJ_OFFSET_SINGLESHOT, offset=adjust)
        raws = []
        for step in steps:
            target = clock.now_ns + step
            if by_second:
                while clock.now_ns + NSEC < target:
                    clock.advance_by(NSEC // 3)
            clock.advance_to(target)
            raws.append(clock.raw_ns)
        return raws, clock.rate.adjust_us, clock.rate.offset
    jumped, stepped = run(False), run(True)
    assert jumped == stepped
    raws = jumped[0]
    assert raws == sorted(raws)   # the oscillator's time never goes back


def test_timers_on_tai_move_with_the_tai_offset_relative_or_not():
    """adjtimex(2) ADJ_TAI: the kernel's clock_was_set moves the TAI timer base; only
    a relative CLOCK_REALTIME timer is on CLOCK_MONOTONIC (POSIX), a relative TAI one
    is not."""
    clock, events = VirtualClock(START), EventQueue()
    table = TimerTable(clock, events, lambda *a: None, lambda pid: 0)
    absolute = table.timer_create(7, CLOCK_TAI, 1, 0, None, None)
    relative = table.timer_create(7, CLOCK_TAI, 1, 0, None, None)
    realtime = table.timer_create(7, 0, 1, 0, None, None)
    table.timer_settime(7, absolute, TIMER_ABSTIME, START + 10 * NSEC, 0)
    table.timer_settime(7, relative, 0, 10 * NSEC, 0)
    table.timer_settime(7, realtime, 0, 10 * NSEC, 0)
    table.realtime_was_set(0, tai_ns=3 * NSEC)
    left = [table.timer_gettime(7, t)[0] for t in (absolute, relative, realtime)]
    assert left == [7 * NSEC, 7 * NSEC, 10 * NSEC]
    table.realtime_was_set(NSEC, tai_ns=0)      # a leap second: TAI stays
    left = [table.timer_gettime(7, t)[0] for t in (absolute, relative, realtime)]
    assert left == [7 * NSEC, 7 * NSEC, 10 * NSEC]
