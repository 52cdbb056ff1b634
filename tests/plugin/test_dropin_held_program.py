"""Drop-in mode: a program one test starts and an object of the suite keeps for later tests.

ipykernel's tests share one kernel, started by the first test that needs it and kept
in a module global of the suite's helpers (shut down at exit); GitPython's Repo keeps
the ``git cat-file --batch`` of its first read. Under ``--simproc`` the host of the test
that started the program closed at its end and killed it: every later ipykernel test
met a dead kernel and hit its 30 s limit. Natively the program lives on, and now the
host does too, carried to the next tests while the Popen naming it lives. The inner
suite is written as real suites are (no simproc API) and passes natively and under
``--simproc``; under ``--simproc`` the program is the host's.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = '''
import atexit
import subprocess
import sys
import time

import pytest
from dropin_helpers import observed

ECHO = [sys.executable, "-u", "-c",
        "import os, sys\\nfor line in sys.stdin: print(os.getpid(), line.strip())"]
_server = None


def shared_server():
    """The run's one echo server, started on first use (ipykernel's start_global_kernel)."""
    global _server
    if _server is None:
        _server = subprocess.Popen(ECHO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True)
        atexit.register(_server.kill)
    return _server


def ask(server, word):
    server.stdin.write(word + "\\n")
    server.stdin.flush()
    pid, echoed = server.stdout.readline().split()
    return int(pid), echoed


@pytest.mark.parametrize("word", ["one", "two", "three"])
def test_the_shared_server_answers(word):
    t0 = time.monotonic()
    server = shared_server()
    pid, echoed = ask(server, word)
    assert echoed == word and pid == server.pid
    assert server.poll() is None
    observed(word, [pid], time.monotonic() - t0)


def test_a_program_of_its_own():
    pid = int(subprocess.check_output(["sh", "-c", "echo $$"]))
    observed("own", [pid])
'''


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_a_program_kept_by_the_suite_lives_on_into_later_tests(observe, args):
    seen = observe(INNER, ["--timeout", "60", *args], passed=4)
    pids = {name: pids[0] for name, (pids, _, _) in seen.items()}
    assert pids["one"] == pids["two"] == pids["three"] != pids["own"], seen
    if args:  # the host's programs, its clock
        assert all(pid >= 1000 for pid in pids.values()), seen
        assert all(946684800 <= now < 946684800 + 60 for _, _, now in seen.values())
