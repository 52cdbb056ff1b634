"""A C supervisor daemon (supervisor.c) tested in a simulated host.

The supervisor forks workers that write a heartbeat every second, restarts any worker
that dies and shuts down cleanly on SIGTERM. In the host its pid is 1000 and its
workers are 1001, 1002, ... on every run, an hour of heartbeats is virtual (how fast
is the benchmarks' business: benchmarks/run.py, workload (e)), and the process table
(zombies, who reaped whom) is inspectable.
"""
from __future__ import annotations

import signal

import pytest

from pytest_simproc import Exited, Signaled

START = 946684800  # the host's default start_time


def lines(proc) -> list[str]:
    return proc.stdout.decode().splitlines()


def heartbeats(proc, pid: int) -> list[int]:
    """The timestamps of ``pid``'s heartbeat lines in ``proc``'s stdout."""
    out = []
    for line in lines(proc):
        parts = line.split()
        if parts[0] == "heartbeat" and int(parts[1]) == pid:
            out.append(int(parts[2]))
    return out


def test_pids_are_deterministic(simhost, programs):
    sup = simhost.spawn([programs["supervisor"], "2"])
    simhost.run_for(0.5)
    assert sup.pid == 1000
    assert (sup.ppid, sup.pgid, sup.sid) == (1, 1, 1)
    workers = sup.children()
    assert [w.pid for w in workers] == [1001, 1002]
    assert all(w.ppid == 1000 and w.state == "running" for w in workers)
    assert lines(sup) == [f"supervisor 1000 starting 2 workers at {START}"]
    assert simhost.tree() == (
        "1 init\n"
        f"`-- 1000 {programs['supervisor']} 2 [running]\n"
        f"    |-- 1001 {programs['supervisor']} 2 [running]\n"
        f"    `-- 1002 {programs['supervisor']} 2 [running]")


@pytest.mark.parametrize("n", [1, 3, 5])
def test_worker_count(simhost, programs, n):
    sup = simhost.spawn([programs["supervisor"], str(n)])
    simhost.run_for(1)
    assert [w.pid for w in sup.children()] == list(range(1001, 1001 + n))
    # one heartbeat each, stamped with the virtual second it was written in
    assert sorted(lines(sup)[1:]) == [f"heartbeat {pid} {START + 1}"
                                      for pid in range(1001, 1001 + n)]


@pytest.mark.simproc(expected_final_state=Exited(0), stop_time=600)
def test_killed_worker_is_restarted_and_reaped(simhost, programs):
    sup = simhost.spawn([programs["supervisor"], "2"])
    simhost.run_for(5)
    worker = sup.children()[0]
    assert worker.pid == 1001
    worker.send_signal(signal.SIGKILL)
    simhost.run_for(1)
    # the supervisor reaped it at once (it was blocked in wait4) and started 1003
    assert worker.state == "reaped"
    assert worker.reaped_by == sup.pid
    assert worker.exit_status == Signaled(signal.SIGKILL)
    assert worker.returncode == -signal.SIGKILL
    assert [w.pid for w in sup.children()] == [1002, 1003]
    assert "restart 1001 -> 1003 status signal 9" in lines(sup)
    simhost.assert_no_zombies()
    # the new worker beats from the second after the kill on
    assert heartbeats(sup, 1003) == [START + 6]
    assert heartbeats(sup, 1001) == [START + 1, START + 2, START + 3, START + 4, START + 5]
    sup.send_signal(signal.SIGTERM)
    assert sup.wait(timeout=30) == Exited(0)
    # the marker's expected_final_state is checked again at teardown


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGINT])
def test_restart_reports_the_signal(simhost, programs, sig):
    sup = simhost.spawn([programs["supervisor"], "1"])
    simhost.run_for(2)
    simhost.kill(1001, sig)
    simhost.run_for(0)
    assert simhost.process(1001).exit_status == Signaled(sig)
    assert lines(sup)[-1] == f"restart 1001 -> 1002 status signal {int(sig)}"


def test_repeated_crashes_use_fresh_pids(simhost, programs):
    sup = simhost.spawn([programs["supervisor"], "2"])
    simhost.run_for(1)
    for expected_new in range(1003, 1013):
        victim = sup.children()[0]
        victim.kill()
        simhost.run_for(1)
        assert victim.reaped_by == 1000
        assert sup.children()[-1].pid == expected_new
    restarts = [l for l in lines(sup) if l.startswith("restart")]
    assert restarts == [
        "restart 1001 -> 1003 status signal 9", "restart 1002 -> 1004 status signal 9",
        "restart 1003 -> 1005 status signal 9", "restart 1004 -> 1006 status signal 9",
        "restart 1005 -> 1007 status signal 9", "restart 1006 -> 1008 status signal 9",
        "restart 1007 -> 1009 status signal 9", "restart 1008 -> 1010 status signal 9",
        "restart 1009 -> 1011 status signal 9", "restart 1010 -> 1012 status signal 9"]
    # every process ever (init excluded), in creation order, reaped ones too
    assert [p.pid for p in simhost.processes()] == list(range(1000, 1013))
    simhost.assert_no_zombies()


