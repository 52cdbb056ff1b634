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
import termios

from ..kernel import tty
from ..kernel.delivery import Send, kill_info
from ..kernel.sigstate import SI_KERNEL
from ..engine.records import natively_pending
from ..trace import ptrace_ops as pt
from .args import s32
from .outcome import ERESTARTSYS, Native
from .procfs import native_with_path

TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCNOTTY, TIOCGSID = 0x540E, 0x540F, 0x5410, 0x5422, 0x5429
TIOCSIG, TIOCSWINSZ = 0x40045436, 0x5414
# the requests that change a terminal's settings (tty_check_change in tty_ioctl(4)'s
# paths): tcsetattr's TCSETS*/TCSETA* and TCSETS2*, which a master's caller applies to
# the slave, and the break, flow, flush and line-discipline ones
_SET_TERMIOS = frozenset({0x5402, 0x5403, 0x5404, 0x5406, 0x5407, 0x5408,
                          0x402C542B, 0x402C542C, 0x402C542D})
_LINE_CHANGES = frozenset({0x5409, 0x540A, 0x540B, 0x5423, 0x5425, 0x5427, 0x5428})
TERMIOS_CHANGES = _SET_TERMIOS | _LINE_CHANGES
JOB_CONTROL_REQUESTS = frozenset({TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCNOTTY, TIOCGSID,
                                  TIOCSIG, TIOCSWINSZ}) | TERMIOS_CHANGES
_NATIVE_UNLESS_A_TERMINAL = TERMIOS_CHANGES | {TIOCSIG, TIOCSWINSZ}
TIOCGPTN = 0x80045430
O_NOCTTY = 0o400
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


def _ignored(ctx, sig: int) -> bool:
    """__tty_check_change's is_ignored: the caller blocks ``sig`` or ignores it."""
    if pt.getsigmask(ctx.task.native) & (1 << (sig - 1)):
        return True
    return ctx.engine.dispositions(ctx.proc.pid).get(sig).handler == SIG_IGN


def _checked(ctx, term: tty.Terminal, sig: int):
    """check_change for the caller: None when the call may go on, else its outcome:
    an error, or the signal sent to its group and the call to restart after the stop
    (-ERESTARTSYS; EINTR after a handler without SA_RESTART, signal(7))."""
    checked = tty.check_change(ctx.table, ctx.proc, term, sig, _ignored(ctx, sig))
    if isinstance(checked, tty.Background):
        _post(ctx.engine, checked.sends)
        return _interrupted(ctx, sig)
    return checked or None


def _interrupted(ctx, sig: int) -> int:
    """The caller's call, cut by ``sig`` sent to it: it runs again after the signal
    (a stop, or a handler with SA_RESTART), or fails with EINTR after a handler
    without SA_RESTART (signal(7))."""
    action = ctx.engine.dispositions(ctx.proc.pid).get(sig)
    if action.handler not in (0, SIG_IGN) and not action.flags & SA_RESTART:
        return -errno.EINTR
    ctx.task.restart_syscall = True
    return -ERESTARTSYS


def _post(engine, sends) -> None:
    for send in sends:
        engine._post_signal(send.pid, send.sig, send.info)


def job_control_ioctl(ctx, fd, request, arg):
    """ioctl(2) TIOCSCTTY, TIOCNOTTY, TIOCGPGRP, TIOCSPGRP, TIOCGSID, TIOCSIG, and the
    termios changes a background group may not make (ioctl_tty(2), tty_ioctl(4))."""
    if request in TERMIOS_CHANGES and ctx.proc.ctty is None:
        return Native()  # no controlling terminal: nothing to check
    found = terminal_of(ctx, s32(fd))
    if found is None:
        return Native()
    if isinstance(found, int):
        return Native() if request in _NATIVE_UNLESS_A_TERMINAL else found
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
    if request == TIOCSIG:
        if not via_master or term.native is not None:
            return Native()  # the slave's answer; a native leader's terminal signals
        result, sends = tty.tiocsig(ctx.table, term, s32(arg))
        _post(ctx.engine, sends)
        return result
    if request == TIOCSWINSZ:
        return _resize(ctx, term, s32(fd), arg)
    if request in TERMIOS_CHANGES:
        if via_master and request not in _SET_TERMIOS:
            return Native()  # the master's own line: nobody's controlling terminal
        return _checked(ctx, term, tty.SIGTTOU) or Native()
    checked = _checked(ctx, term, tty.SIGTTOU)
    if checked is not None:
        return -errno.ENOTTY if checked == -errno.EIO else checked
    return tty.tiocspgrp(ctx.table, proc, term, struct.unpack("<i", ctx.mem.read(arg, 4))[0])


