"""Resource limits and usage, answered from the simulated kernel.

Every process has its own limit table (kernel/rlimits.py defaults, overridden per host
and per spawn), inherited by fork and kept across exec. The simulated user is not
privileged: raising a hard limit fails with EPERM (setrlimit(2)). RLIMIT_NOFILE and
RLIMIT_FSIZE are also applied to the native process, so that open(2) really fails with
EMFILE and a write beyond the file size limit really stops there (EFBIG, SIGXFSZ);
RLIMIT_NPROC and RLIMIT_CPU are enforced by the host (fork, the CPU model). Resource usage: CPU times
from the deterministic CPU model, ru_maxrss from the native processes
(kernel/rusage.py); everything else in struct rusage is zero.
"""
from __future__ import annotations

import errno
import struct

from ..kernel.rusage import rusage_bytes
from ..kernel.rlimits import NATIVELY_ENFORCED, RLIM_NLIMITS, check_setrlimit
from ..trace.procstatus import vm_hwm_kb
from .args import Invalid, einval_on_invalid, s32, u32
from .outcome import Native
from .procfs import at_path, path_first
from .registry import handles

RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1


def _resource(value) -> int:
    resource = u32(value)
    if resource >= RLIM_NLIMITS:
        raise Invalid()
    return resource


def _limits_of(proc, resource) -> tuple[int, int]:
    return proc.rlimits[resource]


def _read_limits(ctx, ptr) -> tuple[int, int]:
    return struct.unpack("<QQ", ctx.mem.read(ptr, 16))


def _set_limit(target, resource, new):
    check_setrlimit(_limits_of(target, resource), new, privileged=False)
    target.rlimits[resource] = new


@handles("getrlimit")
@einval_on_invalid
def getrlimit(ctx, resource, ptr, *_):
    ctx.mem.write(ptr, struct.pack("<QQ", *_limits_of(ctx.proc, _resource(resource))))
    return 0


@handles("setrlimit")
@einval_on_invalid
def setrlimit(ctx, resource, ptr, *_):
    new = _read_limits(ctx, ptr)  # EFAULT before EINVAL, as the kernel reads first
    resource = _resource(resource)
    _set_limit(ctx.proc, resource, new)
    if resource in NATIVELY_ENFORCED:
        return Native()  # the real kernel enforces it too (EMFILE, EFBIG)
    return 0


@handles("prlimit64")
@einval_on_invalid
def prlimit64(ctx, pid, resource, new_ptr, old_ptr, *_):
    # prlimit(2) in the kernel's order: the new limits read (EFAULT), the process
    # (ESRCH; a zombie has limits too), its owner (EPERM), the resource (EINVAL), the
    # change, and only then the old limits written (EFAULT, the change made)
    new = _read_limits(ctx, new_ptr) if new_ptr else None
    pid = s32(pid)
    target = ctx.proc if pid in (0, ctx.proc.pid) else ctx.table.get(pid)
    if target is None and pid != 1:
        return -errno.ESRCH
    if pid == 1:
        return -errno.EPERM  # init always exists and is not the simulated user's
    resource = _resource(resource)
    old = _limits_of(target, resource)
    if new is not None:
        _set_limit(target, resource, new)
    if old_ptr:
        ctx.mem.write(old_ptr, struct.pack("<QQ", *old))
    if new is not None and resource in NATIVELY_ENFORCED and target.state != "zombie":
        return Native(regs={"rdi": ctx.engine.native_pid_of(target.pid), "r10": 0})
    return 0


def _keep_maxrss(ctx) -> None:
    """execve(2) replaces the memory but not ru_maxrss: the old program's high-water
    mark is kept (getrusage(2)); read now, before the native exec drops it."""
    info = ctx.engine.info[ctx.proc.pid]
    info.maxrss_kb = max(info.maxrss_kb, vm_hwm_kb(ctx.task.tgid_native))


@handles("execve")
def execve(ctx, *args):
    _keep_maxrss(ctx)
    return path_first(ctx, *args)   # a /proc path is the host's


@handles("execveat")
def execveat(ctx, *args):
    _keep_maxrss(ctx)
    return at_path(ctx, *args)


@handles("getrusage")
def getrusage(ctx, who, ptr, *_):
    who = s32(who)
    if who in (RUSAGE_SELF, RUSAGE_THREAD):
        usage = ctx.engine.own_usage(ctx.proc.pid)
    elif who == RUSAGE_CHILDREN:
        usage = ctx.engine.children_usage(ctx.proc.pid)
    else:
        return -errno.EINVAL
    ctx.mem.write(ptr, rusage_bytes(usage))
    return 0
