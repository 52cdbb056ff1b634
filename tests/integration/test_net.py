"""Sockets on the host's loopback network, natively and in a host.

No test here sends a packet outside 127.0.0.0/8 or ::1.
"""
from __future__ import annotations

import pytest

from .conftest import same_as_native

HOST = "simhost-net"


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
], ids=["sendto", "sendmsg-ipv6", "sendmmsg", "connect-tcp", "connect-tcp-ipv6",
        "connect-udp-mapped"])
def test_loopback_goes_through_as_natively(build, args, expected):
    """Loopback, IPv4-mapped loopback and the unspecified addresses (which the kernel
    sends to the machine itself) are the host's own network."""
    report = same_as_native([build("net"), *args.split()], expected.encode(), hostname=HOST)
    assert report["host"]["refused"] == []
