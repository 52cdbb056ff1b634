"""A classic double-forking daemon (dfdaemon.py) in a simulated host.

The launcher forks, the child calls setsid() and forks the daemon, then exits; the
daemon ends up adopted by init, writes a pidfile and runs a select() loop woken by a
self-pipe. In the host the daemon is pid 1002 on every run, its ticks come at exact
virtual seconds, and an hour of them costs milliseconds.
"""
from __future__ import annotations

import signal

import pytest

from pytest_simproc import Exited, Running, Signaled

START = 946684800

LAUNCHED = [f"daemon 1002 started at {START}.0 value hello", "launched 1002"]


@pytest.fixture
def files(tmp_path):
    """(pidfile, config) paths; the config says ``value = hello``."""
    config = tmp_path / "dfdaemon.conf"
    config.write_text("# dfdaemon\nvalue = hello\n")
    return tmp_path / "dfdaemon.pid", config


def launch(simhost, py_script, files, **kw):
    pidfile, config = files
    return simhost.spawn(**py_script("dfdaemon.py", str(pidfile), str(config)), **kw)


def lines(proc) -> list[str]:
    return proc.stdout.decode().splitlines()


def daemon_of(simhost, files):
    """The daemon, found the way an init script finds it: through its pidfile."""
    return simhost.process(int(files[0].read_text()))


def test_launcher_exits_once_the_daemon_is_ready(simhost, py_script, files):
    launcher = launch(simhost, py_script, files)
    assert launcher.wait(timeout=1) == Exited(0)
    assert simhost.now == START          # the whole start-up takes no virtual time
    assert lines(launcher) == LAUNCHED   # every process writes to the launcher's stdout
    assert launcher.stderr == b""
    assert files[0].read_text() == "1002\n"   # written before the launcher was told
    table = [(p.pid, p.state, p.exit_status, p.reaped_by) for p in simhost.processes()]
    assert table == [
        (1000, "reaped", Exited(0), 1),       # the launcher, reaped by init
        (1001, "reaped", Exited(0), 1000),    # the first child, reaped by the launcher
        (1002, "running", None, None),        # the daemon
    ]
    tree = simhost.tree().splitlines()       # the daemon hangs off init directly
    assert len(tree) == 2 and tree[0] == "1 init"
    assert tree[1].startswith(f"`-- 1002 {py_script.exe} -I -S dfdaemon.py ")
    assert tree[1].endswith(" [running]")
    simhost.assert_no_zombies()
    assert simhost.unsupported_syscalls == []


def test_the_daemon_is_detached(simhost, py_script, files):
    launcher = launch(simhost, py_script, files)
    launcher.wait(timeout=1)
    daemon = daemon_of(simhost, files)
    assert daemon.pid == 1002
    assert daemon.ppid == 1                  # reparented to init when 1001 exited
    # The first child's setsid() made it the leader of a new session and process group
    # (1001). The daemon, forked after that, is in both but leads neither: it is not a
    # group leader (pgid != pid) and, the point of the second fork, not a session
    # leader (sid != pid), so opening a terminal can never make it its controlling one.
    assert (daemon.sid, daemon.pgid) == (1001, 1001)
    assert daemon.sid != daemon.pid and daemon.pgid != daemon.pid
    first = simhost.process(1001)
    assert (first.sid, first.pgid, first.ppid) == (1001, 1001, 1000)
    assert (launcher.sid, launcher.pgid) == (1, 1)   # where the host spawned it


def test_ticks_at_exact_virtual_times(simhost, py_script, files):
    launch(simhost, py_script, files)
    simhost.run_for(35)
    daemon = daemon_of(simhost, files)
    assert daemon.state == "running"
    assert lines(simhost.process(1000))[2:] == [
        f"tick 1 {START + 10}.0", f"tick 2 {START + 20}.0", f"tick 3 {START + 30}.0"]


@pytest.mark.simproc(stop_time=7200)
def test_a_virtual_hour_of_ticks(simhost, py_script, files):
    launcher = launch(simhost, py_script, files)
    simhost.run_for(3600)
    ticks = lines(launcher)[2:]
    assert ticks == [f"tick {n} {START + 10 * n}.0" for n in range(1, 361)]


