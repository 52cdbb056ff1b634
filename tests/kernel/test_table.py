"""Process table: pid allocation, spawn/fork/exec, exit, reparenting, reaping, history."""

import errno
import signal

import pytest

from pytest_simproc.kernel import Exited, KernelError, ProcessTable, Signaled
from pytest_simproc.kernel import rlimits as rl


def raises(code):
    """Context manager asserting a KernelError with the given errno."""

    class _Ctx:
        def __enter__(self):
            self._cm = pytest.raises(KernelError)
            self.info = self._cm.__enter__()
            return self.info

        def __exit__(self, *exc):
            result = self._cm.__exit__(*exc)
            assert self.info.value.errno == code, str(self.info.value)
            return result

    return _Ctx()


@pytest.fixture
def table():
    return ProcessTable()


def test_init(table):
    init = table.init
    assert (init.pid, init.ppid, init.pgid, init.sid) == (1, 0, 1, 1)
    assert init.argv == ["init"] and init.exe == "init"
    assert table.get(1) is init and table.lookup_any(1) is init
    assert table.processes() == [] and table.live() == [] and table.zombies() == []


def test_spawn(table):
    p = table.spawn(["sleep", "1"], "/bin/sleep", 5)
    q = table.spawn(["true"], "true", 6, rlimits={"NOFILE": (10, 20)})
    assert (p.pid, p.ppid, p.pgid, p.sid) == (1000, 1, 1, 1)
    assert q.pid == 1001
    assert p.exe == "sleep" and p.argv == ["sleep", "1"]
    assert p.state == "running" and p.is_alive and not p.is_zombie
    assert p.start_time_ns == 5 and p.end_time_ns is None and p.exit_status is None
    assert table.init.children == [1000, 1001]
    assert p.rlimits == table.default_rlimits
    assert q.rlimits[rl.RLIMIT_NOFILE] == (10, 20)
    assert q.rlimits[rl.RLIMIT_CORE] == table.default_rlimits[rl.RLIMIT_CORE]
    assert table.processes() == [p, q] and table.live() == [p, q]


def test_table_default_rlimits_override():
    t = ProcessTable(rlimits={"NOFILE": "100:200"})
    assert t.spawn(["a"], "a", 0).rlimits[rl.RLIMIT_NOFILE] == (100, 200)


def test_fork_copies_identity_and_clears_prctl_state(table):
    parent = table.spawn(["sh"], "sh", 0)
    table.set_pdeathsig(parent.pid, signal.SIGTERM)
    table.set_subreaper(parent.pid, True)
    table.exec(parent.pid, ["sh", "-c", "x"], "/bin/sh")
    child = table.fork(parent.pid, 7)
    assert child.ppid == parent.pid
    assert (child.pgid, child.sid) == (parent.pgid, parent.sid)
    assert child.argv == parent.argv and child.exe == "sh"
    assert child.argv is not parent.argv
    assert child.pdeathsig == 0 and child.is_subreaper is False
    assert child.has_execed is False
    assert child.rlimits == parent.rlimits and child.rlimits is not parent.rlimits
    assert child.start_time_ns == 7
    assert parent.children == [child.pid]


def test_clone_parent_gives_the_child_its_callers_parent(table):
    """clone(2) CLONE_PARENT: a copy of the caller (group, session, limits) whose
    parent is the caller's parent; not from init (EINVAL)."""
    grandparent = table.spawn(["sh"], "sh", 0)
    caller = table.fork(grandparent.pid, 1)
    table.setpgid(caller.pid, 0, 0)
    caller.rlimits[rl.RLIMIT_NOFILE] = (64, 64)
    child = table.fork(caller.pid, 2, clone_parent=True)
    assert child.ppid == grandparent.pid
    assert (child.pgid, child.sid) == (caller.pid, grandparent.sid)
    assert child.rlimits[rl.RLIMIT_NOFILE] == (64, 64)
    assert grandparent.children == [caller.pid, child.pid] and caller.children == []
    sibling = table.fork(grandparent.pid, 3, clone_parent=True)  # a child of init's
    assert sibling.ppid == 1 and sibling.pid in table.init.children
    with raises(errno.EINVAL):
        table.fork(1, 4, clone_parent=True)


