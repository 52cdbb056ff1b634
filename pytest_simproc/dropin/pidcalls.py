"""The test's calls that name a host process by pid outside /proc: priority,
scheduling, CPU affinity, I/O priority and resource limits.

``os.setpriority(PRIO_PROCESS, 1000, 5)``, ``resource.prlimit(1000, ...)`` or psutil's
``nice()``, ``cpu_affinity()``, ``ionice()`` (C calls of psutil's own) with a virtual
pid would reach whatever machine process has that number. As for the programs
(syscalls/sched.py, misc.py, resource.py), a host process's nice value is the host's
(kernel/nice.py); a live host process or thread is its native one for scheduling and
I/O priority; its CPU affinity is the machine's CPUs (the programs' too) and a new mask
goes to the native process; its resource limits are the host's (prlimit(2) on the
model, RLIMIT_NOFILE on the native process too); a host pid that is gone is ESRCH. Any
other pid: the real call. Installed and removed with the test's /proc (procfs.py).
"""
from __future__ import annotations

import contextlib
import errno
import operator
import os
import resource
import signal
import subprocess
import sys
import weakref

from ..kernel import nice
from ..kernel.errors import KernelError
from ..kernel.rlimits import RLIM_NLIMITS, RLIMIT_NOFILE, check_setrlimit
from ..syscalls.sched import owner
from . import procfs
from .routing import _caller_is_native, _in_host_thread, active_session, like_the_real

_U64 = 1 << 64
CAP_SYS_RESOURCE = 24


def _esrch():
    return ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH))


def _host(pid, depth: int = 3):
    """(the view, the host's live task or None) when ``pid`` is the host's and the
    caller (``depth`` frames up from here) the test's code; None for the real call."""
    view = procfs._VIEW
    if view is None or type(pid) is not int or pid <= 0:
        return None
    session = view.session
    if (session is not active_session() or session._closed or _in_host_thread()
            or _caller_is_native(depth)):
        return None
    with session._lock:
        if not view.owns(pid) or pid == view.pid:   # the test's own: the real call
            return None
        engine = view.engine   # None: no host yet, an earlier host's pid
        task = engine.tasks_by_tid.get(pid) if engine is not None else None
        return view, (None if task is None or task.exiting else task)


def _native(pid, setter: bool = False):
    """The native pid of live host process or thread ``pid``; ESRCH when the host's and
    gone; ``pid`` itself when not the host's. The host's init has no native process:
    the test's settings are read for it (as its ids are, syscalls/signal.py), and it
    is not the test's to change (EPERM)."""
    found = _host(pid, 4)  # called by a fake
    if found is None:
        return pid
    if found[1] is None:
        if pid == procfs.INIT:
            if setter:
                raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
            return found[0].pid
        raise _esrch()
    return found[1].native


def _by_native_pid(real, index: int):
    """A fake of ``real`` whose argument ``index`` is a pid."""
    setter = "set" in getattr(real, "__name__", "set")

    def fake(*args, **kwargs):
        if len(args) > index:
            args = args[:index] + (_native(args[index], setter),) + args[index + 1:]
        return real(*args, **kwargs)
    fake.__name__ = fake.__qualname__ = getattr(real, "__name__", "fake")
    fake.__doc__ = real.__doc__
    return fake


def _host_nice(pid, value=None):
    """The nice value of host process ``pid`` (``value``: set it as setpriority(2)
    from the test), the host's (kernel/nice.py); None when ``pid`` is not the host's."""
    found = _host(pid, 4)  # called by a fake
    if found is None:
        return None
    view = found[0]
    with view.session._lock:
        if view.process(pid) is None:
            raise _esrch()
        proc = (view.process(pid) if view.engine is None  # init before the host
                else view.engine.table.lookup_any(pid))  # the model's, not the test's view
        if value is not None:
            try:
                nice.set_priority([proc], value, (os.getuid(), os.geteuid()),
                                  capable(nice.CAP_SYS_NICE),
                                  lambda p: owner(view.engine, p))
            except KernelError as exc:
                raise OSError(exc.errno, os.strerror(exc.errno)) from None
        return proc.nice


