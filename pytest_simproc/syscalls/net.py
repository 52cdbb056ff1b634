"""Names and the network: a host is a machine alone on its loopback network.

What a program reaches through the network would make its run depend on the world
outside (a DNS answer, a server that is up or not), so by default (``network=
"loopback"``) nothing leaves 127.0.0.0/8 and ::1:

- connect, sendto, sendmsg and sendmmsg to an IPv4 or IPv6 address outside loopback
  fail with ENETUNREACH, as on a machine whose only route is ``lo`` (the call never
  runs natively), and the host's report names each one. IPv4-mapped loopback
  (::ffff:127.x.x.x) is loopback; so are 0.0.0.0 and ::, which the kernel sends to
  the machine itself (ip(7), ipv6(7)).
- the host has its own /etc/hosts (its name is 127.0.1.1, as Debian writes it),
  /etc/hostname and /etc/host.conf, and an /etc/nsswitch.conf whose ``hosts`` and
  ``networks`` databases are ``files`` only, so glibc answers every name from the
  host's /etc/hosts and never asks DNS. Its /etc/resolv.conf names 127.0.0.1 only
  (resolv.conf(5)), for resolvers that read it themselves: such a query stays on the
  machine's loopback. Opens of these paths are redirected to files written in the
  data dir, as /dev/urandom is (misc.py).
- packet sockets (packet(7), root only), whose frames go to any interface whatever
  their addresses say, cannot be created: EPERM, reported.
- ephemeral ports are the host's: the kernel picks a free one at random for a bind to
  port 0 and for a socket that connects, sends or listens unbound (ip(7)), so a
  program's port would differ from run to run. The host binds such a socket itself,
  through its duplicate, to the next free port of a sequence drawn from its seed,
  its name and the test that runs it; getsockname and the peer then see that port, a real one, which the test can
  connect to. The port is free in both IP families: an IPv6 socket without
  IPV6_V6ONLY takes the IPv4 port too (ipv6(7)), and a server binds 127.0.0.1 and ::1
  to the one port it got. A port of the sequence that the machine uses already is skipped, which
  can still make two runs differ: another program's, or a listener's whose last
  connections the server closed first and which are in TIME_WAIT, if it does not
  set SO_REUSEADDR (a connecting socket the host binds keeps SO_REUSEADDR on for
  that reason). A peer outside the host (the test's client, whose port its own
  kernel picked) shows with a port of the host's, one per real port, in the order
  they come: a TCP one in accept and getpeername, a datagram's sender in recvfrom,
  recvmsg and getpeername; a sendto, sendmsg or connect to that port reaches the
  peer's real one (recvmmsg and sendmmsg show and take real ports).

``network="outside"`` lets every address through and leaves nsswitch.conf and
resolv.conf the machine's (DNS works as on the machine): the outcome then depends on
the network, the one source of nondeterminism a test opts into. The host's name still
resolves from its own /etc/hosts.
"""
from __future__ import annotations

import ctypes
import errno
import os
import random
import re
import socket
import stat
import struct
import tempfile
import weakref

from .args import s32, u32
from .io import (accept as _io_accept, connect as _io_connect, recv as _io_recv,
                 send as _io_send)
from .outcome import Block, Native
from .registry import handles, syscall_number

AF_INET, AF_INET6 = socket.AF_INET, socket.AF_INET6
_SIN_LEN = 16          # sizeof(struct sockaddr_in)
_SIN6_LEN = 24         # SIN6_LEN_RFC2133: what the kernel needs of an IPv6 address
_SOCKADDR_STORAGE = 128
MSG_FASTOPEN = 0x20000000
_MSGHDR_NAME = struct.Struct("<QI")   # msg_name, msg_namelen at the start of a msghdr
_MMSGHDR_SIZE = 64     # struct mmsghdr: a 56-byte msghdr and msg_len, padded
UIO_MAXIOV = 1024      # sendmmsg(2) sends at most this many messages
SYS_CONNECT, SYS_SENDMSG = syscall_number("connect"), syscall_number("sendmsg")
SYS_RECVMSG = syscall_number("recvmsg")
AF_PACKET = socket.AF_PACKET


