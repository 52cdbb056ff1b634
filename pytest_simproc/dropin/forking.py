"""Children forked by the test process itself join the test's host.

``os.fork``, ``os.forkpty``, ``pty.fork``, multiprocessing's fork, ``os.spawn*`` (and
Popen, posix_spawn and os.system when they need Python code between fork and exec:
preexec_fn, setsid, umask, pass_fds...) make a copy of pytest. At the fork (an
``os.register_at_fork`` hook) the copy leaves the test's session behind (it is not the
test: the session's locks may be held by threads that do not exist in it), tells the
parent its native pid and its signal dispositions, and stops itself; the parent has the
host's tracer seize it and enter it as a new program of the host, its parent being the
test (init in the model, as for every program the test starts). Resumed, the copy
installs the host's filter: from there on its code (preexec_fn, a multiprocessing
target, the program it execs) is simulated, and its Python clocks and ``time.sleep`` are
virtual (the vDSO of a forked pytest still answers with the machine's time, so they ask
the kernel with plain system calls, which the filter traps).

``fork_exec`` is Popen's and posix_spawn's fork: it returns once the child has exec'd, or
raises the error the child met before it could, as they do natively. Natively their fork
runs no ``os.register_at_fork`` hook (_posixsubprocess runs them only for a preexec_fn,
posix_spawn never): so here the suite's hooks sit that fork out, and only the plugin's
own run (a library's before-hook may wait for a thread that waits for the test:
filelock's, while a spawn Process starts).
"""
from __future__ import annotations

import _thread
import asyncio
import asyncio.events
import ctypes
import datetime as _datetime
import errno
import fcntl
import gc
import io
import os
import pickle
import select
import stat
import sys
import termios
import threading
import time as _time
import weakref

from ..errors import SimprocError
from ..kernel.sigstate import SigAction
from ..syscalls.tty import native_terminal
from ..trace.openfiles import holds
from ..trace.spawn import ADDR_NO_RANDOMIZE
from . import childvdso, sockets, threadwait
from .routing import (_in_host_thread, _real_fdopen, _real_fork, _real_forkpty, _real_getpid,
                      _real_read, _real_waitpid, _real_write, active_session, fd_ready,
                      set_active)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_SYS_RT_SIGACTION, _SYS_NANOSLEEP, _SYS_CLOCK_GETTIME = 13, 35, 228
_EPOCH = _datetime.datetime(1970, 1, 1)

# the forking thread's ident -> (session, host, two pipes: hello and go) between the
# fork's hooks: threads of the test fork at once (CPython's test_reinit_tls_after_fork)
_joining: dict = {}
in_host = False  # this process is a child the test forked that joined a host
_adopted: dict[int, int] = {}  # native pid -> virtual pid, for the fork's return value
_pty_masters: dict = {}  # forkpty's master fd -> (session, its child's virtual pid)
_registered = False
_native = threading.local()  # .forks: this thread's forks stay the machine's (native_forks)
# loop classes whose subprocess start forks in C and waits for the exec (uvloop's
# compiled loop used as is): a fork while one runs in the thread stays the machine's
spawning_loops: tuple = ()


class _KernelSigaction(ctypes.Structure):
    _fields_ = [("handler", ctypes.c_ulong), ("flags", ctypes.c_ulong),
                ("restorer", ctypes.c_ulong), ("mask", ctypes.c_ulong)]


class _Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


def register() -> None:
    """Install the fork hooks (once per process: they cannot be removed, and do nothing
    while no session is active)."""
    global _registered
    if not _registered:
        os.register_at_fork(before=_before, after_in_parent=_after_in_parent,
                            after_in_child=_after_in_child)
        _registered = True


class native_forks:
    """While this context is open, forks made by the calling thread do not join a host:
    libuv's uv_spawn (uvloop) runs the at-fork hooks but returns only once its child
    has exec'd, so a child waiting for the parent's hook to enter it into the host would
    wait forever (uvwait.py sends the test's own uvloop subprocesses to the host)."""

    def __enter__(self):
        _native.forks = getattr(_native, "forks", 0) + 1

    def __exit__(self, *exc):
        _native.forks -= 1
        return False


