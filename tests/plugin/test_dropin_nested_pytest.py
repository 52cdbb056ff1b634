"""A pytest run inside a drop-in test (``pytester.runpytest``, in-process) leaves the
test's host in place, even when it was carried over from an earlier test.

libtmux's plugin fixtures keep a tmux server of a session-scoped fixture, and their
doctests run an example suite with ``pytester.runpytest()`` in the same process. Under
``--simproc`` the first doctest's host was carried to the next (a wider fixture holds
its programs); in the next one, the nested run's own setup took the carried host for
one "between two tests" and set it aside, though the outer test was using it: the
outer test's later programs were native and its tmux client waited for ever on a
server of the host that no longer ran.

The inner suite is written that way, with no simproc API: a session-scoped program
(carried from test to test), then a test that runs a nested pytest in-process and
starts a program after it.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import json
import os
import subprocess
import sys
import time

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def daemon():
    proc = subprocess.Popen(["cat"], stdin=subprocess.PIPE)
    yield proc
    proc.stdin.close()
    proc.wait()


def parent_of_a_program():
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getppid())"],
                              capture_output=True, text=True, timeout=60).stdout)


def test_first(daemon):
    assert daemon.poll() is None


def test_a_nested_run(daemon, pytester):
    pytester.makepyfile(test_example="def test_example():\n    assert True\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    parent = parent_of_a_program()
    assert daemon.poll() is None
    print("OBSERVED", json.dumps([daemon.pid, parent, os.getpid(), time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_a_nested_pytest_keeps_the_carried_host(observed, args):
    [(daemon, parent, me, now)] = observed(INNER, args, passed=2, timeout=90)
    assert parent == me   # as natively: the program is the test's child
    if args:
        # the program after the nested run started in the test's (carried) host
        assert daemon >= 1000 and HOST_EPOCH <= now < HOST_EPOCH + 60
