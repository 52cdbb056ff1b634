"""Per-process signal dispositions and per-thread pending signals.

The real kernel holds the authoritative handler addresses (rt_sigaction runs natively
so that handlers run natively); this mirror records what the simulated kernel needs
to decide delivery: the kind of disposition and its SA_* flags (sigaction(2)).
Standard signals coalesce while pending (signal(7) "Queueing and delivery semantics").
"""
from __future__ import annotations

from dataclasses import dataclass

SIG_DFL, SIG_IGN = 0, 1

SA_NOCLDSTOP = 0x00000001
SA_NOCLDWAIT = 0x00000002
SA_SIGINFO = 0x00000004
SA_RESTORER = 0x04000000
SA_ONSTACK = 0x08000000
SA_RESTART = 0x10000000
SA_NODEFER = 0x40000000
SA_RESETHAND = 0x80000000

NSIG = 64
SIGRTMIN_KERNEL = 32  # the kernel's first real-time signal (glibc reserves 32, 33)


@dataclass(frozen=True)
class SigAction:
    handler: int = SIG_DFL   # SIG_DFL, SIG_IGN or a handler address
    flags: int = 0
    mask: int = 0

    @property
    def is_default(self) -> bool:
        return self.handler == SIG_DFL

    @property
    def is_ignore(self) -> bool:
        return self.handler == SIG_IGN

    @property
    def is_handler(self) -> bool:
        return self.handler not in (SIG_DFL, SIG_IGN)


_DEFAULT = SigAction()


class SignalDispositions:
    """The sigaction table of one process (shared by its threads)."""

    __slots__ = ("_actions",)

    def __init__(self, actions: dict[int, SigAction] | None = None):
        self._actions = dict(actions or {})

    def get(self, sig: int) -> SigAction:
        return self._actions.get(sig, _DEFAULT)

    def set(self, sig: int, action: SigAction) -> None:
        if action == _DEFAULT:
            self._actions.pop(sig, None)
        else:
            self._actions[sig] = action

    def copy(self) -> "SignalDispositions":
        """fork(2): the child inherits the dispositions."""
        return SignalDispositions(self._actions)

    def reset_for_exec(self) -> None:
        """execve(2): handled signals go back to SIG_DFL, ignored ones stay ignored."""
        self._actions = {s: a for s, a in self._actions.items() if a.is_ignore}

    def autoreaps_children(self, sigchld: int = 17) -> bool:
        """wait(2) NOTES: SIGCHLD set to SIG_IGN, or SA_NOCLDWAIT, reaps children."""
        action = self.get(sigchld)
        return action.is_ignore or bool(action.flags & SA_NOCLDWAIT)


class PendingSignals:
    """Signals generated for a thread and not delivered yet.

    Standard signals coalesce: a second one while pending is dropped. Real-time
    signals queue, each with its own siginfo, and are delivered in order (signal(7)
    "Real-time signals").
    """

    __slots__ = ("_queues",)

    def __init__(self):
        self._queues: dict[int, list] = {}

    def add(self, sig: int, info) -> bool:
        """Queue ``sig``; False when a pending standard signal absorbed it."""
        queue = self._queues.get(sig)
        if queue is None:
            self._queues[sig] = [info]
            return True
        if sig < SIGRTMIN_KERNEL:
            return False
        queue.append(info)
        return True

    def remove(self, sig: int):
        """Dequeue the oldest instance of ``sig`` (its siginfo), or None."""
        queue = self._queues.get(sig)
        if not queue:
            return None
        info = queue.pop(0)
        if not queue:
            del self._queues[sig]
        return info

    def discard(self, sig: int) -> None:
        """Drop every instance (e.g. SIGCONT discards pending stop signals)."""
        self._queues.pop(sig, None)

    def __bool__(self) -> bool:
        return bool(self._queues)

    def __contains__(self, sig: int) -> bool:
        return sig in self._queues

    def queued(self) -> int:
        """How many instances wait, each holding a queue entry (RLIMIT_SIGPENDING)."""
        return sum(len(queue) for queue in self._queues.values())

    def signals(self) -> list[int]:
        """Lowest number first, as the kernel dequeues (standard before real-time)."""
        return sorted(self._queues)

    def mask(self) -> int:
        bits = 0
        for sig in self._queues:
            bits |= 1 << (sig - 1)
        return bits

    def clear(self) -> None:
        self._queues.clear()


SI_USER, SI_KERNEL, SI_QUEUE, SI_TIMER, SI_MESGQ, SI_TKILL = 0, 0x80, -1, -2, -3, -6


def siginfo_bytes(info) -> bytes:
    """The siginfo of a dequeued signal; some (POSIX timers') are completed only now."""
    materialize = getattr(info, "materialize", None)
    return materialize() if materialize is not None else info


def kill_targets(table, caller_pid: int, pid: int) -> list:
    """Processes a kill(pid, ...) from ``caller_pid`` reaches, confined to the host
    (kill(2)): pid > 0 that process, 0 the caller's group, -1 everyone but init and
    the caller, < -1 the group -pid. Zombies are targets too (the signal is lost).
    """
    if pid > 0:
        target = table.get(pid)
        return [target] if target is not None else []
    if pid == 0:
        return list(table.group_members(table.get(caller_pid).pgid))
    if pid == -1:
        return [p for p in table.live() if p.pid not in (1, caller_pid)]
    return list(table.group_members(-pid))
