"""The command line: python -m pytest_simproc run ... (SPEC section 4)."""
from __future__ import annotations

import json
import re
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest


REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START = 946684800
PROCESS_KEYS = {"pid", "ppid", "pgid", "sid", "argv", "state", "exit", "reaped_by",
                "start_time", "end_time"}


def cli_env(**extra) -> dict:
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = REPO_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def cli(*args, cwd=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "pytest_simproc", "run", *map(str, args)],
                          capture_output=True, timeout=timeout, cwd=cwd, env=cli_env(),
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


def test_missing_program_is_127_as_in_a_shell(tmp_path):
    for program in (str(tmp_path / "no-such-program"), "no-such-program-in-path"):
        res = cli("--", program)
        assert res.returncode == 127
        assert res.stderr.decode() == f"simproc: {program}: No such file or directory\n"
        assert res.stdout == b""


def test_program_that_cannot_be_executed_is_126(tmp_path):
    script = tmp_path / "not-executable"
    script.write_text("echo hi\n")
    script.chmod(0o644)
    res = cli("--", script)
    assert res.returncode == 126
    assert res.stderr.decode() == f"simproc: {script}: Permission denied\n"


def test_still_running_at_stop_time_is_124_as_timeout(build):
    res = cli("--stop-time", "10", "--", build("zombie"), "100")
    assert res.returncode == 124, res.stderr.decode()
    assert cli("--stop-time", "10", "--expect", "running", "--", build("zombie"),
               "100").returncode == 0


def test_json_to_stdout_is_a_document_alone(build):
    """With --json -, stdout is the JSON document; the program's output goes to
    stderr."""
    res = cli("--json", "-", "--", build("zombie"), "4")
    assert res.returncode == 0, res.stderr.decode()
    report = json.loads(res.stdout)
    assert sorted(p["pid"] for p in report["processes"]) == [1000, 1001]
    assert res.stderr == b"child 1001\nparent 1000 slept\n"


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
    # sleep starts after its exec (README "The CPU model": 565 us, and the shell's calls
    # and its fork's 75 us where the schedule puts them first), and ends 2 s later
    assert re.search(r"^1001  00:00:00\.000[5-9]\d\d (clock_)?nanosleep\(", text, re.M)
    assert re.search(r"1000  00:00:02\.000[5-9]\d\d \+\+\+ exited with 0 \+\+\+$", text.rstrip())
    subprocess.run(cmd, capture_output=True, timeout=60, check=True)
    assert log.read_text() == text  # the same bytes on a second run
    to_stderr = subprocess.run(cmd[:5] + ["-"] + cmd[6:], capture_output=True, timeout=60)
    assert to_stderr.stdout == b"hi\n"
    assert b"+++ exited with 0 +++" in to_stderr.stderr


