"""The test's ends of a simulated program's pipes (Popen stdin/stdout/stderr=PIPE).

stdout and stderr are the host's capture files read as a stream: a read that finds
nothing new runs the host instead of blocking the real machine. stdin is a real pipe
whose write end never blocks the test: what does not fit waits here and is moved in
while the host runs.
"""
from __future__ import annotations

import errno
import io
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .popen import SimPopen
    from .session import DropinSession

_CAPTURE = object()  # the host's capture file (Popen: PIPE)
_MERGE = object()    # stderr=STDOUT


class _PipeReader(io.RawIOBase):
    """The read end of a stdout/stderr PIPE: the host's capture file, read from where
    the test left off; reading runs the host until there is data or the process ended."""

    def __init__(self, popen: "SimPopen", kind: str):
        super().__init__()
        self._popen = popen
        self._kind = kind
        self._pos = 0

    def readable(self) -> bool:
        return True

    def _path(self):
        return getattr(self._popen._sp, f"_{self._kind}_path", None)

    def _size(self) -> int:
        path = self._path()
        try:
            return os.path.getsize(path)
        except (OSError, TypeError):
            return len(getattr(self._popen._sp, self._kind))

    def _read_at(self, pos: int, n: int | None) -> bytes:
        path = self._path()
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                return f.read(-1 if n is None else n)
        except (OSError, TypeError):
            data = getattr(self._popen._sp, self._kind)
            return data[pos:] if n is None else data[pos:pos + n]

    def peek_all(self) -> bytes:
        """What the program wrote that the test has not read yet."""
        return self._read_at(self._pos, None) if self._popen._sp is not None else b""

    def readinto(self, buffer) -> int:
        popen = self._popen
        n = len(buffer)
        if n == 0:
            return 0
        data = self._read_at(self._pos, n)
        if not data and not popen._ended():
            pos = self._pos
            popen._session.block(lambda: self._size() > pos or popen._ended())
            data = self._read_at(self._pos, n)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)


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

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        if self.closed:
            raise ValueError("write to closed file")
        data = bytes(b)
        with self._mutex:
            if self._fd is None:
                raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
            self._buf += data
        self._pump(report=True)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._pump()  # closes the pipe now, or once the rest went in

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
                del self._buf[:n]
            if self._fd is not None and self.closed and not self._buf:
                self._close_fd_locked()
            if self._fd is not None and self._buf:
                self._session._feeders.add(self)
            else:
                self._session._feeders.discard(self)

    def _close_fd_locked(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._session._feeders.discard(self)

    def _close_fd(self) -> None:
        with self._mutex:
            self._close_fd_locked()
