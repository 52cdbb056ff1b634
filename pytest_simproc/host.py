"""SimHost and SimProcess: the public façade of one simulated host.

All ptrace work happens on one dedicated *tracer thread* per host: ptrace requests must
come from the thread that traces, and a thread of its own lets the tracer wait for its
tracees alone (``__WNOTHREAD``) without stealing exit statuses of the test's other
children. Public methods hand their work to that thread and wait for it; reads of the
process table need no hand-off because the tracer thread is idle between calls.
"""
from __future__ import annotations

import concurrent.futures
import ctypes
import json
import os
import queue
import shutil
import signal as _signal
import subprocess
import tempfile
import threading
import time as _time

from .engine import Engine
from .errors import (HostClosedError, LeakError, ProgramNotFoundError,
                     SimTimeoutExpired, SpawnError)
from .kernel import Exited, Running, Signaled
from .kernel.rlimits import normalize_rlimits
from .kernel.signals import parse_signal
from .kernel.states import parse_final_state
from .report import build_report, render_tree
from .trace.spawn import SpawnFailed

NSEC = 1_000_000_000
DEFAULT_START_TIME = 946684800  # 2000-01-01T00:00:00Z, as Shadow
PR_SET_CHILD_SUBREAPER = 36
_subreaper_set = False


def _become_subreaper() -> None:
    """Orphaned native processes must come back to us to be reaped: this machine's
    init (and many containers') never reaps them (prctl(2) PR_SET_CHILD_SUBREAPER)."""
    global _subreaper_set
    if not _subreaper_set:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        _subreaper_set = True


# Virtual times are signed 64-bit nanosecond counts: with start_time and every duration
# at most 2**62 ns (about 146 years), start_time + stop_time still fits (and a time_t).
MAX_SECONDS = 2**62 // NSEC
HOST_NAME_MAX = 64  # bytes, gethostname(2)


