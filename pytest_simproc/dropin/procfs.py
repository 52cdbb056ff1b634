"""The test's /proc: the host's processes under their virtual pids, the test among them.

A test that looks at its processes through /proc (``open``, ``os.listdir``,
``os.readlink``, ``os.stat``, ``os.path.exists``, pathlib, psutil) would otherwise read
whatever machine process has the virtual number, or none, and would list the host's
native tracees as its own children: ``psutil.Process().children()`` followed by
``kill()`` would then kill them behind the host's back. As for the programs
(syscalls/procfs.py), a path ``/proc/<pid>/...`` whose pid is the host's is the host's
process, rendered by the same renderer (procview.py); any other pid is the machine's.

The test is a process of its host under its real pid (identity.py): ``/proc/<its
pid>``, ``/proc/self`` and ``/proc/thread-self`` are its own directory, its stat and
status with the host's group and session (1) and its own parent (identity.py);
``/proc/1`` is the host's init, the model's, as the programs read it (before the host
exists too, so ``psutil.Process().parents()`` ends there). The processes it spawned
are its children (ppid its pid), and one that ended and was not waited for is its
zombie (state Z) until it is; an orphan is the host's init's, and a machine process
whose parent is the machine's init or has a host pid's number has its parent outside
the test's pid namespace (ppid 0). The test's clock is the host's and so is its
boot (session.boot_ns, the same /proc/stat btime and /proc/uptime as its programs
read, before its first spawn too), so psutil's create_time() of a host process is what
the programs see, after the test's own (the host's start).

A listing of /proc shows the machine's pids without the test's and the host's native
ones, and the host's; ``os.scandir`` there yields look-alikes of os.DirEntry. A
rendered file opened with ``open`` for reading is read from memory. Paths are read
lexically ("//", ".", ".."); a relative path and a ``dir_fd`` are left alone. The
patches go in at the session's start and out at its end.
"""
from __future__ import annotations

import builtins
import errno
import io
import os
import posixpath
import re
import stat
import tempfile
import threading

from ..kernel.clock import VirtualClock
from ..kernel.table import ProcessTable
from ..kernel.timens import TimeNamespaces
from ..kernel.tty import stat_fields
from ..procview import (BOOT_LEAD_NS, HZ, NSEC, ProcView, with_stat_fields,
                        with_values)
from ..syscalls.procfs import render_dir, write_rendered
from . import fifos, forking, gonepids, selfusage
from .routing import (_caller_is_native, _in_host_thread, _real_getpid, active_session,
                      like_the_real)

_real_open = builtins.open
_real_os_open = os.open
_real_listdir = os.listdir
_real_readlink = os.readlink
_real_stat = os.stat
_real_lstat = os.lstat
_real_access = os.access
_real_scandir = os.scandir

_VIEW: "TestView | None" = None  # the view of the active session

INIT = 1  # the host's init


class _Seen:
    """A host process as the test sees it: one it did not wait for is its zombie."""

    __slots__ = ("_proc", "state")

    def __init__(self, proc, state: str):
        self._proc, self.state = proc, state

    @property
    def is_zombie(self) -> bool:
        return self.state == "zombie"

    def __getattr__(self, name):
        return getattr(self._proc, name)