def _resize(ctx, term: tty.Terminal, fd: int, arg: int):
    """TIOCSWINSZ runs natively; on a pty the model signals for, a size that changes
    sends SIGWINCH to the foreground group once it succeeded."""
    if not _modelled(term):
        return Native()
    try:
        new = ctx.mem.read(arg, 8)
        dup = ctx.engine.dup_tracee_fd(ctx.task, fd)
    except (OSError, OverflowError):
        return Native()  # the kernel's EFAULT, EBADF
    try:
        old = fcntl.ioctl(dup, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return Native()
    finally:
        os.close(dup)
    sends = tty.resize(ctx.table, term, old, new)
    if not sends:
        return Native()

    def resized(c, result):
        if result == 0:
            _post(c.engine, sends)
        return result
    return Native(on_exit=resized)


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
    (pause) stops for it by itself (Engine._await_native_wakeups). The hang-ups
    of the terminals the model signals for are found here too (hang_ups)."""
    hang_ups(engine)
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


# ---------------------------------------------------------------- reads and writes
def terminal_device(st):
    """The device number of the character device a descriptor's stat ``st`` (None:
    not open) shows, as (major, minor); None for anything else. For terminal_io and
    typed_on_master."""
    if st is None or not stat.S_ISCHR(st.st_mode):
        return None
    return os.major(st.st_rdev), os.minor(st.st_rdev)


def _modelled(term: tty.Terminal) -> bool:
    """A pty whose session is the host's and whose leader is not one natively: the
    real line discipline signals nobody there, the model does."""
    return term.pty and bool(term.session) and term.native is None


def _hung_up(term: tty.Terminal) -> bool:
    # closing a pty's last master removes its slave's node (devpts)
    try:
        os.stat(term.name)
    except FileNotFoundError:
        return True
    except OSError:
        pass
    return False


def terminal_io(ctx, fd: int, writing: bool, device):
    """read(2) or write(2) of the caller's controlling terminal (``device``, from
    terminal_device, is its or /dev/tty's): a background group's read gets SIGTTIN,
    its write SIGTTOU when TOSTOP is set (termios(3), check_change). A terminal whose
    master was closed is hung up first. None: ``fd`` is not that terminal; the
    terminal: the call goes on; else the call's outcome."""
    term = ctx.proc.ctty
    if term is None or device is None or device not in (term.key, _DEV_TTY):
        return None
    if _modelled(term) and _hung_up(term):
        # the signals come first, as when the master's close woke the caller; the
        # call then meets the hung-up terminal natively
        leader = term.session
        _post(ctx.engine, tty.hangup(ctx.table, term))
        return _interrupted(ctx, signal.SIGHUP) if ctx.proc.pid == leader else term
    if term.pgrp is None or term.pgrp == ctx.proc.pgid:
        return term
    if writing and not (_settings(ctx, fd) or [0] * 4)[3] & termios.TOSTOP:
        return term
    return _checked(ctx, term, tty.SIGTTOU if writing else tty.SIGTTIN) or term


def hung_up(term: tty.Terminal) -> bool:
    """The pty's last master is closed: a read that waited on its slave then fails
    with EIO (n_tty_read looks at the other side's close before a signal); one that
    starts after it reads end of file (the hung-up file's read)."""
    return term.pty and _hung_up(term)


def _settings(ctx, fd: int) -> list | None:
    """tcgetattr(3) of the program's terminal descriptor (a master's: its slave's);
    None if it cannot be read."""
    try:
        dup = ctx.engine.dup_tracee_fd(ctx.task, fd)
    except OSError:
        return None
    try:
        return termios.tcgetattr(dup)
    except (OSError, termios.error):
        return None
    finally:
        os.close(dup)


def _line(attrs) -> tty.LineSettings:
    iflag, lflag, cc = attrs[0], attrs[3], attrs[6]
    return tty.LineSettings(
        isig=bool(lflag & termios.ISIG),
        canon_ext=lflag & (termios.ICANON | termios.IEXTEN) == termios.ICANON | termios.IEXTEN,
        strip=bool(iflag & termios.ISTRIP), intr=cc[termios.VINTR][0], quit=cc[termios.VQUIT][0],
        susp=cc[termios.VSUSP][0], lnext=cc[termios.VLNEXT][0])


def any_modelled(table) -> bool:
    """Some pty's signals are the model's (typed_on_master may have work)."""
    return any(_modelled(t) for t in table.terminals.all())


def typed_on_master(ctx, fd: int, device):
    """A write that may go to a pty's master whose slave the model signals for: None
    if it does not, else ``after(ctx, segments, outcome)``, which wraps the outcome of
    the write of ``segments`` ((address, length)) so that the characters written
    raise their signals for the foreground group (the line discipline's ISIG).
    Natively the slave has no foreground group, so its echo and flush happen and no
    signal is sent."""
    if device != _PTMX or not any_modelled(ctx.table):
        return None
    found = terminal_of(ctx, fd)
    if not isinstance(found, tuple) or not _modelled(found[0]):
        return None
    term = found[0]

    def raise_signals(c, segments, n: int) -> None:
        data, left = bytearray(), n
        for base, length in segments:
            if left <= 0:
                break
            data += c.mem.read(base, min(length, left))
            left -= length
        attrs = _settings(c, fd)
        if attrs is not None:
            sigs = tty.typed_signals(term, bytes(data), _line(attrs))
            _post(c.engine, tty.foreground_sends(c.table, term, sigs))

    def after(c, segments, outcome):
        if isinstance(outcome, Native) and outcome.on_exit is None:
            def on_exit(c2, result):
                if result > 0:
                    raise_signals(c2, segments, result)
                return result
            outcome.on_exit = on_exit
        elif isinstance(outcome, int) and outcome > 0:
            raise_signals(c, segments, outcome)
        return outcome
    return after


def hang_ups(engine) -> None:
    """A pty whose last master was closed (by a program of the host, or the test) is
    hung up: SIGHUP and SIGCONT to its session's leader (tty_hangup). Looked at when
    nothing can run, and at the reads of the terminal (terminal_io)."""
    hung = [term for term in engine.table.terminals.all() if _modelled(term) and _hung_up(term)]
    if hung:
        # a read parked on the slave ends (EIO) before the signals' handlers run, as
        # when the close woke it: it is made ready first (Engine._completes)
        engine._recheck_io()
    for term in hung:
        _post(engine, tty.hangup(engine.table, term))
