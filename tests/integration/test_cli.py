"""The command line: python -m pytest_simproc run ... (SPEC section 4)."""
from __future__ import annotations

import json
import os
import subprocess
import sys


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START = 946684800
PROCESS_KEYS = {"pid", "ppid", "pgid", "sid", "argv", "state", "exit", "reaped_by",
                "start_time", "end_time"}


def cli(*args, cwd=None, timeout=60):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "pytest_simproc", "run", *map(str, args)],
                          capture_output=True, timeout=timeout, cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL)


def by_pid(report: dict) -> dict:
    return {p["pid"]: p for p in report["processes"]}


def test_stdout_passthrough_and_status(build):
    res = cli("--", build("ids"))
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == b"1000 1 1 1 1000\n"


def test_exit_code_passthrough_and_json(build, tmp_path):
    prog = build("exitwith")
    out = tmp_path / "table.json"
    res = cli("--json", out, "--", prog, "exit", "3")
    assert res.returncode == 3, res.stderr.decode()
    report = json.loads(out.read_text())
    assert set(report) >= {"host", "processes"}
    assert isinstance(report["host"], dict)
    assert len(report["processes"]) == 1
    proc = report["processes"][0]
    assert set(proc) >= PROCESS_KEYS, sorted(proc)
    assert proc["pid"] == 1000
    assert (proc["ppid"], proc["pgid"], proc["sid"]) == (1, 1, 1)
    assert proc["argv"] == [prog, "exit", "3"]
    assert proc["state"] == "reaped"
    assert proc["exit"] == {"exited": 3}
    assert proc["reaped_by"] == 1
    assert proc["start_time"] == START
    assert proc["end_time"] == START


def test_signaled_is_128_plus_signal(build, tmp_path):
    out = tmp_path / "table.json"
    res = cli("--json", out, "--", build("exitwith"), "signal", "15")
    assert res.returncode == 128 + 15, res.stderr.decode()
    proc = by_pid(json.loads(out.read_text()))[1000]
    assert proc["exit"] == {"signaled": "SIGTERM"}


def test_expect_match(build):
    prog = build("exitwith")
    assert cli("--expect", "exited:0", "--", prog, "exit", "0").returncode == 0
    assert cli("--expect", "exited:3", "--", prog, "exit", "3").returncode == 0
    assert cli("--expect", "signaled:SIGTERM", "--", prog, "signal", "15").returncode == 0


def test_expect_mismatch(build):
    res = cli("--expect", "exited:0", "--", build("exitwith"), "exit", "3")
    assert res.returncode == 1
    assert ("process 'simhost.exitwith.1000' exited with status {\"exited\": 3}; "
            "expected end state was {\"exited\": 0} but was {\"exited\": 3}"
            ) in res.stderr.decode()


def test_expect_signaled_mismatch(build):
    res = cli("--expect", "exited:0", "--", build("exitwith"), "signal", "15")
    assert res.returncode == 1
    assert ("expected end state was {\"exited\": 0} but was {\"signaled\": \"SIGTERM\"}"
            in res.stderr.decode())


def test_json_zombie_reaped_by_init_and_virtual_times(build, tmp_path):
    out = tmp_path / "table.json"
    res = cli("--json", out, "--", build("zombie"), "4")
    assert res.returncode == 0, res.stderr.decode()
    assert res.stdout == b"child 1001\nparent 1000 slept\n"
    procs = by_pid(json.loads(out.read_text()))
    assert sorted(procs) == [1000, 1001]
    parent, child = procs[1000], procs[1001]
    assert parent["exit"] == {"exited": 0}
    assert (parent["start_time"], parent["end_time"]) == (START, START + 4)
    assert child["exit"] == {"exited": 7}
    assert child["state"] == "reaped"
    assert child["reaped_by"] == 1
    assert (child["start_time"], child["end_time"]) == (START, START)


def test_stop_time_and_expect_running(build, tmp_path):
    out = tmp_path / "table.json"
    prog = build("zombie")
    res = cli("--stop-time", "10", "--expect", "running", "--json", out, "--", prog, "100")
    assert res.returncode == 0, res.stderr.decode()
    procs = by_pid(json.loads(out.read_text()))
    assert procs[1000]["exit"] == "running"
    assert procs[1001]["exit"] == {"exited": 7}
    res = cli("--stop-time", "10", "--expect", "exited:0", "--", prog, "100")
    assert res.returncode == 1
    assert 'expected end state was {"exited": 0} but was "running"' in res.stderr.decode()


def test_missing_program(tmp_path):
    path = str(tmp_path / "no-such-program")
    res = cli("--", path)
    assert res.returncode != 0
    assert path in res.stderr.decode()
    assert res.stdout == b""


def test_bad_expect_value(build):
    res = cli("--expect", "bogus:1", "--", build("ids"))
    assert res.returncode != 0
    assert "bogus" in res.stderr.decode()
    assert res.stdout == b""          # rejected before running the program


def test_cli_strace_to_file_and_stderr(tmp_path):
    import subprocess, sys
    log = tmp_path / "trace.txt"
    cmd = [sys.executable, "-m", "pytest_simproc", "run", "--strace", str(log),
           "--strace-mode", "deterministic", "--", "sh", "-c", "sleep 2; echo hi"]
    first = subprocess.run(cmd, capture_output=True, timeout=60)
    assert (first.returncode, first.stdout) == (0, b"hi\n"), first.stderr
    text = log.read_text()
    assert text.startswith("1000  00:00:00.000000 execve(")
    assert "1001  00:00:00.000000 clock_nanosleep(" in text or \
        "1001  00:00:00.000000 nanosleep(" in text
    assert text.rstrip().endswith("1000  00:00:02.000000 +++ exited with 0 +++")
    subprocess.run(cmd, capture_output=True, timeout=60, check=True)
    assert log.read_text() == text  # the same bytes on a second run
    to_stderr = subprocess.run(cmd[:5] + ["-"] + cmd[6:], capture_output=True, timeout=60)
    assert to_stderr.stdout == b"hi\n"
    assert b"+++ exited with 0 +++" in to_stderr.stderr