def _short(value, limit: int = 60) -> str:
    """repr(value), truncated for error messages."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 -- a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _seconds(name: str, value, *, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {_short(value)}")
    if value != value or value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} number of seconds, not {_short(value)}")
    if value > MAX_SECONDS:
        raise ValueError(f"{name} must be finite and at most {MAX_SECONDS} seconds "
                         f"(about 146 years), not {_short(value)}")
    return value


def _check_start_time(value) -> float:
    if isinstance(value, str):  # "now": files written so far are in the host's past
        if value != "now":
            raise ValueError(f"start_time must be a number of seconds or 'now', "
                             f"not {_short(value)}")
        return float(int(_time.time()) + 1)  # the next whole second
    return _seconds("start_time", value)


def _check_hostname(hostname) -> str:
    if not isinstance(hostname, str):
        raise TypeError(f"hostname must be a str, not {_short(hostname)}")
    if (not hostname or "/" in hostname or not hostname.isprintable()
            or len(hostname.encode()) > HOST_NAME_MAX):
        raise ValueError(f"hostname must be 1 to {HOST_NAME_MAX} printable characters "
                         f"without '/', not {_short(hostname)}")
    return hostname


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, not {_short(seed)}")
    return seed


def _check_strace(strace) -> str:
    if not isinstance(strace, str):
        raise TypeError(f"strace must be 'off', 'standard' or 'deterministic', "
                        f"not {_short(strace)}")
    if strace not in ("off", "standard", "deterministic"):
        raise ValueError(f"strace must be 'off', 'standard' or 'deterministic', "
                         f"not {_short(strace)}")
    return strace


def _check_path(name: str, value) -> str:
    """A str, bytes or os.PathLike path without NUL, as a str."""
    if not isinstance(value, (str, bytes, os.PathLike)):
        raise TypeError(f"{name} must be a path (str, bytes or os.PathLike), "
                        f"not {_short(value)}")
    try:
        path = os.fsdecode(os.fspath(value))
    except TypeError:
        raise TypeError(f"{name} must be a path (str, bytes or os.PathLike), "
                        f"not {_short(value)}") from None
    if "\0" in path:
        raise ValueError(f"{name} must not contain a NUL byte: {_short(path)}")
    return path


def _check_data_dir(data_dir) -> "str | None":
    if data_dir is None:
        return None
    path = _check_path("data_dir", data_dir)
    if not path:
        raise ValueError("data_dir must be a directory path (or None), not ''")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"data_dir {_short(path)} exists and is not a directory")
    return path


def _check_rlimits(rlimits) -> dict:
    return normalize_rlimits(rlimits)


_HOST_OPTION_CHECKS = {
    "hostname": _check_hostname,
    "start_time": _check_start_time,
    "stop_time": lambda v: _seconds("stop_time", v, allow_zero=False),
    "seed": _check_seed,
    "strace": _check_strace,
    "rlimits": _check_rlimits,
    "data_dir": _check_data_dir,
    "shutdown_signal": parse_signal,
    "shutdown_grace": lambda v: _seconds("shutdown_grace", v),
    "watchdog_timeout": lambda v: _seconds("watchdog_timeout", v, allow_zero=False),
    "cpu_time_per_syscall": lambda v: _seconds("cpu_time_per_syscall", v),
}


def validate_host_options(**options) -> dict:
    """Check SimHost options (any subset, by keyword) exactly as SimHost does, creating
    nothing; return them normalized (rlimits as {resource: (soft, hard)},
    shutdown_signal as a number, data_dir as a str). Raises TypeError / ValueError
    naming the option. The ``simproc`` marker is checked with it at collection time."""
    checked = {}
    for name, value in options.items():
        check = _HOST_OPTION_CHECKS.get(name)
        if check is None:
            raise TypeError(f"unknown SimHost option {name!r}; known: "
                            f"{', '.join(sorted(_HOST_OPTION_CHECKS))}")
        checked[name] = check(value)
    return checked


def _check_argv(argv) -> list[str]:
    from collections.abc import Iterable, Mapping, Set as AbstractSet
    if (isinstance(argv, (str, bytes, bytearray, os.PathLike, Mapping, AbstractSet))
            or not isinstance(argv, Iterable)):
        raise TypeError(f"argv must be a non-empty list of strings, not {_short(argv)}")
    result = []
    for i, arg in enumerate(argv):
        if isinstance(arg, os.PathLike):
            arg = os.fspath(arg)
        if isinstance(arg, bytes):
            arg = os.fsdecode(arg)
        if not isinstance(arg, str):
            raise TypeError(f"argv[{i}] must be a str, not {_short(arg)} "
                            f"(argv={_short(argv)})")
        if "\0" in arg:
            raise ValueError(f"argv[{i}] must not contain a NUL byte: {_short(arg)}")
        result.append(arg)
    if not result:
        raise ValueError("argv must be a non-empty list of strings, not empty")
    return result


def _inherited_environment() -> dict:
    """The test process's environment minus what pytest and pytest-xdist add to it for
    themselves (PYTEST_CURRENT_TEST changes with every test and phase; xdist workers get
    PYTEST_XDIST_* and COLUMNS/LINES): a program's results must not depend on which
    worker ran the test."""
    env = dict(os.environ)
    xdist_worker = "PYTEST_XDIST_WORKER" in env
    for name in list(env):
        if name == "PYTEST_CURRENT_TEST" or name.startswith("PYTEST_XDIST_"):
            del env[name]
        elif xdist_worker and name in ("COLUMNS", "LINES"):
            del env[name]
    return env


def _check_env(env) -> dict[str, str]:
    from collections.abc import Mapping
    if env is None:
        return _inherited_environment()
    if not isinstance(env, Mapping):
        raise TypeError(f"env must be a mapping of str to str (or None), not {_short(env)}")
    result = {}
    for key, value in env.items():
        if isinstance(key, bytes):
            key = os.fsdecode(key)
        if not isinstance(key, str):
            raise TypeError(f"env: variable name {_short(key)} must be a str")
        if not key or "=" in key or "\0" in key:
            raise ValueError(f"env: bad variable name {_short(key)} (must be non-empty, "
                             f"without '=' or NUL)")
        if isinstance(value, bytes):
            value = os.fsdecode(value)
        if not isinstance(value, str):
            raise TypeError(f"env: the value of {_short(key)} must be a str, "
                            f"not {_short(value)}")
        if "\0" in value:
            raise ValueError(f"env: the value of {_short(key)} must not contain a NUL "
                             f"byte: {_short(value)}")
        result[key] = value
    return result


def _check_cwd(cwd) -> "str | None":
    if cwd is None:
        return None
    path = _check_path("cwd", cwd)
    if not os.path.isdir(path):
        what = "is not a directory" if os.path.exists(path) else "does not exist"
        raise ValueError(f"cwd {_short(path)} {what}")
    return path


_STDIN_TYPES = "None, bytes, str, a file descriptor or a file"


def _check_stdin(stdin) -> "bytes | None":
    """Check spawn's stdin; return the bytes to feed it (None for an fd or a file)."""
    if stdin is None:
        return None
    if isinstance(stdin, str):
        try:
            return stdin.encode()
        except UnicodeEncodeError as exc:
            raise ValueError(f"stdin: cannot encode {_short(stdin)} as UTF-8 "
                             f"({exc.reason})") from None
    if isinstance(stdin, (bytes, bytearray, memoryview)):
        return bytes(stdin)
    _fd_of(stdin, "stdin", _STDIN_TYPES)
    return None


