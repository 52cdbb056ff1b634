"""The test's ends of a simulated program's pipes (Popen stdin/stdout/stderr=PIPE).

stdout and stderr are two real pipes each: the program writes into the first, and every
process of the host that inherited its write end holds it; the session moves what they
wrote into the second, which the test reads, at every step of a host run. The test
reads end of file once the last writer closed the first pipe (pipe(7)) and everything
was moved: a background grandchild that keeps stdout open keeps ``read()`` and
``communicate()`` waiting. What does not fit in the second pipe waits here, so a program
never blocks on a full pipe whatever the test's threads do (the host runs only inside
the test's calls; a reader thread would natively drain the pipe meanwhile). A read that
would block runs the host until the pipe is readable (ready.py), in virtual time.
stdin is a real pipe whose write end never blocks the test: what does not fit waits
here and is moved in while the host runs (a write that does not fit first lets what can
run at the current instant run, as a blocked writer natively waits for its reader: a
program that ended meanwhile makes it fail with EPIPE).

``io.FileIO(fd)`` of the test's end of a pipe, pty or socket to a host process reads
as ``os.fdopen`` of it does (``SimFileIO``): FileIO's reads are C calls that no patch
reaches.
"""
from __future__ import annotations

import _thread
import errno
import io
import os
import select as _select
import threading
from typing import TYPE_CHECKING

from .forking import host_file
from .ready import _POLLIN_LIKE, _real_epoll, _real_read, fd_ready, wait_ready

if TYPE_CHECKING:
    from .popen import SimPopen
    from .session import DropinSession

_CHUNK = 32768       # what Popen.communicate reads at once
# what makes a relay's pump do something: its source readable or at its end, its sink
# writable or without readers (epoll(7) reports EPOLLHUP and EPOLLERR unasked)
_SOURCE_EVENTS = _select.EPOLLIN
_SINK_EVENTS = _select.EPOLLOUT


class RelayEvents:
    """Which relays have work at a host step: one epoll_wait(2) over every relay's two
    ends, where trying each relay costs a read (and an exception) that is almost
    always EAGAIN. An epoll set, not a poll object: a thread of the test may close a
    relay while the host runs. The set's descriptor exists only while some relay is
    registered: a test that counts its open descriptors before and after a program
    (plumbum's nohup test, with psutil) finds none left over."""

    def __init__(self):
        self._epoll = None
        self._fds: set[int] = set()

    def add(self, fd: int, events: int) -> None:
        if self._epoll is None:
            self._epoll = _real_epoll()
        self._epoll.register(fd, events)
        self._fds.add(fd)

    def discard(self, fd: int) -> None:
        if fd not in self._fds:
            return
        self._fds.discard(fd)
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):  # closed already (then epoll dropped it)
            pass
        if not self._fds:
            self.close()

    def look(self) -> dict[int, int]:
        """{fd: events} of the relays' ends ready now."""
        return {} if self._epoll is None else dict(self._epoll.poll(0))

    def close(self) -> None:
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
        self._fds.clear()


class _PipeReader(io.RawIOBase):
    """The read end of a stdout/stderr PIPE; a read that would block runs the host
    until the pipe has data or every writer closed it."""

    def __init__(self, session: "DropinSession", fd: int, relay: "_Relay"):
        super().__init__()
        self._session = session
        self._fd: int | None = fd
        self._relay = relay
        self._reading = threading.Lock()  # a read against the session's close
        session._pipe_fds[fd] = self

    mode = "rb"   # FileIO's, which Popen's file objects show (eventlet's GreenPipe reads it)

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        if self._fd is None:
            raise ValueError("I/O operation on closed file")
        return self._fd

    def ready(self) -> bool:
        """A read would not block (data, or end of file; also once the session closed
        the descriptor at the test's end)."""
        fd = self._fd
        if fd is None or fd_ready(fd, _POLLIN_LIKE):
            return True
        # What the relay holds back (more than the pipe takes, or the program's side
        # not moved since the test read the last of it) goes in first: otherwise a
        # host with nothing left to run never moves it.
        self._relay._pump()
        return fd_ready(fd, _POLLIN_LIKE)

    def readinto(self, buffer) -> int:
        self.fileno()  # ValueError once closed, as FileIO's
        if not len(buffer):
            return 0
        while True:
            ready = wait_ready(self._session, self.ready, None, "a read of a program's pipe")
            with self._reading:
                # A thread of the test that outlives it (a daemon reader) may still wait
                # when the session ends: the programs are gone, so it reads what the
                # pipe holds, then end of file, as natively once the last writer died
                # (pipe(7)); the number it had before the wait may be another file's.
                fd = self._fd
                if fd is None:
                    return 0
                if fd_ready(fd, _POLLIN_LIKE):  # (another reader may have taken it)
                    data = _real_read(fd, len(buffer))
                    break
                if not ready:
                    return 0
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._close_fd()

    def _close_fd(self) -> None:
        with self._reading:
            fd, self._fd = self._fd, None
        if fd is not None:
            self._session._pipe_fds.pop(fd, None)
            try:
                os.close(fd)
            except OSError:  # the test closed it itself (os.close of its fileno())
                pass
            if not self._relay.shared and not self._relay.read_elsewhere():
                self._relay._close_fd()  # the program's next write: EPIPE, as natively