def _by_process(real, setter: bool):
    """A fake of getpriority/setpriority: PRIO_PROCESS names a pid, a host one's nice
    value is the host's."""
    def fake(which, who, *args):
        if which == os.PRIO_PROCESS:
            if args:  # a C int, as Python converts it
                args = (int(operator.index(args[0])),) + args[1:]
                if not -2**31 <= args[0] < 2**31:
                    raise OverflowError("Python int too large to convert to C int")
            got = _host_nice(who, *args[:1]) if setter else _host_nice(who)
            if got is not None:
                return None if setter else got
        return real(which, who, *args)
    fake.__name__ = fake.__qualname__ = real.__name__
    fake.__doc__ = real.__doc__
    return fake


def _psutil_nice(real, setter: bool):
    """psutil's proc_priority_get/proc_priority_set(pid[, value])."""
    def fake(pid, *args):
        got = _host_nice(pid, *args[:1]) if setter else _host_nice(pid)
        if got is None:
            return real(pid, *args)
        return None if setter else got
    fake.__name__ = fake.__qualname__ = real.__name__
    fake.__doc__ = real.__doc__
    return fake


def _machine_cpus(real, as_list: bool):
    """sched_getaffinity of a host process: the machine's CPUs, as the programs see
    them (syscalls/misc.py; a zombie still has its mask)."""
    def fake(pid, *args):
        found = _host(pid)
        if found is None:
            return real(pid, *args)
        view, task = found
        if task is None:
            with view.session._lock:
                if view.process(pid) is None:
                    raise _esrch()
        cpus = sorted(view.engine.cpus if view.engine is not None
                      else real(view.pid, *args))   # init before the host: the test's
        return cpus if as_list else set(cpus)
    fake.__name__ = fake.__qualname__ = real.__name__
    fake.__doc__ = real.__doc__
    return fake


def _signed(value: int) -> int:
    return value - _U64 if value >= _U64 // 2 else value  # RLIM_INFINITY is -1


def _limits(value) -> tuple[int, int]:
    """A (soft, hard) argument of resource.prlimit, checked as Python checks it."""
    pair = tuple(value)
    if len(pair) != 2:
        raise ValueError("expected a tuple of 2 integers")
    out = []
    for v in pair:
        v = operator.index(v)
        if not -_U64 // 2 <= v < _U64 // 2:  # a C long long
            raise OverflowError("Python int too large to convert to C long")
        out.append(v % _U64)
    return out[0], out[1]


def capable(cap: int) -> bool:
    """Whether the test process has ``cap`` (capabilities(7)), root or not."""
    with procfs._real_open("/proc/self/status", "rb") as f:
        for line in f:
            if line.startswith(b"CapEff:"):
                return bool(int(line.split()[1], 16) >> cap & 1)
    return False


def _sim_prlimit(pid, which, *limits):
    """resource.prlimit of a host process: its limits in the host (prlimit(2))."""
    found = _host(pid)
    if found is None or len(limits) > 1:
        return _real_prlimit(pid, which, *limits)
    view, task = found
    which = operator.index(which)
    if not -2**31 <= which < 2**31:
        raise OverflowError("signed integer is greater than maximum")
    if not 0 <= which < RLIM_NLIMITS:
        raise ValueError("invalid resource specified")
    new = _limits(limits[0]) if limits else None
    with view.session._lock:
        proc = view.process(pid)
        if proc is None:
            raise _esrch()
        old = proc.rlimits[which]
        if new is not None:
            if which == RLIMIT_NOFILE and task is not None:  # the kernel's checks first
                _real_prlimit(task.native, which, tuple(_signed(v) for v in new))
            try:
                check_setrlimit(old, new, privileged=capable(CAP_SYS_RESOURCE))
            except KernelError as exc:  # Python's prlimit says EINVAL so
                if exc.errno == errno.EINVAL:
                    raise ValueError("current limit exceeds maximum limit") from None
                raise OSError(exc.errno, os.strerror(exc.errno)) from None
            proc.rlimits[which] = new
    return tuple(_signed(v) for v in old)


_real_getpriority, _real_setpriority = os.getpriority, os.setpriority
_real_sched_getaffinity = os.sched_getaffinity
_real_prlimit = resource.prlimit

