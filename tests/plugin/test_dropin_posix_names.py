"""Drop-in mode: the process calls a suite reaches other than through ``os``'s names.

CPython's own tests call the ``posix`` module (``posix.waitid``, ``posix.posix_spawn``),
keep a builtin as a class attribute taken when the class was made
(``spawn_func = getattr(posix, 'posix_spawn')``, called as ``self.spawn_func(...)``),
expect posix_spawn's bad arguments to raise in the caller before any child exists, and
hold every Python function of ``signal`` to ``__module__ == "signal"``. The inner suite
does each the way those tests do, no simproc API; it passes natively and under
``--simproc``, where its children must be the host's (pids from 1000) and its waits
virtual.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = """
import inspect
import json
import os
import pickle
import posix
import signal
import sys
import time

import pytest


def observed(name, pids, elapsed):
    print("OBSERVED", json.dumps([name, pids, round(elapsed, 2)]))


def wait_process(pid):
    # regrtest's support.wait_process: WNOHANG and short sleeps
    for _ in range(3000):
        got, status = posix.waitpid(pid, os.WNOHANG)
        if got:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    raise AssertionError(f"process {pid} is still running")


class TestSpawn:
    spawn_func = getattr(posix, "posix_spawn")   # the builtin, taken at import

    def test_spawn_through_a_class_attribute(self):
        t0 = time.time()
        pid = self.spawn_func("/bin/sh", ["sh", "-c", "sleep 1; exit 3"], os.environ,
                              setpgroup=os.getpgrp())
        assert wait_process(pid) == 3
        observed("class_attribute", [pid], time.time() - t0)


def test_posix_waitid_of_a_forked_child():
    t0 = time.time()
    pid = os.fork()
    if pid == 0:
        posix.execv("/bin/sh", ["sh", "-c", "sleep 2; exit 5"])
    info = posix.waitid(posix.P_PID, pid, posix.WEXITED)
    assert (info.si_pid, info.si_code, info.si_status) == (pid, os.CLD_EXITED, 5)
    observed("waitid", [pid], time.time() - t0)


@pytest.mark.parametrize("bad, error", [
    ({"file_actions": [None]}, TypeError),
    ({"file_actions": [()]}, TypeError),
    ({"file_actions": [(12345,)]}, TypeError),
    ({"file_actions": [(os.POSIX_SPAWN_CLOSE,)]}, TypeError),
    ({"file_actions": [(os.POSIX_SPAWN_CLOSE, 1, 2)]}, TypeError),
    ({"file_actions": [(os.POSIX_SPAWN_CLOSE, None)]}, TypeError),
    ({"file_actions": [(os.POSIX_SPAWN_OPEN, 3, "x\\0", os.O_RDONLY, 0)]}, ValueError),
    ({"setpgroup": "023"}, TypeError),
    ({"resetids": None}, TypeError),
    ({"setsigmask": 34}, TypeError),
    ({"setsigmask": ["j"]}, TypeError),
    ({"setsigmask": [signal.NSIG]}, ValueError),
    ({"setsigdef": [0]}, ValueError),
])
def test_bad_arguments_raise_before_any_child(bad, error):
    with pytest.raises(error):
        os.posix_spawn(sys.executable, [sys.executable, "-c", "pass"], os.environ,
                          **bad)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)   # nothing was started


def test_functions_name_their_module():
    for module in (os, signal):
        for name in (n for n in dir(module) if not n.startswith("_")):
            value = getattr(module, name)
            if inspect.isroutine(value) and not inspect.isbuiltin(value):
                assert value.__module__ == module.__name__, name
    for function in (os.kill, os.waitpid, signal.pidfd_send_signal):
        assert pickle.loads(pickle.dumps(function)) is function
"""


def _seen(observed, args) -> dict:
    return {name: (pids, elapsed)
            for name, pids, elapsed in observed(INNER, args, passed=16)}


def test_natively(observed):
    seen = _seen(observed, [])
    assert seen["class_attribute"][1] >= 1.0 and seen["waitid"][1] >= 2.0


def test_under_simproc_the_children_are_the_hosts(observed):
    # virtual waits to the 10 ms: a shell's `sleep` starts after its fork and exec,
    # and the first look after it ended is the next 10 ms sleep's
    assert _seen(observed, ["--simproc"]) == {
        "class_attribute": ([1000], 1.01), "waitid": ([1000], 2.0)}
