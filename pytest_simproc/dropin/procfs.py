"""The test's /proc: the host's processes under their virtual pids.

A test that looks at its processes through /proc (``open``, ``os.listdir``,
``os.readlink``, ``os.stat``, ``os.path.exists``, pathlib, psutil) would otherwise read
whatever machine process has the virtual number, or none, and would list the host's
native tracees as its own children: ``psutil.Process().children()`` followed by
``kill()`` would then kill them behind the host's back. As for the programs
(syscalls/procfs.py), a path ``/proc/<pid>/...`` whose pid is the host's is the host's
process, rendered by the same renderer (procview.py); any other pid is the machine's.

The test stands where the host's init does: the processes it spawned (ppid 1 in the
host) are its children, listed with its own pid as their parent, and one that ended
and was not waited for is its zombie (state Z) until it is. Their start times count
from the test process's own start (field 22 of its stat, proc(5)), so psutil, which
drops a "child" older than its parent as a reused pid, keeps them; differences between
two host processes' start times are virtual ticks.

A listing of /proc shows the machine's pids without the host's native ones, and the
host's. Paths are read lexically ("//", ".", ".."); a relative path, a ``dir_fd`` and
``os.scandir`` are left alone. The patches go in at the host's creation (a test that
starts no process pays nothing) and out with the session.
"""
from __future__ import annotations

import builtins
import errno
import io
import os
import posixpath
import threading

from ..procview import HZ, NSEC, ProcView
from ..syscalls.procfs import render_dir, write_rendered
from .routing import _caller_is_native, _in_host_thread, active_session

_real_open = builtins.open
_real_os_open = os.open
_real_listdir = os.listdir
_real_readlink = os.readlink
_real_stat = os.stat
_real_lstat = os.lstat
_real_access = os.access

_VIEW: "TestView | None" = None  # the view of the active session, once it has a host


def _own_start_ticks() -> int:
    """This process's start time in clock ticks since the machine's boot (proc(5))."""
    with _real_open("/proc/self/stat", "rb") as f:
        data = f.read()
    return int(data[data.rindex(b")") + 2:].split()[19])


class _Seen:
    """A host process as the test sees it: its parent, start and state may differ."""

    __slots__ = ("_proc", "ppid", "start_time_ns", "state")

    def __init__(self, proc, ppid: int, start_time_ns: int, state: str):
        self._proc, self.ppid, self.start_time_ns, self.state = proc, ppid, start_time_ns, state

    @property
    def is_zombie(self) -> bool:
        return self.state == "zombie"

    def __getattr__(self, name):
        return getattr(self._proc, name)


