"""trio's run loop in the test follows the host, as asyncio's does (aio.py).

``trio.run`` reads its clock from ``time.perf_counter``, which the session freezes at
virtual time, and blocks in its epoll between timers. The real wait would never move
that clock (a ``trio.sleep(1)`` under ``--simproc`` spun forever) and never run the
programs a test started. So a wait of a loop that the test's thread runs during a
drop-in session runs the host instead, until one of the loop's descriptors is ready or
its next deadline comes in virtual time: ``trio.sleep(3600)`` returns at once, a
``fail_after`` is virtual, a program's output reaches ``open_process``'s streams.

While a job handed to a worker thread (``trio.to_thread.run_sync``; ``open_process``
starts its Popen there) is under way, the loop waits in real time, and virtual time
moves on by the real time it waited (routing.waited_outside): the thread may need the
machine. In guest mode (``start_guest_run``,
which anyio's trio backend uses for its tests) the test's thread makes the wait that
trio would hand to a worker thread. Loops of other threads, and trio without a
session, are trio's own.
"""
from __future__ import annotations

import sys
import threading
import weakref

from .aio import _OUTSIDE_SLICE, _test_thread_session, wait_in_host
from .routing import waited_outside
from .sockets import host_runs

# trio's longest wait (``trio._core._run._MAX_TIMEOUT``): a loop with no deadline
# asks for it, and means "until something happens".
_FOREVER = 24 * 60 * 60

# jobs the test's thread handed to trio's worker threads and not delivered yet
_jobs: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_jobs_lock = threading.Lock()  # the test's thread counts up, the workers down


def _make_get_events(real):
    def get_events(self, timeout):
        session = _test_thread_session()
        if session is None:
            return real(self, timeout)
        epoll = getattr(self._epoll, "_real", self._epoll)  # ready.py's wraps the real one
        max_events = max(1, len(self._registered))

        def poll(seconds):
            session._pidfds.refresh(session._gone)  # a pidfd polls readable at the end
            return epoll.poll(seconds, max_events)

        if timeout <= 0:
            # a loop that never waits (tasks to run, a MockClock's autojump) still
            # lets the programs act at this instant, as they would natively meanwhile
            if host_runs(session):
                session.run_now()
            return poll(0)
        if _jobs.get(session):  # a worker thread is at work: real time
            slice_ = min(timeout, _OUTSIDE_SLICE)
            return waited_outside(lambda: poll(slice_), slice_)
        found = []

        def ready():
            # the first events are the answer: trio registers EPOLLONESHOT (epoll(7))
            if not found:
                events = poll(0)
                if events:
                    found.append(events)
            return bool(found)

        outcome = wait_in_host(session, ready, None if timeout >= _FOREVER else timeout)
        if outcome:
            return found[0]
        if outcome is False:
            return []  # the deadline came
        # only the outside can end it
        return waited_outside(lambda: poll(_OUTSIDE_SLICE), _OUTSIDE_SLICE)
    return get_events


def _make_start_thread_soon(real):
    def start_thread_soon(self, fn, deliver, name=None):
        session = _test_thread_session()
        if session is None:
            return real(self, fn, deliver, name)
        if getattr(fn, "__qualname__", "").endswith("guest_tick.<locals>.get_events"):
            # guest mode's wait for I/O (anyio's trio backend runs its tests so): the
            # test's thread only waits for its answer, and only that thread moves
            # virtual time, so it waits itself; the answer goes to the host loop as
            # from the worker thread
            import outcome
            deliver(outcome.capture(fn))
            return None
        with _jobs_lock:
            _jobs[session] = _jobs.get(session, 0) + 1

        def delivered(outcome):
            with _jobs_lock:
                _jobs[session] -= 1  # before deliver wakes the loop
            return deliver(outcome)
        return real(self, fn, delivered, name)
    return start_thread_soon


# (module, class, method, the fake's maker)
_TARGETS = [("trio._core._io_epoll", "EpollIOManager", "get_events", _make_get_events),
            ("trio._core._thread_cache", "ThreadCache", "start_thread_soon",
             _make_start_thread_soon)]
_fakes: dict = {}   # (module, class, method) -> the fake installed


def install(undo: list) -> None:
    """Put the fakes on trio's classes once trio is imported (looked at every session's
    start; a few dict lookups), each with its undo entry (object, name, real)."""
    for module_name, class_name, method, make in _TARGETS:
        module = sys.modules.get(module_name)
        klass = getattr(module, class_name, None) if module is not None else None
        if klass is None:
            continue
        current = klass.__dict__.get(method)
        if current is None or current is _fakes.get((module_name, class_name, method)):
            continue
        fake = make(current)
        fake.__name__, fake.__qualname__ = current.__name__, current.__qualname__
        _fakes[module_name, class_name, method] = fake
        undo.append((klass, method, current))
        setattr(klass, method, fake)
