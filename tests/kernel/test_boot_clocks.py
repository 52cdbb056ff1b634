"""CLOCK_MONOTONIC and CLOCK_BOOTTIME count from the host's boot, CLOCK_REALTIME is
the date (kernel/clock.py VirtualClock): on a machine programs take the boot as
realtime - monotonic and compare the monotonic clocks with /proc/uptime
(clock_gettime(2)). No tracee."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from pytest_simproc.kernel.clock import BOOT_LEAD_NS, VirtualClock
from pytest_simproc.kernel.ntp import ADJ_FREQUENCY, ADJ_OFFSET_SINGLESHOT, NtpState, Timex

NSEC = 10**9
START = 946684800 * NSEC


def test_the_boot_is_a_minute_before_the_start():
    clock = VirtualClock(START)
    assert clock.boot_ns == START - BOOT_LEAD_NS == START - 60 * NSEC
    assert clock.monotonic_ns == clock.boottime_ns == clock.raw_ns == 60 * NSEC
    assert clock.realtime_ns == START
    clock.advance_by(2_500_000_000)
    assert clock.monotonic_ns == 62_500_000_000 and clock.realtime_ns == START + 2_500_000_000


def test_a_given_boot_and_one_after_the_start():
    """A drop-in session's host boots with the session, which began earlier."""
    clock = VirtualClock(START, boot_ns=START - 5 * NSEC)
    assert clock.monotonic_ns == 5 * NSEC
    with pytest.raises(ValueError):
        VirtualClock(START, boot_ns=START + 1)


def test_a_set_of_the_realtime_clock_leaves_the_boot_clocks():
    clock = VirtualClock(START)
    heard = []
    clock.on_change = lambda mono, real, raw: heard.append((mono, real, raw))
    clock.realtime_offset_ns = 3600 * NSEC    # clock_settime(CLOCK_REALTIME, an hour on)
    assert clock.monotonic_ns == 60 * NSEC and clock.realtime_ns == START + 3600 * NSEC
    assert heard[-1] == (60 * NSEC, START + 3600 * NSEC, 60 * NSEC)


_STEP = st.one_of(
    st.tuples(st.just("advance"), st.integers(0, 5 * NSEC)),
    st.tuples(st.just("set"), st.integers(-10**6 * NSEC, 10**6 * NSEC)),
    st.tuples(st.just("slew"), st.integers(-2_000_000, 2_000_000)),     # adjtime(3), us
    st.tuples(st.just("frequency"), st.integers(-500 * 65536, 500 * 65536)))  # ppm << 16


@settings(max_examples=150, deadline=None)
@given(start=st.integers(0, 2**61), lead=st.integers(0, 10**4 * NSEC),
       steps=st.lists(_STEP, max_size=30))
def test_the_boot_clocks_follow_the_virtual_clock(start, lead, steps):
    """Whatever the clock goes through: MONOTONIC <= BOOTTIME, both advance by what
    the virtual clock does, never back, and realtime - monotonic (the boot as the
    date says) changes only when CLOCK_REALTIME is set; the listener (the vDSO's
    clock page) hears the values the properties read."""
    clock = VirtualClock(start, boot_ns=start - lead)
    ntp = NtpState(clock.realtime_ns)
    heard = []
    clock.on_change = lambda mono, real, raw: heard.append((mono, real, raw))
    boot_as_dated = clock.realtime_ns - clock.monotonic_ns
    for kind, value in steps:
        before = (clock.now_ns, clock.monotonic_ns, clock.boottime_ns)
        if kind == "advance":
            clock.advance_by(value)
        elif kind == "set":
            clock.realtime_offset_ns += value
            ntp.stepped(clock.realtime_ns, clock)
            boot_as_dated += value
        else:
            tx = (Timex(modes=ADJ_OFFSET_SINGLESHOT, offset=value) if kind == "slew"
                  else Timex(modes=ADJ_FREQUENCY, freq=value))
            NtpState.validate(tx, True)
            ntp.adjtimex(tx, clock.realtime_ns, clock)
        moved = clock.now_ns - before[0]
        assert clock.monotonic_ns - before[1] == clock.boottime_ns - before[2] == moved
        assert 0 <= lead <= clock.monotonic_ns <= clock.boottime_ns
        assert clock.monotonic_ns == clock.now_ns - clock.boot_ns
        assert clock.realtime_ns - clock.monotonic_ns == boot_as_dated
        assert heard[-1] == (clock.monotonic_ns, clock.realtime_ns, clock.raw_ns)