def test_exec(table):
    p = table.spawn(["a"], "a", 0)
    table.exec(p.pid, ["b", "x"], "/usr/bin/b")
    assert p.argv == ["b", "x"] and p.exe == "b" and p.has_execed


def test_unknown_pids_are_esrch(table):
    p = table.spawn(["a"], "a", 0)
    for call in (
        lambda: table.fork(4242, 0),
        lambda: table.exec(4242, [], "x"),
        lambda: table.exit(4242, Exited(0), 0),
        lambda: table.reap(4242, 1),
        lambda: table.stop(4242, 19),
        lambda: table.cont(4242),
        lambda: table.set_subreaper(4242, True),
        lambda: table.set_pdeathsig(4242, 9),
        lambda: table.children_of(4242),
    ):
        with raises(errno.ESRCH) as info:
            call()
        assert "4242" in str(info.value)
    table.exit(p.pid, Exited(0), 1)  # reaped by init at once
    with raises(errno.ESRCH):
        table.fork(p.pid, 2)


def test_init_cannot_exit_or_be_reaped(table):
    with raises(errno.EPERM):
        table.exit(1, Exited(0), 0)
    with raises(errno.EPERM):
        table.reap(1, 1)
    assert table.stop(1, signal.SIGSTOP) is False


def test_exit_status_must_be_final(table):
    from pytest_simproc.kernel import Running

    p = table.spawn(["a"], "a", 0)
    with pytest.raises(ValueError):
        table.exit(p.pid, Running, 0)


# ------------------------------------------------------------ pid allocation


def test_pid_allocation_counts_up_and_wraps():
    t = ProcessTable(first_pid=10, pid_max=13)
    pids = [t.spawn(["a"], "a", 0).pid for _ in range(3)]
    assert pids == [10, 11, 12]
    t.exit(11, Exited(0), 1)  # child of init: reaped at once, pid free again
    assert t.spawn(["b"], "b", 2).pid == 11  # wrapped from 12 to 10, skipped live 10
    with raises(errno.EAGAIN):
        t.spawn(["c"], "c", 3)


def test_pid_allocation_skips_zombies():
    t = ProcessTable(first_pid=10, pid_max=14)
    parent = t.spawn(["p"], "p", 0)  # 10
    child = t.fork(parent.pid, 0)  # 11
    t.spawn(["x"], "x", 0)  # 12
    t.exit(child.pid, Exited(0), 1)  # zombie: parent has not waited
    assert t.spawn(["y"], "y", 0).pid == 13
    assert t.get(11).is_zombie
    with raises(errno.EAGAIN):
        t.allocate_pid()
    t.reap(11, parent.pid)
    assert t.allocate_pid() == 11


def test_pid_allocation_skips_ids_used_as_group_or_session():
    t = ProcessTable(first_pid=10, pid_max=14)
    leader = t.spawn(["l"], "l", 0)  # 10
    t.setsid(leader.pid)  # session 10, group 10
    member = t.fork(leader.pid, 0)  # 11, in group/session 10
    t.exit(leader.pid, Exited(0), 1)  # leader reaped by init; 10 still a pgid/sid
    assert t.get(10) is None
    assert [t.spawn(["x"], "x", 0).pid for _ in range(2)] == [12, 13]
    with raises(errno.EAGAIN):
        t.allocate_pid()  # 10 is still used as pgid and sid, 11 is live
    t.exit(member.pid, Exited(0), 2)  # last member of group/session 10 is reaped
    assert t.allocate_pid() == 10


def test_allocate_tid_reserves_until_released():
    t = ProcessTable(first_pid=10, pid_max=12)
    tid = t.allocate_tid()
    assert tid == 10
    assert t.spawn(["a"], "a", 0).pid == 11
    with raises(errno.EAGAIN):
        t.allocate_pid()
    t.release_tid(tid)
    assert t.allocate_pid() == 10


