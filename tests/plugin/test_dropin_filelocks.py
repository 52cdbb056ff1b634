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


# portalocker's suite: its conftest puts the functions, taken at its import, in its
# parameters, and its test tells lockf from flock by identity
LOCKERS = {"conftest": """
import fcntl
from fcntl import flock, lockf

import pytest

LOCKERS = [flock, lockf]

@pytest.fixture
def locker(request):
    return request.param
""", "test_lockers": r"""
import fcntl
import json
import os
import subprocess
import sys
import time
from fcntl import flock

import pytest

from conftest import LOCKERS

HOLD = "import fcntl, sys, time; f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); " \
       "print('locked', flush=True); time.sleep(1)"


@pytest.mark.parametrize("locker", LOCKERS, indirect=True)
def test_the_locker_is_told_by_identity(tmp_path, locker):
    path = tmp_path / "lock"
    path.touch()
    with open(path, "r+") as mine, open(path, "r+") as other:
        locker(mine, fcntl.LOCK_EX)
        if locker is fcntl.lockf:   # lockf's locks are the process's: no conflict
            locker(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            with pytest.raises(BlockingIOError):
                locker(other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_name_imported_before_waits_for_the_programs_lock(tmp_path):
    path = tmp_path / "lock"
    path.touch()
    program = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE)
    assert program.stdout.readline() == b"locked\n"
    start = time.monotonic()
    with open(path) as f:
        flock(f, fcntl.LOCK_EX)
    waited = time.monotonic() - start
    assert program.wait() == 0 and 0.5 < waited < 30
    print("OBSERVED", json.dumps([os.getpid(), program.pid, waited, time.time()]))


@pytest.mark.parametrize("locker", LOCKERS, indirect=True)
def test_the_locker_is_still_told_by_identity_after_a_program(locker):
    assert (locker is fcntl.flock) != (locker is fcntl.lockf)
"""}


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_fcntl_is_real_until_the_host_and_names_imported_before_wait(observed, args):
    """portalocker's test_locker_mechanism[lockf]: fcntl.lockf was drop-in mode's fake
    for the whole run, not the function its conftest took; now the fakes are there
    while the test's host is, also where a module imported them by name before."""
    seen = observed(LOCKERS, args, passed=5)
    assert len(seen) == 1
    pid, child, waited, now = seen[0]
    if args:
        assert pid > 1 and child >= 1000 and 946684800 <= now < 946684800 + 60
    else:
        assert child > 0 and now > 1_600_000_000
