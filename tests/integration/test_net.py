"""Names and the network (syscalls/net.py): a host is a machine alone on its loopback.

No test here sends a packet outside 127.0.0.0/8 or ::1. Addresses outside loopback
(TEST-NET-1 192.0.2.1, TEST-NET-2, 2001:db8::/32) are given only to programs in a
host, which refuses them before they run; tests/programs/net.c also refuses to send to
one unless its host is named "simhost-net" and a datagram connect(2), which sends
nothing, was refused first.
"""
from __future__ import annotations

import errno
import ipaddress
import json
import os
import re
import socket
import struct
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from pytest_simproc import Exited, Running, SimHost
from pytest_simproc.syscalls.net import outside_destination

from .conftest import REPO_ROOT, START, find_tool, run_native, same_as_native

pytest_plugins = ["pytester"]

HOST = "simhost-net"
REFUSAL = re.compile(r"destination (\S+) is outside the host's loopback network")
ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')


def dns_or_outside(lines: list[str]) -> list[str]:
    """The strace lines that name port 53 or an IP address outside loopback. (glibc's
    getaddrinfo connects a datagram socket to 127.0.0.1 to pick a source address,
    RFC 3484: no packet, and loopback.)"""
    def outside(match) -> bool:
        addr = ipaddress.ip_address(match.group(1) or match.group(2))
        return not (addr.is_loopback or addr.is_unspecified)
    return [line for line in lines
            if "htons(53)" in line or any(outside(m) for m in ADDRESS.finditer(line))]


def refused(report) -> list[tuple[str, str]]:
    """(call, destination without its port) of each refusal in a host's report."""
    return [(r["syscall"], REFUSAL.search(r["message"]).group(1).rsplit(":", 1)[0])
            for r in report["host"]["refused"]]


# ------------------------------------------------------------------ destinations
@pytest.mark.parametrize("args, expected", [
    ("sendto 127.0.0.1 0.0.0.0", "sendto 127.0.0.1 = 5\nsendto 0.0.0.0 = 5\n"
                                 "received to #0\nreceived to #1\n"),
    ("sendmsg ::1 ::ffff:127.0.0.1 ::", "sendmsg ::1 = 5\nsendmsg ::ffff:127.0.0.1 = 5\n"
                                        "sendmsg :: = 5\nreceived to #1\nreceived to #0\n"
                                        "received to #2\n"),
    ("sendmmsg 127.0.0.1 0.0.0.0", "sendmmsg = 2\nreceived to #0\nreceived to #1\n"),
    ("connect-tcp 127.0.0.1 127.0.0.1", "connect-tcp 127.0.0.1 = 0 (accepted)\n"
                                        "connect-tcp 127.0.0.1 = -1 EISCONN\n"),
    ("connect-tcp ::1", "connect-tcp ::1 = 0 (accepted)\n"),
    ("connect-udp ::ffff:127.0.0.1", "connect-udp ::ffff:127.0.0.1 = 0\n"),
    ("tcp-sendto 127.0.0.1 0.0.0.0", "tcp-sendto 127.0.0.1 = 5\ntcp-sendto 0.0.0.0 = 5\n"
                                     "received to #0to #1\n"),
], ids=["sendto", "sendmsg-ipv6", "sendmmsg", "connect-tcp", "connect-tcp-ipv6",
        "connect-udp-mapped", "tcp-sendto"])
def test_loopback_goes_through_as_natively(build, args, expected):
    """Loopback, IPv4-mapped loopback and the unspecified addresses (which the kernel
    sends to the machine itself) are the host's own network: nothing is refused."""
    report = same_as_native([build("net"), *args.split()], expected.encode(), hostname=HOST)
    assert report["host"]["refused"] == []