def test_sighup_reloads_the_config(simhost, py_script, files):
    launcher = launch(simhost, py_script, files)
    simhost.run_for(15)
    files[1].write_text("value = world\n")
    daemon_of(simhost, files).send_signal(signal.SIGHUP)
    simhost.run_for(20)
    assert lines(launcher) == LAUNCHED + [
        f"tick 1 {START + 10}.0",
        f"reloaded value world at {START + 15}.0",
        f"tick 2 {START + 20}.0",       # the wake-up moved no tick
        f"tick 3 {START + 30}.0",
    ]
    assert [p.pid for p in simhost.processes()] == [1000, 1001, 1002]  # nothing restarted


@pytest.mark.simproc(expected_final_state=Exited(0))
def test_sigterm_exits_cleanly(simhost, py_script, files):
    launcher = launch(simhost, py_script, files)
    simhost.run_for(12)
    pid = int(files[0].read_text())
    daemon = simhost.process(pid)
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=1) == Exited(0)
    assert simhost.process(pid).exit_status == Exited(0)
    assert simhost.now == START + 12
    assert not files[0].exists()               # the daemon removed its pidfile
    assert lines(launcher)[-2:] == [f"tick 1 {START + 10}.0", "bye"]
    assert (daemon.state, daemon.reaped_by) == ("reaped", 1)   # init reaped the orphan
    simhost.assert_no_zombies()
    assert simhost.tree() == "1 init"


def test_signals_sent_while_stopped_arrive_together(simhost, py_script, files):
    launcher = launch(simhost, py_script, files)
    simhost.run_for(5)
    files[1].write_text("value = last\n")
    daemon = daemon_of(simhost, files)
    daemon.send_signal(signal.SIGSTOP)
    simhost.run_for(1)
    daemon.send_signal(signal.SIGTERM)
    daemon.send_signal(signal.SIGHUP)
    simhost.run_for(1)
    assert daemon.state == "stopped"
    daemon.send_signal(signal.SIGCONT)
    # both C-level handlers run before select() returns; Python then runs the Python
    # handlers from signal 1 up, so the self-pipe holds SIGHUP's byte before SIGTERM's
    assert daemon.wait(timeout=1) == Exited(0)
    assert lines(launcher)[2:] == [f"reloaded value last at {START + 7}.0", "bye"]


def test_signals_sent_at_one_instant_arrive_together(simhost, py_script, files):
    launcher = launch(simhost, py_script, files)
    simhost.run_for(5)
    files[1].write_text("value = last\n")
    daemon = daemon_of(simhost, files)
    daemon.send_signal(signal.SIGTERM)     # the daemon does not run in between
    daemon.send_signal(signal.SIGHUP)
    assert daemon.wait(timeout=1) == Exited(0)
    assert lines(launcher)[2:] == [f"reloaded value last at {START + 5}.0", "bye"]


def test_sigkill_leaves_a_stale_pidfile(simhost, py_script, files):
    launch(simhost, py_script, files)
    simhost.run_for(5)
    daemon = daemon_of(simhost, files)
    daemon.kill()
    simhost.run_for(1)
    assert (daemon.exit_status, daemon.reaped_by) == (Signaled(signal.SIGKILL), 1)
    assert files[0].read_text() == "1002\n"    # nobody removed it
    simhost.assert_no_zombies()


@pytest.mark.simproc(stop_time=60)
def test_still_running_at_stop_time(simhost, py_script, files):
    launcher = launch(simhost, py_script, files)
    simhost.run()
    daemon = simhost.process(1002)
    assert simhost.now == START + 60
    assert daemon.exit_status == Running
    # then the host's shutdown signal, SIGTERM, stopped it the clean way
    assert lines(launcher)[-2:] == [f"tick 6 {START + 60}.0", "bye"]
    assert not files[0].exists()


def test_missing_config(simhost, py_script, files):
    files[1].unlink()
    launcher = launch(simhost, py_script, files, expected_final_state=Exited(1))
    assert launcher.wait(timeout=1) == Exited(1)
    err = launcher.stderr.decode().splitlines()
    assert err[0].startswith("daemon failed: FileNotFoundError(2, 'No such file")
    assert err[1] == "daemon died before it was ready"
    assert simhost.process(1002).exit_status == Exited(1)
    simhost.run_for(1)
    simhost.assert_no_zombies()


def test_usage_error(simhost, py_script):
    p = simhost.spawn(**py_script("dfdaemon.py"), expected_final_state=Exited(2))
    assert p.wait(timeout=1) == Exited(2)
    assert p.stderr == b"usage: dfdaemon.py PIDFILE CONFIG\n"
    assert len(simhost.processes()) == 1
