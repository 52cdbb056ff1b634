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
from .errors import (HostClosedError, LeakError, ProgramNotFoundError, SimprocError,
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


def _seconds(name: str, value, *, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return value


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
        if not isinstance(hostname, str) or not hostname or "/" in hostname:
            raise ValueError(f"hostname must be a non-empty name without '/', not {hostname!r}")
        _seconds("start_time", start_time)
        _seconds("stop_time", stop_time, allow_zero=False)
        _seconds("shutdown_grace", shutdown_grace)
        _seconds("watchdog_timeout", watchdog_timeout, allow_zero=False)
        _seconds("cpu_time_per_syscall", cpu_time_per_syscall)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, not {seed!r}")
        if strace not in ("off", "standard", "deterministic"):
            raise ValueError(f"strace must be 'off', 'standard' or 'deterministic', "
                             f"not {strace!r}")
        self.strace_mode = strace
        self.hostname = hostname
        self.start_time = start_time
        self.stop_time = stop_time
        self.seed = seed
        self.rlimits = normalize_rlimits(rlimits or {})
        self.shutdown_signal = parse_signal(shutdown_signal)
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
        if isinstance(argv, (str, bytes)) or not argv:
            raise TypeError(f"argv must be a non-empty list of strings, not {argv!r}")
        argv = [os.fsdecode(a) if isinstance(a, bytes) else a for a in argv]
        if not all(isinstance(a, str) for a in argv):
            raise TypeError(f"argv must be a list of strings, not {argv!r}")
        env = dict(os.environ if env is None else env)
        path = _resolve_program(argv[0], env.get("PATH", os.defpath), cwd)
        if expected_final_state is not None:
            expected_final_state = parse_final_state(expected_final_state)
        if rlimits is not None:
            rlimits = normalize_rlimits(rlimits)
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
        close_after = []
        if stdin is None:
            in_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            close_after.append(in_fd)
        elif isinstance(stdin, (bytes, str)):
            data = stdin.encode() if isinstance(stdin, str) else stdin
            fd, path = tempfile.mkstemp(prefix=f".{exe}.stdin.", dir=self.data_dir)
            os.write(fd, data)
            os.lseek(fd, 0, os.SEEK_SET)
            in_fd = fd
            close_after.append(fd)
        elif isinstance(stdin, int):
            in_fd = stdin
        elif hasattr(stdin, "fileno"):
            in_fd = stdin.fileno()
        else:
            raise TypeError(f"stdin must be None, bytes, str, a file descriptor or a file, "
                            f"not {stdin!r}")
        out_fds, paths = [], []
        for kind in ("stdout", "stderr"):
            fd, path = tempfile.mkstemp(prefix=f".{exe}.{kind}.", dir=self.data_dir)
            out_fds.append(fd)
            paths.append(path)
            close_after.append(fd)
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
        result = self._tracer.call(self._engine.kill, 1, pid, sig)
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

    def tree(self) -> str:
        return render_tree(self._engine.table)

    def strace_lines(self) -> list[str]:
        """The merged strace log of every process ("PID line"), [] when logging is off."""
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


def _fd_of(value, name: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be None, a file descriptor or a file, not {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{name}: {value} is not a file descriptor")
        return value
    if hasattr(value, "fileno"):
        return value.fileno()
    raise TypeError(f"{name} must be None, a file descriptor or a file, not {value!r}")


def _redirect(fds, stdout, stderr):
    in_fd, out_fd, err_fd = fds
    if stdout is not None:
        out_fd = _fd_of(stdout, "stdout")
    if stderr is not None:
        err_fd = out_fd if stderr == subprocess.STDOUT and not isinstance(stderr, bool) \
            else _fd_of(stderr, "stderr")
    return in_fd, out_fd, err_fd


def _resolve_program(program: str, path_env: str, cwd) -> str:
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
