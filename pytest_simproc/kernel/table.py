"""The process table: pids, parent/child links, process groups, sessions, exit and reap.

This is where the lifecycle rules of Linux live (fork, exit, reparenting to a subreaper
or init, reaping, setpgid/setsid). Everything is indexed by dict so that each operation
costs O(1) or O(number of children/members involved), never O(all processes): a host may
run thousands of processes and these methods run on every traced system call.

Indices kept alongside the records:

- ``_procs``: pid -> live or zombie ``Process`` (init included). Insertion order equals
  creation order, because a record is inserted once and removed when reaped.
- ``_groups`` / ``_sessions``: pgid / sid -> {pid: Process} of live and zombie members.
  A zombie stays in its group and session until reaped, as in Linux, so its ids stay
  "in use" for pid allocation and for setpgid/setsid checks.
- ``_history``: every record ever created except init (reports need reaped ones too);
  ``_latest``: pid -> most recent record with that pid.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Union

from .errors import KernelError
from .process import REAPED, RUNNING, STOPPED, ZOMBIE, Process
from .rlimits import DEFAULT_RLIMITS, RLIM_INFINITY, RLIMIT_NPROC, normalize_rlimits
from .signals import NSIG
from .states import Exited, Signaled

__all__ = ["ProcessTable", "ExitResult", "INIT_PID"]

INIT_PID = 1


@dataclass
class ExitResult:
    """What ``ProcessTable.exit`` changed, so the caller can deliver the signals.

    ``parent_pid`` is the parent to send SIGCHLD to. ``orphaned_pgrps`` (an addition to
    the documented fields) lists process groups that this exit orphaned while they had
    stopped members: POSIX/Linux send each of them SIGHUP then SIGCONT. Zombie children
    handed to a subreaper stay zombies; the subreaper should get SIGCHLD for them (see
    ``reparented`` / ``new_parent_of``).
    """

    process: Process
    parent_pid: int
    reparented: list[int] = field(default_factory=list)
    new_parent_of: dict[int, int] = field(default_factory=dict)
    pdeath_signals: list[tuple[int, int]] = field(default_factory=list)
    reaped_by_init: list[int] = field(default_factory=list)
    orphaned_pgrps: list[int] = field(default_factory=list)


def _basename(exe: str) -> str:
    return os.path.basename(exe) if exe else exe


class ProcessTable:
    """All processes of one simulated host, with init (pid 1) at the root."""

    def __init__(
        self,
        first_pid: int = 1000,
        pid_max: int = 4194304,
        rlimits: "Optional[Mapping[object, object]]" = None,
        *,
        now_ns: int = 0,
    ) -> None:
        if not 2 <= first_pid < pid_max:
            raise ValueError(
                f"need 2 <= first_pid < pid_max, got first_pid={first_pid} pid_max={pid_max}"
            )
        self.first_pid = first_pid
        self.pid_max = pid_max
        self.default_rlimits: dict[int, tuple[int, int]] = dict(DEFAULT_RLIMITS)
        self.default_rlimits.update(normalize_rlimits(rlimits))
        self._next_pid = first_pid
        self._creation_counter = 0
        self._procs: dict[int, Process] = {}
        self._latest: dict[int, Process] = {}
        self._history: list[Process] = []
        self._groups: dict[int, dict[int, Process]] = {}
        self._sessions: dict[int, dict[int, Process]] = {}
        # Ids handed out for threads (one counter shared with processes, as in Linux).
        self._reserved: set[int] = set()
        # a program opened /proc/sys/kernel/ns_last_pid or a cgroup's pid list: writes
        # are looked at (syscalls/process.py pid_file_write)
        self.pid_files_open = False
        from .tty import Terminals  # tty needs delivery, which needs this module
        self.terminals = Terminals()
        init = Process(INIT_PID, 0, INIT_PID, INIT_PID, ["init"], "init", now_ns,
                       rlimits=self.default_rlimits)
        self._init = init
        self._add(init, record_history=False)
        # a process of the host that the host does not run: drop-in mode's test
        # process (add_outsider), the parent of what spawn starts; else None
        self.outsider: Optional[Process] = None
        # init keeps its zombies until reaped (``reap``), as a real pid 1 does until
        # it waits: drop-in mode's test when it is init; else the model's init reaps
        # each at once
        self.init_waits = False

    # ------------------------------------------------------------------ lookups

    @property
    def init(self) -> Process:
        """The host's init (pid 1): never exits, reaps every orphan at once (unless
        ``init_waits``)."""
        return self._init

    def is_outsider(self, pid: int) -> bool:
        """``pid`` is the outsider's (add_outsider)."""
        return self.outsider is not None and pid == self.outsider.pid

    def get(self, pid: int) -> Optional[Process]:
        """The live or zombie process with this pid, else None."""
        return self._procs.get(pid)

    def lookup_any(self, pid: int) -> Optional[Process]:
        """Like ``get`` but also finds reaped records (the newest one for a reused pid)."""
        return self._latest.get(pid)

    def processes(self) -> list[Process]:
        """Every record ever created except init, in creation order (reaped included)."""
        return list(self._history)

    def live(self) -> list[Process]:
        """Running or stopped processes other than init and the outsider, in creation
        order."""
        outsider = self.outsider
        return [p for p in self._procs.values()
                if p.pid != INIT_PID and p.is_alive and p is not outsider]

    def zombies(self) -> list[Process]:
        """Exited, not yet reaped processes, in creation order."""
        return [p for p in self._procs.values() if p.state == ZOMBIE]

    def children_of(self, pid: int) -> list[Process]:
        """Live and zombie children of ``pid`` in the order wait(2) considers them."""
        proc = self._require(pid)
        return [self._procs[c] for c in proc.children]

    def group_members(self, pgid: int) -> list[Process]:
        """Live and zombie members of process group ``pgid``, in creation order."""
        members = self._groups.get(pgid)
        if not members:
            return []
        return sorted(members.values(), key=lambda p: p.creation_index)

    def session_members(self, sid: int) -> list[Process]:
        """Live and zombie members of session ``sid``, in creation order."""
        members = self._sessions.get(sid)
        if not members:
            return []
        return sorted(members.values(), key=lambda p: p.creation_index)

    def group_exists(self, pgid: int) -> bool:
        """True while some live or zombie process has this pgid."""
        return pgid in self._groups

    def session_exists(self, sid: int) -> bool:
        """True while some live or zombie process has this sid."""
        return sid in self._sessions

    def process_count(self) -> int:
        """Live and zombie processes plus reserved thread ids, init and the outsider
        excluded (what RLIMIT_NPROC counts: getrlimit(2) says it counts threads)."""
        return (len(self._procs) - 1 - (self.outsider is not None)
                + len(self._reserved))

    def __len__(self) -> int:
        return len(self._procs)

    def __contains__(self, pid: object) -> bool:
        return pid in self._procs

    # ------------------------------------------------------------ pid allocation

    def allocate_pid(self) -> int:
        """Next free id from the shared counter; wraps from pid_max-1 to first_pid.

        Amortized O(1): the counter only moves forward, so each busy id is skipped once
        per lap. Raises ``KernelError(EAGAIN)`` when every id in range is in use
        (fork(2): EAGAIN).
        """
        pid = self._next_pid
        procs, groups, sessions, reserved = (self._procs, self._groups, self._sessions,
                                             self._reserved)
        for _ in range(self.pid_max - self.first_pid):
            following = pid + 1 if pid + 1 < self.pid_max else self.first_pid
            # Linux keeps a struct pid alive while any task uses it as pid, pgid or
            # sid, so a group or session id is never handed out again while in use.
            if not (pid in procs or pid in groups or pid in sessions or pid in reserved):
                self._next_pid = following
                return pid
            pid = following
        raise KernelError(
            errno.EAGAIN, f"no free pid in {self.first_pid}..{self.pid_max - 1}"
        )

    @property
    def last_pid(self) -> int:
        """The id handed out last, as /proc/sys/kernel/ns_last_pid reads it
        (pid_namespaces(7))."""
        return self._next_pid - 1

    def set_last_pid(self, pid: int) -> None:
        """ns_last_pid written (0 <= ``pid`` <= pid_max): the next id is searched for
        from ``pid`` + 1, wrapping to first_pid past pid_max - 1."""
        if not 0 <= pid <= self.pid_max:
            raise KernelError(errno.EINVAL, f"ns_last_pid {pid} out of 0..{self.pid_max}")
        self._next_pid = pid + 1 if pid + 1 < self.pid_max else self.first_pid

    def allocate_tid(self) -> int:
        """Allocate an id for a thread and keep it reserved until ``release_tid``."""
        tid = self.allocate_pid()
        self._reserved.add(tid)
        return tid

    def reserve(self, ids) -> None:
        """Keep ``ids`` from being handed out, as thread ids are (the drop-in test's
        unreaped children of earlier hosts, whose numbers are still taken)."""
        self._reserved.update(ids)

    def release_tid(self, tid: int) -> None:
        """Return a thread id obtained from ``allocate_tid``."""
        self._reserved.discard(tid)

    # ----------------------------------------------------------------- indices

    def _add(self, proc: Process, record_history: bool = True) -> None:
        self._creation_counter += 1
        proc.creation_index = self._creation_counter
        self._procs[proc.pid] = proc
        self._latest[proc.pid] = proc
        if record_history:
            self._history.append(proc)
        self._groups.setdefault(proc.pgid, {})[proc.pid] = proc
        self._sessions.setdefault(proc.sid, {})[proc.pid] = proc

    @staticmethod
    def _leave(index: dict[int, dict[int, Process]], key: int, pid: int) -> None:
        members = index[key]
        del members[pid]
        if not members:
            del index[key]

    def _set_pgid(self, proc: Process, pgid: int) -> None:
        if proc.pgid == pgid:
            return
        self._leave(self._groups, proc.pgid, proc.pid)
        proc.pgid = pgid
        self._groups.setdefault(pgid, {})[proc.pid] = proc

    def _set_sid(self, proc: Process, sid: int) -> None:
        if proc.sid == sid:
            return
        self._leave(self._sessions, proc.sid, proc.pid)
        proc.sid = sid
        self._sessions.setdefault(sid, {})[proc.pid] = proc

    def _require(self, pid: int) -> Process:
        proc = self._procs.get(pid)
        if proc is None:
            raise KernelError(errno.ESRCH, f"no such process {pid}")
        return proc

    def _require_alive(self, pid: int) -> Process:
        proc = self._require(pid)
        if not proc.is_alive:
            raise KernelError(errno.ESRCH, f"process {pid} is not alive ({proc.state})")
        return proc

    # --------------------------------------------------------------- lifecycle

    def add_outsider(self, pid: int, argv: "Iterable[str]", exe: str,
                     now_ns: int) -> Process:
        """A process of the host that the host does not run, under its own (real) pid:
        drop-in mode's test process. It is a child of init in init's group and
        session (started by init without setsid), the parent of every program
        ``spawn`` starts from now on, whose zombies stay until it reaps them
        (``reap``: its wait is its own, the drop-in session's); like init it takes no
        signal through the model. Its pid is never handed out (allocate_pid skips it
        as a live pid); it never exits."""
        if self.outsider is not None or pid in self._procs or not 1 < pid < self.pid_max:
            raise KernelError(errno.EINVAL, f"pid {pid} cannot be the host's outsider")
        proc = Process(pid, INIT_PID, INIT_PID, INIT_PID, list(argv), _basename(exe),
                       now_ns, rlimits=self.default_rlimits)
        self._add(proc, record_history=False)
        self._init.children.append(pid)
        self.outsider = proc
        return proc

    @property
    def spawner(self) -> Process:
        """The parent of what ``spawn`` starts: the outsider if any, else init."""
        return self.outsider or self._init

    def spawn(
        self,
        argv: "Iterable[str]",
        exe: str,
        now_ns: int,
        rlimits: "Optional[Mapping[object, object]]" = None,
    ) -> Process:
        """A program started by the host: child of init (ppid = pgid = sid = 1), or
        of the outsider (add_outsider), in its group and session.

        ``rlimits`` (if given) override the table defaults for this process only.
        """
        limits = dict(self.default_rlimits)
        if rlimits:
            limits.update(normalize_rlimits(rlimits))
        pid = self.allocate_pid()
        parent = self.spawner
        proc = Process(pid, parent.pid, parent.pgid, parent.sid, list(argv),
                       _basename(exe), now_ns, rlimits=limits)
        self._add(proc)
        parent.children.append(pid)
        return proc

    def forget_spawn(self, pid: int) -> None:
        """Undo ``spawn`` for a program that could not be started: no trace is left
        (its pid is not handed out again until the counter wraps)."""
        proc = self._require(pid)
        parent = self.spawner
        if proc.ppid != parent.pid or proc.children:
            raise KernelError(errno.EINVAL, f"process {pid} is not a fresh spawn")
        del self._procs[pid]
        self._latest.pop(pid, None)
        self._history.remove(proc)
        self._leave(self._groups, proc.pgid, pid)
        self._leave(self._sessions, proc.sid, pid)
        parent.children.remove(pid)

    def fork(self, parent_pid: int, now_ns: int, *, clone_parent: bool = False) -> Process:
        """fork(2): a copy of the parent in the same group and session.

        prctl(2): PR_SET_PDEATHSIG "is cleared for the child of a fork"; the child
        subreaper attribute is not inherited either. fork(2): EAGAIN once the caller's
        RLIMIT_NPROC is reached (init, the host itself, is exempt). ``clone_parent``
        (clone(2) CLONE_PARENT): still a copy of the caller, but the caller's parent
        is the child's; init may not ask for it (EINVAL).
        """
        caller = parent = self._procs.get(parent_pid)
        if caller is None or not caller.is_alive:
            caller = self._require_alive(parent_pid)   # raises ESRCH
        if clone_parent:
            if caller.pid == INIT_PID:
                raise KernelError(errno.EINVAL, "CLONE_PARENT from init")
            parent = self._procs.get(caller.ppid, self._init)
        if caller.pid != INIT_PID:
            soft = caller.rlimits.get(RLIMIT_NPROC, (RLIM_INFINITY, RLIM_INFINITY))[0]
            if soft < RLIM_INFINITY and self.process_count() >= soft:
                raise KernelError(
                    errno.EAGAIN, f"RLIMIT_NPROC ({soft}) reached by process {caller.pid}"
                )
        pid = self.allocate_pid()
        child = Process(pid, parent.pid, caller.pgid, caller.sid, caller.argv, caller.exe,
                        now_ns, rlimits=caller.rlimits)
        child.ctty = caller.ctty
        child.nice = caller.nice  # sched(7): a fork's child inherits the nice value
        child.no_new_privs = caller.no_new_privs  # prctl(2): inherited, kept by execve
        child.affinity = caller.affinity  # sched_setaffinity(2): inherited, kept by execve
        self._add(child)
        parent.children.append(pid)
        return child

    def exec(self, pid: int, argv: "Iterable[str]", exe: str) -> None:
        """execve(2) succeeded: new argv/exe; setpgid by the parent now fails (EACCES)."""
        proc = self._require_alive(pid)
        proc.argv = list(argv)
        proc.exe = _basename(exe)
        proc.has_execed = True

    def _find_reaper(self, dying: Process) -> Process:
        # prctl(2) PR_SET_CHILD_SUBREAPER: orphans go to the nearest living ancestor
        # marked as subreaper, starting from the dying process's parent; else to init.
        pid = dying.ppid
        while pid and pid != INIT_PID:
            ancestor = self._procs.get(pid)
            if ancestor is None:
                break
            if ancestor.is_subreaper and ancestor.is_alive:
                return ancestor
            pid = ancestor.ppid
        return self._init

    def _will_become_orphaned(self, pgid: int, ignored: Optional[Process]) -> bool:
        # credentials(7)/setpgid(2) NOTES: a group is orphaned when no member has a
        # parent in a different group of the same session. As in Linux, exiting members
        # and members whose parent is init do not count as such a link.
        for member in self._groups.get(pgid, {}).values():
            if member is ignored or member.state == ZOMBIE or member.ppid == INIT_PID:
                continue
            parent = self._procs.get(member.ppid)
            if parent is not None and parent.pgid != pgid and parent.sid == member.sid:
                return False
        return True

    def _has_stopped_jobs(self, pgid: int) -> bool:
        return any(m.state == STOPPED for m in self._groups.get(pgid, {}).values())

    def _orphaned_by(self, proc: Process, parent: Process, ignored: Optional[Process]) -> bool:
        return (
            parent.pgid != proc.pgid
            and parent.sid == proc.sid
            and self._will_become_orphaned(proc.pgid, ignored)
            and self._has_stopped_jobs(proc.pgid)
        )

    def exit(
        self,
        pid: int,
        status: "Union[Exited, Signaled]",
        now_ns: int,
        *,
        parent_autoreaps: bool = False,
    ) -> ExitResult:
        """The process ends with ``status``: it becomes a zombie, its children are
        reparented, and init (or an auto-reaping parent) reaps what it must.

        wait(2) NOTES: if the parent ignores SIGCHLD or set SA_NOCLDWAIT
        (``parent_autoreaps``) the child is reaped at once.
        """
        if pid == INIT_PID or self.is_outsider(pid):
            raise KernelError(errno.EPERM, f"{pid} (init or the outsider) cannot exit")
        if not isinstance(status, (Exited, Signaled)):
            raise ValueError(f"exit status must be Exited or Signaled, not {status!r}")
        dying = self._require_alive(pid)
        dying.state = ZOMBIE
        dying.exit_status = status
        dying.end_time_ns = now_ns
        dying.stop_report_pending = False
        dying.continue_report_pending = False
        result = ExitResult(process=dying, parent_pid=dying.ppid)

        reaper = self._find_reaper(dying)
        orphaned: dict[int, None] = {}
        children, dying.children = dying.children, []
        moved: list[Process] = []
        for child_pid in children:
            child = self._procs[child_pid]
            child.ppid = reaper.pid
            result.reparented.append(child_pid)
            result.new_parent_of[child_pid] = reaper.pid
            if child.is_alive and child.pdeathsig:
                # prctl(2) PR_SET_PDEATHSIG: signalled when the parent terminates.
                result.pdeath_signals.append((child_pid, child.pdeathsig))
            if child.state == ZOMBIE and reaper.pid == INIT_PID and not self.init_waits:
                self._finish_reap(child, INIT_PID, unlink_parent=False)
                result.reaped_by_init.append(child_pid)
            else:
                reaper.children.append(child_pid)
                moved.append(child)
        # exit(3)/setpgid(2): a child's group orphaned by this exit, with stopped
        # members, gets SIGHUP + SIGCONT.
        for child in moved:
            if child.pgid not in orphaned and self._orphaned_by(child, dying, None):
                orphaned[child.pgid] = None
        parent = self._procs[dying.ppid]
        if dying.pgid not in orphaned and self._orphaned_by(dying, parent, dying):
            orphaned[dying.pgid] = None
        result.orphaned_pgrps = list(orphaned)

        if parent.pid == INIT_PID and not self.init_waits:
            self._finish_reap(dying, INIT_PID)
            result.reaped_by_init.append(pid)
        elif parent_autoreaps:
            self._finish_reap(dying, parent.pid)
        return result

    def _finish_reap(self, proc: Process, by_pid: int, unlink_parent: bool = True) -> None:
        proc.state = REAPED
        proc.reaped_by = by_pid
        proc.stop_report_pending = False
        proc.continue_report_pending = False
        del self._procs[proc.pid]
        self._leave(self._groups, proc.pgid, proc.pid)
        self._leave(self._sessions, proc.sid, proc.pid)
        if unlink_parent:
            parent = self._procs.get(proc.ppid)
            if parent is not None:
                parent.children.remove(proc.pid)

    def reap(self, pid: int, by_pid: int) -> Process:
        """The zombie ``pid`` is reaped by ``by_pid`` (normally its parent's wait)."""
        if pid == INIT_PID or self.is_outsider(pid):
            raise KernelError(errno.EPERM, f"{pid} (init or the outsider) cannot be reaped")
        proc = self._require(pid)
        if proc.state != ZOMBIE:
            raise KernelError(errno.EINVAL, f"process {pid} is not a zombie ({proc.state})")
        self._finish_reap(proc, by_pid)
        return proc

    def stop(self, pid: int, sig: int) -> bool:
        """Group stop by ``sig`` (signal(7)); a wait report becomes pending.

        Returns False when nothing changed (already stopped, a zombie, or init).
        """
        proc = self._require(pid)
        if proc.state != RUNNING or pid == INIT_PID or proc is self.outsider:
            return False
        proc.state = STOPPED
        proc.stop_signal = int(sig)
        proc.stop_report_pending = True
        proc.continue_report_pending = False
        return True

    def cont(self, pid: int) -> bool:
        """SIGCONT resumed a stopped process; a WCONTINUED report becomes pending."""
        proc = self._require(pid)
        if proc.state != STOPPED:
            return False
        proc.state = RUNNING
        proc.continue_report_pending = True
        proc.stop_report_pending = False
        return True

    def set_subreaper(self, pid: int, flag: bool) -> None:
        """prctl(2) PR_SET_CHILD_SUBREAPER."""
        self._require_alive(pid).is_subreaper = bool(flag)

    def set_pdeathsig(self, pid: int, sig: int) -> None:
        """prctl(2) PR_SET_PDEATHSIG: EINVAL unless 0 (clear) or a valid signal."""
        proc = self._require_alive(pid)
        if isinstance(sig, bool) or not isinstance(sig, int) or not 0 <= sig < NSIG:
            raise KernelError(errno.EINVAL, f"invalid signal {sig!r} for PR_SET_PDEATHSIG")
        proc.pdeathsig = int(sig)

    # ------------------------------------------------------ groups and sessions

    def setpgid(self, caller: int, pid: int, pgid: int) -> None:
        """setpgid(2), checks in the kernel's order (kernel/sys.c)."""
        me = self._require_alive(caller)
        if pid == 0:
            pid = caller
        if pgid == 0:
            pgid = pid
        if pgid < 0:
            raise KernelError(errno.EINVAL, f"setpgid: negative pgid {pgid}")
        target = self._procs.get(pid) if pid > 0 else None
        if target is None:
            raise KernelError(errno.ESRCH, f"setpgid: no such process {pid}")
        if target is not me and target.ppid == me.pid:
            if target.sid != me.sid:
                # setpgid(2): EPERM "... a child of the calling process in a different session"
                raise KernelError(
                    errno.EPERM, f"setpgid: child {pid} is in another session ({target.sid})"
                )
            if target.has_execed:
                # setpgid(2): EACCES "a child ... and it has already performed an execve"
                raise KernelError(errno.EACCES, f"setpgid: child {pid} has already execed")
        elif target is not me:
            # setpgid(2): ESRCH "pid is not the calling process and not a child"
            raise KernelError(
                errno.ESRCH, f"setpgid: {pid} is neither process {caller} nor its child"
            )
        if target.sid == target.pid:
            # setpgid(2): EPERM "move a process into a process group ... a session leader"
            raise KernelError(errno.EPERM, f"setpgid: process {pid} is a session leader")
        if pgid != target.pid:
            members = self._groups.get(pgid)
            if not members or next(iter(members.values())).sid != me.sid:
                # setpgid(2): EPERM "pgid does not match ... a process group in the same session"
                raise KernelError(
                    errno.EPERM, f"setpgid: no process group {pgid} in session {me.sid}"
                )
        self._set_pgid(target, pgid)

    def setsid(self, caller: int) -> int:
        """setsid(2): new session and group, both with id = caller's pid.

        EPERM when the caller is a process-group leader (some process's pgid equals
        the caller's pid). The caller has no controlling terminal afterwards.
        """
        me = self._require_alive(caller)
        if me.pid in self._groups:
            raise KernelError(
                errno.EPERM, f"setsid: process {caller} is a process group leader"
            )
        self._set_pgid(me, me.pid)
        self._set_sid(me, me.pid)
        me.ctty = None
        return me.pid

    def getpgid(self, caller: int, pid: int) -> int:
        """getpgid(2): pid 0 means the caller; ESRCH when no such process."""
        self._require(caller)
        proc = self._procs.get(caller if pid == 0 else pid)
        if proc is None:
            raise KernelError(errno.ESRCH, f"getpgid: no such process {pid}")
        return proc.pgid

    def getsid(self, caller: int, pid: int) -> int:
        """getsid(2): pid 0 means the caller; ESRCH when no such process."""
        self._require(caller)
        proc = self._procs.get(caller if pid == 0 else pid)
        if proc is None:
            raise KernelError(errno.ESRCH, f"getsid: no such process {pid}")
        return proc.sid

    def is_orphaned_pgrp(self, pgid: int) -> bool:
        """True when no member has a parent in another group of the same session."""
        return self._will_become_orphaned(pgid, None)
