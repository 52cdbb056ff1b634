"""Timed waits of the test's threads count the host's virtual time.

A thread of the test that waits with a timeout (``threading.Timer``, ``Event.wait``,
``Condition.wait`` and what is built on them: ``Queue.get``/``put``,
``Semaphore.acquire``, ``Barrier.wait``, ``concurrent.futures``; and
``Thread.join(timeout)``) waited in real time, while the programs it waits against live
in virtual time: sh's ``_timeout=1`` (a Timer) on a ``sleep 3`` fired only after the
sleep had ended in no wall time. Once the test's host exists, such a wait's timeout is
virtual: its deadline is one of the host's (``DropinSession._deadlines``), so a run of
the host stops there and the waiter wakes with the clock at its deadline; a
``notify``/``set`` (or the end of the joined thread) wakes it at once, as natively.

Where the outside enters: a notify releases the waiter's own lock (a real one), and the
clock moves past an instant only once the test's other threads are quiet (session.py's
``_await_quiet``), a thread woken by its deadline included. The test's own thread runs
the host while it waits; another thread waits for it, and runs the host itself once the
test's thread has left the host alone for a while (``DropinSession.block``).

Installed when the host is created and removed when the session stops: a test that
starts no process never sees these functions. Before the host, the test's own timed
``Condition.wait`` is real and moves its clock on by the time it took
(``_outside_condition_wait``), as ``routing.waited_outside`` does for a poll. Only the test's thread and the threads
that run the suite's code (started by this test or an earlier one) take part; pytest's
and its plugins', the host's own (``simproc-*``) and calls from the machinery keep the
real functions.

``Lock.acquire(timeout=)`` and ``RLock.acquire(timeout=)`` block in C, out of reach of
a patch: so the suite's own code, while a session is active, gets from
``threading.Lock()`` and ``threading.RLock()`` a lock whose timed acquire is such a
virtual wait once the host exists (``sim_lock``, ``sim_rlock``: patches.py installs
them with the other fakes). Locks made by the standard library, pytest and its
plugins, by this package, outside a session, or with ``_thread`` directly stay
native, and so do their waits.
"""
from __future__ import annotations

import _thread
import math
import queue
import sys
import threading
import time as _time
import types
from typing import TYPE_CHECKING

from . import routing
from .routing import _matches, _real_monotonic

if TYPE_CHECKING:
    from .session import DropinSession

_real_lock = threading.Lock
_real_rlock = threading.RLock
_real_rlock_acquire = _thread.RLock.acquire
_real_condition_wait = threading.Condition.wait
_real_join = threading.Thread.join
_real_threading_time = threading._time
_real_queue_time = queue.time

# Waits called from these modules are real; so are those of threads started during
# the test to run code of pytest's plugins (pytest-timeout's timer, with func_only).
_MACHINERY = ("pytest_simproc", "_pytest", "pytest", "pluggy", "freezegun",
              "pytest_timeout", "xdist", "execnet")
_PLUGIN_THREADS = ("_pytest", "pytest", "pluggy", "pytest_timeout", "xdist", "execnet")
_plugin_modules: set[str] = set()  # note_plugins
_LIBRARY = ("threading", "queue")  # frames passed over to find who waits
# the standard library's top-level names, less "test", which many suites' tests use
_STDLIB = sys.stdlib_module_names - {"test"}
# How often (real seconds) a join looks whether its thread has ended, and a wait the
# test outlived whether it is over.
_JOIN_LOOK = 0.005
_LOOK = 0.05

_session: "DropinSession | None" = None
_session_pid = 0  # the test's process: a copy of it forked by the test is not its
_base = (0.0, 0)  # (real monotonic, virtual ns) when the host was made
_gates: dict = {}  # ident of a waiting thread -> (its deadline in virtual ns, its _Gate)


