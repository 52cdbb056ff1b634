"""What a set of CLOCK_REALTIME moves: absolute realtime sleeps only, not relative
realtime sleeps nor absolute sleeps on CLOCK_MONOTONIC or CLOCK_BOOTTIME
(clock_settime(2), clock_nanosleep(2); tests/programs/clock_set_sleeps.c). Host only:
natively the program would set the machine's clock."""
from __future__ import annotations

import os
import sys

import pytest

from pytest_simproc import Exited, SimHost


@pytest.mark.skipif(os.geteuid() != 0, reason="setting the clock needs CAP_SYS_TIME, "
                    "which the host reads natively")
@pytest.mark.parametrize("delta, realtime_sleep", [(-2, 7), (2, 3), (100, 2)])
def test_a_clock_set_moves_absolute_realtime_sleeps_only(build, delta, realtime_sleep):
    with SimHost() as host:
        p = host.spawn([build("clock_set_sleeps"), str(delta)])
        host.run()
        assert p.exit_status == Exited(0)
        lines = sorted(p.stdout.decode().splitlines())
        assert lines == ["absolute boottime: 0 after 5 s", "absolute monotonic: 0 after 5 s",
                         f"absolute realtime: 0 after {realtime_sleep} s",
                         "relative realtime: 0 after 5 s"]


@pytest.mark.skipif(os.geteuid() != 0, reason="setting the clock needs CAP_SYS_TIME, "
                    "which the host reads natively")
@pytest.mark.parametrize("delta, realtime_wait", [(-2, 7), (2, 3), (100, 2)])
def test_a_clock_set_moves_futex_waits_until_a_realtime_time(build, delta, realtime_wait):
    """futex(2) FUTEX_CLOCK_REALTIME, and pthread_cond_timedwait, sem_timedwait and
    pthread_mutex_timedlock on it, and futex_waitv(2) on CLOCK_REALTIME time out as the set clock passes their time (they
    waited 5 s whatever the set); waits on CLOCK_MONOTONIC do not move; a waiter the
    set did not time out keeps its place in the futex's queue
    (tests/programs/clock_set_futex.c)."""
    with SimHost() as host:
        p = host.spawn([build("clock_set_futex"), str(delta)])
        host.run()
        assert p.exit_status == Exited(0)
        lines = p.stdout.decode().splitlines()
        assert lines[-2:] == ["queued first: 0 after 2 s", "queued second: 0 after 3 s"]
        assert sorted(lines[:-2]) == sorted(
            [f"{kind} realtime: ETIMEDOUT after {realtime_wait} s"
             for kind in ("futex", "cond", "sem", "mutex", "waitv")]
            + [f"{kind} monotonic: ETIMEDOUT after 5 s" for kind in ("futex", "cond", "sem")])


SET_BEFORE_MONOTONIC = """
import errno, time
mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
for value in (mono - 10**9, 0):
    try:
        time.clock_settime_ns(time.CLOCK_REALTIME, value)
    except OSError as e:
        print(errno.errorcode[e.errno])
time.clock_settime_ns(time.CLOCK_REALTIME, mono + 10**9)
print(round(time.time() - mono / 1e9))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="setting the clock needs CAP_SYS_TIME")
def test_the_realtime_clock_is_never_set_before_the_monotonic_one(tmp_path):
    # clock_settime(2), settimeofday(2): EINVAL below CLOCK_MONOTONIC's value
    script = tmp_path / "set.py"
    script.write_text(SET_BEFORE_MONOTONIC)
    with SimHost() as host:
        p = host.spawn([sys.executable, str(script)])
        host.run()
        assert p.exit_status == Exited(0)
        assert p.stdout.decode().split() == ["EINVAL", "EINVAL", "1"]
