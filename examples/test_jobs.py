"""A bash job-control script (jobs.sh) in a simulated host: `&`, `$!`, `wait`, `kill`,
`trap ... TERM`, SIGSTOP/SIGCONT, and `sleep` in virtual time.

Run natively, ``jobs.sh run`` takes 25 s and prints whatever pids the machine hands out;
in the host it takes milliseconds and prints the same bytes on every run.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_simproc import Exited, Running, SimHost, Signaled

EXAMPLES = Path(__file__).resolve().parent
JOBS = str(EXAMPLES / "jobs.sh")
START = 946684800

RUN_OUTPUT = b"""\
[+0] jobs.sh 1000 run
[+0] started 1001 1002 1003
[+5] job 1001 (sleep 5) exit 0
[+5] killed 1003
[+10] job 1002 (sleep 10) exit 0
[+10] job 1003 (sleep 100) exit 143
[+10] job 1004 (subshell) exit 3
[+11] stopped 1005
[+21] continued 1005
[+21] job 1005 (sleep 3, stopped for 10 s) exit 0
[+25] all jobs done
"""


def spawn_jobs(host, bash, env, mode, **kw):
    return host.spawn([bash, JOBS, mode], env=env, **kw)


@pytest.mark.simproc(expected_final_state=Exited(0))
def test_run_output_is_exact(simhost, bash, clean_env):
    p = spawn_jobs(simhost, bash, clean_env, "run")
    assert p.wait() == Exited(0)
    assert p.stdout == RUN_OUTPUT
    assert p.stderr == b""
    # 25 virtual seconds (and the start-ups of the programs bash forked and exec'd: some
    # 0.6 ms each, README "The CPU model"), a few real milliseconds
    assert 25 < simhost.now - START < 25.01


def test_every_job_in_the_process_table(simhost, bash, clean_env):
    p = spawn_jobs(simhost, bash, clean_env, "run")
    simhost.run()
    table = [(q.pid, q.argv, q.exit_status, q.reaped_by) for q in simhost.processes()]
    assert table == [
        (1000, [bash, JOBS, "run"], Exited(0), 1),
        (1001, ["sleep", "5"], Exited(0), 1000),
        (1002, ["sleep", "10"], Exited(0), 1000),
        (1003, ["sleep", "100"], Signaled(signal.SIGTERM), 1000),   # bash reports 143
        (1004, [bash, JOBS, "run"], Exited(3), 1000),                # ( exit 3 ) &: no exec
        (1005, ["sleep", "3"], Exited(0), 1000),
        (1006, ["sleep", "1"], Exited(0), 1000),                    # foreground sleeps too
        (1007, ["sleep", "10"], Exited(0), 1000),
        (1008, ["sleep", "1"], Exited(0), 1000),
        (1009, ["sleep", "2"], Exited(0), 1000),
        (1010, ["sleep", "4"], Exited(0), 1000),
    ]
    assert p.returncode == 0
    simhost.assert_no_zombies()


def test_killed_job_reports_143(simhost, bash, clean_env):
    p = spawn_jobs(simhost, bash, clean_env, "run")
    simhost.run_for(7)
    # at +5 bash killed sleep 100; the script `wait`s for it only at +10, but bash reaps
    # its children from its SIGCHLD handler and keeps their status in its job table
    killed = simhost.process(1003)
    assert (killed.state, killed.exit_status, killed.reaped_by) == \
        ("reaped", Signaled(signal.SIGTERM), 1000)
    assert b"job 1003" not in p.stdout
    simhost.assert_no_zombies()
    simhost.run_for(3.1)   # +10, and the start-up of the sleeps bash waits for
    assert p.stdout.endswith(b"[+10] job 1003 (sleep 100) exit 143\n"
                             b"[+10] job 1004 (subshell) exit 3\n")


def test_stopped_job_is_stopped(simhost, bash, clean_env):
    spawn_jobs(simhost, bash, clean_env, "run")
    simhost.run_for(15)
    job = simhost.process(1005)
    assert job.state == "stopped"
    assert "1005 sleep 3 [stopped]" in simhost.tree()
    simhost.run_for(6.1)   # continued at +21, and sleep's start-up
    assert (job.state, job.exit_status) == ("reaped", Exited(0))
    assert simhost.now == START + 21.1


def _run_once(bash, env, seed=0):
    with SimHost(seed=seed) as host:
        p = host.spawn([bash, JOBS, "run"], env=env)
        host.run()
        return p.stdout, host.report()


def test_deterministic_across_hosts(bash, clean_env):
    out1, report1 = _run_once(bash, clean_env)
    out2, report2 = _run_once(bash, clean_env)
    assert out1 == out2 == RUN_OUTPUT
    assert report1 == report2
    assert 25 < report1["host"]["now"] - START < 25.01   # and the start-ups
    assert [p["pid"] for p in report1["processes"]] == list(range(1000, 1011))
    assert report1["processes"][3]["exit"] == {"signaled": "SIGTERM"}
    assert 5 < report1["processes"][3]["end_time"] - START < 5.01
    # another seed may interleave differently, but this script's output is fixed by its waits
    out3, report3 = _run_once(bash, clean_env, seed=42)
    assert out3 == RUN_OUTPUT
    assert report3["host"]["seed"] == 42 and report3["processes"] == report1["processes"]


@pytest.mark.simproc(expected_final_state={"exited": 0})
def test_trap_on_sigterm(simhost, bash, clean_env):
    p = spawn_jobs(simhost, bash, clean_env, "term")
    simhost.run_for(50)
    assert [c.argv for c in p.children()] == [["sleep", "1000"], ["sleep", "2000"]]
    p.terminate()
    assert p.wait(timeout=10) == Exited(0)
    assert p.stdout == (b"[+0] jobs.sh 1000 term\n"
                        b"[+0] waiting for 1001 1002\n"
                        b"[+50] got TERM, stopping  1001 1002\n"
                        b"[+50] job 1001 exit 143\n"
                        b"[+50] job 1002 exit 143\n"
                        b"[+50] bye\n")
    assert simhost.tree() == "1 init"


@pytest.mark.simproc(expected_final_state={"signaled": "SIGKILL"}, stop_time=1500)
def test_sigkill_orphans_the_jobs(simhost, bash, clean_env):
    p = spawn_jobs(simhost, bash, clean_env, "term")
    simhost.run_for(50)
    p.kill()
    simhost.run_for(1)
    assert p.exit_status == Signaled(signal.SIGKILL)
    # no trap runs on SIGKILL: the sleeps live on, adopted by init
    assert simhost.tree() == ("1 init\n"
                              "|-- 1001 sleep 1000 [running]\n"
                              "`-- 1002 sleep 2000 [running]")
    assert [simhost.process(pid).ppid for pid in (1001, 1002)] == [1, 1]
    simhost.run()   # to stop_time: sleep 1000 ends on its own, sleep 2000 does not
    assert simhost.process(1001).exit_status == Exited(0)
    assert simhost.process(1001).reaped_by == 1
    assert simhost.process(1002).exit_status == Running
    assert simhost.now == START + 1500


def test_usage_error(simhost, bash, clean_env):
    p = spawn_jobs(simhost, bash, clean_env, "bogus", expected_final_state="exited:2")
    simhost.run()
    assert p.exit_status == Exited(2)
    assert p.stderr == b"usage: jobs.sh run|term|specs\n"


def _cli(*args, env):
    return subprocess.run([sys.executable, "-m", "pytest_simproc", "run", *args],
                          capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=60)


def test_cli_expect(bash, clean_env, tmp_path):
    report = tmp_path / "report.json"
    ok = _cli("--expect", "exited:0", "--json", str(report), "--", bash, JOBS, "run",
              env=clean_env)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == RUN_OUTPUT
    # the CLI's --json report is the same document as SimHost.report()
    assert json.loads(report.read_text()) == _run_once(bash, clean_env)[1]

    bad = _cli("--expect", "signaled:SIGTERM", "--", bash, JOBS, "bogus", env=clean_env)
    assert bad.returncode == 1
    assert bad.stderr.decode().splitlines()[-1] == (
        "process 'simhost.bash.1000' exited with status {\"exited\": 2}; expected end state "
        "was {\"signaled\": \"SIGTERM\"} but was {\"exited\": 2}")

    plain = _cli("--", bash, JOBS, "bogus", env=clean_env)
    assert plain.returncode == 2    # without --expect: the program's own status


SPECS_OUTPUT = b"""\
[+0] jobs.sh 1000 specs
[+0] jobs: 1001 1002 
[+0] job %1 exit 143
[+0] stopped %2
[+30] job %2 exit 0
"""


@pytest.mark.simproc(expected_final_state=Exited(0))
def test_job_specs_kill_stop_and_wait(simhost, bash, clean_env):
    """`kill %1`, `kill -STOP %2`, `wait %2`: the job table of a non-interactive bash.
    The stopped `sleep 20` is past its deadline when it is continued at +30, and ends at
    once (nanosleep measures the clock, not the time the process ran), as on Linux."""
    p = spawn_jobs(simhost, bash, clean_env, "specs")
    simhost.run()
    assert p.stdout == SPECS_OUTPUT
    assert simhost.process(1001).exit_status == Signaled(signal.SIGTERM)
    assert simhost.process(1002).exit_status == Exited(0)