class _Gate:
    """A real lock that a waiting thread sleeps on; opened by a notify or by the host
    reaching the thread's deadline (``wake_due``), at most once per sleep."""

    def __init__(self):
        self._lock = _thread.allocate_lock()
        self._lock.acquire()
        self._guard = _thread.allocate_lock()

    def open(self) -> None:
        with self._guard:
            if self._lock.locked():
                self._lock.release()

    def sleep(self, seconds: float) -> None:
        self._lock.acquire(True, seconds)


class _Waiter(_Gate):
    """What a virtual ``Condition.wait`` puts in the condition's list of waiters:
    ``notify`` calls ``release``, as it would on the real waiter lock."""

    notified = False

    def release(self) -> None:
        self.notified = True
        self.open()


def install(session: "DropinSession") -> None:
    """The host exists: the test's timed waits follow its clock."""
    global _session, _session_pid, _base
    _base = (_real_monotonic(), session._now_ns())
    _gates.clear()
    _last_reads.clear()
    _session, _session_pid = session, routing._real_getpid()
    threading.Condition.wait = _sim_condition_wait
    threading.Thread.join = _sim_join
    threading._time = queue.time = _virtual_monotonic


def install_outside(session: "DropinSession") -> None:
    """The session starts, before any host: the test's timed waits are real, and move
    its clock on as much (``_outside_condition_wait``)."""
    threading.Condition.wait = _outside_condition_wait


def uninstall_outside() -> None:
    if threading.Condition.wait is _outside_condition_wait:
        threading.Condition.wait = _real_condition_wait


def _outside_condition_wait(self, timeout=None):
    """``Condition.wait`` of the test's thread before its host exists: a real wait that
    moves the test's clock on by the time it took (``routing.waited_outside``), as a
    machine's clock runs on meanwhile. pebble's ``waitforthreads`` waits on an Event
    for what is left of its timeout by its clock: that clock stood still while the
    wait was real, and it waited until the thread ended instead."""
    seconds = _timeout(timeout)
    if seconds is None or not _suite_code(2):
        return _real_condition_wait(self, timeout)
    return routing.waited_outside(lambda: _real_condition_wait(self, timeout), seconds,
                                  hostless=True)


def uninstall(session: "DropinSession") -> None:
    global _session
    if _session is not session:
        return
    _session = None
    threading.Condition.wait = _real_condition_wait
    threading.Thread.join = _real_join
    threading._time = _real_threading_time
    queue.time = _real_queue_time
    for _, gate in list(_gates.values()):
        gate.open()  # a wait still under way finishes in real time


def wake_due(session: "DropinSession") -> None:
    """After a run of the host: wake the threads whose deadline has come."""
    if _gates and session is _session:
        now = session._now_ns()
        for deadline, gate in list(_gates.values()):
            if deadline <= now:
                gate.open()


def note_plugins(pluginmanager) -> None:
    """Remember the modules of the plugins installed as distributions (entry points),
    whose threads are machinery: pytest-rerunfailures' status server waits in a real
    accept() for the whole run. Conftest files are the suite's code and stay out."""
    for plugin, _dist in pluginmanager.list_plugin_distinfo():
        name = getattr(plugin, "__name__", None)
        if isinstance(name, str):
            _plugin_modules.add(name)


def machinery(thread) -> bool:
    """A thread of pytest, its plugins or the host, or one threading did not start
    (a dummy thread): never part of a test's virtual time. Any other thread runs the
    suite's code, whichever test started it (plumbum's timeout thread lives on from
    the first test that used a timeout, as it would natively)."""
    if thread.name.startswith("simproc-") or isinstance(thread, threading._DummyThread):
        return True
    code = getattr(thread, "function", None) or getattr(thread, "_target", None)
    if code is None and type(thread).run is not threading.Thread.run:
        code = type(thread).run  # a subclass's own run()
    module = getattr(code, "__module__", None) or ""
    # a plugin's: installed as one, or named as plugins are (pytest_*); not this
    # package's, whose functions the suite's threads run (a Timer's ``p.kill``)
    return (module in _plugin_modules or _matches(module, _PLUGIN_THREADS)
            or module.startswith("pytest_") and not _matches(module, ("pytest_simproc",)))


