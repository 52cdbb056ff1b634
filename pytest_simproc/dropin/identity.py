"""The test process's own pid in its host: init's, 1.

The test stands where its host's init does: its programs' parent is pid 1, `ps` and
psutil in the host show it as pid 1, and a program handed a pid can only know host
pids. So for the test's own code the test process is pid 1 as well, for the whole test
(before its first spawn made the host too, as its group and session, owngroup.py):
``os.getpid()`` is 1 and ``os.getppid()`` 0 (init's parent, getppid(2) in a pid
namespace), and what it reads of itself (``/proc/self``, ``/proc/1``, psutil's
``Process()``) says so (procfs.py). A test that hands ``str(os.getpid())`` to a
program (``pmap``, ``pidof``, a daemon's ``--parent-pid``) names itself, and
``psutil.Process(child).ppid() == os.getpid()`` holds where ``ps`` in the host says 1.
``os.kill(1, sig)`` (``os.kill(os.getpid(), sig)``) from the test's code reaches the
test process itself, as natively, never the machine's init.

The real pid stays the answer for the standard library and the machinery, which keep
a pid to tell a forked copy from the original (multiprocessing's finalizers compare
``os.getpid()`` with a ``getpid`` bound at import, tempfile reseeds its names, logging,
asyncio), and for tools that name the process to the machine (pytest, xdist and
execnet, coverage). C code's getpid(2) is the real one too.
"""
from __future__ import annotations

import sys
import threading

from .routing import (_NATIVE_CALLERS, _in_host_thread, _matches, _real_getpid,
                      _real_getppid, active_session)

INIT = 1  # the test's pid as its programs see it
_real_get_native_id = threading.get_native_id

# Besides the machinery (routing._NATIVE_CALLERS) and the standard library: tools
# that keep the pid to tell a forked copy of the process or to name it to others.
_REAL_PID_CALLERS = _NATIVE_CALLERS + ("xdist", "execnet", "coverage", "pytest_cov",
                                       "billiard", "pytest", "pytest_timeout")
_STDLIB = frozenset(sys.stdlib_module_names) - {"test"}  # a suite may call itself "test"


def as_test(depth: int = 2) -> bool:
    """The caller ``depth`` frames up from here is the test's code, or a library it
    uses (psutil), in a drop-in session: neither the machinery, the standard library
    nor a tool that keeps the real pid. It sees the test as pid 1."""
    session = active_session()
    if session is None or session._closed or _in_host_thread():
        return False
    try:
        name = sys._getframe(depth).f_globals.get("__name__") or ""
    except ValueError:
        return True
    verdict = _VERDICTS.get(name)
    if verdict is None:
        verdict = _VERDICTS[name] = (name.partition(".")[0] not in _STDLIB
                                     and not _matches(name, _REAL_PID_CALLERS))
    return verdict


_VERDICTS: dict[str, bool] = {}  # module name -> whether its code sees pid 1


def sim_getpid():
    return INIT if as_test() else _real_getpid()


def sim_getppid():
    return 0 if as_test() else _real_getppid()


def sim_get_native_id():
    """The main thread's id is its process's pid (gettid(2)): 1 to the test's code, as
    /proc/1/task and psutil's ``threads()`` show it; other threads keep theirs."""
    tid = _real_get_native_id()
    return INIT if tid == _real_getpid() and as_test() else tid


def real_pid(pid):
    """``pid`` as the real call must see it: the test's real pid for 1 named by the
    test's code (the caller of the fake that asks), else ``pid`` unchanged."""
    if pid == INIT and type(pid) is int and as_test(3):
        return _real_getpid()
    return pid
