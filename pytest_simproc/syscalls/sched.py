"""Scheduling and priority calls that name a process: translated, and confined.

Run natively with a virtual pid, setpriority(2), sched_setaffinity(2) and friends
would reach whatever real process has that number. A pid of the host is translated to
its native pid, 0 (the caller) passes, anything else is ESRCH. Process groups and users
(PRIO_PGRP, PRIO_USER, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER) are refused with EPERM: the
native process group and user are not the host's.
"""
from __future__ import annotations

import errno

from .args import s32
from .outcome import Native
from .registry import handles

PRIO_PROCESS = 0
IOPRIO_WHO_PROCESS = 1


def host_task(ctx, pid: int):
    """The live task of the host with virtual pid or tid ``pid``, else None."""
    task = ctx.engine.tasks_by_tid.get(pid)
    return None if task is None or task.exiting else task


def translated(ctx, reg: str, pid: int):
    """Run natively with the native pid of host pid ``pid`` in ``reg``; 0 passes.
    Init that is the test process (drop-in mode, procview.init_native) is read
    (getpriority, ioprio_get, ...get*), not changed (EPERM: the test is not the
    programs' to change)."""
    if pid == 0:  # the caller itself: nothing to translate
        return Native()
    task = host_task(ctx, pid)
    if task is None and pid == 1 and (native := ctx.engine.procview.init_native):
        return Native(regs={reg: native}) if "get" in ctx.name else -errno.EPERM
    return -errno.ESRCH if task is None else Native(regs={reg: task.native})


@handles("sched_setaffinity", "sched_setscheduler", "sched_getscheduler",
         "sched_setparam", "sched_getparam", "sched_rr_get_interval", "sched_setattr",
         "sched_getattr", "get_robust_list")
def by_pid(ctx, pid, *_):
    pid = s32(pid)
    if pid < 0:
        return -errno.EINVAL
    return translated(ctx, "rdi", pid)


@handles("getpriority", "setpriority")
def priority(ctx, which, who, *_):
    which, who = s32(which), s32(who)
    if which != PRIO_PROCESS:
        return -errno.EPERM if which in (1, 2) else -errno.EINVAL
    return translated(ctx, "rsi", who)


@handles("ioprio_set", "ioprio_get")
def ioprio(ctx, which, who, *_):
    which, who = s32(which), s32(who)
    if which != IOPRIO_WHO_PROCESS:
        return -errno.EPERM if which in (2, 3) else -errno.EINVAL
    return translated(ctx, "rsi", who)
