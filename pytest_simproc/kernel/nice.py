"""Nice values, the host's: what getpriority(2) and setpriority(2) read and set.

Run natively, a nice value reaches one native process, the machine's RLIMIT_NICE and
CAP_SYS_NICE judge it, and a process group or user names the machine's processes, not
the host's. Here every process of the host has its nice value in the model (init's
and a new program's 0, a fork's its parent's, kept across execve), a group or a user
names the host's processes, RLIMIT_NICE is the host's limit of the target, and
/proc/N/stat shows the value. Nice values do not change how the host schedules (one
thread at a time, in the seed's order). Kept per process: a thread's own value
(PRIO_PROCESS naming a tid) is its process's.
"""
from __future__ import annotations

import errno
from typing import Callable, Iterable, Optional

from .errors import KernelError
from .rlimits import RLIMIT_NICE

PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2
NICE_MIN, NICE_MAX = -20, 19
CAP_SYS_NICE = 23  # capabilities(7)

# (real uid, effective uid) of a process; None when not known (a zombie's)
Owner = Optional[tuple[int, int]]


def to_rlimit(nice: int) -> int:
    """The raw syscall's answer and RLIMIT_NICE's scale: 20 - nice, 1..40
    (getpriority(2) NOTES)."""
    return 20 - nice


def check_which(which: int) -> None:
    if not PRIO_PROCESS <= which <= PRIO_USER:
        raise KernelError(errno.EINVAL, f"getpriority/setpriority: which {which}")


def targets(table, caller, which: int, who: int, owner: Callable[[object], Owner],
            by_tid: Callable[[int], object] = lambda tid: None) -> list:
    """The processes ``which``/``who`` name for ``caller`` (getpriority(2)): a process
    (0: the caller; a tid names its process), a process group (0: the caller's), or
    every process of a user (0: the caller's real uid). Zombies count, as in the
    kernel, until they are reaped."""
    check_which(which)
    if which == PRIO_PROCESS:
        if who == 0:
            return [caller]
        proc = by_tid(who) or (table.get(who) if who > 0 else None)
        return [proc] if proc is not None else []
    if which == PRIO_PGRP:
        return table.group_members(caller.pgid if who == 0 else who) if who >= 0 else []
    uid = (owner(caller) or (0, 0))[0] if who == 0 else who & 0xFFFFFFFF
    return [p for p in _everyone(table) if (owner(p) or (None,))[0] == uid]


def _everyone(table) -> Iterable:
    yield table.init
    yield from table.live()
    yield from table.zombies()


def get_priority(procs: list) -> int:
    """getpriority(2)'s raw answer: 20 - the lowest nice value among ``procs``;
    ESRCH for none."""
    if not procs:
        raise KernelError(errno.ESRCH, "getpriority: no such process")
    return max(to_rlimit(p.nice) for p in procs)


def set_priority(procs: list, nice: int, caller_ids: tuple[int, int], privileged: bool,
                 owner: Callable[[object], Owner]) -> None:
    """setpriority(2) of every process in ``procs`` to ``nice`` (clamped to -20..19) by
    a caller with (real, effective) uids ``caller_ids`` and CAP_SYS_NICE or not
    (``privileged``). Each is judged alone; ESRCH for none, else the last refusal
    (EPERM: another user's; EACCES: lowering the value below what its RLIMIT_NICE
    allows), a success clearing only ESRCH, as the kernel does."""
    nice = min(max(nice, NICE_MIN), NICE_MAX)
    error = errno.ESRCH
    euid = caller_ids[1]
    for proc in procs:
        ids = owner(proc) or caller_ids
        if euid not in ids and not privileged:
            error = errno.EPERM
        elif nice < proc.nice and not (
                privileged or to_rlimit(nice) <= proc.rlimits.get(RLIMIT_NICE, (0, 0))[0]):
            error = errno.EACCES
        else:
            if error == errno.ESRCH:
                error = 0
            proc.nice = nice
    if error:
        raise KernelError(error, f"setpriority to {nice}")
