"""The patched ``subprocess.Popen``, ``time.sleep``, ``os`` process functions and waits.

Each fake sends a call that names one of the host's processes (or groups), or one of the
test's pipes to them (select, poll, os.read: ready.py), to the session, and any other
call to the real function unchanged. ``Patches`` installs them on their modules and on
every module that imported the real object by name (``from subprocess import Popen``,
``from time import sleep``, ``from os import kill``), and puts everything back at the end
of the test.
"""
from __future__ import annotations

import _thread
import asyncio.events
import errno
import io
import os
import posix
import signal as _signal
import socket
import ssl
import subprocess
import sys
import threading
import time as _time
import types

from ..kernel.table import INIT_PID
from . import (filelocks, filetimes, gonepids, hostthreads, modcopies, mplocks, mpspawn,
               owngroup, pidcalls, pipes, procfs, selfusage, sockets, threadwait, triowait,
               uvwait, zmqwait)
from .aio import SimEventLoopPolicy
from .args import signal_number
from .clock import REPLACED as _CLOCK_REPLACED
from .clock import clock_fakes, clock_walk_skips
from .forking import _sim_fdopen, _sim_fork, _sim_forkpty
from .osspawn import _sim_posix_spawn, _sim_posix_spawnp, _sim_system
from .popen import CLASS_ATTRIBUTES as _POPEN_CLASS_ATTRIBUTES
from .popen import SimPopen
from .ready import CLASS_ATTRIBUTES as _READY_CLASS_ATTRIBUTES
from .ready import REPLACED as _READY_REPLACED
from .reloads import REPLACED as _RELOADS_REPLACED
from .routing import (_caller_is_native, _real_fdopen, _real_fork, _real_forkpty,
                      _real_getpgid, _real_getpgrp,
                      _real_getsid, _real_kill, _real_killpg,
                      _real_pidfd_open, _real_pidfd_send_signal, _real_posix_spawn,
                      _real_posix_spawnp, _real_sleep, _real_system, _real_wait,
                      _real_wait3, _real_wait4, _real_waitid, _real_waitpid, _RealPopen,
                      _session_for_caller, active_session, like_the_real)
from .waiting import (_sim_pidfd_open, _sim_pidfd_send_signal, _sim_wait, _sim_wait3,
                      _sim_wait4, _sim_waitid, _sim_waitpid)

_SCAN_SKIP = ("pytest_simproc", "_pytest", "pytest", "pluggy", "freezegun", "os", "posix",
              "time", "subprocess", "threading", "_thread", "multiprocessing", "concurrent",
              "asyncio", "queue", "builtins", "sys")
_ABSENT = object()  # an attribute the class inherited: deleted again on restore


def _outside(skip):
    """``_matches(name, skip)`` negated, as one set test and one startswith: the walks
    ask it of every module (~600 with pytest's plugins)."""
    names, prefixes = frozenset(skip), tuple(p + "." for p in skip)
    return lambda name: name not in names and not name.startswith(prefixes)


def _module_dicts(skip):
    """(name, module, its __dict__) for every imported module outside ``skip``."""
    outside = _outside(skip)
    for mod_name, module in list(sys.modules.items()):
        if module is None or not outside(mod_name):
            continue
        attrs = getattr(module, "__dict__", None)
        if isinstance(attrs, dict):
            yield mod_name, module, attrs


def _replace(attrs: dict, table: dict, want) -> list[tuple[str, object]]:
    """Give every name of ``attrs`` whose value's id is a key of ``table`` its entry
    when ``want(value, entry)``; returns the (name, old value) pairs replaced. Most
    modules hold none of them: that is found in C (no Python code per name)."""
    if table.keys().isdisjoint(map(id, attrs.values())):
        return []
    replaced = []
    for attr, value in list(attrs.items()):
        entry = table.get(id(value))
        if entry is not None and want(value, entry):
            replaced.append((attr, value))
            attrs[attr] = entry
    return replaced