# ---------------------------------------------------------------- destinations
_V6_LOOPBACK, _V6_ANY = bytes(15) + b"\1", bytes(16)
_V4_MAPPED = bytes(10) + b"\xff\xff"


def _local_v4(addr: bytes) -> bool:
    return addr[0] == 127 or addr == b"\0\0\0\0"  # 127.0.0.0/8, INADDR_ANY


def outside_destination(raw: bytes) -> str | None:
    """The address a sockaddr names, as "host:port" text, when it is an IPv4 or IPv6
    address outside loopback; None for loopback, the unspecified addresses and
    anything that is not an IP address (or too short for the kernel to use)."""
    if len(raw) < 2:
        return None
    family = struct.unpack_from("=H", raw)[0]
    if family == AF_INET and len(raw) >= _SIN_LEN:
        if _local_v4(raw[4:8]):
            return None
        return f"{socket.inet_ntop(AF_INET, raw[4:8])}:{struct.unpack_from('>H', raw, 2)[0]}"
    if family == AF_INET6 and len(raw) >= _SIN6_LEN:
        addr = raw[8:24]
        if addr in (_V6_LOOPBACK, _V6_ANY) or (addr[:12] == _V4_MAPPED
                                               and _local_v4(addr[12:])):
            return None
        return f"[{socket.inet_ntop(AF_INET6, addr)}]:{struct.unpack_from('>H', raw, 2)[0]}"
    return None


def _read_sockaddr(ctx, addr: int, addrlen: int) -> bytes:
    """The first bytes of the sockaddr of connect(2) or sendto(2) (b"" when the kernel
    would fault or refuse its length: it then answers itself)."""
    if not addr or not 0 < addrlen <= _SOCKADDR_STORAGE:
        return b""  # move_addr_to_kernel: EINVAL above sizeof(struct sockaddr_storage)
    try:
        return ctx.mem.read(addr, min(addrlen, _SIN6_LEN))
    except (OSError, OverflowError, ValueError):
        return b""


def _name_of(ctx, name: int, namelen: int) -> bytes:
    """The sockaddr of a struct msghdr: there the kernel cuts a msg_namelen above
    sizeof(struct sockaddr_storage) down to it (__copy_msghdr), and uses the address."""
    return _read_sockaddr(ctx, name, min(s32(namelen), _SOCKADDR_STORAGE))


def _routed(ctx, fd: int, raw: bytes, flags: int) -> bool:
    """Whether the kernel would route a packet to the address ``raw`` on the program's
    descriptor ``fd`` rather than answer with an error of its own (EBADF, ENOTSOCK,
    EAFNOSUPPORT) or ignore the address (a TCP send without MSG_FASTOPEN, tcp(7)).
    When the descriptor cannot be looked at, it would: the call is refused."""
    try:
        dup = ctx.engine.dup_tracee_fd(ctx.task, fd)
    except OSError as exc:
        return exc.errno != errno.EBADF
    try:
        if not stat.S_ISSOCK(os.fstat(dup).st_mode):
            return False  # ENOTSOCK
        sock = socket.socket(fileno=dup)  # reads SO_DOMAIN and SO_TYPE
        family, kind = sock.family, sock.type
        sock.detach()
    except OSError:
        return True
    finally:
        os.close(dup)
    dest_family = struct.unpack_from("=H", raw)[0]
    if family not in (AF_INET, AF_INET6):
        return False  # an IP address on another socket: the kernel's EINVAL or EAFNOSUPPORT
    if kind == socket.SOCK_STREAM and ctx.nr != SYS_CONNECT and not flags & MSG_FASTOPEN:
        return False  # tcp(7): a connected socket's peer, whatever the address says
    if family == AF_INET:
        return dest_family == AF_INET  # else EAFNOSUPPORT
    if kind == socket.SOCK_STREAM:
        return dest_family == AF_INET6  # tcp_v6_connect: EAFNOSUPPORT for AF_INET
    return True  # an IPv6 datagram socket takes an AF_INET address too (ipv6(7))


