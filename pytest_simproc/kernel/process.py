"""The record of one simulated process.

A ``Process`` is plain data: the ``ProcessTable`` owns every rule about how the fields
change, so that the invariants (parent/child links, group and session indices) are kept
in one place. Records are never deleted: once reaped they stay in the table's history
because reports need to say how every process ended and who reaped it.
"""

from __future__ import annotations

from typing import Optional, Union

from .states import Exited, Signaled, _RunningType

__all__ = ["Process", "RUNNING", "STOPPED", "ZOMBIE", "REAPED", "PROCESS_STATES"]

RUNNING = "running"
STOPPED = "stopped"
ZOMBIE = "zombie"
REAPED = "reaped"
PROCESS_STATES = (RUNNING, STOPPED, ZOMBIE, REAPED)


class Process:
    """One process as the simulated kernel sees it (``__slots__``: a host may hold
    thousands and they are read on every system call)."""

    __slots__ = (
        "pid",
        "ppid",
        "pgid",
        "sid",
        "argv",
        "exe",
        "state",
        "exit_status",
        "reaped_by",
        "start_time_ns",
        "end_time_ns",
        "children",
        "is_subreaper",
        "pdeathsig",
        "has_execed",
        "rlimits",
        "stop_signal",
        "stop_report_pending",
        "continue_report_pending",
        "creation_index",
        "ctty",
        "nice",
        "no_new_privs",
        "affinity",
    )

    def __init__(
        self,
        pid: int,
        ppid: int,
        pgid: int,
        sid: int,
        argv: list[str],
        exe: str,
        start_time_ns: int,
        rlimits: Optional[dict[int, tuple[int, int]]] = None,
        creation_index: int = 0,
    ) -> None:
        self.pid = pid
        self.ppid = ppid
        self.pgid = pgid
        self.sid = sid
        self.argv = list(argv)
        self.exe = exe
        self.state = RUNNING
        self.exit_status: Union[None, Exited, Signaled, _RunningType] = None
        self.reaped_by: Optional[int] = None
        self.start_time_ns = start_time_ns
        self.end_time_ns: Optional[int] = None
        # Live and zombie children, in creation/reparent order (what wait scans).
        self.children: list[int] = []
        self.is_subreaper = False
        self.pdeathsig = 0
        self.has_execed = False
        self.rlimits: dict[int, tuple[int, int]] = dict(rlimits or {})
        self.stop_signal = 0
        self.stop_report_pending = False
        self.continue_report_pending = False
        # Position in the table's creation order; sorts group/session listings.
        self.creation_index = creation_index
        # The controlling terminal (kernel.tty.Terminal), None without one.
        self.ctty = None
        # setpriority(2)'s value (kernel/nice.py)
        self.nice = 0
        # prctl(2) PR_SET_NO_NEW_PRIVS's bit; None: the machine's (syscalls/privs.py)
        self.no_new_privs = None
        # sched_setaffinity(2)'s mask (a frozenset of CPUs); None: every CPU of the host
        self.affinity = None

    @property
    def is_alive(self) -> bool:
        """Running or stopped: it can still be signalled and make system calls."""
        return self.state == RUNNING or self.state == STOPPED

    @property
    def is_zombie(self) -> bool:
        """Exited but not yet reaped by its parent."""
        return self.state == ZOMBIE

    @property
    def is_reaped(self) -> bool:
        """Gone from the table; kept only as history."""
        return self.state == REAPED

    @property
    def name(self) -> str:
        """Short label for reports, e.g. ``"sleep[1002]"``."""
        return f"{self.exe}[{self.pid}]"

    def __repr__(self) -> str:
        extra = ""
        if self.exit_status is not None:
            extra = f" {self.exit_status!r}"
        if self.reaped_by is not None:
            extra += f" reaped_by={self.reaped_by}"
        return (
            f"<Process {self.pid} {self.exe!r} {self.state} ppid={self.ppid} "
            f"pgid={self.pgid} sid={self.sid}{extra}>"
        )
