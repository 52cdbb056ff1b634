"""Who runs next, and when virtual time may move.

One task (native thread) runs at a time. The running task keeps the CPU until it
blocks, exits or has made ``QUANTUM`` trapped system calls in a row; then the next task
is drawn from the runnable ones with the host's seeded generator, so every seed fixes
one interleaving. Blocked tasks wait on *keys* (e.g. ("child", pid) for wait4) and/or a
virtual deadline; time only advances when nothing is runnable.

ChaosScheduler draws a different legal interleaving for each seed (``chaos=True``):
see its docstring.
"""
from __future__ import annotations

import heapq
import itertools
import random

QUANTUM = 64
# After a task spun a preemption slice (~10 ms of real CPU) in user code, the others get
# a longer turn before it runs again (~20 us per trapped call: ~40 ms): a spinner
# waits for the others, who are the ones moving
PREEMPTED_TURN = 2048


class Scheduler:
    def __init__(self, seed: int):
        self._rng = random.Random(f"simproc-schedule:{seed}")
        self._runnable: dict[object, None] = {}  # insertion-ordered set
        self._current = None
        self._streak = 0
        self._waiting: dict[object, dict[object, None]] = {}  # key -> tasks
        self._deadlines: list = []  # heap of (deadline_ns, seq, task, token)
        self._seq = itertools.count()
        self._parked: dict[object, tuple] = {}  # task -> (keys, token)
        self._spinner = None  # preempted: passed over at the next pick

    # -- runnable set -------------------------------------------------------------
    def add(self, task) -> None:
        self._runnable[task] = None

    def remove(self, task) -> None:
        """The task is gone or stopped: forget it everywhere."""
        self._runnable.pop(task, None)
        self.unpark(task)
        if self._current is task:
            self._current = None

    def is_runnable(self, task) -> bool:
        return task in self._runnable

    def has_runnable(self) -> bool:
        return bool(self._runnable)

    def others_runnable(self, task) -> bool:
        """Another task than ``task`` could run now (one of a process not stopped)."""
        return any(t is not task and t.proc.state == "running" for t in self._runnable)

    def pick(self, eligible=lambda task: True):
        """The task to run next, or None when every task is blocked."""
        current = self._current
        if (current is not None and current in self._runnable and self._streak < QUANTUM
                and eligible(current)):
            self._streak += 1
            return current
        runnable = self._runnable
        if len(runnable) == 1 and self._spinner is None:
            # the one candidate there can be (what the general case below picks)
            (choice,) = runnable
            if not eligible(choice):
                return None
            self._current, self._streak = choice, 1
            return choice
        candidates = [t for t in self._runnable if eligible(t)]
        if not candidates:
            return None
        spinner, self._spinner = self._spinner, None
        if spinner is not None and len(candidates) > 1 and spinner in candidates:
            candidates.remove(spinner)
        if len(candidates) == 1:
            choice = candidates[0]
        else:
            choice = candidates[self._rng.randrange(len(candidates))]
        self._current = choice
        # a spinner's turn was real time: the next task's is as long, in calls
        self._streak = 1 if spinner is None else 1 - (PREEMPTED_TURN - QUANTUM)
        return choice

    def keeps_turn(self, task) -> bool:
        """The next pick would give the running ``task`` its next call without a draw
        (engine/quickcalls.py takes that turn itself, with took_turn)."""
        return task is self._current and self._streak < QUANTUM and task in self._runnable

    def took_turn(self) -> None:
        """The running task's next call was taken as pick would have counted it."""
        self._streak += 1

    def yield_cpu(self) -> None:
        """sched_yield(2): the current task goes to the back of the line."""
        self._streak = QUANTUM

    def not_a_turn(self) -> None:
        """The running task's last stop exists only because the strace log asked for
        it: it does not count toward its quantum, so that logging every call leaves the
        schedule as it is with logging off (--simproc-verify compares the two)."""
        self._streak -= 1

    def preempted(self, task) -> None:
        """``task`` spun a slice of real time in user code (engine/trap.py): another
        runnable task runs next, for a turn about as long."""
        self._streak = QUANTUM
        self._spinner = task

    # -- blocking -----------------------------------------------------------------
    def park(self, task, keys=(), deadline_ns=None) -> None:
        self._runnable.pop(task, None)
        token = next(self._seq)
        self._parked[task] = (tuple(keys), token)
        for key in keys:
            self._waiting.setdefault(key, {})[task] = None
        if deadline_ns is not None:
            heapq.heappush(self._deadlines, (deadline_ns, token, task))

    def unpark(self, task) -> bool:
        entry = self._parked.pop(task, None)
        if entry is None:
            return False
        for key in entry[0]:
            waiters = self._waiting.get(key)
            if waiters is not None:
                waiters.pop(task, None)
                if not waiters:
                    del self._waiting[key]
        return True

    def is_parked(self, task) -> bool:
        return task in self._parked

    def notify(self, key) -> list:
        """Tasks waiting on ``key`` become runnable (they retry their call); returned
        in the order they started waiting."""
        waiters = self._waiting.pop(key, None)
        if not waiters:
            return []
        woken = list(waiters)
        for task in woken:
            self.unpark(task)
            self.add(task)
        return woken

    def next_deadline(self) -> int | None:
        self._drop_stale_deadlines()
        return self._deadlines[0][0] if self._deadlines else None

    def expire(self, now_ns: int) -> list:
        """Parked tasks whose deadline has come, earliest first; they become runnable."""
        expired = []
        while True:
            self._drop_stale_deadlines()
            if not self._deadlines or self._deadlines[0][0] > now_ns:
                return expired
            _, _, task = heapq.heappop(self._deadlines)
            self.unpark(task)
            self.add(task)
            expired.append(task)

    def _drop_stale_deadlines(self) -> None:
        heap = self._deadlines
        while heap:
            _, token, task = heap[0]
            entry = self._parked.get(task)
            if entry is not None and entry[1] == token:
                return
            heapq.heappop(heap)


