"""Timers at their limits. POSIX timer overruns (timer_getoverrun(2)): a periodic timer
whose signal stays pending has no event per period, its missed periods are counted
when the signal is delivered or the timer is read, and every count is capped at
DELAYTIMER_MAX. Values beyond KTIME_MAX saturate, as the kernel's do."""
from __future__ import annotations

import struct

from pytest_simproc.kernel.clock import EventQueue, VirtualClock
from pytest_simproc.kernel.sigstate import siginfo_bytes
from pytest_simproc.kernel.timers import (DELAYTIMER_MAX, ITIMER_REAL, KTIME_MAX, SIGEV_NONE,
                                          SIGEV_SIGNAL, TimerTable)

NSEC = 1_000_000_000
PID = 1000


def make():
    clock, events, posted = VirtualClock(0), EventQueue(), []
    table = TimerTable(clock, events, lambda pid, tid, sig, info: posted.append(info),
                       lambda pid: 0)
    return clock, events, table, posted


def run_until(clock, events, table, t_ns):
    """The host's loop: run due events in time order up to ``t_ns``; the count."""
    runs = 0
    while events.next_time() is not None and events.next_time() <= t_ns:
        clock.advance_to(events.next_time())
        for payload in events.pop_due(clock.now_ns):
            table.run_event(payload)
            runs += 1
    clock.advance_to(t_ns)
    return runs


def si_overrun(info: bytes) -> int:
    return struct.unpack_from("<i", info, 20)[0]


def test_pending_signal_parks_the_timer_and_counts_at_delivery():
    clock, events, table, posted = make()
    tid = table.timer_create(PID, 1, SIGEV_SIGNAL, 14, None, None)
    table.timer_settime(PID, tid, 0, 1, 1)          # every nanosecond
    assert run_until(clock, events, table, 1000) == 1  # then parked: one event, not 1000
    assert len(posted) == 1
    assert table.timer_gettime(PID, tid) == (1, 1)
    clock.advance_to(5 * NSEC)
    info = siginfo_bytes(posted[0])                  # delivered at 5 s
    assert si_overrun(info) == DELAYTIMER_MAX        # 5e9 - 1 periods, capped
    assert table.timer_getoverrun(PID, tid) == DELAYTIMER_MAX
    assert run_until(clock, events, table, 5 * NSEC + 10) == 1  # re-armed, fires again
    assert len(posted) == 2


def test_exact_overrun_below_the_cap():
    clock, events, table, posted = make()
    tid = table.timer_create(PID, 1, SIGEV_SIGNAL, 14, None, None)
    table.timer_settime(PID, tid, 0, 100, 100)       # at 100, 200, 300, ...
    run_until(clock, events, table, 1050)
    assert si_overrun(siginfo_bytes(posted[0])) == 9   # 200 .. 1000 while pending
    assert table.timer_gettime(PID, tid) == (50, 100)  # next at 1100
    assert run_until(clock, events, table, 1100) == 1 and len(posted) == 2


def test_sigev_none_is_read_lazily():
    clock, events, table, posted = make()
    tid = table.timer_create(PID, 1, SIGEV_NONE, 0, None, None)
    table.timer_settime(PID, tid, 0, 1, 1)
    assert run_until(clock, events, table, 10 * NSEC) == 1 and not posted
    assert table.timer_gettime(PID, tid) == (1, 1)


def test_rearming_a_parked_timer_drops_the_old_schedule():
    clock, events, table, posted = make()
    tid = table.timer_create(PID, 1, SIGEV_SIGNAL, 14, None, None)
    table.timer_settime(PID, tid, 0, 10, 10)
    run_until(clock, events, table, 100)
    table.timer_settime(PID, tid, 0, 1000, 0)        # one shot at 1100
    siginfo_bytes(posted[0])                          # the old signal delivered late
    assert run_until(clock, events, table, 2000) == 1 and len(posted) == 2


def test_huge_values_saturate_at_ktime_max():
    # measured natively (6.18): setitimer/timer_settime with tv_sec 2**62 or 2**63-1
    # read back as KTIME_MAX - now (CLOCK_MONOTONIC's, since the boot) and an
    # interval of KTIME_MAX
    clock, events, table, _ = make()
    clock.advance_to(5 * NSEC)
    now = clock.monotonic_ns
    table.setitimer(PID, ITIMER_REAL, 2**62 * NSEC, (2**63 - 1) * NSEC)
    assert table.getitimer(PID, ITIMER_REAL) == (KTIME_MAX - now, KTIME_MAX)
    tid = table.timer_create(PID, 1, SIGEV_NONE, 0, None, None)
    table.timer_settime(PID, tid, 1, (2**63 - 1) * NSEC, 2**70)  # absolute
    assert table.timer_gettime(PID, tid) == (KTIME_MAX - now, KTIME_MAX)


def test_alarm_returns_an_unsigned_int():
    clock, events, table, _ = make()
    table.setitimer(PID, ITIMER_REAL, (2**32 + 7) * NSEC, 0)
    assert table.alarm(PID, 0) == 7   # (unsigned int) of the seconds left


def _set_realtime(clock, table, offset_ns):
    delta = offset_ns - clock.realtime_offset_ns
    clock.realtime_offset_ns = offset_ns
    table.realtime_was_set(delta)


def test_realtime_set_moves_absolute_realtime_timers_only():
    """clock_settime(2): a timer at an absolute CLOCK_REALTIME still expires at that
    realtime; relative ones and absolute MONOTONIC ones keep their virtual deadline."""
    clock, events, table, posted = make()
    ids = [table.timer_create(PID, clock_id, SIGEV_SIGNAL, sig, None, None)
           for clock_id, sig in ((0, 10), (0, 12), (1, 14))]
    table.timer_settime(PID, ids[0], 1, 100 * NSEC, 0)   # REALTIME, absolute: at 100
    table.timer_settime(PID, ids[1], 0, 100 * NSEC, 0)   # REALTIME, relative
    table.timer_settime(PID, ids[2], 1, 100 * NSEC, 0)   # MONOTONIC, absolute
    _set_realtime(clock, table, 90 * NSEC)               # realtime 100 is now virtual 10
    assert table.timer_gettime(PID, ids[0])[0] == 10 * NSEC
    assert run_until(clock, events, table, 10 * NSEC) == 1
    assert [struct.unpack_from("<i", info.materialize())[0] for info in posted] == [10]
    _set_realtime(clock, table, 0)
    assert run_until(clock, events, table, 100 * NSEC) == 2
    assert [table.timer_gettime(PID, i)[0] for i in ids] == [0, 0, 0]


def test_realtime_set_back_delays_a_periodic_absolute_timer_and_forward_counts_overruns():
    clock, events, table, posted = make()
    tid = table.timer_create(PID, 0, SIGEV_SIGNAL, 14, None, None)
    table.timer_settime(PID, tid, 1, 10 * NSEC, 10 * NSEC)   # realtime 10, 20, 30, ...
    _set_realtime(clock, table, -50 * NSEC)                   # back: realtime 10 at 60
    assert run_until(clock, events, table, 59 * NSEC) == 0
    assert run_until(clock, events, table, 60 * NSEC) == 1
    posted.pop().materialize()
    _set_realtime(clock, table, 0)            # forward 50 s: realtime 20..60 passed
    assert run_until(clock, events, table, 60 * NSEC) == 1
    assert si_overrun(posted.pop().materialize()) == 4        # 20, 30, 40, 50 and 60: one signal
