"""``io.FileIO(fd)`` of the test's end of a pipe or socket to a host process runs the
host while it reads.

FileIO's reads are C calls that no patch reaches: a test that wrapped its end of a
forked child's pipe in ``io.FileIO`` (rather than ``os.fdopen`` or ``open``) blocked
natively while the child, a program of the host, never ran (it hung under --simproc).
During a session ``io.FileIO`` makes such a descriptor's reading file as ``os.fdopen``
does, and is the real class to ``isinstance`` and ``issubclass``. The inner suite is
written as real suites write it (os.fork, os.pipe, socket.socketpair, io.FileIO; no
simproc API); it reports the child's pid and how long the read waited.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import io
import json
import os
import socket
import time


def child_writes_its_pid_after(seconds, fd):
    pid = os.fork()
    if pid == 0:
        time.sleep(seconds)
        os.write(fd, str(os.getpid()).encode())
        os._exit(0)
    return pid


def test_fileio_of_a_childs_pipe():
    r, w = os.pipe()
    pid = child_writes_its_pid_after(1, w)
    os.close(w)
    with io.FileIO(r, "r") as f:
        t0 = time.monotonic()
        data = f.read(100)
        t1 = time.monotonic()
        assert f.read(100) == b""  # the child's end closed at its exit
    assert os.waitpid(pid, 0) == (pid, 0)
    assert int(data) == pid
    print("OBSERVED", json.dumps(["pipe", pid, t1 - t0]))


def test_buffered_fileio_of_a_socket_pair():
    mine, theirs = socket.socketpair()
    pid = child_writes_its_pid_after(2, theirs.fileno())
    theirs.close()
    with io.BufferedReader(io.FileIO(mine.detach(), "rb")) as f:
        t0 = time.monotonic()
        data = f.read()  # to the end: the child's exit closes its end
        t1 = time.monotonic()
    assert os.waitpid(pid, 0) == (pid, 0)
    assert int(data) == pid
    print("OBSERVED", json.dumps(["socketpair", pid, t1 - t0]))


def test_fileio_is_still_the_class_of_files():
    with open(__file__, "rb", buffering=0) as f:
        assert isinstance(f, io.FileIO) and issubclass(type(f), io.FileIO)

    class Logged(io.FileIO):
        pass

    assert not isinstance(f, Logged)
    with Logged(__file__) as g:
        assert isinstance(g, Logged) and g.read(1)
"""


def _run(observed, *args) -> dict:
    return {name: (pid, waited) for name, pid, waited
            in observed(INNER, args, passed=3, timeout=300)}


def test_the_suite_passes_natively(observed):
    seen = _run(observed)
    assert seen["pipe"][1] >= 0.9 and seen["socketpair"][1] >= 1.9


def test_under_simproc_fileio_reads_wait_for_the_hosts_child(observed):
    seen = _run(observed, "--simproc")
    assert all(1000 <= pid < 1100 for pid, _ in seen.values()), seen
    # virtual seconds: the child's sleep, its fork and the clock reads' microseconds
    assert 1.0 <= seen["pipe"][1] < 1.01 and 2.0 <= seen["socketpair"][1] < 2.01, seen
