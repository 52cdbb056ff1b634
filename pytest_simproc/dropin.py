"""Drop-in mode (``pytest --simproc``): unmodified tests run in a simulated host.

For the duration of one test (from before its fixtures are set up until after they are
torn down) a :class:`DropinSession` is active:

- ``subprocess.Popen`` is replaced by :class:`SimPopen` (so ``run``, ``call``,
  ``check_call``, ``check_output``, ``getoutput`` follow): each program is spawned into
  the test's :class:`~pytest_simproc.host.SimHost`, created lazily at the first spawn;
- ``os.kill``, ``os.killpg``, ``os.waitpid``, ``os.getpgid`` and ``os.getsid`` called
  with a pid (or process group) of that host go to the host, any other pid to the real
  functions;
- time follows the host's virtual clock: freezegun freezes ``time.time``,
  ``time.monotonic``, ``datetime.now``... at the host's start time, and every time the
  host runs (``time.sleep``, ``wait``, ``poll``, ``communicate``, reading a pipe) the
  freezer is moved to ``host.now``. ``time.sleep(s)`` in the test runs the simulation for
  ``s`` virtual seconds.

Nothing in the host runs behind the test's back: the simulated programs make progress
only while the test is inside one of those calls, which is what makes the test both fast
and deterministic.

Module attributes that hold the real objects (``from subprocess import Popen``,
``from time import sleep``, ``from os import kill``) are patched too, and everything is
restored at the end of the test.
"""
from __future__ import annotations

import datetime as _datetime
import errno
import io
import os
import shutil
import signal as _signal
import subprocess
import sys
import threading
import time as _time

from .errors import SimprocError
from .host import DEFAULT_START_TIME, SimHost, _resolve_program
from .kernel.states import encode_wait_status

__all__ = ["DropinSession", "SimPopen", "DropinUnsupportedError", "DROPIN_STOP_TIME",
           "active_session"]

# Tests control time themselves: the host must not stop on its own.
DROPIN_STOP_TIME = 10 * 365 * 86400
# A helper thread blocked on a simulated process drives the host itself only when the
# test's own thread has left it alone for this long (real seconds).
_HELPER_GRACE = 0.25

# The real objects, taken before anything is patched.
_RealPopen = subprocess.Popen
_real_sleep = _time.sleep
_real_monotonic = _time.monotonic
_real_localtime = _time.localtime
_real_kill = os.kill
_real_killpg = os.killpg
_real_waitpid = os.waitpid
_real_getpgid = os.getpgid
_real_getsid = os.getsid
_real_datetime = _datetime.datetime
_UTC = _datetime.timezone.utc
_EPOCH = _real_datetime(1970, 1, 1)

# Callers from these modules always get the real functions (the engine's own os.kill /
# waitpid / sleep, pytest's internals, real Popen objects made before the test).
_NATIVE_CALLERS = ("pytest_simproc", "_pytest", "pluggy", "freezegun", "threading",
                   "multiprocessing", "concurrent", "asyncio", "subprocess", "queue")
# Modules whose attributes are never rewritten by the scan.
_SCAN_SKIP = ("pytest_simproc", "_pytest", "pytest", "pluggy", "freezegun", "os", "posix",
              "time", "subprocess", "threading", "multiprocessing", "concurrent",
              "asyncio", "queue", "builtins", "sys")
# freezegun: never fake time for the host's machinery or pytest's own timing.
_FREEZEGUN_IGNORE = ["pytest_simproc", "_pytest.timing", "_pytest.runner",
                     "_pytest.terminal", "_pytest.junitxml"]

_ACTIVE: "DropinSession | None" = None


def active_session() -> "DropinSession | None":
    """The drop-in session of the running test, if any."""
    return _ACTIVE


class DropinUnsupportedError(SimprocError, NotImplementedError):
    """A subprocess feature the simulated host cannot provide yet."""


