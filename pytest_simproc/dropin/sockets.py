"""The test's blocking socket calls to its host's daemons run the host.

Natively a test that sends a request to its daemon and blocks in ``recv`` gets the
answer because the daemon runs meanwhile. In a host the programs run only while the
test is inside a call that runs the host, so the same ``recv`` would wait forever. Here
a blocking call of the test's thread (``recv``, ``recv_into``, ``recvfrom``,
``recvfrom_into``, ``recvmsg``, ``recvmsg_into``, ``send``, ``sendall``, ``sendmsg``,
``accept``; ``makefile`` and http.client read through ``recv_into``, ``socket.recv_fds``
through ``recvmsg``) on a socket whose other end a host process holds, or on a
listener of the test while the host has processes, never blocks the machine: it is
tried without blocking (MSG_DONTWAIT, or made non-blocking for the call) and, while it
would block, the host runs until the descriptor is ready. A timeout set on the socket is
virtual seconds; a wait that nothing in the host can end fails instead of hanging.
Another thread of the test waits as its pipe reads do (``DropinSession.block``). TLS
(``ssl.SSLSocket``) reads and writes the socket below Python: its calls are made with
the socket non-blocking, and the host runs while OpenSSL wants to read or write.
Non-blocking sockets and sockets to anything else get the real calls. The other end of
a socket pair (a duplex ``multiprocessing.Pipe()``) has no address: it is found by its
inode (sock_diag(7)) among the host's descriptors; ``os.read`` of a socket and
multiprocessing's reads and writes of one wait here too (``wait_readable``,
``host_write``).

Where outside events enter the simulation: the host never runs behind the test's back,
so what the test sends or connects is in the peer's queue before the host next runs,
and the engine looks at parked descriptors only when nothing else can run (its
``_recheck_io``): the same points on every run.

``run_host_until`` is the wait itself, for any readiness test (selectors share it).
"""
from __future__ import annotations

import _thread
import ipaddress
import math
import os
import select
import socket
import ssl
import weakref

from ..errors import SimprocError
from ..trace import sockdiag
from ..trace.openfiles import descriptors
from . import nativework
from .routing import _in_host_thread, active_session, fd_ready, waited_outside

_Socket = socket.socket
_real_recv = _Socket.recv
_real_recv_into = _Socket.recv_into
_real_recvfrom = _Socket.recvfrom
_real_recvfrom_into = _Socket.recvfrom_into
_real_send = _Socket.send
_real_recvmsg = _Socket.recvmsg
_real_recvmsg_into = _Socket.recvmsg_into
_real_sendmsg = _Socket.sendmsg
_real_accept = _Socket.accept
_READ = select.POLLIN
# an int: socket.MSG_DONTWAIT is an IntFlag, whose | masks a negative int to 32 bits
# (which would turn a flags argument that overflows a C int into a valid one)
_DONTWAIT = int(socket.MSG_DONTWAIT)
_WRITE = select.POLLOUT
_NEVER = ("a blocking call of the test was still waiting when nothing in its simulated "
          "host could end the wait (every process ended, or stop_time); natively it "
          "would never return")

# session -> {(st_dev, st_ino) of a socket: whether its other end is in the host}
_peers: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()
# session -> {inode of a host process's socket: (family, type, local address)}
_addresses: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()


# ------------------------------------------------------------------ waiting
def host_runs(session) -> bool:
    """Whether the test's host has a process that can still do something."""
    host = session._host
    return host is not None and not session._closed and host._engine.alive > 0


