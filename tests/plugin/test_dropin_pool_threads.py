"""Process pools' threads under --simproc: a thread's timed poll of a pipe ends while
the test's thread waits for it in an untimed ``join()``, its clock moved on as natively.

multiprocessing's ``Connection.poll(t)`` (and ``Process.join(t)``, a poll of the
process's sentinel) polls the real descriptor until its deadline. In a thread of the
test, while the test's own thread waited natively (an untimed ``join()``, pebble's
``future.result()``), nothing moved the test's clock: the thread saw no time pass over
its wait, and once the test had forked (its deadline then follows the test's clock) the
poll timed out again and again and never saw its deadline come (pebble's message thread
after a fork pool's worker ended; its pool thread's ``join(3)`` of a forkserver's worker
lasted until the worker ended). Now a thread's timed real wait moves the test's clock on
by the time it took while no thread runs the host. The inner tests are written that
way, with no simproc API.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import multiprocessing
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
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_a_threads_timed_poll_ends(observe, virtual, args):
    seen = observe(INNER, args, passed=1)
    if args:
        assert virtual(seen) == {"poll": ([1000], [0.3])}
