"""The drop-in session: one test's simulated host, and the one place that runs it.

The session creates the test's :class:`~pytest_simproc.host.SimHost` at the first spawn,
installs the patches (patches.py) and the virtual clock (clock.py) for the duration of
the test, and answers what the fakes send it: spawn, kill, wait, sleep. Only the test's
own thread drives virtual time (``block``); a helper thread of the test waits for it.
"""
from __future__ import annotations

import _thread
import contextlib
import errno
import os
import threading
from typing import TYPE_CHECKING

from ..errors import SimprocError
from ..host import DEFAULT_START_TIME, SimHost
from ..host.measure import run_variables
from ..host.threads import _native_state
from ..kernel.clock import BOOT_LEAD_NS
from ..kernel.filetimes import FileClock
from . import (cldstop, filetimes, forking, gonepids, identity, nativework, ownalarm,
               pidcalls, procfs, selfusage, threadwait, wakeups)
from .clock import VirtualClock, clock_ready
from .patches import Patches
from .pipes import RelayEvents
from .routing import _real_monotonic, _real_sleep, active_session, current_thread, set_active
from .waiting import PidFds

if TYPE_CHECKING:
    from .popen import SimPopen

# Tests control time themselves: the host must not stop on its own.
DROPIN_STOP_TIME = 10 * 365 * 86400
# A helper thread blocked on a simulated process drives the host itself only when the
# test's own thread has left it alone for this long (real seconds).
_HELPER_GRACE = 0.25
# A wait that only another thread of the test can end looks again after this long
# (real seconds), doubling up to the second figure.
_OUTSIDE_PAUSE = (0.0005, 0.01)
# Host steps between two moves of what the programs wrote to the test's pipes (and of
# what the test wrote to theirs), besides the moves when no program can run.
_FEED_EVERY = 16
# How long (real seconds) time waits at most for a thread of the test that never rests.
_QUIET_LIMIT = 2.0
# A thread of the test first seen less than this long ago (real seconds) is not quiet
# yet: on its way to its first wait it may sit a while for the GIL or a lock.
_SETTLE = 0.02
# Real waits of the test outside its host (routing.waited_outside) shorter than this
# add up before they move the clock of a host (real seconds).
_OUTSIDE_QUANTUM = 0.001
# What is left of the test's time limit after a run cut at it, at most (seconds): the
# clock before the host exists is float seconds since the epoch, exact to ~120 ns.
_LIMIT_SLACK = 1e-6
# Scheduler states of a thread that is not quiet (proc(5)): runnable, or in an
# uninterruptible wait that ends by itself (a vfork(2) parent until its child execs,
# a read from the disk).
_BUSY = ("R", "D")


class _SessionLock:
    """The session's reentrant lock, which knows the threads waiting for it: a thread
    of the test back from a wait in the host (a reaping ``Popen.wait``, a timed wait
    whose deadline came) and waiting for the lock is about to act, not quiet, though
    its scheduler state says asleep."""

    def __init__(self):
        self._rlock = threading.RLock()
        self.wanted: set = set()

    def acquire(self, blocking=True, timeout=-1):
        if self._rlock.acquire(False):
            return True
        if not blocking:
            return False
        with self._wanting():
            return self._rlock.acquire(True, timeout)

    __enter__ = acquire

    def release(self):
        self._rlock.release()

    def __exit__(self, *exc):
        self._rlock.release()

    # what threading.Condition asks of its lock
    def _is_owned(self):
        return self._rlock._is_owned()

    def _release_save(self):
        return self._rlock._release_save()

    def _acquire_restore(self, state):
        with self._wanting():
            self._rlock._acquire_restore(state)

    @contextlib.contextmanager
    def _wanting(self):
        me = _thread.get_ident()
        self.wanted.add(me)
        try:
            yield
        finally:
            self.wanted.discard(me)


