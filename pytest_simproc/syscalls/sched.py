"""Scheduling and priority calls that name a process: translated, and confined.

Run natively with a virtual pid, setpriority(2), sched_setaffinity(2) and friends
would reach whatever real process has that number. A pid of the host is translated to
its native pid, 0 (the caller) passes, anything else is ESRCH. I/O priorities of
process groups and users (IOPRIO_WHO_PGRP, IOPRIO_WHO_USER) are refused with EPERM: the
native process group and user are not the host's. The host's init, when no native
task stands for it, is answered by the model (kernel/sched.py). Nice values are the host's
(getpriority(2), setpriority(2): kernel/nice.py), by process, group or user.
"""
from __future__ import annotations

import errno
import os
import struct

from ..kernel import nice, sched
from ..kernel.errors import KernelError
from ..trace.procstatus import credentials, group_ids
from .args import s32, u32
from .outcome import Native
from .registry import handles

IOPRIO_WHO_PROCESS = 1


def host_task(ctx, pid: int):
    """The live task of the host with virtual pid or tid ``pid``, else None."""
    task = ctx.engine.tasks_by_tid.get(pid)
    return None if task is None or task.exiting else task


def translated(ctx, reg: str, pid: int):
    """Run natively with the native pid of host pid ``pid`` in ``reg``; 0 passes.
    The outsider (drop-in mode's test process, a native one under its own pid) is
    read (getpriority, ioprio_get, ...get*), not changed (EPERM: the test is not the
    programs' to change)."""
    if pid == 0:  # the caller itself: nothing to translate
        return Native()
    task = host_task(ctx, pid)
    if task is None and ctx.table.is_outsider(pid):
        return Native(regs={reg: pid}) if "get" in ctx.name else -errno.EPERM
    return -errno.ESRCH if task is None else Native(regs={reg: task.native})


@handles("sched_setscheduler", "sched_getscheduler",
         "sched_setparam", "sched_getparam", "sched_rr_get_interval", "get_robust_list")
def by_pid(ctx, pid, *args):
    pid = s32(pid)
    if pid < 0:
        return -errno.EINVAL
    if pid == INIT_PID and host_task(ctx, pid) is None:
        answer = _init_answers.get(ctx.name)
        if answer is not None:
            return answer(ctx, *args)
    return translated(ctx, "rdi", pid)


# ------------------------------------------------ the host's init (kernel/sched.py)
INIT_PID = 1
CAP_SYS_PTRACE = 19


def _read_priority(ctx, param: int) -> int:
    return struct.unpack("<i", ctx.mem.read(param, 4))[0]


def _init_setscheduler(ctx, policy, param, *_):
    # sched_setscheduler(2)'s order: the policy's sign, the param pointer, its read
    # (EFAULT), the target, the values, the permission
    if s32(policy) < 0 or not param:
        return -errno.EINVAL
    error = sched.setscheduler_error(s32(policy), _read_priority(ctx, param))
    return -(error or errno.EPERM)


def _init_setparam(ctx, param, *_):
    if not param:
        return -errno.EINVAL
    error = sched.setscheduler_error(sched.INIT_POLICY, _read_priority(ctx, param))
    return -(error or errno.EPERM)


def _init_setattr(ctx, attr, flags, *_):
    if not attr or u32(flags):
        return -errno.EINVAL
    ctx.mem.read(attr, 4)  # its size first (EFAULT)
    return -errno.EPERM


def _init_getparam(ctx, param, *_):
    if not param:
        return -errno.EINVAL
    ctx.mem.write(param, struct.pack("<i", sched.INIT_PRIORITY))
    return 0


def _init_get_robust_list(ctx, head_ptr, len_ptr, *_):
    creds = credentials(ctx.task.tgid_native, ctx.task.native)
    gids = group_ids(ctx.task.tgid_native, ctx.task.native)
    if creds is None or gids is None:
        return -errno.ESRCH
    if not sched.may_read_init(creds[0], gids, bool(creds[1] >> CAP_SYS_PTRACE & 1)):
        return -errno.EPERM
    ctx.mem.write(len_ptr, struct.pack("<Q", sched.ROBUST_LIST_HEAD_SIZE))
    ctx.mem.write(head_ptr, struct.pack("<Q", 0))   # it never set one
    return 0


_init_answers = {
    "sched_setscheduler": _init_setscheduler,
    "sched_setparam": _init_setparam,
    "sched_setattr": _init_setattr,
    "sched_getscheduler": lambda ctx, *_: sched.INIT_POLICY,
    "sched_getparam": _init_getparam,
    "get_robust_list": _init_get_robust_list,
}


@handles("kcmp")
def kcmp(ctx, pid1, pid2, *_):
    """kcmp(2) compares what two processes of the host hold: natively, on their
    native pids (each looked up, ESRCH for one the host does not have)."""
    regs = {}
    for reg, pid in (("rdi", s32(pid1)), ("rsi", s32(pid2))):
        task = host_task(ctx, pid) if pid > 0 else None
        if task is None:
            return -errno.ESRCH
        regs[reg] = task.native
    return Native(regs=regs)


