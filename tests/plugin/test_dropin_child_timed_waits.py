"""Timed waits made in C by a child the test forked end on the host's clock.

filelock's test_write_non_starvation forks a chain of readers, each holding a read lock
until ``release.wait(timeout=30)`` (a multiprocessing Event) gives up; under --simproc
the waits never gave up and the writer never got its lock. The child's
``Event.wait`` computes an absolute deadline for sem_timedwait(3) in C, from the vDSO
it inherited from pytest (the machine's clock, 2026), and the host waited until that
date of its own clock (2000). threading's timed lock waits (Lock.acquire(timeout),
queue.Queue.get(timeout)) do the same with CLOCK_MONOTONIC. The inner test's child
makes each wait, none of which is ever satisfied, and tells how long they took.
"""
from __future__ import annotations

import pytest

from .test_dropin import MODES

pytest_plugins = ["pytester"]

INNER = """
import json
import multiprocessing
import os
import queue
import threading
import time

from dropin_helpers import observed


def waiter(path):
    start = time.monotonic()
    results = [multiprocessing.Event().wait(timeout=2)]
    lock = threading.Lock()
    lock.acquire()
    results.append(lock.acquire(timeout=1))
    try:
        queue.Queue().get(timeout=1)
    except queue.Empty:
        results.append("empty")
    with open(path, "w") as f:
        json.dump([os.getpid(), results, time.monotonic() - start, time.time()], f)


def test_timed_waits_in_a_forked_child(tmp_path):
    path = tmp_path / "waited"
    child = multiprocessing.get_context("fork").Process(target=waiter, args=(str(path),))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    pid, results, elapsed, when = json.loads(path.read_text())
    assert results == [False, False, "empty"]
    assert elapsed >= 4
    observed("child", [pid], elapsed, when)
"""


@pytest.mark.parametrize("args", MODES)
def test_a_forked_childs_timed_waits_end(observe, args):
    (pids, (elapsed, when), _) = observe(INNER, args, passed=1)["child"]
    if args:  # the host's child, its waits of exactly their virtual length
        assert pids[0] >= 1000
        assert 4 <= elapsed < 4.01
        assert 946684800 <= when < 946684800 + 60
