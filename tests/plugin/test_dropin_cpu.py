"""Drop-in mode and the CPU model: a busy program in the host never freezes the test's
time (issue 13: time.sleep in the test returns while `yes | tail` runs), and a
time.sleep while nothing runs still costs no wall time."""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = """
import subprocess
import time

import pytest


def test_sleep_returns_while_a_pipeline_runs():
    p = subprocess.Popen("yes | tail -c 1", shell=True)
    t0 = time.time()
    time.sleep(0.01)                 # (and a microsecond for each read of the clock)
    assert time.time() == pytest.approx(t0 + 0.01, abs=1e-5)
    assert p.poll() is None          # one burst of its work, then the test goes on
    time.sleep(0.02)
    assert time.time() == pytest.approx(t0 + 0.03, abs=1e-5)
    p.kill()
    p.wait()


def test_sleep_with_nothing_running_is_virtual():
    t0 = time.time()
    time.sleep(3600)                 # an hour natively: the inner run would time out
    assert time.time() == pytest.approx(t0 + 3600, abs=1e-5)
"""


def test_time_is_never_frozen_by_a_busy_program(pytester):
    pytester.makepyfile(INNER)
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc",
                                "-p", "timeout", "--timeout=120")
    result.assert_outcomes(passed=2)