# ------------------------------------------------------------------ the fork's hooks
def _before() -> None:
    _joining.pop(_thread.get_ident(), None)
    session = active_session()
    if (session is None or session._closed or _in_host_thread()
            or getattr(_native, "forks", 0)
            or spawning_loops and type(asyncio.events._get_running_loop()) in spawning_loops):
        return
    try:
        host = session.host  # the child needs the filter of a host that exists
    except SimprocError:
        return
    _joining[_thread.get_ident()] = (session, host, os.pipe2(os.O_CLOEXEC),
                                       os.pipe2(os.O_CLOEXEC))
    _patch_multiprocessing(session)


def _patch_multiprocessing(session) -> None:
    """multiprocessing waits for its fork children natively: its pipes and queues read
    and write with the os.read and os.write they took at import, ``join(timeout)``
    polls its sentinel in real time, ``Connection.poll(timeout)`` takes its deadline
    from a clock freezegun leaves real. From the first fork of a test on (only where
    multiprocessing is imported at all: importing it costs ~20 ms) the reads go through
    _host_read, the writes through sockets.host_write, that deadline is virtual
    (threadwait.virtual_time), and a join with a timeout of a child in the host runs
    the host for that many virtual seconds. All are the real thing with no session
    active, so they may persist with the other patches (Patches._undo: put back when
    the patches are)."""
    connection = sys.modules.get("multiprocessing.connection")
    real_recv = connection and connection.Connection.__dict__.get("_recv")
    if real_recv is not None and not getattr(real_recv, "_simproc", False):
        def _recv(self, size, read=None):
            return real_recv(self, size, _host_read)
        _replace(session, connection.Connection, "_recv", _recv)
    if connection and connection.__dict__.get("time") is not threadwait.virtual_time:
        _replace(session, connection, "time", threadwait.virtual_time)
    real_send = connection and connection.Connection.__dict__.get("_send")
    if real_send is not None and not getattr(real_send, "_simproc", False):
        def _send(self, buf, write=None):
            return real_send(self, buf, sockets.host_write)
        _replace(session, connection.Connection, "_send", _send)
    popen_fork = sys.modules.get("multiprocessing.popen_fork")
    real_wait = popen_fork and popen_fork.Popen.__dict__.get("wait")
    if real_wait is not None and not getattr(real_wait, "_simproc", False):
        def wait(self, timeout=None):
            active = active_session()
            child = active._children.get(self.pid) if active is not None else None
            if (timeout is not None and self.returncode is None and child is not None
                    and _thread.get_ident() == active._ident):
                active.block(child._ended, max(timeout, 0))
                return self.poll(os.WNOHANG)
            return real_wait(self, timeout)
        _replace(session, popen_fork.Popen, "wait", wait)


def _replace(session, cls, name: str, fake) -> None:
    fake._simproc = True
    type(session._patches)._undo.append((cls, name, cls.__dict__[name]))
    setattr(cls, name, fake)


def _take_joining(child: bool):
    """This fork's (session, host, hello end, go end) for one side, the other side's
    ends closed; None when the fork does not join a host."""
    joining = _joining.pop(_thread.get_ident(), None)  # the child's thread is the parent's
    if child:
        # other threads' forks under way: their children's ends of the pipes are not
        # ours to hold (a parent reads its hello pipe to its end)
        for _, _, *pipes in _joining.values():
            for fd in (fd for pipe in pipes for fd in pipe):
                os.close(fd)
        _joining.clear()
    if joining is None:
        return None
    session, host, (hello_r, hello_w), (go_r, go_w) = joining
    os.close(hello_r if child else hello_w)
    os.close(go_w if child else go_r)
    return (session, host, hello_w, go_r) if child else (session, host, hello_r, go_w)


