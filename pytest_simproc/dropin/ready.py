"""Waiting in the test for its ends of the programs' pipes: select, poll, epoll,
selectors and os.read.

The test's ends of ``Popen(stdin/stdout/stderr=PIPE)`` (and its pidfds of host processes)
are real descriptors, but what makes them ready happens in the host, and the host runs
only while the test is inside a patched call. A wait that names one of them therefore
runs the host until the real kernel reports one of the descriptors ready (a zero-timeout
check between two simulated steps, where nothing runs natively: deterministic), or for
its timeout in virtual seconds. A wait that names none of them is the real call.
"""
from __future__ import annotations

import os
import select as _select
import selectors
from typing import TYPE_CHECKING

from ..errors import SimprocError
from . import forking, sockets
from .routing import (_in_host_thread, _real_poll, _real_read, _real_write, active_session,
                      fd_ready, waited_outside)

if TYPE_CHECKING:
    from .session import DropinSession

_real_select = _select.select
_real_epoll = _select.epoll
_isatty = os.isatty

_POLLIN_LIKE = _select.POLLIN | _select.POLLHUP | _select.POLLERR


def _fileno(obj) -> int:
    """select(2)'s view of ``obj``: an int, or what its fileno() returns."""
    if isinstance(obj, int):
        return obj
    return obj.fileno()


def _session_for(fds) -> "DropinSession | None":
    """The active session if ``fds`` name one of its host descriptors and the caller is
    not one of the host's own threads; else None (the real call)."""
    session = active_session()
    if session is None or session._closed or _in_host_thread():
        return None
    fds = list(fds)
    for fd in fds:
        if fd in session._pipe_fds or session._pidfds.get(fd) is not None:
            return session
    # a pipe or pty to a child the test forked (forking.py): found through /proc; a
    # socket to a host process (sockets.py). A thread of the test polling it (sh's
    # output thread) waits as the test's would; the lock keeps the host's table still
    # while it looks.
    with session._lock:
        if not session._closed and session._host is not None and any(
                forking.host_writes(session, fd) or sockets.fd_waits_on_host(session, fd)
                for fd in fds):
            return session
    return None


# Host steps a wait for readiness lets the programs go on once a descriptor is ready
# (session.block's linger): natively a busy writer keeps writing while its reader wakes
# up, and a run that stopped at its first line cost a round trip to the host per line
# (plumbum's draining-stderr tests). It ends sooner once nothing can run at the current
# instant, so a program that answers and waits is seen at once.
LINGER_STEPS = 1024


def wait_ready(session: "DropinSession", ready, timeout, what: str) -> bool:
    """Run the host until ``ready()`` or for ``timeout`` virtual seconds (None: no
    limit), and on for ``LINGER_STEPS`` steps or until the programs wait; returns
    ``ready()``. A wait without a limit that is still waiting when the host reaches
    its stop_time would natively never return: SimprocError."""
    def check():
        session._pidfds.refresh(session._gone)  # a pidfd polls readable at the end
        return ready()

    if check():
        return True
    if session._closed:
        return False
    deadline = None if timeout is None else session.now + max(0.0, timeout)
    while True:
        remaining = None if deadline is None else max(0.0, deadline - session.now)
        done = session.block(check, remaining, linger=LINGER_STEPS)
        host = session._host
        if host is not None and host._engine.clock.now_ns >= host._stop_ns:
            # the host's shutdown at stop_time ended the writers: not an answer
            raise SimprocError(
                f"{what} was still waiting when the simulated host reached its "
                f"stop_time ({host.stop_time} virtual seconds); natively it would "
                f"never return")
        if done:
            return True
        if session._closed or (deadline is not None and session.now >= deadline):
            return False
        if host is None or host._engine.alive == 0:
            # nothing in the host can make a descriptor ready any more
            if deadline is None:
                raise SimprocError(
                    f"{what} waits for a descriptor that no process of the simulated "
                    f"host can make ready; natively it would never return")
            session.sleep(deadline - session.now)
            return check()


# ------------------------------------------------------------------ os.read
def _sim_read(fd, n):
    session = active_session()
    if session is not None and type(fd) is int and not session._closed:
        end = session._pipe_fds.get(fd)
        if end is None:
            forking._wait_for_writers(fd)  # a pipe to a child the test forked
        elif end.readable() and not _in_host_thread() and forking._blocking(fd):
            wait_ready(session, lambda: fd_ready(fd, _POLLIN_LIKE), None, "os.read()")
    return _real_read(fd, n)


def _sim_write(fd, data):
    """A blocking write of the test to a pipe whose reader is in the host (forking.py)."""
    written = forking.host_write(fd, data) if active_session() is not None else None
    return _real_write(fd, data) if written is None else written


# ------------------------------------------------------------------ select, poll, epoll
_always_ready_fd: int | None = None


def _always_ready() -> int:
    """A descriptor that is readable for good (a byte, then end of file): the real
    call made on it checks a timeout with the kernel's own errors and returns at once."""
    global _always_ready_fd
    if _always_ready_fd is None:
        read_end, write_end = os.pipe()
        os.write(write_end, b"\0")
        os.close(write_end)
        _always_ready_fd = read_end
    return _always_ready_fd


def _plain(timeout) -> bool:
    """A timeout every real wait takes as it is (None, or a number of seconds or
    milliseconds well within the kernel's range): its check with the real call on
    an always-ready descriptor can be skipped."""
    return timeout is None or (type(timeout) in (int, float) and 0 <= timeout <= 1e9)


def _seconds(timeout, per_second):
    """A wait's timeout in seconds, None for none (a negative one of poll and epoll);
    0 for anything else (left to the real call to refuse)."""
    if timeout is None:
        return None
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        return 0
    return None if timeout < 0 else timeout / per_second