class _Relay:
    """Moves what the program's side of a stdout/stderr pipe holds into the test's
    side during host runs (the session's feeders), keeping what does not fit; closes
    the test's side once the program's side reached end of file and all went in."""

    def __init__(self, session: "DropinSession", source: int, sink: int):
        self._session = session
        self._source: int | None = source
        self._sink: int | None = sink
        self._buf = bytearray()
        self._mutex = threading.Lock()  # a pump (host run) against a close (the test)
        # The test's end went to another program too (Popen(stdin=p.stdout), the
        # pipeline of subprocess's docs): the test's close leaves it to that reader, and
        # the relay ends when the last reader is gone (EPIPE) or the writers are.
        self.shared = False
        os.set_blocking(source, False)
        os.set_blocking(sink, False)
        session._relay_events.add(source, _SOURCE_EVENTS)
        session._relay_events.add(sink, _SINK_EVENTS)
        session._feeders[self] = None

    def due(self, ready: dict[int, int]) -> bool:
        """A pump would move something (``ready``: RelayEvents.look): the program's
        side has data or reached its end, or bytes held here can go into the test's
        side (or find that nobody reads it any more)."""
        return self._source in ready or bool(self._buf and self._sink in ready)

    def _pump(self) -> None:
        with self._mutex:
            self._pump_locked()

    def _pump_locked(self) -> None:
        while True:
            while self._buf:
                try:
                    del self._buf[:os.write(self._sink, self._buf[:1 << 16])]
                except BlockingIOError:
                    break
                except BrokenPipeError:  # every reader closed its copy
                    self._close_fd_locked()
                    return
            # Read from the program's side: everything while only the test reads (it
            # may not read until the program ends), only what the other pipe takes
            # when a program reads it too, so the writer blocks as in a pipeline.
            if self._source is None or (self._buf and self.shared):
                break
            try:
                data = _real_read(self._source, 1 << 16)
            except BlockingIOError:
                break
            if not data:  # every writer closed it
                self._session._relay_events.discard(self._source)
                os.close(self._source)
                self._source = None
                continue
            self._buf += data
        if self._source is None and not self._buf:
            self._close_fd_locked()

    def _close_fd(self) -> None:
        with self._mutex:
            self._close_fd_locked()

    def read_elsewhere(self) -> bool:
        """A descriptor other than the test's end reads the test's side: a duplicate
        the test made (eventlet's GreenPipe dups Popen's stdout and closes it). The
        write end polls POLLERR once no reader is left (pipe(7))."""
        sink = self._sink
        return sink is not None and not fd_ready(sink, _select.POLLERR)

    def sink_inode(self) -> int | None:
        return None if self._sink is None else os.fstat(self._sink).st_ino

    def _forget(self) -> None:
        """In a forked child of the test: close this process's copies, nothing else."""
        for fd in (self._source, self._sink):
            if fd is not None:
                os.close(fd)
        self._source = self._sink = None

    def _close_fd_locked(self) -> None:
        self._session._feeders.pop(self, None)
        self._buf.clear()
        for name in ("_source", "_sink"):
            fd = getattr(self, name)
            if fd is not None:
                self._session._relay_events.discard(fd)
                os.close(fd)
                setattr(self, name, None)


def collect(popen: "SimPopen", timeout) -> bool:
    """Popen.communicate's reading: everything in the stdout and stderr pipes until end
    of file on both, running the host, into ``popen._collected``; False when ``timeout``
    virtual seconds passed first (what was read stays there for the next call)."""
    pipes = [(stream, popen._collected.setdefault(kind, []))
             for kind, stream in (("stdout", popen.stdout), ("stderr", popen.stderr))
             if stream is not None and not stream.closed]
    open_ends = {id(stream): stream.fileno() for stream, _ in pipes}

    def drain() -> bool:
        for stream, chunks in pipes:
            fd = open_ends.get(id(stream))
            while fd is not None and fd_ready(fd, _POLLIN_LIKE):
                data = _real_read(fd, _CHUNK)
                if not data:
                    del open_ends[id(stream)]
                    break
                chunks.append(data)
        return not open_ends

    if not wait_ready(popen._session, drain, timeout, "communicate()"):
        return False
    for stream, _ in pipes:
        stream.close()
    return True


