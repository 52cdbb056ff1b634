"""The patched ``subprocess.Popen``, ``time.sleep`` and ``os`` process functions.

Each fake sends a call that names one of the host's processes (or groups) to the
session, and any other call to the real function unchanged. ``Patches`` installs them
on their modules and on every module that imported the real object by name
(``from subprocess import Popen``, ``from time import sleep``, ``from os import kill``),
and puts everything back at the end of the test.
"""
from __future__ import annotations

import errno
import os
import signal as _signal
import subprocess
import sys
import threading
import time as _time

from .args import signal_number
from .forking import _sim_fdopen, _sim_fork, _sim_forkpty, _sim_read
from .osspawn import _sim_posix_spawn, _sim_posix_spawnp, _sim_system
from .popen import SimPopen
from .routing import (_caller_is_native, _matches, _real_fdopen, _real_fork, _real_forkpty,
                      _real_getpgid, _real_getsid, _real_kill, _real_killpg,
                      _real_pidfd_open, _real_pidfd_send_signal, _real_posix_spawn,
                      _real_posix_spawnp, _real_read, _real_sleep, _real_system,
                      _real_wait, _real_wait3, _real_wait4, _real_waitid, _real_waitpid,
                      _RealPopen, _session_for_caller, active_session)
from .waiting import (_sim_pidfd_open, _sim_pidfd_send_signal, _sim_wait, _sim_wait3,
                      _sim_wait4, _sim_waitid, _sim_waitpid)

_SCAN_SKIP = ("pytest_simproc", "_pytest", "pytest", "pluggy", "freezegun", "os", "posix",
              "time", "subprocess", "threading", "multiprocessing", "concurrent",
              "asyncio", "queue", "builtins", "sys")


def _module_dicts(skip):
    """(module, its __dict__) for every imported module outside ``skip``."""
    for mod_name, module in list(sys.modules.items()):
        if module is None or _matches(mod_name, skip):
            continue
        attrs = getattr(module, "__dict__", None)
        if isinstance(attrs, dict):
            yield module, attrs


class Patches:
    """The fakes installed for one session, and how to undo them."""

    def __init__(self):
        self._undo: list[tuple[object, str, object]] = []
        self._fakes: dict[int, object] = {}
        self._reals: dict[int, object] = {}

    def apply(self) -> None:
        self._fakes = {id(real): fake for _, _, real, fake in _REPLACED}
        self._reals = {id(fake): real for _, _, real, fake in _REPLACED}
        for module, name, _, fake in _REPLACED:
            self._undo.append((module, name, getattr(module, name)))
            setattr(module, name, fake)
        # `from subprocess import Popen`, `from time import sleep`, ... elsewhere
        for module, attrs in _module_dicts(_SCAN_SKIP):
            for attr, value in list(attrs.items()):
                fake = self._fakes.get(id(value))
                if fake is not None and self._reals[id(fake)] is value:
                    self._undo.append((module, attr, value))
                    attrs[attr] = fake

    def restore(self) -> None:
        while self._undo:
            obj, name, value = self._undo.pop()
            try:
                setattr(obj, name, value)
            except (AttributeError, TypeError):
                pass
        # modules imported during the test may have picked up a fake: give them the real
        for _, attrs in _module_dicts(("pytest_simproc",)):
            for attr, value in list(attrs.items()):
                real = self._reals.get(id(value))
                if real is not None and self._fakes.get(id(real)) is value:
                    attrs[attr] = real


def _sim_sleep(seconds):
    session = active_session()
    if (session is None or session._closed or threading.get_ident() != session._ident
            or _caller_is_native(2)):
        return _real_sleep(seconds)
    session.sleep(seconds)


def _sim_kill(pid, sig):
    session = _session_for_caller()
    if session is not None and isinstance(pid, int):
        if (pid > 0 and session._lookup(pid) is not None) or (
                pid < -1 and session._owns_group(-pid)):
            return session.kill(pid, signal_number(sig, bits=64))  # a C ssize_t
    return _real_kill(pid, sig)


def _sim_killpg(pgid, sig):
    session = _session_for_caller()
    if session is not None and isinstance(pgid, int) and session._owns_group(pgid):
        return session.killpg(pgid, signal_number(sig))
    return _real_killpg(pgid, sig)


def _simulated_group_id(session, pid, attribute: str, real):
    """os.getpgid/os.getsid of a host process: its simulated group or session; of any
    other pid: the real call. ``session`` comes from the patched function itself
    (_session_for_caller looks at a fixed depth of frames)."""
    proc = session._lookup(pid) if session is not None else None
    if proc is None:
        return real(pid)
    if proc.state == "reaped":
        raise ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH))
    return getattr(proc, attribute)


def _sim_getpgid(pid):
    return _simulated_group_id(_session_for_caller(), pid, "pgid", _real_getpgid)


def _sim_getsid(pid):
    return _simulated_group_id(_session_for_caller(), pid, "sid", _real_getsid)


# (module, attribute, the real object, its fake)
_REPLACED = [(subprocess, "Popen", _RealPopen, SimPopen),
             (_time, "sleep", _real_sleep, _sim_sleep),
             (os, "kill", _real_kill, _sim_kill), (os, "killpg", _real_killpg, _sim_killpg),
             (os, "waitpid", _real_waitpid, _sim_waitpid), (os, "wait", _real_wait, _sim_wait),
             (os, "wait3", _real_wait3, _sim_wait3), (os, "wait4", _real_wait4, _sim_wait4),
             (os, "waitid", _real_waitid, _sim_waitid),
             (os, "pidfd_open", _real_pidfd_open, _sim_pidfd_open),
             (_signal, "pidfd_send_signal", _real_pidfd_send_signal, _sim_pidfd_send_signal),
             (os, "getpgid", _real_getpgid, _sim_getpgid),
             (os, "getsid", _real_getsid, _sim_getsid),
             (os, "fork", _real_fork, _sim_fork), (os, "forkpty", _real_forkpty, _sim_forkpty),
             (os, "system", _real_system, _sim_system), (os, "read", _real_read, _sim_read),
             (os, "fdopen", _real_fdopen, _sim_fdopen),
             (os, "posix_spawn", _real_posix_spawn, _sim_posix_spawn),
             (os, "posix_spawnp", _real_posix_spawnp, _sim_posix_spawnp)]
for _module, _name, _real, _fake in _REPLACED[1:]:  # the functions look like the real ones
    _fake.__name__ = _fake.__qualname__ = _real.__name__
    _fake.__doc__ = _real.__doc__
del _module, _name, _real, _fake
