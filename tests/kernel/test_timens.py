"""Time namespaces (kernel/timens.py): membership through unshare, fork, exec and
setns, and /proc/PID/timens_offsets' rules, without a tracee."""
from __future__ import annotations

import errno

from hypothesis import given, strategies as st

from pytest_simproc.kernel.timens import ROOT_INUM, TimeNamespaces, parse_offsets

NSEC = 10**9
NOW = 946684800 * NSEC


def test_a_namespace_is_for_the_children_until_exec():
    ns = TimeNamespaces()
    assert not ns.active and ns.offset(1000, 1) == 0
    new = ns.unshare(1000)
    assert ns.active and ns.of(1000) is ns.root and ns.for_children(1000) is new
    assert ns.write_offsets(1000, b"monotonic 10 0\nboottime -3 5", 0, True, NOW, NOW) == 28
    assert ns.fork(1000, 1001) is True
    assert ns.offset(1001, 1) == 10 * NSEC and ns.offset(1001, 4) == 10 * NSEC
    assert ns.offset(1001, 7) == -3 * NSEC + 5 and ns.offset(1001, 0) == 0
    assert ns.offset(1000, 1) == 0
    # the children of a process inside stay inside; offsets are fixed now
    assert ns.fork(1001, 1002) is False and ns.of(1002) is new
    assert ns.write_offsets(1000, b"monotonic 1 0", 0, True, NOW, NOW) == -errno.EACCES
    # a vfork child stays in its parent's namespace until it execs
    assert ns.fork(1000, 1003, shares_memory=True) is False and ns.of(1003) is ns.root
    assert ns.exec(1003) is True and ns.of(1003) is new
    assert ns.exec(1000) is True and ns.of(1000) is new
    assert ns.setns(1001, ns.root) is True and ns.offset(1001, 1) == 0
    ns.exit(1002)
    assert ns.of(1002) is ns.root


def test_clone3_newtime_copies_the_offsets_into_a_frozen_namespace():
    ns = TimeNamespaces()
    first = ns.unshare(1000)
    ns.write_offsets(1000, b"1 7 0", 0, True, NOW, NOW)
    assert ns.fork(1000, 1001, new=True) is True
    made = ns.of(1001)
    assert made is not first and made.monotonic_ns == 7 * NSEC and made.frozen
    assert not first.frozen and made.inum != first.inum != ROOT_INUM
    assert ns.by_inum(made.inum) is made and ns.by_inum(ROOT_INUM) is ns.root


def test_offsets_writes_errors():
    ns = TimeNamespaces()
    assert ns.write_offsets(1000, b"monotonic 1 0", 0, True, NOW, NOW) == -errno.EACCES
    ns.unshare(1000)
    w = lambda data, pos=0, priv=True: ns.write_offsets(1000, data, pos, priv, NOW, NOW)
    assert w(b"monotonic 1 0", pos=1) == -errno.EINVAL
    assert w(b"m" * 4096) == -errno.EINVAL
    assert w(b"monotonic 1 0", priv=False) == -errno.EPERM
    assert w(b"monotonic 1 0\n") == 14
    assert w(b"monotonic 9223372037 0") == -errno.ERANGE
    assert w(b"monotonic -946684801 0") == -errno.ERANGE   # before the clock's zero
    assert w(b"monotonic -946684800 0") == 22
    assert w(b"boottime 4611686018 0") == -errno.ERANGE     # past half of ktime's range


def test_offsets_parsing():
    assert parse_offsets(b"monotonic 5 0\nboottime 6 0\nmonotonic 7 0\n") == (
        [(1, 5, 0), (7, 6, 0)], 27)
    assert parse_offsets(b"  7   -2   999999999  trailing") == ([(7, -2, 999999999)], 30)
    for bad in (b"", b"\n", b"realtime 1 0", b"monotonic 1", b"monotonic 1 -1",
                b"monotonic 1 1000000000", b"monotonicX 1 0", b"2 1 0", b"monotonic 1 0\n\n"):
        assert parse_offsets(bad) == -errno.EINVAL, bad


@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_einval(data):
    parsed = parse_offsets(data)
    if parsed != -errno.EINVAL:
        offsets, taken = parsed
        assert 1 <= len(offsets) <= 2 and 0 < taken <= len(data)
        assert all(clock in (1, 7) and 0 <= nsec < NSEC for clock, _, nsec in offsets)