def _replace_in_classes(name: str, attrs: dict, table: dict, undo: list) -> None:
    """The process fakes for the real functions that the classes defined in a module
    hold as attributes, taken when the class was made (CPython's test_posix:
    ``spawn_func = getattr(posix, 'posix_spawn', None)``, called as
    ``self.spawn_func(...)``). A builtin there is no method (it does not bind
    ``self``): its fake goes in as a staticmethod, which does not either."""
    for klass in list(attrs.values()):
        if isinstance(klass, types.FunctionType) and klass.__module__ == name:
            _replace_in_defaults(klass, table, undo)
        if not isinstance(klass, type) or klass.__module__ != name:
            continue
        for attr, value in list(vars(klass).items()):
            inner = value.__func__ if isinstance(value, staticmethod) else value
            method = value.__func__ if isinstance(value, classmethod) else inner
            if isinstance(method, types.FunctionType):
                _replace_in_defaults(method, table, undo)
            fake = table.get(id(inner))
            if fake is None or Patches._reals.get(id(fake)) is not inner:
                continue
            undo.append((klass, attr, value))
            wrap = callable(fake) and not isinstance(fake, type)
            setattr(klass, attr, staticmethod(fake) if wrap else fake)


def _replace_in_defaults(func, table: dict, undo: list) -> None:
    """The process fakes for the real functions that a function's default arguments
    took when it was defined, before the session (py's ``ForkedFunc.waitfinish(self,
    waiter=os.waitpid)``, which pytest-forked imports at its start: ECHILD for a
    child of the host)."""
    defaults = func.__defaults__
    if not defaults or table.keys().isdisjoint(map(id, defaults)):
        return
    undo.append((func, "__defaults__", defaults))
    func.__defaults__ = tuple(
        fake if (fake := table.get(id(value))) is not None
        and Patches._reals.get(id(fake)) is value else value for value in defaults)


