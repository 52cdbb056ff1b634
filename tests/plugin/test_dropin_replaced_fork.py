"""Drop-in mode and a test that replaces a piece of Popen's fork, as CPython's own
test_subprocess and test_asyncio do: ``mock.patch("subprocess._fork_exec")``,
``mock.patch.object(subprocess.Popen, "_execute_child")``, a subclass of Popen whose
``_execute_child`` raises, ``mock.patch("subprocess.Popen")`` under asyncio's
``create_subprocess_exec``. Natively the replacement is what runs: its error reaches
the test, no program starts. The inner suite passes natively and under ``--simproc``,
where the programs it does start are the host's (pids from 1000, virtual waits) and
``repr`` of a Popen is still ``<Popen: ...>``.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = """
import asyncio
import json
import os
import subprocess
import sys
import time
from unittest import mock

import pytest


def observed(name, pids, elapsed):
    print("OBSERVED", json.dumps([name, pids, round(elapsed, 2)]))


class Refused(Exception):
    pass


class RefusingPopen(subprocess.Popen):   # at import: the real Popen's subclass
    def _execute_child(self, *args, **kwargs):
        raise Refused("no fork today")


def test_a_mocked_fork_exec_is_what_popen_calls():
    with mock.patch("subprocess._fork_exec", side_effect=RuntimeError("no fork")):
        with pytest.raises(RuntimeError, match="no fork"):
            subprocess.Popen(["true"])
    t0 = time.time()
    p = subprocess.Popen(["sleep", "1"])
    assert p.wait() == 0
    observed("fork_exec", [p.pid], time.time() - t0)


def test_a_subclass_whose_execute_child_raises_closes_its_pipes():
    before = sorted(os.listdir("/proc/self/fd"))
    with pytest.raises(Refused):
        RefusingPopen(["true"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE)
    assert sorted(os.listdir("/proc/self/fd")) == before


def test_a_mocked_execute_child_and_repr():
    with mock.patch.object(subprocess.Popen, "_execute_child"):
        p = subprocess.Popen(["ls", "-l"])
        p.returncode = 7
        assert repr(p) == "<Popen: returncode: 7 args: ['ls', '-l']>"
    t0 = time.time()
    q = subprocess.Popen("sleep 2; exit 3", shell=True)
    assert q.wait() == 3
    assert repr(q) == "<Popen: returncode: 3 args: 'sleep 2; exit 3'>"
    observed("execute_child", [q.pid], time.time() - t0)


def test_asyncio_calls_the_mocked_popen():
    async def start():
        return await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")

    with mock.patch("subprocess.Popen", side_effect=ZeroDivisionError):
        with pytest.raises(ZeroDivisionError):
            asyncio.run(start())

    async def sleeper():
        proc = await asyncio.create_subprocess_exec("sleep", "1")
        return proc.pid, await proc.wait()

    t0 = time.time()
    pid, code = asyncio.run(sleeper())
    assert code == 0
    observed("asyncio", [pid], time.time() - t0)
"""


def _seen(observed, args) -> dict:
    return {name: (pids, elapsed)
            for name, pids, elapsed in observed(INNER, args, passed=4)}


def test_natively(observed):
    seen = _seen(observed, [])
    assert seen["fork_exec"][1] >= 1.0 and seen["execute_child"][1] >= 2.0


def test_under_simproc_the_replacement_runs_and_the_programs_are_the_hosts(observed):
    # the first program of each test is pid 1000: the replaced forks started none
    assert _seen(observed, ["--simproc"]) == {
        "fork_exec": ([1000], 1.0), "execute_child": ([1000], 2.0),
        "asyncio": ([1000], 1.0)}
