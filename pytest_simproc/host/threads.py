"""The host's two threads: the tracer thread and the watchdog.

All ptrace work happens on one dedicated *tracer thread* per host: ptrace requests must
come from the thread that traces, and a thread of its own lets the tracer wait for its
tracees alone (``__WNOTHREAD``) without stealing exit statuses of the test's other
children. The watchdog thread watches the task that runs natively: after a slice of
real CPU time without a stop it asks the tracer to preempt it (engine/trap.py), and it
kills a program that runs for too long without a stop the host acts on, since nothing
in the host moves while it does.
"""
from __future__ import annotations

import _thread
import gc
import os
import queue
import signal as _signal
import sys
import threading
import time as _time
import weakref
from typing import TYPE_CHECKING

from . import usage
from ..syscalls import syscall_name
from ..trace.ptrace_ops import tgkill

if TYPE_CHECKING:
    from ..engine import Engine

_clock_gettime, _MONOTONIC = _time.clock_gettime, _time.CLOCK_MONOTONIC
# the real ones: a drop-in test's open and os.open read /proc as its host renders it
_os_open, _os_read, _os_close = os.open, os.read, os.close

# the threading.Thread objects of the threads below, every host's
HOST_THREADS: weakref.WeakSet = weakref.WeakSet()


def _monotonic() -> float:
    """CLOCK_MONOTONIC itself, as the tracer reads ``watch.since`` (engine/trap.py):
    in a drop-in test time.monotonic is freezegun's, frozen by a freeze_time of the
    test's own."""
    return _clock_gettime(_MONOTONIC)


class _Collections:
    """Python's collections wait while the tracer thread works. A collection runs the
    finalizers of whatever it frees in the thread whose allocation started it, and a
    test's finalizer may call into the host this thread runs (GitPython's
    ``Repo.__del__`` polls and ends its Popen): on this thread it waited for the
    session's lock, which the test's thread held while it waited for this thread.
    Re-enabled, the next allocation of a test's thread collects, there. A test that
    disabled collections itself meanwhile finds them enabled again (not handled)."""

    _lock = threading.Lock()
    _paused = 0

    @classmethod
    def pause(cls) -> bool:
        with cls._lock:
            if cls._paused == 0:
                if not gc.isenabled():  # the test's own gc.disable()
                    return False
                gc.disable()
            cls._paused += 1
            return True

    @classmethod
    def resume(cls, paused: bool) -> None:
        if paused:
            with cls._lock:
                cls._paused -= 1
                if cls._paused == 0:
                    gc.enable()

    @classmethod
    def _forget(cls) -> None:
        """A forked child has no tracer thread: collections as the parent had them."""
        cls._lock = threading.Lock()
        if cls._paused:
            cls._paused = 0
            gc.enable()


class _TracerThread:
    """Runs callables on the one thread allowed to make ptrace requests.

    A host that closed cleanly (every native process reaped) gives its thread back
    (``recycle``) and the next host of the process takes it (``take``): starting a
    thread costs a wake-up of the new thread, which a loaded machine makes slow. The
    thread keeps nothing of the host but its CPU pin, which the next host's engine
    sets again."""

    _idle: list = []
    _idle_lock = threading.Lock()

    def __init__(self, name: str):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        # held while a job runs: ``call_idle`` runs a job on its caller's thread when
        # the tracer has none (and starts none meanwhile)
        self._busy = _thread.allocate_lock()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        HOST_THREADS.add(self._thread)
        self._thread.start()

    @classmethod
    def take(cls, name: str) -> "_TracerThread":
        with cls._idle_lock:
            while cls._idle:
                tracer = cls._idle.pop()
                if tracer._thread.is_alive():
                    tracer._thread.name = name
                    return tracer
        return cls(name)

    def recycle(self) -> None:
        """The host is done and its tracees are reaped: keep the thread for another."""
        with self._idle_lock:
            self._idle.append(self)

    @classmethod
    def _forget_idle(cls) -> None:
        cls._idle = []  # a forked child has none of these threads
        cls._idle_lock = threading.Lock()

    def _main(self):
        usage.register()
        while True:
            job = self._queue.get()
            if job is None:
                usage.retire()
                return
            paused = _Collections.pause()
            with self._busy:
                try:
                    job.result = job.func(*job.args)
                except BaseException as exc:  # handed back to the caller
                    job.error = exc
                finally:
                    _Collections.resume(paused)
            job.done.release()

    def call(self, func, *args):
        if threading.current_thread() is self._thread:
            return func(*args)
        job = _Job(func, args)
        self._queue.put(job)
        job.done.acquire()
        if job.error is None:
            return job.result
        try:
            raise job.error
        finally:
            job = None  # the traceback would keep the job, and the job the error

    def call_idle(self, func, *args):
        """``call`` for work that needs no ptrace request, only the host's state kept
        still: on the caller's thread when the tracer runs no job (it starts none
        meanwhile), sparing the caller two hand-offs (a drop-in test's reap of its
        child); else as ``call``."""
        if threading.current_thread() is not self._thread and self._busy.acquire(False):
            # no collection meanwhile: a finalizer that calls into the host would find
            # the tracer busy and wait for it, which waits for this job (as in _main)
            paused = _Collections.pause()
            try:
                return func(*args)
            finally:
                _Collections.resume(paused)
                self._busy.release()
        return self.call(func, *args)

    def has_children(self) -> bool | None:
        """Whether the thread has a child, live or a zombie (proc(5)
        /proc/PID/task/TID/children), from any thread; None when the kernel does not
        say (built without CONFIG_PROC_CHILDREN)."""
        try:
            fd = _os_open(f"/proc/self/task/{self._thread.native_id}/children",
                          os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            return bool(_os_read(fd, 64).strip())
        except OSError:
            return None
        finally:
            _os_close(fd)

    def stop(self):
        self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=30)