_FIXED = [(os, "getpriority", _real_getpriority, _by_process(_real_getpriority, False)),
          (os, "setpriority", _real_setpriority, _by_process(_real_setpriority, True)),
          (os, "sched_getaffinity", _real_sched_getaffinity,
           _machine_cpus(_real_sched_getaffinity, False)),
          (resource, "prlimit", _real_prlimit, _sim_prlimit)]
_FIXED += [(os, name, getattr(os, name), _by_native_pid(getattr(os, name), 0))
           for name in ("sched_setaffinity", "sched_getscheduler", "sched_setscheduler",
                        "sched_getparam", "sched_setparam", "sched_rr_get_interval")]
like_the_real(_FIXED)
_PSUTIL: list = []  # psutil's C calls, made once psutil is imported


def replaced() -> list:
    """(module, attribute, the real object, its fake) for the calls above, and for
    psutil's C calls that take a pid if psutil has been imported."""
    # psutil's extension: _psutil_linux up to 8.0, _psutil since (one module for all
    # platforms)
    cext = sys.modules.get("psutil._psutil_linux") or sys.modules.get("psutil._psutil")
    if cext is not None and not _PSUTIL:
        for name in ("proc_priority_get", "proc_priority_set"):
            real = getattr(cext, name, None)
            if real is not None:
                _PSUTIL.append((cext, name, real, _psutil_nice(real, name.endswith("set"))))
        for name in ("proc_cpu_affinity_set", "proc_ioprio_get", "proc_ioprio_set"):
            real = getattr(cext, name, None)
            if real is not None:
                _PSUTIL.append((cext, name, real, _by_native_pid(real, 0)))
        real = getattr(cext, "proc_cpu_affinity_get", None)
        if real is not None:
            _PSUTIL.append((cext, "proc_cpu_affinity_get", real, _machine_cpus(real, True)))
        like_the_real(_PSUTIL)
    return _FIXED + _PSUTIL


# ------------------------------------------------- children of earlier hosts, unreaped
# A child the test forked (os.fork, pty.fork: pexpect's spawn) and never waited for
# stays its zombie when the test's host closes, as on a machine, where its pid is not
# given out again until the parent reaps it (wait(2)). Every test's host numbers its
# programs from 1000: an object of an earlier test, collected during a later one,
# killed and reaped (its finalizer: kill, waitpid) the later test's pid 1000. So a new
# host passes over these numbers, and the test's kill of one is a kill of a zombie
# (nothing happens), its waitpid reaps it and frees the number.
_UNREAPED: dict[int, int] = {}   # virtual pid -> wait status


#
# A Popen of an earlier host that the suite keeps (psutil's helpers keep every Popen of
# the run in a module's set, to terminate them all later; a unittest class keeps its
# setUpClass's) names a process that is gone. On a machine its number is not handed out
# again soon (pids count up to pid_max before they wrap), and the suite checks so: it
# terminates and waits for the old Popen, then asserts that its pid no longer exists.
# So a new host passes over the numbers of the Popen objects that the suite's modules
# and their classes hold (in a global or an attribute, or one level down in a list,
# set, tuple or dict there), and the test's kill of one is ESRCH, its /proc ENOENT.
# Where else a Popen lives on does not count: a frame of a finished test kept in a
# cycle (pytest.raises' traceback) lives until the garbage collector's next full
# pass, whose time would decide the next test's pids.
_STALE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # Popen -> its test
_KEPT: set[int] = set()   # the pids of those the suite keeps (kept())
_KEPT_FOR: list = [None]  # the test _KEPT was found for (None: to find again)
_CONTAINERS = (list, set, frozenset, tuple, dict)


def keep_unreaped(session) -> None:
    """The session's host has closed: its forked children the test never waited for
    stay the test's zombies, and the Popen objects of its programs name processes that
    are gone, while the fakes that answer for them stay (the pytest run's,
    patches.py)."""
    from .patches import Patches
    if not Patches.persist:
        return
    test = _current_test()
    for pid, child in list(session._children.items()):
        popen = child.popen()
        if popen is None:
            if not child._waited:
                code = child._sp.returncode
                _UNREAPED[pid] = (signal.SIGKILL if code is None
                                  else -code if code < 0 else (code & 0xFF) << 8)
        else:
            # subprocess keeps a dropped Popen whose wait it never saw (_active), to
            # reap it later: its process ended with the host, there is nothing to reap
            with contextlib.suppress(ValueError, AttributeError):
                subprocess._active.remove(popen)
            _STALE[popen] = test
            _KEPT_FOR[0] = None
    session._children = {}