def _test_thread(session: "DropinSession", thread) -> bool:
    """The test's own thread, or one that runs the suite's code."""
    return thread.ident == session._ident or not machinery(thread)


def _virtual_session(depth: int) -> "DropinSession | None":
    """The session whose clock a timed wait ``depth`` frames up follows, or None.
    None in a child the test forked (multiprocessing's fork): its thread has the test
    thread's ident, but its waits are the host's (syscalls/thread.py); run from there,
    the session's machinery waited on locks that no thread of the copy would release."""
    session = _session
    if (session is None or session._closed or routing._real_getpid() != _session_pid
            or not _test_thread(session, routing.current_thread())):
        return None
    return session if _suite_code(depth + 1) else None


def _suite_code(depth: int) -> bool:
    """The wait ``depth`` frames up (past ``threading``'s and ``queue``'s) is not the
    machinery's."""
    frame = sys._getframe(depth)
    while frame is not None and _matches(frame.f_globals.get("__name__") or "", _LIBRARY):
        frame = frame.f_back
    return frame is None or not _matches(frame.f_globals.get("__name__") or "", _MACHINERY)


def _virtual_monotonic(depth: int = 2) -> float:
    """``threading``'s and ``queue``'s clock (their deadlines for Condition.wait_for,
    Semaphore.acquire, Queue.get): virtual time in the test's threads, continuous with
    the real clock at the host's creation. ``depth``: the caller's frame."""
    session = _virtual_session(depth)
    if session is None:
        return _real_monotonic()
    real, virtual = _base
    return real + (session._now_ns() - virtual) / 1e9


class _VirtualTimeModule(types.ModuleType):
    """A ``time`` module for a standard module that freezegun leaves on the real clock
    (its ignore list: multiprocessing): ``monotonic`` is ``_virtual_monotonic``, the
    rest is ``time``'s. multiprocessing.connection's ``wait`` (``Connection.poll``)
    takes its deadline from it: on the real clock, a wait whose virtual timeout had
    passed in no wall time began again for what was left, until the other end wrote."""

    def __getattr__(self, name):
        return getattr(_time, name)


def _stepping_monotonic() -> float:
    """``_virtual_monotonic``, never the same value twice in a thread: a read while
    virtual time stands still is 1 ns past the thread's last, as two reads on a machine
    never agree. multiprocessing's ``wait`` gives up once its time left is below zero:
    at its deadline exactly it would poll with a zero timeout for ever."""
    value = _virtual_monotonic(3)
    me = _thread.get_ident()
    last = _last_reads.get(me)
    if last is not None and value <= last:
        value = max(last + 1e-9, math.nextafter(last, math.inf))
    _last_reads[me] = value
    return value


_last_reads: dict = {}  # ident of a thread -> what _stepping_monotonic last gave it
virtual_time = _VirtualTimeModule("time")
virtual_time.monotonic = _stepping_monotonic


def _timeout(value) -> float | None:
    """A timeout the virtual wait takes, or None for the real call (which blocks not
    at all, or raises what it raises)."""
    if isinstance(value, (int, float)):
        seconds = float(value)
        if 0 < seconds < threading.TIMEOUT_MAX:
            return seconds
    return None


def _sim_condition_wait(self, timeout=None):
    seconds = _timeout(timeout)
    if seconds is None and timeout is None:
        session = _untimed_session(_virtual_session(2))
    else:
        session = None if seconds is None else _virtual_session(2)
    if session is None or self is session._cond:
        return _real_condition_wait(self, timeout)
    if not self._is_owned():
        raise RuntimeError("cannot wait on un-acquired lock")
    waiter = _Waiter()
    self._waiters.append(waiter)
    saved = self._release_save()
    try:
        if seconds is None:
            _wait_untimed(session, lambda: waiter.notified, waiter.sleep, waiter)
        else:
            _wait(session, lambda: waiter.notified, seconds, waiter.sleep, waiter)
    finally:
        self._acquire_restore(saved)
        if not waiter.notified:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                pass
    return waiter.notified


