"""A default argument that took a process call when its function was defined, before
the test's session (py's ``ForkedFunc.waitfinish(self, waiter=os.waitpid)``, which
pytest-forked imports at its start), calls the session's: natively it waits for the
test's child; with the real call, a child of the host was ECHILD (pytest-forked's suite
under ``--forked --simproc`` failed 7).
"""
from __future__ import annotations

import pytest

from .test_dropin import MODES

pytest_plugins = ["pytester"]

INNER = """
import os
import subprocess

from dropin_helpers import observed


def reap(pid, waiter=os.waitpid):
    return waiter(pid, 0)


class Child:
    def __init__(self):
        self.pid = os.fork()
        if self.pid == 0:
            os._exit(7)

    def wait(self, waiter=os.waitpid):
        return waiter(self.pid, 0)


def test_a_method_default_waits_for_a_forked_child():
    child = Child()
    _, status = child.wait()
    assert os.waitstatus_to_exitcode(status) == 7
    observed("forked", [child.pid])


def test_a_function_default_waits_for_a_program():
    p = subprocess.Popen(["sh", "-c", "exit 5"])
    _, status = reap(p.pid)
    assert os.waitstatus_to_exitcode(status) == 5
    observed("program", [p.pid])
"""


@pytest.mark.parametrize("args", MODES)
def test_a_default_argument_taken_before_the_session_is_the_sessions(observe, args):
    seen = observe(INNER, args, passed=2)
    if args:  # the simulated host: its pids and its clock
        for (pid,), _, when in seen.values():
            assert pid >= 1000
            assert 946684800 <= when < 946684800 + 60
