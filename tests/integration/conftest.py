"""Fixtures for the integration tests: build the C programs in tests/programs, run them
natively, and shared checkers.

Every integration test has a *native* half (the program run directly, which validates
the program and the expected output) and an *in-host* half (the same program in a
``pytest_simproc.SimHost``, which must give the documented, exact answers).
"""
from __future__ import annotations

import faulthandler
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PROGRAMS_DIR = Path(__file__).resolve().parent.parent / "programs"
REPO_ROOT = Path(__file__).resolve().parents[2]
START = 946684800  # 2000-01-01T00:00:00Z, the default SimHost start_time


def later_by_startups(now: float, expected: float, startups: int) -> bool:
    """``now`` is ``expected`` plus the start-up of ``startups`` programs a host's
    process forked and exec'd (README "The CPU model"): at least their execs' (whether
    a fork's charge to the parent comes before the child's start depends on where the
    schedule's switches fall, which the number of calls moves: a shell's calls differ
    with its environment), give or take the calls made between them (under 2 ms)."""
    from pytest_simproc.kernel.rusage import EXEC_SYSTEM_NS, EXEC_USER_NS, FORK_SYSTEM_NS
    execs = startups * (EXEC_SYSTEM_NS + EXEC_USER_NS) / 1e9
    forks = startups * FORK_SYSTEM_NS / 1e9
    return -1e-6 < now - expected - execs < forks + 2e-3
EXTRA_FLAGS = {"pthread": ["-pthread"], "shared_futex": ["-pthread"], "leader_exit": ["-pthread"],
               "procfs": ["-pthread"], "join_main": ["-pthread"], "sig_queue_thread": ["-pthread"],
               "cpu_spin": ["-pthread"], "timer_thread": ["-pthread"],
               "futex_waitv": ["-pthread"], "boot_clocks": ["-pthread"],
               "pid_targets": ["-pthread"], "clock_set_futex": ["-pthread"]}
# A stuck host must not hang the whole run: dump every thread's stack and exit.
REAL_TIME_LIMIT = 180


@pytest.fixture(autouse=True)
def _hang_guard():
    faulthandler.dump_traceback_later(REAL_TIME_LIMIT, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture(autouse=True)
def _sighup_default():
    """The programs start with SIGHUP's default action, as from a terminal, even when
    the suite was launched with SIGHUP ignored (nohup): an ignored disposition is
    inherited across fork and execve (signal(7)) and would change what they print
    (sig_exec shows it, sig_orphan's member survives its SIGHUP)."""
    if signal.getsignal(signal.SIGHUP) != signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)


@pytest.fixture(scope="session")
def build(c_programs):
    """``build("ids")`` / ``build("ids", static=True)``: tests/programs/ids.c compiled."""
    return c_programs(PROGRAMS_DIR, "simproc-programs", EXTRA_FLAGS)


@dataclass
class NativeResult:
    argv: list
    pid: int
    returncode: int
    stdout: bytes
    stderr: bytes


def run_native(argv, *, timeout: float = 30, input: bytes | None = None,
               env: dict | None = None, cwd=None) -> NativeResult:
    """Run a program directly (no simulation) and collect its output.

    On a timeout the program and every child it left behind (reparented to this
    process, a child subreaper) are killed, so a leftover holding the output pipe
    cannot hang the test."""
    proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.PIPE if input is not None
                            else subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=cwd)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _kill_children_started_since(proc.pid)
        proc.communicate()
        raise
    return NativeResult(list(argv), proc.pid, proc.returncode, out, err)