def refused(ctx, fd: int, raw: bytes, flags: int = 0) -> int | None:
    """-ENETUNREACH, reported, when a packet to ``raw`` would leave the host's
    loopback network and the host does not let it; None when the call may run."""
    if ctx.engine.network == "outside":
        return None
    dest = outside_destination(raw)
    if dest is None or not _routed(ctx, fd, raw, flags):
        return None
    ctx.engine.refuse(ctx, f"destination {dest} is outside the host's loopback network: "
                           f"ENETUNREACH (network='outside' lets it through)")
    return -errno.ENETUNREACH


@handles("connect")
def connect(ctx, fd, addr, addrlen, *rest):
    raw = _read_sockaddr(ctx, addr, s32(addrlen))
    refusal = refused(ctx, s32(fd), raw)
    if refusal is not None:
        return refusal
    if _is_ip(raw):
        autobind(ctx, s32(fd))
    return _to_real_peer(ctx, addr, raw, _io_connect(ctx, fd, addr, addrlen, *rest))


def _message_address(ctx, msghdr: int) -> bytes | None:
    """The sockaddr a struct msghdr points to (msg_name, msg_namelen); None when the
    msghdr cannot be read (the kernel's EFAULT)."""
    try:
        name, namelen = _MSGHDR_NAME.unpack(ctx.mem.read(msghdr, _MSGHDR_NAME.size))
    except (OSError, OverflowError, ValueError):
        return None
    return _name_of(ctx, name, namelen)


@handles("sendto", "sendmsg")
def send(ctx, fd, buf, length, flags, addr, addrlen, *rest):
    if ctx.nr == SYS_SENDMSG:  # sendmsg(fd, msg, flags)
        raw = _message_address(ctx, buf)
        if raw is None:
            return Native()  # EFAULT, at once
        refusal = refused(ctx, s32(fd), raw, u32(length))
        where = _MSGHDR_NAME.unpack(ctx.mem.read(buf, _MSGHDR_NAME.size))[0] if raw else 0
    else:
        raw = _read_sockaddr(ctx, addr, s32(addrlen))
        refusal = refused(ctx, s32(fd), raw, u32(flags))
        where = addr
    if refusal is not None:
        return refusal
    if _is_ip(raw):
        autobind(ctx, s32(fd), datagrams_only=True)
    return _to_real_peer(ctx, where, raw,
                         _io_send(ctx, fd, buf, length, flags, addr, addrlen, *rest))


@handles("sendmmsg")
def sendmmsg(ctx, fd, vec, vlen, flags, *_):
    """The messages go in order; the first one to an outside address ends the call,
    which returns how many went before it, or ENETUNREACH if none did (sendmmsg(2):
    an error after at least one message is not reported)."""
    if ctx.engine.network == "outside":
        return Native()
    count = min(u32(vlen), UIO_MAXIOV)
    try:  # the headers at once; one by one when some cannot be read
        headers = ctx.mem.read(vec, count * _MMSGHDR_SIZE)
    except (OSError, OverflowError, ValueError):
        headers = None
    for i in range(count):
        if headers is None:
            raw = _message_address(ctx, vec + i * _MMSGHDR_SIZE)
            if raw is None:
                return Native()  # the kernel stops here (EFAULT, or the count so far)
        else:
            name, namelen = _MSGHDR_NAME.unpack_from(headers, i * _MMSGHDR_SIZE)
            raw = _name_of(ctx, name, namelen)
        if outside_destination(raw) is None:
            continue
        refusal = refused(ctx, s32(fd), raw, u32(flags))
        if refusal is None:
            return Native()  # one socket: if this address goes, any address does
        return refusal if i == 0 else Native(regs={"rdx": i})
    return Native()


