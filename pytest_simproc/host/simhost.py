"""SimHost: the public façade of one simulated host.

Public methods hand their work to the host's tracer thread (threads.py) and wait for it;
reads of the process table need no hand-off because the tracer thread is idle between
calls. Everything a user passes is checked (options.py, spawnargs.py, stdio.py) before
any thread, file or process is created.
"""
from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal as _signal
import tempfile
import threading

from ..engine import Engine
from ..errors import HostClosedError, LeakError, SpawnError
from ..kernel.rlimits import normalize_rlimits
from ..kernel.signals import parse_signal
from ..kernel.states import parse_final_state
from ..report import build_report, render_tree
from ..syscalls.time import step_realtime
from ..trace import ptrace_ops as pt
from ..trace.spawn import SpawnFailed
from .measure import (fatal_by_default, flush, flush_before_kill, harvest,
                      measured_environment)
from .options import DEFAULT_START_TIME, NSEC, _seconds, validate_host_options
from .process import SimProcess
from .spawnargs import _check_argv, _check_cwd, _check_env, _resolve_program
from .stdio import _check_stdin, _redirect, open_stdio
from .threads import _TracerThread, _Watchdog

PR_SET_CHILD_SUBREAPER = 36
_subreaper_set = False


def _become_subreaper() -> None:
    """Orphaned native processes must come back to us to be reaped: this machine's
    init (and many containers') never reaps them (prctl(2) PR_SET_CHILD_SUBREAPER)."""
    global _subreaper_set
    if not _subreaper_set:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        _subreaper_set = True




def _end_on_tracer(engine: Engine) -> tuple[list[int], bool]:
    """A closing host's last work on its tracer thread: reap every native process,
    release the engine's descriptors (and its clock page, to the next host when no
    program is left to map it); the survivors, and whether the thread has no child
    left at all (wait(2) __WNOTHREAD), so that another host may use it."""
    survivors = _drain_and_release(engine)
    try:
        os.waitpid(-1, os.WNOHANG | pt.WALL | pt.WNOTHREAD)
    except ChildProcessError:
        return survivors, True
    return survivors, False


def _end_quietly(engine: Engine, tracer: _TracerThread) -> tuple[list[int], bool] | None:
    """_end_on_tracer's work on the closing thread (``call_idle``) when nothing of it
    needs a ptrace request or a wait: every native process's death seen and reaped,
    none owed a wait or not known yet (a drop-in test's host, after its program
    ended). Whether the tracer thread has a child left is read from /proc. None:
    _end_on_tracer must run on the tracer thread."""
    if threading.current_thread() is tracer._thread:
        return _end_on_tracer(engine)
    if (engine._stash or engine._native_unreaped or engine._dying
            or not all(task.gone for task in engine.tasks.values())):
        return None
    children = tracer.has_children()
    if children is None:
        return None
    return _drain_and_release(engine), not children


def _drain_and_release(engine: Engine) -> list[int]:
    """Every native death collected, the engine's descriptors released (its clock
    page to the next host when no program is left to map it); the survivors."""
    try:
        survivors = engine.drain()
        if not survivors and engine.clock_page is not None:
            engine.clock_page.unmapped = True  # no program maps it: the next host's
    finally:
        engine.close()
    return survivors


