"""What the session puts in place of a module's function pickles as that function did.

pebble's process pools hand a queue of a spawn-started ``multiprocessing`` manager to
their workers: ``Manager()`` pickles its registry of types for the server process it
spawns, ``threading.Lock`` among them. Under --simproc the suite's ``threading.Lock`` is
the session's function, which said it was ``threading.allocate_lock`` (the real one's
name), a name pickle finds nowhere: ``PicklingError`` (pebble's
test_process_pool_pickle_function, spawn and forkserver, failed so). The inner test is
written that way, with no simproc API; the outer one checks that under --simproc the
manager and the worker were the host's.
"""
from __future__ import annotations


pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import json
import multiprocessing
import os
import time


def put_pid(queue, lock):
    with lock:
        queue.put([os.getpid(), time.time()])


def test_spawned_manager_queue_reaches_a_spawned_worker():
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        queue, lock = manager.Queue(), manager.Lock()
        worker = ctx.Process(target=put_pid, args=(queue, lock))
        worker.start()
        pid, when = queue.get(timeout=60)
        worker.join(60)
        assert worker.exitcode == 0
        assert pid == worker.pid
        print("OBSERVED", json.dumps([manager._process.pid, pid, when]))
"""


def _run(observed, *args):
    return observed(INNER, list(args), 1, timeout=600)[0]


def test_the_suite_passes_natively(observed):
    _, _, when = _run(observed)
    assert when > HOST_EPOCH + 20 * 365 * 86400


def test_under_simproc_the_manager_and_worker_are_the_hosts(observed):
    manager, worker, when = _run(observed, "--simproc")
    assert 1000 <= manager < worker < 1100, (manager, worker)
    assert HOST_EPOCH <= when < HOST_EPOCH + 3600, when
