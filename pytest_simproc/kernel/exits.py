"""What a thread's or a process's end does: whether it ends the process, whether the
parent reaps at once, and the signals it sends (its exit signal, the children's
PR_SET_PDEATHSIG, orphaned groups' SIGHUP+SIGCONT). The process table does the
reparenting (kernel.table.ProcessTable.exit); the tracer carries the rest out
(pytest_simproc.engine.lifecycle). Tested in tests/kernel/test_exits.py."""
from __future__ import annotations

from dataclasses import dataclass

from .delivery import SIGCONT, SIGHUP, Send, cld_code, kill_info, sigchld_info
from .sigstate import SI_KERNEL
from .table import INIT_PID
from .tty import leader_exit


@dataclass(frozen=True)
class EndThread:
    """Only the thread ends; its process goes on."""


@dataclass(frozen=True)
class EndProcess:
    """The process ends, and every thread with it."""


_END_THREAD, _END_PROCESS = EndThread(), EndProcess()   # (immutable: one of each)


def thread_end(proc, called_exit: bool, others_live: bool):
    """A thread's end: exit(2) ends only the calling thread while other threads live;
    exit_group(2), the last thread's exit or a fatal signal end the process (exit(2),
    exit_group(2)). None when the process has already ended."""
    if proc.state not in ("running", "stopped"):
        return None
    return _END_THREAD if called_exit and others_live else _END_PROCESS


def reaped_at_exit(parent_pid: int, parent_dispositions) -> bool:
    """wait(2) NOTES: a parent that ignores SIGCHLD or set SA_NOCLDWAIT never sees its
    children as zombies; init (the host) reaps its own in ProcessTable.exit."""
    return (parent_pid != INIT_PID and parent_dispositions is not None
            and parent_dispositions.autoreaps_children())


def exit_signals(table, result, state, exit_signal: int) -> list[Send]:
    """The signals a process's end sends, in order: a session leader's hang-up of its
    terminal's foreground group (kernel.tty.leader_exit: do_exit lets go of the
    terminal before it notifies the parent); its exit signal (SIGCHLD) to the
    parent; each child's PR_SET_PDEATHSIG, as if sent by the dying parent (prctl(2):
    SI_USER, si_pid = the parent); to every group it orphaned that has a stopped
    member, SIGHUP then SIGCONT to each live member (exit(3), credentials(7))."""
    pid = result.process.pid
    sends = leader_exit(table, result.process)
    if result.parent_pid != INIT_PID and exit_signal:
        code, status = cld_code(state)
        sends.append(Send(result.parent_pid, exit_signal,
                          sigchld_info(exit_signal, code, pid, status)))
    for child_pid, sig in result.pdeath_signals:
        sends.append(Send(child_pid, sig, kill_info(sig, 0, pid)))
    for pgid in result.orphaned_pgrps:
        members = [p.pid for p in table.group_members(pgid) if p.state != "zombie"]
        for sig in (SIGHUP, SIGCONT):
            sends.extend(Send(member, sig, kill_info(sig, SI_KERNEL, 0)) for member in members)
    return sends