@pytest.mark.parametrize("args, expected, refusals", [
    ("connect-tcp 192.0.2.1 127.0.0.1",
     "connect-tcp 192.0.2.1 = -1 ENETUNREACH\nconnect-tcp 127.0.0.1 = 0 (accepted)\n",
     [("connect", "192.0.2.1")] * 2),
    ("sendto 192.0.2.1 127.0.0.1",
     "sendto 192.0.2.1 = -1 ENETUNREACH\nsendto 127.0.0.1 = 5\nreceived to #1\n",
     [("connect", "192.0.2.1"), ("sendto", "192.0.2.1")]),
    ("sendmsg 2001:db8::1 ::ffff:198.51.100.1 ::1",
     "sendmsg 2001:db8::1 = -1 ENETUNREACH\nsendmsg ::ffff:198.51.100.1 = -1 ENETUNREACH\n"
     "sendmsg ::1 = 5\nreceived to #2\n",
     [("connect", "[2001:db8::1]"), ("connect", "[::ffff:198.51.100.1]"),
      ("sendmsg", "[2001:db8::1]"), ("sendmsg", "[::ffff:198.51.100.1]")]),
    # the messages before the first outside one go, and the call says how many
    ("sendmmsg 127.0.0.1 192.0.2.1 127.0.0.1", "sendmmsg = 1\nreceived to #0\n",
     [("connect", "192.0.2.1"), ("sendmmsg", "192.0.2.1")]),
    ("sendmmsg 192.0.2.1 127.0.0.1", "sendmmsg = -1 ENETUNREACH\n",
     [("connect", "192.0.2.1"), ("sendmmsg", "192.0.2.1")]),
    ("connect-tcp 2001:db8::2 ::1",
     "connect-tcp 2001:db8::2 = -1 ENETUNREACH\nconnect-tcp ::1 = 0 (accepted)\n",
     [("connect", "[2001:db8::2]")] * 2),
    # a connected TCP socket's peer gets the data, whatever the address says (tcp(7))
    ("tcp-sendto 2001:db8::3", "tcp-sendto 2001:db8::3 = 5\nreceived to #0\n",
     [("connect", "[2001:db8::3]")]),
], ids=["connect", "sendto", "sendmsg-ipv6", "sendmmsg-partial", "sendmmsg-first",
        "connect-ipv6", "tcp-sendto-ignored"])
def test_outside_loopback_is_unreachable_and_reported(build, args, expected, refusals):
    """In a host only: the call fails with ENETUNREACH without running, the socket
    stays usable (the loopback call after it works), and the report names each
    refused destination (the program's own datagram-connect guard comes first)."""
    with SimHost(hostname=HOST) as host:
        p = host.spawn([build("net"), *args.split()])
        host.run()
        assert (p.exit_status, p.stdout.decode(), p.stderr) == (Exited(0), expected, b"")
        assert refused(host.report()) == refusals


