"""multiprocessing's spawn children join the test's host.

uvicorn's Multiprocess supervisor starts its workers with the "spawn" start method from
a thread of the test, restarts them on SIGHUP and kills a hung one, while the test
sleeps a second and looks at their pids. spawn forks and execs in C, past the fork
hooks: the workers were the machine's, the test's sleep virtual, and the restart had
not happened when the test looked (uvicorn's test_multiprocess_sighup and sigttou
failed under --simproc). The inner suite is written that way, with no simproc API;
each worker writes down its pid and the time it saw, and the outer test checks that
under --simproc they were the host's.

Natively the sleeps are real: on a loaded machine the restart may not be done 2 s
later. The inner test notes whether each sleep was long enough, then waits for what it
looks for; under --simproc, where the sleeps are virtual, it must have been. A failing
inner test stops its workers, else multiprocessing's exit joins the (non-daemonic)
workers, which never end: the native run hung until its timeout.
"""
from __future__ import annotations


pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import json
import multiprocessing
import os
import signal
import threading
import time


def worker(path):
    with open(path + ".tmp", "w") as f:
        json.dump([os.getpid(), time.time()], f)
    os.rename(path + ".tmp", path)
    while True:
        time.sleep(1)


def wait_for(ready, what):
    for _ in range(600):
        if ready():
            return
        time.sleep(0.1)
    raise AssertionError(what)


def load(path):
    with open(path) as f:
        return json.load(f)


def test_supervisor_thread_restarts_spawned_workers(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    workers = []
    restart, done = threading.Event(), threading.Event()

    def supervise():
        for i in range(2):
            p = ctx.Process(target=worker, args=(str(tmp_path / f"first{i}"),))
            p.start()
            workers.append(p)
        while not done.wait(0.5):
            if restart.is_set():
                restart.clear()
                for i, p in enumerate(workers):
                    p.terminate()
                    p.join()
                    q = ctx.Process(target=worker, args=(str(tmp_path / f"second{i}"),))
                    q.start()
                    workers[i] = q
        for p in workers:
            p.terminate()
            p.join()

    def written(name):
        return all((tmp_path / f"{name}{i}").exists() for i in range(2))

    def started():
        return len(workers) == 2 and written("first")

    def restarted():
        return not {p.pid for p in workers} & set(first) and written("second")

    supervisor = threading.Thread(target=supervise, daemon=True)
    supervisor.start()
    try:
        on_time = []
        time.sleep(1)
        on_time.append(started())
        wait_for(started, "first workers")
        first = [p.pid for p in workers]
        restart.set()
        time.sleep(2)
        on_time.append(restarted())
        wait_for(restarted, "second workers")
        second = [p.pid for p in workers]
        seen = [load(tmp_path / f"{name}{i}") for name in ("first", "second") for i in range(2)]
        assert [pid for pid, _ in seen] == first + second
    finally:
        done.set()
        supervisor.join(60)
        for p in workers:  # the supervisor's own end failed
            if p.is_alive():
                p.kill()
                p.join()
    assert [p.exitcode for p in workers] == [-signal.SIGTERM] * 2
    print("OBSERVED", json.dumps([seen, on_time]))
"""


def _run(observed, *args):
    return observed(INNER, list(args), 1, timeout=600)[0]


def test_the_suite_passes_natively(observed):
    seen, _ = _run(observed)  # on a loaded machine real sleeps may be too short
    assert all(when > HOST_EPOCH + 20 * 365 * 86400 for _, when in seen)


def test_under_simproc_spawned_workers_are_the_hosts(observed):
    seen, on_time = _run(observed, "--simproc")
    pids = [pid for pid, _ in seen]
    assert all(1000 <= pid < 1100 for pid in pids), pids
    assert all(HOST_EPOCH <= when < HOST_EPOCH + 3600 for _, when in seen), seen
    assert on_time == [True, True]  # the test's virtual sleeps waited for the workers
