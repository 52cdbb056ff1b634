"""The test's waits on multiprocessing's locks and semaphores that its children hold.

A ``multiprocessing`` Lock, RLock, Semaphore (and the Condition, Event, Barrier and
queues built on them) is a POSIX semaphore in shared memory: its ``acquire`` sleeps in
C (sem_wait(3), sem_timedwait(3)) until another process posts it. In a host the test's
children run only while the test is inside a call that runs the host, so a test
waiting there for a lock a child holds waited for ever: an unclosed ``Pool`` dropped
by a test (fasteners' reader-writer tests) is finalized with
``inqueue._rlock.acquire()``, held by an idle worker until the pool's sentinels reach
it, which natively takes a few milliseconds. Here such an acquire, in the test's
thread or one running the suite's code once the host exists, is tried without
waiting and, while it fails, the host runs until the semaphore can be taken; with a
timeout, that many seconds of the host's time (threadwait.py's timed waits). Once the
host has nothing left to do by itself, the real wait is made, as natively (another
process of the machine, or a thread of the test, may post it). The children's own
waits are the host's (syscalls/thread.py).

Installed on ``multiprocessing.synchronize.SemLock`` when a session starts with
multiprocessing imported: locks made before that keep the real acquire.
"""
from __future__ import annotations

import _thread
import functools
import sys

from . import threadwait
from .sockets import run_host_until


def install(undo: list) -> None:
    """Patch SemLock once multiprocessing is imported (looked at every session's
    start), with its undo entries (object, name, real)."""
    if "multiprocessing" not in sys.modules:
        return
    try:
        import multiprocessing.synchronize as synchronize
    except ImportError:   # no sem_open on this platform: no locks to wait on
        return
    klass = synchronize.SemLock
    real_make_methods = klass.__dict__["_make_methods"]
    if getattr(real_make_methods, "_simproc", False):
        return

    def _make_methods(self):
        real_make_methods(self)
        self.acquire = functools.partial(_acquire, self._semlock)

    def __enter__(self):
        return _acquire(self._semlock, _depth=3)

    for name, fake in (("_make_methods", _make_methods), ("__enter__", __enter__)):
        fake._simproc = True
        undo.append((klass, name, klass.__dict__[name]))
        setattr(klass, name, fake)


def _acquire(semlock, block=True, timeout=None, *, _depth=2):
    """``SemLock.acquire``: the real one, or, while it would wait on the host's
    children, a wait that runs the host (``_depth``: the frame of its caller)."""
    if not block:
        return semlock.acquire(block, timeout)
    if semlock.acquire(False):
        return True
    free = lambda: semlock._get_value() > 0  # noqa: E731 (asked by another thread)
    if timeout is not None:
        return threadwait._timed_acquire(semlock.acquire, free, True, timeout)
    session = threadwait._virtual_session(_depth)
    if session is None:
        return semlock.acquire(True)
    taking = threadwait.Taking(semlock.acquire, free)
    while not taking.got and not session._closed:
        if _thread.get_ident() == session._ident:
            if not run_host_until(session, taking, None, outside=True):
                break   # nothing in the host can post it
        else:
            session.block(taking)
            taking()
    return taking.got or semlock.acquire(True)
