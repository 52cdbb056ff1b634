"""Controlling terminals: which session a terminal belongs to and its foreground group.

setsid(2) is simulated, so no program of a host is a session leader natively and the
real kernel cannot keep these links in virtual terms: it would refuse TIOCSCTTY, answer
TIOCGPGRP with native group ids, and never send the hand-off signals. This module keeps
them as the kernel does (credentials(7), tty_ioctl(4), ioctl_tty(2)): a process's
controlling terminal (``Process.ctty``, inherited by fork, cleared by setsid), a
terminal's session and foreground group, and the signals that changing them sends.
Nothing here knows a descriptor or a native device: syscalls/tty.py finds the terminal
a descriptor names. Tested in tests/kernel/test_tty.py.

Natively no program of a host is in the terminal's foreground group (the real
terminal has none, or the test's), so the real line discipline never stops a
background job nor signals a foreground one: the job-control checks of reads, writes
and termios changes (check_change) and the signals of the characters typed on a pty's
master (TypedSignals) are made here too.
"""
from __future__ import annotations

import errno
from dataclasses import dataclass

from .delivery import SIGCONT, SIGHUP, Send, kill_info
from .sigstate import SI_KERNEL, SI_USER

SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH = 2, 3, 20, 21, 22, 28


class Terminal:
    """One terminal device: a pty's slave side (its master names it too) or another tty."""

    __slots__ = ("key", "name", "pty", "session", "pgrp", "native", "lnext")

    def __init__(self, key, name: str, pty: bool) -> None:
        self.key = key          # the slave's device number
        self.name = name        # its path, for /dev/tty
        self.pty = pty
        self.session: int | None = None   # the session it controls
        self.pgrp: int | None = None      # its foreground group (a number, kept stale)
        self.native = None  # what the tracer knows of it natively (syscalls/tty.py)
        self.lnext = False  # the last character typed was VLNEXT: the next is literal

    def __repr__(self) -> str:
        return f"Terminal({self.name!r}, session={self.session}, pgrp={self.pgrp})"


@dataclass(frozen=True)
class Background:
    """A call of a background group on its terminal: SIGTTIN or SIGTTOU to the caller's
    group, and the call restarts once the signal is handled (-ERESTARTSYS)."""
    sends: tuple


class Terminals:
    """The terminals the host's programs have used, by device number."""

    def __init__(self) -> None:
        self._by_key: dict = {}
        # a leader whose terminal hung up -> its foreground group then (tty_old_pgrp)
        self.old_pgrp: dict[int, int] = {}

    def get(self, key, name: str, pty: bool) -> Terminal:
        term = self._by_key.get(key)
        if term is None:
            term = self._by_key[key] = Terminal(key, name, pty)
        return term

    def find(self, key) -> Terminal | None:
        return self._by_key.get(key)

    def all(self) -> list[Terminal]:
        return list(self._by_key.values())


def _is_leader(proc) -> bool:
    # setsid(2) made it the leader: only a leader's pid is its session's id
    return proc.sid == proc.pid


def _set(proc, term: Terminal) -> None:
    term.session, term.pgrp = proc.sid, proc.pgid
    proc.ctty = term


def acquire_on_open(proc, term: Terminal, readable: bool) -> bool:
    """open(2) of a terminal without O_NOCTTY: a session leader with no controlling
    terminal takes it if no session has it and the open may read (credentials(7))."""
    if _is_leader(proc) and proc.ctty is None and term.session is None and readable:
        _set(proc, term)
        return True
    return False


def tiocsctty(proc, term: Terminal, readable: bool) -> int:
    """TIOCSCTTY: the caller, a session leader without a controlling terminal, takes
    this one. Stealing another session's terminal (arg 1) needs CAP_SYS_ADMIN, which
    the simulated user lacks (ioctl_tty(2))."""
    if _is_leader(proc) and term.session == proc.sid:
        return 0
    if not _is_leader(proc) or proc.ctty is not None:
        return -errno.EPERM
    if term.session is not None or not readable:
        return -errno.EPERM
    _set(proc, term)
    return 0


