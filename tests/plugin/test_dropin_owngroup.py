"""Drop-in mode: the test's own group and session are its host's group 1 (issue 13).

The test is a child of the host's init in its group and session 1: its programs have
the test as parent and, unless started in a new session or group, group and session 1. Natively they share the test's
group and session, and suites compare them (sh's test_new_session_new_group) or signal
their own group. The inner suite does both the plain way; it runs in a session of its
own (its kill(0) must reach nothing outside it natively) and passes natively and under
``--simproc``.
"""
from __future__ import annotations

import os
import signal
import subprocess

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import json
import os
import signal
import subprocess
import sys

CHILD = "import os, time; print(os.getpid(), os.getpgid(0), os.getsid(0), flush=True); time.sleep(30)"


def test_the_tests_group_is_its_childrens_and_a_signal_to_it_reaches_both():
    got = []
    old = signal.signal(signal.SIGUSR1, lambda *args: got.append(args[0]))
    try:
        child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE)
        apart = subprocess.Popen(["sleep", "30"], start_new_session=True)
        pid, pgid, sid = map(int, child.stdout.readline().split())
        assert pid == child.pid
        mine = [os.getpgrp(), os.getpgid(0), os.getpgid(os.getpid()),
                os.getsid(0), os.getsid(os.getpid())]
        assert mine == [pgid] * 3 + [sid] * 2
        assert os.getpgid(apart.pid) == apart.pid != pgid
        os.killpg(os.getpgrp(), 0)  # it exists
        os.kill(0, signal.SIGUSR1)  # the test's group: the child and the test itself
        assert child.wait() == -signal.SIGUSR1
        assert got == [signal.SIGUSR1]
        assert apart.poll() is None
        os.killpg(pgid, signal.SIGUSR1)  # the test alone now
        assert got == [signal.SIGUSR1] * 2
        apart.kill()
        apart.wait()
        print("OBSERVED", json.dumps(["group", [pid, pgid, sid]]), flush=True)
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_ids_read_before_the_first_spawn_are_the_childrens():
    # anyio's test_process_new_session_sid: the test's session id, read first
    sid, pgid = os.getsid(os.getpid()), os.getpgrp()
    cmd = [sys.executable, "-c", "import os; print(os.getpid(), os.getsid(0), os.getpgrp())"]
    pid, child_sid, child_pgid = map(int, subprocess.run(cmd, capture_output=True,
                                                         check=True).stdout.split())
    assert (child_sid, child_pgid) == (sid, pgid)
    apart = subprocess.run(cmd, capture_output=True, check=True, start_new_session=True)
    assert int(apart.stdout.split()[1]) != sid
    assert (os.getsid(0), os.getpgid(0)) == (sid, pgid)  # the same after the spawns
    print("OBSERVED", json.dumps(["early", [pid, pgid, sid]]), flush=True)
"""


# the inner suite runs in a session of its own: its kill(0) reaches nothing outside it
OWN_SESSION = """
import os

def pytest_configure(config):
    os.setsid()
"""


def _ids(observed, *args) -> dict:
    """What the inner suite's two tests saw: name -> [pid, pgid, sid] of a child."""
    return dict(observed({"conftest": OWN_SESSION, "test_inner": INNER}, list(args),
                         passed=2))


def test_natively_the_tests_children_share_its_group(observed):
    pid, pgid, sid = _ids(observed)["group"]
    assert pgid != 1 and sid != 1 and pid > 1


def test_under_simproc_the_test_is_in_the_hosts_group_1(observed):
    """And the host is made at the first spawn; ids read before it are the same 1 as
    after (they were the machine's, which no child in the host has)."""
    seen = _ids(observed, "--simproc")
    for name in ("group", "early"):
        pid, pgid, sid = seen[name]
        assert (pgid, sid) == (1, 1)
        assert 1000 <= pid < 1100


def test_kill_of_everyone_reaches_every_host_process_and_not_the_test():
    """kill(2): -1 is every process but init and the caller, the test;
    nothing of it reaches the machine's processes. SIGURG (ignored by default) keeps a
    regression that let it through harmless."""
    from pytest_simproc.dropin import DropinSession
    got = []
    old = signal.signal(signal.SIGURG, lambda *args: got.append(args[0]))
    trap = "trap 'exit 3' URG; while :; do sleep 1; done"
    before = os.getpgrp()
    try:
        with DropinSession() as session:
            # no host yet: the test is in group 1 already, alone; -1 names
            # nobody, and neither reaches the machine's
            assert os.getpgrp() == os.getpgid(0) == os.getsid(0) == 1 != before
            with pytest.raises(ProcessLookupError):
                os.kill(-1, signal.SIGURG)
            os.killpg(1, signal.SIGURG)
            os.kill(0, signal.SIGURG)
            assert got == [signal.SIGURG] * 2 and session._host is None
            del got[:]
            grouped = subprocess.Popen(["sh", "-c", trap])
            apart = subprocess.Popen(["sh", "-c", trap], start_new_session=True)
            session.sleep(0.5)
            assert os.getpgrp() == 1
            os.kill(-1, 0)
            os.kill(-1, signal.SIGURG)
            assert grouped.wait(5) == 3 and apart.wait(5) == 3
            assert got == []
            with pytest.raises(ProcessLookupError):
                os.kill(-1, 0)  # nobody left but the test
            os.kill(0, 0)  # the test's group: the test is still in it
        assert os.getpgrp() == before
    finally:
        signal.signal(signal.SIGURG, old)
