"""Drop-in mode: what psutil's own suite checks of the processes a test starts (issue 13
item 2), written as that suite writes it: plain subprocess and psutil, no simproc API.
It passes natively and under ``--simproc``; each test prints the pids it saw, and the
outer test checks that under ``--simproc`` they were the host's (from 1000).
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = """
import json
import os
import subprocess
import time

import psutil
import pytest


def observed(name, pids):
    print("OBSERVED", json.dumps([name, pids]))


def until(condition):
    for _ in range(400):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("never happened")


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
"""


def test_psutil_checks_natively(observed):
    seen = dict(observed(INNER, [], passed=3))
    assert len(seen) == 3


# psutil after 8.0 builds its extension as psutil._psutil (psutil._psutil_linux before):
# the installed one, under the newer name
NEWER_PSUTIL = """
import sys
import psutil
if "psutil._psutil" not in sys.modules:
    sys.modules["psutil._psutil"] = sys.modules.pop("psutil._psutil_linux")
"""


@pytest.mark.parametrize("conftest", [None, NEWER_PSUTIL], ids=["installed", "newer"])
def test_psutil_checks_under_simproc_see_the_hosts_pids(pytester, observed, conftest):
    if conftest is not None:
        pytester.makeconftest(conftest)
    seen = dict(observed(INNER, ["--simproc"], passed=3))
    assert seen == {"zombie": [1000], "created": [1000], "affinity": [1000]}
