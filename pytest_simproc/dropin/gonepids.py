"""The virtual pids and groups of the run's hosts that are gone: never a real call's.

Every host numbers its programs from 1000, and the machine's pids are numbers too. A
pid or group number the test's code got from a host (a kept Popen, a pid in an atexit
handler, a thread's closure, a fixture torn down after its host closed) names a process
that ended with its host; on a machine, a kill(2) of it is ESRCH and a wait(2) ECHILD.
Handed to the real call it would name whatever machine process has that number now: a
stranger's daemon on a shared machine. So each host's pids, groups and sessions are
remembered when it closes, for the rest of the interpreter's life, and the process
calls of the test's code that name one of them (``os.kill``, ``os.killpg``,
``os.getpgid``, ``os.getsid``, the wait family, ``os.pidfd_open``) answer as for a
process that is gone, also at the interpreter's exit, when atexit handlers and
finalizers run (``after_run``). A live host's own numbers are the live host's (session.py), before
this record is asked.

Which number is meant when a remembered virtual pid is also a machine pid: the test
process's own native child (a thread of the test forked it, natively: the kernel says
so, waitid(2) with WNOWAIT) is the real one, as only a native fork of the test could
have handed the number out; any other remembered number is the host's. The
machinery (this package, pytest, subprocess's own Popen, asyncio...) holds real pids
only and keeps the real calls (routing._caller_is_native); multiprocessing does not:
the children it forked in a session were the host's.
"""
from __future__ import annotations

import atexit
import errno
import os

from ..kernel.wait import __WNOTHREAD
from .routing import (_caller_is_native, _in_host_thread, _real_getpgid, _real_getsid,
                      _real_kill, _real_killpg, _real_pidfd_open, _real_waitid,
                      _real_waitpid, _real_wait4)

_PIDS: set[int] = set()     # pids (and thread ids) of the closed hosts' processes
_GROUPS: set[int] = set()   # their process groups and sessions


def remember(host) -> None:
    """``host`` has closed: its numbers name processes that are gone."""
    for proc in host.processes():
        _PIDS.add(proc.pid)
        _GROUPS.update((proc.pgid, proc.sid))
    _PIDS.discard(1)
    _GROUPS.difference_update((0, 1))   # the test itself (identity.py, owngroup.py)


def forget() -> None:
    """In a child the test forked into its host: the numbers are that host's."""
    _PIDS.clear()
    _GROUPS.clear()


def _native_child(pid: int) -> bool:
    """``pid`` is a native child of the calling thread (waitid(2) leaves it as it
    is): the number the test's code holds is the real one."""
    try:
        _real_waitid(os.P_PID, pid, os.WEXITED | os.WSTOPPED | os.WCONTINUED | os.WNOHANG
                     | os.WNOWAIT | __WNOTHREAD)   # the tracer's children are not the caller's
    except OSError:
        return False
    return True


def had(pid) -> bool:
    """``pid`` was a closed host's (not a native child of the calling thread), asked
    for the test's code: its /proc/<pid> is gone too (procfs.py), as kill(2) says."""
    return type(pid) is int and pid > 1 and pid in _PIDS and not _native_child(pid)


def _asked(number, numbers: set, depth: int) -> bool:
    return (type(number) is int and number > 1 and number in numbers
            and not _in_host_thread() and not _caller_is_native(depth + 2)
            and not _native_child(number))


def gone(pid, depth: int = 2) -> bool:
    """``pid``, named by the code ``depth`` frames up from here (1: the caller, a
    fake; 2: the fake's caller), was a closed host's."""
    return _asked(pid, _PIDS, depth)


def gone_group(pgid, depth: int = 2) -> bool:
    """``pgid``, named by the caller ``depth`` frames up from here, was a closed host's
    group (or session)."""
    return _asked(pgid, _GROUPS, depth) or _asked(pgid, _PIDS, depth)


def esrch() -> ProcessLookupError:
    return ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH))


def echild() -> ChildProcessError:
    return ChildProcessError(errno.ECHILD, os.strerror(errno.ECHILD))


def waits_for_gone(pid, depth: int = 2) -> bool:
    """A wait for ``pid`` (waitpid(2)'s pid: a pid or -pgid) of the caller ``depth``
    frames up from here names a closed host's process or group: ECHILD."""
    if type(pid) is not int:
        return False
    return gone(pid, depth + 1) if pid > 0 else pid < -1 and gone_group(-pid, depth + 1)


def waitid_for_gone(idtype, ident, depth: int = 2) -> bool:
    """waitid(2) of P_PID or P_PGID naming a closed host's process or group."""
    if idtype == os.P_PID:
        return gone(ident, depth + 1)
    return idtype == os.P_PGID and gone_group(ident, depth + 1)


# ------------------------------------------------------------ after the pytest run
def _kill(pid, sig):
    if type(pid) is int and (gone(pid) or pid < -1 and gone_group(-pid)):
        raise esrch()
    return _real_kill(pid, sig)


def _killpg(pgid, sig):
    if gone_group(pgid):
        raise esrch()
    return _real_killpg(pgid, sig)


def _getpgid(pid):
    if gone(pid):
        raise esrch()
    return _real_getpgid(pid)


def _getsid(pid):
    if gone(pid):
        raise esrch()
    return _real_getsid(pid)


def _pidfd_open(pid, flags=0):
    if gone(pid):
        raise esrch()
    return _real_pidfd_open(pid, flags)


def _waitpid(pid, options):
    if waits_for_gone(pid):
        raise echild()
    return _real_waitpid(pid, options)


def _wait4(pid, options):
    if waits_for_gone(pid):
        raise echild()
    return _real_wait4(pid, options)


def _waitid(idtype, ident, options):
    if waitid_for_gone(idtype, ident):
        raise echild()
    return _real_waitid(idtype, ident, options)


_AFTER_RUN = {"kill": (_real_kill, _kill), "killpg": (_real_killpg, _killpg),
              "getpgid": (_real_getpgid, _getpgid), "getsid": (_real_getsid, _getsid),
              "pidfd_open": (_real_pidfd_open, _pidfd_open),
              "waitpid": (_real_waitpid, _waitpid), "wait4": (_real_wait4, _wait4),
              "waitid": (_real_waitid, _waitid)}
for _name, (_real, _fake) in _AFTER_RUN.items():
    _fake.__name__ = _fake.__qualname__ = _real.__name__
    _fake.__doc__ = _real.__doc__
del _name, _real, _fake


def after_run() -> None:
    """The pytest run's fakes are gone (patches.uninstall). Its atexit handlers and the
    finalizers of interpreter exit come later (psutil's suite probes a kept pid with
    kill(pid, 0) at exit): at exit, before any handler the run registered (atexit's
    order is the reverse of registration), ``os``'s process calls get the guard, until
    the interpreter is gone. Until then they are ``os``'s own, as without
    ``--simproc`` (an in-process run restores everything). Nothing to do when no host
    closed."""
    if _PIDS:
        atexit.unregister(_guard_os)
        atexit.register(_guard_os)


def _guard_os() -> None:
    for name, (real, fake) in _AFTER_RUN.items():
        if getattr(os, name, None) is real:
            setattr(os, name, fake)