def read_until(stream, text: bytes, limit: float = 120) -> bytes:
    """Bytes read from ``stream`` until ``text`` arrived; fails (instead of hanging)
    if it never comes."""
    got = b""
    fd = stream.fileno()
    while text not in got:
        ready, _, _ = select.select([fd], [], [], limit)
        chunk = os.read(fd, 4096) if ready else b""
        assert chunk, f"{text!r} never came; got {got!r}"
        got += chunk
    return got


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_output_streams_live_and_a_signal_shuts_the_host_down(build, tmp_path, sig):
    """The program's first line arrives while it still runs (it never ends by itself);
    SIGTERM or SIGINT to simproc run then shuts the host down: the program gets the
    shutdown signal (its handler's line is passed on too), the data dir is removed and
    simproc run exits 128+N."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    run = subprocess.Popen([sys.executable, "-m", "pytest_simproc", "run", "--json",
                            str(tmp_path / "table.json"), "--", build("chatty")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, env=cli_env(TMPDIR=str(tmpdir)))
    try:
        assert read_until(run.stdout, b"\n") == b"started\n"
        assert run.poll() is None
        assert [p.name for p in tmpdir.iterdir()] != []  # the host's data dir, meanwhile
        run.send_signal(sig)
        out, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 128 + sig, err.decode()
    assert out == b"got SIGTERM\n"
    assert err == b""
    assert list(tmpdir.iterdir()) == []
    proc = by_pid(json.loads((tmp_path / "table.json").read_text()))[1000]
    assert proc["exit"] == {"exited": 0}


def test_inject_in_strace_syntax(tmp_path):
    """simproc run --inject (repeatable) takes strace -e inject= rules."""
    result = cli("--inject", "write:error=ENOSPC:when=1", "--inject", "getppid:retval=77",
                 "--json", tmp_path / "r.json", "--", "sh", "-c", "echo one; echo two")
    assert (result.returncode, result.stdout) == (0, b"two\n")
    host = json.loads((tmp_path / "r.json").read_text())["host"]
    assert host["inject"] == ["write:error=ENOSPC:when=1", "getppid:retval=77"]
    assert [(i["syscall"], i["invocation"]) for i in host["injected"]] == [
        ("getppid", 1), ("write", 1)]  # dash reads its ppid at start-up


def test_bad_inject_spec_names_its_fault():
    result = cli("--inject", "write:error=ENOSPACE", "--", "true")
    assert result.returncode == 2
    assert b"error=ENOSPACE is neither an errno name" in result.stderr


def test_verify_passes_a_deterministic_program(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pytest_simproc", "run", "--verify", "--",
         "sh", "-c", "echo $$; sleep 2; date +%s; cat"],
        input=b"from stdin\n", capture_output=True, timeout=60, env=cli_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"1000\n946684802\nfrom stdin\n"


def test_verify_fails_on_real_time_leaking_in_and_shows_the_first_difference(build):
    result = cli("--verify", "--", build("spin_count"))
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert lines[0].startswith("simproc run --verify: two runs with seed 0 differ")
    # The first difference is the count, or, when a loaded machine made both counts
    # equal (an iteration is three stops), the machine's counters it read.
    counts = [f"  run {n}: [simhost] 1000 stdout: " for n in (1, 2)]
    reads = [f'  run {n}: [simhost] strace: 1000 00:00:00.000000 read(3, "cpu ' for n in (1, 2)]
    assert ([line.startswith(start) for line, start in zip(lines[2:4], counts)] == [True] * 2
            or [line.startswith(start) for line, start in zip(lines[2:4], reads)] == [True] * 2), lines
    assert lines[2].split(": ", 1)[1] != lines[3].split(": ", 1)[1]


def test_verify_fails_on_a_loop_counting_until_its_alarm(build):
    """alarm(1), then count iterations until SIGALRM: the host preempts the spin and
    the alarm comes at the 100th slice every run, but how many iterations fit in a
    slice of real time is the machine's (README The CPU model): --verify says so."""
    # two runs of 100 slices of 10 ms of CPU each: minutes of real time on a loaded machine
    result = cli("--verify", "--", build("cpu_spin"), "count", timeout=300)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.decode().splitlines()
    assert lines[0].startswith("simproc run --verify: two runs with seed 0 differ")
    assert lines[2].endswith(" iterations") and lines[3].endswith(" iterations")
    assert lines[2] != lines[3]


EXAMPLES = os.path.join(REPO_ROOT, "examples")
# each example program as its tests run it; the daemons until --stop-time, still running
EXAMPLE_RUNS = {
    "prodcons": ["--", "{prodcons}"],
    "supervisor": ["--stop-time", "20", "--expect", "running", "--", "{supervisor}", "3"],
    "jobs.sh": ["--", "{bash}", "jobs.sh", "specs"],
    "prefork.py": ["--stop-time", "20", "--expect", "running", "--", "{python}", "-I", "-S",
                   "prefork.py", "2"],
    "pydaemon.py": ["--stop-time", "20", "--expect", "running", "--", "{python}", "-I",
                    "-S", "pydaemon.py"],
    "covdaemon.py": ["--stop-time", "200", "--expect", "running", "--", "{python}", "-I",
                     "-S", "covdaemon.py", "3"],
    "dfdaemon.py": ["--stop-time", "30", "--", "{python}", "-I", "-S", "dfdaemon.py",
                    "{tmp}/dfdaemon.pid", "{tmp}/dfdaemon.conf"],
}


@pytest.mark.parametrize("example", EXAMPLE_RUNS)
def test_verify_passes_every_example_program(example, c_programs, tool, tmp_path):
    """Issue 15: simproc run --verify exits 0 on each program of examples/ (two runs,
    the same output, final states and deterministic strace)."""
    (tmp_path / "dfdaemon.conf").write_text("# dfdaemon\nvalue = hello\n")
    build = c_programs(Path(EXAMPLES), "cli-examples")
    names = {"tmp": tmp_path, "bash": tool("bash"), "python": tool("python3")}
    if example in ("prodcons", "supervisor"):
        names[example] = build(example)
    args = [arg.format(**names) for arg in EXAMPLE_RUNS[example]]
    result = cli("--verify", *args, cwd=EXAMPLES, timeout=300)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    assert b"--verify" not in result.stderr
