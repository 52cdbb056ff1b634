"""wait4(2) and waitid(2): selectors, options, reports and their consumption."""

import errno
import signal

import pytest

from pytest_simproc.kernel import Exited, KernelError, ProcessTable, Signaled, WaitEvent
from pytest_simproc.kernel import wait4, waitid
from pytest_simproc.kernel.wait import (
    CLD_CONTINUED,
    CLD_DUMPED,
    CLD_EXITED,
    CLD_KILLED,
    CLD_STOPPED,
    P_ALL,
    P_PGID,
    P_PID,
    P_PIDFD,
    WCONTINUED,
    WEXITED,
    WNOHANG,
    WNOWAIT,
    WSTOPPED,
    WUNTRACED,
    __WALL,
    __WCLONE,
    __WNOTHREAD,
)


def errno_of(call):
    with pytest.raises(KernelError) as info:
        call()
    return info.value.errno


@pytest.fixture
def family():
    """A parent with three children; the third in its own process group."""
    t = ProcessTable()
    parent = t.spawn(["p"], "p", 0)
    kids = [t.fork(parent.pid, 0) for _ in range(3)]
    t.setpgid(parent.pid, kids[2].pid, 0)
    return t, parent, kids


def test_exited_report_reaps(family):
    t, parent, kids = family
    t.exit(kids[1].pid, Exited(7), 1)
    event = wait4(t, parent.pid, -1, 0)
    assert event == WaitEvent(kids[1].pid, "exited", 7 << 8, CLD_EXITED, 7)
    assert kids[1].state == "reaped" and kids[1].reaped_by == parent.pid
    assert kids[1].pid not in parent.children
    assert wait4(t, parent.pid, -1, WNOHANG) is None


def test_killed_and_dumped(family):
    t, parent, kids = family
    t.exit(kids[0].pid, Signaled("TERM"), 1)
    t.exit(kids[1].pid, Signaled("SEGV", core=True), 1)
    assert wait4(t, parent.pid, -1, 0) == WaitEvent(kids[0].pid, "killed", 15, CLD_KILLED, 15)
    assert wait4(t, parent.pid, -1, 0) == WaitEvent(
        kids[1].pid, "dumped", 11 | 0x80, CLD_DUMPED, 11
    )


def test_children_in_creation_order(family):
    t, parent, kids = family
    for k in reversed(kids):
        t.exit(k.pid, Exited(0), 1)
    assert [wait4(t, parent.pid, -1, 0).pid for _ in kids] == [k.pid for k in kids]
    assert errno_of(lambda: wait4(t, parent.pid, -1, 0)) == errno.ECHILD


def test_selectors(family):
    t, parent, kids = family
    for k in kids:
        t.exit(k.pid, Exited(0), 1)
    # < -1: group -pid; the third child is alone in its group.
    assert wait4(t, parent.pid, -kids[2].pid, 0).pid == kids[2].pid
    assert errno_of(lambda: wait4(t, parent.pid, -kids[2].pid, 0)) == errno.ECHILD
    # > 0: that very child.
    assert wait4(t, parent.pid, kids[1].pid, 0).pid == kids[1].pid
    # 0: children in the waiter's own group.
    assert wait4(t, parent.pid, 0, 0).pid == kids[0].pid
    assert errno_of(lambda: wait4(t, parent.pid, 0, 0)) == errno.ECHILD


def test_none_when_matching_children_have_nothing_to_report(family):
    t, parent, kids = family
    assert wait4(t, parent.pid, -1, 0) is None
    assert wait4(t, parent.pid, kids[0].pid, WNOHANG) is None


def test_echild_cases(family):
    t, parent, kids = family
    lonely = t.spawn(["l"], "l", 0)
    assert errno_of(lambda: wait4(t, lonely.pid, -1, 0)) == errno.ECHILD
    # Not our child (a grandchild, a sibling, init's child, a nonexistent pid).
    grandchild = t.fork(kids[0].pid, 0)
    for sel in (grandchild.pid, lonely.pid, 4242):
        assert errno_of(lambda: wait4(t, parent.pid, sel, 0)) == errno.ECHILD
    assert errno_of(lambda: wait4(t, parent.pid, -4242, 0)) == errno.ECHILD
    assert errno_of(lambda: waitid(t, parent.pid, P_PID, 4242, WEXITED)) == errno.ECHILD