def test_network_outside_lets_the_address_through(build):
    """network="outside": a datagram connect(2) to TEST-NET-2 is the machine's own
    answer, not refused. udp(7): it only sets the default destination, no packet is
    sent, natively (the machine's answer, taken here) or in the host."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with probe:
        err = probe.connect_ex(("198.51.100.7", 9))
    native = "0" if err == 0 else f"-1 {errno.errorcode[err]}"
    with SimHost(hostname=HOST, network="outside") as host:
        p = host.spawn([build("net"), "connect-udp", "198.51.100.7"])
        host.run()
        assert p.stdout.decode() == f"connect-udp 198.51.100.7 = {native}\n"
        report = host.report()
        assert report["host"]["refused"] == [] and report["host"]["network"] == "outside"
    with SimHost(hostname=HOST) as host:
        p = host.spawn([build("net"), "connect-udp", "198.51.100.7"])
        host.run()
        assert p.stdout == b"connect-udp 198.51.100.7 = -1 ENETUNREACH\n"
        assert host.report()["host"]["network"] == "loopback"


def _sockaddr_in(addr: bytes, port: int) -> bytes:
    return struct.pack("=H", socket.AF_INET) + struct.pack(">H", port) + addr + bytes(8)


def _sockaddr_in6(addr: bytes, port: int) -> bytes:
    return struct.pack("=H", socket.AF_INET6) + struct.pack(">HI", port, 0) + addr


BAD_ARGUMENTS = (
    "connect NULL = -1 EFAULT\n"
    "connect -1 = -1 EFAULT\n"
    "connect unmapped = -1 EFAULT\n"
    "connect addrlen 0 = -1 EINVAL\n"
    "connect addrlen 1000 = -1 EINVAL\n"
    "connect addrlen -1 = -1 EINVAL\n"
    "connect addrlen 8 = -1 EINVAL\n"
    "connect bad fd = -1 EBADF\n"
    "connect closed fd = -1 EBADF\n"
    "connect not a socket = -1 ENOTSOCK\n"
    "connect ipv6 on ipv4 tcp = -1 EAFNOSUPPORT\n"
    "connect ipv6 on ipv4 udp = -1 EAFNOSUPPORT\n"
    "connect ipv6 on unix = -1 EINVAL\n"
    "sendto -1 = -1 EFAULT\n"
    "sendto unmapped = -1 EFAULT\n"
    "sendto ipv6 on ipv4 = -1 EAFNOSUPPORT\n"
    "sendto addrlen 3 = -1 EINVAL\n"
    "sendmsg -1 = -1 EFAULT\n"
    "sendmsg unmapped = -1 EFAULT\n"
    "sendmsg name -1 = -1 EFAULT\n"
    "sendmsg namelen 1000 = -1 EAFNOSUPPORT\n"
    "sendmmsg -1 = -1 EFAULT\n"
    "sendmmsg unmapped = -1 EFAULT\n"
    "sendmmsg vlen 0 = 0\n"
    "sendmmsg name -1 = -1 EFAULT\n"
    "sendmmsg ipv6 on ipv4 = -1 EAFNOSUPPORT\n"
)


def test_bad_arguments_get_the_kernels_errors(build):
    """NULL, -1 and unmapped pointers, bad lengths, descriptors and families: in a host
    each call gives the kernel's error, as natively, where none reaches routing (a
    msghdr's msg_namelen above 128 is cut down, not refused: EAFNOSUPPORT)."""
    report = same_as_native([build("net_badargs")], BAD_ARGUMENTS.encode())
    assert report["host"]["refused"] == []


class _Memory:
    """A program's memory for the handlers' readers: {address: bytes}."""

    def __init__(self, blocks: dict[int, bytes]):
        self.blocks = blocks

    def read(self, addr: int, size: int) -> bytes:
        for base, data in self.blocks.items():
            if base <= addr and addr + size <= base + len(data):
                return data[addr - base:addr - base + size]
        raise OSError(errno.EFAULT, "unmapped")


@pytest.mark.parametrize("namelen, expected", [
    (16, 16), (28, 24), (1000, 24), (0, 0), (-1, 0)])
def test_msghdr_name_length_is_cut_as_the_kernel_cuts_it(namelen, expected):
    """__copy_msghdr: a msg_namelen above sizeof(struct sockaddr_storage) is cut down
    to it and the address used (so it must be judged); a negative one is EINVAL."""
    from types import SimpleNamespace
    from pytest_simproc.syscalls.net import _message_address
    sockaddr = _sockaddr_in6(socket.inet_pton(socket.AF_INET6, "2001:db8::1"), 9)
    msghdr = struct.pack("<QI", 0x2000, namelen & 0xFFFFFFFF)
    ctx = SimpleNamespace(mem=_Memory({0x1000: msghdr, 0x2000: sockaddr + bytes(200)}))
    raw = _message_address(ctx, 0x1000)
    assert raw == sockaddr[:expected]
    assert (outside_destination(raw) is not None) == (expected == 24)
    assert _message_address(ctx, 0x3000) is None  # unreadable: the kernel's EFAULT


PACKET_SOCKET = ("import socket\n"
                 "try:\n"
                 "    socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()\n"
                 "    print('created')\n"
                 "except PermissionError:\n"
                 "    print('EPERM')\n")


