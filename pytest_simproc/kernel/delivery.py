"""What a signal does to a process: the decisions of signal(7), as values.

Each function takes the kernel's state and an event (a signal generated, a signal
dequeued, a child stopped or continued) and returns what must happen, as small frozen
outcomes: queue it, discard it, run a handler with this siginfo, terminate, stop or
continue the group, send SIGCHLD (what an exit does is kernel/exits.py). The tracer
(``pytest_simproc.engine``) carries them out on native threads; nothing here knows a
native pid or the tracer, so each rule is unit-tested without a tracee
(tests/kernel/test_delivery.py).

Threads are opaque here: the caller passes its own thread objects and a function giving
a thread's blocked mask, and gets the chosen thread back inside the outcome.
"""
from __future__ import annotations

import errno
import struct
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

from .signals import default_action
from .sigstate import SI_TKILL, SA_NOCLDSTOP, SA_RESETHAND, SigAction, \
    siginfo_bytes
from .states import Exited
from .table import INIT_PID

SIGHUP, SIGKILL, SIGCHLD, SIGCONT, SIGSTOP = 1, 9, 17, 18, 19
STOP_SIGNALS = frozenset({19, 20, 21, 22})   # SIGSTOP SIGTSTP SIGTTIN SIGTTOU
# sigaction(2) si_code values of SIGCHLD
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 5, 6


def bit(sig: int) -> int:
    """The signal's bit in a sigset_t."""
    return 1 << (sig - 1)


# ---------------------------------------------------------------- siginfo builders
def kill_info(sig: int, code: int, sender: int) -> bytes:
    """siginfo of kill(2)/tgkill(2) or a kernel-sent signal: si_signo, si_errno,
    si_code, si_pid (uid 0)."""
    return struct.pack("<iiiiii", sig, 0, code, 0, sender, 0)


def cld_code(state) -> tuple[int, int]:
    """SIGCHLD's si_code and si_status for a final state (sigaction(2))."""
    if isinstance(state, Exited):
        return CLD_EXITED, state.code
    return (CLD_DUMPED if state.core else CLD_KILLED), int(state.signal)


def sigchld_info(sig: int, code: int, pid: int, status: int) -> bytes:
    """siginfo of a child's state change: si_pid, si_uid 0, si_status, no CPU times."""
    return struct.pack("<iiiiiiiiqq", sig, 0, code, 0, pid, 0, status, 0, 0, 0)


# ---------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class Terminate:
    """The process ends by the signal (with a core dump or not)."""
    sig: int
    core: bool = False


@dataclass(frozen=True)
class StopGroup:
    """Every thread of the process stops (group stop); ``thread`` took the signal."""
    sig: int
    thread: object = None


@dataclass(frozen=True)
class ContinueGroup:
    """A stopped process runs again (SIGCONT)."""


@dataclass(frozen=True)
class CancelPending:
    """Pending instances of ``signals`` on ``thread`` are dropped."""
    thread: object
    signals: frozenset


@dataclass(frozen=True)
class Queue:
    """The signal becomes pending on ``thread``."""
    thread: object


@dataclass(frozen=True)
class Discard:
    """An ignored, unblocked signal is dropped at generation; strace still shows it."""
    thread: object


@dataclass(frozen=True)
class RunHandler:
    """The thread runs the program's handler with this siginfo."""
    sig: int
    info: bytes
    flags: int


@dataclass(frozen=True)
class Ignore:
    """A dequeued signal whose default action is to ignore it (shown by strace)."""
    sig: int
    info: bytes


@dataclass(frozen=True)
class Dropped:
    """A dequeued signal set to SIG_IGN after it was generated: nothing happens."""
    sig: int


@dataclass(frozen=True)
class Send:
    """Generate ``sig`` for process ``pid`` with this siginfo."""
    pid: int
    sig: int
    info: bytes


# ---------------------------------------------------------------- generation
def receives_signals(proc) -> bool:
    """Only live processes take signals; init is the host, which takes none."""
    return proc is not None and proc.pid != INIT_PID and proc.state in ("running", "stopped")


def is_ignored(sig: int, action: SigAction) -> bool:
    """SIG_IGN, or SIG_DFL where the default is to ignore (SIGCONT's continuing is
    done at generation, so its delivery does nothing more)."""
    return action.is_ignore or (action.is_default and default_action(sig) in ("ign", "cont"))


def reaches_outsider(sig: int, caught: int, ignored: int) -> bool:
    """A program's signal for the host's outsider (a native process the host's tracer
    runs in: ProcessTable.add_outsider) is sent to it natively, unless it would stop
    it, which would stop the host with it: SIGSTOP always (it cannot be caught or
    ignored, signal(7)), SIGTSTP/SIGTTIN/SIGTTOU only at their default disposition
    (``caught``, ``ignored``: the outsider's handled and ignored signal sets); a
    handled or ignored one does not stop (signal(7)), so it goes through."""
    if sig not in STOP_SIGNALS:
        return True
    return sig != SIGSTOP and bool((caught | ignored) & bit(sig))


