"""The test's own process group and session in its host: init's, 1.

The test is a process of its host under its real pid, a child of the host's init
(identity.py), in init's group and session, 1: what it spawns has the test as parent
and, unless started in a new session or group, group and session 1. Natively those
children share the test's group and session, and suites compare them (sh's
test_new_session_new_group: ``os.getpgid(os.getpid())`` against the child's group). So
once the host exists the test's own group and session are 1 -- ``os.getpgrp()``,
``os.getpgid(0)``, ``os.getsid(0)`` and the same with the test's own pid -- and a
signal to that group (``os.kill(0, sig)``, ``os.killpg(1, sig)``) reaches the host's
group 1 and the test process itself, as natively a signal to one's own group reaches
oneself (kill(2)). ``os.kill(-1, sig)`` reaches every process of the host and not the
test (kill(2): all but init and the caller). None of these ever reaches the
machine's group 1 nor every process of the machine. A program's ``kill(0, sig)``
in group 1 reaches the test too (engine/deliver.py). (Natively the shell gives the
test a group and session numbered by its pid or the shell's; the host keeps 1 for the
test and its programs alike, which suites compare only with each other.)

All of this holds for the whole test, before its first spawn too: the host is made
at the first spawn, but the test's ids must not change under it (anyio's
test_process_new_session_sid reads ``os.getsid(os.getpid())`` first, then compares
its child's with it). Until the host exists, group 1 holds the test alone and -1 names
no process.
"""
from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from .routing import _real_getpgrp, _real_kill, _session_for_caller

if TYPE_CHECKING:
    from .session import DropinSession

INIT = 1  # the test's group and session, init's


def as_init(session: "DropinSession | None") -> bool:
    """The caller is the test of a drop-in session: in its host's group 1, whether
    the host exists yet or not."""
    return session is not None


def own(session: "DropinSession | None", pid) -> bool:
    """``pid`` names the test process itself (0, its pid) or the host's init (1),
    both in group and session 1, in a session."""
    return as_init(session) and isinstance(pid, int) and pid in (0, INIT, os.getpid())


def sim_getpgrp():
    return INIT if as_init(_session_for_caller()) else _real_getpgrp()


def kill(session: "DropinSession", target: int, sig: int) -> None:
    """kill(2) from the test with ``target`` 0 (its own group, the host's group 1) or
    -1 (every process of the host); ``sig`` is checked already."""
    with session._lock:
        session._touch()
        host = session._host   # none yet: nobody but the test, which -1 leaves out
        if target == -1 and (host is None or all(p.state == "reaped"
                                                 for p in host.processes())):
            raise ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH))
        if sig and host is not None:
            session._catch_up()  # the signal comes at the test's time
            try:
                session.host.kill(target, sig)
            except ProcessLookupError:
                pass  # group 1 ended: the test is still in it; everyone left are zombies
            finally:
                session._pidfds.refresh(session._gone)  # a SIGKILL ends its targets at once
    if target == 0:
        _real_kill(os.getpid(), sig)  # the test is in its own group