def test_packet_socket_is_refused_unless_outside():
    """A packet socket could send frames anywhere: EPERM and reported in a host; with
    network="outside" what the machine gives (creating one sends nothing)."""
    python = find_tool("python3")
    native = run_native([python, "-c", PACKET_SOCKET])
    for network, expected in (("loopback", b"EPERM\n"), ("outside", native.stdout)):
        with SimHost(network=network) as host:
            p = host.spawn([python, "-c", PACKET_SOCKET])
            host.run()
            assert (p.exit_status, p.stdout) == (Exited(0), expected), p.stderr
            calls = [r["syscall"] for r in host.report()["host"]["refused"]]
            assert calls == (["socket"] if network == "loopback" else [])


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=4, max_size=4), st.binary(min_size=16, max_size=16),
       st.integers(0, 65535), st.binary(max_size=40))
def test_outside_destination_agrees_with_ipaddress(v4, v6, port, junk):
    """Any bytes are a sockaddr a program may give: never an exception; an IP address
    is outside exactly when ipaddress says it is neither loopback nor unspecified
    (IPv4-mapped ones judged as IPv4)."""
    def outside(addr) -> bool:
        mapped = getattr(addr, "ipv4_mapped", None)
        addr = mapped or addr
        return not (addr.is_loopback or addr.is_unspecified)

    a4, a6 = ipaddress.IPv4Address(v4), ipaddress.IPv6Address(v6)
    got4 = outside_destination(_sockaddr_in(v4, port))
    assert got4 == (f"{a4}:{port}" if outside(a4) else None)
    got6 = outside_destination(_sockaddr_in6(v6, port))
    assert (got6 is not None) == outside(a6)
    if got6 is not None:
        assert ipaddress.IPv6Address(got6[1:got6.rindex("]")]) == a6
    outside_destination(junk)  # whatever it is, it is an answer
    assert outside_destination(_sockaddr_in(v4, port)[:15]) is None  # EINVAL natively


# ------------------------------------------------------------------ names
def test_host_name_resolves_from_its_own_hosts_file():
    """gethostbyname(gethostname()), getfqdn() and getent answer from the host's
    /etc/hosts at once: nothing to port 53 or outside loopback, no virtual time spent."""
    python, getent = find_tool("python3"), find_tool("getent")
    code = ("import socket; n = socket.gethostname(); "
            "print(n, socket.gethostbyname(n), socket.getfqdn(), "
            "socket.gethostbyname('localhost'))")
    with SimHost(hostname="web-1", strace="standard") as host:
        py = host.spawn([python, "-c", code])
        ge = host.spawn([getent, "hosts", "web-1"])
        host.run()
        assert py.stdout == b"web-1 127.0.1.1 web-1 127.0.0.1\n", py.stderr
        assert ge.stdout.split() == [b"127.0.1.1", b"web-1"]
        for p in (py, ge):
            assert p.exit_status == Exited(0)
            lines = p.strace().lines
            assert any('openat(AT_FDCWD, "/etc/hosts"' in line for line in lines)
            assert dns_or_outside(lines) == []
        assert host.now == START


def test_unknown_name_is_not_found_at_once():
    """A name the host's /etc/hosts lacks is not found, without asking DNS (glibc's
    EAI_NONAME); hostname -f and -i answer from the file too."""
    python, hostname = find_tool("python3"), find_tool("hostname")
    code = ("import socket\n"
            "try:\n"
            "    socket.getaddrinfo('www.example.com', 80)\n"
            "except socket.gaierror as e:\n"
            "    print(e.errno == socket.EAI_NONAME)\n")
    with SimHost(strace="standard") as host:
        py = host.spawn([python, "-c", code])
        fqdn = host.spawn([hostname, "-f"])
        ip = host.spawn([hostname, "-i"])
        host.run()
        assert (py.stdout, fqdn.stdout, ip.stdout) == (b"True\n", b"simhost\n", b"127.0.1.1\n")
        for p in (py, fqdn, ip):
            assert dns_or_outside(p.strace().lines) == []
        assert host.now == START


