"""A reader thread that outlives its test (sarge's Capture, a daemon thread on
``proc.stdout``) ends as natively: once the program is gone it reads end of file. Under
``--simproc`` the test's end ends its programs and closes its ends of their pipes; the
thread still waiting in a read got "I/O operation on closed file" (a warning that
``filterwarnings = error`` makes an error), or read on a descriptor number that another
file had by then, and hung.
"""
from __future__ import annotations

import pytest

from .test_dropin import MODES

pytest_plugins = ["pytester"]

INNER = """
import subprocess
import threading
import time

from dropin_helpers import observed

PROGRAMS = []


def reader(stream):
    for line in iter(stream.readline, b""):
        pass
    stream.close()


def test_a_reader_thread_outlives_its_test():
    p = subprocess.Popen(["sh", "-c", "sleep 1; echo late"], stdout=subprocess.PIPE)
    PROGRAMS.append(p)
    threading.Thread(target=reader, args=(p.stdout,), name="reader", daemon=True).start()
    time.sleep(0.1)
    observed("outlives", [p.pid])


def test_the_next_test_sees_it_end():
    start = time.monotonic()
    for thread in threading.enumerate():
        if thread.name == "reader":
            thread.join(5)
            assert not thread.is_alive()
    observed("next", [], time.monotonic() - start)
"""


@pytest.mark.parametrize("args", MODES)
def test_a_reader_thread_that_outlives_its_test_reads_end_of_file(pytester, observe, args):
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    seen = observe(INNER, args, passed=2)
    (pid,), _, when = seen["outlives"]
    if args:  # the simulated host: its pids and its clock
        assert pid >= 1000
        assert 946684800 <= when < 946684800 + 60
