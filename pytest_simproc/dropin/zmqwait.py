"""The test's zmq polls run the host: ``zmq.Poller().poll(timeout)``, ``zmq.select``.

pyzmq's poll is libzmq's ``zmq_poll``, which waits in C, in real time, where no patch
of Python's select sees it: a test that polls a SUB socket for what a daemon of its
host publishes (circus's ``StatsClient.iter_messages``) waited for ever, since the host
runs only while the test is inside a call that runs it. In the test's own thread once
the host exists, such a poll is made without waiting (``zmq_poll(..., 0)``); while
nothing is ready the host runs (aio.wait_in_host: virtual time, to the poll's timeout
at most) until the zmq socket's descriptor (``zmq.FD``, which libzmq signals when a
command reaches the socket: a message, room to send) or a plain descriptor of the
poll is ready, and the poll is made again. The messages themselves are carried by
libzmq's I/O threads, which the host waits for before its clock moves
(nativework.py). Other threads, and tests without a host, poll natively.
"""
from __future__ import annotations

import select
import sys

from .aio import _OUTSIDE_SLICE, wait_in_host
from .routing import _real_poll
from .triowait import _test_thread_session

_SLICE_MS = int(_OUTSIDE_SLICE * 1000)


def install(undo: list) -> None:
    """Once pyzmq is imported (looked at every session's start): its poll, with its
    undo entries (object, name, real)."""
    poll_module = sys.modules.get("zmq.sugar.poll")
    real = getattr(poll_module, "zmq_poll", None)
    if real is None or getattr(real, "_simproc_real", None) is not None:
        return
    fake = _make_poll(real)
    for module in (poll_module, sys.modules.get("zmq")):
        if module is not None and getattr(module, "zmq_poll", None) is real:
            undo.append((module, "zmq_poll", real))
            setattr(module, "zmq_poll", fake)


def _descriptors(sockets) -> list[tuple[int, int]] | None:
    """(descriptor, poll events) to watch for each polled item: a zmq socket's
    ``FD`` for any change, a plain descriptor for its events; None if one has none."""
    import zmq
    watched = []
    for item, events in sockets:
        if isinstance(item, zmq.Socket):
            watched.append((item.getsockopt(zmq.FD), select.POLLIN))
            continue
        fd = item if isinstance(item, int) else getattr(item, "fileno", lambda: None)()
        if not isinstance(fd, int):
            return None
        mask = ((select.POLLIN if events & zmq.POLLIN else 0)
                | (select.POLLOUT if events & zmq.POLLOUT else 0)
                | (select.POLLERR if events & zmq.POLLERR else 0))
        watched.append((fd, mask))
    return watched


def _make_poll(real):
    def zmq_poll(sockets, timeout=-1):
        session = _test_thread_session()
        if session is None or session._host is None or not timeout:
            return real(sockets, timeout)
        sockets = list(sockets)
        watched = _descriptors(sockets)
        if watched is None:
            return real(sockets, timeout)

        def ready() -> bool:
            poller = _real_poll()
            for fd, mask in watched:
                poller.register(fd, mask)
            return bool(poller.poll(0))

        deadline = None if timeout < 0 else session._now_ns() + int(timeout * 1e6)
        while True:
            found = real(sockets, 0)
            if found:
                return found
            remaining = None
            if deadline is not None:
                remaining = (deadline - session._now_ns()) / 1e9
                if remaining <= 0:
                    return found
            if wait_in_host(session, ready, remaining) is None:
                # only the outside can end the wait (the host has nothing to do)
                found = real(sockets, _SLICE_MS)
                if found:
                    return found
    zmq_poll._simproc_real = real
    return zmq_poll
