"""Process identity: getpid, getppid, getpgrp, getsid, gettid (tests/programs/ids.c)."""
from __future__ import annotations

import os

import pytest

from pytest_simproc import Exited, SimHost

from .conftest import run_native, same_as_native


def parse_ids(stdout: bytes) -> tuple[int, int, int, int, int]:
    fields = stdout.split()
    assert len(fields) == 5, stdout
    return tuple(int(x) for x in fields)


def test_ids_native(build, native):
    res = native([build("ids")])
    assert res.returncode == 0, res.stderr
    pid, ppid, pgrp, sid, tid = parse_ids(res.stdout)
    assert pid == res.pid
    assert tid == pid
    assert ppid == os.getpid()
    assert pgrp == os.getpgrp()
    assert sid == os.getsid(0)


def test_ids_in_host(build):
    with SimHost() as host:
        p = host.spawn([build("ids")])
        assert (p.pid, p.ppid, p.pgid, p.sid) == (1000, 1, 1, 1)
        assert p.exit_status is None
        assert p.returncode is None
        host.run()
        assert p.stdout == b"1000 1 1 1 1000\n"
        assert p.stderr == b""
        assert p.exit_status == Exited(0)
        assert p.returncode == 0
        assert p.state == "reaped"
        assert p.reaped_by == 1
        assert host.process(1000).pid == 1000
        assert [q.pid for q in host.processes() if q.pid != 1] == [1000]


def test_pids_count_up_across_spawns(build):
    ids = build("ids")
    with SimHost() as host:
        first = host.spawn([ids])
        second = host.spawn([ids])
        host.run()
        assert first.stdout == b"1000 1 1 1 1000\n"
        assert second.stdout == b"1001 1 1 1 1001\n"
        assert first.pid == 1000 and second.pid == 1001
        # forked children take pids from the same counter
        tree = host.spawn([build("forktree")])
        tree.wait()
        assert tree.exit_status == Exited(0)
        last = host.spawn([ids])
        host.run()
        assert tree.pid == 1002
        assert last.stdout == b"1013 1 1 1 1013\n"
        assert [q.pid for q in host.processes() if q.pid != 1] == list(range(1000, 1014))


def test_unknown_pid_lookup(build):
    with SimHost() as host:
        host.spawn([build("ids")])
        host.run()
        with pytest.raises(LookupError):
            host.process(4242)


CAPS = (b"capget(child): effective is mine without CAP_KILL: yes\n"
        b"capget(getpid()) == capget(0): yes\n"
        b"capset(getpid()) = 0\n"
        b"capset(child) = -1 EPERM\n"
        b"capget(bad version, NULL) = 0, version 0x20080522\n"
        b"capget(reaped child) = -1 ESRCH\n")


def test_capget_and_capset_name_processes_by_virtual_pid(build):
    same_as_native([build("caps")], CAPS)


def test_ns_last_pid_is_the_hosts(build):
    """/proc/sys/kernel/ns_last_pid was the machine's: reads showed its last pid and
    writes moved its counter, never the host's (LTP's pidfd_send_signal03 could not
    have a child take a reaped child's pid). It is the host's pid namespace's now; a
    descriptor of the reaped child's /proc directory names no process (ESRCH), where
    it was EBADF. In a host only: natively the program moves the machine's counter,
    and any process forking meanwhile takes the pid."""
    if os.geteuid() != 0:
        pytest.skip("writing ns_last_pid needs CAP_SYS_ADMIN")
    with SimHost() as host:
        p = host.spawn([build("ns_last_pid")])
        host.run()
        assert p.stdout == (b"last pid is the child's: 1\nwrite 1000: whole\n"
                            b"next fork gets the same pid: 1\n"
                            b"signal through the old directory: -1 ESRCH\n"
                            b"write x: -1 EINVAL\nwrite 99999999: -1 EINVAL\n"
                            b"write without CAP_SYS_ADMIN: -1 EPERM\n")
        assert p.exit_status == Exited(0)


def test_cgroup_pid_lists_name_the_hosts_processes(build):
    """A cgroup's cgroup.procs listed the machine's pids, and a host's pid written to
    one moved the machine's process of that number: LTP's clone303 read its
    CLONE_INTO_CGROUP child as another pid (TFAIL), then its cleanup could not empty
    the cgroup and the program recursed in its own error path until its stack ran
    out (SIGSEGV, the program's, not the host's). Now reads list the host's numbers
    and writes are given the native ones."""
    if os.geteuid() != 0:
        pytest.skip("making a cgroup needs root")
    if run_native([build("cgroup_procs")]).stdout == b"no cgroup2\n":
        pytest.skip("no writable cgroup2 hierarchy on this machine")
    same_as_native([build("cgroup_procs")],
                   b"the child is listed: 1\nmoved back: whole, listed: 0\nremoved: 0\n")


def test_a_uts_namespace_a_program_makes_keeps_its_own_names(build):
    """sethostname(2)/setdomainname(2) in a UTS namespace the program made: EPERM in a
    host (the machine's names are not the host's to change), so LTP's setns02 failed;
    such a namespace now has names of its own (kernel/uts.py), seen by its children and
    left behind by setns(2) (tests/programs/uts_names.c)."""
    report = same_as_native([build("uts_names")],
                            b"copy same: 1\nset: 0\nsetdomain: 0\ninner: inner dom\n"
                            b"grandchild: inner dom\nsetns back: 0\nback same: 1\n"
                            b"parent same: 1\n")
    assert report["host"]["unsupported_syscalls"] == []