def test_constructor_validates_range():
    with pytest.raises(ValueError):
        ProcessTable(first_pid=1)
    with pytest.raises(ValueError):
        ProcessTable(first_pid=100, pid_max=100)


def test_nproc_limit_makes_fork_fail():
    t = ProcessTable(rlimits={"NPROC": 3})
    p = t.spawn(["a"], "a", 0)
    t.fork(p.pid, 0)
    t.fork(p.pid, 0)
    with raises(errno.EAGAIN):
        t.fork(p.pid, 0)
    t.fork(1, 0)  # the host itself is exempt


# ---------------------------------------------------------------- exit/reap


def test_exit_of_init_child_is_reaped_by_init(table):
    p = table.spawn(["a"], "a", 0)
    result = table.exit(p.pid, Signaled("SEGV", core=True), 99)
    assert result.process is p and result.parent_pid == 1
    assert p.state == "reaped" and p.reaped_by == 1 and p.end_time_ns == 99
    assert p.exit_status == Signaled(11) and p.exit_status.core
    assert result.reaped_by_init == [p.pid]
    assert table.get(p.pid) is None and table.lookup_any(p.pid) is p
    assert table.init.children == []
    assert table.processes() == [p]


def test_init_that_waits_keeps_its_zombies_until_it_reaps(table):
    # drop-in mode's test as pid 1: a real init keeps a child's and an adopted
    # orphan's zombie until it waits for them (wait(2))
    assert not table.init_waits  # fixture mode: the model's init reaps at once
    table.init_waits = True
    p = table.spawn(["a"], "a", 0)
    b = table.fork(p.pid, 0)
    orphan = table.fork(b.pid, 0)
    result = table.exit(p.pid, Exited(0), 1)
    assert result.reaped_by_init == [] and p.is_zombie
    assert table.init.children == [p.pid, b.pid]  # b adopted
    table.exit(orphan.pid, Exited(2), 2)   # a zombie when its parent ends
    result = table.exit(b.pid, Signaled(signal.SIGTERM), 3)
    assert result.new_parent_of == {orphan.pid: 1} and result.reaped_by_init == []
    assert orphan.is_zombie and b.is_zombie and orphan.ppid == 1
    assert table.init.children == [p.pid, b.pid, orphan.pid]
    for proc in (orphan, p, b):
        table.reap(proc.pid, 1)
        assert proc.state == "reaped" and proc.reaped_by == 1
    assert table.init.children == [] and table.zombies() == []


def test_exit_leaves_zombie_until_parent_reaps(table):
    parent = table.spawn(["p"], "p", 0)
    child = table.fork(parent.pid, 1)
    result = table.exit(child.pid, Exited(3), 5)
    assert result.parent_pid == parent.pid and result.reaped_by_init == []
    assert child.is_zombie and table.zombies() == [child]
    assert parent.children == [child.pid]
    with raises(errno.ESRCH):
        table.exit(child.pid, Exited(0), 6)  # already dead
    table.reap(child.pid, parent.pid)
    assert child.state == "reaped" and child.reaped_by == parent.pid
    assert parent.children == [] and table.zombies() == []
    assert table.processes() == [parent, child]


def test_reap_requires_zombie(table):
    p = table.spawn(["p"], "p", 0)
    c = table.fork(p.pid, 0)
    with raises(errno.EINVAL):
        table.reap(c.pid, p.pid)


def test_parent_autoreaps(table):
    parent = table.spawn(["p"], "p", 0)
    child = table.fork(parent.pid, 1)
    result = table.exit(child.pid, Exited(0), 2, parent_autoreaps=True)
    assert result.parent_pid == parent.pid
    assert child.state == "reaped" and child.reaped_by == parent.pid
    assert parent.children == [] and result.reaped_by_init == []


