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

import concurrent.futures
import os
import queue
import signal as _signal
import threading
import time as _time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..engine import Engine


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
    """Asks for a task's preemption once it has run ``engine.preempt_after_ns`` of real
    CPU time without a stop; kills a task that has run natively for ``timeout`` real
    seconds without a stop. A preemption for a timer or CPU limit of the task's own
    process counts as a stop; one for something elsewhere in the host, or a SIGSTOP
    the tracer discarded because nothing was due, does not (engine/trap.py)."""

    # How often the running task's CPU time is looked at (real seconds).
    PREEMPT_POLL = 0.005

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
        engine = self._engine
        watch = engine.watch
        slice_key, slice_start = None, None
        while not self._stop.wait(self.PREEMPT_POLL if watch.task is not None
                                  else min(interval, 0.05)):
            task, since, epoch = watch.task, watch.since, watch.epoch
            if task is None:
                continue
            if (task, epoch) != slice_key:
                slice_key, slice_start = (task, epoch), _process_cpu_ns(task.tgid_native)
            elif (watch.asked != epoch and slice_start is not None
                  and (_process_cpu_ns(task.tgid_native) or 0) - slice_start
                  >= engine.preempt_after_ns):
                watch.asked = epoch   # before the signal: the tracer checks it at the stop
                try:
                    _tgkill(task.tgid_native, task.native, _signal.SIGSTOP)
                except OSError:
                    pass
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


def _process_cpu_ns(tgid: int) -> int | None:
    """The CPU time a native process has used (clock_getcpuclockid(3): the clock id
    ~pid << 3 | CPUCLOCK_SCHED; any process's may be read), None once it is gone."""
    try:
        return _time.clock_gettime_ns((~tgid << 3) | 2)
    except OSError:
        return None


def _tgkill(tgid: int, tid: int, sig: int) -> None:
    from ..trace.ptrace_ops import tgkill
    tgkill(tgid, tid, sig)


def _watchdog_message(task, timeout: float) -> str:
    from ..syscalls import syscall_name
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
    from ..syscalls import syscall_name
    try:
        with open(f"/proc/{native}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return "ran"
    if fields and fields[0].lstrip("-").isdigit() and int(fields[0]) >= 0:
        return f"was blocked natively in {syscall_name(int(fields[0]))}()"
    return "spun in user code"
