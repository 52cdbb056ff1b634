"""Drop-in mode: a test's own ``freezegun.freeze_time`` over its session's clock.

The test's freezer freezes what the test reads; its programs are other processes and
read their host's clock, as natively they read the machine's, and leaving the freezer
gives the test its host's clock again (host_check's time). The host's watchdog reads
CLOCK_MONOTONIC itself: read through time.monotonic, the test's freezer froze it, and
it took every program started while frozen for one stuck since 2012 and killed it.
"""
from __future__ import annotations

import pytest

from .test_dropin import MODES
from .test_dropin_pipes import run_checked

pytest_plugins = ["pytester"]

PROGRAMS_WHILE_FROZEN = """
    import datetime
    import subprocess
    import sys
    import time

    import freezegun

    PROGRAM = "import os, time; print(os.getpid(), time.time())"

    def program():
        pid, now = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True,
                                  text=True, check=True).stdout.split()
        return int(pid), float(now)

    @freezegun.freeze_time("2012-01-14 12:00:00")
    def programs_frozen():
        for _ in range(4):
            pid, now = program()
            assert abs(now - 1326542400) > 86400   # theirs is not frozen
            assert time.time() == 1326542400.0
        return pid, now

    def test_programs_under_the_decorator():
        pid, now = programs_frozen()
        assert abs(time.time() - now) < 60
        host_check(pid)

    def test_programs_under_the_context_manager():
        with freezegun.freeze_time("2012-01-14 12:00:00") as frozen:
            for _ in range(4):
                pid, now = program()
                frozen.tick(1)
            assert datetime.datetime.now() == datetime.datetime(2012, 1, 14, 12, 0, 4)
        assert abs(time.time() - now) < 60
        host_check(pid)
"""


@pytest.mark.parametrize("args", MODES)
def test_programs_started_while_the_test_is_frozen(pytester, args):
    run_checked(pytester, PROGRAMS_WHILE_FROZEN, args, passed=2)
