"""Nothing survives: whatever way a test using ``simhost`` ends — pass, fail, error in a
fixture, pytest-timeout (signal and thread methods), KeyboardInterrupt (raised, or SIGINT
sent to pytest), or pytest itself killed with SIGKILL — no native process of its host
remains.

Each case runs a real, separate pytest process on an inner test that spawns long-running
programs (``sleep 1000``, a bash loop, a forked bash tree; in the "busy" variants also a
spinning bash loop that keeps the host's tracer inside ``run()``), records their native
pids and start times, then ends the chosen way. Two checks follow:

- while the inner pytest still lives (its ``pytest_unconfigure``), none of the recorded
  processes exists any more (killed *and* reaped: the host's teardown did it, not the
  end of the pytest process);
- after the inner pytest has exited, every recorded process is gone within seconds
  (PTRACE_O_EXITKILL covers the cases where no teardown runs: pytest-timeout's thread
  method, SIGKILL).

Liveness is pid-reuse safe (the start time must match) and a zombie counts as gone (it
is reaped when reparented to this process, a child subreaper).
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pytest_simproc import Signaled
from pytest_simproc.host import _become_subreaper

from .conftest import CLEAN_ENV, proc_stat, reap_if_ours, wait_gone

pytest_plugins = ["pytester"]

# ------------------------------------------------------------------ the inner suite
INNER_CONFTEST = r'''
import json, os, time
import pytest

OUT = os.environ["SIMPROC_ROBUST_OUT"]
ENV = %(env)r


def _stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[19])


def _write(name, data):
    tmp = os.path.join(OUT, name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, os.path.join(OUT, name))


def record(host):
    """Write every live process's native pid and start time to pids.json."""
    rows = []
    for p in host.processes():
        if p.state not in ("running", "stopped"):
            continue
        native = host._engine.info[p.pid].native
        st = _stat(native)
        assert st is not None and st[0] != "Z", (p, native, st)
        rows.append({"pid": p.pid, "argv": p.argv, "native": native, "start": st[1]})
    _write("pids.json", rows)


@pytest.fixture
def workload(simhost):
    simhost.spawn(["sleep", "1000"], env=ENV)
    simhost.spawn(["bash", "-c", "while :; do sleep 1; done"], env=ENV)
    simhost.spawn(["bash", "-c", "sleep 1000 & (sleep 1000 & sleep 1000; wait) & wait"],
                  env=ENV)
    simhost.run_for(3.5)
    return simhost


@pytest.fixture
def busy(workload):
    """A process that spins without system calls: run() never returns by itself."""
    workload.spawn(["bash", "-c", "while :; do :; done"], env=ENV)
    return workload


def pytest_unconfigure(config):
    """Still inside this pytest process: what is left of the recorded processes?"""
    try:
        with open(os.path.join(OUT, "pids.json")) as f:
            rows = json.load(f)
    except FileNotFoundError:
        return
    alive, zombies = [], []
    for r in rows:
        st = _stat(r["native"])
        if st is None or st[1] != r["start"]:
            continue
        (zombies if st[0] == "Z" else alive).append(r)
    _write("after.json", {"alive": alive, "zombies": zombies})
'''

INNER_TESTS = r'''
import time
import pytest
from conftest import record

SIMPROC = pytest.mark.simproc(watchdog_timeout=600, stop_time=100000)


@SIMPROC
def test_pass(workload):
    record(workload)


@SIMPROC
def test_fail(workload):
    record(workload)
    assert False, "the test fails"


@pytest.fixture
def broken_setup(workload):
    record(workload)
    raise RuntimeError("fixture setup fails")


@SIMPROC
def test_error_setup(broken_setup):
    pass


@pytest.fixture
def broken_teardown(workload):
    record(workload)
    yield
    raise RuntimeError("fixture teardown fails")


@SIMPROC
def test_error_teardown(broken_teardown):
    pass


@SIMPROC
def test_keyboard_interrupt(workload):
    record(workload)
    raise KeyboardInterrupt


@SIMPROC
def test_idle(workload):
    """Waits in real time with the host idle (for timeouts and signals)."""
    record(workload)
    time.sleep(120)


@SIMPROC
def test_busy(busy):
    """The host's tracer is in run() with a spinning process when the end comes."""
    record(busy)
    busy.run()


@SIMPROC
@pytest.mark.timeout(2, method="signal")
def test_timeout_signal_idle(workload):
    record(workload)
    time.sleep(120)


@SIMPROC
@pytest.mark.timeout(2, method="signal")
def test_timeout_signal_busy(busy):
    record(busy)
    busy.run()


@SIMPROC
@pytest.mark.timeout(2, method="thread")
def test_timeout_thread_idle(workload):
    record(workload)
    time.sleep(120)


