"""Controlling terminals in the kernel model (kernel.tty), without a tracee."""
import errno
import signal

import pytest

from pytest_simproc.kernel import Exited
from pytest_simproc.kernel import exits
from pytest_simproc.kernel import tty
from pytest_simproc.kernel.delivery import kill_info
from pytest_simproc.kernel.sigstate import SI_KERNEL, SI_USER

PTS3 = (136, 3)


@pytest.fixture
def term(table):
    return table.terminals.get(PTS3, "/dev/pts/3", pty=True)


@pytest.fixture
def leader(table, term):
    """A session leader that took the terminal as forkpty(3)'s child does."""
    proc = table.spawn(["sh"], "sh", 0)
    table.setsid(proc.pid)
    assert tty.tiocsctty(proc, term, readable=True) == 0
    return proc


def test_the_registry_keeps_one_terminal_per_device(table, term):
    assert table.terminals.get(PTS3, "/dev/pts/3", pty=True) is term
    assert table.terminals.find((136, 4)) is None


def test_tiocsctty_makes_the_leader_s_session_and_group_the_terminal_s(table, term, leader):
    assert (term.session, term.pgrp, leader.ctty) == (leader.pid, leader.pid, term)
    assert tty.tiocgsid(leader, term, via_master=False) == leader.pid
    assert tty.tiocgpgrp(leader, term, via_master=False) == leader.pid
    assert tty.stat_fields(leader) == ((136 << 8) | 3, leader.pid)
    # again by the leader of that session: nothing to do, 0
    assert tty.tiocsctty(leader, term, readable=True) == 0


def test_tiocsctty_refuses_a_non_leader_a_second_terminal_and_another_s(table, term, leader):
    child = table.fork(leader.pid, 0)
    assert child.ctty is term  # fork(2) inherits it
    assert tty.tiocsctty(child, term, readable=True) == -errno.EPERM
    other = table.terminals.get((136, 4), "/dev/pts/4", pty=True)
    assert tty.tiocsctty(leader, other, readable=True) == -errno.EPERM
    # a new session may not take a terminal that another session controls
    table.setsid(child.pid)
    assert child.ctty is None  # setsid(2): no controlling terminal
    assert tty.tiocsctty(child, term, readable=True) == -errno.EPERM
    # nor one it opened write-only
    assert tty.tiocsctty(child, other, readable=False) == -errno.EPERM
    assert tty.tiocsctty(child, other, readable=True) == 0


def test_opening_a_terminal_makes_it_the_leader_s_only_when_nothing_stands_in_the_way(table, term):
    proc = table.spawn(["p"], "p", 0)
    assert not tty.acquire_on_open(proc, term, readable=True)  # not a leader
    table.setsid(proc.pid)
    assert not tty.acquire_on_open(proc, term, readable=False)
    assert tty.acquire_on_open(proc, term, readable=True)
    assert proc.ctty is term
    other = table.spawn(["q"], "q", 0)
    table.setsid(other.pid)
    assert not tty.acquire_on_open(other, term, readable=True)  # another session's


def test_slave_side_queries_need_the_terminal_to_be_the_caller_s(table, term, leader):
    stranger = table.spawn(["x"], "x", 0)
    assert tty.tiocgpgrp(stranger, term, via_master=False) == -errno.ENOTTY
    assert tty.tiocgsid(stranger, term, via_master=False) == -errno.ENOTTY
    # the master side answers anyone
    assert tty.tiocgpgrp(stranger, term, via_master=True) == leader.pid
    assert tty.tiocgsid(stranger, term, via_master=True) == leader.pid
    assert tty.stat_fields(stranger) == (0, -1)


def test_tiocnotty_in_a_leader_hangs_up_the_foreground_group(table, term, leader):
    job = table.fork(leader.pid, 0)
    table.setpgid(leader.pid, job.pid, job.pid)
    worker = table.fork(job.pid, 0)
    assert tty.check_change(table, leader, term, ttou_ignored=True) == 0
    assert tty.tiocspgrp(table, leader, term, job.pid) == 0
    result, sends = tty.tiocnotty(table, leader, term)
    assert result == 0
    assert [(s.pid, s.sig) for s in sends] == [
        (job.pid, signal.SIGHUP), (worker.pid, signal.SIGHUP),
        (job.pid, signal.SIGCONT), (worker.pid, signal.SIGCONT)]
    assert sends[0].info == kill_info(signal.SIGHUP, SI_USER, leader.pid)
    # the whole session lost it, and the terminal is free
    assert (leader.ctty, job.ctty, worker.ctty) == (None, None, None)
    assert (term.session, term.pgrp) == (None, None)
    assert tty.tiocnotty(table, leader, term) == (-errno.ENOTTY, [])


