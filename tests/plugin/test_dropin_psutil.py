"""Drop-in mode: what psutil's own suite checks of the processes a test starts (issue 13
item 2), written as that suite writes it: plain subprocess and psutil, no simproc API.
It passes natively and under ``--simproc``; each test prints the pids it saw, and the
outer test checks that under ``--simproc`` they were the host's (from 1000).
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = """
import os
import subprocess
import time

import psutil
import pytest
from dropin_helpers import observed, until


def test_every_call_on_a_zombie_child_answers():
    p = subprocess.Popen(["true"])
    z = psutil.Process(p.pid)
    until(lambda: z.status() == psutil.STATUS_ZOMBIE)
    switches = z.num_ctx_switches()
    assert switches.voluntary >= 0 and switches.involuntary >= 0
    assert z.ppid() == os.getpid() and z.num_threads() == 1
    assert z.uids().real == os.getuid() and z.gids().real == os.getgid()
    assert z.cpu_affinity()
    assert p.wait() == 0
    observed("zombie", [p.pid])


def test_a_child_started_now_was_created_now():
    p = subprocess.Popen(["sleep", "30"])
    child, me = psutil.Process(p.pid), psutil.Process()
    assert abs(child.create_time() - time.time()) < 2
    assert psutil.boot_time() < me.create_time() <= child.create_time() < time.time() + 1
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    assert abs(psutil.boot_time() + uptime - time.time()) < 2
    assert me.children() == [child] and child.parent() == me
    p.kill()
    p.wait()
    observed("created", [p.pid])


def test_an_invalid_cpu_for_a_child_is_a_value_error():
    p = subprocess.Popen(["sleep", "30"])
    child = psutil.Process(p.pid)
    with pytest.raises(ValueError):
        child.cpu_affinity([len(psutil.cpu_times(percpu=True)) + 10])
    with pytest.raises(ValueError):
        child.cpu_affinity([0, -1])
    child.cpu_affinity(child.cpu_affinity())
    p.kill()
    p.wait()
    observed("affinity", [p.pid])


AT_IMPORT = os.getpid()


def test_pid_exists_agrees_with_the_listing():
    # psutil's TestPidsRange: pid_exists(), Process() and pids() agree on every pid,
    # the pid the suite saw at its import and its children's by /proc/PID/task/*/children
    p = subprocess.Popen(["sleep", "30"])
    until(lambda: psutil.Process(p.pid).name() == "sleep")
    children = set()
    for tid in os.listdir(f"/proc/{AT_IMPORT}/task"):
        with open(f"/proc/{AT_IMPORT}/task/{tid}/children") as f:
            children.update(int(n) for n in f.read().split())
    assert children
    for pid in children | {AT_IMPORT, os.getpid(), p.pid}:
        exists = psutil.pid_exists(pid)
        assert exists == (pid in psutil.pids()), pid
        if not exists:
            with pytest.raises(psutil.NoSuchProcess):
                psutil.Process(pid)
    p.kill()
    p.wait()
    observed("listing", [p.pid])
"""


def pids(seen: dict) -> dict:
    """What ``observe`` returned: name -> the pids the test printed."""
    return {name: pids for name, (pids, _, _) in seen.items()}


def test_psutil_checks_natively(observe):
    assert len(observe(INNER, [], passed=4)) == 4


# psutil after 8.0 builds its extension as psutil._psutil (psutil._psutil_linux before):
# the installed one, under the newer name
NEWER_PSUTIL = """
import sys
import psutil
if "psutil._psutil" not in sys.modules:
    sys.modules["psutil._psutil"] = sys.modules.pop("psutil._psutil_linux")
"""


@pytest.mark.parametrize("conftest", [None, NEWER_PSUTIL], ids=["installed", "newer"])
def test_psutil_checks_under_simproc_see_the_hosts_pids(observe, conftest):
    seen = pids(observe(INNER, ["--simproc"], passed=4, conftest=conftest))
    assert seen == {"zombie": [1000], "created": [1000], "affinity": [1000],
                    "listing": [1000]}


# A process a wider fixture starts lives on for the tests that use it (psutil's
# test_posix: setUpClass starts a python, each test compares ps with psutil).
WIDER = """
import subprocess
import unittest

import psutil
import pytest
from dropin_helpers import observed, until


