"""multiprocessing's locks and semaphores shared by the test and its fork children.

Such a lock is a POSIX semaphore in shared memory (sem_open(3)): its waiters sleep on a
futex, and sem_post(3) wakes them with FUTEX_WAKE. A child waits in the host, parked
by the simulated kernel, so the test's release woke nobody: the child never took the
lock (syscalls/thread.py looks again at a shared word that changed). The inner suite
passes natively and under ``--simproc``, where the children have the host's pids.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import json
import multiprocessing
import os
import time

ctx = multiprocessing.get_context("fork")


def take(lock, out):
    with lock:
        out.put(os.getpid())


def test_a_child_waits_for_the_tests_lock():
    lock, out = ctx.Lock(), ctx.Queue()
    lock.acquire()
    child = ctx.Process(target=take, args=(lock, out))
    child.start()
    time.sleep(0.5)
    assert out.empty()
    start = time.monotonic()
    lock.release()
    assert out.get(timeout=30) == child.pid
    waited = time.monotonic() - start
    child.join(30)
    assert child.exitcode == 0
    print("OBSERVED", json.dumps([os.getpid(), child.pid, waited, time.time()]))


def test_a_child_waits_on_the_tests_semaphore():
    semaphore, out = ctx.Semaphore(0), ctx.Queue()
    child = ctx.Process(target=take, args=(semaphore, out))
    child.start()
    time.sleep(0.5)
    start = time.monotonic()
    semaphore.release()
    assert out.get(timeout=30) == child.pid
    waited = time.monotonic() - start
    child.join(30)
    assert child.exitcode == 0
    print("OBSERVED", json.dumps([os.getpid(), child.pid, waited, time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_multiprocessing_locks_between_the_test_and_its_children(observed, args):
    seen = observed(INNER, args, passed=2)
    assert len(seen) == 2
    for pid, child, waited, now in seen:
        assert child != pid and waited < 30
        if args:
            # in the host: the test is its init, its children from 1000, on the
            # virtual clock
            assert pid == 1 and child >= 1000 and 946684800 <= now < 946684800 + 60
