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
    assert tty.check_change(table, leader, term, signal.SIGTTOU, ignored=True) == 0
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


@pytest.mark.parametrize("sig", [signal.SIGTTOU, signal.SIGTTIN])
def test_a_background_group_gets_the_signal_unless_it_blocks_or_ignores_it(table, term, leader, sig):
    job = table.fork(leader.pid, 0)
    table.setpgid(leader.pid, job.pid, job.pid)
    worker = table.fork(job.pid, 0)
    outcome = tty.check_change(table, job, term, sig, ignored=False)
    assert isinstance(outcome, tty.Background)
    assert [(s.pid, s.sig, s.info) for s in outcome.sends] == [
        (p.pid, sig, kill_info(sig, SI_KERNEL, 0)) for p in (job, worker)]
    # ignored or blocked: a write or a change goes on, a read fails (termios(3))
    ignored = -errno.EIO if sig == signal.SIGTTIN else 0
    assert tty.check_change(table, job, term, sig, ignored=True) == ignored
    assert tty.check_change(table, leader, term, sig, ignored=False) == 0  # foreground
    stranger = table.spawn(["x"], "x", 0)  # not its controlling terminal
    assert tty.check_change(table, stranger, term, sig, ignored=False) == 0
    # an orphaned background group may not: EIO
    table.exit(leader.pid, Exited(0), 1)
    assert tty.check_change(table, job, term, sig, ignored=False) == -errno.EIO


def test_tiocsig_signals_the_foreground_group_with_the_three_terminal_signals_only(table, term, leader):
    job = table.fork(leader.pid, 0)
    table.setpgid(leader.pid, job.pid, job.pid)
    tty.tiocspgrp(table, leader, term, job.pid)
    result, sends = tty.tiocsig(table, term, signal.SIGQUIT)
    assert result == 0
    assert [(s.pid, s.sig, s.info) for s in sends] == [
        (job.pid, signal.SIGQUIT, kill_info(signal.SIGQUIT, SI_KERNEL, 0))]
    assert tty.tiocsig(table, term, signal.SIGTERM) == (-errno.EINVAL, [])
    tty.hangup(table, term)
    assert tty.tiocsig(table, term, signal.SIGINT) == (0, [])  # no foreground group


def test_a_new_window_size_signals_the_foreground_group_the_same_one_does_not(table, term, leader):
    small, large = bytes(8), b"\x1e\x00\x64\x00\x00\x00\x00\x00"
    assert tty.resize(table, term, small, small) == []
    assert [(s.pid, s.sig, s.info) for s in tty.resize(table, term, small, large)] == [
        (leader.pid, signal.SIGWINCH, kill_info(signal.SIGWINCH, SI_KERNEL, 0))]


LINE = tty.LineSettings(isig=True, canon_ext=True, strip=False, intr=3, quit=0x1C, susp=0x1A,
                        lnext=0x16)


def test_typed_signals_follow_isig_and_the_quoting_character(term):
    assert tty.typed_signals(term, b"ab\x03c\x1c\x1a", LINE) == [
        signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP]
    assert tty.typed_signals(term, b"\x16\x03\x03", LINE) == [signal.SIGINT]
    # a quote at the end of one write quotes the first character of the next
    assert tty.typed_signals(term, b"x\x16", LINE) == []
    assert tty.typed_signals(term, b"\x03", LINE) == []
    off = tty.LineSettings(**{**LINE.__dict__, "isig": False})
    assert tty.typed_signals(term, b"\x03\x1c", off) == []
    raw = tty.LineSettings(**{**LINE.__dict__, "canon_ext": False})
    assert tty.typed_signals(term, b"\x16\x03", raw) == [signal.SIGINT]
    strip = tty.LineSettings(**{**LINE.__dict__, "strip": True})
    assert tty.typed_signals(term, b"\x83", strip) == [signal.SIGINT]
    assert tty.typed_signals(term, b"\x83", LINE) == []
    # 0 disables a character: NUL is no signal (measured: VINTR 0, NUL written)
    disabled = tty.LineSettings(**{**LINE.__dict__, "intr": 0})
    assert tty.typed_signals(term, b"\x00\x03", disabled) == []


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
