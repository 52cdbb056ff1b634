"""Is a Unix listener's accept queue full? Which socket is a Unix socket's peer? Asked
of the real kernel through sock_diag(7).

A blocking connect(2) to a Unix stream listener whose backlog is full sleeps in the
kernel until an accept(2) makes room (unix(7)). No descriptor polls ready for that, so
the host asks NETLINK_SOCK_DIAG for the listener's queue length and backlog before it
lets such a connect run natively. The peer of a socket pair has no address to match
(getpeername(2) is empty): the drop-in test asks for the peer's inode, which a process
of the host may hold.

Hand-written (one request, a few structs): pyroute2 speaks sock_diag too, but it is a
large dependency for this one question.
"""
from __future__ import annotations

import os
import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
TCP_LISTEN = 10
UDIAG_SHOW_NAME, UDIAG_SHOW_VFS, UDIAG_SHOW_PEER, UDIAG_SHOW_RQLEN = 0x1, 0x2, 0x4, 0x10
UNIX_DIAG_NAME, UNIX_DIAG_VFS, UNIX_DIAG_PEER, UNIX_DIAG_RQLEN = 0, 1, 2, 4
_NO_COOKIE = 0xFFFFFFFF  # INET_DIAG_NOCOOKIE: an exact lookup by inode alone
_NLMSGHDR = struct.Struct("=IHHII")
_UNIX_DIAG_REQ = struct.Struct("=BBHIIIII")   # family, protocol, pad, states, ino, show, cookie
_UNIX_DIAG_MSG = struct.Struct("=BBBBI8x")     # family, type, state, pad, ino, cookie
_RTATTR = struct.Struct("=HH")


def _align(n: int) -> int:
    return (n + 3) & ~3


def _ask(states: int, ino: int, show: int, flags: int):
    """The attributes ({type: bytes}) of each socket sock_diag reports for one request."""
    cookie = _NO_COOKIE if ino else 0
    request = _UNIX_DIAG_REQ.pack(socket.AF_UNIX, 0, 0, states, ino, show, cookie, cookie)
    header = _NLMSGHDR.pack(_NLMSGHDR.size + len(request), SOCK_DIAG_BY_FAMILY,
                            NLM_F_REQUEST | flags, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC,
                       NETLINK_SOCK_DIAG) as nl:
        nl.sendall(header + request)
        while True:
            data = nl.recv(65536)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, kind, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if kind == NLMSG_DONE:
                    return
                if kind == NLMSG_ERROR:
                    errno_ = -struct.unpack_from("=i", data, offset + _NLMSGHDR.size)[0]
                    raise OSError(errno_, os.strerror(errno_))
                yield _attributes(data[offset + _NLMSGHDR.size:offset + length])
                offset += _align(length)
            if not flags & NLM_F_DUMP:
                return  # an exact lookup answers with one message


def listening_queues() -> dict[object, tuple[int, int]]:
    """Every listening Unix socket of the network namespace, keyed by its address:
    ``("path", dev, ino)`` for a socket bound to a file, ``("abstract", name)`` else;
    the value is (connections waiting to be accepted, backlog)."""
    found: dict[object, tuple[int, int]] = {}
    for attrs in _ask(1 << TCP_LISTEN, 0, UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_RQLEN,
                      NLM_F_DUMP):
        _parse(attrs, found)
    return found


def peer_inode(ino: int) -> int | None:
    """The inode of the peer of the Unix socket with inode ``ino`` (its other end), or
    None: not connected, or not a Unix socket of this network namespace."""
    try:
        for attrs in _ask(0xFFFFFFFF, ino, UDIAG_SHOW_PEER, 0):
            peer = attrs.get(UNIX_DIAG_PEER)
            if peer:
                return struct.unpack_from("=I", peer)[0] or None
    except OSError:  # ENOENT: no such socket
        return None
    return None


def _attributes(msg: bytes) -> dict[int, bytes]:
    attrs = {}
    offset = _UNIX_DIAG_MSG.size
    while offset + _RTATTR.size <= len(msg):
        length, kind = _RTATTR.unpack_from(msg, offset)
        if length < _RTATTR.size:
            break
        attrs[kind] = msg[offset + _RTATTR.size:offset + length]
        offset += _align(length)
    return attrs


def _parse(attrs: dict, found: dict) -> None:
    if UNIX_DIAG_RQLEN not in attrs:
        return
    queued, backlog = struct.unpack_from("=II", attrs[UNIX_DIAG_RQLEN])
    if UNIX_DIAG_VFS in attrs:
        ino, dev = struct.unpack_from("=II", attrs[UNIX_DIAG_VFS])
        found[("path", dev, ino)] = (queued, backlog)
    elif attrs.get(UNIX_DIAG_NAME, b"").startswith(b"\0"):
        found[("abstract", attrs[UNIX_DIAG_NAME])] = (queued, backlog)


def listener_key(sun_path: bytes, cwd: str) -> object | None:
    """The key of ``listening_queues`` for a sockaddr_un's path bytes, a relative path
    taken from ``cwd``; None if nothing is bound there."""
    if not sun_path:
        return None
    if sun_path.startswith(b"\0"):
        return ("abstract", sun_path)
    path = os.fsdecode(sun_path.split(b"\0", 1)[0])
    try:
        st = os.stat(os.path.join(cwd, path))
    except OSError:
        return None
    # unix_diag reports the kernel's dev_t: major in the top 12 bits, minor in the low 20
    return ("path", os.major(st.st_dev) << 20 | os.minor(st.st_dev), st.st_ino)


def accept_queue_full(key) -> bool:
    """unix(7): connect blocks while more connections wait than the backlog allows
    (net/unix/af_unix.c, unix_recvq_full: queue length > backlog)."""
    queued, backlog = listening_queues().get(key, (0, 0))
    return queued > backlog