def _after_in_child() -> None:
    joining = _take_joining(child=True)
    if joining is None:
        return
    session, host, hello_w, go_r = joining
    set_active(None)  # this process is a program of the host now, not the test
    _adopted.clear()
    _pty_masters.clear()
    _drop_relays(session)
    # The patches stay (undoing them scans every module: 30-50 ms a fork): with no
    # session active each one calls the real function.
    # what the native kernel says of us, before the filter turns its answers virtual
    pid = os.getpid()
    leader = (os.getsid(0) == pid, os.getpgid(0) == pid)
    native_tty = native_terminal() if leader[0] else 0
    _libc.personality(ADDR_NO_RANDOMIZE)  # the programs it execs, as SimHost.spawn's
    os.write(hello_w, pickle.dumps((pid, _native_actions())))
    os.close(hello_w)
    joined = _real_read(go_r, 1)  # the host's tracer attaches to us meanwhile
    os.close(go_r)
    if not joined:
        return  # the parent could not enter us into the host: we run natively
    childvdso.trap_clock_reads()
    host._engine._filter.install()
    _virtual_clocks()
    # the test's record of earlier hosts' pids is its own view: here every pid is
    # the host's, whose kernel answers (a program signals itself by its pid, 1000)
    from . import gonepids, pidcalls
    gonepids.forget()
    pidcalls.forget_unreaped()
    # forkpty(3) made us a session leader natively: so we are in the host too, and
    # its terminal is our controlling one there (kernel/tty.py)
    if leader[0]:
        os.setsid()
        _take_terminal(native_tty)
    elif leader[1]:
        os.setpgid(0, 0)


def _take_terminal(device: int) -> None:
    """TIOCSCTTY on the descriptor of stdin, stdout or stderr that is ``device`` (as
    login_tty(3) does): through the host's filter, so the simulated kernel sees it."""
    for fd in (0, 1, 2):
        try:
            if device and os.fstat(fd).st_rdev == device:
                fcntl.ioctl(fd, termios.TIOCSCTTY, 0)
                return
        except OSError:
            continue


def _drop_relays(session) -> None:
    """Close the copies of the session's relay pipes (pipes.py): they are the test's
    machinery, and natively a child forked by the test holds no write end of a Popen's
    stdout (its copy would keep the test's read from ever seeing end of file). Their
    locks are not taken: a thread that held one does not exist here."""
    from .pipes import _Relay
    for feeder in list(session._feeders):
        if isinstance(feeder, _Relay):
            feeder._forget()


def _after_in_parent() -> None:
    joining = _take_joining(child=False)
    if joining is None:
        return
    session, host, hello_r, go_w = joining
    try:
        data = _read_to_end(hello_r)
        if not data:
            return  # the child died before it could join
        native, actions = pickle.loads(data)
        # From its adoption until it is told to go, the child is the host's but blocked
        # natively: a garbage collection here runs finalizers, and one that sleeps
        # (ptyprocess's __del__) would run the host, whose watchdog kills that child.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with session._lock:
                session._catch_up()  # the child starts at the test's time
                sp = host.adopt(native, actions)
                session._children[sp.pid] = ForkedChild(session, sp)
            _adopted[native] = sp.pid
            os.write(go_w, b"!")
        finally:
            if collecting:
                gc.enable()
    finally:
        os.close(hello_r)
        os.close(go_w)