class _Job:
    """One call handed to the tracer thread: ``done`` is released once it returned
    (``result``) or raised (``error``). A lock of its own, not a Future, whose
    condition and bookkeeping cost each of a host's calls tens of microseconds on
    both threads, four calls or more per drop-in test that starts a program."""

    __slots__ = ("func", "args", "done", "result", "error")

    def __init__(self, func, args):
        self.func, self.args = func, args
        self.done = _thread.allocate_lock()   # never the drop-in's lock (threadwait)
        self.done.acquire()
        self.result = self.error = None


class _Watchdog:
    """Asks for a task's preemption once it has run ``engine.preempt_after_ns`` of real
    CPU time without a stop; kills a task that has used ``timeout`` seconds of CPU
    without a stop, or slept natively for ``NATIVE_SLEEP_GRACE`` real seconds in a call
    the host does not gate. A preemption for a timer or CPU limit of the task's own
    process counts as a stop; one for something elsewhere in the host, or a SIGSTOP
    the tracer discarded because nothing was due, does not (engine/trap.py).

    CPU time, not real time: on a loaded machine a program starting up (an interpreter
    importing, natively, through calls the host does not see) gets a fraction of a CPU,
    and ten real seconds of that is no spin; a spin uses the CPU it is given.

    One thread per process looks at every open host's (_Watchers): a host's watchdog
    costs no thread start, and ``stop`` only waits for a look at this host to end."""

    # How often the running task's CPU time is looked at (real seconds).
    PREEMPT_POLL = 0.005
    # A task asleep in the real kernel (state S) cannot be woken by anything the host
    # runs, since nothing else runs: report it sooner than a spinning one.
    NATIVE_SLEEP_GRACE = 2.0
    # A task that neither sleeps nor uses its CPU (starved, or in an uninterruptible
    # wait) is reported after this many times ``timeout`` of real time.
    REAL_TIME_FACTOR = 10

    def __init__(self, engine: Engine, timeout: float):
        self._engine = engine
        self._timeout = timeout
        self._timeout_ns = int(timeout * 1e9)
        self._interval = min(0.5, timeout / 4)
        self._slice_key, self._slice_start = None, None
        # the spin being measured: its task and start (WatchdogState.since), the CPU it
        # used up to the last look and the CPU reading then, when that look was
        self._spin_key, self._spin_cpu, self._last_cpu, self._last_look = None, 0, 0, 0.0
        self._asleep = None   # (real time, CPU) of the first look of a sleep streak
        _Watchers.add(self)

    def _look(self) -> float:
        """One look at the running task; how long until the next (real seconds)."""
        engine = self._engine
        watch = engine.watch
        task, since, epoch = watch.task, watch.since, watch.epoch
        if task is None:
            return min(self._interval, 0.05)
        now, cpu = _monotonic(), _process_cpu_ns(task.tgid_native)
        if cpu is None:
            return self.PREEMPT_POLL   # gone: the tracer's wait reports its death
        if (task, since) != self._spin_key:
            # A new wait: the tracer carries a spin over a preemption by back-dating
            # ``since`` (before our last look); a fresh one starts after it.
            if self._spin_key is None or self._spin_key[0] is not task or since >= self._last_look:
                self._spin_cpu = 0
            self._spin_key, self._asleep = (task, since), None
            first_look = True
        else:
            self._spin_cpu += cpu - self._last_cpu
            first_look = False
        self._last_cpu, self._last_look = cpu, now
        if (task, epoch) != self._slice_key:
            self._slice_key, self._slice_start = (task, epoch), cpu
        elif watch.asked != epoch and cpu - self._slice_start >= engine.preempt_after_ns:
            watch.asked = epoch   # before the signal: the tracer checks it at the stop
            try:
                tgkill(task.tgid_native, task.native, _signal.SIGSTOP)
            except OSError:
                pass
        waited = now - since
        if self._spin_cpu >= self._timeout_ns or waited >= self.REAL_TIME_FACTOR * self._timeout:
            return self._fire(task, waited)
        if first_look:
            # The state is read from the second look at a wait on: the stop loop of a
            # busy host waits anew between almost every two looks, and the read
            # (proc(5) /proc/PID/stat) costs ~90 us of CPU, most of a look. A streak
            # still dates from this look: a thread asleep at the next one that used no
            # CPU since was asleep now (falling asleep takes CPU)
            self._asleep = (now, cpu)
            return self.PREEMPT_POLL
        if _native_state(task.native) != "S":
            self._asleep = None
        elif self._asleep is None or self._asleep[1] != cpu:
            self._asleep = (now, cpu)
        elif now - self._asleep[0] >= min(self._timeout, self.NATIVE_SLEEP_GRACE):
            return self._fire(task, waited)
        return self.PREEMPT_POLL

    def _fire(self, task, waited: float) -> float:
        if self._engine.watch.task is not task:
            return self.PREEMPT_POLL
        self._engine.watch.fired = _watchdog_message(task, waited, self._spin_cpu / 1e9)
        try:
            os.kill(task.tgid_native, _signal.SIGKILL)
        except ProcessLookupError:
            pass
        return self.PREEMPT_POLL

    def stop(self):
        _Watchers.remove(self)