def _current_test() -> str:
    """The test that runs (its node id, pytest sets it): a rerun of the same test
    (--simproc-verify, chaos) passes over no number of its earlier runs'."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").rpartition(" ")[0]


def stale(pid, depth: int = 3) -> bool:
    """``pid`` is a process of an earlier host that a Popen the suite keeps names,
    asked by the test's code (``depth`` frames up from here): gone."""
    return (type(pid) is int and pid > 1 and bool(_STALE) and not _in_host_thread()
            and not _caller_is_native(depth) and pid in kept())


def kept() -> set[int]:
    """The pids of the Popen objects of earlier tests that the suite keeps, found
    once per test and again after a host closed; the running test's own (its earlier
    runs' under --simproc-verify or chaos) are not."""
    global _KEPT
    test = _current_test()
    if _KEPT_FOR[0] != test:
        candidates = {id(p): p for p, made in list(_STALE.items()) if made != test}
        _KEPT = _kept(candidates) if candidates else set()
        _KEPT_FOR[0] = test
    return _KEPT


def _kept(candidates: dict) -> set[int]:
    """The pids of the ``candidates`` (id -> Popen) that a module outside the
    standard library and the machinery holds, or a class of one (see _STALE)."""
    found: set[int] = set()

    def look(values) -> None:
        for value in values:
            if id(value) in candidates:
                found.add(candidates[id(value)].pid)
            elif type(value) in _CONTAINERS:
                for item in list(value.values() if type(value) is dict else value):
                    if id(item) in candidates:
                        found.add(candidates[id(item)].pid)

    for name, module in list(sys.modules.items()):
        attrs = getattr(module, "__dict__", None)
        if not isinstance(attrs, dict) or not _suites(name, module):
            continue
        values = list(attrs.values())
        look(values)
        for value in values:
            if isinstance(value, type) and value.__module__ == name:
                look(list(vars(value).values()))
    return found


_NOT_THE_SUITES = frozenset(sys.stdlib_module_names) | {"pytest_simproc", "_pytest",
                                                        "pluggy", "psutil"}
_INSTALLED = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})
_SUITES: dict[str, tuple] = {}   # module name -> (the module's id, whether the suite's)


def _suites(name: str, module) -> bool:
    """Whether ``module`` is the suite's code: not the standard library, the machinery
    nor what is installed under the interpreter's prefix (site-packages). Decided once
    per module (the scan runs at a test's first spawn: ~560 modules in psutil's run)."""
    seen = _SUITES.get(name)
    if seen is None or seen[0] != id(module):
        path = getattr(module, "__file__", None) or ""
        mine = (name.partition(".")[0] not in _NOT_THE_SUITES and bool(path)
                and not path.startswith(_INSTALLED))
        seen = _SUITES[name] = (id(module), mine)
    return seen[1]


def reserve_unreaped(host) -> None:
    """A new host gives none of the test's zombies' pids out, nor those of the Popen
    objects of earlier tests that the suite keeps (kernel/table.py); a rerun of the
    same test (--simproc-verify, chaos) passes over none of its earlier runs'."""
    taken = set(_UNREAPED) | (kept() if _STALE else set())
    if taken:
        host._engine.table.reserve(taken)


def unreaped(pid, depth: int = 3) -> bool:
    """``pid`` is a zombie of an earlier host's, named by the test's code (``depth``
    frames up from here), not the machinery's."""
    return (type(pid) is int and pid in _UNREAPED and not _in_host_thread()
            and not _caller_is_native(depth))


def forget_unreaped() -> None:
    """The fakes are gone (the end of the pytest run): nothing answers for them."""
    _UNREAPED.clear()
    _STALE.clear()
    _KEPT.clear()
    _KEPT_FOR[0] = None


def reap_unreaped(pid: int) -> tuple[int, int]:
    """waitpid(2) of such a zombie: (pid, its status), and the pid is free again."""
    return pid, _UNREAPED.pop(pid)