def test_init_children_not_waitable_by_others():
    t = ProcessTable()
    a = t.spawn(["a"], "a", 0)
    t.spawn(["b"], "b", 0)
    assert errno_of(lambda: wait4(t, a.pid, -1, WNOHANG)) == errno.ECHILD


def test_zombie_counts_only_for_exited_waits(family):
    # Linux 6.18, natively: a zombie child is no child for a wait without WEXITED
    # (ECHILD, before WNOHANG is looked at); a live child still makes it wait
    t, parent, kids = family
    t.exit(kids[0].pid, Exited(0), 1)
    for options in (WSTOPPED | WNOHANG, WSTOPPED, WCONTINUED | WNOHANG):
        assert errno_of(lambda: waitid(t, parent.pid, P_PID, kids[0].pid, options)) \
            == errno.ECHILD
    assert waitid(t, parent.pid, P_ALL, 0, WSTOPPED | WNOHANG) is None  # kids 1 and 2 live
    assert waitid(t, parent.pid, P_PID, kids[0].pid, WEXITED | WNOWAIT).pid == kids[0].pid


def test_stopped_needs_wuntraced_and_is_consumed(family):
    t, parent, kids = family
    t.stop(kids[1].pid, signal.SIGTSTP)
    assert wait4(t, parent.pid, -1, WNOHANG) is None
    event = wait4(t, parent.pid, -1, WUNTRACED)
    assert event == WaitEvent(kids[1].pid, "stopped", (20 << 8) | 0x7F, CLD_STOPPED, 20)
    assert kids[1].state == "stopped"  # a report does not resume it
    assert wait4(t, parent.pid, -1, WUNTRACED | WNOHANG) is None


def test_continued_needs_wcontinued_and_is_consumed(family):
    t, parent, kids = family
    t.stop(kids[0].pid, signal.SIGSTOP)
    t.cont(kids[0].pid)
    assert wait4(t, parent.pid, -1, WUNTRACED) is None  # stop report was superseded
    event = wait4(t, parent.pid, -1, WCONTINUED)
    assert event == WaitEvent(kids[0].pid, "continued", 0xFFFF, CLD_CONTINUED, 18)
    assert wait4(t, parent.pid, -1, WCONTINUED) is None


def test_zombie_reported_before_stop_of_same_child_list(family):
    t, parent, kids = family
    t.stop(kids[0].pid, signal.SIGSTOP)
    t.exit(kids[1].pid, Exited(1), 1)
    # Children are considered in order: the stopped first child is reported first.
    assert wait4(t, parent.pid, -1, WUNTRACED).kind == "stopped"
    assert wait4(t, parent.pid, -1, WUNTRACED).kind == "exited"


def test_wait4_option_validation(family):
    t, parent, kids = family
    t.exit(kids[0].pid, Exited(0), 1)
    for bad in (WEXITED, WNOWAIT, 0x10, 0x1000):
        assert errno_of(lambda: wait4(t, parent.pid, -1, bad)) == errno.EINVAL
    # EINVAL is checked before ECHILD.
    lonely = t.spawn(["l"], "l", 0)
    assert errno_of(lambda: wait4(t, lonely.pid, -1, 0x10)) == errno.EINVAL
    event = wait4(t, parent.pid, -1, __WALL | __WCLONE | __WNOTHREAD)
    assert event.pid == kids[0].pid


def test_wait4_int_min():
    t = ProcessTable()
    p = t.spawn(["a"], "a", 0)
    assert errno_of(lambda: wait4(t, p.pid, -(2**31), 0)) == errno.ESRCH