class _TracerThread:
    """Runs callables on the one thread allowed to make ptrace requests."""

    def __init__(self, name: str):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            func, args, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(func(*args))
            except BaseException as exc:  # handed back to the caller
                future.set_exception(exc)

    def call(self, func, *args):
        if threading.current_thread() is self._thread:
            return func(*args)
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((func, args, future))
        return future.result()

    def stop(self):
        self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=30)


class _Watchdog:
    """Kills a task that has run natively for ``timeout`` real seconds without a stop."""

    def __init__(self, engine: Engine, timeout: float):
        self._engine = engine
        self._timeout = timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="simproc-watchdog",
                                        daemon=True)
        self._thread.start()

    # A task asleep in the real kernel (state S) cannot be woken by anything the host
    # runs, since nothing else runs: report it sooner than a spinning one.
    NATIVE_SLEEP_GRACE = 2.0

    def _main(self):
        interval = min(0.5, self._timeout / 4)
        watch = self._engine.watch
        while not self._stop.wait(interval):
            task, since = watch.task, watch.since
            if task is None:
                continue
            waited = _time.monotonic() - since
            if waited < min(self._timeout, self.NATIVE_SLEEP_GRACE):
                continue
            if waited < self._timeout and _native_state(task.native) != "S":
                continue
            if watch.task is not task:
                continue
            watch.fired = _watchdog_message(task, waited)
            try:
                os.kill(task.tgid_native, _signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


def _watchdog_message(task, timeout: float) -> str:
    from .syscalls import syscall_name
    proc = task.proc
    last = syscall_name(task.last_syscall) if task.last_syscall is not None else "none"
    where = _native_activity(task.native)
    return (f"watchdog: process {proc.pid} ({' '.join(proc.argv)!s}) {where} for "
            f"{timeout:.1f} s of real time without a system call the host sees; its last "
            f"simulated system call was {last}. It was killed. If it waits on something "
            f"the host does not simulate, that is unsupported; if it spins, give it "
            f"work that makes system calls (or raise watchdog_timeout).")


def _native_state(native: int) -> str:
    """The one-letter scheduler state of a native thread (proc(5) /proc/PID/stat)."""
    try:
        with open(f"/proc/{native}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def _native_activity(native: int) -> str:
    """What the native thread is doing, from /proc/PID/syscall (proc(5))."""
    from .syscalls import syscall_name
    try:
        with open(f"/proc/{native}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return "ran"
    if fields and fields[0].lstrip("-").isdigit() and int(fields[0]) >= 0:
        return f"was blocked natively in {syscall_name(int(fields[0]))}()"
    return "spun in user code"


class SimProcess:
    """One process of a host, alive or not. Identity fields are virtual."""

    def __init__(self, host: "SimHost", proc, stdout_path=None, stderr_path=None,
                 expected_final_state=None):
        self._host = host
        self._proc = proc
        self._stdout_path = stdout_path
        self._stderr_path = stderr_path
        self.expected_final_state = expected_final_state

    def __repr__(self):
        return f"<SimProcess {self.pid} {self.argv!r} {self.state}>"

    pid = property(lambda self: self._proc.pid)
    ppid = property(lambda self: self._proc.ppid)
    pgid = property(lambda self: self._proc.pgid)
    sid = property(lambda self: self._proc.sid)
    argv = property(lambda self: list(self._proc.argv))
    state = property(lambda self: self._proc.state)
    reaped_by = property(lambda self: self._proc.reaped_by)

    @property
    def name(self) -> str:
        """Shadow's process name: ``{hostname}.{exe}.{pid}``."""
        return f"{self._host.hostname}.{self._proc.exe}.{self.pid}"

    @property
    def exit_status(self):
        """Exited(n) / Signaled(sig) once ended; Running if alive at stop_time; None
        while it runs."""
        if id(self._proc) in self._host._engine.running_at_stop:
            return Running
        return self._proc.exit_status

    @property
    def returncode(self):
        status = self.exit_status
        if isinstance(status, Exited):
            return status.code
        if isinstance(status, Signaled):
            return -int(status.signal)
        return None

    @property
    def stdout_path(self):
        """Where the captured stdout is written (None when not captured)."""
        return self._stdout_path

    @property
    def stderr_path(self):
        return self._stderr_path

    def _read(self, path) -> bytes:
        if path is None:
            return b""
        cached = self._host._closed_output.get(path)
        if cached is not None:
            return cached
        with open(path, "rb") as f:
            return f.read()

    @property
    def stdout(self) -> bytes:
        return self._read(self._stdout_path)

    @property
    def stderr(self) -> bytes:
        return self._read(self._stderr_path)

    def strace(self):
        """This process's system calls, in strace's format (empty when logging is off)."""
        from .assertions import Strace
        kept = self._host._closed_strace
        if kept is not None:
            lines = kept.get(id(self._proc), [])
        else:
            log = self._host._engine.strace
            lines = log.lines(self.pid) if log is not None else []
        return Strace(lines, deterministic=self._host.strace_mode == "deterministic")

    def children(self) -> list["SimProcess"]:
        return [self._host.process(pid) for pid in list(self._proc.children)]

    def send_signal(self, sig) -> None:
        self._host.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(_signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(_signal.SIGKILL)

    def _ended(self) -> bool:
        return self._proc.state in ("zombie", "reaped")

    def wait(self, timeout=None):
        """Run the host until this process ends; ``timeout`` is in virtual seconds."""
        if timeout is not None:
            _seconds("timeout", timeout)
        self._host._run_until_ended(self, timeout)
        if not self._ended():
            raise SimTimeoutExpired(self.argv, timeout)
        return self.exit_status

    def poll(self):
        return self.returncode if self._ended() else None


class SimHost:
    """A simulated host: a process table, a virtual clock, and the real programs in it."""

    def __init__(self, *, hostname: str = "simhost", start_time=DEFAULT_START_TIME,
                 stop_time=3600, seed: int = 0, strace: str = "off", rlimits=None,
                 data_dir=None, shutdown_signal=_signal.SIGTERM, shutdown_grace=10,
                 watchdog_timeout=10.0, cpu_time_per_syscall=1e-6):
        # Everything is checked before any thread, directory or process is created.
        checked = validate_host_options(
            hostname=hostname, start_time=start_time, stop_time=stop_time, seed=seed,
            strace=strace, rlimits=rlimits, data_dir=data_dir,
            shutdown_signal=shutdown_signal, shutdown_grace=shutdown_grace,
            watchdog_timeout=watchdog_timeout, cpu_time_per_syscall=cpu_time_per_syscall)
        data_dir = checked["data_dir"]
        start_time = checked["start_time"]
        self.strace_mode = strace
        self.hostname = hostname
        self.start_time = start_time
        self.stop_time = stop_time
        self.seed = seed
        self.rlimits = checked["rlimits"]
        self.shutdown_signal = checked["shutdown_signal"]
        self.shutdown_grace = shutdown_grace
        self.watchdog_timeout = watchdog_timeout
        self._own_data_dir = data_dir is None
        self.data_dir = os.path.abspath(data_dir) if data_dir else tempfile.mkdtemp(
            prefix=f"simproc-{hostname}-")
        os.makedirs(self.data_dir, exist_ok=True)
        self._start_ns = int(round(start_time * NSEC))
        self._stop_ns = self._start_ns + int(round(stop_time * NSEC))
        self._closed = False
        self._keep_data = not self._own_data_dir
        self._spawned: list[SimProcess] = []
        self._closed_output: dict[str, bytes] = {}  # outputs kept after the data dir goes
        self._closed_strace: dict[int, list[str]] | None = None
        self._by_proc: dict[int, SimProcess] = {}
        _become_subreaper()
        self._tracer = _TracerThread(f"simproc-tracer-{hostname}")
        self._engine = self._tracer.call(lambda: Engine(
            hostname=hostname, start_time_ns=self._start_ns, seed=seed,
            data_dir=self.data_dir, rlimits=self.rlimits,
            cpu_ns_per_syscall=int(round(cpu_time_per_syscall * NSEC)), strace=strace))
        self._watchdog = _Watchdog(self._engine, watchdog_timeout)

    # ---------------------------------------------------------------- context
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _check_open(self):
        if self._closed:
            raise HostClosedError(f"host {self.hostname!r} is closed")

    # ---------------------------------------------------------------- time
    @property
    def now(self) -> float:
        return self._engine.clock.now_ns / NSEC

    # ---------------------------------------------------------------- spawning
    def spawn(self, argv, *, env=None, cwd=None, stdin=None, rlimits=None,
              expected_final_state=None, stdout=None, stderr=None) -> SimProcess:
        """Start ``argv`` in the host (it runs when the host runs).

        stdout/stderr: None captures to ``{data_dir}/{hostname}.{exe}.{pid}.stdout``
        (``SimProcess.stdout``); a file descriptor or file object is used as is;
        ``stderr=subprocess.STDOUT`` sends stderr where stdout goes."""
        self._check_open()
        # Every argument is checked before a file or process is created.
        argv = _check_argv(argv)
        env = _check_env(env)
        cwd = _check_cwd(cwd)
        if expected_final_state is not None:
            expected_final_state = parse_final_state(expected_final_state)
        if rlimits is not None:
            rlimits = normalize_rlimits(rlimits)
        _check_stdin(stdin)
        _redirect((0, 1, 2), stdout, stderr)
        path = _resolve_program(argv[0], env.get("PATH", os.defpath), cwd)
        exe = os.path.basename(argv[0])
        fds, paths, close_after = self._stdio(exe, stdin)
        fds = _redirect(fds, stdout, stderr)
        try:
            try:
                proc = self._tracer.call(self._engine.spawn, path, argv, env, cwd, fds,
                                         rlimits)
            except SpawnFailed as exc:
                raise SpawnError(f"cannot start {path}: {exc}") from None
        finally:
            for fd in close_after:
                os.close(fd)
        final_paths = []
        for kind, tmp in zip(("stdout", "stderr"), paths):
            final = os.path.join(self.data_dir, f"{self.hostname}.{exe}.{proc.pid}.{kind}")
            os.replace(tmp, final)
            final_paths.append(final)
        sp = SimProcess(self, proc, *final_paths, expected_final_state=expected_final_state)
        self._spawned.append(sp)
        self._by_proc[id(proc)] = sp
        return sp

    def _stdio(self, exe, stdin):
        data = _check_stdin(stdin)  # before anything is created
        close_after, paths = [], []
        try:
            if stdin is None:
                in_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
                close_after.append(in_fd)
            elif data is not None:
                fd, path = tempfile.mkstemp(prefix=f".{exe}.stdin.", dir=self.data_dir)
                close_after.append(fd)
                os.write(fd, data)
                os.lseek(fd, 0, os.SEEK_SET)
                in_fd = fd
            else:
                in_fd = _fd_of(stdin, "stdin")
            out_fds = []
            for kind in ("stdout", "stderr"):
                fd, path = tempfile.mkstemp(prefix=f".{exe}.{kind}.", dir=self.data_dir)
                out_fds.append(fd)
                paths.append(path)
                close_after.append(fd)
        except BaseException:
            for fd in close_after:
                os.close(fd)
            for path in paths:
                try:
                    os.unlink(path)
                except OSError:
                    pass
            raise
        return (in_fd, out_fds[0], out_fds[1]), paths, close_after

    # ---------------------------------------------------------------- running
    def _run(self, until_ns: int, predicate=None) -> str:
        self._check_open()
        until_ns = min(until_ns, self._stop_ns)
        reason = self._tracer.call(self._engine.run, until_ns, predicate)
        if reason == "time" and self._engine.clock.now_ns >= self._stop_ns:
            self._tracer.call(self._stop_time_shutdown)
        return reason

    def run(self) -> None:
        """Run until every process has ended, or until stop_time."""
        self._run(self._stop_ns)

    def run_for(self, seconds) -> None:
        """Run for ``seconds`` of virtual time: afterwards ``now`` has moved by exactly
        that much (or up to stop_time), even if every process ended sooner."""
        _seconds("seconds", seconds)
        target = min(self._engine.clock.now_ns + int(round(seconds * NSEC)), self._stop_ns)
        self._run(target)
        if self._engine.clock.now_ns < target:
            self._tracer.call(self._engine.clock.advance_to, target)

    def run_until(self, predicate, timeout=None) -> bool:
        """Run until ``predicate()`` is true (checked at every simulated step) or
        ``timeout`` virtual seconds pass; returns whether it became true."""
        if not callable(predicate):
            raise TypeError(f"predicate must be callable, not {predicate!r}")
        until = self._stop_ns if timeout is None else (
            self._engine.clock.now_ns + int(round(_seconds("timeout", timeout) * NSEC)))
        self._run(until, predicate)
        return bool(predicate())

    def _run_until_ended(self, sp: SimProcess, timeout) -> None:
        until = self._stop_ns if timeout is None else (
            self._engine.clock.now_ns + int(round(timeout * NSEC)))
        self._run(until, sp._ended)

    def _stop_time_shutdown(self) -> None:
        """stop_time: survivors count as Running; shutdown_signal, grace, SIGKILL."""
        engine = self._engine
        for proc in engine.table.live():
            engine.running_at_stop.add(id(proc))
        self._shutdown_on_tracer()

    def _shutdown_on_tracer(self) -> None:
        engine = self._engine
        for proc in engine.table.live():
            engine.kill(0, proc.pid, self.shutdown_signal)
        grace_end = engine.clock.now_ns + int(round(self.shutdown_grace * NSEC))
        engine.run(grace_end)
        for proc in engine.table.live():
            engine.kill(0, proc.pid, _signal.SIGKILL)
        engine.run(engine.clock.now_ns)

    def shutdown(self) -> None:
        """Send shutdown_signal to every process, then SIGKILL after shutdown_grace."""
        self._check_open()
        self._tracer.call(self._shutdown_on_tracer)

    # ---------------------------------------------------------------- extensions
    def emulate_syscalls(self, names, handler) -> None:
        """Trap the named system calls in processes spawned from now on and offer each
        call to ``handler(call)`` first (a ``SyscallCall``); it returns the program's
        result (an int, -errno for errors) or None to let the simulator answer."""
        from .extension import SyscallCall
        from .syscalls import syscall_number
        self._check_open()
        if isinstance(names, str):
            names = [names]
        numbers = {}
        for name in names:
            try:
                numbers[syscall_number(name)] = None
            except KeyError:
                raise ValueError(f"unknown system call name {name!r} in emulate_syscalls") from None
        if not callable(handler):
            raise TypeError(f"handler must be callable, not {handler!r}")
        hook = (lambda ctx: handler(SyscallCall(ctx, self)))
        self._tracer.call(self._engine.add_extra_handlers, dict.fromkeys(numbers, hook))

    def on_exit(self, observer) -> None:
        """Call ``observer(host, process, state)`` whenever a process of the host ends."""
        if not callable(observer):
            raise TypeError(f"observer must be callable, not {observer!r}")
        self._engine.exit_observers.append(
            lambda proc, state: observer(self, self._wrap(proc), state))

    # ---------------------------------------------------------------- signals
    def kill(self, pid: int, sig) -> None:
        """kill(2) from outside the programs: pid > 0, 0 (init's group, i.e. nothing),
        -1 (every process) or -pgid; confined to this host."""
        self._check_open()
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise TypeError(f"pid must be an int, not {pid!r}")
        sig = parse_signal(sig)
        result = self._tracer.call(self._engine.kill_from_outside, pid, sig)
        if result < 0:
            raise ProcessLookupError(f"no process {pid} in host {self.hostname!r}")

    # ---------------------------------------------------------------- inspection
    def _wrap(self, proc) -> SimProcess:
        sp = self._by_proc.get(id(proc))
        if sp is None:
            sp = SimProcess(self, proc)
            self._by_proc[id(proc)] = sp
        return sp

    def processes(self) -> list[SimProcess]:
        return [self._wrap(p) for p in self._engine.table.processes()]

    def process(self, pid: int) -> SimProcess:
        proc = self._engine.table.lookup_any(pid)
        if proc is None or pid == 1:
            raise LookupError(f"no process {pid} in host {self.hostname!r}")
        return self._wrap(proc)

    def zombies(self) -> list[SimProcess]:
        return [self._wrap(p) for p in self._engine.table.zombies()]

    def spawned(self) -> list[SimProcess]:
        """The processes this host's user spawned (not their descendants)."""
        return list(self._spawned)

    def tree(self, include_gone: bool = False) -> str:
        """pstree-like text of the live and zombie processes (and, with
        ``include_gone``, the reaped ones listed after it)."""
        return render_tree(self._engine.table, include_reaped=include_gone)

    def strace_lines(self) -> list[str]:
        """The merged strace log of every process, each line prefixed with the tid of
        its thread as ``strace -f -o`` does; [] when logging is off."""
        log = self._engine.strace
        return log.merged_lines() if log is not None else []

    @property
    def unsupported_syscalls(self) -> list[dict]:
        return [{"name": name, "pid": pid, "count": count}
                for (name, pid), count in sorted(self._engine.unsupported.items())]

    def report(self) -> dict:
        engine = self._engine
        host = {
            "hostname": self.hostname, "seed": self.seed, "start_time": self.start_time,
            "stop_time": self.stop_time, "now": self.now,
            "unsupported_syscalls": self.unsupported_syscalls,
            "refused": list(engine.refused),
        }
        return build_report(host, [self._wrap(p) for p in engine.table.processes()])

    def report_json(self) -> str:
        return json.dumps(self.report(), indent=2, sort_keys=True) + "\n"

    def assert_no_zombies(self) -> None:
        """Fail, with the process tree and the parents' strace tails, if any process
        of the host is a zombie."""
        __tracebackhide__ = True
        from .assertions import assert_no_zombies
        assert_no_zombies(self)

    # ---------------------------------------------------------------- teardown
    def close(self) -> None:
        """Kill whatever still runs, prove that no native process is left, clean up."""
        if self._closed:
            return
        self._closed = True
        self._watchdog.stop()
        engine = self._engine
        engine.kill_everything()
        try:
            survivors = self._tracer.call(engine.drain)
        finally:
            self._tracer.call(engine.close)
            self._tracer.stop()
        if engine.strace is not None:
            self._closed_strace = {id(p): engine.strace.lines(p.pid)
                                   for p in engine.table.processes()}
        if self._own_data_dir and not self._keep_data:
            for sp in self._spawned:
                for path in (sp._stdout_path, sp._stderr_path):
                    try:
                        with open(path, "rb") as f:
                            self._closed_output[path] = f.read()
                    except OSError:
                        pass
            shutil.rmtree(self.data_dir, ignore_errors=True)
        if survivors:
            raise LeakError(f"native processes of host {self.hostname!r} survived "
                            f"its shutdown: {survivors}")

    def keep_data(self) -> None:
        """Keep the data dir (logs, stdout files) after close."""
        self._keep_data = True


def _fd_of(value, name: str, expected: str = "None, a file descriptor or a file") -> int:
    """An open file descriptor from an int or an object with fileno()."""
    if isinstance(value, bool) or not (isinstance(value, int) or hasattr(value, "fileno")):
        raise TypeError(f"{name} must be {expected}, not {_short(value)}")
    if isinstance(value, int):
        fd = value
    else:
        try:
            fd = value.fileno()
        except (OSError, ValueError) as exc:  # io.UnsupportedOperation, a closed file
            raise ValueError(f"{name}: {_short(value)} has no file descriptor "
                             f"({exc})") from None
        if isinstance(fd, bool) or not isinstance(fd, int):
            raise TypeError(f"{name}: {_short(value)}.fileno() returned {_short(fd)}, "
                            f"not an int")
    if fd < 0:
        raise ValueError(f"{name}: {fd} is not a file descriptor")
    try:
        os.fstat(fd)
    except (OSError, OverflowError):
        raise ValueError(f"{name}: {fd} is not an open file descriptor") from None
    return int(fd)


def _redirect(fds, stdout, stderr):
    in_fd, out_fd, err_fd = fds
    if stdout is not None:
        out_fd = _fd_of(stdout, "stdout")
    if stderr is not None:
        merge = (isinstance(stderr, int) and not isinstance(stderr, bool)
                 and stderr == subprocess.STDOUT)
        err_fd = out_fd if merge else _fd_of(stderr, "stderr")
    return in_fd, out_fd, err_fd


def _resolve_program(program: str, path_env: str, cwd) -> str:
    if not isinstance(program, str) or "\0" in program:
        raise ValueError(f"argv[0] must be a program name or path, not {_short(program)}")
    if "/" in program:
        path = program if os.path.isabs(program) or cwd is None else os.path.join(cwd, program)
        if not os.path.exists(path):
            raise ProgramNotFoundError(f"program not found: {path!r} does not exist")
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            raise ProgramNotFoundError(f"program not executable: {path!r} (check its mode: "
                                       f"chmod +x, or run it through its interpreter)")
        return os.path.abspath(path)
    found = shutil.which(program, path=path_env)
    if found is None:
        raise ProgramNotFoundError(f"program not found: {program!r} is not in PATH "
                                   f"({path_env}); give a path or fix PATH in env=")
    return found