class _StdinWriter(io.RawIOBase):
    """stdin=PIPE: the write end of a real pipe whose read end is the program's stdin.

    What the test writes goes into the pipe as far as it fits (the write end is
    non-blocking) and the rest waits here: the session moves it into the pipe during
    host runs, as the program reads. The test therefore never blocks on a full pipe,
    and the program sees end of file once the test closed stdin and it read
    everything."""

    def __init__(self, session: DropinSession, fd: int):
        super().__init__()
        self._session = session
        self._fd: int | None = fd
        self._buf = bytearray()
        self._mutex = threading.Lock()
        os.set_blocking(fd, False)
        session._pipe_fds[fd] = self

    mode = "wb"

    def writable(self) -> bool:
        return True

    def due(self, _ready) -> bool:
        return True  # a feeder while it holds bytes: they go in as the program reads

    def fileno(self) -> int:
        if self._fd is None:
            raise ValueError("I/O operation on closed file")
        return self._fd

    def write(self, b) -> int:
        if self.closed:
            raise ValueError("write to closed file")
        data = bytes(b)
        with self._mutex:
            if self._fd is None:
                raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
            self._buf += data
        self._pump(report=True)
        session = self._session
        if self._buf and _thread.get_ident() == session._ident:
            # more than the pipe takes: natively the write waits while the program
            # reads, and fails (EPIPE) if it ends first. What can run at this instant
            # runs; the rest waits here, as ever (the clock does not move for it)
            session.run_now()   # (its pumps drop the rest at EPIPE, closing the end)
            self._pump(report=True)
            if self._fd is None:
                raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
        return len(data)

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._pump()  # closes the pipe now, or once the rest went in

    def discard(self) -> None:
        """Drop what the pipe did not take yet (an asyncio transport's abort())."""
        with self._mutex:
            self._buf.clear()

    def _pump(self, report: bool = False) -> None:
        with self._mutex:
            while self._fd is not None and self._buf:
                try:
                    n = os.write(self._fd, self._buf[:1 << 16])
                except BlockingIOError:
                    break
                except BrokenPipeError:  # the program closed its stdin or ended
                    self._buf.clear()
                    self._close_fd_locked()
                    if report:
                        raise
                    return
                except OSError as exc:
                    if exc.errno != errno.EBADF:
                        raise
                    # the test closed the descriptor itself (os.close(p.stdin.fileno())):
                    # the bytes are lost, and the number is no longer ours to close
                    self._buf.clear()
                    self._session._pipe_fds.pop(self._fd, None)
                    self._session._feeders.pop(self, None)
                    self._fd = None
                    raise
                del self._buf[:n]
            if self._fd is not None and self.closed and not self._buf:
                self._close_fd_locked()
            if self._fd is not None and self._buf:
                self._session._feeders[self] = None
            else:
                self._session._feeders.pop(self, None)

    def _close_fd_locked(self) -> None:
        if self._fd is not None:
            self._session._pipe_fds.pop(self._fd, None)
            os.close(self._fd)
            self._fd = None
        self._session._feeders.pop(self, None)

    def _close_fd(self) -> None:
        with self._mutex:
            self._close_fd_locked()


_RealFileIO = io.FileIO


class _FileIOType(type):
    """``SimFileIO``'s type: ``io.FileIO(...)`` makes a real FileIO, or a reading one of
    a descriptor whose other end is the host's, and ``isinstance``/``issubclass`` with
    ``io.FileIO`` mean the real class, whatever made the object (``open()`` makes the
    real one in C)."""

    def __call__(cls, file, mode="r", closefd=True, opener=None):
        if cls is SimFileIO:
            hosted = None
            if mode in ("r", "rb") and type(file) is int:
                hosted = host_file(file, "rb", 0, None, None, None, closefd, opener)
            return hosted if hosted is not None else _RealFileIO(file, mode, closefd, opener)
        return super().__call__(file, mode, closefd, opener)

    def __instancecheck__(cls, obj):
        return isinstance(obj, _RealFileIO) if cls is SimFileIO else super().__instancecheck__(obj)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, _RealFileIO) if cls is SimFileIO else super().__subclasscheck__(sub)


class SimFileIO(_RealFileIO, metaclass=_FileIOType):
    """What ``io.FileIO`` is while the patches are in (patches.py)."""
