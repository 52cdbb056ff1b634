"""setpgid(2), setsid(2), getpgid(2), getsid(2) and their errors."""

import errno

import pytest

from pytest_simproc.kernel import Exited, KernelError, ProcessTable


def errno_of(call):
    with pytest.raises(KernelError) as info:
        call()
    return info.value.errno


@pytest.fixture
def t():
    return ProcessTable()


@pytest.fixture
def shell(t):
    """A session leader (pid == sid == pgid) with one child."""
    sh = t.spawn(["sh"], "sh", 0)
    assert t.setsid(sh.pid) == sh.pid
    return sh


def test_setsid_creates_session_and_group(t):
    p = t.spawn(["a"], "a", 0)
    assert t.setsid(p.pid) == p.pid
    assert (p.pgid, p.sid) == (p.pid, p.pid)
    assert t.session_members(p.pid) == [p] and t.group_members(p.pid) == [p]
    assert p not in t.group_members(1) and p not in t.session_members(1)


def test_setsid_eperm_for_group_leader(t, shell):
    assert errno_of(lambda: t.setsid(shell.pid)) == errno.EPERM  # already leader
    child = t.fork(shell.pid, 0)
    t.setpgid(child.pid, 0, 0)  # child leads its own group
    assert errno_of(lambda: t.setsid(child.pid)) == errno.EPERM


def test_setsid_eperm_while_others_use_callers_pid_as_pgid(t, shell):
    leader = t.fork(shell.pid, 0)
    t.setpgid(leader.pid, 0, 0)
    member = t.fork(leader.pid, 0)  # in group leader.pid
    t.setpgid(leader.pid, 0, shell.pid)  # leader moves back to the shell's group
    assert leader.pgid == shell.pid and member.pgid == leader.pid
    assert errno_of(lambda: t.setsid(leader.pid)) == errno.EPERM
    t.exit(member.pid, Exited(0), 1)  # a zombie still keeps the group alive
    assert errno_of(lambda: t.setsid(leader.pid)) == errno.EPERM
    t.reap(member.pid, leader.pid)
    assert t.setsid(leader.pid) == leader.pid


def test_fork_keeps_group_and_session(t, shell):
    child = t.fork(shell.pid, 0)
    assert (child.pgid, child.sid) == (shell.pid, shell.pid)


def test_setpgid_zero_arguments(t, shell):
    child = t.fork(shell.pid, 0)
    t.setpgid(child.pid, 0, 0)  # self, own pid
    assert child.pgid == child.pid
    other = t.fork(shell.pid, 0)
    t.setpgid(shell.pid, other.pid, 0)  # child, pgid = child's pid
    assert other.pgid == other.pid
    t.setpgid(shell.pid, other.pid, child.pid)  # join an existing group in the session
    assert other.pgid == child.pid
    assert t.group_members(child.pid) == [child, other]
    assert not t.group_exists(other.pid)


def test_setpgid_einval_negative_pgid(t, shell):
    child = t.fork(shell.pid, 0)
    assert errno_of(lambda: t.setpgid(child.pid, 0, -1)) == errno.EINVAL


def test_setpgid_esrch(t, shell):
    child = t.fork(shell.pid, 0)
    grandchild = t.fork(child.pid, 0)
    stranger = t.spawn(["x"], "x", 0)
    for pid in (grandchild.pid, stranger.pid, 4242, -3):
        assert errno_of(lambda: t.setpgid(shell.pid, pid, shell.pid)) == errno.ESRCH
    # pgid 0 means "pid", so a negative pid with pgid 0 is EINVAL first.
    assert errno_of(lambda: t.setpgid(shell.pid, -3, 0)) == errno.EINVAL
    assert errno_of(lambda: t.setpgid(child.pid, shell.pid, 0)) == errno.ESRCH  # parent


def test_setpgid_eacces_after_exec(t, shell):
    child = t.fork(shell.pid, 0)
    t.exec(child.pid, ["ls"], "/bin/ls")
    assert errno_of(lambda: t.setpgid(shell.pid, child.pid, 0)) == errno.EACCES
    t.setpgid(child.pid, 0, 0)  # the child itself still may
    assert child.pgid == child.pid


def test_setpgid_eperm_session_leader(t, shell):
    assert errno_of(lambda: t.setpgid(shell.pid, 0, 0)) == errno.EPERM
    child = t.fork(shell.pid, 0)
    t.setsid(child.pid)
    # Child in another session: EPERM (checked before the leader test).
    assert errno_of(lambda: t.setpgid(shell.pid, child.pid, 0)) == errno.EPERM


def test_setpgid_eperm_child_in_other_session(t, shell):
    child = t.fork(shell.pid, 0)
    t.setsid(child.pid)
    t.exec(child.pid, ["x"], "x")
    # Another-session EPERM comes before EACCES in the kernel.
    assert errno_of(lambda: t.setpgid(shell.pid, child.pid, shell.pid)) == errno.EPERM


def test_setpgid_eperm_group_not_in_session(t, shell):
    child = t.fork(shell.pid, 0)
    other_session = t.spawn(["o"], "o", 0)
    t.setsid(other_session.pid)
    assert errno_of(lambda: t.setpgid(child.pid, 0, other_session.pid)) == errno.EPERM
    assert errno_of(lambda: t.setpgid(child.pid, 0, 4242)) == errno.EPERM
    assert child.pgid == shell.pid


def test_setpgid_to_group_of_zombie_member(t, shell):
    a = t.fork(shell.pid, 0)
    t.setpgid(a.pid, 0, 0)
    b = t.fork(shell.pid, 0)
    t.exit(a.pid, Exited(0), 1)  # zombie leader keeps group a alive
    t.setpgid(b.pid, 0, a.pid)
    assert b.pgid == a.pid


def test_getpgid_getsid(t, shell):
    child = t.fork(shell.pid, 0)
    t.setpgid(child.pid, 0, 0)
    assert t.getpgid(child.pid, 0) == child.pid
    assert t.getpgid(shell.pid, child.pid) == child.pid
    assert t.getsid(child.pid, 0) == shell.pid
    assert t.getsid(child.pid, 1) == 1 and t.getpgid(child.pid, 1) == 1
    assert errno_of(lambda: t.getpgid(child.pid, 4242)) == errno.ESRCH
    assert errno_of(lambda: t.getsid(child.pid, 4242)) == errno.ESRCH
    assert errno_of(lambda: t.getsid(child.pid, -1)) == errno.ESRCH
    t.exit(child.pid, Exited(0), 1)  # zombie: still visible
    assert t.getpgid(shell.pid, child.pid) == child.pid
    t.reap(child.pid, shell.pid)
    assert errno_of(lambda: t.getpgid(shell.pid, child.pid)) == errno.ESRCH


def test_members_are_in_creation_order(t, shell):
    kids = [t.fork(shell.pid, 0) for _ in range(4)]
    t.setpgid(kids[3].pid, 0, 0)
    for k in (kids[2], kids[0]):
        t.setpgid(shell.pid, k.pid, kids[3].pid)
    assert t.group_members(kids[3].pid) == [kids[0], kids[2], kids[3]]
    assert t.session_members(shell.pid) == [shell] + kids
    assert t.group_members(4242) == [] and t.session_members(4242) == []