def test_orphans_go_to_init_and_zombie_orphans_are_reaped(table):
    a = table.spawn(["a"], "a", 0)
    b = table.fork(a.pid, 0)
    c1 = table.fork(b.pid, 0)
    c2 = table.fork(b.pid, 0)
    c3 = table.fork(b.pid, 0)
    table.set_pdeathsig(c1.pid, signal.SIGKILL)
    table.set_pdeathsig(c2.pid, signal.SIGTERM)
    table.exit(c2.pid, Exited(4), 1)  # zombie child of b
    result = table.exit(b.pid, Exited(0), 2)
    assert result.parent_pid == a.pid
    assert result.reparented == [c1.pid, c2.pid, c3.pid]
    assert result.new_parent_of == {c1.pid: 1, c2.pid: 1, c3.pid: 1}
    assert result.pdeath_signals == [(c1.pid, signal.SIGKILL)]  # zombies get none
    assert result.reaped_by_init == [c2.pid]
    assert c2.state == "reaped" and c2.reaped_by == 1 and c2.ppid == 1
    assert c1.ppid == 1 and c3.ppid == 1
    assert table.init.children == [a.pid, c1.pid, c3.pid]
    assert b.is_zombie and b.children == [] and a.children == [b.pid]


def test_nearest_live_subreaper_adopts(table):
    top = table.spawn(["top"], "top", 0)
    mid = table.fork(top.pid, 0)
    low = table.fork(mid.pid, 0)
    dying = table.fork(low.pid, 0)
    kid = table.fork(dying.pid, 0)
    zkid = table.fork(dying.pid, 0)
    table.set_subreaper(top.pid, True)
    table.set_subreaper(mid.pid, True)
    table.set_subreaper(dying.pid, True)  # its own flag does not count
    table.exit(zkid.pid, Exited(0), 1)
    result = table.exit(dying.pid, Exited(0), 2)
    assert result.new_parent_of == {kid.pid: mid.pid, zkid.pid: mid.pid}
    assert mid.children == [low.pid, kid.pid, zkid.pid]
    assert zkid.is_zombie and zkid.ppid == mid.pid  # subreaper must wait for it
    assert result.reaped_by_init == []
    assert low.children == [dying.pid]


def test_subreaper_flag_can_be_cleared(table):
    top = table.spawn(["top"], "top", 0)
    mid = table.fork(top.pid, 0)
    kid = table.fork(mid.pid, 0)
    table.set_subreaper(top.pid, True)
    table.set_subreaper(top.pid, False)
    assert table.exit(mid.pid, Exited(0), 1).new_parent_of == {kid.pid: 1}


def test_set_pdeathsig_validates(table):
    p = table.spawn(["a"], "a", 0)
    table.set_pdeathsig(p.pid, 0)
    table.set_pdeathsig(p.pid, 64)
    for bad in (-1, 65):
        with raises(errno.EINVAL):
            table.set_pdeathsig(p.pid, bad)


def test_stop_and_cont(table):
    p = table.spawn(["a"], "a", 0)
    assert table.stop(p.pid, signal.SIGTSTP) is True
    assert p.state == "stopped" and p.is_alive and p.stop_signal == signal.SIGTSTP
    assert p.stop_report_pending and not p.continue_report_pending
    assert table.stop(p.pid, signal.SIGSTOP) is False
    assert p.stop_signal == signal.SIGTSTP
    assert table.cont(p.pid) is True
    assert p.state == "running" and p.continue_report_pending and not p.stop_report_pending
    assert table.cont(p.pid) is False
    assert table.stop(p.pid, signal.SIGSTOP) is True
    assert not p.continue_report_pending


def test_exit_while_stopped_clears_reports(table):
    parent = table.spawn(["p"], "p", 0)
    c = table.fork(parent.pid, 0)
    table.stop(c.pid, signal.SIGSTOP)
    table.exit(c.pid, Signaled("KILL"), 1)
    assert c.is_zombie and not c.stop_report_pending
    assert table.stop(c.pid, signal.SIGSTOP) is False
    assert table.cont(c.pid) is False


