"""Drop-in mode: a program's signal for the test process, and the test as pid 1.

The test keeps its own pid (dropin/identity.py), in its host a process the host does
not run. Its programs signal it as natively: ``kill(0, sig)`` from a child it started
(its group is the test's), ``kill(getppid(), sig)``; a stop signal it handles or
ignores reaches it too (a handled stop signal does not stop, signal(7)). Pytest run as
pid 1 of a pid namespace (a container's init) is its host's init: its programs' parent
is 1. Each inner suite is written as real suites write it (os, signal, subprocess,
psutil) and passes natively and under ``--simproc``, where it shows it ran in the host
(its programs from 1000, virtual time).
"""
from __future__ import annotations

import functools
import shutil
import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

SIGNALS = """
import os
import signal
import subprocess
import sys

from dropin_helpers import observed, until


def handled(sig):
    got = []
    signal.signal(sig, lambda *_: got.append(sig))
    return got


def test_a_child_signals_its_group():
    got = handled(signal.SIGUSR1)
    p = subprocess.Popen(["sh", "-c", "trap '' USR1; kill -USR1 0; echo sent"],
                         stdout=subprocess.PIPE, text=True)
    assert p.communicate()[0] == "sent\\n" and p.returncode == 0
    until(lambda: got)
    assert got == [signal.SIGUSR1]
    observed("group", [os.getpid(), p.pid])


def test_a_python_child_signals_its_parent():
    got = handled(signal.SIGUSR2)
    p = subprocess.Popen([sys.executable, "-c",
                          "import os, signal; os.kill(os.getppid(), signal.SIGUSR2)"])
    assert p.wait() == 0
    until(lambda: got)
    assert got == [signal.SIGUSR2]
    observed("parent", [os.getpid(), p.pid])


def test_a_handled_stop_signal_does_not_stop():
    # a job-control shell's pattern: SIGTSTP handled (clean up, then stop or not)
    got = handled(signal.SIGTSTP)
    ignored = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        p = subprocess.Popen(["sh", "-c", "kill -TTOU $PPID; kill -TSTP $PPID"])
        assert p.wait() == 0
        until(lambda: got)
    finally:
        signal.signal(signal.SIGTTOU, ignored)
    assert got == [signal.SIGTSTP]
    observed("stop", [os.getpid(), p.pid])
"""


@pytest.fixture
def popen_with(pytester, monkeypatch):
    """``popen_with(*prefix, **popen_kw)``: the inner pytest starts as ``prefix +
    its command``, with these Popen arguments."""
    def wrap(*prefix, **kw):
        real = pytester.popen

        def popen(cmdargs, *args, **more):
            return real([*prefix, *cmdargs], *args, **more, **kw)
        monkeypatch.setattr(pytester, "popen", popen)
    return wrap


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_a_program_signals_the_test(observe, popen_with, args):
    # its own session: natively kill(0) reaches the inner pytest's group, not ours
    popen_with(start_new_session=True)
    seen = observe(SIGNALS, args, passed=3)
    mine = {pids[0] for pids, _, _ in seen.values()}
    assert len(mine) == 1 and mine != {1}
    if args:
        assert {name: pids[1:] for name, (pids, _, _) in seen.items()} == {
            "group": [1000], "parent": [1000], "stop": [1000]}
        assert all(946684800 <= now < 946684800 + 60 for _, _, now in seen.values())


PID_ONE = """
import os
import signal
import subprocess

import psutil
from dropin_helpers import observed, until


def test_i_am_init():
    assert os.getpid() == 1 and os.getppid() == 0
    p = subprocess.Popen(["sh", "-c", "echo $PPID"], stdout=subprocess.PIPE, text=True)
    assert int(p.communicate()[0]) == 1
    assert not psutil.pid_exists(p.pid)   # waited for: reaped
    observed("init", [os.getpid(), p.pid])


def daemon():
    # a daemon's double fork: its parent ends, init (this process) adopts it
    p = subprocess.Popen(["sh", "-c", "sleep 30 & echo $!"], stdout=subprocess.PIPE,
                         text=True)
    orphan = int(p.stdout.readline())
    assert p.wait() == 0
    p.stdout.close()
    until(lambda: psutil.Process(orphan).ppid() == 1)
    return p, orphan


def test_an_orphan_is_adopted():
    p, orphan = daemon()
    os.kill(orphan, signal.SIGTERM)
    until(lambda: not psutil.pid_exists(orphan)
          or psutil.Process(orphan).status() == psutil.STATUS_ZOMBIE)
    observed("orphan", [os.getpid(), p.pid, orphan])


def test_i_reap_an_orphan():
    p, orphan = daemon()
    os.kill(orphan, signal.SIGTERM)
    assert os.waitpid(orphan, 0) == (orphan, signal.SIGTERM)
    assert not psutil.pid_exists(orphan)
    observed("reaped", [os.getpid(), p.pid, orphan])
"""

def _unshare_refused() -> str:
    if shutil.which("unshare") is None:
        return "no unshare(1)"
    try:
        done = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"],
                              capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "unshare --pid did not end"
    if done.returncode:
        return f"a pid namespace is not permitted here: {done.stderr.decode().strip()}"
    return ""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_pytest_as_pid_one(observe, popen_with, args):
    refused = _unshare_refused()
    if refused:
        pytest.skip(refused)
    popen_with("unshare", "--pid", "--fork", "--mount-proc")
    seen = observe(PID_ONE, args, passed=3)
    assert {pids[0] for pids, _, _ in seen.values()} == {1}
    if args:
        assert {name: pids[1:] for name, (pids, _, _) in seen.items()} == {
            "init": [1000], "orphan": [1000, 1001], "reaped": [1000, 1001]}
        assert all(946684800 <= now < 946684800 + 60 for _, _, now in seen.values())
