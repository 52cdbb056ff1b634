"""A library's ``os.register_at_fork`` hooks run where they run natively, and only there.

filelock registers a before-fork hook that waits until no thread of the process is in
the middle of changing descriptor ownership. Its tests start a "spawn" Process while
an executor thread sits in such a change, waiting for the test: natively that start
runs no hook (_posixsubprocess forks and execs in C), but under --simproc the spawn
child was forked with os.fork to join the host, which ran every hook: the before-hook
waited for the executor thread, the thread for the test, and the test for the start
(test_async_read_write_cancellation hung). Natively a Popen runs the hooks only for a
preexec_fn, os.posix_spawn never, os.fork always; the inner suite's hooks note which
ran, in the parent and in the child, and its children tell their pids and clocks.
"""
from __future__ import annotations

import pytest

from .test_dropin import MODES

pytest_plugins = ["pytester"]

INNER = """
import json
import multiprocessing
import os
import subprocess
import sys
import time

import pytest

from dropin_helpers import observed

RAN = []
MARK = []  # where a child's hook writes


def _child_hook():
    if MARK:
        with open(MARK[0], "a") as f:
            f.write("child")


os.register_at_fork(before=lambda: RAN.append("before"),
                    after_in_parent=lambda: RAN.append("parent"),
                    after_in_child=_child_hook)

REPORT = "import json, os, time; print(json.dumps([os.getpid(), time.time()]))"


@pytest.fixture
def hooks(tmp_path):
    RAN.clear()
    MARK[:] = [str(tmp_path / "mark")]
    yield lambda: (list(RAN), (tmp_path / "mark").read_text()
                   if (tmp_path / "mark").exists() else "")
    MARK.clear()


def identity(path):
    with open(path, "w") as f:
        json.dump([os.getpid(), time.time()], f)


def test_spawn_process(hooks, tmp_path):
    p = multiprocessing.get_context("spawn").Process(
        target=identity, args=(str(tmp_path / "id"),))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert hooks() == ([], "")
    pid, when = json.loads((tmp_path / "id").read_text())
    observed("spawn", [pid], when)


def test_popen_pass_fds(hooks):
    r, w = os.pipe()
    try:
        out = subprocess.run([sys.executable, "-c", REPORT], pass_fds=(w,),
                             stdout=subprocess.PIPE, check=True).stdout
    finally:
        os.close(r)
        os.close(w)
    assert hooks() == ([], "")
    pid, when = json.loads(out)
    observed("pass_fds", [pid], when)


def test_posix_spawn(hooks):
    r, w = os.pipe()
    pid = os.posix_spawn(sys.executable, [sys.executable, "-c", REPORT], os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, w, 1)])
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    assert os.waitpid(pid, 0)[1] == 0
    assert hooks() == ([], "")
    child, when = json.loads(out)
    assert child == pid
    observed("posix_spawn", [pid], when)


def test_popen_preexec_fn(hooks):
    out = subprocess.run([sys.executable, "-c", REPORT], preexec_fn=lambda: None,
                         stdout=subprocess.PIPE, check=True).stdout
    assert hooks() == (["before", "parent"], "child")
    pid, when = json.loads(out)
    observed("preexec_fn", [pid], when)


def test_fork(hooks):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert hooks() == (["before", "parent"], "child")
    observed("fork", [pid], 0)
"""


@pytest.mark.parametrize("args", MODES)
def test_fork_hooks_run_as_natively(observe, args):
    seen = observe(INNER, args, passed=5)
    if args:  # the children were the host's, at its time
        for name, (pids, elapsed, _) in seen.items():
            assert all(pid >= 1000 for pid in pids), (name, pids)
            if name != "fork":
                assert 946684800 <= elapsed[0] < 946684800 + 60, (name, elapsed)