def test_etc_files_are_the_hosts():
    """The host's /etc/hostname, /etc/hosts, /etc/host.conf; nsswitch.conf takes host
    and network names from files only; resolv.conf names no server but 127.0.0.1."""
    with SimHost(hostname="web-1") as host:
        p = host.spawn(["/bin/sh", "-c", "cat /etc/hostname /etc/host.conf; "
                        "grep -v '^#' /etc/hosts; grep -E '^(hosts|networks):' "
                        "/etc/nsswitch.conf; grep -v '^#' /etc/resolv.conf"])
        host.run()
    assert p.stdout.decode() == (
        "web-1\nmulti on\n127.0.0.1\tlocalhost\n127.0.1.1\tweb-1\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\nhosts:\tfiles\nnetworks:\tfiles\n"
        "nameserver 127.0.0.1\n"), p.stderr


def test_etc_hosts_edits_stay_in_the_host():
    """A program editing /etc/hosts edits the host's copy, seen by the host's next
    lookup and never by the machine: as root; without root the copy is read-only, as
    the machine's /etc/hosts is. (The program writes only once it sees the host's
    copy, so nothing ever writes the machine's file.)"""
    with open("/etc/hosts", "rb") as f:
        machine = f.read()
    edit = ("grep -q 'simulated host' /etc/hosts && "
            "{ echo '127.0.0.5 extra' >> /etc/hosts || echo refused; }")
    with SimHost() as host:
        editor = host.spawn(["/bin/sh", "-c", edit])
        host.run()
        reader = host.spawn([find_tool("getent"), "hosts", "extra"])
        host.run()
    if os.geteuid() == 0:
        assert (editor.stdout, reader.stdout.split()) == (b"", [b"127.0.0.5", b"extra"])
    else:
        assert editor.stdout == b"refused\n" and b"Permission denied" in editor.stderr
    with open("/etc/hosts", "rb") as f:
        assert f.read() == machine


@pytest.mark.parametrize("machine, host", [
    (b"passwd: files systemd\nhosts:          files mdns4_minimal [NOTFOUND=return] dns\n"
     b"networks: files dns\n",
     b"passwd: files systemd\nhosts:\tfiles\nnetworks:\tfiles\n"),
    (b"  hosts : dns files # resolver first\nhostsfoo: dns",
     b"hosts:\tfiles\nhostsfoo: dns\nnetworks:\tfiles\n"),
    (b"", b"hosts:\tfiles\nnetworks:\tfiles\n"),
], ids=["debian", "odd-spacing", "none"])
def test_nsswitch_view_takes_names_from_files_only(machine, host):
    """Whatever the machine's nsswitch.conf says of hosts and networks (or if it has
    none: glibc's default asks DNS first), the host's says files; other lines stay."""
    from pytest_simproc.syscalls.net import files_only
    assert files_only(machine) == host


def test_network_outside_keeps_the_machines_resolver():
    """network="outside": nsswitch.conf and resolv.conf are the machine's (DNS works
    as on the machine); the host's name still comes from its own /etc/hosts."""
    with open("/etc/resolv.conf", "rb") as f:
        resolv = f.read()
    with SimHost(hostname="web-1", network="outside") as host:
        p = host.spawn(["/bin/sh", "-c", "cat /etc/resolv.conf; grep ^127.0.1.1 /etc/hosts"])
        host.run()
    assert p.stdout == resolv + b"127.0.1.1\tweb-1\n"


def test_http_server_starts_without_a_dns_query():
    """http.server's bind calls getfqdn(): it answers from the host's /etc/hosts, and
    the server is up at once."""
    python = find_tool("python3")
    with SimHost(strace="standard") as host:
        p = host.spawn([python, "-u", "-m", "http.server", "0", "--bind", "0.0.0.0"],
                       expected_final_state=Running)
        host.run_for(1)
        assert p.stdout.startswith(b"Serving HTTP on 0.0.0.0 port "), (p.stdout, p.stderr)
        assert dns_or_outside(p.strace().lines) == []
        assert any('"/etc/hosts"' in line for line in p.strace().lines)