class SimHost:
    """A simulated host: a process table, a virtual clock, and the real programs in it."""

    def __init__(self, *, hostname: str = "simhost", start_time=DEFAULT_START_TIME,
                 stop_time=3600, seed: int = 0, strace: str = "off", rlimits=None,
                 data_dir=None, shutdown_signal=_signal.SIGTERM, shutdown_grace=10,
                 watchdog_timeout=10.0, cpu_time_per_syscall=1e-6, network="loopback",
                 chaos=False, inject=(), _replay=None, _explain=False, _boot_ns=None,
                 _coverage_run=None, _files=None):
        # Everything is checked before any thread, directory or process is created.
        checked = validate_host_options(
            hostname=hostname, start_time=start_time, stop_time=stop_time, seed=seed,
            strace=strace, rlimits=rlimits, data_dir=data_dir,
            shutdown_signal=shutdown_signal, shutdown_grace=shutdown_grace,
            watchdog_timeout=watchdog_timeout, cpu_time_per_syscall=cpu_time_per_syscall,
            network=network, chaos=chaos, inject=inject)
        data_dir = checked["data_dir"]
        start_time = checked["start_time"]
        self.strace_mode = strace
        self.hostname = hostname
        self.start_time = start_time
        self.stop_time = stop_time
        self.seed = seed
        self.network = network
        self.chaos = chaos
        self.inject = tuple(rule.spec for rule in checked["inject"])
        self.rlimits = checked["rlimits"]
        self.shutdown_signal = checked["shutdown_signal"]
        self.shutdown_grace = shutdown_grace
        self.watchdog_timeout = watchdog_timeout
        self._own_data_dir = data_dir is None
        # one the host chooses is made at its first use (_make_data_dir)
        self._data_dir = os.path.abspath(data_dir) if data_dir else None
        self._data_dir_lock = threading.Lock()
        if data_dir:
            os.makedirs(self._data_dir, exist_ok=True)
        self._start_ns = int(round(start_time * NSEC))
        self._stop_ns = self._start_ns + int(round(stop_time * NSEC))
        self._closed = False
        self._keep_data = not self._own_data_dir
        self._coverage_file = None  # the run's data file when programs are measured
        # the test run's own coverage variables (drop-in mode): another configuration
        # is the test's, left alone (measure.measured_environment)
        self._coverage_run = _coverage_run
        self._spawned: list[SimProcess] = []
        self._closed_output: dict[str, bytes] = {}  # outputs kept after the data dir goes
        self._closed_strace: dict[int, list[str]] | None = None
        self._by_proc: dict[int, SimProcess] = {}
        _become_subreaper()
        tracer = _TracerThread.take(f"simproc-tracer-{hostname}")
        try:
            self._engine = tracer.call(lambda: Engine(
                hostname=hostname, start_time_ns=self._start_ns, seed=seed,
                data_dir=self._data_dir or self._make_data_dir, rlimits=self.rlimits,
                cpu_ns_per_syscall=int(round(cpu_time_per_syscall * NSEC)), strace=strace,
                network=network, chaos=chaos, replay=_replay, explain=_explain,
                inject=checked["inject"], boot_ns=_boot_ns, files=_files))
        except BaseException:
            tracer.recycle()  # it started nothing
            raise
        self._engine.stop_ns = self._stop_ns
        self._tracer = tracer
        self._watchdog = _Watchdog(self._engine, watchdog_timeout)

    # ---------------------------------------------------------------- data dir
    @property
    def data_dir(self) -> str:
        """Where the host keeps its files: captured output, strace logs, the files
        that stand in for /proc and /etc. One the host chooses (``data_dir=None``) is
        made when something first goes there or asks for it: a program that writes
        to the test's own descriptors and reads no rendered file needs none, and a
        directory made and removed costs a drop-in test ~0.3 ms on an idle ext4
        /tmp, milliseconds on a busy one."""
        return self._data_dir or self._make_data_dir()

    def _make_data_dir(self) -> str:
        with self._data_dir_lock:
            if self._data_dir is None:
                path = tempfile.mkdtemp(prefix=f"simproc-{self.hostname}-")
                if self._closed and not self._keep_data:
                    os.rmdir(path)  # asked after close: gone, as a used one is by then
                self._data_dir = path
            return self._data_dir

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

    @property
    def realtime_offset_ns(self) -> int:
        """How far the host's CLOCK_REALTIME was set away from its virtual time."""
        return self._engine.clock.realtime_offset_ns

    def step_realtime(self, delta_ns: int) -> None:
        """Move the host's CLOCK_REALTIME by ``delta_ns``, as a privileged program's
        clock_settime(2) does: absolute realtime timers and sleeps move with it, the
        monotonic clocks stay. The machine's clock is never touched."""
        self._check_open()
        if delta_ns:
            step_realtime(self._engine, int(delta_ns))

    # ---------------------------------------------------------------- spawning
    def spawn(self, argv, *, env=None, cwd=None, stdin=None, rlimits=None,
              expected_final_state=None, stdout=None, stderr=None,
              startup=False) -> SimProcess:
        """Start ``argv`` in the host (it runs when the host runs).

        startup: it runs once the clock shows its start-up (the CPU time of an exec,
        as for a program the host's processes exec), unless it is the host's first:
        drop-in mode's programs, which natively cost their test that time.

        stdout/stderr: None captures to ``{data_dir}/{hostname}.{exe}.{pid}.stdout``
        (``SimProcess.stdout``); a file descriptor or file object is used as is;
        ``stderr=subprocess.STDOUT`` sends stderr where stdout goes."""
        self._check_open()
        # Every argument is checked before a file or process is created.
        argv = _check_argv(argv)
        env = _check_env(env)
        cwd = _check_cwd(cwd)
        measured = measured_environment(env, lambda: self.data_dir, self._coverage_run)
        if measured is not None and self._coverage_file is None:
            self._coverage_file = measured
            self._engine.before_kill = flush_before_kill(self._engine)
        if expected_final_state is not None:
            expected_final_state = parse_final_state(expected_final_state)
        if rlimits is not None:
            rlimits = normalize_rlimits(rlimits)
        _check_stdin(stdin)
        _redirect((0, 1, 2), stdout, stderr)
        path = _resolve_program(argv[0], env.get("PATH", os.defpath), cwd)
        exe = os.path.basename(argv[0])
        captured = [kind for kind, spec in (("stdout", stdout), ("stderr", stderr))
                    if spec is None]
        fds, paths, close_after = open_stdio(lambda: self.data_dir, exe, stdin, captured)
        fds = _redirect(fds, stdout, stderr)
        try:
            try:
                proc = self._tracer.call(self._engine.spawn, path, argv, env, cwd, fds,
                                         rlimits, startup)
            except SpawnFailed as exc:
                raise SpawnError(f"cannot start {path}: {exc}") from None
        finally:
            for fd in close_after:
                os.close(fd)
        sp = SimProcess(self, proc, expected_final_state=expected_final_state)
        self._by_proc[id(proc)] = sp
        self._keep_output(sp, exe, paths)
        return sp

    def _keep_output(self, sp: SimProcess, exe: str, paths) -> None:
        """The captured stdout and stderr files (open_stdio's) take the process's name;
        it counts as spawned by the host's user."""
        final_paths = []
        for kind, tmp in zip(("stdout", "stderr"), paths):
            if tmp is None:  # not captured: it went where the caller said
                final_paths.append(None)
                continue
            final = os.path.join(self.data_dir, f"{self.hostname}.{exe}.{sp.pid}.{kind}")
            os.replace(tmp, final)
            final_paths.append(final)
        sp._stdout_path, sp._stderr_path = final_paths
        self._spawned.append(sp)

    def adopt(self, native: int, actions=None) -> SimProcess:
        """A process the test process forked, stopped by its own SIGSTOP, joins the host
        as one of its programs (drop-in mode, dropin/forking.py). ``actions``: its
        native signal dispositions, {signal: SigAction}."""
        self._check_open()
        try:
            proc = self._tracer.call(self._engine.adopt, native, actions or {})
        except SpawnFailed as exc:
            raise SpawnError(str(exc)) from None
        return self._wrap(proc)


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
        self._flush_coverage()
        for proc in engine.table.live():
            engine.kill(0, proc.pid, self.shutdown_signal)
        grace_end = engine.clock.now_ns + int(round(self.shutdown_grace * NSEC))
        engine.run(grace_end)
        self._flush_coverage()
        for proc in engine.table.live():
            engine.kill(0, proc.pid, _signal.SIGKILL)
        engine.run(engine.clock.now_ns)

    def _flush_coverage(self, pid=None) -> None:
        """On the tracer thread: measured processes (``pid``, or all) save their data."""
        if self._coverage_file is not None:
            flush(self._engine, [pid] if pid is not None else
                  [proc.pid for proc in self._engine.table.live()])

    def shutdown(self) -> None:
        """Send shutdown_signal to every process, then SIGKILL after shutdown_grace."""
        self._check_open()
        self._tracer.call(self._shutdown_on_tracer)

    # ---------------------------------------------------------------- extensions
    def emulate_syscalls(self, names, handler) -> None:
        """Trap the named system calls in processes spawned from now on and offer each
        call to ``handler(call)`` first (a ``SyscallCall``); it returns the program's
        result (an int, -errno for errors) or None to let the simulator answer."""
        from ..extension import SyscallCall
        from ..syscalls import syscall_number
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
        if self._coverage_file is not None and fatal_by_default(sig):
            self._tracer.call(self._flush_coverage, pid if pid > 0 else None)
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
        if proc is None or pid == 1 or self._engine.table.is_outsider(pid):
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
        its thread as ``strace -f -o`` does (with logging off, of the calls the host
        simulates: see ``SimProcess.strace``)."""
        log = self._engine.strace
        return log.merged_lines() if log is not None else []

    def _waited_usage(self, event):
        """The usage a wait for ``event`` (a kernel WaitEvent, or None) reports: the
        child's own and its waited-for children's (kernel/rusage.py), or None."""
        return self._engine.waited_usage(event)

    @property
    def unsupported_syscalls(self) -> list[dict]:
        return [{"name": name, "pid": pid, "count": count}
                for (name, pid), count in sorted(self._engine.unsupported.items())]

    def report(self) -> dict:
        engine = self._engine
        host = {
            "hostname": self.hostname, "seed": self.seed, "start_time": self.start_time,
            "stop_time": self.stop_time, "now": self.now, "network": self.network,
            "unsupported_syscalls": self.unsupported_syscalls,
            "refused": list(engine.refused),
            # spins cut by a real-time slice: the one nondeterministic count (README)
            "preemptions": engine.preemptions,
        }
        if self.chaos:
            host["chaos"] = True
        if self.inject:
            host["inject"] = list(self.inject)
            host["injected"] = list(engine.injections)
        return build_report(host, [self._wrap(p) for p in engine.table.processes()])

    def schedule_decisions(self) -> list[int]:
        """Under ``chaos=True``: the tid chosen at each scheduling point that had more
        than one candidate, in order (empty otherwise). Passed back as ``_replay``, a
        prefix of it makes those decisions again (the plugin's shrinking)."""
        return list(getattr(self._engine.sched, "decisions", ()))

    def schedule_explanations(self) -> list[tuple[str, list[str]]]:
        """With ``_explain=True``: for each decision, the call the chosen task was
        about to complete, and those of the tasks it ran before."""
        return list(getattr(self._engine.sched, "described", ()))

    def injections(self) -> list[dict]:
        """Every fault injected so far: pid, tid, syscall, invocation, rule."""
        return list(self._engine.injections)

    def report_json(self) -> str:
        return json.dumps(self.report(), indent=2, sort_keys=True) + "\n"

    def assert_no_zombies(self) -> None:
        """Fail, with the process tree and the parents' strace tails, if any process
        of the host is a zombie."""
        __tracebackhide__ = True
        from ..assertions import assert_no_zombies
        assert_no_zombies(self)

    # ---------------------------------------------------------------- teardown
    def close(self) -> None:
        """Kill whatever still runs, prove that no native process is left, clean up."""
        if self._closed:
            return
        self._closed = True
        engine = self._engine
        if self._coverage_file is not None:
            try:
                self._tracer.call(self._flush_coverage)
            except Exception:  # a host that failed cannot run: its data is what it saved
                pass
        self._watchdog.stop()
        engine.kill_everything()
        try:
            ended = self._tracer.call_idle(_end_quietly, engine, self._tracer)
            survivors, childless = ended or self._tracer.call(_end_on_tracer, engine)
        except BaseException:
            self._tracer.stop()
            raise
        if survivors or not childless:
            self._tracer.stop()  # PTRACE_O_EXITKILL: its tracees die with it
        else:
            self._tracer.recycle()
        if engine.strace is not None:
            self._closed_strace = engine.strace.kept(engine.table.processes())
        if self._coverage_file is not None:
            harvest(self.data_dir, self._coverage_file)
        if self._own_data_dir and not self._keep_data and self._data_dir is not None:
            for sp in self._spawned:
                for path in filter(None, (sp._stdout_path, sp._stderr_path)):
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
