"""Blocking I/O: the simulator, not the kernel, decides when a process may wait.

One process runs at a time, so a process that blocks natively on an empty pipe would
freeze the host. Every call that may block on a descriptor is trapped; the host looks
at the descriptor through a duplicate taken with pidfd_getfd(2) (it shares the open
file description, so it sees the same pipe, socket or epoll instance) and a poll(2)
with no timeout:

- ready, non-blocking, or a regular file: the call runs natively and cannot block;
- not ready: the process is parked; the host polls the parked descriptors whenever
  nothing else can run, and time only advances when none of them is ready.

A blocking write that may not fit (a pipe, stream socket or tty) is finished by the
host through the duplicate as the reader makes room, so the program still gets the
full count; a Unix connect waits in the host while the listener's backlog is full.

poll, select and epoll_wait are answered by the host itself from the same duplicates
(epoll_wait on a duplicate of the epoll descriptor consumes events exactly as the
program's own call would); their timeouts are virtual.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import re
import select
import socket
import stat
import struct

from ..kernel.rlimits import RLIMIT_NOFILE
from ..trace import sockdiag
from ..trace.memory import in_user_space
from ..trace.procstatus import fd_table_size
from .args import (efault_on_fault, einval_on_invalid, pack_timespec, read_timespec, s32,
                   u32)
from .outcome import ERESTART_RESTARTBLOCK, ERESTARTNOHAND, Block, Native
from .probe import (KIND_CHAR, KIND_FIFO, KIND_NEVER_WAITS, KIND_OTHER, KIND_PTY,
                    KIND_WRITTEN, NONBLOCKING, PTY_FITS, _never_waits, _probe, _Probe, look,
                    look_writing, once_nonblocking)
from .registry import handles
from .signal import read_signalfd, signalfd_at
from .time import timens_offsets_write, timens_offsets_writev
from .process import pid_file_write
from .tty import any_modelled, hung_up, terminal_device, terminal_io, typed_on_master
from .timer import read_timerfd

POLLIN, POLLPRI, POLLOUT = select.POLLIN, select.POLLPRI, select.POLLOUT
POLLERR, POLLHUP, POLLNVAL = select.POLLERR, select.POLLHUP, select.POLLNVAL
# fs/select.c: which poll bits count as ready for each select(2) set
_SELECT_IN = POLLIN | select.POLLRDNORM | select.POLLRDBAND | POLLHUP | POLLERR
_SELECT_OUT = POLLOUT | select.POLLWRNORM | select.POLLWRBAND | POLLERR
_SELECT_EX = POLLPRI
MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_NOSIGNAL = 0x2, 0x40, 0x100, 0x4000
PIPE_SLOT = 4096   # pipe(7): POLLOUT guarantees one free page-sized slot
PIPE_BUF = 4096    # pipe(7): writes up to this size are atomic
F_GETPIPE_SZ = 1032
FIONREAD = 0x541B

_libc = ctypes.CDLL(None, use_errno=True)
_epoll_wait = _libc.epoll_wait
_epoll_wait.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_epoll_wait.restype = ctypes.c_int
_connect = _libc.connect
_connect.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
_connect.restype = ctypes.c_int


def _gated(ctx, fd: int, events: int, on_ready=None, probe=None):
    """Run the call natively once ``fd`` is ready for ``events`` (or cannot block: a
    file that never waits skips ``on_ready``, which would run such a call natively).
    ``probe``: the caller's probe of ``fd``, if it took one (this call closes it);
    pidfd_getfd, fstat and close cost less than a stat of the /proc link."""
    if probe is None:
        probe = _probe(ctx, s32(fd))
        if probe is None:
            return Native()  # EBADF and friends: the kernel answers
    if _never_waits(probe.stat) or not probe.opened_for(events):
        probe.close()
        return Native()
    if probe.nonblocking or probe.revents(events):
        outcome = on_ready(ctx, probe) if on_ready is not None else Native()
        probe.close()
        return outcome

    def retry(c):
        return _gated(c, fd, events, on_ready)

    # read(2)/write(2) on pipes and sockets restart after SA_RESTART handlers (signal(7))
    return Block(retry=retry, restart=True, io=[(probe.fd, events)], cleanup=probe.close)


def _streams(probe) -> bool:
    """A pipe or a stream socket: where a transfer may legally move fewer bytes than
    it could (read(2): "fewer bytes than requested"; pipe(7) partial writes)."""
    if stat.S_ISFIFO(probe.mode):
        return True
    return stat.S_ISSOCK(probe.mode) and probe.socket_type == socket.SOCK_STREAM


def _chaos_read(ctx, probe, count):
    """Chaos: a ready read of a pipe or stream socket returns part of what is there,
    as it does natively when the writer's bytes arrive in pieces."""
    if not _streams(probe):
        return Native()
    try:
        queued = struct.unpack("i", fcntl.ioctl(probe.fd, FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return Native()
    ready = min(count, queued)
    cut = ctx.engine.chaos_cut(ctx.task.tid, ready)
    return Native(regs={"rdx": cut}) if cut < ready else Native()


def runs_natively(engine, task, fd: int, events: int, total_of=None) -> bool:
    """A read or write of the task that surely runs natively, told by one look
    (probe.look) at the descriptor: not open, a file that never waits, non-blocking,
    or ready with no transfer to finish (a read; a write of ``total_of()`` bytes,
    None when the kernel judges the iovecs, that surely fits). Else False: the full
    path below decides, on its own look (a terminal, a wait, a write the host may
    finish). The caller has ruled out what comes before that path: chaos, a
    timens_offsets file, a signalfd or a cancelable timerfd (quick_reads_ok)."""
    key = (task.tgid_native, fd, events)
    skips = _devices_seen.get(key)
    if skips:   # a terminal's calls all take the full path: spare them this look
        _devices_seen[key] = skips - 1
        return False
    facts = look(engine, task, fd, events)
    kind = facts >> 16 & 0xF
    if facts >= 0 and kind in (KIND_CHAR, KIND_PTY):
        _spare_looks(key)
        return False  # a terminal's job control, a write the host finishes, a device
    return _surely_native(facts, events, total_of)


def _surely_native(facts: int, events: int, total_of) -> bool:
    """runs_natively's answer from a look's ``facts`` that found no character device."""
    if facts < 0:
        return True   # the kernel's EBADF
    kind = facts >> 16 & 0xF
    if kind == KIND_NEVER_WAITS:
        return True
    if not facts & (NONBLOCKING | 0xFFFF):
        return False  # a wait
    if facts & NONBLOCKING or events == POLLIN or kind == KIND_OTHER:
        return True
    total = total_of()
    return total is None or total <= (PIPE_SLOT if kind == KIND_FIFO else _SURELY_FITS_SOCKET)


# quick_write's answers besides a count the host wrote
FULL_PATH, NATIVELY = -1, -2


def quick_write(engine, task, fd: int, buf: int, count: int) -> int:
    """write(2) of ``count`` bytes at ``buf`` to the task's ``fd``, on one look:
    NATIVELY when it surely runs natively (runs_natively; on a pty, a raw line that
    surely fits), the count the host wrote when the look finished it on a pty
    (probe.look_writing; all of it, or what fitted before the terminal filled), else
    FULL_PATH. A pty's write is the model's to decide first in two cases only, which
    go the full path (_terminal_write): a writer outside its terminal's foreground
    group (SIGTTOU with TOSTOP, termios(3)), and a master whose slave the model
    signals for (typed_on_master). A hung-up terminal polls POLLHUP and a full one
    no POLLOUT: the full path, as before."""
    key = (task.tgid_native, fd, POLLOUT)
    skips = _devices_seen.get(key)
    if skips:   # a terminal other than a pty (the full path): spare this look
        _devices_seen[key] = skips - 1
        return FULL_PATH
    proc = task.proc
    term = proc.ctty
    refused = 0
    if term is not None and term.pgrp is not None and term.pgrp != proc.pgid:
        refused = os.makedev(*term.key)   # terminal_io's job control
    table = engine.table
    facts = look_writing(engine, task, fd, buf, count, refused,
                         not table.terminals.all() or not any_modelled(table))
    kind = facts >> 16 & 0xF
    if facts >= 0:
        if kind == KIND_WRITTEN:
            return facts >> 24
        if kind == KIND_PTY:   # (the model passes it: only the kernel may refuse it)
            return NATIVELY if facts & (NONBLOCKING | PTY_FITS) else FULL_PATH
        if kind == KIND_CHAR:
            _spare_looks(key)
            return FULL_PATH
    return NATIVELY if _surely_native(facts, POLLOUT, lambda: count) else FULL_PATH


def rest_of_write(ctx, fd: int, buf: int, count: int, written: int):
    """write(2)'s outcome once quick_write wrote ``written`` of its ``count`` bytes:
    that count, or the rest finished by the host as the reader makes room."""
    if written >= count:
        return written
    return _send_from_host(ctx, s32(fd), [(buf + written, count - written)], 0, written)


def quick_reads_ok(engine) -> bool:
    """A read may take runs_natively's short path: no chaos (a ready read may return
    part), no signalfd or cancelable timerfd (the host answers their reads)."""
    return not (engine.chaos or engine.signalfds or engine.cancelable_timerfds)


def quick_writes_ok(engine) -> bool:
    """A write may take runs_natively's short path: no chaos, no timens_offsets file
    or file of pids open (the host takes writes to them; syscalls/time.py,
    syscalls/process.py)."""
    return not (engine.chaos or engine.timens.files_open or engine.table.pid_files_open)


# (native pid, fd, poll events) -> how many more calls skip runs_natively's look: the
# descriptor was a character device (a terminal) when last looked at (quick_write:
# one other than a pty). A hint, never an answer: a number reused for a pipe
# meanwhile only misses the short path that long.
_devices_seen: dict[tuple[int, int, int], int] = {}
_LOOKS_SPARED = 64


def _spare_looks(key) -> None:
    if len(_devices_seen) >= 1024:
        _devices_seen.clear()
    _devices_seen[key] = _LOOKS_SPARED


@handles("read", "readv")
def read(ctx, fd, buf, count, *_):
    if quick_reads_ok(ctx.engine) and runs_natively(ctx.engine, ctx.task, s32(fd), POLLIN):
        return Native()
    probe = None
    if ctx.proc.ctty is not None:  # the controlling terminal's job control (syscalls/tty.py)
        probe = _probe(ctx, s32(fd))
        if probe is not None and not probe.opened_for(POLLIN):
            probe.close()
            return Native()   # EBADF comes before the terminal's job control
        checked = terminal_io(ctx, s32(fd), False, _device(probe))
        if isinstance(checked, int):
            _close(probe)
            return checked
        if checked is not None:
            return _read_terminal(ctx, fd, checked, probe)
    sfd = signalfd_at(ctx, s32(fd)) if ctx.engine.signalfds else None
    if sfd is not None and ctx.nr == _READ:
        _close(probe)
        return read_signalfd(ctx, sfd, buf, count)
    if ctx.engine.cancelable_timerfds and ctx.nr == _READ:
        tfd = ctx.engine.fd_object(ctx.engine.timerfds, ctx.task, s32(fd))
        if tfd is not None and tfd.cancel_on_set:
            return _gated(ctx, fd, POLLIN, lambda c, _probe: read_timerfd(c, tfd, count),
                          probe)
    if ctx.engine.chaos and ctx.nr == _READ:
        return _gated(ctx, fd, POLLIN, lambda c, p: _chaos_read(c, p, count), probe)
    return _gated(ctx, fd, POLLIN, probe=probe)


def _device(probe):
    """terminal_device of a probe's stat (None: not open)."""
    return terminal_device(None if probe is None else probe.stat)


def _close(probe) -> None:
    if probe is not None:
        probe.close()


def _read_terminal(ctx, fd, term, probe):
    """A read of the controlling terminal: one that waited when it hung up fails
    with EIO (syscalls/tty.py hung_up)."""
    parked = []

    def ready(_c, _probe):
        return -errno.EIO if parked and hung_up(term) else Native()
    outcome = _gated(ctx, fd, POLLIN, ready, probe)
    if isinstance(outcome, Block):
        parked.append(True)
    return outcome


# recvfrom and recvmsg: registered by net.py, which shows an outside sender in host terms
def recv(ctx, fd, buf, length, flags, *_):
    if ctx.nr == _RECVMSG:
        flags = length  # recvmsg(fd, msg, flags)
    if u32(flags) & MSG_DONTWAIT:
        return Native()
    if u32(flags) & MSG_WAITALL and not u32(flags) & MSG_PEEK:
        return _gated(ctx, fd, POLLIN, _receive_all)
    return _gated(ctx, fd, POLLIN)


# accept and accept4: registered by net.py, which shows the peer's port in host terms
def accept(ctx, fd, on_exit=None):
    if on_exit is None:
        return _gated(ctx, fd, POLLIN)
    return _gated(ctx, fd, POLLIN, lambda _c, _probe: Native(on_exit=on_exit))


# ---------------------------------------------------------------- writing
# A blocking write to a pipe, stream socket or terminal returns once everything is
# written (pipe(7), send(2)); natively it would sleep half way whenever the reader is
# slower. What surely fits a pipe or socket runs natively; the rest, and every write to
# a terminal, is written by the host.
_SURELY_FITS_SOCKET = 512   # POLLOUT on a stream socket means far more room than this
_CHUNK = 1 << 16


def _pipe_room(probe) -> int | None:
    try:
        size = fcntl.fcntl(probe.fd, F_GETPIPE_SZ)
        queued = struct.unpack("i", fcntl.ioctl(probe.fd, FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return None
    return size if queued == 0 else PIPE_SLOT


def _outgoing(ctx, probe, segments, flags, sockets_only=False):
    """A ready, blocking write of ``segments`` ((address, length) in the program's
    memory): natively if it cannot block, else from the host (_send_from_host)."""
    total = sum(length for _, length in segments)
    if probe.nonblocking and ctx.engine.chaos and ctx.nr in _COUNT_IN_RDX and _streams(probe):
        # chaos: a non-blocking write may move 1..n bytes of a stream socket's and of
        # a pipe's write above PIPE_BUF (pipe(7)); at most PIPE_BUF goes whole
        if not stat.S_ISFIFO(probe.mode) or total > PIPE_BUF:
            cut = ctx.engine.chaos_cut(ctx.task.tid, total)
            if cut < total:
                return Native(regs={"rdx": cut})
        return Native()
    if probe.nonblocking or not probe.may_block_half_way or (
            sockets_only and not stat.S_ISSOCK(probe.mode)):
        return Native()
    if stat.S_ISFIFO(probe.mode):
        if total <= PIPE_SLOT:
            return Native()  # POLLOUT (_gated) leaves at least a slot: _pipe_room's least
        room = _pipe_room(probe)
        if room is None or total <= room:
            return Native()
    elif stat.S_ISSOCK(probe.mode) and total <= _SURELY_FITS_SOCKET:
        return Native()
    # a terminal: POLLOUT says only that some room is left (n_tty_poll: write room > 0),
    # and none tells how much, so even a byte (ONLCR's "\r\n") may sleep half way
    return _send_from_host(ctx, s32(ctx.args[0]), list(segments), u32(flags), 0, probe)


def _send_from_host(ctx, fd, remaining, flags, sent, lent=None):
    """Write what a blocking call still has to write through the host's duplicate: it
    shares the open file description, so the bytes go exactly where the program's
    would. As much as fits without blocking, then the caller parks until POLLOUT for
    the rest. It returns the total once all is written, or the count so far when an
    error or a signal handler cuts it short (write(2), signal(7)). ``lent``: the
    caller's probe of ``fd``, which the caller closes."""
    probe = lent or _probe(ctx, fd)
    if probe is None:
        return sent or -errno.EBADF
    own = probe is not lent
    while remaining:
        base, length = remaining[0]
        chunk = ctx.mem.read(base, min(length, _CHUNK))
        try:
            n = probe.write_nonblocking(chunk, flags)
        except BlockingIOError:
            break
        except OSError as exc:
            if own:
                probe.close()
            # SIGPIPE: a pipe's writer gets it even after a partial write (pipe(7)); a
            # socket's only when nothing was sent (unix_stream_sendmsg, tcp_sendmsg)
            if exc.errno == errno.EPIPE and not flags & MSG_NOSIGNAL and (
                    not sent or stat.S_ISFIFO(probe.mode)):
                ctx.engine.raise_sigpipe(ctx.task)
            return sent or -exc.errno
        sent += n
        _advance(remaining, n)
    if not remaining:
        if own:
            probe.close()
        return sent
    if not own:  # the wait needs a duplicate of its own
        return _send_from_host(ctx, fd, remaining, flags, sent)

    def retry(c):
        return _send_from_host(c, fd, remaining, flags, sent)

    return Block(retry=retry, io=[(probe.fd, POLLOUT)], cleanup=probe.close,
                 restart=not sent, on_interrupt=(lambda _c: sent) if sent else None)


def _advance(segments: list, n: int) -> None:
    """Drop the first ``n`` bytes of a list of (address, length) segments."""
    while segments and n >= segments[0][1]:
        n -= segments.pop(0)[1]
    if segments and n:
        segments[0] = (segments[0][0] + n, segments[0][1] - n)


def _iovecs(ctx, iov_ptr, count):
    """The iovec array, or None when the kernel should judge it (EINVAL, EFAULT)."""
    if not 0 <= count <= 1024:
        return None
    raw = ctx.mem.read(iov_ptr, 16 * count) if count else b""
    iovecs = [struct.unpack_from("<QQ", raw, 16 * i) for i in range(count)]
    if any(length >= 1 << 63 for _, length in iovecs):
        return None
    return iovecs


@handles("write")
def write(ctx, fd, buf, count, *_):
    # /proc/PID/timens_offsets (syscalls/time.py)
    written = timens_offsets_write(ctx, s32(fd), buf, count)
    if written is None:  # ns_last_pid, a cgroup's pid list (syscalls/process.py)
        written = pid_file_write(ctx, s32(fd), buf, count)
    if written is not None:
        return written
    if quick_writes_ok(ctx.engine):
        done = quick_write(ctx.engine, ctx.task, s32(fd), buf, count)
        if done == NATIVELY:
            return Native()
        if done >= 0:
            return rest_of_write(ctx, fd, buf, count, done)
    return _terminal_write(ctx, fd, lambda c: [(buf, count)])


@handles("writev")
def writev(ctx, fd, iov_ptr, count, *_):
    written = timens_offsets_writev(ctx, s32(fd), iov_ptr, count)
    if written is not None:
        return written
    if quick_writes_ok(ctx.engine) and runs_natively(
            ctx.engine, ctx.task, s32(fd), POLLOUT,
            lambda: _total(_iovecs(ctx, iov_ptr, s32(count)))):
        return Native()
    return _terminal_write(ctx, fd, lambda c: _iovecs(c, iov_ptr, s32(count)))


def _total(segments) -> int | None:
    return None if segments is None else sum(length for _, length in segments)


def _terminal_write(ctx, fd, segments_of):
    """write(2)/writev(2) of ``segments_of(ctx)`` (None: the kernel judges the iovecs):
    a terminal's job control and a pty master's signals (syscalls/tty.py) around the
    ready write."""
    typed = probe = None
    if ctx.proc.ctty is not None or any_modelled(ctx.table):
        probe = _probe(ctx, s32(fd))
        if probe is not None and not probe.opened_for(POLLOUT):
            probe.close()
            return Native()   # EBADF comes before the terminal's job control
        device = _device(probe)
        checked = terminal_io(ctx, s32(fd), True, device)
        if isinstance(checked, int):
            _close(probe)
            return checked
        typed = typed_on_master(ctx, s32(fd), device)

    def ready(c, probe):
        segments = segments_of(c)
        if segments is None:
            return Native()
        outcome = _outgoing(c, probe, segments, 0)
        return outcome if typed is None else typed(c, segments, outcome)
    return _gated(ctx, fd, POLLOUT, ready, probe)


_MSGHDR = struct.Struct("<QI4xQQQQi4x")   # name, namelen, iov, iovlen, control, controllen, flags


# sendto and sendmsg: registered by net.py, which checks the destination first
def send(ctx, fd, buf, length, flags, addr, *_):
    if ctx.nr == _SENDMSG:
        flags = length  # sendmsg(fd, msg, flags)
    flags = u32(flags)
    if flags & MSG_DONTWAIT:
        return Native()

    def ready(c, probe):
        if ctx.nr == _SENDTO:
            if addr:  # an address on a stream socket: the kernel's error (EISCONN...)
                return Native()
            return _outgoing(c, probe, [(buf, length)], flags, sockets_only=True)
        _name, namelen, iov, iovlen, _control, controllen, _ = _MSGHDR.unpack(
            c.mem.read(buf, _MSGHDR.size))
        if namelen or controllen:
            # Ancillary data (SCM_RIGHTS...) must leave from the program itself: it
            # runs natively, gated on POLLOUT only.
            return Native()
        iovecs = _iovecs(c, iov, iovlen)
        return Native() if iovecs is None else _outgoing(c, probe, iovecs, flags,
                                                          sockets_only=True)
    return _gated(ctx, fd, POLLOUT, ready)


# ---------------------------------------------------------------- reading all
def _receive_all(ctx, probe):
    """recv(2) with MSG_WAITALL on a blocking stream socket waits for the whole length.
    The first part runs natively without waiting (MSG_DONTWAIT instead of
    MSG_WAITALL: it also takes the sender's address and ancillary data); the host
    receives the rest into the program's buffer as it arrives."""
    if probe.nonblocking or not stat.S_ISSOCK(probe.mode) or probe.socket_type != socket.SOCK_STREAM:
        return Native()
    fd = s32(ctx.args[0])
    if ctx.nr == _RECVMSG:
        _name, _nl, iov, iovlen, _control, _cl, _ = _MSGHDR.unpack(
            ctx.mem.read(ctx.args[1], _MSGHDR.size))
        segments = _iovecs(ctx, iov, iovlen)
        flags_reg, flags = "rdx", u32(ctx.args[2])
    else:
        segments = [(ctx.args[1], ctx.args[2])]
        flags_reg, flags = "r10", u32(ctx.args[3])
    if segments is None:
        return Native()
    flags = flags & ~MSG_WAITALL

    def first_part_done(c, result):
        if result <= 0:
            return result
        remaining = list(segments)
        _advance(remaining, result)
        if not remaining:
            return result
        return _receive_from_host(c, fd, remaining, flags, result)

    return Native(regs={flags_reg: flags | MSG_DONTWAIT}, on_exit=first_part_done)


def _receive_from_host(ctx, fd, remaining, flags, got):
    probe = _probe(ctx, fd)
    if probe is None:
        return got
    sock = socket.socket(fileno=probe.fd)
    try:
        while remaining:
            base, length = remaining[0]
            try:
                data = sock.recv(min(length, _CHUNK), flags | MSG_DONTWAIT)
            except BlockingIOError:
                break
            except OSError:
                data = b""
            if not data:  # end of stream or an error: what arrived so far (recv(2))
                probe.close()
                return got
            ctx.mem.write(base, data)
            got += len(data)
            _advance(remaining, len(data))
    finally:
        sock.detach()
    if not remaining:
        probe.close()
        return got

    def retry(c):
        return _receive_from_host(c, fd, remaining, flags, got)

    return Block(retry=retry, io=[(probe.fd, POLLIN)], cleanup=probe.close,
                 on_interrupt=lambda _c: got)


# ---------------------------------------------------------------- connect
# registered by net.py, which checks the destination first
def connect(ctx, fd, addr, addrlen, *_):
    """A blocking connect(2) never sleeps in the kernel: a TCP one runs natively as a
    non-blocking one, a Unix one waits in the host while the listener's backlog is
    full (sock_diag(7)), then runs natively."""
    probe = _probe(ctx, s32(fd))
    if probe is None:
        return Native()
    if not stat.S_ISSOCK(probe.mode) or probe.nonblocking:
        probe.close()
        return Native()
    if probe.socket_family == socket.AF_UNIX:
        kind = probe.socket_type
        probe.close()
        if kind not in (socket.SOCK_STREAM, socket.SOCK_SEQPACKET):
            return Native()
        return _unix_connect(ctx, addr, addrlen)
    if probe.socket_family not in (socket.AF_INET, socket.AF_INET6):
        probe.close()
        return Native()
    def finished(c, result):
        if result != -errno.EINPROGRESS:
            probe.close()
            return result
        try:
            sockaddr = c.mem.read(addr, min(u32(addrlen), 128))
        except (OSError, OverflowError):
            sockaddr = None

        def outcome(c2):
            if not probe.revents(POLLOUT):
                return Block(retry=outcome, io=[(probe.fd, POLLOUT)])
            sock = socket.socket(fileno=os.dup(probe.fd))
            try:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if not err and sockaddr is not None:
                    # The blocking call would have marked the socket connected; a second
                    # connect does (inet_stream_connect), so that a third is EISCONN.
                    _connect(probe.fd, sockaddr, len(sockaddr))
            finally:
                sock.close()
                probe.close()
            return -err if err else 0

        return outcome(c)

    return once_nonblocking(probe, finished)


_SUN_PATH = 2   # offsetof(struct sockaddr_un, sun_path)


def _unix_connect(ctx, addr, addrlen):
    addrlen = u32(addrlen)
    if not _SUN_PATH < addrlen <= 110:
        return Native()  # the kernel's EINVAL
    sun_path = ctx.mem.read(addr + _SUN_PATH, addrlen - _SUN_PATH)
    key = sockdiag.listener_key(sun_path, f"/proc/{ctx.task.tgid_native}/cwd")
    if key is None or not sockdiag.accept_queue_full(key):
        return Native()  # connects, or fails at once (ECONNREFUSED, ENOENT)

    def room():
        return not sockdiag.accept_queue_full(key)

    # unix(7): a connect that waits for the backlog is restarted after SA_RESTART handlers
    return Block(retry=lambda c: _unix_connect(c, addr, addrlen), ready=room, restart=True)


# ---------------------------------------------------------------- poll and select
def _deadline(ctx, timeout_ns):
    return None if timeout_ns is None else ctx.now_ns + timeout_ns


def _answer(ctx, attempt, deadline, probes, io_fds, check, on_timeout, sigmask_ptr=0):
    """Answer now if anything is ready or the deadline has come, else park; every
    retry starts over from ``attempt(ctx, deadline)`` with fresh duplicates."""
    result = check()
    if result is not None or (deadline is not None and deadline <= ctx.now_ns):
        for probe in probes:
            probe.close()
        return result if result is not None else on_timeout(ctx)

    def close_all():
        for probe in probes:
            probe.close()

    # poll/select/epoll_wait return EINTR after a handler, SA_RESTART or not (signal(7));
    # the kernel's own return, before the handler: poll's restarts without a handler
    # (restart_syscall), epoll's is EINTR itself
    interrupted = (None if ctx.name.startswith("epoll") else
                   ERESTART_RESTARTBLOCK if ctx.name == "poll" else ERESTARTNOHAND)
    mask = None
    if sigmask_ptr:
        # SIGKILL and SIGSTOP cannot be blocked (sigprocmask(2))
        mask = struct.unpack("<Q", ctx.mem.read(sigmask_ptr, 8))[0] & ~((1 << 8) | (1 << 18))
    return Block(retry=lambda c: attempt(c, deadline), deadline_ns=deadline,
                 on_timeout=efault_on_fault(on_timeout), io=io_fds, cleanup=close_all,
                 sigmask=mask, sigmask_ptr=sigmask_ptr, interrupted=interrupted)


def _poll(ctx, fds_ptr, nfds, deadline, sigmask_ptr=0):
    nfds = u32(nfds)
    if nfds > ctx.proc.rlimits[RLIMIT_NOFILE][0]:
        return -errno.EINVAL  # poll(2)
    raw = ctx.mem.read(fds_ptr, 8 * nfds) if nfds else b""
    entries = [struct.unpack_from("<ihh", raw, 8 * i) for i in range(nfds)]
    probes: dict[int, _Probe | None] = {}
    for fd, _events, _ in entries:
        if fd >= 0 and fd not in probes:
            probes[fd] = _probe(ctx, fd)

    def revents_of(fd, events):
        if fd < 0:
            return 0
        if probes[fd] is None:
            return POLLNVAL
        wanted = events | POLLERR | POLLHUP
        return probes[fd].revents(wanted) & wanted

    def write(c, all_zero):
        # the kernel checks the whole array's range (of no entries too) before it
        # writes the results back
        if not in_user_space(fds_ptr, 8 * nfds):
            raise OSError(errno.EFAULT, "poll: fds outside user space")
        out = bytearray(raw)
        count = 0
        for i, (fd, events, _) in enumerate(entries):
            revents = 0 if all_zero else revents_of(fd, events)
            struct.pack_into("<h", out, 8 * i + 6, revents)
            count += bool(revents)
        if nfds:
            c.mem.write(fds_ptr, bytes(out))
        return count

    def check():
        if not any(revents_of(fd, events) for fd, events, _ in entries):
            return None
        return write(ctx, False)

    io_fds = [(probes[fd].fd, events | POLLERR | POLLHUP) for fd, events, _ in entries
              if fd >= 0 and probes[fd] is not None]
    live = [p for p in probes.values() if p is not None]
    return _answer(ctx, lambda c, d: _poll(c, fds_ptr, nfds, d, sigmask_ptr), deadline, live,
                   io_fds, check, lambda c: write(c, True), sigmask_ptr)


@handles("poll")
def poll(ctx, fds_ptr, nfds, timeout, *_):
    timeout = s32(timeout)
    return _poll(ctx, fds_ptr, nfds,
                 _deadline(ctx, None if timeout < 0 else timeout * 1_000_000))


@handles("ppoll")
@einval_on_invalid
def ppoll(ctx, fds_ptr, nfds, tsp, sigmask_ptr, sigsetsize, *_):
    timeout = None
    if tsp:
        timeout = read_timespec(ctx, tsp)
    error = _sigmask_error(ctx, sigmask_ptr, sigsetsize)
    if error:
        return error
    return _poll(ctx, fds_ptr, nfds, _deadline(ctx, timeout), sigmask_ptr)


def _fd_sets(ctx, sets_ptrs, nfds) -> list[int]:
    nbytes = ((nfds + 63) // 64) * 8
    return [int.from_bytes(ctx.mem.read(ptr, nbytes), "little") if ptr and nbytes else 0
            for ptr in sets_ptrs]


def _select(ctx, nfds, sets_ptrs, deadline, write_remaining, sigmask_ptr=0):
    nfds = s32(nfds)
    if nfds < 0:
        return -errno.EINVAL
    try:
        wanted = _fd_sets(ctx, sets_ptrs, nfds)
        clamp = nfds > 64 and any(w >> 64 for w in wanted)
    except OSError:
        if nfds <= 64:
            raise
        clamp = True
    if clamp:
        # the kernel clamps nfds to the size of the descriptor table (FDSize), and
        # reads and judges only that much; asked only when it can matter
        nfds = min(nfds, fd_table_size(ctx.task.tgid_native) or nfds)
        wanted = _fd_sets(ctx, sets_ptrs, nfds)
    nbytes = ((nfds + 63) // 64) * 8
    masks = (_SELECT_IN, _SELECT_OUT, _SELECT_EX)
    probes: dict[int, _Probe] = {}
    for fd in range(nfds):
        if any(w >> fd & 1 for w in wanted):
            probe = _probe(ctx, fd)
            if probe is None:
                for p in probes.values():
                    p.close()
                return -errno.EBADF
            probes[fd] = probe

    def check():
        results, count = [0, 0, 0], 0
        for fd, probe in probes.items():
            revents = probe.revents(POLLIN | POLLOUT | POLLPRI)
            for k in range(3):
                if wanted[k] >> fd & 1 and revents & masks[k]:
                    results[k] |= 1 << fd
                    count += 1
        if not count:
            return None
        for ptr, bits in zip(sets_ptrs, results):
            if ptr and nbytes:
                ctx.mem.write(ptr, bits.to_bytes(nbytes, "little"))
        write_remaining(ctx, deadline)
        return count

    def on_timeout(c):
        for ptr in sets_ptrs:
            if ptr and nbytes:
                c.mem.write(ptr, bytes(nbytes))
        write_remaining(c, deadline)
        return 0

    io_fds = []
    for fd, probe in probes.items():
        events = ((POLLIN if wanted[0] >> fd & 1 else 0) | (POLLOUT if wanted[1] >> fd & 1 else 0)
                  | (POLLPRI if wanted[2] >> fd & 1 else 0))
        io_fds.append((probe.fd, events | POLLERR | POLLHUP))
    return _answer(ctx, lambda c, d: _select(c, nfds, sets_ptrs, d, write_remaining,
                                             sigmask_ptr),
                   deadline, list(probes.values()), io_fds, check, on_timeout, sigmask_ptr)


@handles("select")
def select_(ctx, nfds, readfds, writefds, exceptfds, timeout_ptr, *_):
    timeout = None
    if timeout_ptr:
        sec, usec = struct.unpack("<qq", ctx.mem.read(timeout_ptr, 16))
        # the kernel carries whole seconds of tv_usec over (C division) before it
        # checks the value
        carry = abs(usec) // 1_000_000 * (1 if usec >= 0 else -1)
        sec, usec = sec + carry, usec - carry * 1_000_000
        if sec < 0 or usec < 0:
            return -errno.EINVAL
        timeout = sec * 1_000_000_000 + usec * 1000

    def write_remaining(c, deadline):
        # select(2) on Linux updates the timeout with the time not slept
        if timeout_ptr and deadline is not None:
            us = max(0, deadline - c.now_ns) // 1000
            _update_timeout(c, timeout_ptr, struct.pack("<qq", us // 1_000_000, us % 1_000_000))

    return _select(ctx, nfds, (readfds, writefds, exceptfds), _deadline(ctx, timeout),
                   write_remaining)


@handles("pselect6")
@einval_on_invalid
def pselect6(ctx, nfds, readfds, writefds, exceptfds, timeout_ptr, sig_ptr, *_):
    # pselect6's sixth argument, {const sigset_t *ss; size_t ss_len}, is read first
    sigmask_ptr, size = struct.unpack("<QQ", ctx.mem.read(sig_ptr, 16)) if sig_ptr else (0, 0)
    timeout = None
    if timeout_ptr:
        timeout = read_timespec(ctx, timeout_ptr)

    def write_remaining(c, deadline):
        if timeout_ptr and deadline is not None:
            left = max(0, deadline - c.now_ns)
            _update_timeout(c, timeout_ptr, pack_timespec(left))

    error = _sigmask_error(ctx, sigmask_ptr, size)
    if error:
        return error
    return _select(ctx, nfds, (readfds, writefds, exceptfds), _deadline(ctx, timeout),
                   write_remaining, sigmask_ptr)


def _epoll(ctx, epfd, events_ptr, maxevents, deadline, sigmask_ptr=0):
    # epoll_wait(2)'s checks in the order Linux 6.18 makes them: the descriptor, the
    # count, the buffer's range (whether it is an epoll is the native wait's to say)
    maxevents = s32(maxevents)
    probe = _probe(ctx, s32(epfd))
    if probe is None:
        return -errno.EBADF
    error = (-errno.EINVAL if maxevents <= 0 or maxevents > _EP_MAX_EVENTS else
             -errno.EFAULT if not in_user_space(events_ptr, 12 * maxevents) else 0)
    if error:
        probe.close()
        return error
    maxevents = min(maxevents, 1024)  # what one call collects; more come on the next
    buf = ctypes.create_string_buffer(12 * maxevents)  # struct epoll_event is packed

    def check():
        n = _epoll_wait(probe.fd, buf, maxevents, 0)
        if n < 0:
            return -ctypes.get_errno()
        if n == 0:
            return None
        ctx.mem.write(events_ptr, buf.raw[:12 * n])
        return n

    outcome = _answer(ctx, lambda c, d: _epoll(c, epfd, events_ptr, maxevents, d, sigmask_ptr),
                      deadline, [probe], [(probe.fd, POLLIN)], check, lambda c: 0, sigmask_ptr)
    if isinstance(outcome, Block):
        items = _exclusive_items(ctx.task.tgid_native, s32(epfd))
        # a target the host cannot watch for wake-ups: woken whenever ready, as before
        if items and ctx.engine.exclusive_edges.watch(
                lambda fd: ctx.engine.dup_tracee_fd(ctx.task, fd), items):
            outcome.exclusive = frozenset(target for target, _fd, _events in items)
    return outcome


EPOLLEXCLUSIVE = 1 << 28
_FDINFO_FIELD = re.compile(rb"(\w+):\s*(\S+)")


def _exclusive_items(native_pid: int, epfd: int) -> list:
    """The files epoll instance ``epfd`` watches with EPOLLEXCLUSIVE, as proc(5) fdinfo
    lists its items ("tfd: ... events: ... ino: sdev:"): ``((device, inode), tfd,
    events)``; none when it watches one without (kernel/epollwake.py)."""
    try:
        with open(f"/proc/{native_pid}/fdinfo/{epfd}", "rb") as f:
            items = [dict(_FDINFO_FIELD.findall(line)) for line in f
                     if line.startswith(b"tfd:")]
    except OSError:
        return []
    if not items or any(not int(item[b"events"], 16) & EPOLLEXCLUSIVE for item in items):
        return []
    return [((int(item[b"sdev"], 16), int(item[b"ino"], 16)), int(item[b"tfd"]),
             int(item[b"events"], 16)) for item in items]


def _sigmask_error(ctx, ptr: int, size: int) -> int:
    """The temporary signal mask of ppoll, pselect6 and epoll_pwait, checked before the
    call looks at its descriptors (set_user_sigmask): EINVAL for a size other than a
    sigset_t's, EFAULT where it cannot be read; 0 for none or a good one."""
    if not ptr:
        return 0
    if size != 8:
        return -errno.EINVAL
    try:
        ctx.mem.read(ptr, 8)
    except OSError:
        return -errno.EFAULT
    return 0


def _update_timeout(ctx, ptr, data) -> None:
    """select(2)/pselect(2) write back the time left; where they cannot (read-only
    memory), the kernel lets the call's result stand (poll_select_finish)."""
    try:
        ctx.mem.write(ptr, data)
    except OSError:
        pass


def _ms(timeout):
    timeout = s32(timeout)
    return None if timeout < 0 else timeout * 1_000_000


@handles("epoll_wait", "epoll_pwait")
def epoll_wait(ctx, epfd, events_ptr, maxevents, timeout, sigmask_ptr, sigsetsize, *_):
    if ctx.nr == _EPOLL_WAIT:
        sigmask_ptr = 0
    error = _sigmask_error(ctx, sigmask_ptr, sigsetsize)
    if error:
        return error
    return _epoll(ctx, epfd, events_ptr, maxevents, _deadline(ctx, _ms(timeout)), sigmask_ptr)


@handles("epoll_pwait2")
@einval_on_invalid
def epoll_pwait2(ctx, epfd, events_ptr, maxevents, tsp, sigmask_ptr, sigsetsize, *_):
    timeout = None
    if tsp:
        timeout = read_timespec(ctx, tsp)
    error = _sigmask_error(ctx, sigmask_ptr, sigsetsize)
    if error:
        return error
    return _epoll(ctx, epfd, events_ptr, maxevents, _deadline(ctx, timeout), sigmask_ptr)


_EP_MAX_EVENTS = 0x7FFFFFFF // 12  # INT_MAX / sizeof(struct epoll_event)
_READ = 0
_EPOLL_WAIT = 232
_RECVMSG = 47
_SENDTO = 44
_SENDMSG = 46
_COUNT_IN_RDX = (1, _SENDTO)   # write(fd, buf, count), sendto(fd, buf, len, ...)