def _answer(session, check, timeout, what: str):
    """The real call's answer once the host made it non-empty, or after ``timeout``
    virtual seconds: ``check()`` is the real call with a zero timeout."""
    found = []

    def answered():
        return bool(found) and (any(found[0]) if isinstance(found[0], tuple)
                                else bool(found[0]))

    def ready():
        # the first events found are the answer: with EPOLLONESHOT or EPOLLET (trio's
        # registrations) a second look no longer reports them (epoll(7))
        if not answered():
            found[:] = [check()]
        return answered()

    wait_ready(session, ready, timeout, what)
    return found[0] if found else check()


def _sim_select(rlist, wlist, xlist, timeout=None):
    rlist, wlist, xlist = list(rlist), list(wlist), list(xlist)
    try:
        session = _session_for([_fileno(o) for o in (*rlist, *wlist, *xlist)])
    except Exception:  # not a descriptor: the real call's error
        session = None
    if session is None:
        return waited_outside(lambda: _real_select(rlist, wlist, xlist, timeout),
                              _seconds(timeout, 1))
    if not _plain(timeout):
        _real_select([_always_ready()], [], [], timeout)  # the timeout's own errors
    return _answer(session, lambda: _real_select(rlist, wlist, xlist, 0),
                   None if timeout is None else float(timeout), "select.select()")


class _Registered:
    """A real poll or epoll object that knows what is registered, so that a wait
    naming a host descriptor runs the host. (poll(2) and epoll(7)'s default events,
    IN|PRI|OUT, have the same values.)"""

    def __init__(self, real):
        self._real = real
        self._fds: set[int] = set()

    def register(self, fd, eventmask=_select.POLLIN | _select.POLLPRI | _select.POLLOUT):
        self._real.register(fd, eventmask)
        self._fds.add(_fileno(fd))

    def modify(self, fd, eventmask):
        self._real.modify(fd, eventmask)

    def unregister(self, fd):
        self._real.unregister(fd)
        self._fds.discard(_fileno(fd))

    def _session(self):
        """The session whose host a wait runs: one of its descriptors is registered."""
        return _session_for(self._fds) if self._fds else None


class _SimPoll(_Registered):
    """``select.poll()``: the real poll object, whose ``poll`` runs the host."""

    def __init__(self):
        super().__init__(_real_poll())

    def poll(self, timeout=None):
        session = self._session()
        if session is None:
            return waited_outside(lambda: self._real.poll(timeout), _seconds(timeout, 1000))
        if not _plain(timeout):
            checker = _real_poll()
            checker.register(_always_ready(), _select.POLLIN)
            checker.poll(timeout)  # the timeout's own errors
        seconds = None if timeout is None or timeout < 0 else timeout / 1000
        return _answer(session, lambda: self._real.poll(0), seconds, "poll()")


class _SimEpoll(_Registered):
    """``select.epoll``: the real epoll object, whose ``poll`` runs the host."""

    def __init__(self, sizehint=-1, flags=0, *, _real=None):
        super().__init__(_real if _real is not None else _real_epoll(sizehint, flags))
        self._ttys: set[int] = set()

    def register(self, fd, eventmask=_select.EPOLLIN | _select.EPOLLPRI | _select.EPOLLOUT):
        super().register(fd, eventmask)
        if _isatty(_fileno(fd)):
            self._ttys.add(_fileno(fd))

    def unregister(self, fd):
        super().unregister(fd)
        self._ttys.discard(_fileno(fd))

    def _look(self, maxevents):
        """epoll_wait(2) with no wait, once the terminals' pending input is in their
        line discipline: a kernel worker moves what the other side wrote there after
        that write returned (tty_flip_buffer_push), and epoll sees it only once the
        worker ran, while the host may go idle and move the clock before (a pty
        master's prompt missed for 30 virtual seconds). poll(2) does that work itself
        (n_tty_poll: tty_buffer_flush_work), and its wake-up reaches the epoll."""
        if self._ttys:
            flush = _real_poll()
            for fd in self._ttys:
                flush.register(fd, _select.POLLIN)
            flush.poll(0)
        return self._real.poll(0, maxevents)

    @classmethod
    def fromfd(cls, fd):
        return cls(_real=_real_epoll.fromfd(fd))

    @property
    def closed(self):
        return self._real.closed

    def close(self):
        self._real.close()
        self._fds.clear()
        self._ttys.clear()

    def fileno(self):
        return self._real.fileno()

    def poll(self, timeout=None, maxevents=-1):
        session = self._session()
        if session is None:
            return waited_outside(lambda: self._real.poll(timeout, maxevents),
                                  _seconds(timeout, 1))
        if not (_plain(timeout) and maxevents == -1):
            with _real_epoll() as checker:
                checker.register(_always_ready(), _select.EPOLLIN)
                checker.poll(timeout, maxevents)  # the arguments' own errors
        seconds = None if timeout is None or timeout < 0 else float(timeout)
        return _answer(session, lambda: self._look(maxevents), seconds, "epoll.poll()")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# (object, attribute, the real object, its fake): installed by patches.py
REPLACED = [(_select, "select", _real_select, _sim_select),
            (_select, "poll", _real_poll, _SimPoll),
            (_select, "epoll", _real_epoll, _SimEpoll),
            (os, "read", _real_read, _sim_read), (os, "write", _real_write, _sim_write)]
# selectors took the real objects when it was imported: (class, attribute, fake)
CLASS_ATTRIBUTES = [(selectors.SelectSelector, "_select", staticmethod(_sim_select)),
                    (selectors.PollSelector, "_selector_cls", _SimPoll),
                    (selectors.EpollSelector, "_selector_cls", _SimEpoll)]