def _read_to_end(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = _real_read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _native_actions() -> dict[int, SigAction]:
    """The calling process's signal dispositions other than SIG_DFL (rt_sigaction(2))."""
    actions = {}
    act = _KernelSigaction()
    for sig in range(1, 65):
        if (_libc.syscall(ctypes.c_long(_SYS_RT_SIGACTION), ctypes.c_long(sig), None,
                          ctypes.byref(act), ctypes.c_long(8)) == 0 and act.handler):
            actions[sig] = SigAction(act.handler, act.flags, act.mask)
    return actions


# ------------------------------------------------------------------ the child's clocks
def _clock_ns(clock_id: int) -> int:
    ts = _Timespec()
    if _libc.syscall(ctypes.c_long(_SYS_CLOCK_GETTIME), ctypes.c_long(clock_id),
                     ctypes.byref(ts)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ts.sec * 1_000_000_000 + ts.nsec


class _HostTime:
    """freezegun's time source in a forked child: the host's CLOCK_REALTIME."""

    def __call__(self) -> _datetime.datetime:
        return _EPOCH + _datetime.timedelta(microseconds=_clock_ns(_time.CLOCK_REALTIME)
                                            // 1000)


def host_sleep(seconds) -> None:
    """``time.sleep`` in a forked child: nanosleep(2), which the host answers in
    virtual time (Python's own sleep computes an absolute deadline from the vDSO)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"'{type(seconds).__name__}' object cannot be interpreted as "
                        f"an integer or float")
    if seconds != seconds or seconds < 0:
        raise ValueError("sleep length must be non-negative")
    total = int(seconds * 1_000_000_000)
    request = _Timespec(total // 1_000_000_000, total % 1_000_000_000)
    remaining = _Timespec()
    while _libc.syscall(ctypes.c_long(_SYS_NANOSLEEP), ctypes.byref(request),
                        ctypes.byref(remaining)) != 0:
        err = ctypes.get_errno()
        if err != errno.EINTR:
            raise OSError(err, os.strerror(err))
        # PEP 475: a signal's Python handler runs here, then the sleep goes on
        request = _Timespec(remaining.sec, remaining.nsec)


def _virtual_clocks() -> None:
    import freezegun.api
    from . import patches
    global in_host
    in_host = True
    if freezegun.api.freeze_factories:
        freezegun.api.freeze_factories[-1] = _HostTime()
    patches._real_sleep = host_sleep  # what the patched time.sleep falls back to
    _loops_follow_host()


def host_monotonic() -> float:
    """The host's CLOCK_MONOTONIC, in a forked child."""
    return _clock_ns(_time.CLOCK_MONOTONIC) / 1e9


def _loops_follow_host() -> None:
    """asyncio's loops in the child count time in the host's monotonic clock, as
    their waits are the host's. freezegun's real_asyncio gave the loop class of the
    policy at hand the machine's clock (for the loops of the test process's other
    threads), and so does the drop-in loop (aio.SimEventLoop) with no session: a loop
    in the child counted its timers in real time while each of its waits took their
    whole length in virtual time (circus's plugin tests: a tornado loop in a
    multiprocessing.Process)."""
    classes = [asyncio.BaseEventLoop]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if "_freeze_time" in getattr(cls.__dict__.get("time"), "__qualname__", ""):
            cls.time = _host_loop_time


def _host_loop_time(loop) -> float:
    return host_monotonic()


# ------------------------------------------------------------------ the parent's side
class ForkedChild:
    """A child of the test (forked, or a Popen's program), as the wait family sees the
    test's children. The session keeps this record, not the Popen: a Popen the test
    drops is collected and its ``__del__`` runs as natively (popen.py), while its
    program stays the test's child for the waits and RUSAGE_CHILDREN."""

    def __init__(self, session, sp, popen=None):
        self._session = session
        self._sp = sp
        self._argv = sp.argv
        self._collected = False
        self.popen = (lambda: None) if popen is None else weakref.ref(popen)

    @property
    def _waited(self) -> bool:
        """The test has waited for it (its exit status is collected)."""
        return self._collected

    @_waited.setter
    def _waited(self, value: bool) -> None:
        self._collected = value
        if value:
            self._session.reaped(self._sp)

    @property
    def pid(self) -> int:
        return self._sp.pid

    def _ended(self) -> bool:
        return self._sp.exit_status is not None

    def _check_ended_by_itself(self) -> None:
        if self._sp.returncode is None:
            raise SimprocError(
                f"{self._argv!r} was still running when the simulated host reached its "
                f"stop_time ({self._session.host.stop_time} virtual seconds); natively "
                f"this wait would never return")


def virtual_pid(native: int) -> int:
    """What the test's fork returns: the virtual pid of a child that joined the host."""
    return _adopted.pop(native, native)


def _sim_fork():
    pid = _real_fork()
    return pid and virtual_pid(pid)


def _sim_forkpty():
    pid, fd = _real_forkpty()
    if pid:
        pid = virtual_pid(pid)
        session = active_session()
        for stale in [f for f, (s, _) in _pty_masters.items() if s is not session]:
            del _pty_masters[stale]
        if session is not None and session._lookup(pid) is not None:
            _pty_masters[fd] = (session, pid)
    return pid, fd


def _host_read(fd, n):
    """multiprocessing's read of its pipe to a child in the host (ready.py's os.read
    does the same for the test's own calls)."""
    _wait_for_writers(fd)
    return _real_read(fd, n)


def _wait_for_writers(fd) -> None:
    """A read of the test on a pipe (or a forkpty master) whose other end a process
    of the host holds waits for that process, as natively: the host runs until the
    descriptor has something to say (data, or the writers' end) or those processes
    have ended. Any thread of the test (sh forks from threads and reads the child's
    exec report there)."""
    session = active_session()
    if (session is not None and session._host is not None and not session._closed
            and isinstance(fd, int) and not isinstance(fd, bool)
            and not _in_host_thread() and _blocking(fd) and not _ready(fd)):
        if _is_socket(fd):  # a socket pair's end (multiprocessing.Pipe()), say
            sockets.wait_readable(session, fd)
            return
        with session._lock:  # another thread's host run keeps the table still meanwhile
            writers = [] if session._closed else _host_writers(session, fd)
        if writers:
            session.block(lambda: _ready(fd) or all(session._gone(w) for w in writers))


def host_write(fd, data):
    """``os.write`` of the test on a blocking pipe (or FIFO) that a process of the host
    holds: natively the whole of ``data`` goes, while the reader drains it (pipe(7));
    here what fits is written without blocking and the host runs until there is room
    again. None when it is not such a write (the real call)."""
    session = active_session()
    if (session is None or session._closed or session._host is None or type(fd) is not int
            or _in_host_thread() or not _blocking(fd) or not _is_fifo(fd)):
        return None
    view = memoryview(data).cast("B")
    if len(view) <= select.PIPE_BUF and fd_ready(fd, select.POLLOUT):
        return None   # it fits (POLLOUT: a page of room, pipe(7))
    with session._lock:
        readers = [] if session._closed else _host_writers(session, fd)
    if not readers:
        return None
    done = 0
    while done < len(view):
        os.set_blocking(fd, False)
        try:
            done += _real_write(fd, view[done:])
        except BlockingIOError:
            pass
        finally:
            os.set_blocking(fd, True)
        if done < len(view) and not session.block(
                lambda: fd_ready(fd, select.POLLOUT) or all(session._gone(r) for r in readers)):
            # the host can make no room by itself: the real write's wait, as natively
            return done + _real_write(fd, view[done:])
    return done


class _HostPipeIO(io.FileIO):
    """A pipe the test reads or writes through a file object (``os.fdopen``): each
    read waits for the host's writers as ``os.read`` does, each write for its readers
    as ``os.write`` does (FileIO's own calls are C calls)."""

    def write(self, data):
        written = host_write(self.fileno(), data)
        return super().write(data) if written is None else written

    def readinto(self, buffer):
        _wait_for_writers(self.fileno())
        return super().readinto(buffer)

    def read(self, size=-1):
        if size is None or size < 0:
            return self.readall()
        _wait_for_writers(self.fileno())
        return super().read(size)

    def readall(self):
        chunks = []
        while True:
            _wait_for_writers(self.fileno())
            chunk = super().read(io.DEFAULT_BUFFER_SIZE)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def _sim_fdopen(fd, mode="r", buffering=-1, encoding=None, *args, **kwargs):
    options = dict(zip(("errors", "newline", "closefd", "opener"), args), **kwargs)
    if set(options) <= {"errors", "newline", "closefd", "opener"}:
        hosted = host_file(fd, mode, buffering, encoding, options.get("errors"),
                           options.get("newline"), options.get("closefd", True),
                           options.get("opener"))
        if hosted is not None:
            return hosted
    return _real_fdopen(fd, mode, buffering, encoding, *args, **kwargs)


def host_file(fd, mode, buffering, encoding, errors, newline, closefd, opener):
    """A file object for reading ``fd`` (``os.fdopen``, or ``open``/``io.open`` of a
    descriptor: ptyprocess reads its pty through ``io.open(fd, "rb", buffering=0)``)
    whose reads wait for the host's writers, when ``fd`` is a pipe, a socket or a
    forkpty master of the test's host; None for anything else (the real call)."""
    session = active_session()
    writing = mode in ("w", "wt", "tw", "wb", "bw", "a", "ab", "ba")
    if (session is None or session._closed or type(fd) is not int or opener is not None
            or mode not in ("r", "rt", "tr", "rb", "br") and not writing
            or type(buffering) is not int
            or (buffering == 0 and "b" not in mode) or _in_host_thread()):
        return None
    master = _pty_masters.get(fd)
    if not (master is not None and master[0] is session or _is_fifo(fd)
            or _is_socket(fd) and not writing):
        return None
    raw = _HostPipeIO(fd, "w" if writing else "r", closefd=closefd)
    if buffering == 0:
        return raw
    size = buffering if buffering > 1 else io.DEFAULT_BUFFER_SIZE
    buffered = io.BufferedWriter(raw, size) if writing else io.BufferedReader(raw, size)
    if "b" in mode:
        return buffered
    text = io.TextIOWrapper(buffered, io.text_encoding(encoding), errors, newline,
                            line_buffering=buffering == 1)
    text.mode = mode
    return text


def _is_fifo(fd: int) -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False


def _is_socket(fd: int) -> bool:
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        return False


def _blocking(fd: int) -> bool:
    """Whether a read of ``fd`` may wait natively: not in O_NONBLOCK mode (read(2)
    fails with EAGAIN at once) and open (else EBADF at once)."""
    try:
        return os.get_blocking(fd)
    except OSError:
        return False


def _ready(fd: int) -> bool:
    return fd_ready(fd, select.POLLIN)


def host_writes(session, fd: int) -> bool:
    """Whether a live process of the session's host holds the other end of ``fd``, or
    it is a duplicate of the test's end of a program's stdout or stderr (pipes.py)."""
    return session._host is not None and (bool(_host_writers(session, fd))
                                          or _relayed(session, fd))


def _relayed(session, fd: int) -> bool:
    """``fd`` reads a pipe that a relay of the session fills (pipes._Relay)."""
    relays = [f for f in list(session._feeders) if hasattr(f, "sink_inode")]
    if not relays or not _is_fifo(fd):
        return False
    inode = os.fstat(fd).st_ino
    return any(relay.sink_inode() == inode for relay in relays)


def _host_writers(session, fd: int) -> list[int]:
    """The live processes of the host that hold the other end of ``fd``."""
    master = _pty_masters.get(fd)
    if master is not None and master[0] is session:
        return [master[1]]
    if not _is_fifo(fd):
        return []
    link = f"pipe:[{os.fstat(fd).st_ino}]"
    try:  # a named FIFO's descriptors link to its path
        named = os.readlink(f"/proc/{_real_getpid()}/fd/{fd}")
    except OSError:
        named = link
    if not named.startswith("/"):
        named = link
    engine = session._host._engine
    return [proc.pid for proc in engine.table.live()
            if holds(engine.native_pid_of(proc.pid), (link, named))]


class ChildFailed(Exception):
    """What ``fork_exec``'s child met before its exec: ``kind`` says where."""

    def __init__(self, kind: str, code: int):
        super().__init__(kind, code)
        self.kind, self.code = kind, code


def fork_exec(session, child_steps, exit_code: int = 255, *,
              suite_hooks: bool = False) -> ForkedChild:
    """Fork a child that joins the host and runs ``child_steps(errpipe)``, which ends in an
    exec; return once it has exec'd (its errpipe closed at exec), as Popen and
    posix_spawn return. An OSError it met is raised here as ChildFailed (the child then
    ended with ``exit_code`` and the test does not wait for it); ``child_steps`` marks
    where with ``kind`` on the error, "noexec" if it did not. The suite's at-fork hooks
    run only with ``suite_hooks`` (a Popen's preexec_fn)."""
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    if write_end < 3:  # the test closed its 0, 1 or 2: keep it off the child's dup2s
        write_end, low = fcntl.fcntl(write_end, fcntl.F_DUPFD_CLOEXEC, 3), write_end
        os.close(low)
    try:
        native = _real_fork() if suite_hooks else _fork_own_hooks()
        if native == 0:
            _run_child(child_steps, write_end, exit_code)
        os.close(write_end)
        write_end = -1
        vpid = _adopted.pop(native, None)
        record = session._children.get(vpid) if vpid is not None else None
        if record is None:
            _real_waitpid(native, 0)
            raise SimprocError("the forked child could not join the simulated host")
        os.set_blocking(read_end, False)
        report = bytearray()

        def done() -> bool:
            while True:
                try:
                    chunk = _real_read(read_end, 4096)
                except BlockingIOError:
                    return False
                if not chunk:
                    return True
                report.extend(chunk)

        if not session.block(done):
            raise SimprocError("the simulated host stopped before the forked child "
                               "could exec its program")
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    if report:
        record._waited = True  # natively the failed child is reaped before this returns
        kind, code = pickle.loads(bytes(report))
        raise ChildFailed(kind, code)
    return record


class _SitOut:
    """A hook the suite registered with ``os.register_at_fork``, in the interpreter's
    list while a ``fork_exec`` forks: it runs for the forks of other threads only."""

    __slots__ = ("hook",)

    def __init__(self, hook):
        self.hook = hook

    def __call__(self):
        if not getattr(_own_hooks_only, "on", False):
            self.hook()


_own_hooks_only = threading.local()
_hook_lists: list = []


def _fork_own_hooks() -> int:
    """os.fork running the plugin's at-fork hooks and none of the suite's (nor the
    standard library's: natively none run). The interpreter keeps the hooks in three
    lists no Python name reaches; garbage collection's referrers of this module's
    hooks find them (once), and the others are wrapped in place for this fork."""
    if not _hook_lists:
        for hook in (_before, _after_in_parent, _after_in_child):
            _hook_lists.extend(r for r in gc.get_referrers(hook)
                               if type(r) is list and hook in r)
    # element by element: another thread may register a hook meanwhile
    for hooks in _hook_lists:
        for i, hook in enumerate(hooks):
            if not (getattr(hook, "__module__", None) or "").startswith("pytest_simproc"):
                hooks[i] = _SitOut(hook)
    _own_hooks_only.on = True
    try:
        return _real_fork()
    finally:
        _own_hooks_only.on = False
        for hooks in _hook_lists:
            for i, hook in enumerate(hooks):
                if type(hook) is _SitOut:
                    hooks[i] = hook.hook


def _run_child(child_steps, write_end: int, exit_code: int) -> None:
    try:
        try:
            child_steps(write_end)
            raise OSError(errno.ENOEXEC, os.strerror(errno.ENOEXEC))
        except ChildFailed:
            raise
        except OSError as exc:
            raise ChildFailed(getattr(exc, "kind", "noexec"), exc.errno or 0) from None
    except ChildFailed as exc:
        report = (exc.kind, exc.code)
    except BaseException:
        report = ("preexec", 0)
    try:
        os.write(write_end, pickle.dumps(report))
    finally:
        os._exit(exit_code)


def exec_first(candidates, argv, env) -> None:
    """execve(2) each candidate path in turn, as execvpe(3) does: the error reported is
    the first that is not ENOENT or ENOTDIR, else the last."""
    saved = last = None
    for path in candidates:
        try:
            os.execve(path, argv, env)
        except OSError as exc:
            last = exc
            if saved is None and exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                saved = exc
    saved = saved or last or OSError(errno.ENOENT, os.strerror(errno.ENOENT))
    saved.kind = "exec"
    raise saved


def exec_candidates(program: str, path_env: str | None) -> list[str]:
    if "/" in program:
        return [program]
    dirs = (path_env if path_env is not None else os.defpath).split(os.pathsep)
    return [os.path.join(d or ".", program) for d in dirs]