def _matches(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _caller_is_native(depth: int = 2) -> bool:
    try:
        name = sys._getframe(depth).f_globals.get("__name__") or ""
    except ValueError:
        return False
    return _matches(name, _NATIVE_CALLERS)


def _in_host_thread() -> bool:
    """The host's own threads (tracer, watchdog) always use the real functions: e.g.
    the engine's pidfd library runs ``ldconfig`` through subprocess on first use."""
    return threading.current_thread().name.startswith("simproc-")


def _session_for_caller() -> "DropinSession | None":
    """The active session, if the caller (two frames up) should see the simulation."""
    session = _ACTIVE
    if session is None or session._closed or _in_host_thread() or _caller_is_native(3):
        return None
    return session


# ===================================================================== session
class DropinSession:
    """One test's simulated host, its patches and its freezer."""

    def __init__(self, host_options: dict | None = None, *, keep: bool = False):
        options = dict(host_options or {})
        options.setdefault("stop_time", DROPIN_STOP_TIME)
        options.setdefault("hostname", "simhost")
        self.host_options = options
        self.keep = keep
        self.host_factory = None  # the plugin wires pytest hooks into the hosts it makes
        self._now = float(options.get("start_time", DEFAULT_START_TIME))
        self._host: SimHost | None = None
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._last_run = _real_monotonic()  # when the test's thread last used the host
        self._writers: list[_StdinWriter] = []       # every stdin=PIPE of the test
        self._feeders: set[_StdinWriter] = set()     # those with bytes not in the pipe yet
        self._children: dict[int, SimPopen] = {}  # virtual pid -> Popen (the test's children)
        self._undo: list[tuple[object, str, object]] = []
        self._fakes: dict[int, object] = {}
        self._reals: dict[int, object] = {}
        self._freeze = None
        self._freezer = None
        self._ident = None
        self._started = False
        self._closed = False

    # ------------------------------------------------------------ lifecycle
    def start(self) -> "DropinSession":
        global _ACTIVE
        if _ACTIVE is not None:
            raise RuntimeError("a drop-in session is already active")
        import freezegun.api
        from freezegun import freeze_time
        self._ident = threading.get_ident()
        # freezegun gives the real time to a caller whose last 5 frames include an
        # ignored module: that would be every function a test runs in a thread
        # (threading is ignored). Looking at the direct caller only keeps the host's
        # machinery and pytest's timing on real time and the test's threads on virtual.
        self._stack_limit = freezegun.api.call_stack_inspection_limit
        freezegun.api.call_stack_inspection_limit = 1
        offset = _real_localtime(self._now).tm_gmtoff
        self._freeze = freeze_time(self._utc(self._now), tz_offset=offset / 3600,
                                   ignore=list(_FREEZEGUN_IGNORE), real_asyncio=True)
        self._freezer = self._freeze.start()
        try:
            self._patch()
        except BaseException:
            self._unpatch()
            self._freeze.stop()
            freezegun.api.call_stack_inspection_limit = self._stack_limit
            raise
        _ACTIVE = self
        self._started = True
        return self

    def stop(self) -> None:
        """Restore everything, then close the host (no native process survives)."""
        global _ACTIVE
        if not self._started or self._closed:
            return
        with self._lock:
            self._closed = True
            self._cond.notify_all()
        try:
            if _ACTIVE is self:
                _ACTIVE = None
            for writer in self._writers:
                writer._close_fd()
            self._unpatch()
        finally:
            try:
                self._freeze.stop()
                import freezegun.api
                freezegun.api.call_stack_inspection_limit = self._stack_limit
            finally:
                if self._host is not None:
                    self._host.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # ------------------------------------------------------------ patches
    def _set(self, obj, name, value) -> None:
        self._undo.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    def _patch(self) -> None:
        pairs = [(_RealPopen, SimPopen), (_real_sleep, _sim_sleep), (_real_kill, _sim_kill),
                 (_real_killpg, _sim_killpg), (_real_waitpid, _sim_waitpid),
                 (_real_getpgid, _sim_getpgid), (_real_getsid, _sim_getsid)]
        self._fakes = {id(real): fake for real, fake in pairs}
        self._reals = {id(fake): real for real, fake in pairs}
        self._set(subprocess, "Popen", SimPopen)
        self._set(_time, "sleep", _sim_sleep)
        for name, fake in (("kill", _sim_kill), ("killpg", _sim_killpg),
                           ("waitpid", _sim_waitpid), ("getpgid", _sim_getpgid),
                           ("getsid", _sim_getsid)):
            self._set(os, name, fake)
        # `from subprocess import Popen`, `from time import sleep`, ... elsewhere
        for mod_name, module in list(sys.modules.items()):
            if module is None or _matches(mod_name, _SCAN_SKIP):
                continue
            attrs = getattr(module, "__dict__", None)
            if not isinstance(attrs, dict):
                continue
            for attr, value in list(attrs.items()):
                fake = self._fakes.get(id(value))
                if fake is not None and self._reals[id(fake)] is value:
                    self._undo.append((module, attr, value))
                    attrs[attr] = fake

    def _unpatch(self) -> None:
        while self._undo:
            obj, name, value = self._undo.pop()
            try:
                setattr(obj, name, value)
            except (AttributeError, TypeError):
                pass
        # modules imported during the test may have picked up a fake: give them the real
        for mod_name, module in list(sys.modules.items()):
            if module is None or _matches(mod_name, ("pytest_simproc",)):
                continue
            attrs = getattr(module, "__dict__", None)
            if not isinstance(attrs, dict):
                continue
            for attr, value in list(attrs.items()):
                real = self._reals.get(id(value))
                if real is not None and self._fakes.get(id(real)) is value:
                    attrs[attr] = real

    # ------------------------------------------------------------ host and time
    @staticmethod
    def _utc(seconds: float):
        return _real_datetime.fromtimestamp(seconds, _UTC)

    @property
    def host(self) -> SimHost:
        """The test's host, created at the first use."""
        if self._host is None:
            with self._lock:
                if self._host is None:
                    if self._closed:
                        raise SimprocError("the drop-in session of this test is over")
                    options = dict(self.host_options)
                    options["start_time"] = self._now
                    host = (self.host_factory(options) if self.host_factory is not None
                            else SimHost(**options))
                    if self.keep:
                        host.keep_data()
                    self._host = host
        return self._host

    @property
    def now(self) -> float:
        """Virtual time, seconds since the epoch."""
        return self._host.now if self._host is not None else self._now

    def _now_ns(self) -> int:
        if self._host is not None:
            return self._host._engine.clock.now_ns
        return int(round(self._now * 1_000_000_000))

    def _after_run(self) -> None:
        now = self.now
        self._freezer.move_to(_EPOCH + _datetime.timedelta(seconds=now))
        if threading.get_ident() == self._ident:
            self._last_run = _real_monotonic()
        self._cond.notify_all()

    def _touch(self) -> None:
        if threading.get_ident() == self._ident:
            self._last_run = _real_monotonic()

    def _feed(self) -> bool:
        """Move what the test wrote to stdin pipes into the pipes, as much as fits. Runs
        before and during every host run (from its predicate, between two steps), so a
        program that drained its stdin finds the rest there. Returns False."""
        for writer in list(self._feeders):
            writer._pump()
        return False

    def _run_host(self, predicate, timeout) -> None:
        """Run the host (lock held) until ``predicate()`` or for ``timeout`` seconds."""
        host = self.host
        self._feed()
        if self._feeders:
            condition = predicate
            predicate = self._feed if condition is None else (
                lambda: self._feed() or condition())
        if predicate is None:
            host.run_for(timeout)
        else:
            host.run_until(predicate, timeout=timeout)

    def sleep(self, seconds) -> None:
        """``time.sleep`` in the test: run the simulation for ``seconds``."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"'{type(seconds).__name__}' object cannot be interpreted "
                            f"as an integer or float")
        if seconds != seconds or seconds < 0:
            raise ValueError("sleep length must be non-negative")
        with self._lock:
            if self._closed:
                return _real_sleep(seconds)
            if self._host is None:
                self._now += seconds
                self._after_run()
                return
            try:
                self._run_host(None, seconds)  # run_for moves the clock its full length
            finally:
                self._after_run()


    def run_now(self) -> None:
        """Let whatever can run at the current virtual instant run."""
        with self._lock:
            if self._closed:
                return
            if self._host is None:
                return
            try:
                self._run_host(None, 0)
            finally:
                self._after_run()

    def block(self, predicate, timeout=None) -> bool:
        """Run the host until ``predicate()`` holds or ``timeout`` virtual seconds have
        passed; returns ``predicate()``.

        Only the test's own thread drives virtual time. Another thread that blocks (a
        reader thread, say) waits for the test's thread to run the host, and drives it
        itself only when the test's thread has left the host alone for a while (it is
        then blocked natively, e.g. in ``queue.get()`` or ``join()``)."""
        if threading.get_ident() == self._ident:
            with self._lock:
                self._drive(predicate, timeout)
                return bool(predicate())
        deadline = None if timeout is None else self._now_ns() + int(round(timeout * 1e9))
        with self._lock:
            while True:
                if predicate():
                    return True
                if self._closed:
                    return False
                now_ns = self._now_ns()
                if deadline is not None and now_ns >= deadline:
                    return False
                if _real_monotonic() - self._last_run >= _HELPER_GRACE:
                    remaining = None if deadline is None else (deadline - now_ns) / 1e9
                    self._drive(predicate, remaining)
                    continue
                self._cond.wait(_HELPER_GRACE / 5)

    def _drive(self, predicate, timeout) -> None:
        if self._closed:
            return
        if predicate():
            return
        try:
            self._run_host(predicate, timeout)
        finally:
            self._after_run()

    # ------------------------------------------------------------ pids
    def _lookup(self, pid: int):
        """The host's SimProcess with this pid, or None."""
        if self._host is None or isinstance(pid, bool) or not isinstance(pid, int) or pid <= 1:
            return None
        try:
            return self._host.process(pid)
        except LookupError:
            return None

    def _has_group(self, pgid: int) -> bool:
        if self._host is None or pgid <= 1:
            return False
        return any(p.pgid == pgid and p.state != "reaped" for p in self._host.processes())

    def kill(self, pid: int, sig) -> None:
        with self._lock:
            if int(sig) == 0:  # does it exist?
                if pid < 0:
                    exists = self._has_group(-pid)
                else:
                    proc = self._lookup(pid)
                    exists = proc is not None and proc.state != "reaped"
                if not exists:
                    raise ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH))
                return
            self._signal(pid, sig)

    def killpg(self, pgid: int, sig) -> None:
        with self._lock:
            if int(sig) == 0:
                if not self._has_group(pgid):
                    raise ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH))
                return
            self._signal(-pgid, sig)

    def _signal(self, target: int, sig) -> None:
        try:
            self.host.kill(target, sig)
        except ProcessLookupError:
            raise ProcessLookupError(errno.ESRCH, os.strerror(errno.ESRCH)) from None

    def waitpid(self, pid: int, options: int):
        child = self._children.get(pid)
        if child is None or child._waited:
            raise ChildProcessError(errno.ECHILD, os.strerror(errno.ECHILD))
        if options & os.WNOHANG:
            self.run_now()
            if not child._ended():
                return (0, 0)
        else:
            child._block_until_ended(None)
        child._reap()
        return (pid, encode_wait_status(child._sp.exit_status))

    # ------------------------------------------------------------ spawning
    def spawn(self, popen: "SimPopen", stdin) -> None:
        """Spawn ``popen``'s program now, with ``stdin`` (None, bytes or an fd)."""
        with self._lock:
            self._spawn_locked(popen, stdin)

    def _spawn_locked(self, popen: "SimPopen", stdin) -> None:
        self._touch()
        host = self.host
        out, err = popen._out_spec, popen._err_spec
        sp = host.spawn(popen._argv, env=popen._env, cwd=popen._cwd, stdin=stdin,
                        stdout=None if out is _CAPTURE else out,
                        stderr=(subprocess.STDOUT if err is _MERGE
                                else None if err is _CAPTURE else err))
        popen._sp = sp
        self._children[sp.pid] = popen