def test_waitid_options_validation(family):
    t, parent, kids = family
    assert errno_of(lambda: waitid(t, parent.pid, P_ALL, 0, 0)) == errno.EINVAL
    assert errno_of(lambda: waitid(t, parent.pid, P_ALL, 0, WNOHANG)) == errno.EINVAL
    assert errno_of(lambda: waitid(t, parent.pid, P_ALL, 0, WEXITED | 0x10)) == errno.EINVAL
    assert errno_of(lambda: waitid(t, parent.pid, P_PIDFD, 3, WEXITED)) == errno.EINVAL
    assert errno_of(lambda: waitid(t, parent.pid, 7, 0, WEXITED)) == errno.EINVAL
    assert errno_of(lambda: waitid(t, parent.pid, P_PID, 0, WEXITED)) == errno.EINVAL
    assert errno_of(lambda: waitid(t, parent.pid, P_PID, -5, WEXITED)) == errno.EINVAL
    assert errno_of(lambda: waitid(t, parent.pid, P_PGID, -1, WEXITED)) == errno.EINVAL
    assert waitid(t, parent.pid, P_ALL, 0, WEXITED | WNOHANG | __WALL) is None


def test_waitid_wnowait_does_not_consume(family):
    t, parent, kids = family
    t.exit(kids[0].pid, Exited(2), 1)
    first = waitid(t, parent.pid, P_ALL, 0, WEXITED | WNOWAIT)
    again = waitid(t, parent.pid, P_PID, kids[0].pid, WEXITED | WNOWAIT)
    assert first == again and first.si_code == CLD_EXITED and first.si_status == 2
    assert kids[0].is_zombie
    assert waitid(t, parent.pid, P_ALL, 0, WEXITED) == first
    assert kids[0].state == "reaped"


def test_waitid_without_wexited_skips_zombies(family):
    t, parent, kids = family
    t.exit(kids[0].pid, Exited(0), 1)
    t.stop(kids[1].pid, signal.SIGSTOP)
    event = waitid(t, parent.pid, P_ALL, 0, WSTOPPED)
    assert event.pid == kids[1].pid and event.kind == "stopped"
    assert kids[0].is_zombie
    assert waitid(t, parent.pid, P_ALL, 0, WSTOPPED) is None


def test_waitid_stopped_wnowait(family):
    t, parent, kids = family
    t.stop(kids[1].pid, signal.SIGSTOP)
    assert waitid(t, parent.pid, P_ALL, 0, WSTOPPED | WNOWAIT).kind == "stopped"
    assert kids[1].stop_report_pending
    assert waitid(t, parent.pid, P_ALL, 0, WSTOPPED).kind == "stopped"
    assert not kids[1].stop_report_pending


def test_waitid_pgid(family):
    t, parent, kids = family
    for k in kids:
        t.exit(k.pid, Exited(0), 1)
    assert waitid(t, parent.pid, P_PGID, kids[2].pid, WEXITED).pid == kids[2].pid
    assert waitid(t, parent.pid, P_PGID, 0, WEXITED).pid == kids[0].pid  # own group
    assert errno_of(lambda: waitid(t, parent.pid, P_PGID, kids[2].pid, WEXITED)) == errno.ECHILD


def test_waitid_continued(family):
    t, parent, kids = family
    t.stop(kids[0].pid, signal.SIGSTOP)
    t.cont(kids[0].pid)
    event = waitid(t, parent.pid, P_ALL, 0, WCONTINUED)
    assert event.kind == "continued" and event.si_code == CLD_CONTINUED


def test_subreaper_waits_for_adopted_zombie():
    t = ProcessTable()
    top = t.spawn(["top"], "top", 0)
    t.set_subreaper(top.pid, True)
    mid = t.fork(top.pid, 0)
    orphan = t.fork(mid.pid, 0)
    t.exit(orphan.pid, Exited(9), 1)
    t.exit(mid.pid, Exited(0), 2)
    pids = {wait4(t, top.pid, -1, 0).pid, wait4(t, top.pid, -1, 0).pid}
    assert pids == {mid.pid, orphan.pid}
    assert orphan.reaped_by == top.pid


def test_waiter_must_exist():
    t = ProcessTable()
    assert errno_of(lambda: wait4(t, 4242, -1, 0)) == errno.ESRCH
