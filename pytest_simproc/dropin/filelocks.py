"""The test's own waits for file locks that its host's programs hold.

Natively a test that takes a lock (``fcntl.flock``, ``fcntl.lockf``, ``fcntl.fcntl``
with F_SETLKW or F_OFD_SETLKW) held by a program it started waits while the program
runs and lets it go. In a host the programs run only while the test is inside a call
that runs the host, so the same call would wait forever. Here such a call is tried
without waiting (LOCK_NB; F_SETLK, F_OFD_SETLK) and, while it conflicts, the host runs
until the file's locks change (its lines of /proc/locks, proc(5)), and the call is
tried again. Once the host has nothing left to do by itself, the lock is held by
something else (another process of the machine, or a program that waits for the test)
and the real, waiting call is made, as natively; so is every call outside a session.
Who holds a lock is not asked: /proc/locks names a flock by the process that took it
(maybe gone since, its descriptor inherited) and an OFD lock by no process. Another
thread of the test waits as its socket calls do (``DropinSession.block``).

The programs' own waits for locks the test holds are the host's (syscalls/locks.py).
Until the host exists no program can hold a lock, so the fakes are installed only
from then to the test's end (patches.py's ``_HOSTED``): ``fcntl.lockf`` is the real
function for a test that starts no program, as a suite that compares it expects.
"""
from __future__ import annotations

import errno
import fcntl
import _thread

from ..syscalls.locks import F_OFD_SETLK, F_OFD_SETLKW, F_SETLK, F_SETLKW, file_of, lines_of
from .routing import _in_host_thread, _real_getpid, active_session
from .sockets import run_host_until

_real_flock, _real_lockf, _real_fcntl = fcntl.flock, fcntl.lockf, fcntl.fcntl
_CONFLICT = (errno.EAGAIN, errno.EACCES)   # EWOULDBLOCK is EAGAIN on Linux
_NONBLOCKING = {F_SETLKW: F_SETLK, F_OFD_SETLKW: F_OFD_SETLK}


def sim_flock(fd, operation):
    if operation not in (fcntl.LOCK_SH, fcntl.LOCK_EX):
        return _real_flock(fd, operation)   # LOCK_NB, LOCK_UN, or the real error
    return _waited(fd, lambda: _real_flock(fd, operation | fcntl.LOCK_NB),
                   lambda: _real_flock(fd, operation))


def sim_lockf(fd, cmd, len=0, start=0, whence=0):  # noqa: A002 (fcntl.lockf's names)
    if cmd not in (fcntl.LOCK_SH, fcntl.LOCK_EX):
        return _real_lockf(fd, cmd, len, start, whence)
    return _waited(fd, lambda: _real_lockf(fd, cmd | fcntl.LOCK_NB, len, start, whence),
                   lambda: _real_lockf(fd, cmd, len, start, whence))


def sim_fcntl(fd, cmd, arg=0, /):
    nonblocking = _NONBLOCKING.get(cmd) if isinstance(cmd, int) else None
    if nonblocking is None:
        return _real_fcntl(fd, cmd, arg)
    return _waited(fd, lambda: _real_fcntl(fd, nonblocking, arg),
                   lambda: _real_fcntl(fd, cmd, arg))


def _waited(fd, attempt, real):
    """``attempt()`` without waiting; while it conflicts, the host runs until the
    file's locks change and it is tried again; ``real()`` outside a session, and once
    the host can change nothing by itself."""
    session = active_session()
    if session is None or session._closed or session._host is None or _in_host_thread():
        return real()
    number = fd if isinstance(fd, int) else fd.fileno()
    while True:
        try:
            return attempt()
        except OSError as exc:
            if exc.errno not in _CONFLICT:
                raise
        where = file_of(_real_getpid(), number)
        if where is None or session._closed:
            return real()
        held = lines_of(where)
        changed = lambda: lines_of(where) != held  # noqa: E731
        if _thread.get_ident() == session._ident:
            moved = run_host_until(session, changed, None, outside=True)
        else:
            moved = session.block(changed) or not session._closed
        if not moved and not changed():
            return real()


REPLACED = [(fcntl, "flock", _real_flock, sim_flock), (fcntl, "lockf", _real_lockf, sim_lockf),
            (fcntl, "fcntl", _real_fcntl, sim_fcntl)]