# ---------------------------------------------------------------- ephemeral ports
_EPHEMERAL = (32768, 60999)   # the kernel's default ip_local_port_range (ip(7))
_TRIES = 64
_libc = ctypes.CDLL(None, use_errno=True)
_bind = _libc.bind
_bind.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
_bind.restype = ctypes.c_int
_port_sequences: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class _HostPorts:
    """A host's ports: the sequence it hands out, the ports its sockets were bound to,
    and the ports it shows for peers outside it."""

    __slots__ = ("sequence", "bound", "peers", "peer_sequence", "reals")

    def __init__(self, engine):
        # and the test that runs the host (pytest names it while it runs), so that
        # tests with the same seed and host name do not all want the same ports
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
        key = f"{engine.seed}:{engine.hostname}:{test}"
        self.sequence = random.Random(f"simproc-ports:{key}")
        self.peer_sequence = random.Random(f"simproc-peers:{key}")
        self.bound: set[int] = set()
        self.peers: dict[int, int] = {}   # an outside peer's real port -> the host's
        self.reals: dict[int, int] = {}   # ... and back

    def peer(self, port: int) -> int:
        virtual = self.peers.get(port)
        if virtual is None:
            virtual = self.peer_sequence.randint(*_EPHEMERAL)
            while virtual in self.reals or virtual in self.bound:
                virtual = self.peer_sequence.randint(*_EPHEMERAL)
            self.peers[port] = virtual
            self.reals[virtual] = port
        return virtual

    def real(self, port: int) -> int | None:
        """The real port of the outside peer the host shows as ``port`` (None: no
        such peer, or a port of the host's own sockets)."""
        return None if port in self.bound else self.reals.get(port)


def host_ports(engine) -> _HostPorts:
    """The host's ports; its ephemeral ones drawn from its seed and name, so every run
    of a host gives its sockets the same ports."""
    ports = _port_sequences.get(engine)
    if ports is None:
        ports = _port_sequences[engine] = _HostPorts(engine)
    return ports


def _is_ip(raw: bytes) -> bool:
    return len(raw) >= 2 and struct.unpack_from("=H", raw)[0] in (AF_INET, AF_INET6)


def _bind_ephemeral(engine, dup: int, raw: bytes, connecting: bool = False) -> int | None:
    """Bind the socket (the host's duplicate of the program's) to the address ``raw``
    with the host's next free ephemeral port: 0, the kernel's error for the address
    (not EADDRINUSE, which moves on to the next port), or None when no port of the
    sequence was free (the kernel then picks one).

    A port whose TCP connections of an earlier run are in TIME_WAIT is free to the
    kernel's own choice for a connecting socket, but not to a bind unless both sockets
    have SO_REUSEADDR (socket(7)): a TCP socket the host binds before it connects
    keeps the option on, so that the next run of the host gets its port again."""
    ports = host_ports(engine)
    sock = socket.socket(fileno=dup)
    try:
        if connecting and sock.type == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        family, kind = sock.family, sock.type
        reuse = bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR))
    finally:
        sock.detach()
    for _ in range(_TRIES):
        port = ports.sequence.randint(*_EPHEMERAL)
        if port in ports.bound or not _free_in_other_family(family, kind, port, reuse):
            continue
        addr = raw[:2] + struct.pack(">H", port) + raw[4:]
        if _bind(dup, addr, len(addr)) == 0:
            ports.bound.add(port)
            return 0
        err = ctypes.get_errno()
        if err != errno.EADDRINUSE:
            return -err
    return None


