"""Controlling terminals in virtual terms: the job-control ioctls of tty_ioctl(4) and
the opens that give or name a controlling terminal, answered from kernel/tty.py.

setsid(2) is simulated, so natively no program of a host leads a session (a forkpty(3)
child of the test process excepted) and the kernel would refuse TIOCSCTTY, answer
TIOCGPGRP with native groups and never send the hand-off signals. These calls never
run natively: the terminal a descriptor names is found from its device number (the
stat of /proc/N/fd/M: a pty's slave is major 136-143; a master, /dev/ptmx, names its
slave by TIOCGPTN on the host's duplicate), and the model answers. Nothing changes
natively: the programs stay in the native session and group they were started in, so
the real line discipline never stops or signals them for reading or writing.

The terminal pytest itself runs in belongs to a session outside the host: no program
of the host can make it its controlling terminal (EPERM, as for any other session's).
Programs of a host have no controlling terminal until a session leader takes one, so
/dev/tty opens that terminal, or fails with ENXIO.
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import signal
import stat
import struct

from ..kernel import tty
from ..kernel.delivery import Send, kill_info
from ..kernel.sigstate import SI_KERNEL
from ..engine.records import natively_pending
from ..trace import ptrace_ops as pt
from .args import s32
from .outcome import Native
from .procfs import native_with_path

TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCNOTTY, TIOCGSID = 0x540E, 0x540F, 0x5410, 0x5422, 0x5429
JOB_CONTROL_REQUESTS = frozenset({TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCNOTTY, TIOCGSID})
TIOCGPTN = 0x80045430
O_NOCTTY = 0o400
ERESTARTSYS = 512
SA_RESTART = 0x10000000
SIG_IGN = 1

_PTY_SLAVE_MAJORS = range(136, 144)   # devices.txt: Unix98 pty slaves
_PTMX, _DEV_TTY = (5, 2), (5, 0)
# devices.txt: the other terminals (old ptys, virtual consoles and serial lines,
# /dev/console, USB and other serial adapters)
_TTY_MAJORS = frozenset({2, 3, 4, 5, 188, 204, 207})

_outside = []  # the device of pytest's own controlling terminal, once read


def _native_session(pid) -> tuple[int, int]:
    """(session, controlling terminal's device number or 0) of a process, as the real
    kernel says (proc(5) stat's session and tty_nr, decoded); (0, 0) if unreadable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
        fields = raw[raw.rindex(b")") + 2:].split()
        sid, nr = int(fields[3]), int(fields[4])
    except (OSError, ValueError, IndexError):
        return 0, 0
    return sid, os.makedev((nr >> 8) & 0xFFF, (nr & 0xFF) | ((nr >> 12) & 0xFFF00)) if nr else 0


def native_terminal(pid="self") -> int:
    """The device number of a process's controlling terminal as the real kernel says,
    0 for none."""
    return _native_session(pid)[1]


def _pytest_terminal():
    if not _outside:
        device = native_terminal()
        _outside.append((os.major(device), os.minor(device)) if device else None)
    return _outside[0]


def _pts_name(key) -> str:
    return f"/dev/pts/{(key[0] - 136) * 256 + key[1]}"


def _registered(ctx, key, name: str, pty: bool) -> tty.Terminal:
    term = ctx.table.terminals.get(key, name, pty)
    if term.session is None and key == _pytest_terminal():
        term.session = 0  # a session outside the host: no host process has sid 0
    return term


def _readable(ctx, fd: int) -> bool:
    try:
        with open(f"/proc/{ctx.task.tgid_native}/fdinfo/{fd}", "rb") as f:
            for line in f:
                if line.startswith(b"flags:"):
                    return int(line.split()[1], 8) & os.O_ACCMODE != os.O_WRONLY
    except (OSError, ValueError):
        pass
    return False


def terminal_of(ctx, fd: int):
    """(terminal, via the master side, open for reading) for the program's descriptor
    ``fd``; -EBADF if it is not open, -ENOTTY if it is no terminal, None where the
    real kernel must answer (a character device that is no terminal)."""
    if fd < 0:
        return -errno.EBADF
    try:
        st = os.stat(f"/proc/{ctx.task.tgid_native}/fd/{fd}")
    except OSError:
        return -errno.EBADF
    if not stat.S_ISCHR(st.st_mode):
        return -errno.ENOTTY
    key = (os.major(st.st_rdev), os.minor(st.st_rdev))
    if key[0] in _PTY_SLAVE_MAJORS:
        return _registered(ctx, key, _pts_name(key), True), False, _readable(ctx, fd)
    if key[0] not in _TTY_MAJORS:
        return None
    if key == _DEV_TTY and ctx.proc.ctty is not None:
        return ctx.proc.ctty, False, _readable(ctx, fd)  # opened before we redirected
    try:
        dup = ctx.engine.dup_tracee_fd(ctx.task, fd)
    except OSError:
        return -errno.EBADF
    try:
        if key == _PTMX:
            number = struct.unpack("i", fcntl.ioctl(dup, TIOCGPTN, b"\0" * 4))[0]
            slave = (136 + number // 256, number % 256)
            return _registered(ctx, slave, _pts_name(slave), True), True, _readable(ctx, fd)
        if not os.isatty(dup):
            return None
        name = os.readlink(f"/proc/{ctx.task.tgid_native}/fd/{fd}")
        return _registered(ctx, key, name, False), False, _readable(ctx, fd)
    except OSError:
        return None
    finally:
        os.close(dup)


def _ttou_ignored(ctx) -> bool:
    """__tty_check_change's is_ignored: the caller blocks SIGTTOU or ignores it."""
    if pt.getsigmask(ctx.task.native) & (1 << (tty.SIGTTOU - 1)):
        return True
    return ctx.engine.dispositions(ctx.proc.pid).get(tty.SIGTTOU).handler == SIG_IGN


def _post(engine, sends) -> None:
    for send in sends:
        engine._post_signal(send.pid, send.sig, send.info)


def job_control_ioctl(ctx, fd, request, arg):
    """ioctl(2) TIOCSCTTY, TIOCNOTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID (ioctl_tty(2))."""
    found = terminal_of(ctx, s32(fd))
    if found is None:
        return Native()
    if isinstance(found, int):
        return found
    term, via_master, readable = found
    proc = ctx.proc
    if request == TIOCSCTTY:
        result = tty.tiocsctty(proc, term, readable)
        if result == 0 and proc.ctty is term:
            _note_native_leader(ctx, term)
        return result
    if request == TIOCNOTTY:
        if via_master:
            return -errno.ENOTTY  # the master is nobody's controlling terminal
        result, sends = tty.tiocnotty(ctx.table, proc, term)
        _post(ctx.engine, sends)
        return result
    if request in (TIOCGPGRP, TIOCGSID):
        ask = tty.tiocgpgrp if request == TIOCGPGRP else tty.tiocgsid
        value = ask(proc, term, via_master)
        if value < 0:
            return value
        ctx.mem.write_i32(arg, value)
        return 0
    checked = tty.check_change(ctx.table, proc, term, _ttou_ignored(ctx))
    if isinstance(checked, tty.Background):
        _post(ctx.engine, checked.sends)
        # -ERESTARTSYS: the call runs again after the stop, or after a handler that
        # has SA_RESTART; a handler without it makes it fail with EINTR (signal(7))
        action = ctx.engine.dispositions(proc.pid).get(tty.SIGTTOU)
        if action.handler not in (0, SIG_IGN) and not action.flags & SA_RESTART:
            return -errno.EINTR
        ctx.task.restart_syscall = True
        return -ERESTARTSYS
    if checked:
        return checked
    return tty.tiocspgrp(ctx.table, proc, term, struct.unpack("<i", ctx.mem.read(arg, 4))[0])


# The line discipline's signals (termios(3) ISIG: ^C, ^\\, ^Z) and TIOCSWINSZ's, to the
# foreground group; a hang-up's, to the session leader
_TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGWINCH)
_HANGUP_SIGNALS = (signal.SIGHUP, signal.SIGCONT)


def _bit(sig: int) -> int:
    return 1 << (sig - 1)


class _NativeLeader:
    """A terminal's session leader natively (a forkpty(3) child of the test): the one
    process the real terminal's signals are taken from."""
    __slots__ = ("task", "routed")

    def __init__(self, task):
        self.task = task
        self.routed = 0  # signals sent in the model before their native copy came


def _note_native_leader(ctx, term: tty.Terminal) -> None:
    """The caller took ``term`` in the model: if it is natively that terminal's session
    leader too, the terminal's signals will come to it."""
    sid, device = _native_session(ctx.task.tgid_native)
    if sid == ctx.task.tgid_native and device == os.makedev(*term.key):
        term.native = _NativeLeader(ctx.task)


def _take(engine, term: tty.Terminal, sig: int) -> None:
    """What the real terminal's ``sig`` to its native leader is in the model: a hang-up
    (SIGHUP; the SIGCONT after it is the hang-up's too), or a signal to the foreground
    group."""
    if sig == signal.SIGHUP:
        sends = tty.hangup(engine.table, term)
    elif sig == signal.SIGCONT or term.session is None or term.pgrp is None:
        sends = ()
    else:
        sends = [Send(member.pid, sig, kill_info(sig, SI_KERNEL, 0))
                 for member in engine.table.group_members(term.pgrp) if member.is_alive]
    _post(engine, sends)


def route_native_signal(engine, task, sig: int, code: int) -> bool:
    """A signal the real terminal sent (SI_KERNEL) reaches the native foreground group,
    which the host never changes: a forkpty(3) child of the test, a session leader
    natively, and every program it started (a hang-up reaches the leader only). The
    leader's copy is carried out in the model, once; the other members' copies are
    dropped. True when the signal was the terminal's and is taken care of; False for
    any other (a terminal whose session leader is not in this host: pytest's)."""
    if code != SI_KERNEL or sig not in _TERMINAL_SIGNALS + _HANGUP_SIGNALS:
        return False
    sid, device = _native_session(task.tgid_native)
    leader = engine.tasks.get(sid)  # by native tid
    if not device or leader is None or leader.gone:
        return False
    term = engine.table.terminals.find((os.major(device), os.minor(device)))
    if term is None or term.native is None or term.native.task is not task:
        return sig in _TERMINAL_SIGNALS  # the leader's copy carries it
    if term.native.routed & _bit(sig):
        term.native.routed &= ~_bit(sig)  # sent while the leader was parked
    else:
        _take(engine, term, sig)
    return True


def _flush_input(term: tty.Terminal) -> None:
    """The line discipline reads what was written to the master in a kernel worker,
    after the write returned; polling the slave finishes that work (n_tty's poll), so
    that the signals of input written so far are queued before the host goes on."""
    try:
        fd = os.open(term.name, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        return  # hung up: its master is closed
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.poll(0)
    finally:
        os.close(fd)


def route_parked_leaders(engine) -> None:
    """Called when nothing can run, before virtual time moves on. A leader parked at a
    call in the host is stopped natively: the terminal's signal waits in its native
    queue until it resumes, so it is carried out in the model from there (proc(5)
    SigPnd), and its native copy dropped when it comes. A leader parked natively
    (pause) stops for it by itself (Engine._await_native_wakeups)."""
    for term in engine.table.terminals.all():
        leader = term.native
        if leader is None or leader.task.gone:
            continue
        _flush_input(term)
        if leader.task.block is None:
            continue
        waiting = natively_pending(leader.task) & ~leader.routed
        for sig in _TERMINAL_SIGNALS + (signal.SIGHUP,):
            if waiting & _bit(sig):
                leader.routed |= _bit(sig) | (_bit(signal.SIGCONT) if sig == signal.SIGHUP else 0)
                _take(engine, term, sig)


def on_open(ctx, path_reg: str, path: bytes, flags: int):
    """open(2) of /dev/tty names the caller's controlling terminal (ENXIO without
    one); a session leader without one that opens a terminal without O_NOCTTY takes
    it (credentials(7)). None: nothing to do here."""
    proc = ctx.proc
    if path == b"/dev/tty":
        if proc.ctty is None:
            return -errno.ENXIO
        if native_terminal(ctx.task.tgid_native) == os.makedev(*proc.ctty.key):
            return Native()  # a forkpty(3) child's: its terminal natively too
        # (fstat of it shows the terminal's own device, not /dev/tty's 5:0)
        return native_with_path(ctx, path_reg, os.fsencode(proc.ctty.name))
    if flags & O_NOCTTY or proc.sid != proc.pid or proc.ctty is not None:
        return None

    def take(c, fd):
        if fd >= 0:
            found = terminal_of(c, fd)
            if isinstance(found, tuple) and not found[1]:
                tty.acquire_on_open(c.proc, found[0], found[2])
        return fd
    return Native(on_exit=take)