_CAPTURE = object()  # the host's capture file (Popen: PIPE)
_MERGE = object()    # stderr=STDOUT


# ===================================================================== pipes
class _PipeReader(io.RawIOBase):
    """The read end of a stdout/stderr PIPE: the host's capture file, read from where
    the test left off; reading runs the host until there is data or the process ended."""

    def __init__(self, popen: "SimPopen", kind: str):
        super().__init__()
        self._popen = popen
        self._kind = kind
        self._pos = 0

    def readable(self) -> bool:
        return True

    def _path(self):
        return getattr(self._popen._sp, f"_{self._kind}_path", None)

    def _size(self) -> int:
        path = self._path()
        try:
            return os.path.getsize(path)
        except (OSError, TypeError):
            return len(getattr(self._popen._sp, self._kind))

    def _read_at(self, pos: int, n: int | None) -> bytes:
        path = self._path()
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                return f.read(-1 if n is None else n)
        except (OSError, TypeError):
            data = getattr(self._popen._sp, self._kind)
            return data[pos:] if n is None else data[pos:pos + n]

    def peek_all(self) -> bytes:
        """What the program wrote that the test has not read yet."""
        return self._read_at(self._pos, None) if self._popen._sp is not None else b""

    def readinto(self, buffer) -> int:
        popen = self._popen
        n = len(buffer)
        if n == 0:
            return 0
        data = self._read_at(self._pos, n)
        if not data and not popen._ended():
            pos = self._pos
            popen._session.block(lambda: self._size() > pos or popen._ended())
            data = self._read_at(self._pos, n)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)


