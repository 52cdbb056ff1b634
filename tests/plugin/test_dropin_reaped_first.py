"""A blocking wait that reaps a child returns once the test's other threads have had
their turn.

A child's end closes the pipes it held; natively a thread of the test waiting on one
wakes at that end as the test's own wait does, and usually acts before the wait
returns. concurrent.futures' manager thread marks a ProcessPoolExecutor broken on a
killed worker's sentinel (apscheduler's test_broken_pool kills the worker, waitpid()s
it, then submits, expecting the pool broken). Under --simproc the host's waitpid
returned first and the pool was still whole (the test looked once more before it saw
it broken). Now a blocking os.waitpid/wait4/waitid or Popen.wait that takes a child's
report lets the other threads run first, as a WNOHANG look that finds a child gone
already did (test_dropin_pool_threads).

Natively this is a race (the thread may even reap the worker first, ECHILD): the inner
tests count their looks, and only under --simproc, where the order is fixed, must none
be needed. They use no simproc API.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import concurrent.futures
import os
import signal
import subprocess
import threading
import time

import pytest

from dropin_helpers import observed


def looks_until(condition):
    looks = 0
    while not condition():
        looks += 1
        time.sleep(0.001)
    return looks


@pytest.mark.timeout(60)
def test_a_pool_is_broken_once_its_killed_worker_is_reaped():
    pool = concurrent.futures.ProcessPoolExecutor(1)
    pid = pool.submit(os.getpid).result()
    os.kill(pid, signal.SIGTERM)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:  # natively the pool's own thread may reap it first
        pass
    looks = looks_until(lambda: pool._broken)
    with pytest.raises(concurrent.futures.process.BrokenProcessPool):
        pool.submit(os.getpid).result()
    pool.shutdown()
    observed("pool", [pid], looks)


@pytest.mark.timeout(60)
def test_a_reader_sees_the_end_of_file_once_popen_waited():
    proc = subprocess.Popen(["sh", "-c", "echo $$"], stdout=subprocess.PIPE)
    out = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()))
    reader.start()
    assert proc.wait() == 0
    looks = looks_until(lambda: out)
    reader.join()
    observed("popen", [int(out[0])], looks)
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_reaped_first(observe, virtual, args):
    seen = observe(INNER, args, passed=2)
    if args:
        assert virtual(seen) == {"pool": ([1000], [0]), "popen": ([1000], [0])}
