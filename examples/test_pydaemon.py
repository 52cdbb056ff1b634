"""A Python daemon (pydaemon.py) with a forked job runner, tested in a simulated host.

The real interpreter runs the unmodified script; its signals, fork, waitpid, time.sleep
and time.time are answered by the host, so the job runner's "every 10 s" is exact and an
hour of it costs milliseconds.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from pytest_simproc import Exited, Running, Signaled

EXAMPLES = Path(__file__).resolve().parent
START = 946684800


@pytest.fixture
def daemon_argv(python):
    """argv that runs pydaemon.py from examples/ with a short command line (the tree
    shows it), plus the env and cwd to spawn it with."""
    env = {"PATH": f"{os.path.dirname(python)}:/usr/bin:/bin", "LC_ALL": "C", "HOME": "/"}
    exe = os.path.basename(python)

    def make(*args):
        return dict(argv=[exe, "-I", "pydaemon.py", *args], env=env, cwd=str(EXAMPLES))
    make.exe = exe
    return make


def start(simhost, daemon_argv, *args, **kw):
    spec = daemon_argv(*args)
    return simhost.spawn(spec["argv"], env=spec["env"], cwd=spec["cwd"], **kw)


def lines(proc) -> list[str]:
    return proc.stdout.decode().splitlines()


def test_daemon_starts_its_runner(simhost, daemon_argv):
    d = start(simhost, daemon_argv)
    simhost.run_for(1)
    assert d.pid == 1000
    assert [c.pid for c in d.children()] == [1001]
    runner = simhost.process(1001)
    assert (runner.ppid, runner.state) == (1000, "running")
    assert lines(d) == [f"daemon 1000 started at {START} interval 10",
                        f"runner 1001 started at {START}"]
    exe = daemon_argv.exe
    assert simhost.tree() == (
        "1 init\n"
        f"`-- 1000 {exe} -I pydaemon.py [running]\n"
        f"    `-- 1001 {exe} -I pydaemon.py [running]")
    assert simhost.unsupported_syscalls == []


def test_jobs_run_every_ten_virtual_seconds(simhost, daemon_argv):
    d = start(simhost, daemon_argv)
    simhost.run_for(35)
    assert lines(d)[2:] == [f"job 1 at {START + 10}", f"job 2 at {START + 20}",
                            f"job 3 at {START + 30}"]


def test_sighup_reloads_the_config(simhost, daemon_argv, tmp_path):
    conf = tmp_path / "daemon.conf"
    conf.write_text("interval = 10\n")
    d = start(simhost, daemon_argv, "--config", str(conf))
    simhost.run_for(15)
    conf.write_text("# slower\ninterval = 30\n")
    d.send_signal(signal.SIGHUP)
    simhost.run_for(60)
    assert simhost.now == START + 75
    assert lines(d) == [
        f"daemon 1000 started at {START} interval 10",
        f"runner 1001 started at {START}",
        f"job 1 at {START + 10}",
        "reloaded #1 interval 30",
        "runner 1001 interval 30",
        f"job 2 at {START + 20}",     # the sleep under way keeps its deadline
        f"job 3 at {START + 50}",     # then every 30 s
    ]
    # a reload restarts nothing
    assert [p.pid for p in simhost.processes()] == [1000, 1001]


def test_sigusr1_prints_status(simhost, daemon_argv):
    d = start(simhost, daemon_argv)
    simhost.run_for(123)
    d.send_signal(signal.SIGHUP)
    simhost.run_for(0)
    d.send_signal(signal.SIGUSR1)
    simhost.run_for(0)
    simhost.kill(1001, signal.SIGUSR1)     # the runner ignores it
    simhost.run_for(0)
    assert lines(d)[-1] == "status: runner 1001 uptime 123 s reloads 1"
    assert simhost.process(1001).state == "running"


@pytest.mark.simproc(expected_final_state=Exited(0))
def test_sigterm_stops_cleanly(simhost, daemon_argv):
    d = start(simhost, daemon_argv)
    simhost.run_for(25)
    d.terminate()
    assert d.wait(timeout=5) == Exited(0)
    assert simhost.now == START + 25
    assert lines(d)[-4:] == ["stopping", "runner 1001 stopping after 2 jobs",
                             "runner 1001 exited 0", "bye"]
    runner = simhost.process(1001)
    assert (runner.exit_status, runner.reaped_by) == (Exited(0), 1000)
    simhost.assert_no_zombies()


@pytest.mark.simproc(expected_final_state=Signaled(signal.SIGKILL))
def test_sigkill_leaves_no_runner_behind(simhost, daemon_argv):
    d = start(simhost, daemon_argv)
    simhost.run_for(15)
    d.kill()
    assert d.wait(timeout=5) == Signaled(signal.SIGKILL)
    assert d.returncode == -9
    simhost.run_for(1)
    # PR_SET_PDEATHSIG: the orphaned runner got SIGTERM, exited 0 and init reaped it
    runner = simhost.process(1001)
    assert (runner.state, runner.exit_status, runner.reaped_by) == ("reaped", Exited(0), 1)
    assert lines(d)[-1] == "runner 1001 stopping after 1 jobs"
    assert "bye" not in lines(d)
    assert simhost.tree() == "1 init"


def test_dead_runner_is_restarted(simhost, daemon_argv):
    d = start(simhost, daemon_argv)
    simhost.run_for(12)
    simhost.kill(1001, signal.SIGKILL)
    simhost.run_for(20)
    old = simhost.process(1001)
    assert (old.exit_status, old.reaped_by) == (Signaled(signal.SIGKILL), 1000)
    assert [c.pid for c in d.children()] == [1002]
    assert lines(d)[3:] == ["runner 1001 killed by SIGKILL, restarted as 1002",
                            f"runner 1002 started at {START + 12}",
                            f"job 1 at {START + 22}",
                            f"job 2 at {START + 32}"]
    simhost.assert_no_zombies()


@pytest.mark.simproc(stop_time=7200)
def test_a_virtual_hour(simhost, daemon_argv):
    d = start(simhost, daemon_argv)
    simhost.run_for(3600)
    jobs = [l for l in lines(d) if l.startswith("job ")]
    assert len(jobs) == 360
    assert jobs[-1] == f"job 360 at {START + 3600}"
    assert jobs == [f"job {n} at {START + 10 * n}" for n in range(1, 361)]


@pytest.mark.simproc(stop_time=60, expected_final_state="running")
def test_left_running_at_stop_time(simhost, daemon_argv):
    d = start(simhost, daemon_argv)
    simhost.run_for(30)
    assert d.state == "running" and d.exit_status is None
    # teardown runs the host to stop_time (60 s): the daemon is still up, so its final
    # state is Running (then the host's shutdown SIGTERM stops it)


@pytest.mark.simproc(stop_time=60)
def test_what_stop_time_does(simhost, daemon_argv):
    d = start(simhost, daemon_argv)
    simhost.run()
    assert simhost.now == START + 60
    assert d.exit_status == Running and d.returncode is None
    assert simhost.process(1001).exit_status == Running
    # at stop_time every process got the shutdown signal (SIGTERM) at once
    out = lines(d)
    assert out[2:8] == [f"job {n} at {START + 10 * n}" for n in range(1, 7)]
    assert out[8:] == ["runner 1001 stopping after 6 jobs", "stopping",
                       "runner 1001 exited 0", "bye"]


def test_usage_error(simhost, daemon_argv):
    d = start(simhost, daemon_argv, "--bogus", expected_final_state=Exited(2))
    assert d.wait() == Exited(2)
    assert d.stderr == b"usage: pydaemon.py [--config FILE]\n"
    assert d.children() == [] and len(simhost.processes()) == 1