class TestView(ProcView):
    """The host's /proc as its test reads it (module docstring)."""

    __test__ = False  # not a pytest test class

    def __init__(self, session):
        super().__init__(session.host._engine)
        self.session = session
        self.pid = os.getpid()
        self.shift_ns = _own_start_ticks() * (NSEC // HZ)
        self.root = os.fsencode(os.path.join(self.engine.data_dir, ".proc-test"))

    def _test_zombie(self, pid: int) -> bool:
        return self.engine.table.get(pid) is None and self.session._zombie_child(pid)

    def process(self, pid: int):
        if pid <= 1:
            return None  # the machine's init
        proc = self.engine.table.get(pid)
        state = None if proc is None else proc.state
        if proc is None:
            if not self.session._zombie_child(pid):
                return None
            proc, state = self.engine.table.lookup_any(pid), "zombie"
        ppid = proc.ppid
        if ppid == 1 and pid in self.session._children:
            ppid = self.pid  # the host's init is the test
        return _Seen(proc, ppid, proc.start_time_ns + self.shift_ns, state)

    def pids(self) -> list[int]:
        table = self.engine.table
        pids = {p.pid for p in table.live() + table.zombies()}
        pids.update(p for p in self.session._children if self._test_zombie(p))
        return sorted(pids)

    def owns(self, n: int) -> bool:
        """Whether /proc/<n> is the host's (a pid or a live thread's tid of the host)."""
        return self.session._lookup(n) is not None or self.thread_of(n) is not None

    def thread_of(self, tid: int) -> int | None:
        """The pid of the process whose (non-main) live thread ``tid`` is, else None."""
        task = self.engine.tasks_by_tid.get(tid)
        if task is None or task.exiting or task.proc.pid == tid:
            return None
        return task.proc.pid

    def natives(self) -> set[int]:
        """The native pids of the host's processes (the tracer's children)."""
        out = {t.tgid_native for t in self.engine.tasks.values()}
        return out | set(getattr(self.engine, "_native_unreaped", ()))

    # ------------------------------------------------------------- paths
    def real_path(self, comps: list[str], opening: bool) -> str:
        """The path the real call must see for /proc/<host pid>/...: a native path, or
        one of the files rendered under the host's data dir; ENOENT when the process
        is gone."""
        pid, rest = int(comps[1]), comps[2:]
        owner = self.thread_of(pid)
        if owner is not None:  # /proc/<tid>: the thread's own (unlisted) directory
            pid, rest = owner, ["task", str(pid)] + rest
        if self.process(pid) is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
        native = self.native_dir(pid)
        if native is None:  # a zombie's: rendered whole
            return os.fsdecode(render_dir(self, self.root, pid)) + _tail(rest)
        tid = None
        if len(rest) >= 2 and rest[0] == "task" and _is_pid(rest[1]):
            tid = int(rest[1])
            native = self.native_dir(pid, tid) if tid in self.tids(pid) else None
            if native is None:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            rest = rest[2:]
        if opening and len(rest) == 1:
            data = self.pid_file(pid, tid, rest[0])
            if data is not None:
                name = f"{pid}/{rest[0]}" if tid is None else f"{pid}/task/{tid}/{rest[0]}"
                return os.fsdecode(write_rendered(self.root, name.encode(), data))
        return native + _tail(rest)

    def listing(self, comps: list[str]) -> list[str] | None:
        """The names of /proc or /proc/<pid>/task with the host's numbers; None for any
        other directory."""
        if comps == ["proc"]:
            hidden = self.natives()
            names = [n for n in _real_listdir("/proc")
                     if not _is_pid(n) or (int(n) not in hidden and not self.owns(int(n)))]
            return names + [str(pid) for pid in self.pids()]
        if len(comps) == 3 and comps[2] == "task" and self.owns(int(comps[1])):
            pid = self.thread_of(int(comps[1])) or int(comps[1])
            if self.process(pid) is None:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            return [str(tid) for tid in self.tids(pid)]
        return None


def _tail(rest: list[str]) -> str:
    return "".join("/" + c for c in rest)


def _is_pid(name: str) -> bool:
    # the kernel reads no sign and no leading zero (fs/proc/util.c name_to_int)
    return name.isdigit() and name[:1] != "0" and name.isascii()


def _components(path):
    """The lexical components of an absolute path under /proc, else None. Cheap for
    every other path: the fakes see each open() and stat() of the test."""
    if isinstance(path, str):
        if "proc" not in path:
            return None
    elif isinstance(path, bytes):
        if b"proc" not in path:
            return None
        path = os.fsdecode(path)
    elif hasattr(path, "__fspath__"):
        return _components(os.fspath(path))
    else:
        return None  # a descriptor
    if path[:1] != "/":
        return None
    comps = [c for c in posixpath.normpath(path).split("/") if c]
    return comps if comps[:1] == ["proc"] else None


def _view_for(path):
    """(the view, the path's components) when ``path`` is under /proc and the caller
    (three frames up) is the test's code, else None."""
    view = _VIEW
    if view is None:
        return None
    comps = _components(path)
    if comps is None:
        return None
    session = active_session()
    if (session is not view.session or session._closed or _in_host_thread()
            or _caller_is_native(3)):
        return None
    return view, comps


def _routed(view, comps, path, opening: bool):
    """The path the real call must see (the caller's own when it is the machine's)."""
    if len(comps) < 2 or not _is_pid(comps[1]):
        return path
    with view.session._lock:
        if not view.owns(int(comps[1])):
            return path
        try:
            real = view.real_path(comps, opening)
        except OSError as exc:
            exc.filename = path
            raise
    return os.fsencode(real) if isinstance(path, bytes) else real


def _call(real, path, routed, *args, **kwargs):
    """``real`` on the routed path; an error names the caller's path."""
    if routed is path:
        return real(path, *args, **kwargs)
    try:
        return real(routed, *args, **kwargs)
    except OSError as exc:
        exc.filename = path
        raise


def _sim_open(file, mode="r", *args, **kwargs):
    found = _view_for(file)
    if found is None:
        return _real_open(file, mode, *args, **kwargs)
    reading = isinstance(mode, str) and not any(c in mode for c in "wax+")
    return _call(_real_open, file, _routed(*found, file, reading), mode, *args, **kwargs)


def _sim_os_open(path, flags, mode=0o777, *, dir_fd=None):
    found = _view_for(path) if dir_fd is None else None
    if found is None:
        return _real_os_open(path, flags, mode, dir_fd=dir_fd)
    reading = flags & os.O_ACCMODE == os.O_RDONLY and not flags & (os.O_CREAT | os.O_TRUNC)
    return _call(_real_os_open, path, _routed(*found, path, reading), flags, mode)


def _sim_listdir(path="."):
    found = _view_for(path)
    if found is None:
        return _real_listdir(path)
    view, comps = found
    with view.session._lock:
        names = view.listing(comps) if len(comps) != 2 or not _is_pid(comps[1]) else None
    if names is None:
        return _call(_real_listdir, path, _routed(view, comps, path, False))
    if isinstance(path, bytes):
        return [os.fsencode(n) for n in names]
    return names


def _path_call(real):
    def fake(path, *args, dir_fd=None, **kwargs):
        found = _view_for(path) if dir_fd is None else None
        if found is None:
            return real(path, *args, dir_fd=dir_fd, **kwargs)
        return _call(real, path, _routed(*found, path, False), *args, **kwargs)
    fake.__name__ = fake.__qualname__ = real.__name__
    fake.__doc__ = real.__doc__
    return fake


_sim_readlink = _path_call(_real_readlink)
_sim_stat = _path_call(_real_stat)
_sim_lstat = _path_call(_real_lstat)
_sim_access = _path_call(_real_access)
for _fake, _real in ((_sim_open, _real_open), (_sim_os_open, _real_os_open),
                     (_sim_listdir, _real_listdir)):
    _fake.__name__ = _fake.__qualname__ = _real.__name__
    _fake.__doc__ = _real.__doc__
del _fake, _real

# (module, attribute, the real object, its fake); io.open is pathlib's open
_REPLACED = [(builtins, "open", _real_open, _sim_open), (io, "open", _real_open, _sim_open),
             (os, "open", _real_os_open, _sim_os_open),
             (os, "listdir", _real_listdir, _sim_listdir),
             (os, "readlink", _real_readlink, _sim_readlink),
             (os, "stat", _real_stat, _sim_stat), (os, "lstat", _real_lstat, _sim_lstat),
             (os, "access", _real_access, _sim_access)]
_install_lock = threading.Lock()


def install(session) -> None:
    """Route /proc of the session's host pids to its view (at the host's creation)."""
    global _VIEW
    with _install_lock:
        _VIEW = TestView(session)
        for module, name, real, fake in _REPLACED:
            if getattr(module, name) is real:
                setattr(module, name, fake)


def uninstall(session) -> None:
    """Put the real functions back (those still ours: a later patch keeps its own)."""
    global _VIEW
    with _install_lock:
        if _VIEW is None or _VIEW.session is not session:
            return
        _VIEW = None
        for module, name, real, fake in _REPLACED:
            if getattr(module, name) is fake:
                setattr(module, name, real)