class _StdinWriter(io.RawIOBase):
    """stdin=PIPE: the write end of a real pipe whose read end is the program's stdin.

    What the test writes goes into the pipe as far as it fits (the write end is
    non-blocking) and the rest waits here: the session moves it into the pipe during
    host runs, as the program reads. The test therefore never blocks on a full pipe,
    and the program sees end of file once the test closed stdin and it read
    everything."""

    def __init__(self, session: DropinSession, fd: int):
        super().__init__()
        self._session = session
        self._fd: int | None = fd
        self._buf = bytearray()
        self._mutex = threading.Lock()
        os.set_blocking(fd, False)

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        if self.closed:
            raise ValueError("write to closed file")
        data = bytes(b)
        with self._mutex:
            if self._fd is None:
                raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
            self._buf += data
        self._pump(report=True)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._pump()  # closes the pipe now, or once the rest went in

    def _pump(self, report: bool = False) -> None:
        with self._mutex:
            while self._fd is not None and self._buf:
                try:
                    n = os.write(self._fd, self._buf[:1 << 16])
                except BlockingIOError:
                    break
                except BrokenPipeError:  # the program closed its stdin or ended
                    self._buf.clear()
                    self._close_fd_locked()
                    if report:
                        raise
                    return
                del self._buf[:n]
            if self._fd is not None and self.closed and not self._buf:
                self._close_fd_locked()
            if self._fd is not None and self._buf:
                self._session._feeders.add(self)
            else:
                self._session._feeders.discard(self)

    def _close_fd_locked(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._session._feeders.discard(self)

    def _close_fd(self) -> None:
        with self._mutex:
            self._close_fd_locked()


# ===================================================================== Popen
class SimPopen(_RealPopen):
    """``subprocess.Popen`` whose program runs in the test's simulated host.

    ``pid`` is the virtual pid; ``wait``/``communicate`` timeouts are virtual seconds;
    ``returncode`` follows Popen's convention (``-sig`` when signalled). Outside an
    active drop-in session it makes a real ``Popen``."""

    def __new__(cls, *args, **kwargs):
        if _ACTIVE is None or _ACTIVE._closed or _in_host_thread():
            return _RealPopen(*args, **kwargs)
        return object.__new__(cls)

    def __init__(self, args, bufsize=-1, executable=None, stdin=None, stdout=None,
                 stderr=None, preexec_fn=None, close_fds=True, shell=False, cwd=None,
                 env=None, universal_newlines=None, startupinfo=None, creationflags=0,
                 restore_signals=True, start_new_session=False, pass_fds=(), *,
                 user=None, group=None, extra_groups=None, encoding=None, errors=None,
                 text=None, umask=-1, pipesize=-1, process_group=None):
        self._child_created = False  # Popen.__del__ has nothing to do
        self._sp = None
        self._waited = False
        self._session = session = _ACTIVE
        self._waitpid_lock = threading.Lock()
        self._input = None
        self._communication_started = False
        if bufsize is None:
            bufsize = -1
        if not isinstance(bufsize, int):
            raise TypeError("bufsize must be an integer")
        if startupinfo is not None:
            raise ValueError("startupinfo is only supported on Windows platforms")
        if creationflags != 0:
            raise ValueError("creationflags is only supported on Windows platforms")
        self.args = args
        self.stdin = self.stdout = self.stderr = None
        self.returncode = None
        self.encoding = encoding
        self.errors = errors
        self.pipesize = pipesize
        if (text is not None and universal_newlines is not None
                and bool(universal_newlines) != bool(text)):
            raise subprocess.SubprocessError(
                "Cannot disambiguate when both text and universal_newlines are supplied "
                "but different. Pass one or the other.")
        self.text_mode = encoding or errors or text or universal_newlines

        for name, value, default in (("preexec_fn", preexec_fn, None),
                                     ("pass_fds", tuple(pass_fds), ()),
                                     ("user", user, None), ("group", group, None),
                                     ("extra_groups", extra_groups, None),
                                     ("umask", umask, -1),
                                     ("process_group", process_group, None)):
            if value != default:
                raise DropinUnsupportedError(
                    f"Popen({name}=...) is not supported in drop-in mode (--simproc): the "
                    f"simulated host cannot do that for a program yet")

        self._argv = self._build_argv(args, executable, shell)
        self._env = None if env is None else {os.fsdecode(k): os.fsdecode(v)
                                              for k, v in env.items()}
        self._cwd = None if cwd is None else os.fsdecode(os.fspath(cwd))
        if start_new_session:
            setsid = shutil.which("setsid")
            if setsid is None:
                raise DropinUnsupportedError(
                    "Popen(start_new_session=True) in drop-in mode runs the program "
                    "through setsid(1), which is not installed")
            self._check_program()
            self._argv = [setsid, "--", *self._argv]

        opened: list[int] = []
        self._stdin_raw = None
        try:
            self._stdin_spec = self._in_spec(stdin, opened)
            self._out_spec = self._out(stdout, opened, 1)
            if stderr == subprocess.STDOUT:
                self._err_spec = _MERGE
            else:
                self._err_spec = self._out(stderr, opened, 2)
            if self._err_spec is _MERGE and isinstance(self._out_spec, int):
                self._err_spec = self._out_spec
            session.spawn(self, self._stdin_spec)
        except BaseException:
            if self._stdin_raw is not None:
                self._stdin_raw._close_fd()
            raise
        finally:
            for fd in opened:
                os.close(fd)

        text_args = dict(encoding=encoding, errors=errors)
        line_buffering = bufsize == 1 and bool(self.text_mode)
        if self._stdin_raw is not None:
            session._writers.append(self._stdin_raw)
            self.stdin = (io.TextIOWrapper(self._stdin_raw, write_through=True,
                                           line_buffering=line_buffering, **text_args)
                          if self.text_mode else self._stdin_raw)
        for kind, spec in (("stdout", self._out_spec), ("stderr", self._err_spec)):
            if spec is not _CAPTURE:
                continue
            raw = _PipeReader(self, kind)
            setattr(self, f"_{kind}_raw", raw)
            if bufsize == 0 and not self.text_mode:
                stream = raw
            else:
                size = bufsize if bufsize > 1 else io.DEFAULT_BUFFER_SIZE
                stream = io.BufferedReader(raw, size)
                if self.text_mode:
                    stream = io.TextIOWrapper(stream, **text_args)
            setattr(self, kind, stream)

    # ------------------------------------------------------------ construction
    @staticmethod
    def _build_argv(args, executable, shell) -> list[str]:
        if isinstance(args, (str, bytes, os.PathLike)):
            seq = [args]
        else:
            seq = list(args)
        if shell:
            seq = ["/bin/sh", "-c", *seq]
            if executable is not None:
                seq[0] = executable
        elif executable is not None and os.fspath(executable) != os.fspath(seq[0]):
            raise DropinUnsupportedError(
                "Popen(executable=...) different from args[0] is not supported in "
                "drop-in mode (--simproc)")
        if not seq:
            raise IndexError("list index out of range")
        return [os.fsdecode(os.fspath(a)) for a in seq]

    def _check_program(self) -> None:
        env = os.environ if self._env is None else self._env
        _resolve_program(self._argv[0], env.get("PATH", os.defpath), self._cwd)

    @staticmethod
    def _dup(fileobj) -> int:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        return os.dup(fd)

    def _in_spec(self, stdin, opened):
        if stdin is None or stdin == subprocess.DEVNULL:
            return None
        if stdin == subprocess.PIPE:
            read_end, write_end = os.pipe()
            opened.append(read_end)
            self._stdin_raw = _StdinWriter(self._session, write_end)
            return read_end
        fd = self._dup(stdin)
        opened.append(fd)
        return fd

    def _out(self, spec, opened, default_fd):
        if spec == subprocess.PIPE:
            return _CAPTURE
        if spec == subprocess.DEVNULL:
            fd = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        elif spec is None:
            fd = os.dup(default_fd)  # inherited: pytest's capture sees it, as natively
        elif spec == subprocess.STDOUT:
            raise ValueError("STDOUT can only be used for stderr")
        else:
            fd = self._dup(spec)
        opened.append(fd)
        return fd

    # ------------------------------------------------------------ state
    @property
    def pid(self) -> int:
        return self._sp.pid

    @pid.setter
    def pid(self, value) -> None:  # Popen.__init__ of a subclass may try
        pass

    def _ended(self) -> bool:
        return self._sp is not None and self._sp.exit_status is not None

    def _reap(self) -> None:
        """The test (the program's parent) collects the exit status."""
        self._waited = True
        if self.returncode is None:
            self.returncode = self._sp.returncode

    def _block_until_ended(self, timeout) -> bool:
        if not self._ended():
            self._session.block(self._ended, timeout)
        if not self._ended():
            return False
        if self._sp.returncode is None:  # alive at stop_time: the host stopped it
            raise SimprocError(
                f"{self._argv!r} was still running when the simulated host reached its "
                f"stop_time ({self._session.host.stop_time} virtual seconds); natively "
                f"this wait would never return")
        return True

    # ------------------------------------------------------------ Popen API
    def poll(self):
        if self.returncode is None and not self._waited:
            self._session.run_now()
            if self._ended():
                self._reap()
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is not None or self._waited:
            return self.returncode
        if not self._block_until_ended(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout)
        self._reap()
        return self.returncode

    def communicate(self, input=None, timeout=None):
        if self._communication_started and input:
            raise ValueError("Cannot send input after starting communication")
        self._communication_started = True
        if self.stdin is not None and not self.stdin.closed:
            try:
                if input:
                    self.stdin.write(input)
                self.stdin.close()
            except BrokenPipeError:
                pass  # the program does not read its stdin: as Popen, ignore
        if not self._block_until_ended(timeout):
            raise subprocess.TimeoutExpired(
                self.args, timeout,
                output=self._stdout_raw.peek_all() if self.stdout is not None else None,
                stderr=self._stderr_raw.peek_all() if self.stderr is not None else None)
        out = err = None
        if self.stdout is not None:
            out = self.stdout.read()
            self.stdout.close()
        if self.stderr is not None:
            err = self.stderr.read()
            self.stderr.close()
        self.wait()
        return out, err

    def send_signal(self, sig):
        self.poll()
        if self.returncode is not None or self._ended():
            return
        try:
            self._session.host.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def terminate(self):
        self.send_signal(_signal.SIGTERM)

    def kill(self):
        self.send_signal(_signal.SIGKILL)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, value, traceback):
        if self.stdout:
            self.stdout.close()
        if self.stderr:
            self.stderr.close()
        try:
            if self.stdin:
                self.stdin.close()
        finally:
            if exc_type is not KeyboardInterrupt:
                self.wait()

    def __del__(self):
        pass

    @property
    def simprocess(self):
        """The host's SimProcess behind this Popen (state, ppid, children...)."""
        return self._sp


