"""Drop-in mode: a Popen's stdin is what ``io.open(fd, "wb", bufsize)`` makes, as
natively (CPython's test_subprocess checks each of these): a BufferedWriter unless
bufsize is 0, a RuntimeWarning for bufsize=1 in binary mode, what the test wrote before
``communicate()`` flushed first, and a write the pipe cannot take fails with
BrokenPipeError when the program ends without reading it (natively the write waits for
the reader, which ends). The inner suite passes natively and under ``--simproc``, where
its programs are the host's (pids from 1000) and their waits virtual.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = """
import contextlib
import io
import json
import subprocess
import time

import pytest

MORE_THAN_A_PIPE = 4 << 20


def observed(name, pids, elapsed):
    print("OBSERVED", json.dumps([name, pids, round(elapsed, 2)]))


def test_stdin_is_buffered_and_flushed_by_communicate():
    p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert isinstance(p.stdin, io.BufferedWriter)
    p.stdin.write(b"hello ")
    assert p.communicate(b"world")[0] == b"hello world"
    raw = subprocess.Popen(["cat"], stdin=subprocess.PIPE, bufsize=0)
    assert isinstance(raw.stdin, io.RawIOBase)
    raw.communicate(b"")
    with pytest.warns(RuntimeWarning, match="line buffering"):
        line = subprocess.Popen(["cat"], stdin=subprocess.PIPE, bufsize=1)
    assert isinstance(line.stdin, io.BufferedWriter)
    line.communicate(b"")
    observed("buffered", [p.pid, raw.pid, line.pid], 0)


def test_a_write_to_a_program_that_ends_unread_fails():
    p = subprocess.Popen(["true"], stdin=subprocess.PIPE)
    with pytest.raises(BrokenPipeError):
        p.stdin.write(b"x" * MORE_THAN_A_PIPE)
        p.stdin.flush()
    with contextlib.suppress(BrokenPipeError):
        p.stdin.close()
    assert p.wait() == 0
    observed("broken", [p.pid], 0)


def test_a_write_waits_for_a_slow_reader():
    t0 = time.time()
    p = subprocess.Popen(["sh", "-c", "sleep 1; wc -c"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    p.stdin.write(b"x" * MORE_THAN_A_PIPE)
    out, _ = p.communicate()
    assert int(out) == MORE_THAN_A_PIPE
    observed("slow_reader", [p.pid], time.time() - t0)
"""


def _seen(observed, args) -> dict:
    return {name: (pids, elapsed)
            for name, pids, elapsed in observed(INNER, args, passed=3)}


def test_natively(observed):
    assert _seen(observed, [])["slow_reader"][1] >= 1.0


def test_under_simproc_in_the_host(observed):
    assert _seen(observed, ["--simproc"]) == {
        "buffered": ([1000, 1001, 1002], 0), "broken": ([1000], 0),
        "slow_reader": ([1000], 1.0)}