def _sim_join(self, timeout=None):
    seconds = _timeout(timeout)
    session = None if seconds is None else _virtual_session(2)
    if session is None or not _test_thread(session, self):
        return _real_join(self, timeout)   # a thread of pytest's runs in real time
    _real_join(self, 0)   # its checks (not started, the current thread), or done
    if self.is_alive():
        _wait(session, lambda: not self.is_alive(), seconds,
              lambda s: _real_join(self, min(s, _JOIN_LOOK)))


def _wait(session: "DropinSession", ready, seconds: float, pause, gate=None) -> None:
    """Wait until ``ready()`` or until ``seconds`` of the host's time have passed: the
    host runs meanwhile (``DropinSession.block``), and the thread sleeps in ``pause``
    when another runs it (on ``gate``, which the deadline opens, if it has one)."""
    me = _thread.get_ident()
    deadline = session._now_ns() + math.ceil(seconds * 1e9)
    if gate is not None:
        _gates[me] = (deadline, gate)
    try:
        while not ready():
            if session._closed or _session is not session:
                _finish_real(session, ready, deadline, pause)
                return
            now = session._now_ns()
            if now >= deadline:
                return
            if session.block(ready, (deadline - now) / 1e9, pause):
                return
            if me == session._ident and not session._others_live():
                # no thread of the test is left to end it: the clock moves to its end,
                # though nothing in the host runs
                session.sleep(max(0, deadline - session._now_ns()) / 1e9)
    finally:
        _gates.pop(me, None)


def _untimed_session(session: "DropinSession | None") -> "DropinSession | None":
    """``session`` if the caller is the test's own thread: the one that drives the
    host while it waits without a limit (``_wait_untimed``)."""
    if session is None or _thread.get_ident() != session._ident:
        return None
    return session


def _wait_untimed(session: "DropinSession", ready, pause, gate) -> None:
    """An untimed wait of the test's own thread (``Queue.get()``, ``Event.wait()``)
    once the host exists. Natively the programs run on meanwhile, and the thread that
    ends the wait may be waiting for them: hupper's reader thread began its real read
    of a pipe before the host existed, and the program that writes to it came later.
    The host runs as for a helper's wait without a limit in ``block`` (one instant at
    a time, the clock moving only once the test's other threads are quiet); while
    nothing in the host runs, or no other thread is left to end the wait, it is
    real."""
    me = _thread.get_ident()
    _gates[me] = (math.inf, gate)
    try:
        while not ready():
            if session._closed or _session is not session:
                _finish_real(session, ready, math.inf, pause)
                return
            host = session._host
            if host is None or host._engine.alive == 0 or not session._others_live():
                pause(_LOOK)
                continue
            session.block(ready, None, pause)
    finally:
        _gates.pop(me, None)


def library_module(name: str, machinery=_MACHINERY) -> bool:
    """Module ``name`` is the standard library's or one of ``machinery`` (pytest's, a
    plugin's, this package's): not the suite's code. Asked at every clock read and
    lock the suite's code makes: each answer is kept (a few hundred modules)."""
    known = _library.get((name, machinery))
    if known is None:
        known = _library[name, machinery] = (name.partition(".")[0] in _STDLIB
                                             or _matches(name, machinery))
    return known


_library: dict[tuple[str, tuple], bool] = {}   # (name, machinery) -> library_module's


def _stdlib_or_machinery(depth: int) -> bool:
    """The code ``depth`` frames up is the standard library's, pytest's, a plugin's or
    this package's: the lock it makes stays native."""
    try:
        name = sys._getframe(depth).f_globals.get("__name__") or ""
    except ValueError:
        return True
    return library_module(name)


