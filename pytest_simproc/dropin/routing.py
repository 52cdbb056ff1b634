"""Which calls see the simulation: the active session, and the real functions.

A patched function (``os.kill``, ``time.sleep``, ``subprocess.Popen``...) answers from
the test's host only while a session is active, only on the test's threads (the host's
own threads are named ``simproc-*``), and only for callers outside the machinery
(pytest, freezegun, threading, subprocess, this package...), which always get the real
function. The real objects are taken here, before anything is patched.
"""
from __future__ import annotations

import _thread
import os
import select as _select
import signal as _signal
import subprocess
import sys
import threading
import time as _time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import DropinSession

# The real objects, taken before anything is patched.
_RealPopen = subprocess.Popen
_real_sleep = _time.sleep
_real_monotonic = _time.monotonic
_real_localtime = _time.localtime
_real_kill = os.kill
_real_killpg = os.killpg
_real_waitpid = os.waitpid
_real_wait = os.wait
_real_wait3 = os.wait3
_real_wait4 = os.wait4
_real_waitid = os.waitid
_real_pidfd_open = os.pidfd_open
_real_pidfd_send_signal = _signal.pidfd_send_signal
_real_getpgid = os.getpgid
_real_getpgrp = os.getpgrp
_real_getsid = os.getsid
_real_getpid = os.getpid
_real_getppid = os.getppid
_real_fork = os.fork
_real_read = os.read
_real_write = os.write
_real_fdopen = os.fdopen
_real_forkpty = os.forkpty
_real_system = os.system
_real_posix_spawn = os.posix_spawn
_real_posix_spawnp = os.posix_spawnp
_real_poll = _select.poll

# Callers from these modules always get the real functions (the engine's own os.kill /
# waitpid / sleep, pytest's internals, real Popen objects made before the test).
# multiprocessing is not one: the children it forks are the host's.
_NATIVE_CALLERS = ("pytest_simproc", "_pytest", "pluggy", "freezegun", "threading",
                   "concurrent", "asyncio", "subprocess", "queue")
# asyncio's child watchers' waits for one pid (ThreadedChildWatcher's thread, the
# Safe/MultiLoop watchers' at SIGCHLD, PidfdChildWatcher's pidfd_open and wait): the
# test's, not the machinery's (FastChildWatcher's waitpid(-1) stays the machinery's)
_WATCHER_WAITS = frozenset({"_do_waitpid", "_do_wait", "add_child_handler"})

_ACTIVE: "DropinSession | None" = None
_ACTIVE_PID = 0  # the test process that made it active


def active_session() -> "DropinSession | None":
    """The drop-in session of the running test, if any. None in a copy of the test made
    by a fork until the fork's hook (forking.py) has it join the host: the copy runs
    Python code before that hook (a garbage collection's finalizers, or those of what
    died with the other threads' states), and the host, whose tracer thread the copy
    lacks, would never answer it: it hung there."""
    session = _ACTIVE
    if session is not None and _real_getpid() != _ACTIVE_PID:
        return None
    return session


def set_active(session: "DropinSession | None") -> None:
    global _ACTIVE, _ACTIVE_PID
    _ACTIVE, _ACTIVE_PID = session, _real_getpid()


# (module name, prefixes) -> whether the module is one of them or inside one: asked
# at every clock read, sleep and lock the test makes (whose code is it), always of
# the same few hundred modules
_MATCHED: dict = {}


def _matches(name: str, prefixes: tuple) -> bool:
    key = (name, prefixes)
    found = _MATCHED.get(key)
    if found is None:
        found = any(name == p or name.startswith(p + ".") for p in prefixes)
        if len(_MATCHED) >= 100_000:   # names made up at run time: keep it bounded
            _MATCHED.clear()
        _MATCHED[key] = found
    return found


