"""The test's own SIGALRM timer counts the test's time: virtual while its host runs
for the test, real outside.

``signal.alarm(1)`` or ``signal.setitimer(signal.ITIMER_REAL, 1)`` around a call that
should be cut (timeout-decorator's signal method, hand-written guards) arms a real
timer and expects SIGALRM while the call sleeps or waits. Under ``--simproc`` the
test's sleeps and waits for its programs take virtual time and next to no real time:
``time.sleep(2)`` under a 1 s alarm returned before the timer fired, and the test's
TimeoutError never came. So while the session moves the test's clock for its thread,
the timer is paused (read and disarmed at once: setitimer(2) returns the old value),
the move is cut where the timer runs out in virtual time, and SIGALRM is raised there:
its handler runs in the main thread (signal(7)), and what it raises ends the sleep or
wait, as natively; one that returns lets the call go on (PEP 475). An interval arms
it again. Whatever is left goes back on the real timer after the move, so the
test's computing and native waits count in real time, as natively.
pytest-timeout's timer (its handler) is its limit's (timelimit.py), not the test's.
"""
from __future__ import annotations

import _thread
import signal
import threading

_ALARM = signal.SIGALRM
_REAL = signal.ITIMER_REAL


def paused() -> tuple[float, float] | None:
    """``(left, interval)`` of the test's own ITIMER_REAL, which is now disarmed; None
    when it is not armed, is pytest-timeout's, or the caller is not the main thread
    (the only one that runs Python's signal handlers)."""
    if _thread.get_ident() != threading.main_thread().ident:
        return None
    if getattr(signal.getsignal(_ALARM), "__module__", None) == "pytest_timeout":
        return None
    if not signal.getitimer(_REAL)[0]:
        return None
    left, interval = signal.setitimer(_REAL, 0)
    return (left, interval) if left else None  # (it may have fired in between)


def resume(left: float, interval: float) -> None:
    """The timer goes on with ``left`` seconds, in real time."""
    signal.setitimer(_REAL, left, interval)


def fire(interval: float) -> None:
    """The timer runs out here: armed again for its interval, if any, and SIGALRM
    raised, whose handler runs before this returns (or raises what it raises)."""
    if interval:
        signal.setitimer(_REAL, interval, interval)
    signal.raise_signal(_ALARM)