# ------------------------------------------------------------------ the option
def test_marker_option_reaches_the_host(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.simproc(network="outside")
        def test_outside(simhost):
            p = simhost.spawn(["cat", "/etc/resolv.conf"])
            simhost.run()
            assert p.stdout == open("/etc/resolv.conf", "rb").read()
            assert simhost.report()["host"]["network"] == "outside"

        def test_default(simhost):
            p = simhost.spawn(["cat", "/etc/resolv.conf"])
            simhost.run()
            assert p.stdout.endswith(b"\\nnameserver 127.0.0.1\\n")
            assert simhost.report()["host"]["network"] == "loopback"
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


@pytest.mark.parametrize("option, resolver", [
    ((), b"nameserver 127.0.0.1\n"), (("--network", "outside"), None)])
def test_cli_network_option(option, resolver):
    if resolver is None:  # the machine's
        with open("/etc/resolv.conf", "rb") as f:
            resolver = b"".join(line for line in f if not line.startswith(b"#"))
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    res = subprocess.run([sys.executable, "-m", "pytest_simproc", "run", *option, "--json",
                          "-", "--", "grep", "-v", "^#", "/etc/resolv.conf"],
                         capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=60)
    assert res.returncode == 0, res.stderr
    # with --json -, stdout holds the report alone and the program's output goes to stderr
    assert res.stderr.startswith(resolver)
    network = "outside" if option else "loopback"
    assert json.loads(res.stdout)["host"]["network"] == network


PORTS_SCRIPT = r"""
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen()
port = srv.getsockname()[1]
client = socket.socket()
client.connect(("127.0.0.1", port))
conn, peer = srv.accept()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.sendto(b"x", ("127.0.0.1", port))
unbound = socket.socket()
unbound.listen()
v6 = socket.socket(socket.AF_INET6)
v6.bind(("::1", 0))
print("bind", port, "connect", client.getsockname()[1], "accepted", peer[1],
      conn.getpeername()[1], "sendto", udp.getsockname()[1], "listen",
      unbound.getsockname()[1], "v6", v6.getsockname()[1], flush=True)
outside, peer = srv.accept()
print("outside peer", peer[1], outside.getpeername()[1], flush=True)
outside.recv(1)
"""


def _ports_run(python, seed):
    with SimHost(seed=seed) as host:
        p = host.spawn([python, "-c", PORTS_SCRIPT])
        assert host.run_until(lambda: b"\n" in p.stdout, timeout=5), p.stderr
        port = int(p.stdout.split()[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            assert host.run_until(lambda: b"outside" in p.stdout, timeout=5), p.stderr
            real = client.getsockname()[1]
            client.sendall(b"x")
            host.run()
        assert p.exit_status == Exited(0), p.stderr
        return p.stdout.decode().split(), real


def test_ephemeral_ports_are_the_hosts():
    """bind(port 0), and an unbound socket that connects, sends or listens, got a port
    the machine's kernel picked at random, so a program printed another port on every
    run (--simproc-verify failed the prefork example); a client outside the host showed
    in accept and getpeername with its own random port."""
    python = find_tool("python3")
    first, real1 = _ports_run(python, 3)
    second, real2 = _ports_run(python, 3)
    assert first == second
    words = first[:first.index("outside")]
    ports = {name: words[words.index(name) + 1] for name in
             ("bind", "connect", "accepted", "sendto", "listen", "v6")}
    assert ports["connect"] == ports["accepted"] == words[words.index("accepted") + 2]
    del ports["accepted"]
    assert len({ports[k] for k in ("bind", "connect", "sendto", "listen", "v6")}) == 5
    assert all(32768 <= int(port) <= 60999 for port in ports.values())
    outside = first[first.index("outside") + 2:]
    assert outside[0] == outside[1]   # the same port for the same peer, both calls


def test_prefork_example_passes_simproc_verify():
    """Issue 15: the prefork server prints the port bind(port 0) got."""
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "examples/test_prefork.py", "--simproc-verify",
         "-k", "ping or line_protocol", "-q", "-p", "no:cacheprovider"],
        cwd=REPO_ROOT, capture_output=True, timeout=300)
    assert res.returncode == 0, res.stdout.decode()[-3000:]


BOTH_FAMILIES_SCRIPT = r"""
import socket, sys
first_v6 = sys.argv[1] == "v6"
first = socket.socket(socket.AF_INET6 if first_v6 else socket.AF_INET)
first.bind(("::1" if first_v6 else "127.0.0.1", 0))   # an IPv6 one without IPV6_V6ONLY
port = first.getsockname()[1]
second = socket.socket(socket.AF_INET if first_v6 else socket.AF_INET6)
if not first_v6:
    second.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
second.bind(("127.0.0.1" if first_v6 else "::1", port))
print(port, flush=True)
"""


def _first_port(python, family):
    with SimHost(seed=5) as host:
        p = host.spawn([python, "-c", BOTH_FAMILIES_SCRIPT, family])
        host.run()
        assert p.exit_status == Exited(0), p.stderr
        return int(p.stdout)


@pytest.mark.parametrize("family", ["v4", "v6"])
def test_ephemeral_port_is_free_in_both_families(family):
    """The port a bind(port 0) gets is free in the other family too: a program that
    binds its other family's socket to it (a server on 127.0.0.1 and ::1) does not
    fail because another program holds it there, and an IPv6 socket without
    IPV6_V6ONLY, which takes the IPv4 port too (its bind succeeds where an IPv4
    wildcard bind then fails), is not given a port an IPv4 socket holds. Here the
    test process holds the port the host's sequence gives first, in the family the
    program binds second (the second bind failed with EADDRINUSE before)."""
    python = find_tool("python3")
    port = _first_port(python, family)
    other = socket.AF_INET6 if family == "v4" else socket.AF_INET
    with socket.socket(other) as holder:
        if other == socket.AF_INET6:
            holder.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        holder.bind(("::1" if other == socket.AF_INET6 else "127.0.0.1", port))
        holder.listen()
        assert _first_port(python, family) != port


UDP_SCRIPT = r"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print("port", s.getsockname()[1], flush=True)
data, peer = s.recvfrom(100)
s.sendto(b"pong", peer)
data, _, _, peer2 = s.recvmsg(100)
s.sendmsg([b"sendmsg"], [], 0, peer2)
s.connect(peer)
print("from", peer[1], peer2[1], s.getpeername()[1], flush=True)
s.send(b"done")
"""


def _udp_run(python, sock):
    with SimHost(seed=4) as host:
        p = host.spawn([python, "-c", UDP_SCRIPT])
        assert host.run_until(lambda: b"\n" in p.stdout, timeout=5), p.stderr
        port = int(p.stdout.split()[1])
        sock.sendto(b"ping", ("127.0.0.1", port))
        replies = []

        def replied():
            try:
                replies.append(sock.recv(100, socket.MSG_DONTWAIT))
            except BlockingIOError:
                pass
            return replies
        assert host.run_until(replied, timeout=5), p.stderr
        sock.sendto(b"again", ("127.0.0.1", port))
        host.run()
        assert p.exit_status == Exited(0), p.stderr
        sock.settimeout(5)   # (a socket with a timeout waits in a MSG_DONTWAIT recv too)
        replies += [sock.recv(100), sock.recv(100)]
        return p.stdout.decode().split(), replies


def test_datagram_from_outside_shows_the_hosts_port_and_replies_reach_it():
    """A datagram from a peer outside the host (the test's socket, its port picked by
    the test's kernel) shows in recvfrom, recvmsg and getpeername with the host's
    port for that peer, as a TCP client does in accept: the same on every run,
    whatever the peer's real port (the program printed the real one before). A
    sendto, sendmsg, and connect and send to that port reach the peer's real socket."""
    python = find_tool("python3")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))   # another real port than a's
        first, replies1 = _udp_run(python, a)
        second, replies2 = _udp_run(python, b)
    assert replies1 == replies2 == [b"pong", b"sendmsg", b"done"]
    shown = first[first.index("from") + 1:]
    assert shown == second[second.index("from") + 1:]
    assert shown[0] == shown[1] == shown[2]
