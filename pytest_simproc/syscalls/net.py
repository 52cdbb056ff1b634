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

``network="outside"`` lets every address through and leaves nsswitch.conf and
resolv.conf the machine's (DNS works as on the machine): the outcome then depends on
the network, the one source of nondeterminism a test opts into. The host's name still
resolves from its own /etc/hosts.
"""
from __future__ import annotations

import errno
import os
import re
import socket
import stat
import struct
import tempfile
import weakref

from .args import s32, u32
from .io import connect as _io_connect, send as _io_send
from .outcome import Native
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
    refusal = refused(ctx, s32(fd), _read_sockaddr(ctx, addr, s32(addrlen)))
    return refusal if refusal is not None else _io_connect(ctx, fd, addr, addrlen, *rest)


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
    else:
        refusal = refused(ctx, s32(fd), _read_sockaddr(ctx, addr, s32(addrlen)), u32(flags))
    if refusal is not None:
        return refusal
    return _io_send(ctx, fd, buf, length, flags, addr, addrlen, *rest)


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
