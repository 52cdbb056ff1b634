"""Blocking I/O: the simulator, not the kernel, decides when a process may wait.

One process runs at a time, so a process that blocks natively on an empty pipe would
freeze the host. Every call that may block on a descriptor is trapped; the host looks
at the descriptor through a duplicate taken with pidfd_getfd(2) (it shares the open
file description, so it sees the same pipe, socket or epoll instance) and a poll(2)
with no timeout:

- ready, non-blocking, or a regular file: the call runs natively and cannot block;
- not ready: the process is parked; the host polls the parked descriptors whenever
  nothing else can run, and time only advances when none of them is ready.

poll, select and epoll_wait are answered by the host itself from the same duplicates
(epoll_wait on a duplicate of the epoll descriptor consumes events exactly as the
program's own call would); their timeouts are virtual.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import select
import socket
import stat
import struct

from .args import einval_on_invalid, pack_timespec, read_timespec, s32, u32
from .outcome import Block, Native
from .registry import handles
from .signal import read_signalfd

POLLIN, POLLPRI, POLLOUT = select.POLLIN, select.POLLPRI, select.POLLOUT
POLLERR, POLLHUP, POLLNVAL = select.POLLERR, select.POLLHUP, select.POLLNVAL
# fs/select.c: which poll bits count as ready for each select(2) set
_SELECT_IN = POLLIN | select.POLLRDNORM | select.POLLRDBAND | POLLHUP | POLLERR
_SELECT_OUT = POLLOUT | select.POLLWRNORM | select.POLLWRBAND | POLLERR
_SELECT_EX = POLLPRI
MSG_DONTWAIT = 0x40
PIPE_SLOT = 4096   # pipe(7): POLLOUT guarantees one free page-sized slot
F_GETPIPE_SZ = 1032
FIONREAD = 0x541B
NSEC = 1_000_000_000

_libc = ctypes.CDLL(None, use_errno=True)
_epoll_wait = _libc.epoll_wait
_epoll_wait.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_epoll_wait.restype = ctypes.c_int


class _Probe:
    """A duplicate of a tracee's descriptor and what it is."""

    __slots__ = ("fd", "mode", "nonblocking")

    def __init__(self, fd: int):
        self.fd = fd
        self.mode = os.fstat(fd).st_mode
        self.nonblocking = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)

    @property
    def never_blocks(self) -> bool:
        return stat.S_ISREG(self.mode) or stat.S_ISDIR(self.mode) or stat.S_ISBLK(self.mode)

    def revents(self, events: int) -> int:
        poller = select.poll()
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


def _gated(ctx, fd: int, events: int, on_ready=None):
    """Run the call natively once ``fd`` is ready for ``events`` (or cannot block)."""
    probe = _probe(ctx, s32(fd))
    if probe is None:
        return Native()  # EBADF and friends: the kernel answers
    if probe.never_blocks or probe.nonblocking or probe.revents(events):
        outcome = on_ready(ctx, probe) if on_ready is not None else Native()
        probe.close()
        return outcome

    def retry(c):
        return _gated(c, fd, events, on_ready)

    # read(2)/write(2) on pipes and sockets restart after SA_RESTART handlers (signal(7))
    return Block(retry=retry, restart=True, io=[(probe.fd, events)], cleanup=probe.close)


@handles("read", "readv")
def read(ctx, fd, buf, count, *_):
    sfd = ctx.engine.signalfds.get((ctx.proc.pid, s32(fd))) if ctx.engine.signalfds else None
    if sfd is not None and ctx.nr == _READ:
        return read_signalfd(ctx, sfd, buf, count)
    return _gated(ctx, fd, POLLIN)


@handles("recvfrom", "recvmsg")
def recv(ctx, fd, _buf, _len, flags, *_):
    if ctx.nr == _RECVMSG:
        flags = _len  # recvmsg(fd, msg, flags)
    if u32(flags) & MSG_DONTWAIT:
        return Native()
    return _gated(ctx, fd, POLLIN)


@handles("accept", "accept4")
def accept(ctx, fd, *_):
    return _gated(ctx, fd, POLLIN)


