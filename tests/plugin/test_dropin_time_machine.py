"""Drop-in mode: time-machine's travels in a drop-in test.

time-machine refused to start in every drop-in test ("time-machine cannot start when
freezegun is active": the session's clock is freezegun's), and its patches of the C
clock functions never reach the test's reads, which are freezegun's fakes. Under
``--simproc`` a travel works as natively: the test reads the destination, its
monotonic clock and its programs' clocks are not moved, a ticking travel moves on with
the test's sleeps, the escape hatch reads the real (host's) clock, and leaving the
travel gives the test its clock again (host_check's time).
"""
from __future__ import annotations

import pytest

from .test_dropin import MODES
from .test_dropin_freeze_time import PROGRAM
from .test_dropin_pipes import run_checked

pytest_plugins = ["pytester"]

pytest.importorskip("time_machine")

TRAVELS = PROGRAM + """
    import datetime as dt
    import time

    import time_machine

    DESTINATION = dt.datetime(2012, 1, 14, 12, tzinfo=dt.timezone.utc)

    def test_a_travel_and_its_programs():
        mono = time.monotonic()
        with time_machine.travel(DESTINATION, tick=False) as traveller:
            assert time.time() == DESTINATION.timestamp()
            assert dt.datetime.now(dt.timezone.utc) == DESTINATION
            assert time.clock_gettime(time.CLOCK_REALTIME) == DESTINATION.timestamp()
            pid, theirs = program()
            traveller.shift(dt.timedelta(hours=1))
            assert time.gmtime().tm_hour == 13
            real = time_machine.escape_hatch.time.time()
            assert time.monotonic() >= mono   # not travelled
        assert abs(theirs - real) < 10   # the programs' clock is the real one
        assert abs(time.time() - real) < 10
        host_check(pid)

    def test_a_ticking_travel_counts_the_sleeps():
        with time_machine.travel(DESTINATION):
            start = time.time()
            time.sleep(2)
            assert 2 <= time.time() - start < 10
            pid, theirs = program()
            assert abs(theirs - time_machine.escape_hatch.time.time()) < 10
        host_check(pid)
"""


@pytest.mark.parametrize("args", MODES)
def test_time_machine_travels_in_a_test(pytester, args):
    run_checked(pytester, TRAVELS, args, passed=2)


FLOAT_TIMES = PROGRAM + """
    import time

    import pytest
    import time_machine

    @pytest.mark.parametrize("timestamp", [1152921505.25, 1_000_000_000.3, 0.1, 1e10 + 0.7])
    def test_time_is_the_destination_over_a_billion(timestamp):
        expected_ns = round(timestamp * 1_000_000_000)
        with time_machine.travel(timestamp, tick=False):
            assert time.time_ns() == expected_ns
            assert time.time() == expected_ns / 1_000_000_000
        pid, theirs = program()
        assert abs(time.time() - theirs) < 60
        host_check(pid)
"""


@pytest.mark.parametrize("args", MODES)
def test_time_machine_float_times(pytester, args):
    """time.time() in a travel is the destination's ns over 10**9, exactly rounded, as
    time-machine divides: freezegun's fake added the microseconds to the seconds in
    floats, 1152921505.249999 for 1152921505249999872 ns (time-machine's fuzz test)."""
    run_checked(pytester, FLOAT_TIMES, args, passed=4)
