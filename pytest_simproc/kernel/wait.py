"""wait4(2) and waitid(2) against the simulated process table.

Both functions only look at the waiter's own ``children`` list (plus one dict lookup for
a pid selector), never at the whole table: a parent with few children must not pay for
a host with thousands of processes. They never block; returning None tells the caller
that matching children exist but have nothing to report, so it must block (or return 0
under WNOHANG).
"""

from __future__ import annotations

import errno
import signal as _signal
from dataclasses import dataclass
from typing import Callable, Optional

from .errors import KernelError
from .process import STOPPED, ZOMBIE, Process
from .states import Exited, Signaled, encode_wait_status
from .table import ProcessTable

__all__ = [
    "WaitEvent", "wait4", "waitid",
    "WNOHANG", "WUNTRACED", "WSTOPPED", "WEXITED", "WCONTINUED", "WNOWAIT",
    "__WNOTHREAD", "__WALL", "__WCLONE",
    "P_ALL", "P_PID", "P_PGID", "P_PIDFD",
    "CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED",
]

# <linux/wait.h>
WNOHANG = 0x00000001
WUNTRACED = 0x00000002
WSTOPPED = WUNTRACED
WEXITED = 0x00000004
WCONTINUED = 0x00000008
WNOWAIT = 0x01000000
__WNOTHREAD = 0x20000000
__WALL = 0x40000000
__WCLONE = 0x80000000

P_ALL = 0
P_PID = 1
P_PGID = 2
P_PIDFD = 3

# <asm-generic/siginfo.h> si_code values for SIGCHLD
CLD_EXITED = 1
CLD_KILLED = 2
CLD_DUMPED = 3
CLD_TRAPPED = 4
CLD_STOPPED = 5
CLD_CONTINUED = 6

_THREAD_BITS = __WNOTHREAD | __WALL | __WCLONE
# kernel/exit.c kernel_wait4 / kernel_waitid: any other option bit is EINVAL.
_WAIT4_ALLOWED = WNOHANG | WUNTRACED | WCONTINUED | _THREAD_BITS
_WAITID_ALLOWED = WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | _THREAD_BITS
_INT_MIN = -(2**31)


@dataclass(frozen=True)
class WaitEvent:
    """One state change reported to a waiter.

    ``status`` is the wait4 status word; ``si_code``/``si_status`` are what waitid
    (and the SIGCHLD siginfo) carry.
    """

    pid: int
    kind: str  # "exited" | "killed" | "dumped" | "stopped" | "continued"
    status: int
    si_code: int
    si_status: int
    uid: int = 0


def exit_event(proc: Process) -> WaitEvent:
    """The report for a zombie: exited, killed, or dumped (core)."""
    state = proc.exit_status
    if isinstance(state, Exited):
        return WaitEvent(proc.pid, "exited", encode_wait_status(state), CLD_EXITED, state.code)
    if isinstance(state, Signaled):
        sig = int(state.signal)
        if state.core:
            return WaitEvent(proc.pid, "dumped", encode_wait_status(state), CLD_DUMPED, sig)
        return WaitEvent(proc.pid, "killed", encode_wait_status(state), CLD_KILLED, sig)
    raise ValueError(f"zombie {proc.pid} has no exit status: {state!r}")


def stop_event(proc: Process) -> WaitEvent:
    """The report for a stopped child: status ``sig << 8 | 0x7f`` (WIFSTOPPED)."""
    sig = proc.stop_signal
    return WaitEvent(proc.pid, "stopped", (sig << 8) | 0x7F, CLD_STOPPED, sig)


def continue_event(proc: Process) -> WaitEvent:
    """The report for a continued child: status ``0xffff`` (WIFCONTINUED)."""
    return WaitEvent(proc.pid, "continued", 0xFFFF, CLD_CONTINUED, int(_signal.SIGCONT))


def _candidates(
    table: ProcessTable, waiter: Process, match: Callable[[Process], bool],
    only_pid: Optional[int],
) -> list[Process]:
    if only_pid is not None:
        # A pid selector is one dict lookup; it counts only if it is our child.
        child = table.get(only_pid)
        if child is None or child.ppid != waiter.pid:
            return []
        return [child]
    procs = [table.get(c) for c in waiter.children]
    return [p for p in procs if p is not None and match(p)]


