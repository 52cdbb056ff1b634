"""Threads that sleep until a deadline of the test's clock see it come, before any host.

Before the first program, a thread of the suite's code sleeps for real, while the
test's clock is already virtual: it stood still meanwhile. Threads that loop on
``time.sleep`` until a ``time.monotonic()`` deadline, while the test's thread waits
for them in an untimed ``join()`` (fasteners' reader-writer lock tests: five seconds
of contention), never saw the deadline, and the test ran into its time limit. Now a
thread's real sleep moves the test's clock on by the time it took, once for threads
that sleep at once. The inner test is written that way; it passes natively and under
--simproc, where its clock is the host's (it starts in 2000).
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import json
import threading
import time

import pytest


@pytest.mark.timeout(30)
def test_workers_loop_until_a_deadline():
    deadline = time.monotonic() + 0.5
    rounds = []

    def work():
        n = 0
        while time.monotonic() < deadline:
            time.sleep(0.01)
            n += 1
        rounds.append(n)

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(rounds) == 4 and all(n >= 1 for n in rounds)
    # at least the deadline passed; threads sleeping at once moved the clock once
    elapsed = time.monotonic() - (deadline - 0.5)
    assert 0.5 <= elapsed < 10
    print("OBSERVED", json.dumps([elapsed, time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_thread_sleeps_move_the_tests_clock(observed, args):
    [(elapsed, now)] = observed(INNER, args, passed=1)
    if args:
        assert 946684800 <= now < 946684800 + 60   # the host's clock