class DropinSession:
    """One test's simulated host, its patches and its freezer."""

    host_factory = None  # the plugin wires pytest hooks into the hosts it makes
    _host: SimHost | None = None
    _clock: VirtualClock | None = None
    _ident = None
    _started = False
    _closed = False
    _aside = False  # between two tests (set_aside)
    _threads_before: frozenset = frozenset()
    _threads_at_start: frozenset = frozenset()  # every thread there at start (threads_due)
    _outside = 0.0  # real seconds the test waited outside the host, not passed yet
    _quiet_seen = None  # (entries, nativework.thread_states) when the test's threads were last quiet
    _limit = None  # the test's time limit, a timer the host's runs pause (timelimit.py)
    _limit_left = None  # while the session's work has it paused: its seconds left
    _limit_holder = None  # the thread that paused it
    _alarm = None  # the test's own SIGALRM timer while paused: (left, interval) (ownalarm.py)
    _alarm_holding = False  # the test's thread is in the session's work, which paused it
    _counted_ns = 0  # virtual time about to pass that the limit counted in real time

    def __init__(self, host_options: dict | None = None, *, keep: bool = False):
        options = dict(host_options or {})
        options.setdefault("stop_time", DROPIN_STOP_TIME)
        options.setdefault("hostname", "simhost")
        self.host_options = options
        self.keep = keep
        self._now = float(options.get("start_time", DEFAULT_START_TIME))
        # the boot of the test's host, whenever the host starts: a minute before the
        # session's start (kernel/clock.py); the test's monotonic clocks and
        # /proc/uptime count from it before its first program too (clock.py)
        self.boot_ns = int(round(self._now * 1_000_000_000)) - BOOT_LEAD_NS
        # the run's coverage variables, read before the test's fixtures: one the test
        # sets itself is its own, and its programs measure as natively (measure.py)
        self.coverage_run = run_variables()
        # _lock, _cond and _pidfds are made at their first use (__getattr__)
        self._last_run = _real_monotonic()  # when the test's thread last used the host
        # the test's ends of its programs' pipes, by descriptor (pipes.py, ready.py)
        self._pipe_fds: dict[int, object] = {}
        # what moves bytes at every host step: stdin=PIPE writers with bytes not in the
        # pipe yet, the stdout/stderr relays (pipes.py)
        self._feeders: dict = {}   # an ordered set: relays pump in a fixed order
        self._relay_events = RelayEvents()
        self._unfed = 0  # host steps since the feeders last moved bytes
        self._children: dict[int, forking.ForkedChild] = {}  # virtual pid -> the test's child
        self._patches = Patches()
        self._waiting: dict = {}  # helper threads inside block(): ident -> predicate
        self._entries = 0  # how often a helper thread entered block(): it acted between
        self._drivers: list = []  # the threads running the host (some in _await_quiet)
        self._first_seen: dict = {}  # native id of a thread of the test -> real time
        self._deadlines: dict = {}  # those with a timeout: ident -> virtual ns

    def __getattr__(self, name):
        """The session's lock and its condition, and the test's pidfds of host
        processes (PidFds), made at their first use: a test that starts no process
        does not need them."""
        if name not in ("_lock", "_cond", "_pidfds"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        # Two threads asking at once get the same lock. Reentrant, and each object is
        # published whole: a garbage collection while they are made runs finalizers
        # (ptyprocess's __del__ sleeps), whose sleep asks for them again.
        with _LAZY_LOCK:
            made = self.__dict__
            if name == "_pidfds":
                pidfds = PidFds()
                return made.setdefault("_pidfds", pidfds)
            if "_lock" not in made:
                lock = _SessionLock()
                cond = threading.Condition(lock)
                if "_lock" not in made:   # a finalizer's call did not make them meanwhile
                    made["_cond"] = cond
                    made["_lock"] = lock
            return made[name]

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "DropinSession":
        """Start the test's session. Once the patches are in and no module was imported
        since the last start (patches.py), that takes a few microseconds, as another
        plugin's hook: not counted apart as the machinery's usage (selfusage.py),
        whose bookkeeping would cost more than the start."""
        if active_session() is not None:
            raise RuntimeError("a drop-in session is already active")
        self._ident = _thread.get_ident()
        if self._limit is None and Patches.ready() and clock_ready():
            return self._start(warm=True)
        return self._counted_start()

    @selfusage.machinery
    def _counted_start(self) -> "DropinSession":
        with self._held():
            return self._start()

    def _start(self, warm: bool = False) -> "DropinSession":
        threads = threading.enumerate()
        self._threads_at_start = frozenset(t.ident for t in threads)
        began = _real_monotonic()  # threads there now settle from the test's start
        self._first_seen.update((t.native_id, began) for t in threads
                                if t.native_id is not None)
        # threads of the machinery that were there before the test: their time is real
        # (threads of the suite's code from earlier tests take part, as new ones do)
        self._threads_before = _machinery_threads(self._ident, threads)
        forking.register()
        self._clock = VirtualClock(self._now, self.boot_ns, warm)
        # the machine's file times on the test's clock, and its host's (filetimes.py)
        self.files = FileClock(self._now_ns())
        try:
            self._patches.apply()
            procfs.install(self, pidcalls.replaced())  # the test's /proc: the host's numbers
            filetimes.install()
            threadwait.install_outside(self)  # until the host: real waits move its clock
        except BaseException:
            threadwait.uninstall_outside()
            filetimes.uninstall()
            procfs.uninstall(self)
            self._patches.restore()
            self._clock.stop()
            raise
        set_active(self)
        self._started = True
        return self

    def stop(self) -> None:
        """Restore everything, then close the host (no native process survives).
        Without a host that is a few microseconds (see ``start``)."""
        if not self._started or self._closed:
            return
        if self._host is None and self._limit is None:
            self._stop()
            return
        self._counted_stop()

    @selfusage.machinery
    def _counted_stop(self) -> None:
        with self._held():
            self._stop()

    def _stop(self) -> None:
        selfusage.session_ending(self)
        if self._host is not None:
            # before the session's calls end: a thread of the test that a closing
            # session lets go (a sleep, a wait) may name one of its pids at once
            gonepids.remember(self._host)
        if "_cond" in self.__dict__:
            with self._lock:
                self._closed = True
                self._cond.notify_all()
        else:
            self._closed = True   # no thread ever waited on the session
        try:
            if active_session() is self:
                set_active(None)
            for end in list(self._pipe_fds.values()):
                end._close_fd()
            self._relay_events.close()
            if "_pidfds" in self.__dict__:
                self._pidfds.close()
            filetimes.uninstall(Patches.persist)
            procfs.uninstall(self, Patches.persist)
            if self._host is not None:   # installed with the host
                threadwait.uninstall(self)
            threadwait.uninstall_outside()
            self._patches.restore()
        finally:
            try:
                self._clock.stop()
            finally:
                if self._host is not None:
                    self._host.close()
                    gonepids.remember(self._host)   # and those born since
                    pidcalls.keep_unreaped(self)
                cldstop.restore()  # once no program of the host stops any more
                selfusage.session_ended(self)

    def set_aside(self, active: bool = True) -> None:
        """Between two tests, when the plugin carries the session to the next one (a
        fixture wider than the test holds programs of the host): the host does not run
        until ``take_up`` (a helper thread waiting on it does not drive it); with
        ``active`` False the calls of a test that is not the session's (it uses the
        ``simhost`` fixture) are not its either."""
        self._aside = True
        if not active and active_session() is self:
            set_active(None)

    def take_up(self) -> None:
        """The next test's thread is the session's."""
        self._ident = _thread.get_ident()
        self._last_run = _real_monotonic()
        if active_session() is None:
            set_active(self)
        self._aside = False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
    # ------------------------------------------------------------ host and time
    @property
    def host(self) -> SimHost:
        """The test's host, created at the first use."""
        if self._host is None:
            with self._lock:
                if self._host is None:
                    if self._closed:
                        raise SimprocError("the drop-in session of this test is over")
                    options = dict(self.host_options)
                    self._catch_up()  # the host starts at the test's time
                    options["start_time"] = self._now
                    options["_boot_ns"] = self.boot_ns  # the test's boot, read before
                    options["_coverage_run"] = self.coverage_run
                    options["_files"] = self.files   # its map goes on with the host's clock
                    host = (self.host_factory(options) if self.host_factory is not None
                            else SimHost(**options))
                    selfusage.session_started()   # its natives' usage is not the test's
                    if self.keep:
                        host.keep_data()
                    identity.join(host)  # the test is its programs' parent
                    pidcalls.reserve_unreaped(host)  # the test's zombies of earlier hosts
                    if self._clock.offset_ns:   # the test set its clock before
                        host.step_realtime(self._clock.offset_ns)
                    self._host = host
                    threadwait.install(self)  # its threads' timed waits, virtual
                    self._patches.install_hosted()  # its file locks' waits (filelocks.py)
                    # the test's native threads deliver before the clock moves
                    host._engine.outside_busy = nativework.engine_hook(self)
        return self._host

    @property
    def now(self) -> float:
        """Virtual time, seconds since the epoch."""
        return self._host.now if self._host is not None else self._now

    def _now_ns(self) -> int:
        if self._host is not None:
            return self._host._engine.clock.now_ns
        return int(round(self._now * 1_000_000_000))

    def set_realtime_ns(self, value_ns: int) -> None:
        """The test sets CLOCK_REALTIME (clock_settime(2)): it stands in its host, so
        the host's clock moves, never the machine's; its monotonic clocks stay."""
        with self._lock:
            # in whole microseconds up, the finest step of the test's clock: its reads
            # after the set are never before the value set
            delta = -((self._clock.realtime_ns() - value_ns) // 1000) * 1000
            if self._host is None:
                self._clock.move_to(self._now, self._clock.offset_ns + delta)
                self.files.note(self._now_ns() + self._clock.offset_ns)
            else:
                self._host.step_realtime(delta)
                self._clock.move_to(self.now, self._host.realtime_offset_ns)

    def _read_ns(self) -> int:
        """The virtual ns a read of the clock by the test's own thread outside Python
        (libuv's) shows; it costs that thread a read (clock.READ_COST_NS)."""
        return self._now_ns() + self._clock.count_read()

    def _after_run(self) -> None:
        self._clock.move_to(self.now, self._host.realtime_offset_ns
                            if self._host is not None else self._clock.offset_ns)
        if self._host is None:   # the host's clock tells the map itself
            self.files.note(self._now_ns() + self._clock.offset_ns)
        self._pidfds.refresh(self._gone)
        if _thread.get_ident() == self._ident:
            self._last_run = _real_monotonic()
        threadwait.wake_due(self)
        if self._waiter_due():
            self._cond.notify_all()  # the others in block() only look again after a while

    def _catch_up(self, predicate=None) -> bool:
        """The test's reads of its clock took virtual time (clock.READ_COST_NS): the
        host's clock gets there before the host runs, spawns or takes a signal from
        the test (lock held), so a program never sees a time before one the test saw.
        A run that waits for ``predicate()`` stops the catch-up there too and returns
        True, the rest of the test's lead kept: the programs' work costs no virtual
        time, and a look at the current instant (``run_now``) that ran on to the
        test's clock first ran a signalled program through its last prints and its
        end (circus's kill command: how many times its event loop read the clock
        while libzmq carried the command in real time decided it)."""
        ahead = self._clock.take_ahead_ns()
        if not ahead:
            return False
        if self._host is None:
            self._now += ahead / 1e9
            return False
        # (the test's time limit counted the reads in real time: the run is not
        # _limited)
        if predicate is None:
            self._run_engine(None, ahead / 1e9)
            return False
        start = self._now_ns()
        self._run_engine(predicate, ahead / 1e9)
        left = start + ahead - self._now_ns()
        if left > 0:
            self._clock.give_back_ns(left)
        return bool(predicate())

    def _touch(self) -> None:
        if _thread.get_ident() == self._ident:
            self._last_run = _real_monotonic()

    def _feed(self) -> bool:
        """Move what the test wrote to stdin pipes into the pipes, and what programs
        wrote to stdout/stderr pipes into the test's, as much as fits. Runs before, at
        the end of and during every host run: every ``_FEED_EVERY`` steps (from its
        predicate) and whenever no program can run (before the host looks at parked
        descriptors again), so a program that drained its stdin finds the rest there,
        and one that writes never finds its stdout full for long: never across a move
        of the clock. Returns False."""
        self._unfed = 0
        if self._feeders:
            ready = self._relay_events.look()
            for feeder in list(self._feeders):
                if feeder.due(ready):
                    feeder._pump()
        return False

    def _feed_now_and_then(self) -> bool:
        """``_feed`` at one step in ``_FEED_EVERY``: a host step is a program's trapped
        call, often a write of a line, and the move costs more than the write (a count
        of steps, so it happens at the same points in every run). Returns False."""
        self._unfed += 1
        if self._unfed >= _FEED_EVERY:
            self._feed()
        return False

    def _run_host(self, predicate, timeout, linger=0) -> None:
        """``_run_steps``, with the calling thread as one of the host's drivers."""
        me = _thread.get_ident()
        self._drivers.append(me)
        try:
            self._run_steps(predicate, timeout, linger)
        finally:
            self._drivers.remove(me)

    def set_limit(self, limit) -> None:
        """The test's time limit (a timeout plugin's real timer, timelimit.py), or
        None: the host's runs for the test's thread pause it (``_limited``)."""
        self._limit = limit

    @contextlib.contextmanager
    def _held(self):
        """Neither the test's own SIGALRM timer (``_alarm_held``) nor its time limit
        (``_limit_held``) counts while the test is in the session's work."""
        with self._alarm_held(), self._limit_held():
            yield

    @contextlib.contextmanager
    def _limit_held(self):
        """The test's time limit does not count while the test's thread is in the
        session's own work (starting and closing it, spawning, signalling, running
        the host), or a helper thread is while the test's thread waits natively (for
        it, in ``join()`` say): its real timer is paused (``_limit_left`` holds what
        is left, for the one thread that paused it), and goes on after it with what
        is left."""
        limit, me = self._limit, _thread.get_ident()
        if limit is None or self._limit_holder is not None or not self._waits_for(me):
            yield
            return
        with _HOLD_LOCK:
            if self._limit_holder is not None:
                me = None
            else:
                self._limit_holder = me
        if me is None:
            yield
            return
        try:
            self._limit_left = limit.pause()
            try:
                yield
            except BaseException:
                left, self._limit_left = self._limit_left, None
                if left is not None:
                    limit.resume(max(left, 1e-6))  # (none left: it fires soon)
                raise
            left, self._limit_left = self._limit_left, None
            if left is not None:
                limit.resume(left)
        finally:
            self._limit_left = self._limit_holder = None

    def _waits_for(self, me) -> bool:
        """Whether the test waits for the session's work of thread ``me``: it is the
        test's thread, or the test's thread sleeps (proc(5) state S) in a native wait
        with no time limit. A timed one (execnet's ``waitfinish(timeout)``) ends by
        itself in real time, as natively, however far the helper moves the clock."""
        if me == self._ident:
            return True
        thread = threading._active.get(self._ident)
        return (thread is not None and _native_state(thread.native_id) == "S"
                and wakeups.wake_in(thread.native_id) is None)

    def _limited(self, run, timeout) -> None:
        """``run(timeout)``, a move of the clock, within the test's own SIGALRM timer
        when the test's thread moves it (ownalarm.py): the move cut where the timer
        runs out in virtual time, SIGALRM raised there (its handler may end the move
        by raising) and the rest of the move made; what is left of the timer goes on
        in real time after the session's work (``_alarm_held``)."""
        with self._alarm_held():
            while self._alarm is not None:
                left, interval = self._alarm
                start = self._now_ns()
                try:
                    self._within_limit(run, left if timeout is None else min(timeout, left))
                finally:
                    moved = (self._now_ns() - start) / 1e9
                    self._alarm = (left - moved, interval)
                if left - moved >= _LIMIT_SLACK:
                    return  # the move ended first
                self._alarm = None
                ownalarm.fire(interval)
                if timeout is not None:
                    timeout -= moved
                    if timeout < _LIMIT_SLACK:
                        return
                self._alarm = ownalarm.paused()  # its interval's, or one its handler armed
            self._within_limit(run, timeout)

    @contextlib.contextmanager
    def _alarm_held(self):
        """The test's own SIGALRM timer does not count while the test's thread is in
        the session's work: paused (``_alarm`` holds what is left), it goes on after
        the outermost of that work with what is left, in real time."""
        if self._alarm_holding or _thread.get_ident() != self._ident:
            yield
            return
        self._alarm_holding = True
        self._alarm = ownalarm.paused()
        try:
            yield
        finally:
            alarm, self._alarm, self._alarm_holding = self._alarm, None, False
            if alarm is not None:
                ownalarm.resume(max(alarm[0], _LIMIT_SLACK), alarm[1])

    def _within_limit(self, run, timeout) -> None:
        """``run(timeout)``, a move of the clock, within the test's time limit when
        the test's thread moves it: the timer paused (``_held``), the move cut where
        what is left of the limit runs out in virtual time, and what the move took
        counted; the limit fires at its end if none is left."""
        if self._limit is None:
            return run(timeout)
        with self._limit_held():
            left = self._limit_left
            if left is None or self._limit_holder != _thread.get_ident():
                return run(timeout)  # the timer runs or does not (it expired, or was cancelled)
            # time the limit counted in real time (outside_passed) is not counted twice
            start, counted = self._now_ns(), self._counted_ns
            due = start + round(left * 1e9) + counted
            try:
                run((due - start) / 1e9 if timeout is None
                    else min(timeout, (due - start) / 1e9))
            finally:
                now = self._now_ns()
                self._counted_ns = max(counted - (now - start), 0)
                self._limit_left = (due - now - self._counted_ns) / 1e9
            if self._limit_left < _LIMIT_SLACK:
                limit, self._limit_left = self._limit, None
                limit.resume(0)  # it fires here

    def _run_steps(self, predicate, timeout, linger=0) -> None:
        """Run the host (lock held) until ``predicate()`` or for ``timeout`` seconds
        (None: no limit). While other threads of the test live, they are the outside:
        the host runs one instant at a time and virtual time moves on only once those
        threads are quiet (``_await_quiet``), so that a reader thread reacts to what a
        program wrote before the program's next sleep ends, as natively; and a wait
        without a limit that the host cannot end waits in real time for them instead
        of running the host to its stop_time."""
        if timeout == 0 or self._host is None or not self._others_live():
            self._run_plain(predicate, timeout, linger)
            return
        target = None if timeout is None else self._now_ns() + int(round(timeout * 1e9))
        if target is not None:
            # the host's clock ends at its stop_time: a wait past it ends there (a run
            # cannot move the clock further, and this loop would wait for it forever)
            target = min(target, self._host._stop_ns)
        pause = _OUTSIDE_PAUSE[0]
        backlog = None
        while not self._closed:
            if self._handing_over():
                return
            if target is not None and self._host._engine.alive and self._quiet_at_once()[0]:
                # the outside has not acted since it was last found quiet: one run takes
                # this instant and, unless the host does something there, goes on to
                # the next thing due (one crossing to the tracer for a short sleep of a
                # polling loop, not three)
                upcoming = _earliest(target, *self._deadlines.values())
                self._run_plain(predicate, max(upcoming - self._now_ns(), 0) / 1e9, linger,
                                stop_when=self._acted())
                if predicate is not None and predicate() or self._now_ns() >= target:
                    return
                continue
            self._run_plain(None, 0)  # this instant (a predicate could keep it forever)
            if predicate is not None and predicate():
                return
            now = self._now_ns()
            if target is not None and now >= target:
                return
            if self._host._engine.alive == 0:
                if target is None:
                    if self._backlog() not in (0, backlog):
                        # what the programs wrote before they ended still moves to the
                        # test's pipes as it reads them (output past a pipe's 64 KiB)
                        backlog = self._backlog()
                        continue
                    return
                # nothing runs in the host: the clock moves to the target, or first to
                # a deadline of a thread of the test, once those threads are quiet
                if not self._await_quiet():
                    continue
                if predicate is not None and predicate():
                    return  # a thread that ended in the pause, say
                if self._backlog() not in (0, backlog):
                    backlog = self._backlog()  # a reader thread still drains the output
                    continue
                upcoming = _earliest(target, *self._deadlines.values())
                self._run_plain(None, max(upcoming - self._now_ns(), 0) / 1e9)
                continue
            if not self._await_quiet():
                pause = _OUTSIDE_PAUSE[0]
                continue  # the outside acted: this instant again
            upcoming = _earliest(self._next_event_ns(), *self._deadlines.values())
            if upcoming is None or (target is not None and upcoming > target):
                upcoming = target
            if upcoming is None:
                # nothing in the host ends the wait by itself: only the outside can
                self._after_run()
                self._cond.wait(pause)
                pause = min(pause * 2, _OUTSIDE_PAUSE[1])
                continue
            self._run_plain(predicate, max(upcoming - self._now_ns(), 0) / 1e9, linger)
            if target is not None and self._now_ns() >= target:
                return  # the run ended with the target instant run to its idle
            pause = _OUTSIDE_PAUSE[0]

    def _await_quiet(self) -> bool:
        """Wait (lock and GIL released) until the test's other threads are quiet: none
        runnable, none having run across a pause (proc(5): the state in
        /proc/self/task/TID/stat, the time on the CPU in .../schedstat). True if they
        were quiet from the first look; a thread that never rests is waited for
        ``_QUIET_LIMIT`` real seconds at most."""
        limit = _real_monotonic() + _QUIET_LIMIT
        quiet, before = self._quiet_at_once()
        if quiet:
            return True
        quiet_at_once = True
        while True:
            self._cond.wait(_OUTSIDE_PAUSE[0])
            # a thread that left block() and came back within the pause (it started a
            # program, say) is left out of both samples: its new entry shows it acted
            after = self._entries, nativework.thread_states(self._other_tids())
            if (after == before and not any(state in _BUSY for state, _ in after[1].values())
                    and self._waiters_quiet() and self._settled(after[1])):
                self._quiet_seen = after
                return quiet_at_once
            quiet_at_once = False
            if self._handing_over():
                return False
            if _real_monotonic() > limit:
                return True
            before = after

    def _quiet_at_once(self) -> tuple:
        """(quiet, sample): whether the test's other threads are quiet at a first look,
        without a pause (``_await_quiet``); else the sample of them to wait from."""
        tids = self._other_tids()   # (the lock held: no thread enters block meanwhile)
        if not self._others_live(tids):
            return True, None
        self._after_run()  # they see the clock and the pidfds as they are
        if not tids and self._waiters_quiet():
            # every other thread waits in block() for what has not come: none can act
            # before the host moves, so none needs a real pause to show it is quiet
            return True, None
        before = self._entries, nativework.thread_states(tids)
        # none of them has been on a CPU since they were last found quiet, and none is
        # runnable: nothing the host did since woke one (a wake-up makes a thread
        # runnable at once), so it needs no pause to show it
        return before == self._quiet_seen and self._waiters_quiet(), before

    def _acted(self):
        """An ``Engine.end_at_idle`` for one run: True once the host did something in
        it the outside may answer (a program's call, a process's end, output moved to
        the test's side of a pipe, a wait of a thread in ``block`` that can end)."""
        engine = self._host._engine

        def mark():
            return engine.calls_charged, engine.alive, self._backlog()
        start = mark()
        return lambda: mark() != start or self._waiter_due()

    def _settled(self, tids) -> bool:
        """None of these threads is new (``_SETTLE``). Each is noted at its first
        sighting, all at once (noted one at a time, as ``all()`` stops at the first new
        one, five threads took five settling times: an anyio server thread's 50 ms
        sleep ended while the loop waited); a thread already there at the test's start
        (an earlier test's) counts from that start."""
        now = _real_monotonic()
        ages = [now - self._first_seen.setdefault(tid, now) for tid in tids]
        return all(age >= _SETTLE for age in ages)

    def _backlog(self) -> int:
        """Bytes the programs wrote that wait here for the test's end of a pipe."""
        return sum(len(getattr(feeder, "_buf", b"")) for feeder in list(self._feeders))

    def _waiters_quiet(self) -> bool:
        """No thread waiting in ``block`` can go on, and no other thread wants the
        session's lock (a waiter woken by ``_after_run`` wants it only to look again at
        what ``_waiter_due`` has just found false)."""
        return not self._waiter_due() and not (self._lock.wanted - self._waiting.keys())

    def _waiter_due(self) -> bool:
        """A thread waiting in ``block`` (not the caller, which runs the host) can go
        on, or its deadline has come: it is about to run."""
        me, now = _thread.get_ident(), self._now_ns()
        return (any(ready() for ident, ready in list(self._waiting.items()) if ident != me)
                or any(deadline <= now for ident, deadline in list(self._deadlines.items())
                       if ident != me))

    def _handing_over(self) -> bool:
        """A helper thread runs the host, and the test's thread wants to run it
        again: the helper stops (both would wait for each other to be quiet)."""
        return _thread.get_ident() != self._ident and not self._idle()

    def _idle(self) -> bool:
        """The test's own thread has left the host alone for ``_HELPER_GRACE`` (and
        the session is not set aside between two tests)."""
        return not self._aside and _real_monotonic() - self._last_run >= _HELPER_GRACE

    def _other_tids(self) -> list[int]:
        me = _thread.get_ident()
        return [t.native_id for t in threading.enumerate()
                if t.ident != me and t.native_id is not None and not t.name.startswith("simproc-")
                and (t.ident == self._ident or t.ident not in self._threads_before)
                and t.ident not in self._waiting]

    def _run_plain(self, predicate, timeout, linger=0, stop_when=None) -> None:
        """Run the host (lock held) until ``predicate()`` or for ``timeout`` seconds.
        ``linger``: once ``predicate()`` holds, the host runs up to that many steps
        more, and stops sooner when no program can run at the current instant (never
        moving the clock for it). ``stop_when()``: the run also ends when no program
        can run and it holds, before the clock moves (then short of ``timeout``)."""
        self.host  # noqa: B018 (made at the first run)
        cldstop.quiet()  # the host's ptrace stops send the test no SIGCHLD
        if self._catch_up(predicate):
            if not linger:
                return
            timeout = 0  # it lingers at the instant the catch-up stopped
        self._limited(lambda limit: self._run_engine(predicate, limit, linger, stop_when),
                      timeout)

    def _run_engine(self, predicate, timeout, linger=0, stop_when=None) -> None:
        """``_run_plain`` once the host's clock has caught up with the test's."""
        host = self._host
        engine = host._engine
        feeding = bool(self._feeders)
        if feeding:
            backlog = self._backlog()
            self._feed()
            if predicate is None and self._backlog() == backlog and self._leap(timeout):
                return
        elif predicate is None and self._leap(timeout):
            return
        if predicate is not None and linger:
            predicate, engine.end_at_idle = _lingering(predicate, linger)
        if stop_when is not None:
            at_idle = engine.end_at_idle
            engine.end_at_idle = stop_when if at_idle is None else (
                lambda: at_idle() or stop_when())
        if feeding:
            engine.before_idle = self._feed
            step = self._feed_now_and_then
            until = step if predicate is None else (lambda: step() or predicate())
        else:
            until = predicate
        try:
            if stop_when is not None:
                host.run_until(until or _never, timeout=timeout)  # it may end short
            elif until is None:
                host.run_for(timeout)
            elif predicate is None:
                target_ns = self._now_ns() + int(round(timeout * 1e9))
                host.run_until(until, timeout=timeout)
                if self._now_ns() < target_ns:
                    # the programs ended early: the clock still moves its full length
                    host.run_for((target_ns - self._now_ns()) / 1e9)
            else:
                host.run_until(until, timeout=timeout)
        finally:
            engine.before_idle = engine.end_at_idle = None
            if feeding:
                self._feed()  # the test's side holds all the programs wrote until now

    def _leap(self, timeout) -> bool:
        """A run of ``timeout`` seconds in which the host could only move its clock
        moves it here (``Engine.idle_leap``), with no crossing to the tracer thread:
        the feed moved nothing (the caller's look) and no native thread of the test
        has work in flight (the run's ``outside_busy`` would find none). The lock is
        held, so the tracer is idle."""
        host = self._host
        if timeout is None or timeout <= 0 or not nativework.quiet():
            return False
        host._check_open()
        target = self._now_ns() + int(round(timeout * 1e9))
        return target < host._stop_ns and host._engine.idle_leap(target)

    @selfusage.sleeping
    def sleep(self, seconds) -> None:
        """``time.sleep`` in the test: run the simulation for ``seconds``."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"'{type(seconds).__name__}' object cannot be interpreted "
                            f"as an integer or float")
        if seconds != seconds or seconds < 0:
            raise ValueError("sleep length must be non-negative")
        with self._lock:
            if self._closed:
                return _real_sleep(seconds)
            if self._host is None and seconds and self._others_live():
                # the test's other threads are the outside (_run_steps): they act
                # before the clock moves, and may start the host meanwhile
                start_ns = self._now_ns()
                self._await_quiet()
                self._await_wakeups(seconds)
                # a thread's real sleep meanwhile moved the clock on already
                # (thread_slept_for_real): the sleep still ends at its own end
                seconds = max(start_ns / 1e9 + seconds - self._now_ns() / 1e9, 0.0)
            self._pass_time(seconds)

    def others_quiet(self) -> bool:
        """Whether the test's other threads were quiet at the first look; else it
        returns once they are (``_await_quiet``), for the caller to look again at
        what they may have done before its clock moves."""
        with self._lock:
            if self._closed or not self._others_live():
                return True
            return self._await_quiet()

    def _await_wakeups(self, seconds) -> None:
        """Before the host exists, the suite's threads sleep and wait in real time: a
        sleep of ``seconds`` of the test's waits in real time (at most as long, lock
        released) while one started during the test goes on by itself within what is
        left (``threads_due``), as natively it acts during the sleep."""
        end = _real_monotonic() + seconds
        while True:
            left = end - _real_monotonic()
            if left <= 0 or not self.threads_due(left):
                return
            self._cond.wait(min(left, _OUTSIDE_PAUSE[1]))

    def threads_due(self, within, older=frozenset()) -> bool:
        """Before the host exists: a thread of the suite's code started during the
        test (and not among ``older``) runs, or its timed wait ends within ``within``
        real seconds (None: at any time; wakeups.py). With the host, their sleeps and
        timed waits are virtual, and the host's runs stop at them."""
        if self._host is not None:
            return False
        tids = set(self._other_tids())
        if not tids:
            return False
        return wakeups.soon([t.native_id for t in threading.enumerate()
                             if t.native_id in tids and t.ident not in self._threads_at_start
                             and t.ident not in older and not threadwait.machinery(t)],
                            within)

    def _pass_time(self, seconds) -> None:
        """Virtual time moves ``seconds`` on from the test's time (lock held): the
        host's programs run for as long, if there is a host."""
        if self._host is None:
            self._catch_up()  # it starts at the test's time

            def move(seconds):
                self._now += seconds
            try:
                self._limited(move, seconds)
            finally:
                self._after_run()
            return
        # it starts at the test's time, which its clock's reads moved on: one run
        # covers both (a run of its own cost a crossing to the tracer)
        seconds += self._clock.take_ahead_ns() / 1e9
        try:
            self._run_host(None, seconds)  # run_for moves the clock its full length
        finally:
            self._after_run()

    def outside_passed(self, seconds: float) -> None:
        """The test's thread spent ``seconds`` of real time in a wait that only the
        outside could end (a descriptor of a thread of the test or of the machine, a
        job in a thread): its clock moves on as much, as a machine's would, so a
        deadline the test took from its clock before the wait passes (gunicorn's
        preface budget over a trickling socket) and the host's programs get that
        time too. With a host, a run of its own for each short wait (a reply of a
        server thread of the test) would cost more than the wait: they add up until
        ``_OUTSIDE_QUANTUM`` seconds."""
        if seconds <= 0:
            return
        with self._lock:
            self._outside += seconds
            if self._closed or self._host is not None and self._outside < _OUTSIDE_QUANTUM:
                return
            seconds, self._outside = self._outside, 0.0
            # the test's time limit counted these seconds in real time (timelimit.py)
            self._counted_ns = round(seconds * 1e9)
            try:
                self._pass_time(seconds)
            finally:
                self._counted_ns = 0

    def thread_slept_for_real(self, sleep, seconds) -> None:
        """``sleep(seconds)``, a real ``time.sleep`` of a thread of the suite's code
        before the host exists: the test's clock then reads at least what it read at
        the sleep's start plus the real time it took, as a machine's runs on meanwhile
        (threads that loop on ``sleep`` until a deadline of that clock, while the
        test's thread waits in an untimed ``join()``, never saw it come: fasteners'
        lock tests). Threads sleeping at once move it once, not once each."""
        if self._host is not None:
            return sleep(seconds)
        return self.thread_waited_for_real(lambda: sleep(seconds), None)

    def thread_waited_for_real(self, call, timeout):
        """``call()``, a real wait (of at most ``timeout`` seconds, None: no limit) of a
        thread of the suite's code that is not the test's: the test's clock then reads
        at least what it read at the wait's start plus the real time it took (the
        timeout when it passed), as a machine's runs on meanwhile; threads waiting at
        once move it once. With a host, only while no thread runs the host and the
        test's thread has left it alone (``_idle``: it waits natively, in an untimed
        ``join()`` or ``future.result()``): nothing else moves the clock then, and a
        thread that polls a descriptor of the machine until a deadline of that clock
        (multiprocessing's ``Connection.poll(0.1)``, ``Process.join(3)`` of a
        forkserver's worker) waited for ever."""
        me = current_thread()
        if (self._closed or me.ident in self._threads_before
                or me.name.startswith("simproc-")):
            return call()
        start_ns, began = self._now_ns(), _real_monotonic()
        try:
            return call()
        finally:
            waited = _real_monotonic() - began
            if timeout is not None:
                waited = min(waited, timeout)  # the same move in every run that timed out
            self._thread_waited_until(start_ns + round(waited * 1e9))

    def _thread_waited_until(self, target_ns: int) -> None:
        """A thread's real wait ended: the clock moves on to ``target_ns`` if it is
        not there yet and nothing else moves it (``thread_waited_for_real``)."""
        with self._lock:
            if self._closed or target_ns <= self._now_ns():
                return
            if self._host is None:
                self._catch_up()
                self._now = max(self._now, target_ns / 1e9)
                self._after_run()
                return
            if self._drivers or not self._idle():
                return  # a thread runs the host: the clock is its
            try:
                self._run_host(None, (target_ns - self._now_ns()) / 1e9)
            finally:
                self._after_run()

    def thread_sleep(self, seconds) -> bool:
        """``time.sleep`` in a thread of the suite's code, once the host exists: virtual
        seconds, which the host runs to (the test's thread, or this one when the test's
        has left the host alone). False for other threads: their sleep is real."""
        me = current_thread()
        if (self._host is None or self._closed or me.ident in self._threads_before
                or me.name.startswith("simproc-")):
            return False
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            return False  # the real call's TypeError
        if seconds != seconds or seconds < 0:
            return False  # and its ValueError
        self.block(lambda: False, seconds)
        return True

    @selfusage.machinery
    def run_now(self, until_output: bool = False) -> None:
        """Let whatever can run at the current virtual instant run; with
        ``until_output``, only until a program wrote to a stdout or stderr pipe of the
        test (or closed it)."""
        with self._lock:
            if self._closed:
                return
            if self._host is None:
                return
            try:
                self._run_host(self._output_due if until_output and self._feeders else None,
                               0)
            finally:
                self._after_run()

    def _output_due(self) -> bool:
        """A program's side of a stdout or stderr pipe of the test holds what the test's
        side does not yet (pipes.py's relays move it at the end of the run)."""
        ready = self._relay_events.look()
        # (a relay that holds back for another reader of the test's side, a pipeline,
        # leaves the program's side full: that is not new)
        return any(getattr(feeder, "_source", None) in ready
                   and not (feeder.shared and feeder._buf) for feeder in self._feeders)

    @selfusage.waiting
    def block(self, predicate, timeout=None, pause=None, linger=0) -> bool:
        """Run the host until ``predicate()`` holds or ``timeout`` virtual seconds have
        passed; returns ``predicate()``.

        Only the test's own thread drives virtual time. Another thread that blocks (a
        reader thread, say) waits for the test's thread to run the host, and drives it
        itself only when the test's thread has left the host alone for a while (it is
        then blocked natively, e.g. in ``queue.get()`` or ``join()``) and no other
        thread is running it (they would pile up, each in the other's pause).
        Meanwhile it waits on the session, or in ``pause(seconds)`` (the session's lock
        released) for a wait that something else can end sooner.

        ``linger``: a run that finds ``predicate()`` true goes on for up to that many
        host steps, or until no program can run at the current instant (``_run_plain``),
        as a busy writer natively goes on while its reader wakes up."""
        if _thread.get_ident() == self._ident:
            self._last_run = _real_monotonic()  # a helper running the host hands over
            with self._lock:
                self._drive(predicate, timeout, linger)
                return bool(predicate())
        deadline = None if timeout is None else self._now_ns() + int(round(timeout * 1e9))
        with self._lock, self._waiting_for_host(predicate, deadline):
            while True:
                if predicate():
                    return True
                if self._closed:
                    return False
                now_ns = self._now_ns()
                if deadline is not None and now_ns >= deadline:
                    return False
                if self._idle() and not self._drivers:
                    remaining = None if deadline is None else (deadline - now_ns) / 1e9
                    self._drive(predicate, remaining, linger)
                    continue
                if pause is None:
                    self._cond.wait(_HELPER_GRACE / 5)
                    continue
                state = self._lock._release_save()
                try:
                    pause(_HELPER_GRACE / 5)
                finally:
                    self._lock._acquire_restore(state)

    @contextlib.contextmanager
    def _waiting_for_host(self, predicate, deadline):
        """A helper thread inside ``block`` waits for the host: it is not the outside
        while ``predicate()`` is false, and its deadline is one the host runs to."""
        me = _thread.get_ident()
        self._waiting[me] = predicate
        self._entries += 1
        if deadline is not None:
            self._deadlines[me] = deadline
        try:
            yield
        finally:
            self._waiting.pop(me, None)
            self._deadlines.pop(me, None)

    def _drive(self, predicate, timeout, linger=0) -> None:
        if self._closed:
            return
        if predicate():
            return
        try:
            self._run_host(predicate, timeout, linger)
        finally:
            self._after_run()

    def _others_live(self, tids=None) -> bool:
        """Whether a thread of the test other than the caller lives: its own thread,
        or one running the suite's code (not the host's, ``simproc-*``, nor one of
        pytest or its plugins, such as pytest-xdist's or pytest-timeout's); ``tids``:
        ``_other_tids()`` if the caller has it."""
        return bool((self._other_tids() if tids is None else tids)
                    or set(self._waiting) - {_thread.get_ident()})

    def _next_event_ns(self) -> int | None:
        """When the host next does something by itself (a timer, a timed wait, the
        end of the programs' CPU burst: busy programs move the clock), or None."""
        engine = self.host._engine

        def upcoming():
            burst = engine.burst.unapplied_ns
            return _earliest(engine.sched.next_deadline(), engine.events.next_time(),
                             engine.clock.now_ns + burst if burst else None)
        return self.host._tracer.call(upcoming)

    # ------------------------------------------------------------ pids
    def _lookup(self, pid: int):
        """The host's SimProcess with this pid, or None."""
        if self._host is None or isinstance(pid, bool) or not isinstance(pid, int) or pid <= 1:
            return None
        try:
            return self._host.process(pid)
        except LookupError:
            return None

    def _has_group(self, pgid: int) -> bool:
        if self._host is None or pgid <= 1:
            return False
        return any(p.pgid == pgid and (p.state != "reaped" or self._zombie_child(p.pid))
                   for p in self._host.processes())

    def _owns_group(self, pgid: int) -> bool:
        """A group number that is or was the host's (a group is named by its first
        leader's pid): never one for the machine's real functions."""
        return self._has_group(pgid) or self._lookup(pgid) is not None

    def _zombie_child(self, pid: int) -> bool:
        """A child of the test that ended and that it has not waited for yet."""
        child = self._children.get(pid)
        return child is not None and not child._waited and child._ended()

    def reaped(self, sp) -> None:
        """The test waited for its child ``sp``: its host lets the zombie go (the test
        is its parent there, identity.py; a closed host's stays as it was)."""
        host = self._host
        if host is None or host._closed or sp._proc.state != "zombie":
            return
        table = host._engine.table
        parent = table.outsider or (table.init if table.init_waits else None)
        if table.get(sp.pid) is not sp._proc or parent is None:
            return
        if threading.current_thread() is host._tracer._thread:
            table.reap(sp.pid, parent.pid)   # a wait's look while the host runs
            return
        with self._lock:
            host._tracer.call_idle(table.reap, sp.pid, parent.pid)

    def _exists(self, pid: int) -> bool:
        proc = self._lookup(pid)
        return proc is not None and (proc.state != "reaped" or self._zombie_child(pid))

    def _gone(self, pid: int) -> bool:
        proc = self._lookup(pid)
        return proc is None or proc.state in ("zombie", "reaped")

    @selfusage.machinery
    def kill(self, pid: int, sig) -> None:
        with self._held(), self._lock:
            if int(sig) == 0:  # does it exist?
                exists = self._has_group(-pid) if pid < 0 else self._exists(pid)
                if not exists:
                    raise ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH))
                return
            self._signal(pid, sig)

    @selfusage.machinery
    def killpg(self, pgid: int, sig) -> None:
        with self._held(), self._lock:
            if int(sig) == 0:
                if not self._has_group(pgid):
                    raise ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH))
                return
            self._signal(-pgid, sig)

    def _signal(self, target: int, sig) -> None:
        self._catch_up()  # the signal comes at the test's time
        try:
            self.host.kill(target, sig)
        except ProcessLookupError:
            # kill(2): a zombie (a child the test has not waited for) still exists and
            # the signal does nothing to it
            if not (self._has_group(-target) if target < 0 else self._exists(target)):
                raise ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH)) from None
        finally:
            self._pidfds.refresh(self._gone)  # a SIGKILL ends its target at once

    # ------------------------------------------------------------ spawning
    @selfusage.machinery(blocks=True)
    def spawn(self, popen: SimPopen, stdin) -> None:
        """Spawn ``popen``'s program now, with ``stdin`` (None, bytes or an fd)."""
        with self._held(), self._lock:
            self._spawn_locked(popen, stdin)

    def _spawn_locked(self, popen: SimPopen, stdin) -> None:
        self._touch()
        self._catch_up()  # the program starts at the test's time
        host = self.host
        cldstop.quiet()
        stdout, stderr = popen._host_stdio()
        sp = host.spawn(popen._argv, env=popen._env, cwd=popen._cwd, stdin=stdin,
                        stdout=stdout, stderr=stderr, startup=True)
        popen._sp = sp
        popen._record = self._children[sp.pid] = forking.ForkedChild(self, sp, popen)


