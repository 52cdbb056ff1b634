"""Shared helpers for the robustness tests: native process liveness (pid-reuse safe),
the test process's children, and building the C programs in ``programs/``."""
from __future__ import annotations

import faulthandler
import os
import time
from pathlib import Path

import pytest

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"
# A stuck host must not hang the whole run: dump every thread's stack and exit.
# Module-scoped, so that hypothesis tests see no function-scoped fixture.
REAL_TIME_LIMIT = 300


@pytest.fixture(autouse=True, scope="module")
def _hang_guard():
    faulthandler.dump_traceback_later(REAL_TIME_LIMIT, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of ``pid`` from /proc/PID/stat, or None
    when there is no such process (proc(5): state is field 3, starttime field 22)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = data.rsplit(")", 1)[1].split()
    return fields[0], int(fields[19])


def reap_if_ours(pid: int) -> None:
    """A zombie reparented to this process (a child subreaper) is ours to reap."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def is_alive(pid: int, start: int) -> bool:
    """True while the process that had ``pid`` and ``start`` runs. A zombie counts as
    gone (and is reaped when it is our child); a pid reused by another process too."""
    st = proc_stat(pid)
    if st is None or st[1] != start:
        return False
    if st[0] in ("Z", "X", "x"):
        reap_if_ours(pid)
        return False
    return True


def wait_gone(records, timeout: float = 10.0) -> list:
    """Poll until none of ``records`` ({"native", "start", ...}) is alive; return the
    ones still alive after ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [r for r in records if is_alive(r["native"], r["start"])]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)


def children() -> set[int]:
    """Native pids of this process's children, over all its threads (proc(5))."""
    kids: set[int] = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/children") as f:
                kids.update(int(x) for x in f.read().split())
        except FileNotFoundError:
            pass
    return kids


@pytest.fixture
def no_new_children():
    """Fails the test if it leaves a child process of the test process behind."""
    before = children()
    yield
    deadline = time.monotonic() + 5
    while True:
        extra = children() - before
        for pid in list(extra):
            st = proc_stat(pid)
            if st is None or st[0] == "Z":
                reap_if_ours(pid)
        extra = {p for p in children() - before if proc_stat(p) is not None}
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not extra, f"processes left behind: {sorted(extra)}"


@pytest.fixture(scope="session")
def build(c_programs):
    """``build("escape")`` -> path of tests/robustness/programs/escape.c compiled once."""
    return c_programs(PROGRAMS_DIR, "robustness-programs")


CLEAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "HOME": "/"}