class _Watchers:
    """The one thread that runs every open host's watchdog, started with the first."""

    _lock = threading.Lock()   # held while a host is looked at
    _members: list = []
    _wake = threading.Event()
    _thread = None
    # With no host open the thread looks again every IDLE_POLL seconds, for IDLE_PARK
    # seconds, then waits until a host is added (``_parked``): a host's first look
    # finds its engine idle and comes back in 0.05 s anyway, so a suite whose tests
    # each make a host does not wake the thread for each (a switch, and a look that
    # the host's close then waits for).
    IDLE_POLL = 0.05
    IDLE_PARK = 1.0
    _parked = False

    @classmethod
    def add(cls, watchdog: _Watchdog) -> None:
        with cls._lock:
            cls._members.append(watchdog)
            wake, cls._parked = cls._parked, False
            if cls._thread is None or not cls._thread.is_alive():
                cls._thread = threading.Thread(target=cls._main, name="simproc-watchdog",
                                               daemon=True)
                HOST_THREADS.add(cls._thread)
                cls._thread.start()
        if wake:
            cls._wake.set()

    @classmethod
    def remove(cls, watchdog: _Watchdog) -> None:
        with cls._lock:   # after this, nothing looks at its host again
            cls._members.remove(watchdog)

    @classmethod
    def _main(cls) -> None:
        usage.register()
        idle_since = None
        while True:
            delays = []
            with cls._lock:
                for member in list(cls._members):
                    try:
                        delays.append(member._look())
                    except Exception:  # that host loses its watchdog, the others not
                        cls._members.remove(member)
                        threading.excepthook(threading.ExceptHookArgs(
                            (*sys.exc_info(), threading.current_thread())))
                member = None   # a closed host's watchdog (and its last task) goes with it
                if delays:
                    idle_since, timeout = None, min(delays)
                else:
                    now = _monotonic()
                    if idle_since is None:
                        idle_since = now
                    timeout = cls.IDLE_POLL
                    if now - idle_since >= cls.IDLE_PARK:
                        cls._parked, timeout = True, None   # add() wakes it
            cls._wake.wait(timeout)
            cls._wake.clear()

    @classmethod
    def _forget(cls) -> None:
        """In a forked child: no thread, no hosts of the parent's."""
        cls._lock = threading.Lock()
        cls._members = []
        cls._wake = threading.Event()
        cls._thread = None
        cls._parked = False


def _after_fork_in_child() -> None:
    _TracerThread._forget_idle()
    _Watchers._forget()
    _Collections._forget()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _process_cpu_ns(tgid: int) -> int | None:
    """The CPU time a native process has used (clock_getcpuclockid(3): the clock id
    ~pid << 3 | CPUCLOCK_SCHED; any process's may be read), None once it is gone."""
    try:
        return _time.clock_gettime_ns((~tgid << 3) | 2)
    except OSError:
        return None


def _watchdog_message(task, waited: float, cpu: float) -> str:
    proc = task.proc
    last = syscall_name(task.last_syscall) if task.last_syscall is not None else "none"
    where = _native_activity(task.native)
    return (f"watchdog: process {proc.pid} ({' '.join(proc.argv)!s}) {where} for "
            f"{waited:.1f} s of real time ({cpu:.1f} s of CPU) without a system call the "
            f"host sees; its last "
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
    try:
        with open(f"/proc/{native}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return "ran"
    if fields and fields[0].lstrip("-").isdigit() and int(fields[0]) >= 0:
        return f"was blocked natively in {syscall_name(int(fields[0]))}()"
    return "spun in user code"