_LAZY_LOCK = threading.RLock()
_HOLD_LOCK = threading.Lock()  # the test's time limit is paused by one thread at a time
_machinery_seen: tuple = ((), frozenset())   # (threads, the machinery's idents among them)


def _machinery_threads(me, threads: list) -> frozenset:
    """The idents of the machinery's threads (threadwait.machinery) among ``threads``
    other than ``me``; the answer of the last call when the same threads are there
    (most tests start none)."""
    global _machinery_seen
    threads = (me, *threads)
    seen, idents = _machinery_seen
    if threads != seen:
        idents = frozenset(t.ident for t in threads[1:]
                           if t.ident != me and threadwait.machinery(t))
        _machinery_seen = (threads, idents)
    return idents


def _lingering(predicate, steps: int):
    """(until, at_idle) for a run that goes on ``steps`` host steps after
    ``predicate()`` first holds, and ends when the host is idle at the current instant
    and ``predicate()`` holds. A count of steps: a run ends at the same point every
    time."""
    held = [None]  # steps since predicate() first held

    def until() -> bool:
        if held[0] is None:
            if not predicate():
                return False
            held[0] = 0
        held[0] += 1
        return held[0] > steps

    return until, lambda: held[0] is not None or predicate()


def _never() -> bool:
    return False


def _earliest(*times):
    times = [t for t in times if t is not None]
    return min(times) if times else None