def run_host_until(session, ready, deadline_ns: int | None, *, outside: bool = False,
                   linger: int = 0) -> bool:
    """The test's thread waits for ``ready()``: the host runs until it holds, or until
    virtual time reaches ``deadline_ns`` (None: no limit), and on for ``linger`` steps
    at most once it holds (``DropinSession.block``). Returns ``ready()``.

    Without a deadline, a wait that nothing in the host can end raises SimprocError
    (natively it would never return), unless ``outside``: something outside the host
    (a thread of the test) may end it, so the call returns False once the host has
    nothing left to do by itself, and the caller waits for real."""
    looked_again = not outside
    while not ready():
        if session._closed:
            return False
        now = session._now_ns()
        if deadline_ns is not None and now >= deadline_ns:
            return False
        remaining = None if deadline_ns is None else (deadline_ns - now) / 1e9
        if not host_runs(session):
            worked = nativework.settle(session) if outside else 0
            if worked:
                # what the test's native threads carried comes first, in the time
                # they took
                session.sleep(worked if remaining is None else min(worked, remaining))
                continue
            if outside and ready():
                # they are quiet: what they delivered after the look above (a zmq
                # reply reaching the loop's socket) is in, before the clock moves
                continue
            if not looked_again:
                # the test's other threads act before the clock moves (a server
                # thread answering the loop's request): once they did, the wait looks
                # again at the same instant (once: a thread that never rests must not
                # hold it)
                looked_again = True
                if not session.others_quiet():
                    continue
            if remaining is not None:
                # virtual time still moves; at least 1 µs, which the clock can represent
                session.sleep(max(remaining, 1e-6))
                continue
            if outside:
                return False
            raise SimprocError(_NEVER)
        if remaining is None and outside:
            session.run_now()
            if ready():
                return True
            upcoming = session._next_event_ns()
            if upcoming is None:
                return False
            remaining = max(upcoming - session._now_ns(), 0) / 1e9
        session.block(ready, remaining, linger=linger)
        if remaining is None and session._now_ns() >= session._host._stop_ns:
            raise SimprocError(_NEVER)  # what made it ready is stop_time's shutdown
    return True


# ------------------------------------------------------------------ whose socket is it
def _ip(address: str):
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.ipv4_mapped or ip if ip.version == 6 else ip


def _bound_to(local, kind: int, family: int, peer, peer_kind: int) -> bool:
    """Whether a socket bound to ``local`` is ``peer``'s end: the same address (a
    wildcard address takes every one of its port), or the same Unix path or name."""
    if kind != peer_kind:
        return False
    if family in (socket.AF_INET, socket.AF_INET6):
        if not isinstance(peer, tuple) or local[1] != peer[1]:
            return False
        ip = _ip(local[0])
        return ip.is_unspecified or ip == _ip(peer[0])
    return family == socket.AF_UNIX and bool(local) and local == peer


def _host_sockets(session) -> dict:
    """{inode: (family, type, local address)} of every socket a process of the host has
    a descriptor of, each looked at through a duplicate (pidfd_getfd(2)) once: by its
    inode, it is cached for the session. Runs on the host's tracer thread."""
    engine = session._host._engine
    known = _addresses.setdefault(session, {})
    found = {}
    leaders = {t.tgid_native: t for t in list(engine.tasks.values()) if not t.gone}
    for native, task in leaders.items():
        for fd, target in descriptors(native):
            if not target.startswith("socket:["):
                continue
            inode = int(target[8:-1])
            if inode not in known:
                try:
                    dup = engine.dup_tracee_fd(task, fd)
                except OSError:
                    continue
                with socket.socket(fileno=dup) as sock:  # closes the duplicate only
                    try:
                        known[inode] = (sock.family, sock.type, sock.getsockname())
                    except OSError:
                        continue
            found[inode] = known[inode]
    return found


def _other_end_in_host(session, sock) -> bool:
    try:
        peer = sock.getpeername()
    except OSError:  # a listener, or an unconnected datagram socket: the host may call
        try:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                return True
            return sock.type == socket.SOCK_DGRAM and bool(sock.getsockname())
        except OSError:
            return False
    if sock.family not in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX):
        return False
    held = session._host._tracer.call(_host_sockets, session)
    if sock.family == socket.AF_UNIX:
        # the peer's own socket (a socket pair's other end has no address to match:
        # multiprocessing.Pipe()), once it has an inode (accepted)
        other = sockdiag.peer_inode(os.fstat(sock.fileno()).st_ino)
        if other is not None and other in held:
            return True
    # the peer's socket, or its listener while the connection waits to be accepted
    return any(_bound_to(local, kind, family, peer, sock.type)
               for family, kind, local in held.values())


def _waits_on_host(session, sock) -> bool:
    """Whether a wait of the test on ``sock`` must run the host: its other end is a
    process of the host, or it takes calls the host's processes may make (a listener,
    a bound datagram socket) while the host has processes. Known once per socket."""
    try:
        st = os.fstat(sock.fileno())
    except (OSError, ValueError):
        return False
    known = _peers.setdefault(session, {})
    key = (st.st_dev, st.st_ino)
    found = known.get(key)
    if found is None:  # the lock only to look: a thread's known socket never waits
        with session._lock:
            found = known.get(key)
            if found is None:
                found = known[key] = _other_end_in_host(session, sock)
    return found and (host_runs(session) or _connected(sock))


def _connected(sock) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return False
    return True