def _limit_pipe_write(ctx, probe):
    """A blocking write larger than the free room of a pipe would block natively half
    way: shorten it to what fits (a short write, which callers of write(2) handle)."""
    count = ctx.args[2]
    if not stat.S_ISFIFO(probe.mode) or probe.nonblocking:
        return Native()
    try:
        size = fcntl.fcntl(probe.fd, F_GETPIPE_SZ)
        queued = struct.unpack("i", fcntl.ioctl(probe.fd, FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return Native()
    room = size if queued == 0 else PIPE_SLOT
    if count <= room:
        return Native()
    return Native(regs={"rdx": room})


def _is_inet(fd: int) -> bool:
    sock = socket.socket(fileno=os.dup(fd))
    try:
        return sock.family in (socket.AF_INET, socket.AF_INET6)
    finally:
        sock.close()


@handles("connect")
def connect(ctx, fd, *_):
    """A blocking connect(2) runs natively as a non-blocking one (the flag is set on the
    shared open file description just for the call); if it is in progress, the caller
    waits in the host until the socket is writable and gets the outcome (SO_ERROR)."""
    probe = _probe(ctx, s32(fd))
    if probe is None:
        return Native()
    if not stat.S_ISSOCK(probe.mode) or probe.nonblocking or not _is_inet(probe.fd):
        # A Unix socket's connect fails with EAGAIN, not EINPROGRESS, when the listener
        # is full (unix(7)): it is left to the kernel, and rarely blocks.
        probe.close()
        return Native()
    flags = fcntl.fcntl(probe.fd, fcntl.F_GETFL)
    fcntl.fcntl(probe.fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)

    def finished(c, result):
        fcntl.fcntl(probe.fd, fcntl.F_SETFL, flags)
        if result != -errno.EINPROGRESS:
            probe.close()
            return result

        def outcome(c2):
            if not probe.revents(POLLOUT):
                return Block(retry=outcome, io=[(probe.fd, POLLOUT)])
            sock = socket.socket(fileno=os.dup(probe.fd))
            try:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            finally:
                sock.close()
                probe.close()
            return -err if err else 0

        return outcome(c)

    return Native(on_exit=finished)


@handles("write")
def write(ctx, fd, *_):
    return _gated(ctx, fd, POLLOUT, _limit_pipe_write)


_RED_ZONE = 128  # x86_64 ABI: below rsp, the program's own scratch space ends here


def _limit_pipe_writev(ctx, probe):
    """writev(2) to a pipe, like write: the iovec array is cut to the room left (the
    cut copy is written on the stack below the red zone, and the registers are put back
    at the exit stop)."""
    iov_ptr, count = ctx.args[1], u32(ctx.args[2])
    if not stat.S_ISFIFO(probe.mode) or probe.nonblocking or not 0 < count <= 1024:
        return Native()
    iovecs = [struct.unpack_from("<QQ", ctx.mem.read(iov_ptr, 16 * count), 16 * i)
              for i in range(count)]
    try:
        size = fcntl.fcntl(probe.fd, F_GETPIPE_SZ)
        queued = struct.unpack("i", fcntl.ioctl(probe.fd, FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return Native()
    room = size if queued == 0 else PIPE_SLOT
    if sum(length for _, length in iovecs) <= room:
        return Native()
    cut = []
    for base, length in iovecs:
        if room <= 0:
            break
        cut.append((base, min(length, room)))
        room -= length
    data = b"".join(struct.pack("<QQ", base, length) for base, length in cut)
    addr = (ctx.regs.rsp - _RED_ZONE - len(data)) & ~0xF
    ctx.mem.write(addr, data)
    return Native(regs={"rsi": addr, "rdx": len(cut)})


@handles("writev")
def writev(ctx, fd, *_):
    return _gated(ctx, fd, POLLOUT, _limit_pipe_writev)


@handles("sendto", "sendmsg")
def send(ctx, fd, *_):
    if ctx.nr == _SENDTO and u32(ctx.args[3]) & MSG_DONTWAIT:
        return Native()
    if ctx.nr == _SENDMSG and u32(ctx.args[2]) & MSG_DONTWAIT:
        return Native()
    return _gated(ctx, fd, POLLOUT)


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

    # poll/select/epoll_wait return EINTR after a handler, SA_RESTART or not (signal(7))
    mask = None
    if sigmask_ptr:
        # SIGKILL and SIGSTOP cannot be blocked (sigprocmask(2))
        mask = struct.unpack("<Q", ctx.mem.read(sigmask_ptr, 8))[0] & ~((1 << 8) | (1 << 18))
    return Block(retry=lambda c: attempt(c, deadline), deadline_ns=deadline,
                 on_timeout=on_timeout, io=io_fds, cleanup=close_all, sigmask=mask,
                 sigmask_ptr=sigmask_ptr)


def _poll(ctx, fds_ptr, nfds, deadline, sigmask_ptr=0):
    nfds = u32(nfds)
    if nfds > 1 << 20:
        return -errno.EINVAL
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
    if sigmask_ptr and u32(sigsetsize) != 8:
        return -errno.EINVAL
    return _poll(ctx, fds_ptr, nfds, _deadline(ctx, timeout), sigmask_ptr)


def _select(ctx, nfds, sets_ptrs, deadline, write_remaining, sigmask_ptr=0):
    nfds = s32(nfds)
    if nfds < 0:
        return -errno.EINVAL
    nbytes = ((nfds + 63) // 64) * 8
    masks = (_SELECT_IN, _SELECT_OUT, _SELECT_EX)
    wanted = [int.from_bytes(ctx.mem.read(ptr, nbytes), "little") if ptr and nbytes else 0
              for ptr in sets_ptrs]
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
        if sec < 0 or not 0 <= usec < 1_000_000:
            return -errno.EINVAL
        timeout = sec * NSEC + usec * 1000

    def write_remaining(c, deadline):
        # select(2) on Linux updates the timeout with the time not slept
        if timeout_ptr and deadline is not None:
            us = max(0, deadline - c.now_ns) // 1000
            c.mem.write(timeout_ptr, struct.pack("<qq", us // 1_000_000, us % 1_000_000))

    return _select(ctx, nfds, (readfds, writefds, exceptfds), _deadline(ctx, timeout),
                   write_remaining)


@handles("pselect6")
@einval_on_invalid
def pselect6(ctx, nfds, readfds, writefds, exceptfds, timeout_ptr, sig_ptr, *_):
    timeout = None
    if timeout_ptr:
        timeout = read_timespec(ctx, timeout_ptr)

    def write_remaining(c, deadline):
        if timeout_ptr and deadline is not None:
            left = max(0, deadline - c.now_ns)
            c.mem.write(timeout_ptr, pack_timespec(left))

    sigmask_ptr = 0
    if sig_ptr:  # pselect6's sixth argument: {const sigset_t *ss; size_t ss_len}
        sigmask_ptr, size = struct.unpack("<QQ", ctx.mem.read(sig_ptr, 16))
        if sigmask_ptr and size != 8:
            return -errno.EINVAL
    return _select(ctx, nfds, (readfds, writefds, exceptfds), _deadline(ctx, timeout),
                   write_remaining, sigmask_ptr)


def _epoll(ctx, epfd, events_ptr, maxevents, deadline, sigmask_ptr=0):
    maxevents = s32(maxevents)
    if maxevents <= 0 or maxevents > (1 << 26):
        return -errno.EINVAL
    probe = _probe(ctx, s32(epfd))
    if probe is None:
        return -errno.EBADF
    buf = ctypes.create_string_buffer(12 * maxevents)  # struct epoll_event is packed

    def check():
        n = _epoll_wait(probe.fd, buf, maxevents, 0)
        if n < 0:
            return -ctypes.get_errno()
        if n == 0:
            return None
        ctx.mem.write(events_ptr, buf.raw[:12 * n])
        return n

    return _answer(ctx, lambda c, d: _epoll(c, epfd, events_ptr, maxevents, d, sigmask_ptr),
                   deadline, [probe], [(probe.fd, POLLIN)], check, lambda c: 0, sigmask_ptr)


def _ms(timeout):
    timeout = s32(timeout)
    return None if timeout < 0 else timeout * 1_000_000


@handles("epoll_wait", "epoll_pwait")
def epoll_wait(ctx, epfd, events_ptr, maxevents, timeout, sigmask_ptr, *_):
    if ctx.nr == _EPOLL_WAIT:
        sigmask_ptr = 0
    return _epoll(ctx, epfd, events_ptr, maxevents, _deadline(ctx, _ms(timeout)), sigmask_ptr)


@handles("epoll_pwait2")
@einval_on_invalid
def epoll_pwait2(ctx, epfd, events_ptr, maxevents, tsp, sigmask_ptr, *_):
    timeout = None
    if tsp:
        timeout = read_timespec(ctx, tsp)
    return _epoll(ctx, epfd, events_ptr, maxevents, _deadline(ctx, timeout), sigmask_ptr)


_READ = 0
_EPOLL_WAIT = 232
_RECVMSG = 47
_SENDTO = 44
_SENDMSG = 46