def test_reused_pid_lookup_any_returns_newest():
    t = ProcessTable(first_pid=10, pid_max=12)
    old = t.spawn(["old"], "old", 0)
    t.spawn(["x"], "x", 0)
    t.exit(old.pid, Exited(1), 1)
    new = t.spawn(["new"], "new", 2)
    assert new.pid == old.pid
    assert t.lookup_any(10) is new and t.get(10) is new
    assert [p.exe for p in t.processes()] == ["old", "x", "new"]
    assert old.reaped_by == 1


def test_group_with_another_outside_link_is_not_orphaned(table):
    shell = table.spawn(["sh"], "sh", 0)
    table.setsid(shell.pid)
    job = table.fork(shell.pid, 0)
    table.setpgid(shell.pid, job.pid, job.pid)
    job2 = table.fork(shell.pid, 0)
    table.setpgid(shell.pid, job2.pid, job.pid)  # a second pipeline member
    worker = table.fork(job.pid, 0)
    table.stop(worker.pid, signal.SIGTSTP)
    # job2's parent (the shell) is still a link into the session from outside the group.
    assert table.exit(job.pid, Exited(0), 1).orphaned_pgrps == []
    assert not table.is_orphaned_pgrp(job.pid)


def test_orphaned_group_when_last_link_exits(table, stopped_job):
    shell, job, _worker = stopped_job
    # The shell is job's only link outside the group; when the shell exits, job's
    # group is orphaned and has a stopped member.
    result = table.exit(shell.pid, Exited(0), 1)
    assert result.orphaned_pgrps == [job.pid]
    assert table.is_orphaned_pgrp(job.pid)


def test_group_not_orphaned_without_stopped_members(table):
    shell = table.spawn(["sh"], "sh", 0)
    table.setsid(shell.pid)
    job = table.fork(shell.pid, 0)
    table.setpgid(shell.pid, job.pid, job.pid)
    table.fork(job.pid, 0)
    assert table.exit(shell.pid, Exited(0), 1).orphaned_pgrps == []


def test_own_group_orphaned_by_exit(table):
    shell = table.spawn(["sh"], "sh", 0)
    table.setsid(shell.pid)
    job = table.fork(shell.pid, 0)
    table.setpgid(shell.pid, job.pid, job.pid)
    sibling = table.fork(job.pid, 0)
    child_of_sib = table.fork(sibling.pid, 0)
    table.stop(child_of_sib.pid, signal.SIGSTOP)
    # job's parent (shell) is in another group of the same session: job is the link.
    result = table.exit(job.pid, Exited(0), 1)
    assert result.orphaned_pgrps == [job.pid]


def test_many_processes():
    t = ProcessTable()
    parents = [t.spawn(["p"], "p", 0) for _ in range(300)]
    for p in parents:
        for _ in range(10):
            t.fork(p.pid, 0)
    for p in parents:
        t.exit(p.pid, Exited(0), 1)
    for z in list(t.live()):
        t.exit(z.pid, Exited(0), 2)
    assert len(t.processes()) == 3300 and t.live() == [] and t.zombies() == []


def test_ns_last_pid_moves_the_pid_counter():
    """pid_namespaces(7) ns_last_pid: the last id handed out; written, the next id is
    the first free one after the value (a live one is skipped), within 0..pid_max."""
    table = ProcessTable(first_pid=100, pid_max=200)
    a = table.spawn(["a"], "a", 0)
    b = table.spawn(["b"], "b", 0)
    assert table.last_pid == b.pid == 101
    table.set_last_pid(a.pid - 1)
    assert table.spawn(["c"], "c", 0).pid == 102  # 100 and 101 are taken
    table.set_last_pid(5)
    assert table.spawn(["d"], "d", 0).pid == 6 and table.last_pid == 6
    table.set_last_pid(199)
    assert table.spawn(["e"], "e", 0).pid == 103  # wraps to first_pid
    for bad in (-1, 201):
        with pytest.raises(KernelError):
            table.set_last_pid(bad)
