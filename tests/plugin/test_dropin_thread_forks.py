"""Drop-in mode and threads of the test that fork at once, as CPython's test_threading
does (test_reinit_tls_after_fork: 16 threads fork, each child exits with 50, each
thread waits for its own). A fork joins the host through the fork's hooks, which
carried one fork's pipes in one global between them: a second thread's fork took the
first's, and children never joined or never ended (the waits gave up after 300
virtual seconds). The inner suite passes natively and under ``--simproc``, where every
child is the host's (pids from 1000) and ends at once.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = r'''
import os
import threading
import time

from dropin_helpers import observed


def fork_and_wait(results):
    pid = os.fork()
    if pid == 0:
        os._exit(50)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            results.append((pid, os.waitstatus_to_exitcode(status)))
            return
        time.sleep(0.01)
    results.append((pid, None))


def test_threads_fork_at_once():
    results = []
    threads = [threading.Thread(target=fork_and_wait, args=(results,)) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(code for _, code in results) == [50] * 16, results
    observed("forks", sorted(pid for pid, _ in results))
'''


def test_natively(observe):
    seen = observe(INNER, [], passed=1)
    assert len(set(seen["forks"][0])) == 16


def test_under_simproc(observe):
    seen = observe(INNER, ["--simproc"], passed=1)
    assert seen["forks"][0] == list(range(1000, 1016))
