"""Calls that look at (or set) another process's capabilities and performance counters.

capget(2), capset(2) and perf_event_open(2) take a pid: run natively with a virtual one
they would reach whatever real process has that number, outside the host too (a perf
event that samples registers and stack reads another process's memory). A pid of the
host is translated, 0 is the caller, anything else is ESRCH; perf events over every
process of a CPU or of a cgroup are refused, as they include processes outside the host.
"""
from __future__ import annotations

import errno
import struct

from ..trace.procstatus import status_sets
from .args import s32
from .outcome import Native, native_with_copy
from .registry import handles
from .sched import host_task, translated

# linux/capability.h
_CAPABILITY_VERSIONS = {0x19980330: 1, 0x20071026: 2, 0x20080522: 2}  # version -> u32 words
_CAPABILITY_VERSION_3 = 0x20080522
PERF_FLAG_PID_CGROUP = 0x4




@handles("capget")
def capget(ctx, header_ptr, data_ptr, *_):
    """capget(2), answered from the target's native capability sets."""
    version = struct.unpack("<I", ctx.mem.read(header_ptr, 4))[0]
    words = _CAPABILITY_VERSIONS.get(version)
    if words is None:
        # capget(2): the kernel writes its preferred version; probing with a NULL
        # data pointer is not an error
        ctx.mem.write(header_ptr, struct.pack("<I", _CAPABILITY_VERSION_3))
        return 0 if not data_ptr else -errno.EINVAL
    if not data_ptr:
        return 0
    pid = struct.unpack("<i", ctx.mem.read(header_ptr + 4, 4))[0]  # read last
    if pid < 0:
        return -errno.EINVAL
    task = ctx.task if pid in (0, ctx.proc.pid) else host_task(ctx, pid)
    if task is None:
        return -errno.ESRCH
    sets = status_sets(task.tgid_native, task.native, (b"CapEff", b"CapPrm", b"CapInh"))
    if len(sets) != 3:
        return -errno.ESRCH  # gone meanwhile
    effective, permitted, inheritable = sets[b"CapEff"], sets[b"CapPrm"], sets[b"CapInh"]
    # struct __user_cap_data_struct {effective, permitted, inheritable}: low words first
    data = b"".join(struct.pack("<III", effective >> (32 * i) & 0xFFFFFFFF,
                                permitted >> (32 * i) & 0xFFFFFFFF,
                                inheritable >> (32 * i) & 0xFFFFFFFF) for i in range(words))
    ctx.mem.write(data_ptr, data)
    return 0


@handles("capset")
def capset(ctx, header_ptr, *_):
    """capset(2) changes only the caller (pid 0 or its own pid; EPERM for any other)."""
    version, pid = struct.unpack("<Ii", ctx.mem.read(header_ptr, 8))
    if pid == 0 or version not in _CAPABILITY_VERSIONS:
        return Native()  # a bad version: the kernel writes its own into the header
    if pid != ctx.proc.pid:
        return -errno.EPERM
    # its own pid: natively 0, in a copy of the header
    return native_with_copy(ctx, "rdi", struct.pack("<Ii", version, 0))


@handles("perf_event_open")
def perf_event_open(ctx, _attr, pid, cpu, _group_fd, flags, *_):
    pid = s32(pid)
    if flags & PERF_FLAG_PID_CGROUP or pid == -1:
        scope = "a cgroup" if flags & PERF_FLAG_PID_CGROUP else f"CPU {s32(cpu)}"
        ctx.engine.refuse(ctx, f"perf_event_open: an event over every process of {scope} "
                               "would watch processes outside the host")
        return -errno.EACCES
    if pid < 0:
        return -errno.ESRCH
    return translated(ctx, "rsi", pid)