def _free_in_other_family(family: int, kind: int, port: int, reuse: bool) -> bool:
    """Whether no socket of the other IP family holds ``port`` as far as a socket with
    ``reuse`` (SO_REUSEADDR) is concerned, tried with a bind of that family's wildcard
    address (IPv6 only, ipv6(7)). An IPv6 socket without IPV6_V6ONLY takes the IPv4
    port too, and a program that got a port for one family commonly binds the other
    family's socket to it (a server on 127.0.0.1 and ::1): a port free in one family
    only would fail one of them, or another program's bind, where the kernel's random
    pick rarely does."""
    other = AF_INET if family == AF_INET6 else AF_INET6
    try:
        probe = socket.socket(other, kind)
    except OSError:
        return True  # no such family on this machine: nothing can hold the port there
    with probe:
        try:
            if other == AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if reuse:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(("::" if other == AF_INET6 else "0.0.0.0", port))
        except OSError as exc:
            return exc.errno != errno.EADDRINUSE
    return True


def _ip_socket(dup: int):
    """(family, type, bound port) of an IPv4 or IPv6 stream or datagram socket, else None."""
    try:
        if not stat.S_ISSOCK(os.fstat(dup).st_mode):
            return None
        sock = socket.socket(fileno=dup)
        try:
            family, kind = sock.family, sock.type
            if family not in (AF_INET, AF_INET6) or kind not in (socket.SOCK_STREAM,
                                                                 socket.SOCK_DGRAM):
                return None
            return family, kind, sock.getsockname()[1]
        finally:
            sock.detach()
    except OSError:
        return None


def autobind(ctx, fd: int, *, datagrams_only: bool = False,
             streams_only: bool = False) -> None:
    """An unbound IP socket about to connect, send or listen gets the host's next
    ephemeral port on the wildcard address, where the kernel would pick a random one
    (ip(7)); anything else is left to the call."""
    try:
        dup = ctx.engine.dup_tracee_fd(ctx.task, fd)
    except OSError:
        return
    try:
        kind = _ip_socket(dup)
        if kind is None or kind[2] != 0:
            return
        if (datagrams_only and kind[1] != socket.SOCK_DGRAM
                or streams_only and kind[1] != socket.SOCK_STREAM):
            return
        wildcard = (struct.pack("=H", AF_INET) + bytes(14) if kind[0] == AF_INET
                    else struct.pack("=H", AF_INET6) + bytes(26))
        _bind_ephemeral(ctx.engine, dup, wildcard, connecting=not streams_only)
    finally:
        os.close(dup)


@handles("bind")
def bind(ctx, fd, addr, addrlen, *_):
    """bind(2) to port 0 of an IP address: the host's next ephemeral port. Every other
    bind, and one the kernel refuses before looking at the port, runs natively."""
    addrlen = s32(addrlen)
    if not addr or not _SIN_LEN <= addrlen <= _SOCKADDR_STORAGE:
        return Native()
    try:
        raw = ctx.mem.read(addr, addrlen)
    except (OSError, OverflowError, ValueError):
        return Native()
    family = struct.unpack_from("=H", raw)[0]
    if family in (AF_INET, AF_INET6) and raw[2:4] != b"\0\0":
        host_ports(ctx.engine).bound.add(struct.unpack_from(">H", raw, 2)[0])
        return Native()
    if family not in (AF_INET, AF_INET6) or family == AF_INET6 and addrlen < _SIN6_LEN:
        return Native()
    try:
        dup = ctx.engine.dup_tracee_fd(ctx.task, s32(fd))
    except OSError:
        return Native()
    try:
        kind = _ip_socket(dup)
        if kind is None or kind[0] != family or kind[2] != 0:
            return Native()  # the kernel's error: EAFNOSUPPORT, EINVAL (bound) ...
        result = _bind_ephemeral(ctx.engine, dup, raw)
    finally:
        os.close(dup)
    return Native() if result is None else result


@handles("listen")
def listen(ctx, fd, *_):
    autobind(ctx, s32(fd), streams_only=True)
    return Native()


def _loopback(raw: bytes) -> bool:
    family = struct.unpack_from("=H", raw)[0]
    if family == AF_INET:
        return len(raw) >= 8 and raw[4] == 127
    return len(raw) >= 24 and (raw[8:24] == _V6_LOOPBACK
                               or raw[8:20] == _V4_MAPPED and raw[20] == 127)