def sim_lock():
    """``threading.Lock()``: a _SimLock for the suite's code during a session."""
    if routing._ACTIVE is None or _stdlib_or_machinery(2):
        return _real_lock()
    return _SimLock()


def sim_rlock(*args, **kwargs):
    """``threading.RLock()``: a _SimRLock for the suite's code during a session."""
    if routing._ACTIVE is None or _stdlib_or_machinery(2):
        return _real_rlock(*args, **kwargs)
    return _SimRLock(*args, **kwargs)


def _timed_acquire(acquire, free, blocking, timeout) -> bool:
    """``acquire(blocking, timeout)`` of a lock, or, with a timeout in a test's thread
    once the host exists, the same wait in the host's time: the lock is tried at every
    look, and a thread that does not run the host sleeps on the lock itself, so a
    release wakes it at once. ``free()``: whether another thread could take the lock
    now, asked by the thread that runs the host, which must not take it."""
    seconds = _timeout(timeout) if blocking else None
    session = None if seconds is None else _virtual_session(3)
    if session is None:
        return acquire(blocking, timeout)
    taking = Taking(acquire, free)

    def pause(seconds: float) -> None:
        taking.got = taking.got or acquire(True, seconds)

    _wait(session, taking, seconds, pause)
    return taking.got


class Taking:
    """The ``ready()`` of a wait for a lock, which only the waiting thread takes: asked
    by it, the lock is tried (``acquire(False)``) and ``got`` says whether it has it;
    asked by another thread (the one running the host, which must not take it),
    ``free()`` says whether it could be taken now."""

    __slots__ = ("got", "_acquire", "_free", "_me")

    def __init__(self, acquire, free):
        self.got = False
        self._acquire, self._free, self._me = acquire, free, _thread.get_ident()

    def __call__(self) -> bool:
        if _thread.get_ident() != self._me:
            return self.got or self._free()
        self.got = self.got or self._acquire(False)
        return self.got


class _SimLock:
    """What ``threading.Lock()`` gives the suite's code in a session: a real lock
    (``_thread.lock`` cannot be subclassed) whose timed acquire is virtual."""

    __slots__ = ("_lock", "release", "locked", "_at_fork_reinit", "__weakref__")

    def __init__(self):
        lock = self._lock = _real_lock()
        self.release, self.locked = lock.release, lock.locked
        self._at_fork_reinit = lock._at_fork_reinit

    def acquire(self, blocking=True, timeout=-1):
        if timeout == -1 or _session is None:
            return self._lock.acquire(blocking, timeout)
        lock = self._lock
        return _timed_acquire(lock.acquire, lambda: not lock.locked(), blocking, timeout)

    acquire_lock = acquire

    def __enter__(self):
        return self._lock.acquire()

    def __exit__(self, *exc):
        self._lock.release()

    def __repr__(self):
        return repr(self._lock).replace("_thread.lock", "_SimLock", 1)


class _SimRLock(_thread.RLock):
    """What ``threading.RLock()`` gives the suite's code in a session: a real RLock
    whose timed acquire is virtual."""

    __slots__ = ()

    def acquire(self, blocking=True, timeout=-1):
        if timeout == -1 or _session is None:
            return _real_rlock_acquire(self, blocking, timeout)
        return _timed_acquire(lambda *args: _real_rlock_acquire(self, *args),
                              self._free, blocking, timeout)

    def _free(self) -> bool:
        """No thread holds it (asked by another than the waiter: taken for a moment
        unless the asker holds it itself)."""
        if self._is_owned() or not _real_rlock_acquire(self, False):
            return False
        _thread.RLock.release(self)
        return True


def _finish_real(session, ready, deadline: int, pause) -> None:
    """The test ended during the wait: what is left of it passes in real time."""
    end = _real_monotonic() + max(0, deadline - session._now_ns()) / 1e9
    while not ready():
        left = end - _real_monotonic()
        if left <= 0:
            return
        pause(min(left, _LOOK))