def test_stopped_supervisor_leaves_a_zombie(simhost, programs):
    sup = simhost.spawn([programs["supervisor"], "2"])
    simhost.run_for(1)
    sup.send_signal(signal.SIGSTOP)
    simhost.run_for(1)
    assert sup.state == "stopped"
    simhost.kill(1002, signal.SIGKILL)
    simhost.run_for(1)
    # nobody reaps while the supervisor is stopped
    assert [z.pid for z in simhost.zombies()] == [1002]
    assert "1002" in simhost.tree() and "zombie <defunct>" in simhost.tree()
    with pytest.raises(AssertionError, match="1002"):
        simhost.assert_no_zombies()
    sup.send_signal(signal.SIGCONT)
    simhost.run_for(1)
    simhost.assert_no_zombies()
    assert simhost.process(1002).reaped_by == 1000
    assert "restart 1002 -> 1003 status signal 9" in lines(sup)
    assert [w.pid for w in sup.children()] == [1001, 1003]


@pytest.mark.simproc(expected_final_state=Exited(0))
def test_sigterm_shuts_down_cleanly(simhost, programs):
    sup = simhost.spawn([programs["supervisor"], "2"])
    simhost.run_for(10)
    sup.terminate()
    assert sup.wait(timeout=30) == Exited(0)
    assert simhost.now == START + 10   # the shutdown took no virtual time
    out = lines(sup)
    assert out[-4] == f"supervisor stopping at {START + 10}"
    assert sorted(out[-3:-1]) == ["reaped 1001 status signal 15",
                                  "reaped 1002 status signal 15"]
    assert out[-1] == "bye"
    for pid in (1001, 1002):
        w = simhost.process(pid)
        assert (w.state, w.exit_status, w.reaped_by) == ("reaped", Signaled(signal.SIGTERM), 1000)
    assert sup.reaped_by == 1    # init reaps what the test spawned
    assert [p.pid for p in simhost.processes()] == [1000, 1001, 1002]
    simhost.assert_no_zombies()


@pytest.mark.simproc(expected_final_state=Exited(0))
def test_sigterm_racing_a_crash(simhost, programs):
    sup = simhost.spawn([programs["supervisor"], "2"])
    simhost.run_for(2)
    # both happen before the supervisor runs again. As on Linux, its wait4, woken by
    # the death, reaps the dead worker before the SIGTERM handler runs (wait(2): the
    # wait finds the child before it looks at signals), so the worker is restarted once
    # more; then the handler's flag stops the loop and both workers are stopped. (The
    # new worker keeps SIGTERM blocked until its default action is back: otherwise the
    # SIGTERM sent at once would run the supervisor's handler in it, and it would live.)
    simhost.kill(1001, signal.SIGKILL)
    sup.terminate()
    assert sup.wait(timeout=5) == Exited(0)
    assert lines(sup)[-5:] == ["restart 1001 -> 1003 status signal 9",
                               f"supervisor stopping at {START + 2}",
                               "reaped 1002 status signal 15",
                               "reaped 1003 status signal 15",
                               "bye"]
    assert [p.pid for p in simhost.processes()] == [1000, 1001, 1002, 1003]


@pytest.mark.simproc(stop_time=7200)
def test_an_hour_of_heartbeats(simhost, programs):
    sup = simhost.spawn([programs["supervisor"], "2"])
    simhost.run_for(3600)
    assert simhost.now == START + 3600
    assert len(heartbeats(sup, 1001)) == 3600
    assert len(heartbeats(sup, 1002)) == 3600
    assert len(lines(sup)) == 1 + 7200


def test_heartbeat_timestamps_are_exact_virtual_seconds(simhost, programs):
    sup = simhost.spawn([programs["supervisor"], "1"])
    simhost.run_for(100)
    assert heartbeats(sup, 1001) == list(range(START + 1, START + 101))


@pytest.mark.simproc(start_time=1_700_000_000)
def test_start_time_is_configurable(simhost, programs):
    sup = simhost.spawn([programs["supervisor"], "1"])
    simhost.run_for(3)
    assert lines(sup) == ["supervisor 1000 starting 1 workers at 1700000000",
                          "heartbeat 1001 1700000001",
                          "heartbeat 1001 1700000002",
                          "heartbeat 1001 1700000003"]


def test_bad_argument(simhost, programs):
    p = simhost.spawn([programs["supervisor"], "0"], expected_final_state=Exited(2))
    assert p.wait(timeout=1) == Exited(2)
    assert p.stdout == b""
    assert p.stderr == b"usage: supervisor [1..64]\n"
    assert simhost.now == START
