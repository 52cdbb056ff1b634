"""The test's own SIGALRM timer (``signal.alarm``, ``setitimer(ITIMER_REAL)``) runs out
during its sleeps and waits, on the test's clock.

timeout-decorator's signal method arms ITIMER_REAL with a handler that raises, around
the decorated call; 9 of its 22 tests (a 1 s limit around ``time.sleep(2)``) failed
under --simproc with "DID NOT RAISE": the sleep was virtual and took no real time, so
the real timer never fired within it. The inner tests cut a sleep and a wait for a
program with a raising handler, and count the ticks of an interval timer whose
handler returns during a sleep (which goes on, PEP 475).
"""
from __future__ import annotations

import pytest

from .test_dropin import MODES

pytest_plugins = ["pytester"]

INNER = """
import signal
import subprocess
import time

import pytest

from dropin_helpers import observed


class Expired(Exception):
    pass


def expire(signum, frame):
    raise Expired()


@pytest.fixture
def alarm():
    old = signal.signal(signal.SIGALRM, expire)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


def test_a_sleep_cut(alarm):
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    with pytest.raises(Expired):
        time.sleep(5)
    observed("sleep", [], time.monotonic() - start)


def test_a_wait_for_a_program_cut(alarm):
    proc = subprocess.Popen(["sleep", "30"])
    start = time.monotonic()
    signal.alarm(1)
    with pytest.raises(Expired):
        proc.wait()
    elapsed = time.monotonic() - start
    proc.kill()
    assert proc.wait() == -signal.SIGKILL
    observed("wait", [proc.pid], elapsed)


def test_ticks_during_a_sleep():
    ticks = []
    old = signal.signal(signal.SIGALRM, lambda signum, frame: ticks.append(signum))
    try:
        start = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, 0.25, 0.25)
        time.sleep(1.1)
        elapsed = time.monotonic() - start
        signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, old)
    assert elapsed >= 1.1
    assert 1 <= len(ticks) <= 5
    observed("ticks", [len(ticks)], elapsed)


def test_a_timer_that_outlasts_the_sleep(alarm):
    signal.setitimer(signal.ITIMER_REAL, 3)
    time.sleep(1)
    left, _ = signal.setitimer(signal.ITIMER_REAL, 0)
    assert 0 < left <= 2.01
    observed("outlasted", [], left)
"""


@pytest.mark.parametrize("args", MODES)
def test_the_tests_alarm_runs_out_in_its_sleeps_and_waits(observe, virtual, args):
    seen = observe(INNER, args, passed=4)
    if not args:
        return
    # the timer counts real time outside the session's moves of the clock (between
    # setitimer and the sleep, say): cut there, a little before its virtual length
    seen = virtual(seen)  # in the host's first hour
    (slept,) = seen["sleep"][1]
    assert 0.25 <= slept <= 0.5
    (pid,), (waited,) = seen["wait"]
    assert pid >= 1000 and 0.5 <= waited <= 1.0
    ((ticks,), (elapsed,)) = seen["ticks"]
    assert ticks in (4, 5) and elapsed == 1.1
    assert 1.5 <= seen["outlasted"][1][0] <= 2.0  # the rest, counted in real time after