def _own_stat(raw: bytes, tty: tuple) -> bytes:
    """The test's /proc/<pid>/stat (or a thread's) with the host's numbers: group and
    session 1 (owngroup.py), the controlling terminal its programs see, started at the
    host's start (proc(5)); its parent and other figures are its own (identity.py)."""
    return with_stat_fields(raw, {2: INIT, 3: INIT, 4: tty[0], 5: tty[1],
                                  19: BOOT_LEAD_NS * HZ // NSEC})


def _own_status(raw: bytes, pid: int, tid: int | None) -> bytes:
    """The test's /proc/<pid>/status with the host's numbers (see _own_stat)."""
    me = pid if tid is None else tid
    return with_values(raw, {b"TracerPid": 0, b"NStgid": pid, b"NSpid": me,
                             b"NSpgid": INIT, b"NSsid": INIT})


class _InitOnly:
    """What the renderer reads of a host that is not made yet: its init alone,
    there from the session's start (the test's /proc/1 before its first spawn)."""

    info: dict = {}
    tasks_by_tid: dict = {}

    def __init__(self, session):
        self.start_time_ns = session.boot_ns + BOOT_LEAD_NS   # the test's, as _own_stat
        self.table = ProcessTable(now_ns=self.start_time_ns)
        self.clock = VirtualClock(session._now_ns(), boot_ns=session.boot_ns)
        self.timens = TimeNamespaces()

    @staticmethod
    def native_pid_of(_pid):
        return None


def _init_view(session) -> ProcView:
    """The renderer of a host not made yet, for its init's /proc/1 (_InitOnly)."""
    return ProcView(_InitOnly(session))


_PRE_HOST_ROOT: list = []  # a directory for rendered files before a host exists


class TestView(ProcView):
    """The host's /proc as its test reads it (module docstring)."""

    __test__ = False  # not a pytest test class

    def __init__(self, session):  # the engine comes with the host (a property)
        self.session = session
        self.pid = _real_getpid()
        self._native_start = None   # the test's start, the machine's (_machine_start)

    @property
    def engine(self):
        host = self.session._host
        return None if host is None else host._engine

    @property
    def root(self) -> bytes:
        """Where the test's rendered files go: in the host's data dir, made when the
        test first reads one; before the host exists, a directory of the process's."""
        engine = self.engine
        if engine is not None:
            return os.fsencode(os.path.join(engine.data_dir, ".proc-test"))
        if not _PRE_HOST_ROOT:
            _PRE_HOST_ROOT.append(tempfile.TemporaryDirectory(prefix="simproc-proc-"))
        return os.fsencode(_PRE_HOST_ROOT[0].name)

    def process(self, pid: int):
        if self.engine is None:   # before the host: its init alone
            return _init_view(self.session).engine.table.init if pid == INIT else None
        if pid <= 0:
            return None
        proc = self.engine.table.get(pid)
        if proc is not None:
            return proc
        if not self.session._zombie_child(pid):
            return None
        return _Seen(self.engine.table.lookup_any(pid), "zombie")

    def pids(self) -> list[int]:
        """Init, the test and its host's processes (a listing of /proc shows the
        machine's others too)."""
        engine = self.engine
        if engine is None:
            return [INIT, self.pid]
        table = engine.table
        pids = {p.pid for p in table.live() + table.zombies()}
        pids.update(p for p in self.session._children if self._test_zombie(p))
        return [INIT] + sorted((pids | {self.pid}) - {INIT})

    def _test_zombie(self, pid: int) -> bool:
        return self.engine.table.get(pid) is None and self.session._zombie_child(pid)

    def boot_ns(self) -> int:
        """The host's boot, the session's (session.boot_ns), before the host exists
        too."""
        return self.session.boot_ns

    def machine_file(self, comps: list[str]) -> bytes | None:
        """/proc/stat and /proc/uptime as the test reads them: the test's clock is the
        host's, and so is its boot (btime, what its programs read); their other
        figures are the machine's. A machine process's stat and status:
        _machine_process_file."""
        if comps[:1] != ["proc"]:
            return None  # "/proc/<pid>/../../N/stat" read lexically is /N/stat
        if len(comps) > 2:
            return self._machine_process_file(comps)
        if len(comps) != 2 or comps[1] not in ("stat", "uptime"):
            return None
        if comps[1] == "stat":
            btime = b"btime %d" % (self.boot_ns() // NSEC)
            return re.sub(rb"(?m)^btime \d+", btime, _read_machine("/proc/stat"))
        up = self.session._now_ns() - self.boot_ns()
        idle = _read_machine("/proc/uptime").split()[1].split(b".")
        idle_cs = min(int(idle[0]) * 100 + int(idle[1][:2]),
                      up // (NSEC // 100) * (os.cpu_count() or 1))
        return b"%d.%02d %d.%02d\n" % (up // NSEC, up % NSEC // (NSEC // 100),
                                       idle_cs // 100, idle_cs % 100)

    def _machine_process_file(self, comps: list[str]) -> bytes | None:
        """/proc/<pid>/stat or status (or a thread's) of a machine process: its start
        on the test's clock (_machine_start); if its parent is the machine's init or
        has a number of the host's, that parent is outside the test's pid namespace
        (0, pid_namespaces(7)), not the host's init nor a host process: psutil's
        children() of either lists only theirs. None for any other file (the
        machine's own is right)."""
        if (comps[-1] not in ("stat", "status") or len(comps) not in (3, 5)
                or not _is_pid(comps[1]) or self.owns(int(comps[1]))
                or len(comps) == 5 and comps[2] != "task" or self.names_native(comps)):
            return None   # (a program's native pid is gone: _routed)
        raw = _read_machine("/" + "/".join(comps))
        if comps[-1] == "stat":
            close = raw.rindex(b")")
            fields = raw[close + 2:].split(b" ")
            if len(fields) < 20:
                return None
            if self._outside(int(fields[1])):
                fields[1] = b"0"
            fields[19] = b"%d" % self._machine_start(int(fields[19]))
            return raw[:close + 2] + b" ".join(fields)
        match = re.search(rb"(?m)^PPid:\t(\d+)$", raw)
        if match is None or not self._outside(int(match.group(1))):
            return None
        return raw[:match.start(1)] + b"0" + raw[match.end(1):]

    def _machine_start(self, ticks: int) -> int:
        """A machine process's start (stat's field 22, clock ticks since the boot) on
        the test's clock: the machine's time line moved so that the test started at
        the host's start (_own_stat), the processes before it at the boot at the
        latest: its parent and ancestors are older than the test (psutil's
        ``parents()`` checks), those after it younger."""
        if self._native_start is None:
            self._native_start = int(_read_machine(f"/proc/{self.pid}/stat")
                                     .rsplit(b")", 1)[1].split()[19])
        return max(0, ticks - self._native_start + BOOT_LEAD_NS * HZ // NSEC)

    def _outside(self, ppid: int) -> bool:
        return ppid != self.pid and self.owns(ppid)

    def natives(self) -> set[int]:
        """The native pids of the test and of its host's processes (the tracer's
        children): its programs are their virtual pids."""
        engine = self.engine
        if engine is None:
            return {self.pid}
        out = {t.tgid_native for t in engine.tasks.values()}
        return out | set(getattr(engine, "_native_unreaped", ())) | {self.pid}

    def owns(self, n: int) -> bool:
        """Whether /proc/<n> is the host's (init, the test itself; a pid or a live
        thread's tid of the host)."""
        if n in (INIT, self.pid):
            return True
        if self.engine is not None and (self.session._lookup(n) is not None
                                        or self.thread_of(n) is not None):
            return True
        from . import pidcalls
        if bool(pidcalls._STALE) and n in pidcalls.kept():
            return True   # an earlier host's: gone
        return gonepids.had(n)   # as os.kill says of it

    def names_host_pid(self, comps: list[str]) -> bool:
        """Whether ``comps`` start with "proc", a pid the host owns."""
        return (len(comps) > 1 and comps[0] == "proc" and _is_pid(comps[1])
                and self.owns(int(comps[1])))

    def names_native(self, comps: list[str]) -> bool:
        """Whether ``comps`` start with "proc", the native pid of one of the host's
        programs that no pid of the host shares: under its host's numbers only, as in
        a pid namespace (pid_namespaces(7)). The test's own real pid stays (listed,
        selfusage.own_file): a psutil.Process() made before the test holds it."""
        if len(comps) < 2 or comps[0] != "proc" or not _is_pid(comps[1]):
            return False
        n = int(comps[1])
        return n != self.pid and n in self.natives() and not self.owns(n)

    def thread_of(self, tid: int) -> int | None:
        """The pid of the process whose (non-main) live thread ``tid`` is, else None."""
        engine = self.engine
        task = engine.tasks_by_tid.get(tid) if engine is not None else None
        if task is None or task.exiting or task.proc.pid == tid:
            return None
        return task.proc.pid

    # ------------------------------------------------------------- the test itself
    def _own(self, comps: list[str]):
        """(its native directory, tid or None, the rest) of /proc/<the test's pid>/...:
        the test process's own."""
        head, rest, tid = f"/proc/{self.pid}", comps[2:], None
        if len(rest) >= 2 and rest[0] == "task" and _is_pid(rest[1]):
            tid = int(rest[1])
            if not _exists(f"{head}/task/{tid}"):
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            head, rest = f"{head}/task/{tid}", rest[2:]
        return head, tid, rest

    def _own_file(self, comps: list[str]) -> bytes | None:
        head, tid, rest = self._own(comps)
        if len(rest) != 1 or rest[0] not in ("stat", "status", "children"):
            return None
        if rest[0] == "children":  # the test's own children, waited for or not
            if tid not in (None, self.pid) or self.engine is None:
                return b"" if tid in (None, self.pid) else None
            return b"".join(b"%d " % pid for pid in self.pids()
                            if pid != self.pid and self.process(pid).ppid == self.pid)
        raw = selfusage.with_own_usage(rest[0], tid, _read_machine(f"{head}/{rest[0]}"))
        if rest[0] == "status":
            return _own_status(raw, self.pid, tid)
        me = None if self.engine is None else self.engine.table.get(self.pid)
        return _own_stat(raw, (0, -1) if me is None else stat_fields(me))

    def _pre_host_init(self, comps: list[str]) -> bytes | None:
        """/proc/1/<file> before the host exists: its init's, rendered as it will be
        (stat, status and the like); None for any other path."""
        if len(comps) != 3 or comps[2] not in self.PID_FILES + tuple(self.MODEL_FILES):
            return None
        view = _init_view(self.session)
        data = view.pid_file(INIT, None, comps[2])
        return self.MODEL_FILES.get(comps[2], b"") if data is None else data

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
        if comps[1] == str(self.pid):  # the test itself
            data = self._own_file(comps) if opening else None
            if data is not None:
                name = "/".join(["self"] + comps[2:])
                return os.fsdecode(write_rendered(self.root, name.encode(), data))
            head, _tid, rest = self._own(comps)
            return head + _tail(rest)
        if self.engine is None and comps[1] == str(INIT):  # the host's init, to be
            return os.fsdecode(render_dir(_init_view(self.session), self.root, INIT)
                               ) + _tail(comps[2:])
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
        if comps[1] == str(self.pid):
            return self._own_file(comps)
        if self.engine is None and comps[1] == str(INIT):
            return self._pre_host_init(comps)
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
            hidden = self.natives() - {self.pid}
            names = [n for n in _real_listdir("/proc")
                     if not _is_pid(n) or (int(n) not in hidden and not self.owns(int(n)))]
            return names + [str(pid) for pid in self.pids()]
        if comps == ["proc", str(self.pid), "task"]:
            return _real_listdir(f"/proc/{self.pid}/task")
        if self.engine is None and comps == ["proc", str(INIT), "task"]:
            return [str(INIT)]
        if len(comps) == 3 and comps[2] == "task" and self.owns(int(comps[1])):
            pid = self.thread_of(int(comps[1])) or int(comps[1])
            if self.process(pid) is None:
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            return [str(tid) for tid in self.tids(pid)]
        return None


def _read_machine(path: str) -> bytes:
    with _real_open(path, "rb") as f:
        return f.read()


def _exists(path: str) -> bool:
    try:
        _real_stat(path)
    except OSError:
        return False
    return True


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
    if comps[:1] == ["proc"] and len(comps) > 1 and comps[1] in _SELF:
        comps = _own_comps(comps)
    if comps[:1] == ["proc"] and (len(comps) == 1 or _is_pid(comps[1])
                                  or comps[1] in ("stat", "uptime") and len(comps) == 2):
        return comps
    raw = path.lstrip("/").split("/", 2)
    if raw[0] == "proc" and len(raw) > 1 and (_is_pid(raw[1]) or raw[1] in _SELF):
        return comps  # was under /proc/<pid> until a ".."
    return None


_SELF = ("self", "thread-self")


def _own_comps(comps: list[str]) -> list[str]:
    """/proc/self and /proc/thread-self of the test's code: its own pid and tid."""
    if comps[1] == "self":
        return ["proc", str(_real_getpid())] + comps[2:]
    tid = threading.get_native_id()
    return ["proc", str(_real_getpid()), "task", str(tid)] + comps[2:]


def _self_link(path) -> str | None:
    """readlink of /proc/self or /proc/thread-self itself: what it reads as for the
    test's code (the test's virtual numbers), else None."""
    text = os.fsdecode(os.fspath(path)) if isinstance(path, (str, bytes)) else None
    if text is None or "self" not in text:
        return None
    name = posixpath.normpath(text)
    if name not in ("/proc/self", "/proc/thread-self"):
        return None
    return "/".join(_own_comps(["proc", name[6:]])[1:])


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
            name = "/".join(comps[1:] if len(comps) == 2 else ["machine"] + comps[1:])
            real = os.fsdecode(write_rendered(view.root, name.encode(), data))
        elif view.names_native(comps):
            # unlisted (listing), so gone: psutil's pid_exists falls back on the listing
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
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
    if type(file) is int and not _caller_is_native(2):  # a pipe or pty to the host
        hosted = forking.host_file(file, *args)
        if hosted is not None:
            return hosted
    found = _view_for(file)
    if found is None or not found[0].names_host_pid(found[1]):
        # the test's own stat and status by its real pid (/proc/self is the view's: 1)
        own = selfusage.own_file(file, *args)
        if own is not None:
            return own
    if found is None:
        return fifos.opened(file, *args) or _real_open(file, *args)
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
        fd = None if dir_fd is not None else fifos.os_opened(path, flags, mode)
        return _real_os_open(path, flags, mode, dir_fd=dir_fd) if fd is None else fd
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


def _path_call(real, missing=_RAISE, link=None):
    """The fake of a call that takes a path (``missing``: its answer for a host
    process that is gone, instead of FileNotFoundError; ``link(path, value)``: its
    answer for /proc/self or /proc/thread-self itself, the link to ``value``)."""
    def fake(path, *args, dir_fd=None, **kwargs):
        found = _view_for(path) if dir_fd is None else None
        if found is None:
            return real(path, *args, dir_fd=dir_fd, **kwargs)
        if link is not None and (value := _self_link(path)) is not None:
            return link(path, value)
        try:
            routed = _routed(*found, path, False)
        except FileNotFoundError:
            if missing is _RAISE:
                raise
            return missing
        return _call(real, path, routed, *args, **kwargs)
    return fake


def _link_value(path, value: str):
    return os.fsencode(value) if isinstance(path, bytes) else value


_sim_readlink = _path_call(_real_readlink, link=_link_value)
# the link itself, read lexically: "/proc/<host pid>/../self" is /proc/self
_sim_lstat = _path_call(_real_lstat, link=lambda path, _value: _real_lstat(
    posixpath.normpath(os.fsdecode(os.fspath(path)))))
_sim_stat = _path_call(_real_stat)
_sim_access = _path_call(_real_access, missing=False)  # access(2) fails: False

# (module, attribute, the real object, its fake); io.open is pathlib's open
_REPLACED = [(builtins, "open", _real_open, _sim_open), (io, "open", _real_open, _sim_open),
             (os, "open", _real_os_open, _sim_os_open),
             (os, "listdir", _real_listdir, _sim_listdir),
             (os, "scandir", _real_scandir, _sim_scandir),
             (os, "readlink", _real_readlink, _sim_readlink),
             (os, "stat", _real_stat, _sim_stat), (os, "lstat", _real_lstat, _sim_lstat),
             (os, "access", _real_access, _sim_access)]
like_the_real(_REPLACED)
_install_lock = threading.Lock()


def _forgotten_in_child() -> None:
    """A child forked by the test is not the test: its /proc is its own (a child
    that joined the host gets the programs' view), and it must not take the session's
    lock, which another thread may have held at the fork."""
    global _VIEW
    _VIEW = None


os.register_at_fork(after_in_child=_forgotten_in_child)


_installed: list = []
_done = [0]   # how many of _REPLACED + pidcalls.replaced() install has looked at


def install(session, pid_fakes: list) -> None:
    """Route /proc of the test's code to the session's view, and the other calls that
    name pids (pidcalls.py), from the test's start: its numbers are the host's before
    its first spawn too. Those of the host's pids work once it exists. While the
    plugin's patches persist (patches.py) the fakes stay in between tests, each
    handing its call to the real function while no view is set (a test that starts no
    process must cost nothing measurable): a later session only sets its view, and
    puts in the fakes of calls that appeared since (psutil's, once imported).
    ``pid_fakes``: pidcalls.replaced()."""
    global _VIEW
    with _install_lock:
        _VIEW = TestView(session)
        if _done[0] == len(_REPLACED) + len(pid_fakes):
            return
        for module, name, real, fake in (_REPLACED + pid_fakes)[_done[0]:]:
            present = getattr(module, name)   # selfusage's open, or the real one
            if present is real or present is selfusage._sim_open:
                setattr(module, name, fake)
                _installed.append((module, name, present, fake))
        _done[0] = len(_REPLACED) + len(pid_fakes)


def uninstall(session, persist: bool = False) -> None:
    """The session's view ends; the real functions go back (those still ours: a later
    patch keeps its own) unless the patches persist (patches.py: ``remove`` then, at
    their end)."""
    global _VIEW
    with _install_lock:
        if _VIEW is None or _VIEW.session is not session:
            return
        _VIEW = None
    if not persist:
        remove()


def remove() -> None:
    """Put the real functions back (those still ours)."""
    with _install_lock:
        if _VIEW is not None:
            return   # a session's view is set (a session that is not the plugin's)
        while _installed:
            module, name, real, fake = _installed.pop()
            if getattr(module, name) is fake:
                setattr(module, name, real)
        _done[0] = 0
