"""A test's time limit (pytest-timeout's) counts the test's time: real outside its
host, virtual inside.

pytest-timeout arms a real timer for each test: SIGALRM from ``setitimer`` (its signal
method) or a thread that dumps the stacks and ends the process (its thread method).
Under ``--simproc`` a test's sleeps and waits on its programs take virtual time and
next to no real time, so ``time.sleep(10)`` under ``@pytest.mark.timeout(1)`` returned
at once and passed, where natively it times out; and its programs' calls cost the
tracer real time that natively they do not (plumbum's draining tests: 90,000 traced
pipe writes, 0.7 s natively, past their real 3 s limit). So the real timer of a
test's own limit (its ``timeout`` marker) is paused while the host runs for the test's
thread (``pause``: what is left of it, read and disarmed at once), and the run is
cut where the rest runs out in virtual time; after the run the timer goes on with
the rest less the run's virtual length (``resume``), or fires there if none is left:
what the real timer fires (the same handler, message and stack dump). Outside the
host's runs the timer counts real time as natively: a test that computes, or hangs
in a native wait, or waits for its other threads within a run, is caught in real
time. A helper thread's run of the host pauses it only while the test's thread sleeps
in a native wait (``join()`` of that helper, say), not while it computes; a limit
that runs out there reaches the main thread as SIGALRM does natively.
The run's limit (``--timeout``, the ini's ``timeout``, PYTEST_TIMEOUT) guards against
hangs: it stays real, since a test's virtual hour of sleep is no hang (this package's
own inner suites run under ``--timeout 120`` and sleep an hour).
"""
from __future__ import annotations

import signal
import threading

import pytest

from .routing import _real_monotonic, active_session

_LIMIT = pytest.StashKey()  # item -> the limit pytest-timeout armed for it
_SESSION = pytest.StashKey()  # item -> the session that took its limit


def armed(item, settings) -> None:
    """pytest-timeout armed its timer for ``item`` (before the test's session starts
    unless the limit is the function's alone): the timer becomes one the session can
    pause, when the limit is the test's own (its marker)."""
    if not _own_limit(item):
        return
    method = settings.method
    if method == "signal" and threading.current_thread() is not threading.main_thread():
        method = "thread"  # as pytest-timeout decides
    if method == "signal":
        limit = _SignalTimer(signal.getsignal(signal.SIGALRM))
    else:
        limit = _ThreadTimer(item, settings)
    item.stash[_LIMIT] = limit
    session = active_session()
    if session is not None and not session._closed:
        arm(item, session)


def _own_limit(item) -> bool:
    """The test's limit comes from its ``timeout`` marker (its first argument or
    ``timeout=``), not from the run's settings."""
    marker = item.get_closest_marker("timeout")
    if marker is None:
        return False
    limit = marker.args[0] if marker.args else marker.kwargs.get("timeout")
    return limit is not None


def arm(item, session) -> None:
    """The test's session takes ``item``'s limit."""
    limit = item.stash.get(_LIMIT, None)
    if limit is None:
        return
    item.stash[_SESSION] = session
    session.set_limit(limit)


def disarmed(item) -> None:
    """pytest-timeout cancels its timer."""
    if _LIMIT in item.stash:
        del item.stash[_LIMIT]
    if _SESSION in item.stash:  # (a session carried to the next test keeps no stale limit)
        item.stash[_SESSION].set_limit(None)
        del item.stash[_SESSION]


class _SignalTimer:
    """pytest-timeout's signal method: its ITIMER_REAL, whose expiry runs its SIGALRM
    handler in the test's (main) thread."""

    def __init__(self, handler):
        self._handler = handler

    def pause(self) -> float | None:
        """Seconds left, the timer disarmed; None when it is not running (expired,
        cancelled, or the test put its own SIGALRM handler in place)."""
        if signal.getsignal(signal.SIGALRM) is not self._handler:
            return None
        left, _ = signal.setitimer(signal.ITIMER_REAL, 0)  # the old value (getitimer(2))
        return left or None

    def resume(self, left: float) -> None:
        """Armed again with ``left`` seconds; none left: it fires now, here."""
        if left > 0:
            signal.setitimer(signal.ITIMER_REAL, left)
        elif threading.current_thread() is threading.main_thread():
            signal.raise_signal(signal.SIGALRM)  # its handler runs here (signal(7))
        else:  # a helper thread's run: to the main thread, which it ends a wait of
            signal.pthread_kill(threading.main_thread().ident, signal.SIGALRM)


class _ThreadTimer(threading.Timer):
    """pytest-timeout's thread method, pausable: its ``threading.Timer`` runs
    ``timeout_timer`` (dump the stacks, ``os._exit(1)``) after the limit; this one
    does the same under the same name, replacing it at once (its ``cancel_timeout``
    is the item's), and stops counting while paused."""

    def __init__(self, item, settings):
        import pytest_timeout
        cancel = getattr(item, "cancel_timeout", None)
        if cancel is not None:
            cancel()  # pytest-timeout's own Timer ends without firing
        super().__init__(settings.timeout, pytest_timeout.timeout_timer, (item, settings))
        self.name = f"{pytest_timeout.__name__} {item.nodeid}"
        self.daemon = True
        self._changed = threading.Condition()
        self._due = _real_monotonic() + settings.timeout  # None: paused
        item.cancel_timeout = self._cancel
        self.start()

    def run(self):
        with self._changed:
            while not self.finished.is_set():
                if self._due is None:
                    self._changed.wait()
                    continue
                left = self._due - _real_monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            else:
                return
            self._due = None
            self.finished.set()  # it fires once
        self.function(*self.args)

    def pause(self) -> float | None:
        with self._changed:
            if self._due is None or self.finished.is_set():
                return None
            left, self._due = self._due - _real_monotonic(), None
            if left <= 0:
                self._due = _real_monotonic()  # due: it fires, as if not paused
                return None
            return left

    def resume(self, left: float) -> None:
        with self._changed:
            self._due = _real_monotonic() + max(left, 0)
            self._changed.notify()
        if left <= 0:
            # it dumps the stacks (this thread's among them) and ends the process;
            # this thread waits, as it would still be in its wait natively
            self.join()

    def _cancel(self):
        with self._changed:
            self.finished.set()
            self._changed.notify()
        if threading.current_thread() is not self:
            self.join()