def _peer_in_host_terms(ctx, addr: int, size: int, result: int) -> int:
    """The peer address a call wrote: a loopback port no socket of the host was bound
    to (a client outside the host) as the host's port for it."""
    if result < 0:
        return result
    try:
        raw = ctx.mem.read(addr, min(size, _SIN6_LEN))
    except (OSError, OverflowError, ValueError):
        return result
    if not _is_ip(raw) or not _loopback(raw):
        return result
    port = struct.unpack_from(">H", raw, 2)[0]
    ports = host_ports(ctx.engine)
    if port and port not in ports.bound:
        ctx.mem.write(addr + 2, struct.pack(">H", ports.peer(port)))
    return result


def _buffer_size(ctx, len_ptr: int) -> int:
    try:
        return s32(struct.unpack("<I", ctx.mem.read(len_ptr, 4))[0])
    except (OSError, OverflowError, ValueError):
        return 0


@handles("accept", "accept4")
def accept(ctx, fd, addr, len_ptr, *_):
    size = _buffer_size(ctx, len_ptr) if addr and len_ptr else 0
    if size < 4:
        return _io_accept(ctx, fd)
    return _io_accept(ctx, fd, lambda c, r: _peer_in_host_terms(c, addr, size, r))


@handles("getpeername")
def getpeername(ctx, fd, addr, len_ptr, *_):
    size = _buffer_size(ctx, len_ptr) if addr and len_ptr else 0
    if size < 4:
        return Native()
    return Native(on_exit=lambda c, r: _peer_in_host_terms(c, addr, size, r))


def _reported_length(ctx, len_ptr: int) -> int:
    """The address length a receive wrote back (0 when the kernel wrote no address:
    a stream socket's recvfrom, tcp(7))."""
    try:
        return struct.unpack("<I", ctx.mem.read(len_ptr, 4))[0]
    except (OSError, OverflowError, ValueError):
        return 0


@handles("recvfrom", "recvmsg")
def recv(ctx, fd, buf, length, flags, addr, len_ptr, *_):
    """A datagram from a peer outside the host (the test's socket, whose port its
    kernel picked) shows the host's port for that peer, as accept does for a TCP
    client; a send or connect to that port goes to the peer's real one."""
    outcome = _io_recv(ctx, fd, buf, length, flags)
    if ctx.nr == SYS_RECVMSG:  # recvmsg(fd, msg, flags): msg_name, msg_namelen
        try:
            addr, size = _MSGHDR_NAME.unpack(ctx.mem.read(buf, _MSGHDR_NAME.size))
        except (OSError, OverflowError, ValueError):
            return outcome
        len_ptr = buf + 8
    else:
        size = _buffer_size(ctx, len_ptr) if addr and len_ptr else 0
    size = s32(size)
    if not addr or size < 4:
        return outcome

    def in_host_terms(c, result):
        if result < 0 or _reported_length(c, len_ptr) < 4:
            return result
        return _peer_in_host_terms(c, addr, size, result)
    return _with(outcome, "on_exit", in_host_terms)


def _with(outcome, field: str, value):
    """``outcome`` whose native call (now, or once a wait ends) has ``field`` (its
    on_exit or patch) set to ``value``, unless the call set it itself."""
    if isinstance(outcome, Native) and getattr(outcome, field) is None:
        setattr(outcome, field, value)
    elif isinstance(outcome, Block) and outcome.retry is not None:
        retry = outcome.retry
        outcome.retry = lambda c: _with(retry(c), field, value)
    return outcome


def _to_real_peer(ctx, where: int, raw: bytes, outcome):
    """A destination the host showed for an outside peer (``raw``, read from the
    program's ``where``) is that peer's real port for the native call; the program's
    bytes are put back after it."""
    if not where or not _is_ip(raw) or not _loopback(raw):
        return outcome
    real = host_ports(ctx.engine).real(struct.unpack_from(">H", raw, 2)[0])
    if real is None:
        return outcome
    return _with(outcome, "patch", (where + 2, struct.pack(">H", real)))