@handles("sched_setattr")
def sched_setattr(ctx, pid, attr, flags, *_):
    """Natively, on the native task. The host pins each program to one CPU (one runs
    at a time; the tracer's stops cost less there), but the kernel admits
    SCHED_DEADLINE only for a task whose affinity spans its root domain
    (sched_setattr(2): EPERM): a program that did not narrow its own affinity
    (sched_setaffinity(2), which the host records) is unpinned for the call, and stays
    so if it succeeds (a deadline task's affinity cannot shrink again)."""
    outcome = by_pid(ctx, pid, attr, flags)
    if not isinstance(outcome, Native) or not attr:
        return outcome
    target = host_task(ctx, s32(pid)) if s32(pid) else ctx.task
    try:
        policy = struct.unpack("<I", ctx.mem.read(attr + _ATTR_POLICY, 4))[0]
    except OSError:
        return outcome  # EFAULT: the kernel's
    if policy != sched.SCHED_DEADLINE or target.proc.affinity is not None:
        return outcome
    try:
        pinned = os.sched_getaffinity(target.native)
        os.sched_setaffinity(target.native, ctx.engine.cpus)
    except OSError:
        return outcome

    def repin_unless_admitted(c, result):
        if result != 0:
            try:
                os.sched_setaffinity(target.native, pinned)
            except OSError:
                pass
        return result

    outcome.on_exit = repin_unless_admitted
    return outcome


# struct sched_attr (sched_getattr(2)): the policy at 4, sched_nice at 16; the policies
# whose tasks have a nice value (sched(7)): SCHED_OTHER, SCHED_BATCH, SCHED_IDLE
_ATTR_POLICY, _ATTR_NICE = 4, 16
_NORMAL_POLICIES = (0, 3, 5)


@handles("sched_getattr")
def sched_getattr(ctx, pid, attr, *_):
    """Natively, on the native task; its sched_nice is the host's value."""
    outcome = by_pid(ctx, pid)
    if not isinstance(outcome, Native):
        return outcome
    target = host_task(ctx, s32(pid)) if s32(pid) else ctx.task

    def hosts_nice(c, result):
        if result == 0 and struct.unpack("<I", c.mem.read(attr + _ATTR_POLICY, 4))[0] \
                in _NORMAL_POLICIES:
            c.mem.write(attr + _ATTR_NICE, struct.pack("<i", target.proc.nice))
        return result

    outcome.on_exit = hosts_nice
    return outcome


_MASK_BYTES = 128  # the kernel's cpumask: 1,024 CPUs at most here (CONFIG_NR_CPUS)


@handles("sched_setaffinity")
def sched_setaffinity(ctx, pid, size, mask_ptr, *_):
    """Natively on the native task, for the kernel's checks (EFAULT, EINVAL when no
    CPU it may use is left, EPERM); the mask it set is then the host's for the process
    too (per process here, per thread in the kernel), which sched_getaffinity(2) and
    getcpu(2) answer from (misc.py)."""
    outcome = by_pid(ctx, pid)
    if not isinstance(outcome, Native):
        return outcome
    target = host_task(ctx, s32(pid)) if s32(pid) else ctx.task

    def record(c, result):
        if result == 0:
            raw = c.mem.read(mask_ptr, min(size & 0xFFFFFFFF, _MASK_BYTES))
            bits = int.from_bytes(raw, "little")
            cpus = frozenset(cpu for cpu in c.engine.cpus if bits >> cpu & 1)
            target.proc.affinity = None if cpus == frozenset(c.engine.cpus) else cpus or None
        return result

    outcome.on_exit = record
    return outcome


def owner(engine, proc):
    """(real, effective) uids of host process ``proc``: init's are root's, a live
    process's its native main thread's; None for a zombie's."""
    if proc.pid == 1:
        return 0, 0
    native = engine.native_pid_of(proc.pid)
    found = credentials(native, native) if native is not None else None
    return found[0][:2] if found else None


def _targets(ctx, which: int, who: int) -> list:
    def by_tid(tid):
        task = host_task(ctx, tid)
        return task.proc if task is not None else None

    return nice.targets(ctx.table, ctx.proc, which, who,
                        lambda p: owner(ctx.engine, p), by_tid)


@handles("getpriority")
def getpriority(ctx, which, who, *_):
    try:
        return nice.get_priority(_targets(ctx, s32(which), s32(who)))
    except KernelError as exc:
        return -exc.errno


@handles("setpriority")
def setpriority(ctx, which, who, value, *_):
    creds = credentials(ctx.task.tgid_native, ctx.task.native)
    if creds is None:
        return -errno.ESRCH
    try:
        nice.set_priority(_targets(ctx, s32(which), s32(who)), s32(value), creds[0][:2],
                          bool(creds[1] >> nice.CAP_SYS_NICE & 1),
                          lambda p: owner(ctx.engine, p))
    except KernelError as exc:
        return -exc.errno
    return 0


@handles("ioprio_set", "ioprio_get")
def ioprio(ctx, which, who, *_):
    which, who = s32(which), s32(who)
    if which != IOPRIO_WHO_PROCESS:
        return -errno.EPERM if which in (2, 3) else -errno.EINVAL
    return translated(ctx, "rsi", who)
