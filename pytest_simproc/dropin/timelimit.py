"""A test's time limit (pytest-timeout's) counts in the test's virtual time too.

pytest-timeout arms a real timer for each test: SIGALRM from ``setitimer`` (its signal
method) or a thread that dumps the stacks and ends the process (its thread method).
Under ``--simproc`` a test's sleeps and waits on its programs take virtual time and
next to no real time, so ``time.sleep(10)`` under ``@pytest.mark.timeout(1)``
returned at once and the test passed, where natively it times out. So a test's own limit
(its ``timeout`` marker) holds in both clocks: the real timer stays (a wait outside the
host that hangs, as natively, is still caught), and the session stops its runs and
sleeps when virtual time reaches the limit, counted from when pytest-timeout armed its
timer, and fires what the real timer would have fired (``DropinSession.set_alarm``).
The run's limit stays a real-time guard against hangs.
"""
from __future__ import annotations

import signal
import threading

import pytest

from .routing import active_session

# item -> (seconds, method, settings) of the limit pytest-timeout armed for it
_ARMED = pytest.StashKey()
_SESSION = pytest.StashKey()  # item -> the session that took its limit


def armed(item, settings) -> None:
    """pytest-timeout armed its timer for ``item`` (before the test's session starts
    unless the limit is the function's alone): the session's alarm follows, when the
    limit is the test's own (its marker). The run's (``--timeout``, the ini's
    ``timeout``, PYTEST_TIMEOUT) guards against hangs: it stays real, since a test's
    virtual hour of sleep is no hang (this package's own inner suites run under
    ``--timeout 120`` and sleep an hour)."""
    if not _own_limit(item):
        return
    method = settings.method
    if method == "signal" and threading.current_thread() is not threading.main_thread():
        method = "thread"  # as pytest-timeout decides
    item.stash[_ARMED] = (float(settings.timeout), method, settings)
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
    """The test's session takes ``item``'s limit, counted from now in its clock (the
    session's start: no virtual time passed before it)."""
    limit = item.stash.get(_ARMED, None)
    if limit is None:
        return
    seconds, method, settings = limit
    item.stash[_SESSION] = session
    session.set_alarm(session._now_ns() + round(seconds * 1e9),
                      lambda: _fire(item, method, settings))


def disarmed(item) -> None:
    """pytest-timeout cancelled its timer."""
    if _ARMED in item.stash:
        del item.stash[_ARMED]
    if _SESSION in item.stash:  # (a session carried to the next test keeps no stale limit)
        item.stash[_SESSION].set_alarm(None)
        del item.stash[_SESSION]


def _fire(item, method: str, settings) -> None:
    """What pytest-timeout's real timer does when it expires."""
    if method == "signal":
        signal.setitimer(signal.ITIMER_REAL, 0)  # expired: it fires once
        signal.raise_signal(signal.SIGALRM)  # its handler runs here (signal(7))
        return
    import pytest_timeout
    # its thread dumps the other threads' stacks (this one's among them) and ends the
    # process; this thread waits, as it would still be in its wait natively
    timer = threading.Thread(target=pytest_timeout.timeout_timer, args=(item, settings),
                             name=f"pytest_timeout {item.nodeid}", daemon=True)
    timer.start()
    timer.join()
