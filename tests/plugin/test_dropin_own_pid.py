"""Drop-in mode: the test keeps its own pid, and the host's init is the kernel's.

Natively a test is never pid 1 and has a parent, and suites rely on it: gunicorn's
``test_listen_fds_ignores_wrong_pid`` (``LISTEN_PID=1`` is not this process) and its
arbiter's ``master_pid = os.getppid()``, psutil's ``test_parents``, filelock's
parameter built from ``os.getpid()`` at collection and compared in the test. A daemon
signals its parent with ``kill(getppid(), sig)``; a child the test did not wait for
is its zombie until it does; the lowest pid is init's (psutil's ``test_as_dict``). The inner suite is written as those suites write it
(plain os, signal, subprocess, psutil); it passes natively and under ``--simproc``,
where each test shows it ran in the host (its programs from 1000, virtual time).
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = """
import os
import signal
import subprocess

import psutil
import pytest
from dropin_helpers import observed, until

PID_AT_COLLECTION = os.getpid()


def listen_fds():
    # gunicorn.systemd.listen_fds: the descriptors are this process's only
    if int(os.environ.get("LISTEN_PID", 0)) != os.getpid():
        return 0
    return int(os.environ.get("LISTEN_FDS", 0))


def test_listen_fds_ignores_wrong_pid(monkeypatch):
    monkeypatch.setenv("LISTEN_FDS", "5")
    monkeypatch.setenv("LISTEN_PID", "1")
    assert listen_fds() == 0
    monkeypatch.setenv("LISTEN_PID", str(os.getpid()))
    assert listen_fds() == 5
    p = subprocess.Popen(["sh", "-c", "echo $PPID"], stdout=subprocess.PIPE, text=True)
    assert int(p.communicate()[0]) == os.getpid()
    observed("listen", [os.getpid(), p.pid])


def test_my_parent_is_a_process():
    # gunicorn's arbiter: master_pid = os.getppid(), then os.kill(master_pid, 0)
    master_pid = os.getppid()
    assert master_pid > 0 and master_pid != os.getpid()
    os.kill(master_pid, 0)
    assert psutil.Process().ppid() == master_pid
    child = subprocess.Popen(["sleep", "30"])
    assert psutil.Process(child.pid).ppid() == os.getpid()
    child.kill()
    child.wait()
    observed("parent", [os.getpid(), child.pid])


def test_parents():
    parent = psutil.Process()
    assert parent.parents()
    child = subprocess.Popen(["sh", "-c", "sleep 30 & echo $!; wait"], stdout=subprocess.PIPE)
    grandchild = psutil.Process(int(child.stdout.readline()))
    assert psutil.Process(child.pid).parents()[0] == parent
    assert grandchild.parents()[0].pid == child.pid
    assert grandchild.parents()[1] == parent
    assert [c.pid for c in parent.children(recursive=True)] == [child.pid, grandchild.pid]
    grandchild.kill()
    assert child.wait() == 0
    child.stdout.close()
    observed("parents", [os.getpid(), child.pid, grandchild.pid])


@pytest.mark.parametrize("pid", [PID_AT_COLLECTION], ids=["same_pid"])
def test_pid_taken_at_collection(pid):
    assert pid == os.getpid()
    p = subprocess.Popen(["true"])
    assert p.wait() == 0
    observed("collection", [os.getpid(), p.pid])


def test_a_daemon_signals_its_parent():
    got = []
    old = signal.signal(signal.SIGUSR1, lambda *_: got.append(signal.SIGUSR1))
    try:
        p = subprocess.Popen(["sh", "-c", "sleep 1; kill -USR1 $PPID"])
        assert p.wait() == 0
        until(lambda: got)
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert got == [signal.SIGUSR1]
    observed("signal", [os.getpid(), p.pid])


def test_the_lowest_pid_is_init():
    # psutil's test_as_dict: Process(min(pids())) and its connections (or ad_value),
    # before the test's first program and after
    pids = [os.getpid()]
    for _ in range(2):
        p = psutil.Process(min(psutil.pids()))
        assert p.pid == 1 and p.ppid() == 0
        conns = p.as_dict(attrs=["net_connections"], ad_value="foo")["net_connections"]
        assert isinstance(conns, list) or conns == "foo"
        assert p.as_dict()["pid"] == 1   # every attribute, or its ad_value
        child = subprocess.Popen(["true"])
        assert child.wait() == 0
        pids.append(child.pid)
    observed("init", pids)


def test_an_unwaited_child_is_my_zombie_until_reaped():
    p = subprocess.Popen(["sh", "-c", "exit 3"])
    os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)   # ended, not reaped
    assert psutil.Process(p.pid).status() == psutil.STATUS_ZOMBIE
    assert psutil.Process(p.pid).ppid() == os.getpid()
    ps = subprocess.run(["ps", "-o", "stat=,ppid=", "-p", str(p.pid)],
                        capture_output=True, text=True)
    assert ps.stdout.split() == ["Z", str(os.getpid())]
    assert p.wait() == 3
    assert not psutil.pid_exists(p.pid)
    gone = subprocess.run(["ps", "-o", "stat=", "-p", str(p.pid)], capture_output=True)
    assert gone.returncode == 1 and gone.stdout == b""
    observed("zombie", [os.getpid(), p.pid])
"""


def _seen(observe, args):
    return observe(INNER, args, passed=7)


def test_its_own_pid_natively(observe):
    seen = _seen(observe, [])
    mine = {pids[0] for pids, _, _ in seen.values()}
    assert len(mine) == 1 and mine != {1}


def test_its_own_pid_under_simproc(observe):
    """The test's pid is its own in every test (not 1), its programs the host's."""
    seen = _seen(observe, ["--simproc"])
    mine = {pids[0] for pids, _, _ in seen.values()}
    assert len(mine) == 1 and mine != {1}
    assert {name: pids[1:] for name, (pids, _, _) in seen.items()} == {
        "listen": [1000], "parent": [1000], "parents": [1000, 1001], "collection": [1000],
        "signal": [1000], "zombie": [1000], "init": [1000, 1001]}
    assert all(946684800 <= now < 946684800 + 60 for _, _, now in seen.values())