def test_tiocnotty_in_a_member_drops_only_its_own(table, term, leader):
    child = table.fork(leader.pid, 0)
    assert tty.tiocnotty(table, child, term) == (0, [])
    assert child.ctty is None and leader.ctty is term and term.session == leader.pid


def test_tcsetpgrp_checks_in_the_kernel_s_order(table, term, leader):
    job = table.fork(leader.pid, 0)
    table.setpgid(leader.pid, job.pid, job.pid)
    assert tty.tiocspgrp(table, leader, term, -1) == -errno.EINVAL
    assert tty.tiocspgrp(table, leader, term, 0) == -errno.ESRCH
    assert tty.tiocspgrp(table, leader, term, 4242) == -errno.ESRCH
    stranger = table.spawn(["x"], "x", 0)
    assert tty.tiocspgrp(table, leader, term, stranger.pid) == -errno.EPERM
    assert tty.tiocspgrp(table, stranger, term, leader.pid) == -errno.ENOTTY
    # a process that leads no group names its session too (session_of_pgrp)
    member = table.fork(job.pid, 0)
    assert tty.tiocspgrp(table, leader, term, member.pid) == 0
    assert term.pgrp == member.pid


def test_a_background_group_gets_sigttou_unless_it_ignores_it(table, term, leader):
    job = table.fork(leader.pid, 0)
    table.setpgid(leader.pid, job.pid, job.pid)
    worker = table.fork(job.pid, 0)
    outcome = tty.check_change(table, job, term, ttou_ignored=False)
    assert isinstance(outcome, tty.Background)
    assert [(s.pid, s.sig, s.info) for s in outcome.sends] == [
        (p.pid, signal.SIGTTOU, kill_info(signal.SIGTTOU, SI_KERNEL, 0)) for p in (job, worker)]
    assert tty.check_change(table, job, term, ttou_ignored=True) == 0
    assert tty.check_change(table, leader, term, ttou_ignored=False) == 0  # foreground
    # an orphaned background group may not: ENOTTY (the kernel's EIO)
    table.exit(leader.pid, Exited(0), 1)
    assert tty.check_change(table, job, term, ttou_ignored=False) == -errno.ENOTTY


def test_a_leader_s_exit_hangs_up_a_pty_s_foreground_group(table, term, leader):
    job = table.fork(leader.pid, 0)
    table.setpgid(leader.pid, job.pid, job.pid)
    tty.tiocspgrp(table, leader, term, job.pid)
    result = table.exit(leader.pid, Exited(0), 1)
    sends = exits.exit_signals(table, result, Exited(0), signal.SIGCHLD)
    assert [(s.pid, s.sig, s.info) for s in sends] == [
        (job.pid, signal.SIGHUP, kill_info(signal.SIGHUP, SI_KERNEL, 0))]
    assert job.ctty is None and term.session is None


def test_a_leader_s_exit_hangs_up_another_terminal_with_sigcont_too(table):
    console = table.terminals.get((4, 1), "/dev/tty1", pty=False)
    proc = table.spawn(["getty"], "getty", 0)
    table.setsid(proc.pid)
    tty.acquire_on_open(proc, console, readable=True)
    child = table.fork(proc.pid, 0)
    result = table.exit(proc.pid, Exited(0), 1)
    sends = exits.exit_signals(table, result, Exited(0), 0)
    assert [(s.pid, s.sig) for s in sends] == [
        (child.pid, signal.SIGHUP), (child.pid, signal.SIGCONT)]
    assert child.ctty is None and console.session is None


def test_a_hang_up_signals_the_leader_and_at_its_exit_the_foreground_group_of_then(table, term, leader):
    job = table.fork(leader.pid, 0)
    table.setpgid(leader.pid, job.pid, job.pid)
    tty.tiocspgrp(table, leader, term, job.pid)
    sends = tty.hangup(table, term)
    assert [(s.pid, s.sig, s.info) for s in sends] == [
        (leader.pid, sig, kill_info(sig, SI_KERNEL, 0)) for sig in (signal.SIGHUP, signal.SIGCONT)]
    assert (leader.ctty, job.ctty, term.session, term.pgrp) == (None, None, None, None)
    assert tty.hangup(table, term) == []  # nobody's terminal any more
    result = table.exit(leader.pid, Exited(0), 1)
    sends = exits.exit_signals(table, result, Exited(0), 0)
    assert [(s.pid, s.sig) for s in sends] == [(job.pid, signal.SIGHUP), (job.pid, signal.SIGCONT)]
    assert table.terminals.old_pgrp == {}


def test_tiocnotty_forgets_the_foreground_group_of_a_hang_up(table, term, leader):
    tty.hangup(table, term)
    tty.acquire_on_open(leader, term, readable=True)
    tty.tiocnotty(table, leader, term)
    result = table.exit(leader.pid, Exited(0), 1)
    assert exits.exit_signals(table, result, Exited(0), 0) == []
