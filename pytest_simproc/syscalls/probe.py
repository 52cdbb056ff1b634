"""What a program's descriptor is, seen through the host's duplicate of it.

A blocking call is decided on the open file description the program's descriptor
names: the host takes a duplicate with pidfd_getfd(2) (the same pipe, socket or epoll
instance), looks at its type and flags, polls it with no timeout, and writes through it
when it finishes a program's blocking write (io.py).
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import stat
import termios

from .outcome import Native

try:
    from ..trace._fdlook import look as _c_look
except ImportError:   # built without a C compiler: the same look from Python
    _c_look = None

MSG_DONTWAIT, MSG_NOSIGNAL = 0x40, 0x4000
# Taken when the plugin loads: in drop-in mode select.poll is the test's fake
# (dropin/ready.py), which hands the host's threads the real one only after asking
# which thread calls, at every probe.
_poll = select.poll


class _Probe:
    """A duplicate of a tracee's descriptor and what it is."""

    __slots__ = ("fd", "stat", "mode", "flags", "nonblocking", "_socket")

    def __init__(self, fd: int):
        self.fd = fd
        self.stat = os.fstat(fd)
        self.mode = self.stat.st_mode
        self.flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        self.nonblocking = bool(self.flags & os.O_NONBLOCK)
        self._socket = None

    def _socket_kind(self) -> tuple[int, int]:
        if self._socket is None:
            sock = socket.socket(fileno=self.fd)  # reads SO_DOMAIN and SO_TYPE
            self._socket = (sock.family, sock.type)
            sock.detach()
        return self._socket

    @property
    def socket_family(self) -> int:
        return self._socket_kind()[0]

    @property
    def socket_type(self) -> int:
        return self._socket_kind()[1]

    @property
    def may_block_half_way(self) -> bool:
        """A blocking write here may sleep after writing part of its data: pipes,
        stream sockets and terminals (datagrams go whole or not at all)."""
        if stat.S_ISFIFO(self.mode):
            return True
        if stat.S_ISSOCK(self.mode):
            return self.socket_type == socket.SOCK_STREAM
        return stat.S_ISCHR(self.mode) and os.isatty(self.fd)

    def write_nonblocking(self, data: bytes, flags: int) -> int:
        """write(2)/send(2) ``data`` without sleeping (BlockingIOError if nothing fits).
        The tracee is stopped, so flipping O_NONBLOCK on the shared open file
        description for one call is seen by nobody (nor can its flags have changed
        since the probe read them)."""
        if stat.S_ISSOCK(self.mode):
            sock = socket.socket(fileno=self.fd)
            try:
                return sock.send(data, flags | MSG_DONTWAIT | MSG_NOSIGNAL)
            finally:
                sock.detach()
        fcntl.fcntl(self.fd, fcntl.F_SETFL, self.flags | os.O_NONBLOCK)
        try:
            return os.write(self.fd, data)
        finally:
            fcntl.fcntl(self.fd, fcntl.F_SETFL, self.flags)

    def opened_for(self, events: int) -> bool:
        """A read (POLLIN) or write (POLLOUT) may use this description: else it fails
        with EBADF at once, whatever the file (read(2), write(2): "not open for
        reading/writing"; O_PATH for neither), and never waits."""
        if self.flags & os.O_PATH:
            return not events & (select.POLLIN | select.POLLOUT)
        mode = self.flags & os.O_ACCMODE
        return not (events & select.POLLIN and mode == os.O_WRONLY
                    or events & select.POLLOUT and mode == os.O_RDONLY)

    def revents(self, events: int) -> int:
        poller = _poll()
        poller.register(self.fd, events)
        ready = poller.poll(0)
        return ready[0][1] if ready else 0

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _probe(ctx, fd: int):
    """A probe of the program's descriptor ``fd``, or None if it is not open."""
    try:
        dup = ctx.engine.dup_tracee_fd(ctx.task, fd)
    except OSError:
        return None
    try:
        return _Probe(dup)
    except OSError:
        os.close(dup)
        return None


# Character devices whose reads and writes never wait (devices(7), major 1): null, zero,
# full, random (since Linux 5.6, once seeded at boot), urandom. Not kmsg (1:11).
_MEM_DEVICES_THAT_NEVER_WAIT = frozenset({3, 5, 7, 8, 9})


def _never_waits(st) -> bool:
    """The descriptor whose stat is ``st`` is a file that never makes a call wait (a
    regular file, directory, block device or one of the memory devices)."""
    mode = st.st_mode
    if stat.S_ISCHR(mode):
        return (os.major(st.st_rdev) == 1
                and os.minor(st.st_rdev) in _MEM_DEVICES_THAT_NEVER_WAIT)
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISBLK(mode)