def _collect(
    table: ProcessTable,
    waiter: Process,
    children: list[Process],
    want_exited: bool,
    want_stopped: bool,
    want_continued: bool,
    consume: bool,
) -> Optional[WaitEvent]:
    # A zombie counts only for a wait that takes exited children: without WEXITED,
    # children that are all zombies are no children at all (kernel/exit.c
    # wait_task_zombie returns before it clears notask_error)
    if not children or not want_exited and all(c.state == ZOMBIE for c in children):
        raise KernelError(errno.ECHILD, f"process {waiter.pid} has no matching child")
    # kernel/exit.c wait_consider_task: zombie first, then stopped, then continued.
    for child in children:
        if child.state == ZOMBIE:
            if not want_exited:
                continue
            event = exit_event(child)
            if consume:
                table.reap(child.pid, waiter.pid)
            return event
        if want_stopped and child.state == STOPPED and child.stop_report_pending:
            if consume:
                child.stop_report_pending = False
            return stop_event(child)
        if want_continued and child.continue_report_pending:
            if consume:
                child.continue_report_pending = False
            return continue_event(child)
    return None


def _waiter(table: ProcessTable, waiter_pid: int) -> Process:
    waiter = table.get(waiter_pid)
    if waiter is None or not waiter.is_alive:
        raise KernelError(errno.ESRCH, f"no such process {waiter_pid}")
    return waiter


def wait4(
    table: ProcessTable, waiter_pid: int, pid_selector: int, options: int
) -> Optional[WaitEvent]:
    """wait4(2): selector >0 that child, -1 any, 0 own group, <-1 group -pid.

    Exited children are always reported (WEXITED is implied); stopped ones only with
    WUNTRACED, continued ones only with WCONTINUED. The event is consumed (zombie
    reaped, report cleared). ECHILD when no child matches the selector at all.
    """
    if options & ~_WAIT4_ALLOWED:
        raise KernelError(errno.EINVAL, f"wait4: invalid options {options:#x}")
    if pid_selector == _INT_MIN:  # kernel_wait4: -INT_MIN is not defined
        raise KernelError(errno.ESRCH, "wait4: pid INT_MIN")
    waiter = _waiter(table, waiter_pid)
    if pid_selector > 0:
        # (_candidates' one look-up, inline: a reaper's wait for its child is the
        # common case, twice per child)
        child = table.get(pid_selector)
        if child is None or child.ppid != waiter.pid:
            children = []
        elif not options & (WUNTRACED | WCONTINUED):
            # _collect for one child and exits only, inline: reaped if a zombie
            if child.state != ZOMBIE:
                return None
            event = exit_event(child)
            table.reap(child.pid, waiter.pid)
            return event
        else:
            children = [child]
    else:
        match: Callable[[Process], bool] = lambda p: True
        if pid_selector == 0:
            pgid = waiter.pgid
            match = lambda p: p.pgid == pgid
        elif pid_selector < -1:
            pgid = -pid_selector
            match = lambda p: p.pgid == pgid
        children = _candidates(table, waiter, match, None)
    return _collect(
        table, waiter, children,
        want_exited=True,
        want_stopped=bool(options & WUNTRACED),
        want_continued=bool(options & WCONTINUED),
        consume=True,
    )


def waitid(
    table: ProcessTable, waiter_pid: int, idtype: int, id: int, options: int
) -> Optional[WaitEvent]:
    """waitid(2): idtype P_ALL, P_PID (id > 0) or P_PGID (id 0 = own group).

    At least one of WEXITED, WSTOPPED, WCONTINUED is required (EINVAL otherwise);
    WNOWAIT reports without consuming. P_PIDFD must be translated to P_PID first.
    """
    if options & ~_WAITID_ALLOWED:
        raise KernelError(errno.EINVAL, f"waitid: invalid options {options:#x}")
    if not options & (WEXITED | WSTOPPED | WCONTINUED):
        raise KernelError(errno.EINVAL, "waitid: need WEXITED, WSTOPPED or WCONTINUED")
    only_pid: Optional[int] = None
    match: Callable[[Process], bool] = lambda p: True
    if idtype == P_ALL:
        pass
    elif idtype == P_PID:
        if id <= 0:  # kernel_waitid: P_PID with id <= 0 is EINVAL
            raise KernelError(errno.EINVAL, f"waitid: P_PID with id {id}")
        only_pid = id
    elif idtype == P_PGID:
        if id < 0:
            raise KernelError(errno.EINVAL, f"waitid: P_PGID with id {id}")
    else:
        raise KernelError(errno.EINVAL, f"waitid: unsupported idtype {idtype}")
    waiter = _waiter(table, waiter_pid)
    if idtype == P_PGID:
        pgid = id or waiter.pgid
        match = lambda p: p.pgid == pgid
    children = _candidates(table, waiter, match, only_pid)
    return _collect(
        table, waiter, children,
        want_exited=bool(options & WEXITED),
        want_stopped=bool(options & WSTOPPED),
        want_continued=bool(options & WCONTINUED),
        consume=not options & WNOWAIT,
    )