def like_the_real(replaced) -> None:
    """Each fake of ``(module, name, real, fake)`` rows looks like the function it
    stands for: its name and doc, and, for a function, the module it is installed on
    (the first row of it), as a Python function of a module names it: pydoc and
    pickle by reference look it up there, and CPython's test_signal holds every Python
    function of ``signal`` to ``__module__ == "signal"``. A function's qualified name is
    the one it is installed under, which pickle looks up: ``threading.Lock`` is
    ``_thread.allocate_lock`` (its ``__name__``), and a fake qualified so pickled as
    ``threading.allocate_lock``, which is no name (multiprocessing's ``Manager()`` under
    spawn pickles its registry, ``threading.Lock`` in it)."""
    named = set()
    for module, name, real, fake in replaced:
        if id(fake) in named:
            continue
        named.add(id(fake))
        fake.__name__ = fake.__qualname__ = real.__name__
        fake.__doc__ = real.__doc__
        if not isinstance(fake, type):
            fake.__module__ = module.__name__
            fake.__qualname__ = name


# the code of fakes that call another fake (filetimes.py's over procfs.py's): not the
# caller that one looks at
PASS_THROUGH: set = set()


def _caller_is_native(depth: int = 2) -> bool:
    try:
        frame = sys._getframe(depth)
    except ValueError:
        return False
    while frame.f_code in PASS_THROUGH and frame.f_back is not None:
        frame = frame.f_back
    name = frame.f_globals.get("__name__") or ""
    if name == "concurrent.futures.thread" and frame.f_code.co_name == "run":
        # an executor's work item calls the function it was given as it is: the
        # suite's ``asyncio.to_thread(os.waitpid, pid, 0)`` (filelock's fork tests)
        return False
    if name == "asyncio.unix_events" and frame.f_code.co_name in _WATCHER_WAITS:
        # a child watcher's wait for one pid: asyncio's own loop (one the test made
        # through a policy of its own, pytest-asyncio's ``event_loop_policy``) started
        # the program with the test's Popen, so the host has it
        return False
    return _matches(name, _NATIVE_CALLERS)


def fd_ready(fd: int, events: int) -> bool:
    """Whether the real kernel reports ``fd`` ready for ``events`` now (poll(2)): the
    machinery's own look, which never runs the host (the patched poll may)."""
    poller = _real_poll()
    poller.register(fd, events)
    return bool(poller.poll(0))


def current_thread() -> threading.Thread:
    """``threading.current_thread()`` by ``_thread.get_ident``: the machinery never
    calls ``threading.get_ident``, which a suite may replace to hear of threads'
    starts and ends (pebble's ``waitforthreads`` sets an Event in it: each call of the
    machinery, a clock read of the suite, woke its wait early)."""
    return threading._active.get(_thread.get_ident()) or threading.current_thread()


def _in_host_thread() -> bool:
    """The host's own threads (tracer, watchdog) always use the real functions: e.g.
    the engine's pidfd library runs ``ldconfig`` through subprocess on first use."""
    return current_thread().name.startswith("simproc-")


def waited_outside(call, timeout, hostless: bool = False):
    """``call()``, a real wait of at most ``timeout`` seconds (None: no limit) that
    nothing in the host can end. Made by the test's own thread during a session, the
    real time it took moves the test's virtual clock on (the timeout itself when it
    passed, so a wait that timed out moves it the same in every run): natively the
    test's clock runs on while it waits for a thread or the machine. ``hostless``:
    unless a host came to be meanwhile (another thread's first spawn, which then
    ended the wait: the programs' clock counts from there, as it did)."""
    session = active_session()
    if session is None or timeout == 0 or session._closed:
        return call()
    if _thread.get_ident() != session._ident:
        # another thread's: its timed wait moves the clock when nothing else does
        return call() if timeout is None else session.thread_waited_for_real(call, timeout)
    start, start_ns = _real_monotonic(), session._now_ns()
    try:
        return call()
    finally:
        waited = _real_monotonic() - start
        if not (hostless and session._host is not None):
            waited = waited if timeout is None else min(waited, timeout)
            # less what the clock moved meanwhile (a thread's real sleep: the session's
            # thread_slept_for_real), so the wait is counted once
            session.outside_passed(waited - max(session._now_ns() - start_ns, 0) / 1e9)


def _session_for_caller() -> "DropinSession | None":
    """The active session, if the caller (two frames up) should see the simulation."""
    session = active_session()
    if session is None or session._closed or _in_host_thread() or _caller_is_native(3):
        return None
    return session

