"""Drop-in mode: a test that sets CLOCK_REALTIME sets its host's clock, never the machine's.

CPython's own test_time (``test_monotonic_settime``) reads CLOCK_REALTIME, sets it an
hour back, reads CLOCK_MONOTONIC and sets the clock back to what it read. Under
``--simproc`` the test reads its host's date (January 2000); a real clock_settime then
set the machine to that date. The test stands in its host: its clock_settime moves the
host's CLOCK_REALTIME, as a privileged program's does (clock_settime(2)), before its
first program or after, and its programs and its own ``time.time`` and ``datetime``
see the date it set while its monotonic clocks go on. The inner suite runs only under
``--simproc``: natively it would set this machine's clock.
"""
from __future__ import annotations

import time

import pytest

pytest_plugins = ["pytester"]

ONLY_IN_A_HOST = """
import pytest

def pytest_collection_modifyitems(config, items):
    if not config.getoption("simproc", None):
        for item in items:
            item.add_marker(pytest.mark.skip(reason="sets the machine's clock natively"))
"""

INNER = '''
import datetime
import errno
import json
import subprocess
import sys
import time

import pytest

PROGRAM = "import time, json; print(json.dumps([time.time(), time.monotonic()]))"


def program_clocks():
    out = subprocess.run([sys.executable, "-c", PROGRAM], stdout=subprocess.PIPE,
                         check=True).stdout
    return json.loads(out)


def set_an_hour_back_and_return(before_the_set=lambda: None):
    before_the_set()
    t1 = time.monotonic()
    realtime = time.clock_gettime(time.CLOCK_REALTIME)
    time.clock_settime(time.CLOCK_REALTIME, realtime - 3600)
    t2 = time.monotonic()
    moved, moved_dt = time.time(), datetime.datetime.now().timestamp()
    seen, seen_mono = program_clocks()
    time.clock_settime(time.CLOCK_REALTIME, realtime)
    back = time.time()
    assert t2 >= t1     # the monotonic clock is not set
    assert realtime - 3600 <= moved < realtime - 3599
    assert abs(moved_dt - moved) < 1
    assert moved <= seen < realtime - 3590   # the program reads the date set
    assert seen_mono >= t2
    assert realtime <= back < realtime + 10
    later, _ = program_clocks()
    assert back <= later < realtime + 20
    print("OBSERVED", json.dumps([realtime, moved, seen, back, later]))


def test_set_before_the_first_program():
    set_an_hour_back_and_return()


def test_set_while_programs_ran():
    set_an_hour_back_and_return(program_clocks)


def test_only_the_realtime_clock_is_set():
    with pytest.raises(OSError) as raised:
        time.clock_settime(time.CLOCK_MONOTONIC, 0)
    assert raised.value.errno == errno.EINVAL
    with pytest.raises(OSError) as raised:   # before CLOCK_MONOTONIC: clock_settime(2)
        time.clock_settime_ns(time.CLOCK_REALTIME, 10**9)
    assert raised.value.errno == errno.EINVAL
    with pytest.raises(TypeError):
        time.clock_settime(time.CLOCK_REALTIME, "now")
'''


def test_the_test_sets_its_hosts_clock(observed, pytester):
    pytester.makeconftest(ONLY_IN_A_HOST)
    before = time.time()
    seen = observed(INNER, ["--simproc"], passed=3)
    assert time.time() >= before > 1.7e9   # the machine's clock did not move back
    assert len(seen) == 2
    for realtime, moved, program, back, later in seen:
        # the host's date: January 2000, an hour back, then back again
        assert 946684800 <= realtime < 946684800 + 60
        assert realtime - 3600 <= moved <= program < realtime - 3590
        assert realtime <= back <= later < realtime + 20

