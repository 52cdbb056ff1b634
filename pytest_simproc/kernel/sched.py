"""The host's init as a target of the scheduling calls, which the real kernel never sees.

The host's init (pid 1) has no native task when the test process is not its init:
a call that names it cannot run natively, so the model answers as the kernel answers
for an init that runs SCHED_OTHER at priority 0 with no robust futex list, owned by
root: its reads give those values, and a change is refused (EPERM: it is the host's,
not the program's) once the arguments passed the checks the kernel makes before it
looks at permissions (sched(7), sched_setscheduler(2), get_robust_list(2)).
"""
from __future__ import annotations

import errno

SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE = 0, 1, 2, 3, 5, 6
SCHED_RESET_ON_FORK = 0x40000000
_POLICIES = frozenset({SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE,
                       SCHED_DEADLINE})
PRIORITY_MAX = 99   # sched_get_priority_max(2) of SCHED_FIFO and SCHED_RR

INIT_POLICY, INIT_PRIORITY = SCHED_OTHER, 0
ROBUST_LIST_HEAD_SIZE = 24   # struct robust_list_head: next, futex_offset, pending


def setscheduler_error(policy: int, priority: int) -> int:
    """The error of a policy and sched_priority pair (sched_setscheduler(2) with a
    sched_param, so no deadline parameters), 0 if the kernel would go on to its
    permission check: a known policy, 1..99 for the real-time ones, 0 for the others.
    SCHED_DEADLINE needs a runtime a sched_param cannot give: EINVAL."""
    policy &= ~SCHED_RESET_ON_FORK
    if policy not in _POLICIES or policy == SCHED_DEADLINE:
        return errno.EINVAL
    if policy in (SCHED_FIFO, SCHED_RR):
        return 0 if 1 <= priority <= PRIORITY_MAX else errno.EINVAL
    return 0 if priority == 0 else errno.EINVAL


def may_read_init(uids: tuple[int, ...], gids: tuple[int, ...], cap_sys_ptrace: bool) -> bool:
    """ptrace(2)'s access mode check with real credentials (PTRACE_MODE_READ_REALCREDS,
    what get_robust_list(2) asks) against init, whose ids are all root's: the caller's
    real user and group ids must both be 0, or it has CAP_SYS_PTRACE."""
    return cap_sys_ptrace or (uids[0] == 0 and gids[0] == 0)