def _signal_group(table, pgid, sigs, info_of) -> list[Send]:
    if pgid is None:
        return []
    members = [p.pid for p in table.group_members(pgid) if p.is_alive]
    return [Send(pid, sig, info_of(sig)) for sig in sigs for pid in members]


def _kernel_info(sig: int) -> bytes:
    return kill_info(sig, SI_KERNEL, 0)


def _disassociate(table, term: Terminal) -> None:
    session = term.session
    term.session = term.pgrp = None
    if session is not None:
        for member in table.session_members(session):
            if member.ctty is term:
                member.ctty = None


def tiocnotty(table, proc, term: Terminal) -> tuple[int, list[Send]]:
    """TIOCNOTTY: the caller gives up its controlling terminal (ENOTTY if ``term`` is
    not it). A session leader's whole session loses it, and the foreground group gets
    SIGHUP then SIGCONT, sent by the leader (tty_ioctl(4))."""
    if proc.ctty is not term:
        return -errno.ENOTTY, []
    sends = []
    if _is_leader(proc):
        sends = _signal_group(table, term.pgrp, (SIGHUP, SIGCONT),
                              lambda sig: kill_info(sig, SI_USER, proc.pid))
        _disassociate(table, term)
        table.terminals.old_pgrp.pop(proc.pid, None)
    proc.ctty = None
    return 0, sends


def leader_exit(table, proc) -> list[Send]:
    """A session leader's end: its terminal's foreground group gets SIGHUP (a pty's;
    another terminal is hung up, SIGHUP then SIGCONT) and the session loses the
    terminal (_exit(2), credentials(7))."""
    term = proc.ctty
    if not _is_leader(proc):
        return []
    if term is None:
        # its terminal hung up before: the foreground group of then (hangup)
        old = table.terminals.old_pgrp.pop(proc.pid, None)
        return _signal_group(table, old, (SIGHUP, SIGCONT), _kernel_info)
    sigs = (SIGHUP,) if term.pty else (SIGHUP, SIGCONT)
    sends = _signal_group(table, term.pgrp, sigs, _kernel_info)
    _disassociate(table, term)
    proc.ctty = None
    return sends


def hangup(table, term: Terminal) -> list[Send]:
    """The terminal hangs up (its pty's master closed): every process of its session
    loses it, the session leader gets SIGHUP then SIGCONT, and the foreground group
    gets them when the leader exits (tty_hangup; credentials(7))."""
    session = term.session
    if session is None:
        return []
    leader = table.get(session)
    sends = []
    if leader is not None and leader.is_alive:
        sends = [Send(session, sig, _kernel_info(sig)) for sig in (SIGHUP, SIGCONT)]
        if term.pgrp is not None:
            table.terminals.old_pgrp[session] = term.pgrp
    _disassociate(table, term)
    return sends


def tiocgpgrp(proc, term: Terminal, via_master: bool) -> int:
    """TIOCGPGRP (tcgetpgrp(3)): the foreground group, 0 if none; from the slave side
    only by a process whose controlling terminal it is."""
    if not via_master and proc.ctty is not term:
        return -errno.ENOTTY
    return term.pgrp or 0


def tiocgsid(proc, term: Terminal, via_master: bool) -> int:
    """TIOCGSID (tcgetsid(3)): the session the terminal controls."""
    if not via_master and proc.ctty is not term:
        return -errno.ENOTTY
    return term.session if term.session is not None else -errno.ENOTTY


def check_change(table, proc, term: Terminal, sig: int, ignored: bool) -> int | Background:
    """What a read (``sig`` SIGTTIN), a write with TOSTOP, a termios change or
    tcsetpgrp (SIGTTOU) of the caller's controlling terminal meets first
    (__tty_check_change; termios(3), tty_ioctl(4)): from a group other than the
    foreground one it gets ``sig`` for its whole group, unless it blocks or ignores it
    (``ignored``: a read fails with EIO, the rest go on); an orphaned group's fails
    with EIO instead."""
    if proc.ctty is not term or term.pgrp is None or term.pgrp == proc.pgid:
        return 0
    if ignored:
        return -errno.EIO if sig == SIGTTIN else 0
    if table.is_orphaned_pgrp(proc.pgid):
        return -errno.EIO
    return Background(tuple(_signal_group(table, proc.pgid, (sig,), _kernel_info)))


