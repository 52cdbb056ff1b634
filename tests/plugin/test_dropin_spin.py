"""Drop-in mode: a test that spins on its clock with nothing else moving it ends in
about as many turns of its loop as natively.

filelock's poll tests mock ``time.sleep`` and take a lock another holder keeps:
``acquire(timeout=0.2)`` tries, sleeps (not at all), reads ``perf_counter`` again,
until 0.2 s passed. Natively a turn takes tens of microseconds (3,700-7,300 turns);
at a microsecond of virtual time a read, under ``--simproc`` it took 200,000 turns, each
costing the fakes of the lock's calls in real time (a minute per test, and
pytest-timeout fired under load). After 2500 reads with no host run between them a
read costs more (clock.spin_cost: a count, so the same in every run); a few reads
still cost a microsecond each. The inner suite is written as real suites are (no
simproc API) and passes natively and under ``--simproc``.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

START = 946684800  # the host's default start time

INNER = '''
import fcntl
import json
import os
import subprocess
import time
from unittest import mock

import pytest


class Timeout(Exception):
    pass


def acquire(path, timeout, poll_interval=0.05):
    """A lock file taken as filelock takes it: a non-blocking attempt, a sleep of
    ``poll_interval``, again until ``timeout`` seconds passed on perf_counter."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    start = time.perf_counter()
    turns = 0
    while True:
        turns += 1
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        if time.perf_counter() - start >= timeout:
            os.close(fd)
            raise Timeout(turns)
        time.sleep(poll_interval)


def test_a_lock_poll_with_sleep_mocked_times_out(tmp_path):
    path = tmp_path / "a.lock"
    held = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    turns = []
    for _ in range(2):
        with mock.patch("time.sleep") as sleep:
            with pytest.raises(Timeout) as caught:
                acquire(path, timeout=0.2)
        sleep.assert_called_with(0.05)
        turns.append(caught.value.args[0])
        p = subprocess.Popen(["true"])
        assert p.wait() == 0
    os.close(held)
    print("OBSERVED", json.dumps(["lock", turns, p.pid, time.time()]))


def test_a_spin_on_the_monotonic_clock():
    deadline = time.monotonic() + 0.2
    turns = 0
    while time.monotonic() < deadline:
        turns += 1
    p = subprocess.Popen(["true"])
    assert p.wait() == 0
    print("OBSERVED", json.dumps(["spin", [turns], p.pid, time.time()]))


def test_a_few_reads_in_a_row():
    started = time.monotonic_ns()
    for _ in range(498):
        time.monotonic_ns()
    elapsed = time.monotonic_ns() - started
    p = subprocess.Popen(["true"])
    assert p.wait() == 0
    print("OBSERVED", json.dumps(["few", [elapsed], p.pid, time.time()]))
'''


@pytest.mark.parametrize("args", [["--simproc"], []], ids=["simproc", "native"])
def test_a_spin_on_the_clock_ends(observed, args):
    seen = {name: (turns, pid, now) for name, turns, pid, now in
            observed(INNER, args, passed=3)}
    if not args:
        assert all(now > 1.6e9 for _, _, now in seen.values())
        return
    # in the host: virtual time, the host's pids
    assert all(START <= now < START + 60 for _, _, now in seen.values())
    assert seen["spin"][1] == 1000 and seen["lock"][1] == 1001
    # a long run of reads costs more and more: thousands of turns, not 200,000
    assert 2500 < seen["spin"][0][0] < 20_000
    first, second = seen["lock"][0]
    assert 2500 < first < 20_000
    # a host run (the program) starts the count again: the same turns
    assert second == first
    # a few reads in a row cost a microsecond each, as before
    assert seen["few"][0] == [499_000]
