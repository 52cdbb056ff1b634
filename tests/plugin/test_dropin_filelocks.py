"""The test's file locks and its programs': each waits for the other, as natively.

A test that takes a lock (``fcntl.flock``, ``fcntl.lockf``, ``fcntl.fcntl`` with
F_OFD_SETLKW) that a program it started holds used to block in the real call while
the host, which runs only inside the test's waits, never let the program go on to
release it: the test hung. And a program waiting for a lock (``flock(1)``) was killed
by the host's watchdog, blocked natively. Now the test's call runs the host until the
lock is free (dropin/filelocks.py), and the program's waits in the host
(syscalls/locks.py). The inner suite passes natively and under ``--simproc``, where its
programs have the host's pids and the waits take virtual time.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import fcntl
import json
import os
import shutil
import struct
import subprocess
import sys
import time

import pytest

HOLD = '''
import fcntl, sys, time
f = open(sys.argv[1], "r+")
if sys.argv[2] == "flock":
    fcntl.flock(f, fcntl.LOCK_EX)
elif sys.argv[2] == "lockf":
    fcntl.lockf(f, fcntl.LOCK_EX, 10)
else:
    fcntl.fcntl(f, fcntl.F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 0, 0, 0))
print("locked", flush=True)
time.sleep(1)
'''


def holder(path, kind):
    program = subprocess.Popen([sys.executable, "-c", "import struct\n" + HOLD, str(path), kind],
                               stdout=subprocess.PIPE)
    assert program.stdout.readline() == b"locked\n"
    return program


@pytest.mark.parametrize("kind", ["flock", "lockf", "ofd"])
def test_waits_for_the_programs_lock(tmp_path, kind):
    path = tmp_path / "lock"
    path.write_bytes(b"0123456789")
    program = holder(path, kind)
    start = time.monotonic()
    with open(path, "r+") as f:
        if kind == "flock":
            with pytest.raises(BlockingIOError):
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(f, fcntl.LOCK_EX)
        elif kind == "lockf":
            fcntl.lockf(f, fcntl.LOCK_SH, 5, 5)
        else:
            fcntl.fcntl(f, fcntl.F_OFD_SETLKW, struct.pack("hhqqi4x", fcntl.F_RDLCK, 0, 0, 0, 0))
        waited = time.monotonic() - start
    assert program.wait() == 0
    assert 0.5 < waited < 30
    print("OBSERVED", json.dumps([os.getpid(), program.pid, waited, time.time()]))


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock(1) is not installed")
def test_a_program_waits_for_the_tests_lock(tmp_path):
    path = tmp_path / "lock"
    path.touch()
    with open(path) as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        program = subprocess.Popen(["flock", str(path), "echo", "got it"], stdout=subprocess.PIPE)
        start = time.monotonic()
        time.sleep(1)
        assert program.poll() is None
        fcntl.flock(f, fcntl.LOCK_UN)
        assert program.communicate()[0] == b"got it\n"
    waited = time.monotonic() - start
    assert program.returncode == 0 and waited >= 1
    print("OBSERVED", json.dumps([os.getpid(), program.pid, waited, time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_file_locks_between_the_test_and_its_programs(observed, args):
    seen = observed(INNER, args, passed=4)
    assert len(seen) == 4
    if args:
        # in the host: the test keeps its pid, its programs from 1000, on the virtual clock
        for pid, child, waited, now in seen:
            assert pid > 1 and child >= 1000 and 946684800 <= now < 946684800 + 60