def _session_of(table, number: int) -> int | None:
    members = table.group_members(number)
    if members:
        return members[0].sid
    proc = table.get(number)
    return proc.sid if proc is not None else None


def tiocspgrp(table, proc, term: Terminal, pgrp: int) -> int:
    """TIOCSPGRP (tcsetpgrp(3)) once check_change let it through: ``pgrp`` becomes the
    foreground group if it is a group (or a process) of the caller's session whose
    controlling terminal this is."""
    if pgrp < 0:
        return -errno.EINVAL
    if proc.ctty is not term or term.session != proc.sid:
        return -errno.ENOTTY
    session = _session_of(table, pgrp) if pgrp else None
    if session is None:
        return -errno.ESRCH
    if session != proc.sid:
        return -errno.EPERM
    term.pgrp = pgrp
    return 0


def tiocsig(table, term: Terminal, sig: int) -> tuple[int, list[Send]]:
    """TIOCSIG on a pty's master: ``sig`` (SIGINT, SIGQUIT or SIGTSTP only) to the
    slave's foreground group, as from the terminal (ioctl_tty(2))."""
    if sig not in (SIGINT, SIGQUIT, SIGTSTP):
        return -errno.EINVAL, []
    return 0, foreground_sends(table, term, (sig,))


@dataclass(frozen=True)
class LineSettings:
    """What of a terminal's termios(3) decides which typed characters are signals."""
    isig: bool
    canon_ext: bool   # ICANON and IEXTEN: VLNEXT quotes the next character
    strip: bool       # ISTRIP: the eighth bit is dropped before the comparison
    intr: int
    quit: int
    susp: int
    lnext: int


def typed_signals(term: Terminal, data: bytes, line: LineSettings) -> list[int]:
    """The signals that ``data`` written to the master raises, in order: with ISIG
    set, VINTR is SIGINT, VQUIT SIGQUIT and VSUSP SIGTSTP, unless quoted by VLNEXT
    (termios(3) "Canonical and noncanonical mode", "Special characters"). The quote
    may end one write and start the next: it is kept on the terminal."""
    sigs = []
    for c in data:
        if line.strip:
            c &= 0x7F
        if term.lnext:
            term.lnext = False
            continue
        if not c:
            continue  # a special character set to 0 is disabled (_POSIX_VDISABLE)
        if line.isig:
            sig = (SIGINT if c == line.intr else SIGQUIT if c == line.quit
                   else SIGTSTP if c == line.susp else 0)
            if sig:
                sigs.append(sig)
                continue
        if line.canon_ext and c == line.lnext:
            term.lnext = True
    return sigs


def resize(table, term: Terminal, old: bytes, new: bytes) -> list[Send]:
    """TIOCSWINSZ from either side of a pty: SIGWINCH to the foreground group when
    the size changes (tty_do_resize, pty_resize; ioctl_tty(2))."""
    return [] if old == new else foreground_sends(table, term, (SIGWINCH,))


def foreground_sends(table, term: Terminal, sigs) -> list[Send]:
    """The line discipline's signals to the foreground group, as kill_pgrp from the
    kernel (SI_KERNEL)."""
    return [send for sig in sigs
            for send in _signal_group(table, term.pgrp, (sig,), _kernel_info)]


def stat_fields(proc) -> tuple[int, int]:
    """/proc/N/stat's tty_nr (the device number, encoded as proc(5) says) and tpgid
    (the terminal's foreground group; -1 with no controlling terminal)."""
    term = proc.ctty
    if term is None:
        return 0, -1
    major, minor = term.key
    return (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12), term.pgrp or 0
