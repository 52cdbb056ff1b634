"""Drop-in mode: the test process's own identity in its host, and what the test and its
programs count of the machine (issue 13 item 2).

The test keeps its real pid, for its own code and for its programs: they are its
children (ppid its pid), ``ps``, ``/proc/self`` and ``psutil.Process()`` agree with
``os.getpid()``, and a pid it hands a program names it. Both see one boot, before the test's first read of the clock,
one set of CPUs, and a Popen of an earlier test that the suite still holds names a
process that is gone, whose number no later program gets.

The inner suite is written as a real suite writes it (psutil's own does each of these:
test_pidof, test_ppid, test_boot_time, test_against_nproc, test_reap_children):
plain subprocess, os, signal and psutil, no simproc API. It passes natively and under
``--simproc``; each test prints the pids it saw, and the outer test checks that under
``--simproc`` they were the host's: the test its own, its programs from 1000.
"""
from __future__ import annotations

import os
import sys

from pytest_simproc import SimHost

pytest_plugins = ["pytester"]

INNER = """
import os
import re
import signal
import subprocess
import sys
import time

import psutil
import pytest
from dropin_helpers import observed

KEPT = []


def test_nproc_counts_the_cpus_i_count():
    mine = len(os.sched_getaffinity(0))
    assert int(subprocess.check_output(["nproc"])) == mine
    out = subprocess.check_output(
        [sys.executable, "-c", "import os; print(len(os.sched_getaffinity(0)), os.cpu_count())"])
    assert out.split() == [b"%d" % mine, b"%d" % os.cpu_count()]
    p = subprocess.Popen(["sleep", "30"])
    assert psutil.Process(p.pid).cpu_affinity() == sorted(os.sched_getaffinity(0))
    p.kill()
    p.wait()
    observed("cpus", [p.pid])


def test_one_boot_before_and_after_spawning():
    before = psutil.boot_time()
    assert before < time.time()
    out = subprocess.check_output(["cat", "/proc/stat"], text=True)
    assert int(re.search(r"^btime (\\d+)", out, re.M).group(1)) == int(before)
    assert psutil.boot_time() == before
    p = subprocess.Popen(["sleep", "30"])
    assert before <= psutil.Process(p.pid).create_time() <= time.time()
    assert before < psutil.Process().create_time() <= psutil.Process(p.pid).create_time()
    p.kill()
    p.wait()
    observed("boot", [p.pid])


def test_a_program_told_my_pid_finds_me():
    me = str(os.getpid())
    child = subprocess.Popen(["sleep", "30"])
    out = subprocess.check_output(["ps", "-o", "pid=,comm=", "-p", me], text=True).split()
    assert out == [me, psutil.Process().name()]
    ppid = subprocess.check_output(["ps", "-o", "ppid=", "-p", str(child.pid)], text=True)
    assert ppid.strip() == me == str(psutil.Process(child.pid).ppid())
    assert [c.pid for c in psutil.Process().children()] == [child.pid]
    assert psutil.Process().ppid() == os.getppid()
    assert os.readlink("/proc/self") == me and psutil.pid_exists(int(me))
    # a program reads my command line through /proc/<my pid>
    first = subprocess.check_output(
        [sys.executable, "-c",
         "import sys; print(open(f'/proc/{sys.argv[1]}/cmdline').read().split(chr(0))[0])",
         me], text=True)
    assert first.strip() == psutil.Process().cmdline()[0]
    # my nice value, as psutil and os read it
    assert psutil.Process().nice() == os.getpriority(os.PRIO_PROCESS, 0)
    got = []
    old = signal.signal(signal.SIGUSR1, lambda *_: got.append(1))
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert got == [1]
    child.kill()
    child.wait()
    observed("me", [int(me), child.pid])


def test_an_orphan_is_not_my_child():
    sh = subprocess.Popen(["sh", "-c", "sleep 30 & echo $!"], stdout=subprocess.PIPE)
    orphan = int(sh.stdout.readline())
    assert sh.wait() == 0
    sh.stdout.close()
    assert psutil.Process(orphan).ppid() != os.getpid()
    assert psutil.Process().children() == []
    os.kill(orphan, signal.SIGKILL)
    observed("orphan", [sh.pid, orphan])


def test_keeps_its_popen():
    p = subprocess.Popen(["true"])
    p.wait()
    KEPT.append(p)
    observed("kept", [p.pid])


def test_a_popen_kept_from_an_earlier_test_is_gone():
    p = subprocess.Popen(["sleep", "30"])
    old = KEPT.pop()
    old.terminate()
    old.wait()
    assert p.pid != old.pid
    assert not psutil.pid_exists(old.pid)
    with pytest.raises(ProcessLookupError):
        os.kill(old.pid, 0)
    with pytest.raises(psutil.NoSuchProcess):
        psutil.Process(old.pid)
    p.kill()
    p.wait()
    observed("stale", [old.pid, p.pid])
"""


def _seen(observe, args) -> dict:
    return {name: pids for name, (pids, _, _) in observe(INNER, args, passed=6).items()}


def test_the_tests_identity_natively(observe):
    seen = _seen(observe, [])
    assert seen["me"][0] > 1 and seen["stale"][0] != seen["stale"][1]


def test_the_tests_identity_under_simproc_is_its_own(observe):
    """The test keeps its real pid (not 1, as natively), its programs from 1000, each
    test's own (a Popen of an earlier test still held keeps its number from the next
    host)."""
    seen = _seen(observe, ["--simproc"])
    me = seen["me"].pop(0)
    assert me > 1 and me not in range(1000, 1003)
    assert seen == {
        "cpus": [1002], "boot": [1001], "me": [1000], "orphan": [1000, 1001],
        "kept": [1000], "stale": [1000, 1001]}


def test_the_machines_cpus_are_the_hosts():
    """What the programs count (sched_getaffinity in syscalls/misc.py) is the test
    process's mask: the machine's, whatever CPU the host pins its tracees to."""
    with SimHost() as host:
        p = host.spawn([sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"])
        host.run()
        assert p.stdout == b"%s\n" % str(sorted(os.sched_getaffinity(0))).encode()