# look(): what a descriptor is, packed as trace/_fdlook.c packs it
KIND_OTHER, KIND_NEVER_WAITS, KIND_FIFO, KIND_STREAM, KIND_CHAR, KIND_PTY, KIND_WRITTEN = range(7)
NONBLOCKING = 1 << 20
PTY_FITS = 1 << 21   # look_writing: a raw line that surely fits the pty (trace/_fdlook.c)
_PTY_RAW_FITS = 1792
# devices.txt: Unix98 pty slaves are majors 136-143; /dev/ptmx (5:2) opens a master
_PTY_SLAVE_MAJORS = range(136, 144)
PTMX = (5, 2)


def look(engine, task, fd: int, events: int) -> int:
    """The task's descriptor ``fd`` at a glance, for the calls that stop at every
    use: -errno when it cannot be duplicated (EBADF: not open), else its poll(2)
    revents for ``events`` (0 for a file that never waits) | its KIND_* << 16 |
    NONBLOCKING (KIND_NEVER_WAITS too for a description not opened for ``events``:
    the read or write fails with EBADF). The duplicate is closed at once (trace/_fdlook.c)."""
    pidfd = engine._pidfd(task.tgid_native)
    if pidfd is None:
        return -errno.ESRCH
    if _c_look is not None:
        return _c_look(pidfd.fileno(), fd, events)
    return _python_look(engine, task, fd, events)


def look_writing(engine, task, fd: int, buf: int, count: int, refused: int,
                 masters: bool) -> int:
    """look(POLLOUT) at the descriptor of a write(2) of ``count`` bytes at ``buf``.
    On a pty the C look tells a raw line that surely fits (PTY_FITS) or finishes the
    write when it may (KIND_WRITTEN | written << 24); not on the device ``refused``
    (makedev, or 0), nor on a master unless ``masters``, which are KIND_CHAR
    (trace/_fdlook.c). From Python the same but for the write, which is left to the
    full path."""
    pidfd = engine._pidfd(task.tgid_native)
    if pidfd is None:
        return -errno.ESRCH
    if _c_look is not None:
        return _c_look(pidfd.fileno(), fd, select.POLLOUT, task.native, buf, count, refused,
                       masters)
    return _python_look(engine, task, fd, select.POLLOUT, (count, refused, masters))


def _python_look(engine, task, fd: int, events: int, refusal=None) -> int:
    try:
        probe = _Probe(engine.dup_tracee_fd(task, fd))
    except OSError:
        return -errno.EBADF
    try:
        return _looked(probe, events, refusal)
    finally:
        probe.close()


def _is_pty(rdev) -> bool:
    major = os.major(rdev)
    return major in _PTY_SLAVE_MAJORS or (major, os.minor(rdev)) == PTMX


def _looked(probe: _Probe, events: int, refusal=None) -> int:
    mode = probe.mode
    if not probe.opened_for(events) or _never_waits(probe.stat):
        kind = KIND_NEVER_WAITS
    elif stat.S_ISCHR(mode):
        kind = KIND_PTY if _is_pty(probe.stat.st_rdev) else KIND_CHAR
    elif stat.S_ISFIFO(mode):
        kind = KIND_FIFO
    elif stat.S_ISSOCK(mode) and probe.socket_type == socket.SOCK_STREAM:
        kind = KIND_STREAM
    else:
        kind = KIND_OTHER
    master = False
    if kind == KIND_PTY and refusal is not None:
        rdev = probe.stat.st_rdev
        master = (os.major(rdev), os.minor(rdev)) == PTMX
        if rdev == refusal[1] or (master and not refusal[2]):
            kind = KIND_CHAR
    out = kind << 16 | (NONBLOCKING if probe.nonblocking else 0)
    if kind == KIND_NEVER_WAITS:
        return out
    out |= probe.revents(events)
    if (kind == KIND_PTY and refusal is not None and not probe.nonblocking
            and out & select.POLLOUT and not out & (select.POLLHUP | select.POLLERR)
            and 0 < refusal[0] <= _PTY_RAW_FITS and (master or _raw(probe.fd))):
        out |= PTY_FITS
    return out


def _raw(fd: int) -> bool:
    """No output processing, echo or IXON on the terminal (trace/_fdlook.c)."""
    try:
        attrs = termios.tcgetattr(fd)
    except (OSError, termios.error):
        return False
    return not (attrs[0] & termios.IXON or attrs[1] & termios.OPOST
                or attrs[3] & (termios.ECHO | termios.ECHONL))


def once_nonblocking(probe: _Probe, then) -> Native:
    """Run the call natively with the probed description made O_NONBLOCK for it (the
    kernel makes its checks and the transfer if it can, and says EAGAIN or
    EINPROGRESS where it would wait); ``then(ctx, result)`` sees the result with the
    description's flags put back."""
    flags = probe.flags
    fcntl.fcntl(probe.fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)

    def finished(c, result):
        fcntl.fcntl(probe.fd, fcntl.F_SETFL, flags)
        return then(c, result)

    return Native(on_exit=finished)