def pick_thread(sig: int, threads: Sequence, blocked_of: Callable[[object], int]):
    """signal(7): a process-directed signal goes to a thread that does not block it
    (the first, in creation order), else stays with the main thread (the first)."""
    if len(threads) > 1:
        for thread in threads:
            if not blocked_of(thread) & bit(sig):
                return thread
    return threads[0] if threads else None


def generate(proc, sig: int, action: SigAction, threads: Sequence,
             blocked_of: Callable[[object], int], thread=None) -> tuple:
    """Generate ``sig`` for ``proc`` (for ``thread`` when thread-directed, else for
    one of its live ``threads``): the outcomes, in the order they take effect.

    signal(7): SIGKILL terminates at once; SIGCONT drops pending stop signals and
    continues a stopped process; a stop signal drops a pending SIGCONT, and SIGSTOP
    stops the group at once; an ignored signal is discarded unless it is blocked (the
    disposition may change before it is unblocked, and signalfd/sigwait see it).
    """
    if not receives_signals(proc):
        return ()
    if sig == SIGKILL:
        return (Terminate(SIGKILL),)
    if thread is None:
        thread = pick_thread(sig, threads, blocked_of)
        if thread is None:
            return ()
    outcomes: list = []
    if sig == SIGCONT:
        outcomes.append(CancelPending(thread, STOP_SIGNALS))
        if proc.state == "stopped":
            outcomes.append(ContinueGroup())
    elif sig in STOP_SIGNALS:
        outcomes.append(CancelPending(thread, frozenset({SIGCONT})))
        if sig == SIGSTOP:
            outcomes.append(StopGroup(sig, thread))
            return tuple(outcomes)
    if not is_ignored(sig, action) or blocked_of(thread) & bit(sig):
        outcomes.append(Queue(thread))
    else:
        outcomes.append(Discard(thread))
    return tuple(outcomes)


# ---------------------------------------------------------------- delivery
def act_on(sig: int, info: bytes, dispositions) -> object:
    """What delivering a dequeued ``sig`` does, by its disposition (signal(7)); a
    handler set with SA_RESETHAND goes back to SIG_DFL as it runs (sigaction(2))."""
    action = dispositions.get(sig)
    if action.is_ignore:
        return Dropped(sig)
    if action.is_default:
        kind = default_action(sig)
        if kind in ("term", "core"):
            return Terminate(sig, kind == "core")
        if kind == "stop":
            return StopGroup(sig)
        return Ignore(sig, info)
    if action.flags & SA_RESETHAND:
        dispositions.set(sig, SigAction())
    return RunHandler(sig, info, action.flags)


def dequeue(pending, blocked: int, dispositions) -> Iterator:
    """Every pending signal the thread does not block, lowest first, is dequeued and
    acted on (signal(7)): yields (its siginfo, the outcome) for each. The caller stops at the first
    Terminate or StopGroup; before the thread runs on, the kernel sets up one handler
    frame for each RunHandler."""
    for sig in pending.signals():
        if blocked & bit(sig):
            continue
        info = siginfo_bytes(pending.remove(sig))
        yield info, act_on(sig, info, dispositions)


# ---------------------------------------------------------------- children's news
def state_change_sigchld(parent_pid: int, parent_action: SigAction | None, child_pid: int,
                         code: int, status: int) -> Send | None:
    """A child stopped or continued: its parent gets SIGCHLD unless it set SA_NOCLDSTOP
    (sigaction(2)); init (the host) is told nothing."""
    if parent_pid == INIT_PID or parent_action is None or parent_action.flags & SA_NOCLDSTOP:
        return None
    return Send(parent_pid, SIGCHLD, sigchld_info(SIGCHLD, code, child_pid, status))


# ---------------------------------------------------------------- permission rules
def sigqueueinfo(table, caller: int, tgid: int, tid, sig: int, info: bytes,
                 thread_pid=None):
    """rt_sigqueueinfo(2)/rt_tgsigqueueinfo(2): -errno, 0 when the signal is lost (a
    zombie's thread), or the siginfo to generate (the caller's, with si_signo set to
    ``sig``). ``tid``: rt_tgsigqueueinfo's thread, of process ``thread_pid`` (None when
    no live thread has that id), judged as tgkill(2) judges it. Only the kernel may
    send si_code >= 0, and SI_TKILL only through tgkill: EPERM for another process."""
    if tid is not None:
        refused = tkill_check(table, tgid, tid, thread_pid)
        if refused is not None:
            return refused
    elif table.get(tgid) is None:
        return -errno.ESRCH
    code = struct.unpack_from("<i", info, 8)[0]
    if (code >= 0 or code == SI_TKILL) and tgid != caller:
        return -errno.EPERM
    return struct.pack("<i", sig) + info[4:]


def tkill_check(table, tgid, tid: int, thread_pid: int | None) -> int | None:
    """tkill(2)/tgkill(2) of thread ``tid`` (of process ``thread_pid``, None when no
    live thread has that tid): -ESRCH, 0 when the signal is lost (a zombie's threads
    still exist), or None when it is to be generated."""
    if thread_pid is None:
        if table.get(tid) is not None and (tgid is None or tgid == tid):
            return 0
        return -errno.ESRCH
    if tgid is not None and tgid != thread_pid:
        return -errno.ESRCH
    return None
