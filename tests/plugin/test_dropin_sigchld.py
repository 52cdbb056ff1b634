"""Drop-in mode: a test that ignores SIGCHLD leaves its children nothing to wait for.

With SIGCHLD's disposition SIG_IGN the kernel reaps a child as it ends (wait(2)
NOTES): a wait blocks until the child ended and then fails with ECHILD, and
``Popen.wait`` reports 0 (CPython's answer to ECHILD); trio's suite checks exactly
this. The inner suite does it with plain ``signal``, ``subprocess`` and ``os``; it
passes natively and under ``--simproc``, where the pids are the host's and the waits
end at the programs' virtual ends.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = r'''
import os
import signal
import subprocess
import time

import pytest
from dropin_helpers import observed


@pytest.fixture
def sigchld_ignored():
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGCHLD, old)


def test_popen_wait_says_0_for_a_killed_child(sigchld_ignored):
    p = subprocess.Popen(["sleep", "3600"])
    p.kill()
    assert p.wait() == 0  # the status is gone with the child
    observed("popen", [p.pid])


def test_waitpid_waits_for_the_end_then_fails(sigchld_ignored):
    t0 = time.monotonic()
    p = subprocess.Popen(["sleep", "1"])
    with pytest.raises(ChildProcessError):
        os.waitpid(p.pid, 0)
    elapsed = time.monotonic() - t0
    assert elapsed >= 1
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left
    observed("waitpid", [p.pid], elapsed)
'''


def test_ignored_sigchld_natively(observe):
    seen = observe(INNER, [], passed=2)
    assert all(1000 not in pids for pids, _, _ in seen.values())


def test_ignored_sigchld_under_simproc(observe, virtual):
    seen = observe(INNER, ["--simproc"], passed=2)
    assert virtual(seen) == {
        "popen": ([1000], []), "waitpid": ([1000], [1.0])}


# a SIGCHLD handler and a signal wake-up fd, as asyncio's child watchers and uvloop set
# them: one signal for a child's end
HANDLED = r'''
import signal
import socket
import subprocess
import sys

from dropin_helpers import observed


def test_one_sigchld_for_a_childs_end():
    seen = []
    old = signal.signal(signal.SIGCHLD, lambda signum, frame: seen.append(signum))
    r, w = socket.socketpair()
    r.setblocking(False)
    w.setblocking(False)
    old_fd = signal.set_wakeup_fd(w.fileno())
    try:
        p = subprocess.Popen([sys.executable, "-c", "import json, asyncio"])
        assert p.wait() == 0
        woken = len(r.recv(1 << 16))
    finally:
        signal.set_wakeup_fd(old_fd)
        signal.signal(signal.SIGCHLD, old)
        r.close()
        w.close()
    assert woken == 1 and seen == [signal.SIGCHLD]
    observed("handled", [p.pid])
'''


def test_a_sigchld_handler_sees_a_childs_end(observe, virtual):
    """The test process is its programs' tracer: under --simproc it got a SIGCHLD for
    every ptrace stop of the program (hundreds of bytes on the wake-up fd, which
    overflows asyncio's and prints "Exception ignored when trying to write to the
    signal wakeup fd"). Now one, for its end, as natively."""
    assert observe(HANDLED, [], passed=1)["handled"][0] != [1000]
    assert virtual(observe(HANDLED, ["--simproc"], passed=1)) == {"handled": ([1000], [])}
