"""An untimed wait of the test's thread lets the host's programs run.

hupper's ``test_ipc_close`` starts a reader thread on one end of a pipe pair (its
``Connection.activate``), then spawns a worker that echoes what it is sent, and waits
for the echo in ``Queue.get()``. Under ``--simproc`` the reader thread's read began
before the host existed, so it is a real read that never runs the host; the test's
thread waited natively in ``Queue.get()`` (a ``Condition.wait`` without a limit),
and nothing ran the worker: the test hung until its timeout. Now the test's thread
runs the host while it waits without a limit, as a helper thread does in the same
case.

The inner test is written that way, with no simproc API; the worker also sleeps a
second before it answers, so that the wait covers a move of the clock.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import json
import os
import queue
import subprocess
import sys
import threading
import time

ECHO = '''
import os, sys, time
r, w = int(sys.argv[1]), int(sys.argv[2])
while True:
    data = os.read(r, 100)
    if not data:
        break
    time.sleep(1)
    os.write(w, b"%d:" % os.getpid() + data)
'''


def test_a_reader_thread_hears_a_worker_started_after_it():
    from_worker, worker_writes = os.pipe()
    worker_reads, to_worker = os.pipe()
    received = queue.Queue()

    def read_loop():
        while True:
            chunk = os.read(from_worker, 100)
            received.put(chunk)
            if not chunk:
                break

    reader = threading.Thread(target=read_loop, daemon=True)
    reader.start()
    worker = subprocess.Popen([sys.executable, "-c", ECHO, str(worker_reads),
                               str(worker_writes)], pass_fds=[worker_reads, worker_writes])
    os.close(worker_reads)
    os.close(worker_writes)

    start = time.monotonic()
    os.write(to_worker, b"hello world")
    pid, echo = received.get().split(b":")
    elapsed = time.monotonic() - start
    os.close(to_worker)
    assert received.get() == b""
    reader.join()
    assert worker.wait() == 0
    assert echo == b"hello world" and int(pid) == worker.pid
    print("OBSERVED", json.dumps([worker.pid, elapsed, time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_a_queue_get_lets_the_programs_run(observed, args):
    [(pid, elapsed, now)] = observed(INNER, args, passed=1, timeout=60)
    assert elapsed >= 1  # the worker's sleep
    if args:
        # the worker ran in the test's host, on its virtual clock
        assert pid >= 1000 and HOST_EPOCH <= now < HOST_EPOCH + 60
        assert elapsed < 1.1
