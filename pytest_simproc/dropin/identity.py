"""The test process's own pid in its host: its real one, as natively.

A test is never pid 1 natively, and suites notice: gunicorn's ``LISTEN_PID=1`` must
not be "this pid", its arbiter takes ``os.getppid()`` for its master, psutil's
``Process().parents()`` is not empty, filelock compares a pid taken at collection with
the one its test reads. So ``os.getpid()`` and ``os.getppid()`` are not faked: the
test keeps its real pid, for its code, the standard library and the tools alike.

In its host the test is a process the host does not run (ProcessTable.add_outsider):
under that same pid, a child of the host's init (pid 1, the model alone, as in
fixture mode) in init's group and session (owngroup.py), and the parent of every
program it starts (ppid = its pid, as ``ps``, psutil and getppid(2) in the host say).
Its own parent stays the real one for its code (``os.getppid()``, ``/proc/self``,
``psutil.Process().parents()``: the machine's processes, as natively); the programs,
to whom that process is outside their host, see the host's init (1) there.
The host's pid allocator never hands its pid out (a live pid), so a test whose real
pid falls in the host's range (from 1000) shifts the pids after it by one when the
counter reaches it: host pids stay the same from run to run only below the test's
pid (a fixed number instead would be a pid the test's code does not have). A
program's signal to its parent is a real one to the test (engine/deliver.py); the
test's zombies are kept by the session until it waits (Popen, ``os.waitpid``), as
natively; an orphan goes to the host's init, which reaps it.

When the real pid is 1 (pytest as a container's init) the test is the host's init,
as natively: its programs' parent is 1 and no outsider is added; init's zombies
(its programs' and the orphans it adopts) stay until the test waits for them
(ProcessTable.init_waits, waiting._adopt_orphans), as a native pid 1 keeps them.
"""
from __future__ import annotations

import os

from ..kernel.table import INIT_PID

_own_names: tuple = (None, "", [])  # (pid, comm, argv) of the test process


def _names() -> tuple:
    """The test process's name and command line, read once per process: every
    spawning test makes a host."""
    global _own_names
    if _own_names[0] != os.getpid():
        try:
            with open("/proc/self/comm", "rb") as fh:
                comm = fh.read().rstrip(b"\n").decode(errors="surrogateescape")
            with open("/proc/self/cmdline", "rb") as fh:
                argv = [a.decode(errors="surrogateescape")
                        for a in fh.read().split(b"\0")[:-1]]
        except OSError:
            return "python", []
        _own_names = (os.getpid(), comm, argv)
    return _own_names[1], _own_names[2]


def join(host) -> None:
    """The test process joins its new host under its real pid, named as it is, so
    `ps -ef` or `pgrep python` in the host finds it as the programs' parent."""
    comm, argv = _names()
    table = host._engine.table
    pid = os.getpid()
    if pid == INIT_PID:   # the test is init (module docstring)
        table.init.exe, table.init.argv = comm, list(argv)
        table.init_waits = True   # its zombies stay until it waits (waiting.py)
        return
    table.add_outsider(pid, argv, comm, table.init.start_time_ns)
