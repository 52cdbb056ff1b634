"""Drop-in mode and a test that sets the realtime clock, as CPython's test_time does
(test_clock_settime sets it to the time it just read, test_monotonic_settime an hour
back and then forth). Under ``--simproc`` that time is the session's virtual date: the
real call set the machine's clock to it (2000-01-01). The test's own set of
CLOCK_REALTIME now fails with EPERM, as without CAP_SYS_TIME, and never reaches the
machine. Every run here has clock_settime(3) replaced by tests/programs/
settime_guard.c (LD_PRELOAD), which refuses it and notes the clock it was asked for:
natively the test's two sets reach it, under ``--simproc`` only the monotonic one.
"""
from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PROGRAMS_DIR = Path(__file__).resolve().parent.parent / "programs"

INNER = r'''
import time

import pytest
from dropin_helpers import observed


def test_set_the_realtime_clock_to_the_time_it_reads():
    t = time.clock_gettime(time.CLOCK_REALTIME)
    try:
        time.clock_settime(time.CLOCK_REALTIME, t)
    except PermissionError:
        pass
    t_ns = time.clock_gettime_ns(time.CLOCK_REALTIME)
    try:
        time.clock_settime_ns(time.CLOCK_REALTIME, t_ns)
    except PermissionError:
        pass
    with pytest.raises(OSError):
        time.clock_settime(time.CLOCK_MONOTONIC, 0)
    observed("settime", [])
'''


@pytest.fixture
def settime_calls(c_programs, monkeypatch, tmp_path):
    """The clocks the inner suite's clock_settime calls asked for (the guard's log)."""
    guard = c_programs(PROGRAMS_DIR, "settime-guard",
                       {"settime_guard": ["-shared", "-fPIC"]})("settime_guard")
    calls = tmp_path / "settime-calls"
    monkeypatch.setenv("LD_PRELOAD", guard)
    monkeypatch.setenv("SETTIME_CALLS", str(calls))
    return lambda: calls.read_text().split() if calls.exists() else []


def test_natively(observe, settime_calls):
    observe(INNER, [], passed=1)
    assert settime_calls() == ["0", "0", "1"]   # CLOCK_REALTIME twice, CLOCK_MONOTONIC


def test_under_simproc(observe, virtual, settime_calls):
    seen = observe(INNER, ["--simproc"], passed=1)
    assert virtual(seen) == {"settime": ([], [])}
    assert settime_calls() == ["1"]   # the realtime sets never reached the machine
