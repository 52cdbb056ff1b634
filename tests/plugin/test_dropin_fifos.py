"""The test and its programs talk through named FIFOs, as natively.

A test that opened a FIFO (``open``, ``pathlib``, ``os.open``) whose other end a
program it started was to open blocked in the real open, while the host, which runs
only inside the test's waits, never ran the program: the test hung. Now the test's
open runs the host until the other end is there (dropin/fifos.py), its reads wait for
the program's writes in virtual time, and a program that opens first waits in the
host (syscalls/fifos.py). The inner suite passes natively and under ``--simproc``,
where its programs have the host's pids and the waits take virtual time.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import json
import os
import subprocess
import time


def report(program):
    print("OBSERVED", json.dumps([os.getpid(), program.pid, time.time()]))


def test_read_what_a_daemon_writes(tmp_path):
    fifo = tmp_path / "log"
    os.mkfifo(fifo)
    daemon = subprocess.Popen(["sh", "-c", f"sleep 1; echo started > {fifo}"])
    start = time.monotonic()
    with open(fifo) as f:
        assert f.read() == "started\n"
    assert time.monotonic() - start >= 0.9
    assert daemon.wait() == 0
    report(daemon)


def test_send_a_command_to_a_reader(tmp_path):
    fifo = tmp_path / "control"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["sh", "-c", f"sleep 1; read cmd < {fifo}; echo got $cmd"],
                              stdout=subprocess.PIPE)
    fd = os.open(fifo, os.O_WRONLY)
    assert os.get_blocking(fd)
    os.write(fd, b"stop\n")
    os.close(fd)
    assert reader.communicate()[0] == b"got stop\n"
    report(reader)


def test_a_writer_that_opened_first(tmp_path):
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"echo early > {fifo}"])
    time.sleep(0.5)
    assert writer.poll() is None  # it waits for a reader
    assert fifo.read_text() == "early\n"
    assert writer.wait() == 0
    report(writer)
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_fifos_between_the_test_and_its_programs(observed, args):
    seen = observed(INNER, args, passed=3)
    assert len(seen) == 3
    if args:
        # in the host: the test keeps its pid, its programs from 1000, on the virtual clock
        for pid, child, now in seen:
            assert pid > 1 and child >= 1000 and 946684800 <= now < 946684800 + 60


FEED = r"""
import json
import os
import subprocess
import time


def test_feed_a_program_through_a_pipe():
    r, w = os.pipe()
    counter = subprocess.Popen(["wc", "-c"], stdin=r, stdout=subprocess.PIPE)
    os.close(r)
    assert os.write(w, b"x" * 300_000) == 300_000   # more than the pipe holds
    with os.fdopen(w, "wb") as f:
        f.write(b"y" * 200_000)
    assert counter.communicate()[0].split() == [b"500000"]
    print("OBSERVED", json.dumps([os.getpid(), counter.pid, time.time()]))


def test_feed_a_program_through_a_fifo(tmp_path):
    fifo = tmp_path / "in"
    os.mkfifo(fifo)
    counter = subprocess.Popen(["sh", "-c", f"wc -c < {fifo}"], stdout=subprocess.PIPE)
    with open(fifo, "wb") as f:
        f.write(b"z" * 1_000_000)
    assert counter.communicate()[0].split() == [b"1000000"]
    print("OBSERVED", json.dumps([os.getpid(), counter.pid, time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_the_test_writes_more_than_a_pipe_holds(observed, args):
    """The test's blocking write used to wait in the real call for a reader that the
    host never ran (the test hung)."""
    seen = observed(FEED, args, passed=2)
    if args:
        for pid, child, now in seen:
            assert pid > 1 and child >= 1000 and 946684800 <= now < 946684800 + 60
