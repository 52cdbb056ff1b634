"""Process pools' threads under --simproc see what they see natively.

A thread's timed poll of a pipe ends while the test's thread waits for it in an
untimed ``join()``, its clock moved on as natively.

multiprocessing's ``Connection.poll(t)`` (and ``Process.join(t)``, a poll of the
process's sentinel) polls the real descriptor until its deadline. In a thread of the
test, while the test's own thread waited natively (an untimed ``join()``, pebble's
``future.result()``), nothing moved the test's clock: the thread saw no time pass over
its wait, and once the test had forked (its deadline then follows the test's clock) the
poll timed out again and again and never saw its deadline come (pebble's message thread
after a fork pool's worker ended; its pool thread's ``join(3)`` of a forkserver's worker
lasted until the worker ended). Now a thread's timed real wait moves the test's clock on
by the time it took while no thread runs the host.

A worker writes to a pipe and ends at once; a thread of the pool reads what the workers
write, another looks every 0.1 s whether one is gone (``Process.is_alive``, a waitpid
with WNOHANG) and fails its task if it never said it had taken one. Natively the reader
wakes at the write, long before the look. Under --simproc the look ran the host, where
the worker wrote and ended at one instant, and reported its end before the reader had
its turn (pebble's test_process_pool_expired_worker and test_pool_deadlock, fork: the
pool called itself broken, and the test's ``future.result()`` hung). Now a look with
WNOHANG that finds a child gone lets the test's other threads have their turn first.

The inner tests are written that way, with no simproc API.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import multiprocessing
import os
import subprocess
import threading
import time

import pytest

from dropin_helpers import observed


@pytest.mark.timeout(60)
def test_a_threads_poll_times_out_while_the_test_joins_it():
    pid = int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True,
                             check=True).stdout)
    reader_end, writer_end = multiprocessing.Pipe(duplex=False)
    took = []

    def poll():
        start = time.monotonic()
        assert not reader_end.poll(0.3)  # nothing comes
        took.append(time.monotonic() - start)

    poller = threading.Thread(target=poll)
    poller.start()
    poller.join()
    writer_end.close()
    assert len(took) == 1 and 0.29 < took[0] < 10
    observed("poll", [pid], *took)


def worker(conn):
    conn.send(("ack", os.getpid()))
    os._exit(1)


@pytest.mark.timeout(60)
def test_a_workers_message_is_read_before_its_end_is_seen():
    ctx = multiprocessing.get_context("fork")
    reader_end, writer_end = ctx.Pipe(duplex=False)
    acks, outcome, done = [], [], threading.Event()

    def messages():  # a pool's message thread
        while not done.is_set():
            if reader_end.poll(0.1):
                acks.append(reader_end.recv())

    def pool():  # a pool's own thread: it starts a worker, then looks every 0.1 s
        worker_process = ctx.Process(target=worker, args=(writer_end,))
        worker_process.start()
        while worker_process.is_alive():
            time.sleep(0.1)
        outcome.append((worker_process.pid, worker_process.exitcode, list(acks)))
        done.set()

    threads = [threading.Thread(target=messages), threading.Thread(target=pool)]
    for thread in threads:
        thread.start()
    done.wait()
    for thread in threads:
        thread.join()
    (pid, code, seen), = outcome
    assert code == 1
    assert seen == [("ack", pid)]
    observed("pool", [pid])
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_pool_threads(observe, virtual, args):
    seen = observe(INNER, args, passed=2)
    if args:
        assert virtual(seen) == {"poll": ([1000], [0.3]), "pool": ([1000], [])}
