"""A child the test forks signals itself by its own pid, as pytest-forked's own tests'
children do (``os.kill(os.getpid(), 15)``). Under ``--simproc`` the child is a program
of the test's host and its pid is the host's; the record of earlier hosts' pids that
it inherited from the test (gonepids) said that pid was gone: ESRCH, in every test
after the first that ran a program.
"""
from __future__ import annotations

import pytest

from .test_dropin import MODES

pytest_plugins = ["pytester"]

INNER = """
import os
import signal
import subprocess

from dropin_helpers import observed


def test_an_earlier_test_runs_a_program():
    subprocess.run(["true"], check=True)
    observed("earlier", [])


def test_a_forked_child_signals_itself():
    pid = os.fork()
    if pid == 0:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            signal.pause()
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status), status
    assert os.WTERMSIG(status) == signal.SIGTERM
    observed("child", [pid])
"""


@pytest.mark.parametrize("args", MODES)
def test_a_forked_child_signals_itself_by_its_pid(observe, args):
    seen = observe(INNER, args, passed=2)
    (pid,), _, when = seen["child"]
    if args:  # the simulated host: its pids and its clock
        assert pid >= 1000
        assert 946684800 <= when < 946684800 + 60


CLOCKS = """
import os
import time

from dropin_helpers import observed


def test_a_forked_child_reads_the_clocks():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            now = time.localtime()
            os.write(w, f"{time.time_ns()} {time.time()} {now.tm_year} {now.tm_hour}".encode())
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    ns, seconds, year, hour = os.read(r, 200).split()
    mine = time.time()
    assert abs(int(ns) / 1e9 - mine) < 60 and abs(float(seconds) - mine) < 60
    assert (int(year), int(hour)) == (time.localtime(mine).tm_year,
                                      time.localtime(mine).tm_hour)
    observed("clocks", [pid])
"""


@pytest.mark.parametrize("args", MODES)
def test_a_forked_childs_clocks_are_its_parents(observe, args):
    """A forked child's time.time_ns() and time.localtime() read the host's clock, as
    its time.time() did: freezegun's fakes, called by the session's, took the session's
    module for the reader and gave it the machine's clock (2026 beside the host's 2000)."""
    seen = observe(CLOCKS, args, passed=1)
    (pid,), _, when = seen["clocks"]
    if args:
        assert pid >= 1000
        assert 946684800 <= when < 946684800 + 60
