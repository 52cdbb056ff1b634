"""Drop-in mode: a program's signal for the test process.

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