class Patches:
    """The fakes installed in this process, and how to undo them.

    Installing means walking every imported module (~10 ms with pytest's plugins
    loaded), which a suite of tests that start no process would pay per test (issue:
    such a test must cost nothing measurable). So the fakes stay in place between
    tests while ``persist`` is on (the plugin turns it on for the pytest session):
    each fake hands a call to the real function whenever no session is active, and a
    later ``apply`` only walks the modules imported since the last walk. Only the
    event loop policy is the session's own: asyncio's is put aside at each start (the
    session's is made if the test asks for one, _sim_init_policy) and back at its end.
    """

    _undo: list[tuple[object, str, object]] = []
    _walked: dict[str, int] = {}   # module name -> id of the module object walked
    _installed = False
    persist = False
    _fakes: dict[int, object] = {}   # id(real) -> fake
    _tables: dict = {}   # (process fakes apply, clock fakes apply) -> the id(real) -> fake
    _reals: dict[int, object] = {}   # id(fake) -> real
    _class_fakes: dict[int, list] = {}   # id(real class) -> its (attribute, fake) pairs
    # the modules that imported a function of _HOSTED by name: (module, attribute)
    _holders: dict[tuple[int, str], tuple[object, str]] = {}
    _hosted_undo: list[tuple[object, str, object]] = []
    _modules_seen = 0   # len(sys.modules) when apply last looked for trio, uvloop...

    def __init__(self):
        self._policy = None   # the loop policy this session replaced (aio.py)

    def apply(self) -> None:
        cls = Patches
        if not cls._installed:
            process = {id(real): fake for _, _, real, fake in _REPLACED}
            clocks = clock_fakes()
            clock = {id(real): fake for real, fake in clocks}
            cls._tables = {(True, False): process, (False, True): clock,
                           (True, True): {**process, **clock}}
            cls._fakes = cls._tables[True, True]
            cls._reals = {id(fake): real for _, _, real, fake in _REPLACED}
            cls._reals.update((id(fake), real) for real, fake in clocks)
            for module, name, _, fake in _REPLACED:
                cls._undo.append((module, name, getattr(module, name)))
                setattr(module, name, fake)
            # select's classes (ready.py), Popen's subclasses (popen.py), blocking
            # socket calls (sockets.py)
            attributes = [*_READY_CLASS_ATTRIBUTES, *_POPEN_CLASS_ATTRIBUTES]
            for klass, methods in ((socket.socket, sockets.METHODS),
                                   (ssl.SSLSocket, sockets.TLS_METHODS)):
                attributes += [(klass, name, fake) for name, fake in methods]
            # asyncio.events' own function, looked up by get_event_loop_policy
            attributes.append((asyncio.events, "_init_event_loop_policy", _sim_init_policy))
            for klass, name, fake in attributes:
                cls._undo.append((klass, name, klass.__dict__.get(name, _ABSENT)))
                setattr(klass, name, fake)
            # the modules they live in, imported again (modcopies.py)
            for klass, name, fake in attributes:
                cls._class_fakes.setdefault(id(klass), []).append((name, fake))
            modcopies.install({module for module, _, _, _ in _REPLACED if
                               isinstance(module, types.ModuleType)} | {_time},
                              cls._reals, cls._undo, cls._class_fakes)
            cls._installed = True
        if len(sys.modules) != cls._modules_seen:   # looked at again after an import
            triowait.install(cls._undo)  # trio's run loop too, once trio is imported
            mpspawn.install(cls._undo)  # multiprocessing's spawn children (mpspawn.py)
            mplocks.install(cls._undo)  # its locks' waits on the children (mplocks.py)
            uvwait.install(cls._undo)  # uvloop's loops, once uvloop is imported
            zmqwait.install(cls._undo)  # pyzmq's polls, once pyzmq is imported
            cls._modules_seen = len(sys.modules)
        # the test's new asyncio loops follow the host (aio.py): no policy until asked;
        # uvloop's policy, installed by the suite, stays (its loops follow the host too)
        self._policy = (asyncio.events._event_loop_policy,)
        if not uvwait.follows_host(self._policy[0]):
            asyncio.events._event_loop_policy = None
        self._walk()

    @staticmethod
    def ready() -> bool:
        """Whether ``apply`` has next to nothing to do: the fakes are in and no module
        was imported since the last walk."""
        cls = Patches
        return cls._installed and len(sys.modules) == cls._modules_seen == len(cls._walked)

    @staticmethod
    def _walk() -> None:
        """`from subprocess import Popen`, `from time import sleep`, ... in the modules
        imported since the last walk, and `from time import monotonic` (clock.py);
        the holders of _HOSTED's functions are noted (``install_hosted``)."""
        cls = Patches
        walked = cls._walked
        if len(sys.modules) == len(walked):
            return  # nothing imported since the last walk (a replaced module: rare)
        clock_skips, outside = clock_walk_skips(), _outside(_SCAN_SKIP)
        reals = cls._reals
        for name, module in list(sys.modules.items()):
            if walked.get(name) == id(module):
                continue
            walked[name] = id(module)
            for module in (module, *_wrapped(name, module)):
                attrs = getattr(module, "__dict__", None)
                if not isinstance(attrs, dict):
                    continue
                table = cls._tables.get((outside(name), not clock_skips(name, module)))
                if table is not None:
                    for attr, value in _replace(attrs, table,
                                                lambda real, fake: reals[id(fake)] is real):
                        cls._undo.append((module, attr, value))
                if outside(name):
                    _replace_in_classes(name, attrs, cls._tables[True, False], cls._undo)
                    _note_holders(module, attrs)
                # eventlet's copies of time, select and subprocess (modcopies.py)
                modcopies.faked(module, reals, cls._undo, cls._class_fakes)

    @staticmethod
    def install_hosted() -> None:
        """The test's host exists: _HOSTED's fakes on their modules and in the modules
        that imported the functions by name (those imported since the last walk too)."""
        cls = Patches
        if cls._hosted_undo:
            return
        cls._walk()
        for module, name, real, fake in _HOSTED:
            cls._hosted_undo.append((module, name, real))
            setattr(module, name, fake)
        for module, attr in cls._holders.values():
            fake = _HOSTED_FAKES.get(id(module.__dict__.get(attr)))
            if fake is not None:
                cls._hosted_undo.append((module, attr, module.__dict__[attr]))
                module.__dict__[attr] = fake

    def restore(self) -> None:
        """End of a session: its loop policy and the real functions of _HOSTED back;
        the rest too unless it persists."""
        undo = Patches._hosted_undo
        while undo:
            obj, name, value = undo.pop()
            setattr(obj, name, value)
        if self._policy is not None:
            asyncio.events._event_loop_policy = self._policy[0]
            self._policy = None
        if not Patches.persist:
            uninstall()