def fd_waits_on_host(session, fd: int) -> bool:
    """``_waits_on_host`` for a descriptor (select and poll in the test): False for
    anything that is not a socket."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return False
    try:
        return _waits_on_host(session, sock)
    finally:
        sock.detach()


def wait_readable(session, fd: int) -> None:
    """A blocking read of the test on socket ``fd`` that is not a socket call (os.read,
    multiprocessing's Connection, a file object of the descriptor): when its other end
    is in the host, the host runs until it is readable, as for ``recv``."""
    if fd_waits_on_host(session, fd) and not fd_ready(fd, _READ):
        if not _wait_ready(session, fd, _READ, None) and session._closed:
            return  # the test ended meanwhile: the real call


def host_write(fd: int, data) -> int:
    """``os.write`` for multiprocessing's Connection (``send_bytes``): on a blocking
    socket whose other end is in the host, what fits is sent without blocking and the
    host runs while nothing fits (the Connection writes the rest again); else the real
    call."""
    session = active_session()
    if (session is None or session._closed or session._host is None or _in_host_thread()
            or not os.get_blocking(fd) or not fd_waits_on_host(session, fd)):
        return os.write(fd, data)
    sock = socket.socket(fileno=fd)
    try:
        while True:
            try:
                return _real_send(sock, data, _DONTWAIT)
            except BlockingIOError:
                pass
            if session._closed or not _wait_ready(session, fd, _WRITE, None):
                return os.write(fd, data)
    finally:
        sock.detach()


def _simulated(sock):
    """The session whose host must run while ``sock`` waits, or None for the real
    call (non-blocking sockets, the host's own threads, other peers)."""
    session = active_session()
    if (session is None or session._closed or session._host is None or _in_host_thread()
            or sock.gettimeout() == 0.0 or not _waits_on_host(session, sock)):
        return None
    return session


# ------------------------------------------------------------------ the calls
def _deadline(session, sock) -> int | None:
    timeout = sock.gettimeout()
    return None if timeout is None else session._now_ns() + math.ceil(timeout * 1e9)


def _wait_ready(session, fd: int, events: int, deadline: int | None) -> bool:
    """Run the host until ``fd`` is ready for ``events`` or the virtual deadline; a
    thread other than the test's waits for the test's thread to run it (session.block)."""
    ready = lambda: fd_ready(fd, events)  # noqa: E731
    if _thread.get_ident() == session._ident:
        return run_host_until(session, ready, deadline)
    remaining = None if deadline is None else max(deadline - session._now_ns(), 0) / 1e9
    return session.block(ready, remaining) or session._closed and deadline is None


def _dontwait(flags) -> bool:
    return isinstance(flags, int) and bool(flags & _DONTWAIT)


def _try(sock, call, takes_flags: bool):
    """``call(flags)`` without blocking: MSG_DONTWAIT on a blocking socket; a socket
    with a timeout (CPython waits for it before the call) or an accept is made
    non-blocking for the call. Bad arguments fail at once, as natively."""
    timeout = sock.gettimeout()
    if timeout is None and takes_flags:
        return call(_DONTWAIT)
    sock.settimeout(0.0)
    try:
        return call(0)
    finally:
        sock.settimeout(timeout)


def _attempt(sock, events: int, call, flags=0, takes_flags: bool = True):
    """``call(extra_flags)`` of a blocking call: tried without blocking, and while it
    would block the host runs until the socket is ready; socket.timeout when the
    socket's virtual timeout passes. MSG_DONTWAIT in ``flags`` asks for the real call."""
    session = None if _dontwait(flags) else _simulated(sock)
    if session is None:
        return waited_outside(lambda: call(0), 0 if _dontwait(flags) else sock.gettimeout())
    deadline = _deadline(session, sock)
    fd = sock.fileno()
    while True:
        try:
            return _try(sock, call, takes_flags)
        except BlockingIOError:
            pass
        if session._closed:
            return call(0)
        if not _wait_ready(session, fd, events, deadline):
            raise socket.timeout("timed out")


def _recv(self, bufsize, flags=0):
    return _attempt(self, _READ, lambda extra: _real_recv(self, bufsize, flags | extra),
                    flags)


def _recv_into(self, buffer, nbytes=0, flags=0):
    return _attempt(self, _READ,
                    lambda extra: _real_recv_into(self, buffer, nbytes, flags | extra), flags)


def _recvfrom(self, bufsize, flags=0):
    return _attempt(self, _READ,
                    lambda extra: _real_recvfrom(self, bufsize, flags | extra), flags)


def _recvfrom_into(self, buffer, nbytes=0, flags=0):
    return _attempt(self, _READ,
                    lambda extra: _real_recvfrom_into(self, buffer, nbytes, flags | extra),
                    flags)


def _send(self, data, flags=0):
    return _attempt(self, _WRITE, lambda extra: _real_send(self, data, flags | extra), flags)


def _recvmsg(self, bufsize, ancbufsize=0, flags=0):
    return _attempt(self, _READ,
                    lambda extra: _real_recvmsg(self, bufsize, ancbufsize, flags | extra),
                    flags)


def _recvmsg_into(self, buffers, ancbufsize=0, flags=0):
    buffers = list(buffers)  # an iterator is read once, whatever the attempts
    return _attempt(self, _READ, lambda extra: _real_recvmsg_into(
        self, buffers, ancbufsize, flags | extra), flags)


def _sendmsg(self, buffers, ancdata=(), flags=0, address=None):
    buffers, ancdata = list(buffers), list(ancdata)
    args = () if address is None else (address,)
    return _attempt(self, _WRITE, lambda extra: _real_sendmsg(
        self, buffers, ancdata, flags | extra, *args), flags)


def _sendall(self, data, flags=0):
    session = None if _dontwait(flags) else _simulated(self)
    if session is None:
        return waited_outside(lambda: _REAL_SENDALL(self, data, flags),
                              0 if _dontwait(flags) else self.gettimeout())
    deadline = _deadline(session, self)  # the whole call's, as CPython's sendall
    fd = self.fileno()
    with memoryview(data) as view, view.cast("B") as flat:
        sent = 0
        while sent < len(flat):
            try:
                sent += _try(self, lambda extra: _real_send(self, flat[sent:], flags | extra),
                             True)
                continue
            except BlockingIOError:
                pass
            if session._closed:
                return _REAL_SENDALL(self, flat[sent:], flags)
            if not _wait_ready(session, fd, _WRITE, deadline):
                raise socket.timeout("timed out")


def _accept(self):
    return _attempt(self, _READ, lambda extra: _real_accept(self), takes_flags=False)


# ------------------------------------------------------------------ TLS
_real_tls = {name: getattr(ssl.SSLSocket, name)
             for name in ("read", "write", "send", "do_handshake")}


def _tls(name: str, self, *args):
    """An SSLSocket call: the TLS layer reads and writes the socket below Python, so
    the socket is made non-blocking for the call and the host runs while OpenSSL
    wants to read (or write) more."""
    real = _real_tls[name]
    session = _simulated(self) if self._sslobj is not None else None
    if session is None:
        return real(self, *args)
    deadline = _deadline(session, self)
    fd = self.fileno()
    timeout = self.gettimeout()
    while True:
        self.settimeout(0.0)
        try:
            return real(self, *args)
        except ssl.SSLWantReadError:
            events = _READ
        except ssl.SSLWantWriteError:
            events = _WRITE
        finally:
            self.settimeout(timeout)
        if session._closed:
            return real(self, *args)
        if not _wait_ready(session, fd, events, deadline):
            raise socket.timeout("The operation timed out")


def _tls_read(self, len=1024, buffer=None):  # noqa: A002 -- SSLSocket.read's names
    return _tls("read", self, len, buffer)


def _tls_write(self, data):
    return _tls("write", self, data)


def _tls_send(self, data, flags=0):
    return _tls("send", self, data, flags)


def _tls_do_handshake(self, block=False):
    return _tls("do_handshake", self)  # block: made non-blocking for the call anyway


_REAL_SENDALL = _Socket.sendall
# (name, fake): set on socket.socket for a session, removed afterwards
METHODS = [("recv", _recv), ("recv_into", _recv_into), ("recvfrom", _recvfrom),
           ("recvfrom_into", _recvfrom_into), ("recvmsg", _recvmsg),
           ("recvmsg_into", _recvmsg_into), ("send", _send), ("sendall", _sendall),
           ("sendmsg", _sendmsg), ("accept", _accept)]
TLS_METHODS = [("read", _tls_read), ("write", _tls_write), ("send", _tls_send),
               ("do_handshake", _tls_do_handshake)]  # set on ssl.SSLSocket
for _cls, _methods in ((_Socket, METHODS), (ssl.SSLSocket, TLS_METHODS)):
    for _name, _fake in _methods:
        _fake.__name__ = _fake.__qualname__ = _name
        _fake.__doc__ = getattr(_cls, _name).__doc__
del _cls, _methods, _name, _fake