class ChaosScheduler(Scheduler):
    """Random legal interleavings, one per seed, to find races on purpose.

    Probabilistic concurrency testing (PCT, as rr's and Hermit's chaos modes do it):
    every task gets a random priority when it first becomes runnable, the runnable task
    of highest priority runs, and at each scheduling point the running task's priority
    is redrawn with a probability the seed also picks (some seeds switch rarely, some
    often), so a newly woken task may run before or after the one that woke it, a
    child before or after its parent, at any trapped call.

    Every scheduling point with more than one candidate is a *decision*, recorded by
    tid in ``decisions``. ``replay`` (a list of tids) makes the first
    ``len(replay)`` decisions again and then falls back to the default policy of the
    same seed: the plugin uses it to reproduce a failing run and to search for the
    shortest prefix of its decisions that still fails (the last decision of that
    prefix is the one that decides the outcome).
    """

    SWITCH_PROBABILITIES = (0.01, 0.05, 0.2, 0.5)

    def __init__(self, seed: int, replay=None, describe=None):
        super().__init__(seed)
        self._chaos = random.Random(f"simproc-chaos:{seed}")
        self.switch_probability = self._chaos.choice(self.SWITCH_PROBABILITIES)
        self._priority: dict[object, float] = {}
        self.decisions: list[int] = []
        self._replay = list(replay) if replay is not None else None
        # describe(task) -> text of the call the task is about to complete; the plugin
        # asks for it only when it explains a failing decision
        self._describe = describe
        self.described: list[tuple[str, list[str]]] = []

    def add(self, task) -> None:
        super().add(task)
        if task not in self._priority:
            self._priority[task] = self._chaos.random()

    def remove(self, task) -> None:
        super().remove(task)
        self._priority.pop(task, None)

    def pick(self, eligible=lambda task: True):
        candidates = [t for t in self._runnable if eligible(t)]
        if not candidates:
            return None
        if len(candidates) == 1:
            choice = candidates[0]
            self._current = choice
            return choice
        index = len(self.decisions)
        if self._replay is not None and index >= len(self._replay):
            choice = super().pick(eligible)  # past the replayed prefix: the default policy
        else:
            if self._replay is not None:
                wanted = self._replay[index]
                choice = next((t for t in candidates if t.tid == wanted), None)
            else:
                choice = None
            if choice is None:
                current = self._current
                if (current in candidates
                        and self._chaos.random() < self.switch_probability):
                    self._priority[current] = self._chaos.random()
                choice = max(candidates, key=self._priority.__getitem__)
            self._current = choice
        self.decisions.append(choice.tid)
        if self._describe is not None:
            self.described.append((self._describe(choice),
                                   [self._describe(t) for t in candidates if t is not choice]))
        return choice

    def shuffled(self, items: list) -> list:
        """Events due at one instant (timer expiries), in an order the seed picks."""
        items = list(items)
        self._chaos.shuffle(items)
        return items

    def yield_cpu(self) -> None:
        super().yield_cpu()
        current = self._current
        if current is not None and current in self._priority:
            self._priority[current] = self._chaos.random() * min(self._priority.values())

    def preempted(self, task) -> None:
        self.yield_cpu()   # its priority drops below every other's