def uninstall() -> None:
    """Put every real function back where a fake went."""
    cls = Patches
    filetimes.remove()   # first: its stat fakes went over procfs's
    procfs.remove()   # then: its open replaced selfusage's
    while cls._undo:
        obj, name, value = cls._undo.pop()
        try:
            if value is _ABSENT:
                delattr(obj, name)
            else:
                setattr(obj, name, value)
        except (AttributeError, TypeError):
            pass
    cls._walked.clear()
    cls._modules_seen = 0
    cls._class_fakes.clear()
    cls._holders.clear()
    cls._installed = False
    modcopies.uninstall()
    pidcalls.forget_unreaped()
    gonepids.after_run()   # the closed hosts' numbers stay gone until the interpreter exits
    # modules imported meanwhile may have picked up a fake: give them the real (not
    # where the fakes live, nor time and datetime: freezegun's stop restores those)
    for _, _, attrs in _module_dicts(("pytest_simproc", "freezegun", "time", "datetime")):
        _replace(attrs, cls._reals, lambda fake, real: cls._fakes.get(id(real)) is fake)
        _replace(attrs, _HOSTED_REALS, lambda fake, real: True)


def _wrapped(name: str, module) -> list:
    """The module that a module object of another type stands in for in sys.modules
    (humanfriendly's DeprecationProxy, lazy-module wrappers), kept among its
    attributes under the same name: its functions read their globals there, not in
    the stand-in (humanfriendly's ``Timer`` read the real ``monotonic``)."""
    if type(module) is types.ModuleType:
        return []
    attrs = getattr(module, "__dict__", None)
    if not isinstance(attrs, dict):
        return []
    return [value for value in attrs.values() if type(value) is types.ModuleType
            and value is not module and getattr(value, "__name__", None) == name]


def _note_holders(module, attrs: dict) -> None:
    """Note where ``module`` holds a function of _HOSTED by name; a fake there (the
    module was imported while a host existed) is the real function again."""
    if _HOSTED_IDS.isdisjoint(map(id, attrs.values())):
        return
    for attr, value in list(attrs.items()):
        if id(value) in _HOSTED_IDS:
            Patches._holders[id(module), attr] = (module, attr)
            attrs[attr] = _HOSTED_REALS.get(id(value), value)


_real_init_policy = asyncio.events._init_event_loop_policy


def _sim_init_policy():
    """asyncio makes its loop policy at the first ask (get_event_loop_policy, hence
    asyncio.run, new_event_loop...): during a session, the session's."""
    if active_session() is None:
        return _real_init_policy()
    events = asyncio.events
    with events._lock:
        if events._event_loop_policy is None:
            events._event_loop_policy = SimEventLoopPolicy()


def _sim_sleep(seconds):
    session = active_session()
    if session is None or session._closed or _caller_is_native(2):
        return _real_sleep(seconds)
    if _thread.get_ident() != session._ident:
        if not session.thread_sleep(seconds):
            session.thread_slept_for_real(_real_sleep, seconds)
        return
    session.sleep(seconds)