# ===================================================================== functions
def _sim_sleep(seconds):
    session = _ACTIVE
    if (session is None or session._closed or threading.get_ident() != session._ident
            or _caller_is_native(2)):
        return _real_sleep(seconds)
    session.sleep(seconds)


_sim_sleep.__name__ = _sim_sleep.__qualname__ = "sleep"
_sim_sleep.__doc__ = _real_sleep.__doc__


def _sim_kill(pid, sig):
    session = _session_for_caller()
    if session is not None and isinstance(pid, int):
        if (pid > 0 and session._lookup(pid) is not None) or (
                pid < -1 and session._has_group(-pid)):
            return session.kill(pid, sig)
    return _real_kill(pid, sig)


def _sim_killpg(pgid, sig):
    session = _session_for_caller()
    if session is not None and isinstance(pgid, int) and session._has_group(pgid):
        return session.killpg(pgid, sig)
    return _real_killpg(pgid, sig)


def _sim_waitpid(pid, options):
    session = _session_for_caller()
    if session is not None and isinstance(pid, int) and session._lookup(pid) is not None:
        return session.waitpid(pid, options)
    return _real_waitpid(pid, options)


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


for _fake, _real in ((_sim_kill, _real_kill), (_sim_killpg, _real_killpg),
                     (_sim_waitpid, _real_waitpid), (_sim_getpgid, _real_getpgid),
                     (_sim_getsid, _real_getsid)):
    _fake.__name__ = _fake.__qualname__ = _real.__name__
    _fake.__doc__ = _real.__doc__
del _fake, _real
