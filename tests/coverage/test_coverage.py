"""Coverage of the programs a host runs: with pytest-cov and coverage's subprocess patch,
a host's Python programs land in the run's combined report, including what they ran
before a SIGKILL, before stop_time and in forked children that leave with os._exit;
measuring changes neither their output nor their pids."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("pytest_cov")
pytest_plugins = ["pytester"]

DAEMON = '''
import os, signal, sys, time

def work(n):
    print("worker", os.getpid(), n * n, flush=True)
    os._exit(n % 2)

def on_term(signum, frame):
    print("bye", flush=True)
    sys.exit(0)

def main():
    signal.signal(signal.SIGTERM, on_term)
    for n in range(2):
        pid = os.fork()
        if pid == 0: work(n)
        _, status = os.waitpid(pid, 0)
        print("job", n, pid, os.waitstatus_to_exitcode(status), flush=True)
    while True:
        time.sleep(60)
        print("idle", flush=True)

main()
'''

KILLED = '''
import time
print("before", flush=True)
time.sleep(100)
print("after", flush=True)
'''

FOREVER = '''
import time
print("up", flush=True)
while True:
    time.sleep(1)
'''

BRANCH = '''
import sys
if sys.argv[1] == "a":
    print("a", flush=True)
elif sys.argv[1] == "b":
    print("b", flush=True)
else:
    print("c", flush=True)
'''

SIGWAITER = '''
import signal
signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
print(int(signal.sigwait(signal.valid_signals())), flush=True)
'''

EXECER = '''
import os, sys
print("exec", flush=True)
os.execv(sys.executable, [sys.executable, "execd.py"])
'''

EXECD = '''
import os
print("execd", os.getpid(), flush=True)
'''

SUPERVISOR = '''
import os, signal, time

def child():
    print("child up", flush=True)
    time.sleep(100)
    print("child after", flush=True)

pid = os.fork()
if pid == 0: child()
time.sleep(5)
os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
print("killed", pid, os.waitstatus_to_exitcode(status), flush=True)
'''

INNER = '''
import json, signal, sys
import pytest
from pytest_simproc import Exited, Running, Signaled, SimHost

def observe(host, name, script, *args, signal_at=None, state=Exited(0)):
    """Spawn script; send signal_at = (seconds, signal) if given; run to the end."""
    p = host.spawn([sys.executable, script, *args])
    if signal_at is not None:
        host.run_for(signal_at[0])
        p.send_signal(signal_at[1])
    host.run()
    assert p.exit_status == state
    print("OBSERVED", json.dumps([name, p.pid, p.stdout.decode()]))

@pytest.mark.parametrize("name,script,signal_at,state", [
    ("daemon", "daemon.py", (130, signal.SIGTERM), Exited(0)),
    ("killed", "killed.py", (10, signal.SIGKILL), Signaled(signal.SIGKILL)),
    ("sigwaiter", "sigwaiter.py", (1, signal.SIGTERM), Exited(0)),
    ("exec", "execer.py", None, Exited(0)),
    ("supervisor", "supervisor.py", None, Exited(0)),
])
def test_program(simhost, name, script, signal_at, state):
    observe(simhost, name, script, signal_at=signal_at, state=state)

@pytest.mark.simproc(stop_time=10)
def test_running_at_stop_time(simhost):
    observe(simhost, "forever", "forever.py", state=Running)

@pytest.mark.parametrize("seed,arg", [(0, "a"), (1, "b"), (0, "c")])
def test_seeds(seed, arg):
    with SimHost(seed=seed) as host:
        observe(host, "branch-" + arg, "branch.py", arg)
'''

DROPIN = '''
import subprocess, sys, time

def test_daemon():
    p = subprocess.Popen([sys.executable, "daemon.py"], stdout=subprocess.PIPE)
    time.sleep(130)
    p.terminate()
    out, _ = p.communicate()
    assert p.returncode == 0 and out.endswith(b"idle\\nidle\\nbye\\n"), out

def test_killed():
    p = subprocess.Popen([sys.executable, "killed.py"], stdout=subprocess.PIPE)
    time.sleep(10)
    p.kill()
    assert p.communicate()[0] == b"before\\n" and p.returncode == -9
'''


def run_inner(pytester, *args, inner=INNER, passed=9):
    pytester.makepyfile(daemon=DAEMON, killed=KILLED, forever=FOREVER, branch=BRANCH,
                        sigwaiter=SIGWAITER, execer=EXECER, execd=EXECD,
                        supervisor=SUPERVISOR,
                        test_inner=inner)
    (pytester.path / ".coveragerc").write_text("[run]\npatch = subprocess\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", *args,
                                           timeout=300)
    result.assert_outcomes(passed=passed)
    observed = {}
    for line in result.outlines:
        if "OBSERVED " in line:
            name, pid, stdout = json.loads(line.split("OBSERVED ", 1)[1])
            observed[name] = (pid, stdout)
    return result, observed


def report_rows(result) -> dict:
    """{file: (statements, missed, missing)} from --cov-report=term-missing."""
    rows = {}
    for line in result.outlines:
        m = re.match(r"(\w+\.py)\s+(\d+)\s+(\d+)\s+\d+%\s*(.*)$", line)
        if m:
            rows[m[1]] = (int(m[2]), int(m[3]), m[4].strip())
    return rows


def test_programs_in_a_host_are_measured_and_unchanged(pytester):
    plain_result, plain = run_inner(pytester)
    result, observed = run_inner(pytester, "--cov=.", "--cov-report=term-missing")
    rows = report_rows(result)
    # The daemon, its two forked workers (leaving with os._exit) and its SIGTERM
    # handler: every line.
    assert rows["daemon.py"][1] == 0, rows
    # SIGKILLed at 10 s in its sleep: everything before it counted, nothing after.
    assert rows["killed.py"][2] == "4", rows
    # Alive at stop_time: still measured (natively its data would be lost).
    assert rows["forever.py"][1] == 0, rows
    # A forked child SIGKILLed by its parent inside the host: its lines up to its
    # sleep count (the host has it save before it carries out the kill).
    assert rows["supervisor.py"][2] == "6", rows
    # A Python program that execs another: both (data saved before the exec).
    assert (rows["execer.py"][1], rows["execd.py"][1]) == (0, 0), rows
    # Three hosts, two of them with the same seed (same pids, same names inside the
    # host): each one's branch counts.
    assert rows["branch.py"][1] == 0, rows
    # The programs print the same and get the same pids with and without --cov.
    assert observed == plain, (observed, plain)
    assert set(observed) == {"daemon", "killed", "forever", "sigwaiter", "exec",
                             "supervisor", "branch-a", "branch-b", "branch-c"}
    # A program that waits for every signal with all of them blocked gets SIGTERM, not
    # the host's request to save (which it would otherwise find pending).
    assert observed["sigwaiter"][1] == "15\n"


def test_two_xdist_workers_combine(pytester):
    result, _ = run_inner(pytester, "-n", "2", "--cov=.", "--cov-report=term-missing")
    rows = report_rows(result)
    assert (rows["daemon.py"][1], rows["killed.py"][2], rows["forever.py"][1],
            rows["branch.py"][1]) == (0, "4", 0, 0), rows


def test_dropin_mode(pytester):
    result, _ = run_inner(pytester, "--simproc", "--cov=.", "--cov-report=term-missing",
                          inner=DROPIN, passed=2)
    rows = report_rows(result)
    assert (rows["daemon.py"][1], rows["killed.py"][2]) == (0, "4"), rows


def test_simproc_run_cov(tmp_path):
    """`simproc run --cov`: a program alive at stop_time, saved before the shutdown."""
    (tmp_path / ".coveragerc").write_text("[run]\npatch = subprocess\n")
    (tmp_path / "killed.py").write_text(KILLED.lstrip())
    env = {k: v for k, v in os.environ.items() if not k.startswith("COV")}
    run = subprocess.run([sys.executable, "-m", "pytest_simproc", "run", "--cov",
                          "--stop-time", "10", "--", sys.executable, "killed.py"],
                         cwd=tmp_path, env=env, capture_output=True, timeout=120)
    # still running at the stop time: 124, as timeout(1)
    assert run.stdout == b"before\n" and run.returncode == 124, run
    for command in (["combine", "-q"], ["report", "-m", "--include=killed.py"]):
        done = subprocess.run([sys.executable, "-m", "coverage", *command], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done
    assert re.search(r"killed.py\s+4\s+1\s+75%\s+4$", done.stdout, re.M), done.stdout


def test_coverage_process_start(tmp_path, monkeypatch):
    """coverage's older way (COVERAGE_PROCESS_START names a config file, here without
    the subprocess patch): a SIGKILLed program's data still lands, uniquely named,
    beside the configured data file."""
    from coverage import CoverageData

    from pytest_simproc import SimHost
    rc = tmp_path / "rc"
    rc.write_text(f"[run]\ndata_file = {tmp_path / 'data'}\n")
    (tmp_path / "killed.py").write_text(KILLED.lstrip())
    monkeypatch.delenv("COVERAGE_PROCESS_CONFIG", raising=False)
    env = {"COVERAGE_PROCESS_START": str(rc), "PATH": os.environ.get("PATH", "")}
    for _ in range(2):  # twice the same seed: the same pid and random names inside
        with SimHost(seed=0) as host:
            p = host.spawn([sys.executable, "killed.py"], env=env, cwd=str(tmp_path))
            host.run_for(10)
            p.kill()
            host.run()
            assert p.stdout == b"before\n"
    files = sorted(tmp_path.glob("data.*"))
    assert len(files) == 2, files
    for path in files:
        data = CoverageData(str(path))
        data.read()
        assert data.lines(str(tmp_path / "killed.py")) == [1, 2, 3]