def ps(field, pid):
    return subprocess.run(["ps", "--no-headers", "-o", field, "-p", str(pid)],
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="class")
def daemon():
    p = subprocess.Popen(["sleep", "1000"])
    yield p
    p.terminate()
    assert p.wait() == -15


class TestADaemonOfTheClass:
    def test_first(self, daemon):
        assert psutil.Process(daemon.pid).cmdline() == ["sleep", "1000"]
        observed("first", [daemon.pid])

    def test_second(self, daemon):
        assert int(ps("pid", daemon.pid)) == daemon.pid and ps("comm", daemon.pid) == "sleep"
        # natively it may still be on its way to its sleep (exec, the loader)
        until(lambda: psutil.Process(daemon.pid).status() == psutil.STATUS_SLEEPING)
        observed("second", [daemon.pid])


class TestSetUpClass(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc = subprocess.Popen(["sleep", "1000"], stdin=subprocess.PIPE)

    @classmethod
    def tearDownClass(cls):
        cls.proc.kill()
        cls.proc.wait()
        cls.proc.stdin.close()

    def test_a(self):
        assert ps("args", self.proc.pid) == "sleep 1000"
        observed("a", [self.proc.pid])

    def test_b(self):
        assert psutil.Process(self.proc.pid).name() == "sleep"
        assert ps("user", self.proc.pid) == psutil.Process(self.proc.pid).username()
        observed("b", [self.proc.pid])


def test_alone():
    p = subprocess.Popen(["true"])
    assert p.wait() == 0
    observed("alone", [p.pid])
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["natively", "simproc"])
def test_a_wider_fixtures_process_lives_for_its_tests(observe, args):
    seen = pids(observe(WIDER, args, passed=5))
    assert seen["first"] == seen["second"] and seen["a"] == seen["b"]
    if args:  # one host for each class, its process first; a host of its own after,
        # which passes over 1000: the unittest class still holds its Popen of it
        assert seen == {"first": [1000], "second": [1000], "a": [1000], "b": [1000],
                        "alone": [1001]}


# A program that looks at every process with psutil (psutil's scripts/ps.py) reads
# the files of each, init's and a zombie's too, which have no native process in a host.
EVERY = '''
import json
import os
import subprocess
import sys

from dropin_helpers import observed

SCRIPT = """
import json, os, subprocess, time
import psutil

zombie = subprocess.Popen(["true"])
while psutil.Process(zombie.pid).status() != psutil.STATUS_ZOMBIE:
    time.sleep(0.01)
attrs = ["pid", "ppid", "status", "memory_info", "io_counters", "num_fds",
         "memory_maps", "cpu_num", "num_ctx_switches"]
seen = {p.pid: p.info for p in psutil.process_iter(attrs, ad_value=None)}
mine = seen[zombie.pid]
assert mine["ppid"] == os.getpid() and mine["status"] == psutil.STATUS_ZOMBIE
assert mine["memory_info"].rss == 0 and mine["num_fds"] == 0 and mine["memory_maps"] is None
assert mine["io_counters"] is None or mine["io_counters"].read_count >= 0
assert psutil.Process(zombie.pid).rlimit(psutil.RLIMIT_NOFILE) == psutil.Process().rlimit(
    psutil.RLIMIT_NOFILE)
init = seen[1]
assert init["memory_info"] is not None and init["num_ctx_switches"] is not None
import resource
show = lambda v: "unlimited" if v == resource.RLIM_INFINITY else str(v)
with open("/proc/self/limits") as f:
    rows = {line[:25].strip(): line[26:].split()[:2] for line in f.read().splitlines()[1:]}
for name, which in (("Max processes", resource.RLIMIT_NPROC),
                    ("Max open files", resource.RLIMIT_NOFILE),
                    ("Max stack size", resource.RLIMIT_STACK)):
    assert rows[name] == [show(v) for v in resource.getrlimit(which)], (name, rows[name])
print(json.dumps([os.getpid(), zombie.pid]))
zombie.wait()
"""


def test_a_program_lists_every_process_with_psutil():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    observed("every", json.loads(out.stdout))
'''


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["natively", "simproc"])
def test_a_program_reads_every_process(observe, args):
    seen = pids(observe(EVERY, args, passed=1))
    if args:
        assert seen == {"every": [1000, 1001]}
