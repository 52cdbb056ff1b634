"""Shared stubs for the assertion tests: a host and processes that expose just what the
helpers read (pid, argv, name, state, exit_status, reaped_by, ppid, _host, strace())."""
from __future__ import annotations

import faulthandler

import pytest

from pytest_simproc.assertions import Strace
from pytest_simproc.kernel.states import Exited

REAL_TIME_LIMIT = 120


@pytest.fixture(autouse=True)
def _hang_guard():
    faulthandler.dump_traceback_later(REAL_TIME_LIMIT, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


class FakeHost:
    def __init__(self, tree="1 init", strace_mode="deterministic", hostname="simhost"):
        self._tree = tree
        self.strace_mode = strace_mode
        self.hostname = hostname
        self.procs: dict[int, "FakeProc"] = {}

    def tree(self):
        return self._tree

    def process(self, pid):
        if pid == 1 or pid not in self.procs:
            raise LookupError(f"no process {pid}")
        return self.procs[pid]

    def zombies(self):
        return [p for p in self.procs.values() if p.state == "zombie"]


class FakeProc:
    def __init__(self, host, pid, argv, *, state="reaped", exit_status=Exited(0),
                 reaped_by=1, ppid=1, lines=(), deterministic=True):
        self._host = host
        self.pid, self.argv, self.state = pid, list(argv), state
        self.exit_status, self.reaped_by, self.ppid = exit_status, reaped_by, ppid
        self.lines, self.deterministic = list(lines), deterministic
        host.procs[pid] = self

    @property
    def name(self):
        return f"{self._host.hostname}.{self.argv[0].rsplit('/', 1)[-1]}.{self.pid}"

    def strace(self):
        return Strace(self.lines, deterministic=self.deterministic)


@pytest.fixture
def fake_host():
    return FakeHost


@pytest.fixture
def fake_proc():
    return FakeProc
