"""The host's /proc rendered from the model alone (procview.py), without a tracee: the
processes here have no native side, as init and zombies never do."""
from __future__ import annotations

from types import SimpleNamespace

from pytest_simproc.kernel import Exited, ProcessTable, VirtualClock
from pytest_simproc.kernel.timens import TimeNamespaces
from pytest_simproc.procview import ProcView

S = 1_000_000_000
START = 946684800 * S


def _task(tid, parked=False):
    return SimpleNamespace(tid=tid, block=object() if parked else None, native_parked=False,
                           exiting=False, gone=False)


def _usage(cpu, sys_, children_cpu, children_sys, tasks):
    return SimpleNamespace(cpu_ns=cpu, sys_ns=sys_, children_cpu_ns=children_cpu,
                           children_sys_ns=children_sys, maxrss_kb=0, children_maxrss_kb=0,
                           tasks=tasks)


def _host():
    table = ProcessTable(now_ns=START)
    shell = table.spawn(["sh", "-c", "x"], "sh", START)
    sleeper = table.fork(shell.pid, START + 2_500_000_000)
    table.exec(sleeper.pid, ["sleep", "100"], "sleep")
    dead = table.fork(shell.pid, START + 3 * S)
    table.exit(dead.pid, Exited(3), START + 4 * S)
    tasks = {shell.pid: _task(shell.pid), sleeper.pid: _task(sleeper.pid, parked=True)}
    info = {shell.pid: _usage(1_500_000_000, 200_000_000, 20_000_000, 10_000_000,
                              tasks=[tasks[shell.pid]]),
            sleeper.pid: _usage(0, 0, 0, 0, tasks=[tasks[sleeper.pid]]),
            dead.pid: _usage(10_000_000, 0, 0, 0, tasks=[])}
    clock = VirtualClock(START)
    clock.advance_by(10 * S)
    engine = SimpleNamespace(table=table, info=info, tasks_by_tid=tasks, start_time_ns=START,
                             native_pid_of=lambda pid: None, clock=clock,
                             timens=TimeNamespaces())
    return ProcView(engine)


def _fields(line: bytes) -> list[str]:
    return line.decode().split()


def test_pids_and_tids():
    view = _host()
    assert view.pids() == [1, 1000, 1001, 1002]
    assert view.tids(1000) == [1000] and view.tids(1002) == [1002] and view.tids(4242) == []
    # task/<tid>/children: the main thread's lists the process's children, zombies too
    assert view.children(1, 1) == b"1000 " and view.children(1000, 1000) == b"1001 1002 "
    assert view.pid_file(1000, 1000, "children") == b"1001 1002 "


def test_stat_of_init_a_runner_a_parked_task_and_a_zombie():
    view = _host()
    init = _fields(view.stat(1))
    # there from the host's start, a minute (6000 ticks) after its boot
    assert init[:8] == ["1", "(init)", "S", "0", "1", "1", "0", "-1"] and init[21] == "6000"
    shell = _fields(view.stat(1000))
    # running; utime 1.3 s + stime 0.2 s, cutime 0.01 s + cstime 0.01 s in ticks;
    # started at the host's start, a minute after its boot
    assert shell[:8] == ["1000", "(sh)", "R", "1", "1", "1", "0", "-1"]
    assert (shell[13], shell[14], shell[15], shell[16], shell[21]) == ("130", "20", "1", "1", "6000")
    sleeper = _fields(view.stat(1001))
    assert sleeper[:5] == ["1001", "(sleep)", "S", "1000", "1"] and sleeper[21] == "6250"
    zombie = _fields(view.stat(1002))
    assert zombie[:4] == ["1002", "(sh)", "Z", "1000"] and zombie[21] == "6300"
    assert len(zombie) == 52  # every field of proc(5)


def test_status_says_the_hosts_identity():
    view = _host()
    status = dict(line.split(":\t", 1) for line in view.status(1002).decode().splitlines())
    assert (status["State"], status["Pid"], status["PPid"], status["Tgid"]) == (
        "Z (zombie)", "1002", "1000", "1002")
    assert (status["TracerPid"], status["NSpid"], status["NSsid"]) == ("0", "1002", "1")
    assert view.status(1001).decode().count("State:\tS (sleeping)") == 1


def test_cmdline_and_system_files():
    view = _host()
    assert view.cmdline(1) == b"init\0" and view.cmdline(1002) == b""
    assert view.cmdline(1001) == b"sleep\x00100\x00"
    # 70 s up (booted a minute before the start); 1.5 + 0.01 s used by the processes
    assert view.uptime() == b"70.00 68.49\n"
    assert view.loadavg() == b"0.00 0.00 0.00 1/4 1002\n"
    assert b"\nbtime 946684740\n" in view.system_stat()
    assert view.pid_file(1002, None, "environ") == b""
    assert view.pid_file(1, None, "comm") == b"init\n"


def test_sched_schedstat_and_timens_offsets_from_the_model():
    view = _host()
    sched = view.pid_file(1000, None, "sched").decode().splitlines()
    assert sched[0] == "sh (1000, #threads: 1)" and set(sched[1]) == {"-"}
    values = {line.split(":")[0].strip(): line.split(":")[1].strip() for line in sched[2:]}
    assert values["se.sum_exec_runtime"] == "1500.000000"      # ms, the CPU model's
    assert values["se.exec_start"] == "70000.000000"   # since the boot, a minute before the start
    assert values["nr_switches"] == "0"
    assert view.pid_file(1000, None, "schedstat") == b"1500000000 0 0\n"
    assert view.pid_file(1002, None, "timens_offsets") == (
        b"monotonic           0         0\nboottime            0         0\n")


def test_timens_offsets_and_uptime_follow_the_namespaces():
    # timens_offsets: the namespace for children's offsets; /proc/uptime: the reader's
    # boottime offset (time_namespaces(7))
    view = _host()
    timens = view.engine.timens
    timens.unshare(1000)
    data = b"monotonic -5 0\nboottime 3600 250000000"
    assert timens.write_offsets(1000, data, 0, True, START, START) == len(data)
    assert view.pid_file(1000, None, "timens_offsets") == (
        b"monotonic          -5         0\nboottime         3600 250000000\n")
    assert view.pid_file(1001, None, "timens_offsets").startswith(b"monotonic           0")
    timens.fork(1000, 1001)
    assert view.system_file("uptime", 1000).startswith(b"70.00 ")
    assert view.system_file("uptime", 1001).startswith(b"3670.25 ")


def test_stack_is_absent_as_without_config_stacktrace():
    import errno
    import pytest
    from pytest_simproc.kernel.errors import KernelError
    with pytest.raises(KernelError) as info:
        _host().pid_file(1000, None, "stack")
    assert info.value.errno == errno.ENOENT


def test_namespace_links_of_the_machines_namespaces_read_as_the_first_ones():
    import os
    from pytest_simproc.procview import INITIAL_NAMESPACES, namespace_link
    own = os.readlink("/proc/self/ns/net").encode()
    assert namespace_link(own) == b"net:[%d]" % INITIAL_NAMESPACES[b"net"]
    assert namespace_link(b"net:[12345]") == b"net:[12345]"  # one a program made
    assert namespace_link(b"/tmp/x") == b"/tmp/x"