@SIMPROC
@pytest.mark.timeout(2, method="thread")
def test_timeout_thread_busy(busy):
    record(busy)
    busy.run()
'''

# Processes the workload starts: sleep; bash loop + its sleep; bash, sleep, subshell,
# two sleeps. The busy variant adds the spinner.
MIN_PROCESSES = 8


@pytest.fixture(scope="module", autouse=True)
def _subreaper():
    """Orphans of a killed inner pytest come back to this process to be reaped."""
    _become_subreaper()


def _has_timeout_plugin() -> bool:
    try:
        import pytest_timeout  # noqa: F401
    except ImportError:
        return False
    return True


needs_timeout = pytest.mark.skipif(not _has_timeout_plugin(),
                                   reason="pytest-timeout is not installed")


# pytest as a terminal starts it: Ctrl-C raises KeyboardInterrupt even when whatever
# launched this suite ignores SIGINT (nohup, a CI runner, `&` in a script), which the
# inner process would inherit (signal(7): ignored signals stay ignored across execve).
INNER_PYTEST = ("import signal, sys, pytest; "
                "signal.signal(signal.SIGINT, signal.default_int_handler); "
                "sys.exit(pytest.console_main())")


class Inner:
    """A separate pytest process running one of INNER_TESTS."""

    def __init__(self, pytester, test: str):
        pytester.makeconftest(INNER_CONFTEST % {"env": CLEAN_ENV})
        pytester.makepyfile(test_inner=INNER_TESTS)
        self.dir = pytester.path
        self.out = pytester.path / "out"
        self.out.mkdir()
        self.log = open(pytester.path / "inner.log", "wb")
        # PYTEST_ADDOPTS is the tests' pytester fixture's (tests/conftest.py)
        env = dict(os.environ, SIMPROC_ROBUST_OUT=str(self.out))
        self.popen = subprocess.Popen(
            [sys.executable, "-c", INNER_PYTEST, "-p", "no:cacheprovider", "-q",
             "-o", "addopts=", f"test_inner.py::{test}"],
            cwd=pytester.path, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.records: list | None = None

    def wait_recorded(self, timeout: float = 60) -> list:
        path = self.out / "pids.json"
        deadline = time.monotonic() + timeout
        while not path.exists():
            if self.popen.poll() is not None:
                pytest.fail(f"inner pytest ended before recording:\n{self.output()}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"inner pytest recorded nothing in {timeout} s:\n{self.output()}")
            time.sleep(0.02)
        self.records = json.loads(path.read_text())
        return self.records

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"inner pytest did not end within {timeout} s (hang):\n"
                        f"{self.output()}")

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    def output(self) -> str:
        self.log.flush()
        return (self.dir / "inner.log").read_text(errors="replace")

    def after(self) -> dict | None:
        path = self.out / "after.json"
        return json.loads(path.read_text()) if path.exists() else None

    def close(self) -> None:
        self.kill()
        self.log.close()


@pytest.fixture
def inner(pytester):
    runs = []

    def start(test: str) -> Inner:
        run = Inner(pytester, test)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.close()
        if run.records:  # never leave anything behind, whatever the test's outcome
            for r in run.records:
                st = proc_stat(r["native"])
                if st is not None and st[1] == r["start"]:
                    try:
                        os.kill(r["native"], signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    reap_if_ours(r["native"])


def _check_recorded(run: Inner, busy: bool = False) -> list:
    records = run.records if run.records is not None else run.wait_recorded()
    assert len(records) >= MIN_PROCESSES + busy, records
    argvs = [r["argv"] for r in records]
    assert ["sleep", "1000"] in argvs and any("while :; do sleep 1; done" in a for a in argvs)
    return records


def _assert_nothing_left(run: Inner, *, in_process: bool) -> None:
    """In-process check (the host's teardown reaped everything) and the final one."""
    records = run.records
    output = run.output()
    if in_process:
        after = run.after()
        assert after is not None, f"the inner pytest did not check its processes:\n{output}"
        assert after == {"alive": [], "zombies": []}, \
            f"left after teardown, inside the inner pytest: {after}\n{output}"
    alive = wait_gone(records, timeout=10)
    assert not alive, f"native processes survived the inner pytest: {alive}\n{output}"


# ------------------------------------------------------------------ the outcomes
@pytest.mark.parametrize("test, code, summary", [
    ("test_pass", 0, "1 passed"),
    ("test_fail", 1, "1 failed"),
    ("test_error_setup", 1, "1 error"),
    ("test_error_teardown", 1, "1 passed, 1 error"),
])
def test_ordinary_outcomes(inner, test, code, summary):
    run = inner(test)
    assert run.wait() == code, run.output()
    _check_recorded(run)
    assert summary in run.output()
    _assert_nothing_left(run, in_process=True)


def test_keyboard_interrupt_raised_in_the_test(inner):
    run = inner("test_keyboard_interrupt")
    assert run.wait() == pytest.ExitCode.INTERRUPTED, run.output()
    _check_recorded(run)
    assert "KeyboardInterrupt" in run.output()
    _assert_nothing_left(run, in_process=True)


@pytest.mark.parametrize("state", ["idle", "busy"])
def test_sigint_to_pytest_while_a_host_runs(inner, state):
    run = inner(f"test_{state}")
    _check_recorded(run, busy=state == "busy")
    time.sleep(0.5)  # well inside time.sleep() / host.run()
    assert run.popen.poll() is None, run.output()
    run.popen.send_signal(signal.SIGINT)
    assert run.wait() == pytest.ExitCode.INTERRUPTED, run.output()
    assert "KeyboardInterrupt" in run.output()
    _assert_nothing_left(run, in_process=True)


@needs_timeout
@pytest.mark.parametrize("state", ["idle", "busy"])
def test_pytest_timeout_signal_method(inner, state):
    run = inner(f"test_timeout_signal_{state}")
    assert run.wait() == 1, run.output()
    _check_recorded(run, busy=state == "busy")
    output = run.output()
    assert "Timeout" in output and "1 failed" in output, output
    _assert_nothing_left(run, in_process=True)


@needs_timeout
@pytest.mark.parametrize("state", ["idle", "busy"])
def test_pytest_timeout_thread_method(inner, state):
    """The thread method dumps the stacks and os._exit()s: no teardown runs, the
    tracees die with their tracer (PTRACE_O_EXITKILL)."""
    run = inner(f"test_timeout_thread_{state}")
    assert run.wait() == 1, run.output()
    _check_recorded(run, busy=state == "busy")
    assert "Timeout" in run.output()
    _assert_nothing_left(run, in_process=False)


@pytest.mark.parametrize("state", ["idle", "busy"])
def test_pytest_killed_with_sigkill_mid_test(inner, state):
    run = inner(f"test_{state}")
    _check_recorded(run, busy=state == "busy")
    time.sleep(0.5)
    assert run.popen.poll() is None, run.output()
    run.popen.send_signal(signal.SIGKILL)
    assert run.wait() == -signal.SIGKILL
    _assert_nothing_left(run, in_process=False)


# ------------------------------------------------------------------ killed inside a host
def test_a_reaped_process_is_gone_natively(simhost, tmp_path):
    lock = tmp_path / "lock"
    holder = simhost.spawn(["bash", "-c", f"exec 9>{lock}; flock 9; exec sleep 1000"],
                           env=CLEAN_ENV)
    simhost.run_for(1)
    native = simhost._engine.info[holder.pid].native
    record = {"native": native, "start": proc_stat(native)[1]}
    holder.kill()
    assert holder.wait() == Signaled(signal.SIGKILL) and holder.state == "reaped"
    assert wait_gone([record], timeout=2) == []
    with open(lock, "w") as f:  # the lock went with it
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _native_children_of(native_pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == native_pid:
                        children.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return children


def test_reaped_children_leave_no_native_zombies_behind():
    """A supervisor that forks and reaps (in the host) many children must not pile up
    native zombies: tracees never wait natively, so the host clones every process as
    the tracer's own child and reaps it at its death. Else a long-lived supervisor
    exhausts the machine's pids (pid_max is 32768 here)."""
    from pytest_simproc import SimHost
    with SimHost() as host:
        proc = host.spawn(["bash", "-c", "for i in $(seq 100); do /bin/true; done; sleep 10"])
        host.run_for(5)
        native = host._engine.native_pid_of(proc.pid)
        assert native is not None and len(host.processes()) >= 100
        assert _native_children_of(native) == []
        host.run()
        assert proc.exit_status.code == 0


def test_survivors_check_names_every_live_native_process(simhost):
    """The proof run at close (pidfds, opened when it runs, not at each birth): every
    live process counts until its death has been seen, a forked subshell that never
    made a call that opens its pidfd earlier (a read) too."""
    sleeper = simhost.spawn(["sleep", "1000"], env=CLEAN_ENV)
    simhost.spawn(["bash", "-c", "{ sleep 1000 & wait; } & wait"], env=CLEAN_ENV)
    simhost.run_for(1)
    engine = simhost._engine
    natives = sorted(engine.native_pid_of(p.pid) for p in simhost.processes()
                     if p.pid != 1 and p.state == "running")
    assert len(natives) == 4 and None not in natives
    assert sorted(simhost._tracer.call(engine.survivors)) == natives
    gone = engine.native_pid_of(sleeper.pid)
    sleeper.kill()
    sleeper.wait()
    assert sorted(simhost._tracer.call(engine.survivors)) == [n for n in natives if n != gone]