@handles("socket", when=(0, {AF_PACKET}))
def socket_(ctx, family, *_):
    """A packet socket (packet(7), root only) sends frames to any interface, whatever
    its addresses say: refused like the calls that change the machine."""
    if s32(family) != AF_PACKET or ctx.engine.network == "outside":
        return Native()  # another family, when the strace log traps every call
    ctx.engine.refuse(ctx, "a packet socket (AF_PACKET) reaches past the host's loopback "
                           "network: EPERM (network='outside' lets it through)")
    return -errno.EPERM


# ---------------------------------------------------------------- the host's /etc
def _hosts(engine) -> bytes:
    return (f"# /etc/hosts of the simulated host {engine.hostname} (pytest-simproc)\n"
            f"127.0.0.1\tlocalhost\n"
            f"127.0.1.1\t{engine.hostname}\n"
            f"::1\tlocalhost ip6-localhost ip6-loopback\n").encode()


def _hostname(engine) -> bytes:
    return engine.hostname.encode() + b"\n"


def _host_conf(engine) -> bytes:
    return b"multi on\n"  # host.conf(5): every address of a name in /etc/hosts


_FILES_ONLY = re.compile(rb"^[ \t]*(hosts|networks)[ \t]*:.*$", re.MULTILINE)


def files_only(nsswitch: bytes) -> bytes:
    """An nsswitch.conf(5) whose hosts and networks databases are files only, the
    other lines kept."""
    text = _FILES_ONLY.sub(lambda m: m.group(1) + b":\tfiles", nsswitch)
    for database in (b"hosts", b"networks"):
        if not re.search(rb"^" + database + rb":", text, re.MULTILINE):
            text += (b"" if not text or text.endswith(b"\n") else b"\n") + database + b":\tfiles\n"
    return text


def _nsswitch(engine) -> bytes | None:
    """The machine's nsswitch.conf, but names and networks from files only."""
    if engine.network == "outside":
        return None
    try:
        with open("/etc/nsswitch.conf", "rb") as f:
            return files_only(f.read())
    except OSError:
        return files_only(b"")


def _resolv_conf(engine) -> bytes | None:
    if engine.network == "outside":
        return None
    return (f"# resolv.conf of the simulated host {engine.hostname} (pytest-simproc, "
            f"network='loopback'):\n# names resolve from /etc/hosts (nsswitch.conf: "
            f"hosts: files); a program that asks DNS\n# itself asks the machine's "
            f"loopback, never a server outside.\nnameserver 127.0.0.1\n").encode()


_VIEWS = {b"/etc/hosts": _hosts, b"/etc/hostname": _hostname,
          b"/etc/host.conf": _host_conf, b"/etc/nsswitch.conf": _nsswitch,
          b"/etc/resolv.conf": _resolv_conf}
# engine -> {path: the file standing in for it}: written at the first open, then the
# host's own (a program that edits its /etc/hosts edits the host's, not the machine's)
_written: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def etc_view(ctx, path: bytes) -> str | None:
    """The file that stands in for ``path`` in this host (open(2) opens it instead),
    or None when the program opens the machine's."""
    render = _VIEWS.get(path)
    if render is None:
        return None
    engine = ctx.engine
    files = _written.setdefault(engine, {})
    if path in files:
        return files[path]
    text = render(engine)
    if text is None:
        files[path] = None
        return None
    name = os.path.join(engine.data_dir,
                        f".{engine.hostname}.etc.{os.path.basename(os.fsdecode(path))}")
    # read-only, as the machine's /etc is to a program that is not root; put in place
    # at once (a kept data dir may hold an earlier host's)
    fd, temp = tempfile.mkstemp(dir=engine.data_dir, prefix=".etc.")
    with open(fd, "wb") as f:
        f.write(text)
        os.fchmod(fd, 0o444)
    os.replace(temp, name)
    files[path] = name
    return name
