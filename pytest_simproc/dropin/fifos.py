"""The test's own blocking opens of FIFOs whose other end its host's programs open.

Natively ``open(fifo)`` in the test waits while a program it started opens the other
end (fifo(7)). In a host the programs run only while the test is inside a call that
runs the host, so that open would wait forever. Here ``open`` (so ``io.open``,
pathlib's and most libraries'), and ``os.open``, of a FIFO for reading only or for
writing only, without O_NONBLOCK, run the host while they would wait (procfs.py's
fakes of them hand such paths here):

- a reader opens at once with O_NONBLOCK (a reader that waits is one already: a
  program's writer may open meanwhile), then the host runs until a writer has opened
  the FIFO or holds it;
- a writer runs the host until a reader holds it (a program's reader that waits in
  the host opens once the test's writer waits: syscalls/fifos.py), then opens with
  O_NONBLOCK;

and the flag is taken off again. Once the host can change nothing by itself, the
real, waiting open is made, as outside a session. A reader's file object reads
through the host, as ``os.fdopen`` of a pipe does (forking.host_file); a writer's
writes are the real calls (one that fills the FIFO waits natively).
"""
from __future__ import annotations

import builtins
import os
import stat

from ..syscalls.fifos import held, record
from . import forking, sockets
from .routing import _in_host_thread, active_session

_real_open, _real_os_open = builtins.open, os.open
_TEST = "the test"   # the test's own wait, among the host's waiting writers


def opened(file, mode, buffering, encoding, errors, newline, closefd, opener):
    """``open(file, ...)`` of a FIFO in a session (procfs.py's fake hands it the
    paths it does not render): the file object, reading through the host
    (forking.host_file) for a reader; None for anything else (the real call)."""
    if opener is not None or not isinstance(mode, str) or "+" in mode:
        return None
    reading = "r" in mode
    if reading == any(c in mode for c in "wax"):
        return None   # the real error
    waited = _waited_open(file, os.O_RDONLY if reading else os.O_WRONLY)
    if waited is None:
        return None
    fd = waited()
    hosted = forking.host_file(fd, mode, buffering, encoding, errors, newline, closefd, None)
    if hosted is not None:
        return hosted
    return _real_open(fd, mode, buffering, encoding, errors, newline, closefd)


def os_opened(path, flags: int, mode: int):
    """``os.open(path, flags, mode)`` of a FIFO in a session: the descriptor; None for
    anything else (the real call)."""
    if flags & os.O_NONBLOCK or flags & os.O_ACCMODE not in (os.O_RDONLY, os.O_WRONLY):
        return None
    waited = _waited_open(path, flags, mode)
    return None if waited is None else waited()


def _waited_open(path, flags: int, mode: int = 0o666):
    """For a FIFO the test opens in a session: the host runs until the open would not
    wait, and the returned function makes it (a descriptor). None: the real open."""
    session = active_session()
    if (session is None or session._closed or session._host is None or _in_host_thread()
            or not isinstance(path, (str, bytes, os.PathLike))):
        return None
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISFIFO(st.st_mode):
        return None
    engine, inode = session._host._engine, (st.st_dev, st.st_ino)
    fifo = record(engine, inode)
    nonblocking = (flags & ~os.O_CREAT) | os.O_NONBLOCK
    if flags & os.O_ACCMODE == os.O_RDONLY:
        fd = _real_os_open(path, nonblocking, mode)   # a reader from now on
        seen = fifo.writers_opened
        # a program's writer that waits opens once the host runs and sees this reader
        partner = lambda: (fifo.writers_opened != seen  # noqa: E731
                           or held(engine, inode, writing=True))
        if partner() or sockets.run_host_until(session, partner, None, outside=True) or partner():
            return lambda: _blocking(fd)
        os.close(fd)
        return None
    partner = lambda: held(engine, inode, writing=False)  # noqa: E731
    fifo.waiting_writers.add(_TEST)
    try:
        found = partner() or sockets.run_host_until(session, partner, None, outside=True) or partner()
    finally:
        fifo.waiting_writers.discard(_TEST)
    if not found:
        return None
    return lambda: _blocking(_real_os_open(path, nonblocking, mode))


def _blocking(fd: int) -> int:
    os.set_blocking(fd, True)
    return fd

