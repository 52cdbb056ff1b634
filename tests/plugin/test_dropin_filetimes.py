"""File times on the test's clock, as its programs see them (dropin/filetimes.py,
syscalls/filetimes.py).

filelock's soft locks call a marker stale when ``time.time() - st_mtime`` passes a
threshold. Under --simproc the test's clock was the host's (2000-01-01 on) and the
marker's mtime the machine's (today): no marker of a dead holder ever went stale, and with
``start_time="now"`` a live one, whose heartbeat's touches the machine stamped, went stale
while the host's clock ran ahead of the machine's in the test's sleeps. The inner suite
is written as filelock's is; it passes natively and under --simproc.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time

STALE = 1.0   # seconds of mtime inactivity before a marker is stale


def age(path):
    return time.time() - os.stat(path).st_mtime


def is_stale(path):
    return age(path) > STALE


def write_marker(path):
    # a holder that writes its marker and dies
    program = subprocess.run([sys.executable, "-c",
                              "import os, sys; open(sys.argv[1], 'w').write(str(os.getpid()))",
                              str(path)])
    assert program.returncode == 0
    return int(path.read_text())


def test_a_dead_holders_marker_goes_stale(tmp_path):
    marker = tmp_path / "write.marker"
    pid = write_marker(marker)
    assert not is_stale(marker), age(marker)
    time.sleep(STALE * 1.5)
    assert is_stale(marker), age(marker)
    # every way of asking agrees
    mtime = os.stat(marker).st_mtime
    assert os.path.getmtime(marker) == marker.stat().st_mtime == mtime
    with open(marker) as f:
        assert os.fstat(f.fileno()).st_mtime == mtime
    assert [e.stat().st_mtime for e in os.scandir(tmp_path)] == [mtime]
    print("OBSERVED", json.dumps([os.getpid(), pid, age(marker), time.time()]))


def test_a_heartbeat_keeps_a_marker_fresh(tmp_path):
    # a program's heartbeat on one marker (touch(1) does utimensat(UTIME_NOW) too)
    other = tmp_path / "other.marker"
    other.touch()
    program = subprocess.Popen([sys.executable, "-c",
        "import os, sys, time\nfor _ in range(12): os.utime(sys.argv[1]); time.sleep(0.25)",
        str(other)])
    # and a thread's on another, as filelock's reader markers have
    marker = tmp_path / "read.marker"
    marker.touch()
    done = threading.Event()

    def heartbeat():
        while not done.wait(STALE / 4):
            os.utime(marker)

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    for _ in range(6):
        time.sleep(STALE / 2)
        assert not is_stale(marker), age(marker)
        assert not is_stale(other), age(other)
    done.set()
    beat.join()
    assert program.wait() == 0
    time.sleep(STALE * 1.5)
    assert is_stale(marker) and is_stale(other)
    print("OBSERVED", json.dumps([os.getpid(), program.pid, age(marker), time.time()]))


def test_explicit_times_read_back_exactly(tmp_path):
    marker = tmp_path / "lease"
    marker.write_text("x")
    now = time.time_ns()
    os.utime(marker, ns=(now - 10**9, now - 3 * 10**9))
    st = os.stat(marker)
    assert (st.st_atime_ns, st.st_mtime_ns) == (now - 10**9, now - 3 * 10**9)
    assert 2.9 < age(marker) < 4
    copy = tmp_path / "copy"
    shutil.copy2(marker, copy)
    assert os.stat(copy).st_mtime_ns == st.st_mtime_ns
    # a program reads the times the test wrote, and the test those a program wrote
    program = subprocess.run([sys.executable, "-c",
        "import os, sys; print(os.stat(sys.argv[1]).st_mtime_ns); "
        "os.utime(sys.argv[2], (1234567890, 1234567890.5))", str(marker), str(copy)],
        stdout=subprocess.PIPE)
    assert int(program.stdout) == st.st_mtime_ns
    assert os.stat(copy).st_mtime == 1234567890.5
    print("OBSERVED", json.dumps([os.getpid(), program.returncode, age(marker), time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_file_ages_on_the_tests_clock(observed, args):
    seen = observed(INNER, args, passed=3)
    assert len(seen) == 3
    (pid, holder, stale_age, now), (_, beater, _, _), _ = seen
    assert stale_age > 1.0
    if args:
        # in the host: its programs from pid 1000, the clock the host's (from 2000-01-01)
        assert holder >= 1000 and beater >= 1000
        assert all(946684800 <= seen_now < 946684800 + 120 for *_, seen_now in seen)
    else:
        assert now > 1_600_000_000
