"""What getrusage(2), times(2) and a wait's rusage report of a process.

CPU time comes from the CPU model and is split as the kernel splits it: half of what
a simulated call costs is system time (the kernel's entry and work), half user time
(the program's code that prepares the call and uses its result: a loop of calls
gathers both, as natively, where LTP's clock_gettime01 waits for its user time to
move); a preemption's slice is user time; a program's start-up both (FORK_*, EXEC_*). The resident set's
high-water mark cannot be modelled: it is the native process's (its VmHWM, proc(5)),
kept across exec and gathered from reaped children at the simulated reap, as the
kernel keeps it in the signal struct (getrusage(2) ru_maxrss).

Works on any record with the fields ``cpu_ns``, ``sys_ns``, ``maxrss_kb`` and their
``children_`` counterparts (engine/records.ProcInfo).
"""
from __future__ import annotations

import struct

__all__ = ["Usage", "own", "children", "waited", "fold_reaped", "rusage_bytes",
           "times_ticks", "FORK_SYSTEM_NS", "EXEC_SYSTEM_NS", "EXEC_USER_NS"]

CLOCK_TICK_NS = 10_000_000   # USER_HZ = 100 (times(2))

# What starting a program costs, calibrated on this project's machine (README "The CPU
# model"): fork(2) of a small process, system time of the parent (67-83 us measured);
# execve(2) of a small dynamically linked program up to main (/bin/true: 557 us of
# user time, the loader's, and 67 us of system time, wait4's rusage over 2,000 runs).
FORK_SYSTEM_NS = 75_000
EXEC_SYSTEM_NS = 65_000
EXEC_USER_NS = 500_000


class Usage:
    """(user, system) CPU time in ns and ru_maxrss in KiB."""

    __slots__ = ("user_ns", "sys_ns", "maxrss_kb")

    def __init__(self, user_ns: int, sys_ns: int, maxrss_kb: int) -> None:
        self.user_ns, self.sys_ns, self.maxrss_kb = user_ns, sys_ns, maxrss_kb


def own(info, live_hwm_kb: int = 0) -> Usage:
    """RUSAGE_SELF: the process's CPU time; ru_maxrss is the larger of what its
    earlier programs reached (exec keeps it) and its live memory's high-water mark."""
    return Usage(info.cpu_ns - info.sys_ns, info.sys_ns, max(info.maxrss_kb, live_hwm_kb))


def children(info) -> Usage:
    """RUSAGE_CHILDREN: the reaped descendants' (a child counts once waited for)."""
    return Usage(info.children_cpu_ns - info.children_sys_ns, info.children_sys_ns,
                 info.children_maxrss_kb)


def waited(info) -> Usage:
    """What a wait that reaps the process reports (wait4(2)): its own usage and its
    reaped children's together; ru_maxrss the larger of the two."""
    cpu = info.cpu_ns + info.children_cpu_ns
    sys_ = info.sys_ns + info.children_sys_ns
    return Usage(cpu - sys_, sys_, max(info.maxrss_kb, info.children_maxrss_kb))


def fold_reaped(parent, child) -> None:
    """The parent waited for ``child``: its children's figures take the child's in."""
    parent.children_cpu_ns += child.cpu_ns + child.children_cpu_ns
    parent.children_sys_ns += child.sys_ns + child.children_sys_ns
    parent.children_maxrss_kb = max(parent.children_maxrss_kb, child.maxrss_kb,
                                    child.children_maxrss_kb)


def _timeval(ns: int) -> bytes:
    us = ns // 1000
    return struct.pack("<qq", us // 1_000_000, us % 1_000_000)


def rusage_bytes(usage: Usage | None) -> bytes:
    """struct rusage: the two times and ru_maxrss; every counter after it is zero
    (page faults and switches depend on the machine, not the program)."""
    if usage is None:
        return bytes(144)
    return (_timeval(usage.user_ns) + _timeval(usage.sys_ns)
            + struct.pack("<q", usage.maxrss_kb) + bytes(13 * 8))


def times_ticks(usage: Usage) -> tuple[int, int]:
    """(user, system) in clock ticks, each truncated on its own as times(2) does."""
    return usage.user_ns // CLOCK_TICK_NS, usage.sys_ns // CLOCK_TICK_NS

