"""The stop loop: which task runs next, waiting for its ptrace stop, and dispatching
each stop by kind (seccomp, syscall exit, event, signal, death) to the part that acts
on it. Virtual time moves here: to the next deadline when nothing can run, by the CPU
burst the programs were charged (kernel.clock.CpuBurst), and by a preemption slice
when a task spins in user code while something is due (README "The CPU model")."""
from __future__ import annotations

import errno
import os
import select
import signal as _signal
import struct
import time as _time

from ..errors import WatchdogError
from ..kernel.epollwake import woken as exclusive_woken
from ..kernel.rlimits import RLIM_INFINITY, RLIMIT_CPU
from ..kernel.sigstate import SI_TKILL
from ..syscalls.tty import route_parked_leaders
from ..trace import ptrace_ops as pt
from ..trace.memory import next_stop as _next_stop, stops as _stops
from .quickcalls import absorb as _absorb
from .records import Task, natively_pending

_MONOTONIC = _time.CLOCK_MONOTONIC
# the real select.poll, taken when the plugin loads: drop-in mode replaces it with the
# test's fake (dropin/ready.py) during a test
_poll = select.poll


class StopLoop:
    """Running the host: the scheduler's pick, its stop, the dispatch of stops."""

    run_predicate = None     # the predicate of the run in progress (quickcalls.absorb)
    predicate_held = False   # absorb found it true: the run ends at its next turn

    def run(self, until_ns: int, predicate=None, only=None) -> str:
        """Run until ``predicate()`` holds, every process ended, or virtual time would
        pass ``until_ns``. Returns "predicate", "exited" or "time". ``only``: run no
        process but the one with that pid."""
        outer, self.run_predicate = self.run_predicate, predicate
        try:
            return self._run(until_ns, predicate, only)
        finally:
            self.run_predicate, self.predicate_held = outer, False

    def _run(self, until_ns: int, predicate, only) -> str:
        eligible = _not_stopped if only is None else (
            lambda task: task.proc.pid == only and _not_stopped(task))
        start, self._until_ns = self.clock.now_ns, until_ns
        burst, events = self.burst, self.events
        while True:
            if self._dying:
                self._collect_dying()
            if predicate is not None and (self.predicate_held or predicate()):
                return "predicate"
            if self.alive == 0:
                return "exited"
            if burst.unapplied_ns >= burst.threshold_ns:
                if burst.apply(until_ns):
                    self._clock_moved = True
                elif predicate is None:
                    return "time"   # a run to now (run_for(0)) ends after one burst
            if self._clock_moved:
                self._clock_moved = False
                for woken in self.sched.expire(self.clock.now_ns):
                    woken.wake = "timeout"
                if self.clock.now_ns >= until_ns > start:
                    return "time"   # the programs' work took the run to its end
            if events and events.next_time() <= self.clock.now_ns:
                self._fire_due_timers()
            task = self.sched.pick(eligible)
            if task is None:
                if self.before_idle is not None:
                    self.before_idle()  # drop-in: bytes the test's side moves (pipes.py)
                # Events of tasks nobody waits for (a parked process killed from outside)
                # enter here, when nothing else can run.
                self._take_pending_events()
                route_parked_leaders(self)  # the terminal's signals (syscalls/tty.py)
                self._await_native_wakeups()
                task = self.sched.pick(eligible)
            if task is None and self._io_waiters:
                self._recheck_io()
                task = self.sched.pick(eligible)
            if task is None:
                if self.end_at_idle is not None and self.end_at_idle():
                    return "predicate"   # drop-in: the test's wait ends before time moves
                if self.outside_busy is not None:
                    # drop-in: what the test's native threads deliver comes first
                    # (dropin/nativework.py), and the clock moves by what the hook
                    # gives of the room there is before the next deadline
                    deadline = _earliest(self.sched.next_deadline(), self.events.next_time())
                    room = min(until_ns, deadline or until_ns) - self.clock.now_ns
                    moved = self.outside_busy(max(room, 0))
                    if moved is not None:
                        if moved > 0:
                            self.clock.advance_to(self.clock.now_ns + moved)
                            self._clock_moved = True
                        continue
                    # they are quiet: what they delivered after the look at the top
                    # of this step is in, before the clock moves
                    if ((self.end_at_idle is not None and self.end_at_idle())
                            or (predicate is not None and predicate())):
                        return "predicate"
                if burst.unapplied_ns and burst.apply(until_ns):
                    # Idle: the burst ends; the clock shows it before any wait is over.
                    self._clock_moved = True
                    continue
                deadline = _earliest(self.sched.next_deadline(), self.events.next_time())
                if deadline is None or deadline > until_ns:
                    if until_ns > self.clock.now_ns:
                        self.clock.advance_to(until_ns)
                    return "time"
                if deadline > self.clock.now_ns:
                    self.clock.advance_to(deadline)
                self._fire_due_timers()
                for woken in self.sched.expire(self.clock.now_ns):
                    woken.wake = "timeout"
                continue
            self._step(task)
            if self._step_waiters:
                self._recheck_steps()
            if task.stop == "preempt":
                # a spinner never lets the host go idle: what the outside did to parked
                # descriptors (a socket to the test) enters at its preemptions too
                self._recheck_io()
                if self.clock.now_ns >= until_ns and not self.sched.others_runnable(task):
                    return "time"  # at the run's end, only the spinner could go on

    def _step(self, task: Task) -> None:
        if task.block is not None:
            block, ctx = self._end_block(task)
            wake, task.wake = task.wake, None
            if wake == "timeout":
                outcome = block.on_timeout(ctx) if block.on_timeout else 0
            else:
                outcome = self._call(block.retry, ctx)
            # a call woken at its entry stop that now runs natively: its line ends
            # when it returns ("<... resumed>")
            self._apply(task, ctx, self._logged(task, outcome) if task.stop == "seccomp"
                        else outcome)
            if task.block is not None:
                return
        task.wake = None   # a wait without a call (a program's start-up) has ended
        if task.stop is None:
            task.expect_stop = True
            self._await(task)
            if task.stop is None:
                return
        try:
            how = self._resume(task)
        except pt.PtraceError as exc:
            self._vanished(task, exc)
            how = 0
        self._await(task, how)

    def _await(self, task: Task, how: int = 0) -> None:
        """Wait for ``task``'s next stop, dispatching every stop on the way; ``how``:
        the resume request _resume chose (ptrace_ops.step), made first."""
        watch = self.watch
        # CLOCK_MONOTONIC itself: time.monotonic may be freezegun's (drop-in mode), which
        # looks at the caller's frames at every call
        watch.task, watch.since = task, _clock_gettime(_MONOTONIC) - task.spun
        task.spun = 0.0
        watch.epoch += 1
        # A single-threaded process's next event is its own; a thread group's may come
        # from any of its threads (exit_group, a leader's delayed death).
        # (ptrace_ops.wait_task's and wait_any's waits, chosen once: one a stop)
        if len(self.info[task.proc.pid].tasks) == 1:
            who, flags = task.native, _WALL
        else:
            who, flags = -1, _WALL_NOTHREAD
        dispatch = self._dispatch
        try:
            if how:
                try:
                    native, status, regs, args = _step(how, task.native, who, flags)
                    # reads and writes that surely run natively: resumed at once
                    while (native == task.native and status == _SECCOMP_STOP
                           and regs is not None and _absorb(self, task, regs, args)):
                        native, status, regs, args = _step(_CONT, native, who, flags)
                except pt.PtraceError as exc:   # the resume failed
                    self._vanished(task, exc)
                else:
                    try:
                        if task.stop is None:   # (else absorb dispatched it)
                            dispatch(native, status, regs, args)
                    except pt.PtraceError as exc:
                        self._vanished(self.tasks.get(native), exc)
            while task.stop is None and task.expect_stop and not task.gone:
                native, status, regs, args = _step(0, 0, who, flags)
                try:
                    dispatch(native, status, regs, args)
                except pt.PtraceError as exc:
                    self._vanished(self.tasks.get(native), exc)
        finally:
            watch.task = None
        if watch.fired is not None:
            message, watch.fired = watch.fired, None
            raise WatchdogError(message)

    def _vanished(self, task: Task | None, exc: pt.PtraceError) -> None:
        """A request to a stopped task failed with ESRCH: it was killed meanwhile
        (SIGKILL ends a ptrace-stop: the watchdog's, a user's, or a sibling thread's
        exit_group), and its death is the next thing wait(2) reports for it. What the
        stop had decided stays decided, as for a call a kill interrupts natively."""
        if exc.errno != errno.ESRCH or task is None:
            raise exc
        task.stop = None
        task.expect_stop = True

    def _dispatch(self, native: int, status: int, regs=None, args=None) -> None:
        """One wait(2) status; ``regs`` and ``args``: what ptrace_ops.step read at the
        stop (a seccomp stop's registers and arguments, a syscall-exit stop's rax)."""
        _stops[0] = _next_stop()   # a tracee ran: TraceeMemory's last writes may be stale
        task = self.tasks.get(native)
        if task is None:
            self._stash.setdefault(native, []).append(status)
            return
        # wait(2) statuses decoded by hand (one stop each, the hot path): a stop has
        # 0x7f in the low byte, the signal above it, a ptrace event above that
        if status & 0xFF != 0x7F:
            self._on_native_death(task, status)
            return
        sig = (status >> 8) & 0xFF
        if sig == _SYSCALL_TRAP:
            self._on_sysexit(task, args)   # (step's decoding of an exit stop: its rax)
            return
        event = status >> 16
        if event and sig == _SIGTRAP:
            if event == _EVENT_SECCOMP:
                self._on_seccomp(task, regs, args)
            elif event == pt.EVENT_VFORK:
                self._on_vfork(task)
            elif event == pt.EVENT_EXEC:
                task.stop = "event"
                self._on_exec(task)
            else:
                pt.cont(native)
            return
        self._on_signal_stop(task, sig)

    def _on_preempt_stop(self, task: Task) -> bool:
        """A SIGSTOP at a signal-delivery-stop: the watchdog thread's (host/threads.py),
        sent with tgkill when ``task`` had run ``preempt_after_ns`` of real CPU time
        without a stop. A native signal, not PTRACE_INTERRUPT: the tracees are attached
        with PTRACE_TRACEME, which that request does not work on, and the watchdog
        thread may not make ptrace requests; SIGSTOP cannot be blocked, and a tracer
        that resumes it with signal 0 discards it (ptrace(2) "Signal-delivery-stop").
        Then, if something is due, the task is preempted. Returns False for another
        sender's SIGSTOP."""
        # siginfo_t: si_signo, si_errno, si_code, padding, si_pid (sigaction(2))
        _signo, _errno, code, sender = struct.unpack_from("<iii4xi", pt.getsiginfo(task.native))
        if code != SI_TKILL or sender != os.getpid():
            return False
        watch = self.watch
        current = watch.task is task and watch.asked == watch.epoch
        due = self._preempt_due(task) if current else None
        if due is not None:
            if due == "host":
                # Nothing of its own is due: the watchdog's count of its spinning goes
                # on, so that a spin no event ends is still killed, not run until
                # stop_time at the speed of real time -- unless other tasks made
                # simulated calls meanwhile: the host moves (a thread spinning while
                # another works, as LTP's signal06).
                moved = task.spun_mark != self.calls_charged
                task.spun_mark = self.calls_charged
                task.spun = 0.0 if moved else _time.clock_gettime(_MONOTONIC) - watch.since
            self._preempt(task)
            return True
        if watch.task is task:
            watch.epoch += 1  # a new slice, measured from now; the watchdog's time runs on
        pt.cont(task.native, 0)
        return True

    def _preempt_due(self, task: Task) -> str | None:
        """What could end the spin if time passed: "own" when the process has a timer
        armed or a CPU limit; "run" when the run itself ends at a time before stop_time
        (``run_for``, a drop-in test's sleep, timed wait or look at the current instant:
        natively the spinner has a core of its own while the test waits); "host" when another task could run or a
        timer or a timeout is pending elsewhere in the host; None when nothing is due."""
        soft, hard = task.proc.rlimits[RLIMIT_CPU]
        if (self.timers.armed(task.proc.pid) or soft < RLIM_INFINITY
                or hard < RLIM_INFINITY):
            return "own"
        if self.stop_ns is not None and self._until_ns < self.stop_ns:
            return "run"
        if (self.sched.others_runnable(task) or self.events.next_time() is not None
                or self.sched.next_deadline() is not None):
            return "host"
        return None

    def _preempt(self, task: Task) -> None:
        """The task has spun one slice: it is charged a fixed slice of CPU time and the
        clock moves by it (timers fire and deadlines expire at the next turn of the
        loop, signals are delivered when it resumes); another task may run first."""
        task.stop = "preempt"
        self.preemptions += 1
        pid = task.proc.pid
        self._charge_cpu(task.proc, self.info[pid], self.preempt_slice_ns)
        if self.burst.apply(self._until_ns):
            self._clock_moved = True
        if self.strace is not None:
            self.strace.preempted(task.tid, self.clock.now_ns)
        self.sched.preempted(task)

    def _take_pending_events(self) -> None:
        while True:
            native, status = pt.poll_any()
            if native == 0:
                return
            self._dispatch(native, status)
            if self._dying:
                self._collect_dying()

    def _await_native_wakeups(self) -> None:
        """A task parked natively (pause, sigsuspend) for which the real kernel already
        queued a signal it does not block (the SIGIO of a write made in the host, a
        signal from outside) stops as soon as the machine runs it: wait for that stop
        now, before virtual time moves on, so that the wake-up does not depend on how
        fast the machine schedules it. Queued at the write, the signal is seen here
        whatever the timing (proc(5) SigPnd, ShdPnd)."""
        for task in [t for t in self.tasks.values() if t.native_parked]:
            while (task.native_parked and not task.expect_stop and not task.gone
                   and natively_pending(task) & ~task.park_mask):
                native, status = pt.wait_task(task.native)
                self._dispatch(native, status)

    def _collect_dying(self) -> None:
        while self._dying:
            native, status = pt.wait_any()
            self._dispatch(native, status)

    def _fire_due_timers(self) -> None:
        events = self.events
        if events and events.next_time() <= self.clock.now_ns:
            due = events.pop_due(self.clock.now_ns)
            if self.chaos and len(due) > 1:
                due = self.sched.shuffled(due)  # expiries at one instant, in any order
            for payload in due:
                self.timers.run_event(payload)

    def _end_block(self, task: Task):
        """The task's parked call stops waiting (woken, timed out, interrupted, or its
        process ended): release what it holds; returns (block, ctx)."""
        block, ctx = task.block
        task.block = None
        self._io_waiters.pop(task, None)
        self._step_waiters.pop(task, None)
        if block.cleanup is not None:
            block.cleanup()
        return block, ctx

    def _recheck_io(self) -> None:
        """Tasks parked on descriptors whose state changed become runnable. Called only
        when nothing else can run (deterministic points) and at a spinner's preemption
        (a nondeterministic one already)."""
        if not self._io_waiters:
            return
        self._collect_dying()  # an exiting process's descriptors must be closed first
        ready = self._io_ready()
        # in parking order: deterministic; one waiter per EPOLLEXCLUSIVE wake-up
        for task in exclusive_woken(
                [(task, block.exclusive, task in ready)
                 for task, block in self._io_waiters.items()],
                self.exclusive_edges.taken()):
            self.sched.unpark(task)
            self.sched.add(task)
            task.wake = "retry"

    def _io_ready(self) -> set:
        """The tasks parked on descriptors whose wait can end now (a ready descriptor,
        poll(2) with no timeout, or their block's own ``ready()``)."""
        self.look_round += 1
        poller = _poll()
        owners: dict[int, list] = {}
        ready = set()
        for task, block in self._io_waiters.items():
            for fd, events in block.io:
                poller.register(fd, events)
                owners.setdefault(fd, []).append(task)
            if block.ready is not None and block.ready():
                ready.add(task)
        ready.update(task for fd, _ in poller.poll(0) for task in owners.get(fd, ()))
        return ready

    def idle_leap(self, until_ns: int) -> bool:
        """A run to ``until_ns`` that could only move the clock there (or, to the current
        instant, do nothing at all): nothing can run, nothing is due up to it, and the
        looks a run makes when nothing can run find nothing come from outside (a
        tracee's event, a ready descriptor of a parked call). Then the clock moves
        there, and True; else nothing changed, and False (run instead). It may be
        called from another thread than the tracer's while the tracer is idle (the
        caller holds what starts runs): it makes no ptrace request, and looks at the
        tracees' events with waitid(2)'s WNOWAIT, which leaves them to the tracer. The
        caller has done what the run's ``before_idle`` and ``outside_busy`` would. A
        polling loop's 100 us sleep costs a crossing to the tracer thread otherwise,
        more than the sleep itself on a loaded machine."""
        now = self.clock.now_ns
        tasks = [task for task in self.tasks.values() if not task.gone]
        if (until_ns < now or self.chaos or self._dying or self.burst.unapplied_ns
                or self.sched.has_runnable() or self.end_at_idle is not None
                or self.exclusive_edges.watching() or self.table.terminals.all()
                or any(task.native_parked or task.stop is None for task in tasks)):
            return False
        deadline = _earliest(self.sched.next_deadline(), self.events.next_time())
        if deadline is not None and deadline <= until_ns:
            return False
        if (pt.event_pending([task.native for task in tasks])
                or self._io_waiters and self._io_ready()):
            return False
        if until_ns > now:
            self.clock.advance_to(until_ns)
        return True

    def _recheck_steps(self) -> None:
        """Waits that any step may end (Block.ready_each_step) become runnable once
        ready: at the first stop after the call that released them, in program
        order, whatever the machine's timing."""
        if self._dying:
            self._collect_dying()   # an exited holder's descriptors are closed first
        self.look_round += 1
        for task, block in list(self._step_waiters.items()):
            if block.ready():
                del self._step_waiters[task]
                self.sched.unpark(task)
                self.sched.add(task)
                task.wake = "retry"

    def _notify(self, key) -> None:
        for woken in self.sched.notify(key):
            woken.wake = "retry"

    def futex_woken(self, task: Task) -> None:
        """A FUTEX_WAKE picked this parked waiter: its wait returns 0 (futex_waitv's,
        the index of the word woken)."""
        result = self.futexes.woken_result(task)
        if task.block is None:
            return
        self._end_block(task)
        self.sched.unpark(task)
        self.sched.add(task)
        self._complete(task, result)


_SYSCALL_TRAP = _signal.SIGTRAP | 0x80   # PTRACE_O_TRACESYSGOOD's syscall stops
_SIGTRAP, _EVENT_SECCOMP = _signal.SIGTRAP, pt.EVENT_SECCOMP
_SECCOMP_STOP = pt.SECCOMP_STOP   # a seccomp stop's wait(2) status
_CONT = pt.PTRACE_CONT
_WALL, _WALL_NOTHREAD = pt.WALL, pt.WALL | pt.WNOTHREAD
_clock_gettime = _time.clock_gettime
_step = pt.step


def _earliest(a, b):
    if a is None:
        return b
    return a if b is None or a <= b else b


def _not_stopped(task) -> bool:
    return task.proc.state == "running"
