"""The host's NTP state (kernel/ntp.py): adjtimex(2)'s modes and the leap-second
state machine, without a tracee."""
from __future__ import annotations

import errno

import pytest
from hypothesis import given, settings, strategies as st

from pytest_simproc.kernel.errors import KernelError
from pytest_simproc.kernel.ntp import (
    ADJ_ADJTIME, ADJ_FREQUENCY, ADJ_MAXERROR, ADJ_NANO, ADJ_OFFSET, ADJ_OFFSET_SS_READ,
    ADJ_SETOFFSET, ADJ_STATUS, ADJ_TAI, ADJ_TICK, ADJ_TIMECONST, STA_DEL, STA_INS, STA_NANO,
    STA_PLL, STA_UNSYNC, TIME_DEL, TIME_ERROR, TIME_INS, TIME_OK, TIME_OOP, TIME_WAIT,
    NtpState, Timex)

NSEC = 10**9
MIDNIGHT = 946771200 * NSEC   # 2000-01-02 00:00:00 UTC


def _adj(ntp, real, **fields):
    tx = Timex(**fields)
    NtpState.validate(tx, True)
    return ntp.adjtimex(tx, real), tx


def test_a_fresh_clock_reads_as_a_booted_kernels():
    ntp = NtpState(MIDNIGHT)
    state, tx = _adj(ntp, MIDNIGHT + 1_234_567)
    assert state == TIME_ERROR and tx.status == STA_UNSYNC
    assert (tx.maxerror, tx.esterror, tx.constant, tx.precision, tx.tolerance, tx.tick) == (
        16_000_000, 16_000_000, 2, 1, 32_768_000, 10_000)
    assert (tx.time_sec, tx.time_usec) == (MIDNIGHT // NSEC, 1234)
    ntp.adjtimex(Timex(modes=ADJ_NANO), MIDNIGHT)
    _, tx = _adj(ntp, MIDNIGHT + 1_234_567)
    assert tx.status & STA_NANO and tx.time_usec == 1_234_567


def test_validation_in_the_kernels_order():
    def check(privileged, **fields):
        with pytest.raises(KernelError) as exc:
            NtpState.validate(Timex(**fields), privileged)
        return exc.value.errno
    assert check(False, modes=ADJ_STATUS) == errno.EPERM
    assert check(False, modes=ADJ_TICK, tick=1) == errno.EPERM
    NtpState.validate(Timex(modes=ADJ_OFFSET_SS_READ), False)   # reading adjtime's offset
    NtpState.validate(Timex(modes=0), False)
    assert check(True, modes=ADJ_TICK, tick=8999) == errno.EINVAL
    NtpState.validate(Timex(modes=ADJ_TICK, tick=11000), True)
    assert check(True, modes=ADJ_SETOFFSET, time_usec=-1) == errno.EINVAL
    assert check(True, modes=ADJ_SETOFFSET, time_usec=10**6) == errno.EINVAL
    NtpState.validate(Timex(modes=ADJ_SETOFFSET | ADJ_NANO, time_usec=10**6), True)
    assert check(True, modes=ADJ_FREQUENCY, freq=2**62) == errno.EINVAL
    # adjtime's switch alone, or with the read-only bit, is no singleshot (adjtimex03)
    assert check(True, modes=ADJ_ADJTIME) == errno.EINVAL
    assert check(False, modes=ADJ_ADJTIME | 0x2000) == errno.EINVAL


def test_modes_are_kept_and_read_back():
    ntp = NtpState(MIDNIGHT)
    _adj(ntp, MIDNIGHT, modes=ADJ_STATUS, status=STA_PLL)
    _, tx = _adj(ntp, MIDNIGHT, modes=ADJ_FREQUENCY | ADJ_MAXERROR | ADJ_TIMECONST | ADJ_OFFSET,
                 freq=-65536 * 12, maxerror=10**9, constant=3, offset=-250)
    assert (tx.freq, tx.maxerror, tx.constant, tx.offset) == (-65536 * 12, 16_000_000, 7, -250)
    _, tx = _adj(ntp, MIDNIGHT, modes=ADJ_FREQUENCY, freq=10**9)   # clamped to 500 ppm
    assert tx.freq == 500 << 16
    _, tx = _adj(ntp, MIDNIGHT, modes=ADJ_TAI, constant=37)
    assert tx.tai == 37
    _, tx = _adj(ntp, MIDNIGHT, modes=ADJ_ADJTIME | 1, offset=5000)
    assert tx.offset == 0
    _, tx = _adj(ntp, MIDNIGHT, modes=ADJ_OFFSET_SS_READ)
    assert tx.offset == 5000
    # switching the PLL off starts over: unsynchronized, TIME_OK
    state, tx = _adj(ntp, MIDNIGHT, modes=ADJ_STATUS, status=0)
    assert tx.status == 0 and state == TIME_OK


def test_insertion_repeats_the_days_last_second():
    ntp = NtpState(MIDNIGHT - 2 * NSEC)
    _adj(ntp, MIDNIGHT - 2 * NSEC, modes=ADJ_STATUS, status=STA_INS)
    assert ntp.state == TIME_OK and ntp.leap_at_ns() == MIDNIGHT
    assert ntp.advance(MIDNIGHT - NSEC) == 0 and ntp.state == TIME_INS
    assert ntp.advance(MIDNIGHT + NSEC // 2) == -1
    assert (ntp.state, ntp.tai) == (TIME_OOP, 1)
    assert ntp.leap_at_ns() is None                # the clock reads 23:59:59.5 again
    assert ntp.advance(MIDNIGHT + NSEC // 2) == 0 and ntp.state == TIME_WAIT
    _adj(ntp, MIDNIGHT + NSEC // 2, modes=ADJ_STATUS, status=0)
    assert ntp.state == TIME_WAIT
    ntp.advance(MIDNIGHT + 2 * NSEC)
    assert ntp.state == TIME_OK


def test_deletion_skips_the_days_last_second():
    ntp = NtpState(MIDNIGHT - 3 * NSEC)
    _adj(ntp, MIDNIGHT - 3 * NSEC, modes=ADJ_STATUS, status=STA_DEL)
    assert ntp.leap_at_ns() == MIDNIGHT - NSEC
    assert ntp.advance(MIDNIGHT - NSEC // 2) == 1
    assert (ntp.state, ntp.tai) == (TIME_WAIT, -1)


def test_a_leap_armed_in_the_last_second_waits_a_day():
    # the tick that arms it is the one a deletion would happen at: the next day's
    ntp = NtpState(MIDNIGHT - NSEC - NSEC // 2)
    _adj(ntp, MIDNIGHT - NSEC - NSEC // 2, modes=ADJ_STATUS, status=STA_DEL)
    assert ntp.leap_at_ns() == MIDNIGHT + 86399 * NSEC
    assert ntp.advance(MIDNIGHT + NSEC) == 0 and ntp.state == TIME_DEL
    # an insertion armed at 23:59:59's tick happens at the next midnight
    ntp = NtpState(MIDNIGHT - NSEC - NSEC // 2)
    _adj(ntp, MIDNIGHT - NSEC - NSEC // 2, modes=ADJ_STATUS, status=STA_INS)
    assert ntp.leap_at_ns() == MIDNIGHT


def test_a_cleared_bit_disarms_the_leap():
    ntp = NtpState(MIDNIGHT - 5 * NSEC)
    _adj(ntp, MIDNIGHT - 5 * NSEC, modes=ADJ_STATUS, status=STA_INS)
    ntp.advance(MIDNIGHT - 4 * NSEC)
    assert ntp.state == TIME_INS
    _adj(ntp, MIDNIGHT - 4 * NSEC, modes=ADJ_STATUS, status=0)
    assert ntp.leap_at_ns() is None
    assert ntp.advance(MIDNIGHT + 5 * NSEC) == 0 and ntp.state == TIME_OK


def test_maxerror_grows_each_second_until_unsynchronized():
    ntp = NtpState(MIDNIGHT)
    _adj(ntp, MIDNIGHT, modes=ADJ_STATUS | ADJ_MAXERROR, status=0, maxerror=15_999_000)
    ntp.advance(MIDNIGHT + NSEC)
    assert ntp.maxerror == 15_999_500 and not ntp.status & STA_UNSYNC
    ntp.advance(MIDNIGHT + 10**6 * NSEC)
    assert ntp.maxerror == 16_000_000 and ntp.status & STA_UNSYNC


@settings(max_examples=60, deadline=None)
@given(status=st.sampled_from([0, STA_INS, STA_DEL, STA_INS | STA_DEL]),
       start=st.integers(0, 86400 * NSEC), steps=st.lists(st.integers(1, 40 * NSEC),
                                                           min_size=1, max_size=8))
def test_one_jump_is_every_second_one_by_one(status, start, steps):
    """``advance`` skips idle seconds in one go: the states, the leap and the error it
    reaches are those of a tick per second, the clock stepped at each leap, however
    late the step is taken."""
    def run(by_second):
        ntp = NtpState(MIDNIGHT - start)
        real = MIDNIGHT - start
        _adj(ntp, real, modes=ADJ_STATUS | ADJ_MAXERROR, status=status, maxerror=0)
        seen = []
        for step in steps:
            target = real + step
            points = range(real + NSEC - real % NSEC, target + 1, NSEC) if by_second else []
            shift = 0   # the leaps' steps so far: later points move with the clock
            for point in [*points, target]:
                point += shift
                while leap := ntp.advance(point):
                    seen.append((leap, ntp.state, ntp.tai))
                    shift += leap * NSEC
                    point += leap * NSEC
            real = target + shift
        return seen, ntp.state, ntp.maxerror, ntp.status, ntp.leap_at_ns()
    assert run(False) == run(True)


_S64 = st.integers(-2**63, 2**63 - 1)


@settings(max_examples=200, deadline=None)
@given(modes=st.integers(0, 2**32 - 1), status=st.integers(-2**31, 2**31 - 1),
       values=st.lists(_S64, min_size=7, max_size=7), privileged=st.booleans(),
       real=st.integers(0, 2**62))
def test_any_timex_is_refused_or_applied_within_the_kernels_bounds(modes, status, values,
                                                                   privileged, real):
    """Whatever a program passes, adjtimex refuses it (EPERM, EINVAL) or answers a
    state, with the fields it fills in their ranges."""
    offset, freq, maxerror, esterror, constant, tick, usec = values
    tx = Timex(modes=modes, status=status, offset=offset, freq=freq, maxerror=maxerror,
               esterror=esterror, constant=constant, tick=tick, time_usec=usec)
    ntp = NtpState(real)
    try:
        NtpState.validate(tx, privileged)
    except KernelError as exc:
        assert exc.errno in (errno.EPERM, errno.EINVAL)
        return
    assert privileged or modes in (0, ADJ_OFFSET_SS_READ) or modes & ADJ_ADJTIME
    state = ntp.adjtimex(tx, real)
    assert TIME_OK <= state <= TIME_ERROR
    assert 0 <= tx.maxerror <= 16_000_000 and 0 <= tx.esterror <= 16_000_000
    assert abs(tx.freq) <= 500 << 16 and 0 <= tx.constant <= 10
    assert -2**31 <= tx.status < 2**32 and (tx.time_sec, tx.time_usec >= 0) == (
        real // NSEC, True)
    ntp.advance(real + 3 * 86400 * NSEC)
    assert ntp.leap_at_ns() is None or ntp.leap_at_ns() > real


def test_a_set_of_the_clock_forgets_the_leap_seconds_day():
    """ntp_clear at a set (clock_settime, settimeofday, ADJ_SETOFFSET): the armed
    leap second's day is forgotten, the state stays TIME_INS, and no midnight inserts
    it until STA_INS is cleared and set again."""
    ntp = NtpState(MIDNIGHT - 10 * NSEC)
    _adj(ntp, MIDNIGHT - 10 * NSEC, modes=ADJ_STATUS, status=STA_INS)
    assert ntp.advance(MIDNIGHT - 5 * NSEC) == 0 and ntp.state == TIME_INS
    ntp.stepped(MIDNIGHT - 3 * NSEC)
    assert ntp.leap_at_ns() is None
    assert ntp.advance(MIDNIGHT + 86400 * 2 * NSEC) == 0
    assert ntp.state == TIME_INS and ntp.tai == 0
    _adj(ntp, MIDNIGHT + 86400 * 2 * NSEC, modes=ADJ_STATUS, status=0)
    ntp.advance(MIDNIGHT + (86400 * 2 + 1) * NSEC)
    _adj(ntp, MIDNIGHT + (86400 * 2 + 1) * NSEC, modes=ADJ_STATUS, status=STA_INS)
    assert ntp.leap_at_ns() == MIDNIGHT + 86400 * 3 * NSEC