def _sim_kill(pid, sig):
    session = _session_for_caller()
    if session is not None and isinstance(pid, int):
        if pid in (0, -1) and owngroup.as_init(session):  # its own group, everyone
            return owngroup.kill(session, pid, signal_number(sig, bits=64))
        if (pid > 0 and session._lookup(pid) is not None) or (
                pid < -1 and session._owns_group(-pid)):
            return session.kill(pid, signal_number(sig, bits=64))  # a C ssize_t
    if pidcalls.unreaped(pid):
        signal_number(sig, bits=64)   # kill(2) of a zombie: no effect
        return None
    if pidcalls.stale(pid) or type(pid) is int and (
            gonepids.gone(pid) or pid < -1 and gonepids.gone_group(-pid)):
        signal_number(sig, bits=64)   # an earlier host's process: gone
        raise gonepids.esrch()
    if pid == INIT_PID and session is not None:
        signal_number(sig, bits=64)   # the host's init, the model's: it takes none
        return None
    return _real_kill(pid, sig)


def _sim_killpg(pgid, sig):
    session = _session_for_caller()
    if isinstance(pgid, int) and pgid in (0, owngroup.INIT) and owngroup.as_init(session):
        return owngroup.kill(session, 0, signal_number(sig))  # its own group
    if session is not None and isinstance(pgid, int) and session._owns_group(pgid):
        return session.killpg(pgid, signal_number(sig))
    if gonepids.gone_group(pgid):   # an earlier host's group: gone
        signal_number(sig)
        raise gonepids.esrch()
    return _real_killpg(pgid, sig)


def _simulated_group_id(session, pid, attribute: str, real):
    """os.getpgid/os.getsid of a host process: its simulated group or session; of any
    other pid: the real call. ``session`` comes from the patched function itself
    (_session_for_caller looks at a fixed depth of frames)."""
    if owngroup.own(session, pid):
        return owngroup.INIT  # the test is the host's init
    proc = session._lookup(pid) if session is not None else None
    if proc is None:
        if gonepids.gone(pid, 3):   # an earlier host's process
            raise gonepids.esrch()
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
             (os, "getpgrp", _real_getpgrp, owngroup.sim_getpgrp),
             (os, "fork", _real_fork, _sim_fork), (os, "forkpty", _real_forkpty, _sim_forkpty),
             (os, "system", _real_system, _sim_system), (os, "fdopen", _real_fdopen, _sim_fdopen),
             (os, "posix_spawn", _real_posix_spawn, _sim_posix_spawn),
             (os, "posix_spawnp", _real_posix_spawnp, _sim_posix_spawnp),
             (threading, "Lock", threadwait._real_lock, threadwait.sim_lock),
             (threading, "RLock", threadwait._real_rlock, threadwait.sim_rlock),
             (io, "FileIO", pipes._RealFileIO, pipes.SimFileIO), *_READY_REPLACED,
             *selfusage.REPLACED, *_CLOCK_REPLACED, *_RELOADS_REPLACED,
             *hostthreads.REPLACED]
like_the_real(_REPLACED[1:])
# installed only while the test's host exists (install_hosted): until then the fake
# would only hand the call to the real function, whose identity a suite compares
# (portalocker's conftest keeps fcntl.lockf, taken at its import, in its parameters,
# and its test asks ``locker is fcntl.lockf``)
_HOSTED = [*filelocks.REPLACED]
like_the_real(_HOSTED)
_HOSTED_FAKES = {id(real): fake for _, _, real, fake in _HOSTED}   # id(real) -> fake
_HOSTED_REALS = {id(fake): real for _, _, real, fake in _HOSTED}   # id(fake) -> real
_HOSTED_IDS = frozenset(_HOSTED_FAKES) | frozenset(_HOSTED_REALS)
# the same builtins under the posix module's own names (CPython's test_posix calls
# posix.waitid and posix.posix_spawn)
_REPLACED += [(posix, name, real, fake) for module, name, real, fake in _REPLACED
              if module is os and getattr(posix, name, None) is real]
