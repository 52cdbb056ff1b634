"""multiprocessing's locks and semaphores shared by the test and its fork children.

Such a lock is a POSIX semaphore in shared memory (sem_open(3)): its waiters sleep on a
futex, and sem_post(3) wakes them with FUTEX_WAKE. A child waits in the host, parked
by the simulated kernel, so the test's release woke nobody: the child never took the
lock (syscalls/thread.py looks again at a shared word that changed). The test waited
natively in sem_wait(3) while the host, which runs only inside the test's waits, never
let the child release it: an Event the child set was never seen, and an unclosed Pool
dropped by the test hung in its finalizer (dropin/mplocks.py runs the host meanwhile).
A child, a copy of the test with its thread's ident, took its own waits on them for
the test's and ran the session there (dropin/threadwait.py): it hung in setting an Event.
The inner suite passes natively and under ``--simproc``, where the children have the
host's pids.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import json
import multiprocessing
import os
import time

import pytest

ctx = multiprocessing.get_context("fork")


def take(lock, out):
    with lock:
        out.put(os.getpid())


def hold(lock, ready, seconds):
    with lock:
        ready.set()
        time.sleep(seconds)


def test_the_test_waits_for_a_childs_lock():
    lock, ready = ctx.Lock(), ctx.Event()
    child = ctx.Process(target=hold, args=(lock, ready, 1))
    child.start()
    assert ready.wait(30)
    start = time.monotonic()
    with lock:
        waited = time.monotonic() - start
    child.join(30)
    assert child.exitcode == 0 and waited > 0.5
    print("OBSERVED", json.dumps([os.getpid(), child.pid, waited, time.time()]))


def test_a_dropped_pool_ends():
    pool = ctx.Pool(2)
    assert pool.map(abs, [-1, -2]) == [1, 2]
    worker = pool._pool[0].pid
    start = time.monotonic()
    # finalized here: it takes the queue's lock, which an idle worker holds until the
    # pool's sentinel reaches it
    del pool
    waited = time.monotonic() - start
    print("OBSERVED", json.dumps([os.getpid(), worker, waited, time.time()]))


@pytest.mark.parametrize("kind", ["Lock", "Semaphore"])
def test_a_child_waits_for_the_tests_lock(kind):
    lock, out = getattr(ctx, kind)(), ctx.Queue()
    lock.acquire()   # a Semaphore's count is now 0, as a Lock held
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


def report(ready, release, out):
    ready.set()
    out.put(release.wait(timeout=30))


def test_children_signal_events_the_test_waits_on():
    # filelock's reader tests: each child reports it holds the lock, then waits for
    # the test's go; in the children, multiprocessing's Events are their own waits
    ready = [ctx.Event(), ctx.Event()]
    release, out = ctx.Event(), ctx.Queue()
    children = [ctx.Process(target=report, args=(event, release, out)) for event in ready]
    for child in children:
        child.start()
    start = time.monotonic()
    assert all(event.wait(timeout=30) for event in ready)
    waited = time.monotonic() - start
    release.set()
    assert [out.get(timeout=30), out.get(timeout=30)] == [True, True]
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    print("OBSERVED", json.dumps([os.getpid(), children[1].pid, waited, time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_multiprocessing_locks_between_the_test_and_its_children(observed, args):
    # a wait that hangs fails the test (the pool's finalizer would swallow the error)
    seen = observed(INNER, ["--timeout", "30", "-W",
                            "error::pytest.PytestUnraisableExceptionWarning", *args], passed=5)
    assert len(seen) == 5
    for pid, child, waited, now in seen:
        assert child != pid and waited < 30
        if args:
            # in the host: the test keeps its pid, its children from 1000, on the
            # virtual clock
            assert pid > 1 and child >= 1000 and 946684800 <= now < 946684800 + 60
