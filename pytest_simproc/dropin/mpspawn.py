"""multiprocessing's "spawn" start method starts its children in the test's host.

Its Popen starts a fresh interpreter with ``multiprocessing.util.spawnv_passfds``, which
forks and execs in C (_posixsubprocess): no at-fork hook of forking.py runs, so the
child was the machine's, with a real pid, real time and real waits, while the test's
sleeps were virtual (uvicorn's Multiprocess supervisor: workers started, restarted and
killed from a thread of the test). Here that call forks into the host and execs as
natively, the descriptors to pass kept and the rest closed, and returns the virtual pid,
which multiprocessing's waits and kills then name (routed to the host like any pid of
it). The resource tracker and the forkserver, started the same way but shared by the
whole run, stay the machine's: only a spawn child's command line carries
``--multiprocessing-fork``.
"""
from __future__ import annotations

import os
import sys

from ..trace.spawn import close_fds_except
from .forking import ChildFailed, exec_first, fork_exec
from .routing import _session_for_caller

_fake = None


def install(undo: list) -> None:
    """Put the fake on multiprocessing.util once multiprocessing is imported (looked at
    every session's start), with its undo entry (object, name, real)."""
    global _fake
    if "multiprocessing" not in sys.modules:
        return
    import multiprocessing.util as util  # its Popen imports it only at a first start
    current = util.spawnv_passfds
    if current is _fake:
        return
    real = current

    def spawnv_passfds(path, args, passfds):
        session = _session_for_caller()
        if session is None or "--multiprocessing-fork" not in args:
            return real(path, args, passfds)
        keep = {int(fd) for fd in passfds}

        def child(errpipe):
            for fd in keep:
                os.set_inheritable(fd, True)
            close_fds_except({*keep, errpipe})
            exec_first([path], list(args), os.environ)

        with session._lock:
            try:
                return fork_exec(session, child, exit_code=127).pid
            except ChildFailed as failed:
                raise OSError(failed.code, os.strerror(failed.code), path) from None

    _fake = spawnv_passfds
    undo.append((util, "spawnv_passfds", real))
    util.spawnv_passfds = spawnv_passfds
