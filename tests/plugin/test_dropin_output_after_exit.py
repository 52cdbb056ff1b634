"""communicate() reads all of a program's output past a pipe's 64 KiB while a thread lives.

plumbum kills timed-out commands from a daemon thread that its first ``timeout=``
starts and that then waits on a queue for the rest of the run. Its ``test_cmd`` later
runs ``ls /tmp`` and reads the output with ``communicate()``; with more than a pipe
holds (64 KiB), the rest waits in the session for the test's end of the pipe when the
program ends. Under ``--simproc``, with another thread of the test alive, the host's
run returned once no program was left, with that rest still waiting, and
``communicate()`` raised SimprocError ("waits for a descriptor that no process of the
simulated host can make ready").

The inner suite is written as such a suite is: a first test starts a daemon thread
that waits on a queue, the next reads 200 kB of a program's output. It passes natively
and under ``--simproc``, where the program has a pid of the host and the time is the
host's clock.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import json
import queue
import subprocess
import sys
import threading
import time

JOBS = queue.Queue()  # a suite's watchdog thread waits here for the rest of the run


def test_starts_a_watchdog_thread():
    threading.Thread(target=JOBS.get, daemon=True).start()


def test_reads_more_than_a_pipe_holds():
    proc = subprocess.Popen([sys.executable, "-c", "print('x' * 199999)"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out, err = proc.communicate()
    assert (proc.returncode, len(out), err) == (0, 200000, b"")
    print("OBSERVED", json.dumps([proc.pid, time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_output_past_a_pipe_is_read_after_the_program_ends(observed, args):
    [(pid, now)] = observed(INNER, args, passed=2)
    if args:
        assert pid >= 1000
        assert 946684800 <= now < 946684800 + 60  # the host's clock