def _kill_children_started_since(first_pid: int) -> None:
    """SIGKILL this process's children whose pid is first_pid or later (orphans of a
    timed-out native run; pids wrap rarely enough for a test harness)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) < first_pid:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid():
            try:
                os.kill(int(entry), signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="session")
def native():
    """``native([path, args...], timeout=30)`` -> NativeResult(pid, returncode, stdout, stderr)."""
    return run_native


def same_as_native(argv, expected: bytes, **host_options) -> dict:
    """Run ``argv`` natively, then in a fresh host: each must exit 0 with ``expected``
    on stdout and nothing on stderr. Returns the host's report, for what it refused."""
    from pytest_simproc import Exited, SimHost
    res = run_native(argv)
    assert (res.returncode, res.stdout, res.stderr) == (0, expected, b""), "native run"
    with SimHost(**host_options) as host:
        p = host.spawn([str(a) for a in argv])
        host.run()
        assert (p.exit_status, p.stdout, p.stderr) == (Exited(0), expected, b""), "in host"
        return host.report()


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def find_tool(name: str) -> str:
    """Absolute, symlink-resolved path of an ELF executable ``name`` (not a shell shim,
    e.g. pyenv's), or skip the test."""
    candidates = [shutil.which(name), shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")]
    if name == "python3":
        candidates.append(sys.executable)
    for cand in candidates:
        if cand and _is_elf(os.path.realpath(cand)):
            return os.path.realpath(cand)
    pytest.skip(f"`{name}` (an ELF executable) is not available on this machine")


@pytest.fixture(scope="session")
def tool():
    """``tool("bash")`` -> absolute path, or skips the test when the tool is absent."""
    return find_tool


# A clean, fixed environment for programs that look things up in it (bash, python3).
CLEAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "HOME": "/"}


@pytest.fixture(scope="session")
def clean_env():
    return dict(CLEAN_ENV)


# ---------------------------------------------------------------------------------------
# forktree.c checker (used by test_lifecycle, test_static, test_determinism)

FORKTREE_FANOUT = (2, 2, 1, 0)


def check_forktree(stdout: bytes, root_ppid: int) -> dict:
    """Validate forktree's output for any interleaving; return {pid: (ppid, depth)}.

    Checks: 11 processes (1/2/4/4 per depth), each child's parent is one level up,
    every parent reaped exactly its own children with exit code 10 + child's depth,
    a child's reap line comes after all of the child's own lines, no error lines.
    """
    text = stdout.decode()
    assert text.endswith("\n"), f"output does not end with a newline: {text!r}"
    lines = text.splitlines()
    procs: dict[int, tuple[int, int]] = {}
    reaps: dict[int, list[tuple[int, int]]] = {}
    first_line: dict[int, int] = {}
    last_line: dict[int, int] = {}
    for i, line in enumerate(lines):
        parts = line.split()
        assert parts and parts[0] in ("proc", "reap"), f"unexpected line {i}: {line!r}\n{text}"
        if parts[0] == "proc":
            assert len(parts) == 4, line
            pid, ppid, depth = map(int, parts[1:])
            assert pid not in procs, f"pid {pid} started twice\n{text}"
            procs[pid] = (ppid, depth)
            first_line[pid] = i
        else:
            assert len(parts) == 5 and parts[3] == "exited", f"bad reap line {line!r}\n{text}"
            pid, child, code = int(parts[1]), int(parts[2]), int(parts[4])
            reaps.setdefault(pid, []).append((child, code))
        last_line[int(parts[1])] = i
    assert len(procs) == 11, f"expected 11 processes, got {len(procs)}\n{text}"
    by_depth = [sorted(p for p, (_, d) in procs.items() if d == depth) for depth in range(4)]
    assert [len(x) for x in by_depth] == [1, 2, 4, 4], text
    root = by_depth[0][0]
    assert procs[root][0] == root_ppid, f"root's ppid {procs[root][0]} != {root_ppid}"
    for pid, (ppid, depth) in procs.items():
        if depth:
            assert ppid in procs and procs[ppid][1] == depth - 1, \
                f"pid {pid} (depth {depth}) has parent {ppid}\n{text}"
    for pid, (_, depth) in procs.items():
        kids = sorted(c for c, (pp, _) in procs.items() if pp == pid and c != root)
        assert len(kids) == FORKTREE_FANOUT[depth], f"pid {pid} has children {kids}\n{text}"
        reaped = reaps.get(pid, [])
        assert sorted(c for c, _ in reaped) == kids, \
            f"pid {pid} reaped {reaped}, its children are {kids}\n{text}"
        for child, code in reaped:
            assert code == 10 + procs[child][1], f"child {child} exited {code}\n{text}"
    # A parent reaps a child only after everything the child (and its subtree) wrote.
    for i, line in enumerate(lines):
        parts = line.split()
        if parts[0] == "reap":
            child = int(parts[2])
            assert last_line[child] < i, f"{line!r} before the child's own last line\n{text}"
            assert first_line[int(parts[1])] < i
    return procs


@pytest.fixture(scope="session")
def forktree_checker():
    return check_forktree
