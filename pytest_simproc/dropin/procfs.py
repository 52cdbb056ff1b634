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
and was not waited for is its zombie (state Z) until it is. The test's clock is the
host's, so the test sees a machine that booted (/proc/stat's btime, /proc/uptime) as
long before the host's start time as the test process has lived: its own start is then
at the host's start, and a host process's start (its start ticks, shifted by that
lifetime, plus btime: psutil's create_time()) is what the programs see, and after the
test's, so psutil, which drops a "child" older than its parent as a reused pid, keeps
it.

A listing of /proc shows the machine's pids without the host's native ones, and the
host's; ``os.scandir`` there yields look-alikes of os.DirEntry. A rendered file opened
with ``open`` for reading is read from memory. Paths are read lexically ("//", ".",
".."); a relative path and a ``dir_fd`` are left alone. The patches go in at the
host's creation (a test that starts no process pays nothing) and out with the session.
"""
from __future__ import annotations

import builtins
import errno
import io
import os
import posixpath
import re
import stat
import threading

from ..procview import HZ, NSEC, ProcView
from ..syscalls.procfs import render_dir, write_rendered
from . import forking, selfusage
from .routing import _caller_is_native, _in_host_thread, active_session

_real_open = builtins.open
_real_os_open = os.open
_real_listdir = os.listdir
_real_readlink = os.readlink
_real_stat = os.stat
_real_lstat = os.lstat
_real_access = os.access
_real_scandir = os.scandir

_VIEW: "TestView | None" = None  # the view of the active session, once it has a host


def _own_start_ticks() -> int:
    """This process's start time in clock ticks since the machine's boot (proc(5)),
    read once per process (a forked child has a pid and a start of its own)."""
    pid = os.getpid()
    if pid not in _START_TICKS:
        with _real_open("/proc/self/stat", "rb") as f:
            data = f.read()
        _START_TICKS.clear()
        _START_TICKS[pid] = int(data[data.rindex(b")") + 2:].split()[19])
    return _START_TICKS[pid]


_START_TICKS: dict[int, int] = {}


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
        # whole seconds at least as long as the test process has lived: /proc/stat's
        # btime is a whole second, and host processes then start when they do in the
        # programs' view (btime + start ticks)
        self.shift_ns = -(-_own_start_ticks() * (NSEC // HZ) // NSEC) * NSEC

    @property
    def root(self) -> bytes:
        """Where the test's rendered files go: in the host's data dir, made when the
        test first reads one."""
        return os.fsencode(os.path.join(self.engine.data_dir, ".proc-test"))

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

    def machine_file(self, comps: list[str]) -> bytes | None:
        """/proc/stat and /proc/uptime as the test reads them: the machine booted
        when the test process's start is the host's start time (the test's clock is
        the host's), so boot time plus a start time is the time of the test's clock
        (psutil's create_time()); their other figures are the machine's."""
        if len(comps) != 2 or comps[1] not in ("stat", "uptime"):
            return None
        if comps[1] == "stat":
            btime = b"btime %d" % ((self.engine.start_time_ns - self.shift_ns) // NSEC)
            return re.sub(rb"(?m)^btime \d+", btime, _read_machine("/proc/stat"))
        up = self.engine.uptime_ns() + self.shift_ns
        idle = _read_machine("/proc/uptime").split()[1].split(b".")
        idle_cs = min(int(idle[0]) * 100 + int(idle[1][:2]),
                      up // (NSEC // 100) * (os.cpu_count() or 1))
        return b"%d.%02d %d.%02d\n" % (up // NSEC, up % NSEC // (NSEC // 100),
                                       idle_cs // 100, idle_cs % 100)

    def owns(self, n: int) -> bool:
        """Whether /proc/<n> is the host's (a pid or a live thread's tid of the host)."""
        return self.session._lookup(n) is not None or self.thread_of(n) is not None

    def names_host_pid(self, comps: list[str]) -> bool:
        """Whether ``comps`` start with "proc", a pid the host owns."""
        return (len(comps) > 1 and comps[0] == "proc" and _is_pid(comps[1])
                and self.owns(int(comps[1])))

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
    def _locate(self, comps: list[str]):
        """(pid, tid or None, the rest, the native directory or None for a zombie) of
        /proc/<host pid>/...; ENOENT when the process or thread is gone."""
        pid, rest = int(comps[1]), comps[2:]
        owner = self.thread_of(pid)
        if owner is not None:  # /proc/<tid>: the thread's own (unlisted) directory
            pid, rest = owner, ["task", str(pid)] + rest
        if self.process(pid) is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
        native = self.native_dir(pid)
        tid = None
        if len(rest) >= 2 and rest[0] == "task" and _is_pid(rest[1]):
            tid = int(rest[1])
            if tid not in self.tids(pid):
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            if native is not None:
                native = self.native_dir(pid, tid)
                if native is None:
                    raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
                rest = rest[2:]
        return pid, tid, rest, native

    def real_path(self, comps: list[str], opening: bool) -> str:
        """The path the real call must see for /proc/<host pid>/...: a native path, or
        one of the files rendered under the host's data dir when ``opening``."""
        pid, tid, rest, native = self._locate(comps)
        if native is None:  # a zombie's: rendered whole
            return os.fsdecode(render_dir(self, self.root, pid)) + _tail(rest)
        data = self.rendered(comps) if opening else None
        if data is not None:
            name = f"{pid}/{rest[0]}" if tid is None else f"{pid}/task/{tid}/{rest[0]}"
            return os.fsdecode(write_rendered(self.root, name.encode(), data))
        return native + _tail(rest)

    def rendered(self, comps: list[str]) -> bytes | None:
        """What reading /proc/<host pid>/... gives when the view renders it, else None
        (the native file is right)."""
        pid, tid, rest, native = self._locate(comps)
        if native is None and len(rest) == 3 and rest[:2] == ["task", str(pid)]:
            rest = rest[2:]  # a zombie's one task
        if len(rest) != 1:
            return None
        if native is None and rest[0] not in self.PID_FILES + ("children",) and (
                rest[0] not in self.MODEL_FILES):
            return None
        return self.pid_file(pid, tid, rest[0])

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


def _read_machine(path: str) -> bytes:
    with _real_open(path, "rb") as f:
        return f.read()


def _tail(rest: list[str]) -> str:
    return "".join("/" + c for c in rest)


def _is_pid(name: str) -> bool:
    # the kernel reads no sign and no leading zero (fs/proc/util.c name_to_int)
    return name.isdigit() and name[:1] != "0" and name.isascii()


def _components(path):
    """The lexical components of an absolute path that is /proc or starts with
    /proc/<pid>, else None. Cheap for every other path: the fakes see each open() and
    stat() of the test."""
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
    if comps[:1] == ["proc"] and (len(comps) == 1 or _is_pid(comps[1])
                                  or comps[1] in ("stat", "uptime") and len(comps) == 2):
        return comps
    raw = path.lstrip("/").split("/", 2)
    if raw[0] == "proc" and len(raw) > 1 and _is_pid(raw[1]):
        return comps  # was under /proc/<pid> until a ".."
    return None


def _view_for(path):
    """(the view, the path's components) when ``path`` is under /proc and the caller
    (three frames up) is the test's code, else None."""
    view = _VIEW
    if view is None:
        return None
    # the cheap tests first: the host's own threads stat /proc/N/fd/M at every read
    # and write of a program, and need not pay for the path's parsing
    session = active_session()
    if session is not view.session or session._closed or _in_host_thread():
        return None
    comps = _components(path)
    if comps is None or _caller_is_native(3):
        return None
    return view, comps


def _routed(view, comps, path, opening: bool):
    """The path the real call must see (the caller's own when it is the machine's)."""
    with view.session._lock:
        data = view.machine_file(comps) if opening else None
        if data is not None:
            real = os.fsdecode(write_rendered(view.root, comps[1].encode(), data))
        elif not view.names_host_pid(comps):
            # read lexically, "/proc/<host pid>/.." must not reach a machine pid
            raw = [c for c in os.fsdecode(os.fspath(path)).split("/") if c][:2]
            if not view.names_host_pid(raw):
                return path
            real = "/" + "/".join(comps)
        else:
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


class _RenderedBytes(io.BytesIO):
    """A rendered file opened for reading: bytes in memory, named by its /proc path."""

    def __init__(self, data: bytes, name):
        super().__init__(data)
        self.name, self.mode = name, "rb"


def _sim_open(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None,
              closefd=True, opener=None):
    args = (mode, buffering, encoding, errors, newline, closefd, opener)
    own = selfusage.own_file(file, *args)  # the test's own stat and status
    if own is not None:
        return own
    if type(file) is int and not _caller_is_native(2):  # a pipe or pty to the host
        hosted = forking.host_file(file, *args)
        if hosted is not None:
            return hosted
    found = _view_for(file)
    if found is None:
        return _real_open(file, *args)
    view, comps = found
    binary = mode in ("rb", "br")
    if ((binary and (encoding, errors, newline) == (None, None, None)
         or mode in ("r", "rt", "tr") and buffering != 0)
            and type(buffering) is int and opener is None and closefd is True):
        with view.session._lock:
            try:
                data = (view.rendered(comps) if view.names_host_pid(comps)
                        else view.machine_file(comps))
            except OSError as exc:
                exc.filename = file
                raise
        if data is not None:
            raw = _RenderedBytes(data, os.fspath(file))
            if binary:
                return raw
            text = io.TextIOWrapper(raw, encoding=io.text_encoding(encoding),
                                    errors=errors, newline=newline)
            text.mode = mode
            return text
    return _call(_real_open, file, _routed(view, comps, file, False), *args)


def _sim_os_open(path, flags, mode=0o777, *, dir_fd=None):
    found = _view_for(path) if dir_fd is None else None
    if found is None:
        return _real_os_open(path, flags, mode, dir_fd=dir_fd)
    reading = flags & os.O_ACCMODE == os.O_RDONLY and not flags & (os.O_CREAT | os.O_TRUNC)
    return _call(_real_os_open, path, _routed(*found, path, reading), flags, mode)


def _names(view, comps, path):
    """os.listdir of a directory under /proc, as the test sees it."""
    with view.session._lock:
        names = view.listing(comps)
    if names is None:
        return _call(_real_listdir, path, _routed(view, comps, path, False))
    if isinstance(path, bytes):
        return [os.fsencode(n) for n in names]
    return names


def _sim_listdir(path="."):
    found = _view_for(path)
    if found is None:
        return _real_listdir(path)
    return _names(*found, path)


class _Entry:
    """What os.scandir yields (os.DirEntry cannot be made in Python): its file
    information comes from the routed stat and lstat of its path."""

    __slots__ = ("name", "path", "_view")

    def __init__(self, view, directory, name):
        self.name, self.path, self._view = name, posixpath.join(directory, name), view

    def __fspath__(self):
        return self.path

    def __repr__(self):
        return f"<DirEntry {self.name!r}>"

    def stat(self, *, follow_symlinks=True):
        real = _real_stat if follow_symlinks else _real_lstat
        comps = _components(self.path)
        return _call(real, self.path, _routed(self._view, comps, self.path, False))

    def inode(self):
        return self.stat(follow_symlinks=False).st_ino

    def _is(self, test, follow_symlinks) -> bool:
        try:
            return test(self.stat(follow_symlinks=follow_symlinks).st_mode)
        except OSError:
            return False

    def is_dir(self, *, follow_symlinks=True):
        return self._is(stat.S_ISDIR, follow_symlinks)

    def is_file(self, *, follow_symlinks=True):
        return self._is(stat.S_ISREG, follow_symlinks)

    def is_symlink(self):
        return self._is(stat.S_ISLNK, False)

    def is_junction(self):
        return False


class _Scandir:
    """The iterator os.scandir returns: also a context manager."""

    def __init__(self, entries):
        self._it = iter(entries)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._it)

    def close(self):
        self._it = iter(())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _sim_scandir(path="."):
    found = _view_for(path)
    if found is None:
        return _real_scandir(path)
    view, comps = found
    if comps != ["proc"]:
        routed = _routed(view, comps, path, False)
        if routed is path:
            return _real_scandir(path)  # the machine's
        with view.session._lock:
            if not view.names_host_pid(comps):
                return _real_scandir(routed)  # left /proc/<host pid> by a ".."
    path = os.fspath(path)
    return _Scandir([_Entry(view, path, name) for name in _names(view, comps, path)])


_RAISE = object()


def _path_call(real, missing=_RAISE):
    """The fake of a call that takes a path (``missing``: its answer for a host
    process that is gone, instead of FileNotFoundError)."""
    def fake(path, *args, dir_fd=None, **kwargs):
        found = _view_for(path) if dir_fd is None else None
        if found is None:
            return real(path, *args, dir_fd=dir_fd, **kwargs)
        try:
            routed = _routed(*found, path, False)
        except FileNotFoundError:
            if missing is _RAISE:
                raise
            return missing
        return _call(real, path, routed, *args, **kwargs)
    fake.__name__ = fake.__qualname__ = real.__name__
    fake.__doc__ = real.__doc__
    return fake


_sim_readlink = _path_call(_real_readlink)
_sim_stat = _path_call(_real_stat)
_sim_lstat = _path_call(_real_lstat)
_sim_access = _path_call(_real_access, missing=False)  # access(2) fails: False
for _fake, _real in ((_sim_open, _real_open), (_sim_os_open, _real_os_open),
                     (_sim_listdir, _real_listdir), (_sim_scandir, _real_scandir)):
    _fake.__name__ = _fake.__qualname__ = _real.__name__
    _fake.__doc__ = _real.__doc__
del _fake, _real

# (module, attribute, the real object, its fake); io.open is pathlib's open
_REPLACED = [(builtins, "open", _real_open, _sim_open), (io, "open", _real_open, _sim_open),
             (os, "open", _real_os_open, _sim_os_open),
             (os, "listdir", _real_listdir, _sim_listdir),
             (os, "scandir", _real_scandir, _sim_scandir),
             (os, "readlink", _real_readlink, _sim_readlink),
             (os, "stat", _real_stat, _sim_stat), (os, "lstat", _real_lstat, _sim_lstat),
             (os, "access", _real_access, _sim_access)]
_install_lock = threading.Lock()


def _forgotten_in_child() -> None:
    """A child forked by the test is not the test: its /proc is its own (a child
    that joined the host gets the programs' view), and it must not take the session's
    lock, which another thread may have held at the fork."""
    global _VIEW
    _VIEW = None


os.register_at_fork(after_in_child=_forgotten_in_child)


_installed: list = []


def install(session) -> None:
    """Route /proc of the session's host pids to its view, and the other calls that
    name them (pidcalls.py), at the host's creation."""
    from . import pidcalls
    global _VIEW
    with _install_lock:
        _VIEW = TestView(session)
        for module, name, real, fake in _REPLACED + pidcalls.replaced():
            present = getattr(module, name)   # selfusage's open, or the real one
            if present is real or present is selfusage._sim_open:
                setattr(module, name, fake)
                _installed.append((module, name, present, fake))


def uninstall(session) -> None:
    """Put the real functions back (those still ours: a later patch keeps its own)."""
    global _VIEW
    with _install_lock:
        if _VIEW is None or _VIEW.session is not session:
            return
        _VIEW = None
        while _installed:
            module, name, real, fake = _installed.pop()
            if getattr(module, name) is fake:
                setattr(module, name, real)
