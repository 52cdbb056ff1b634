"""The tracer side of a host: native tasks, their ptrace stops, and the simulated kernel.

Everything here runs on the host's tracer thread (ptrace requests must come from the
tracer). Data flows one way: a ptrace stop is decoded, a syscall handler asks the
kernel model, and the result is written back when the scheduler resumes the task.

Native children are waited for with ``waitpid(-1, __WALL | __WNOTHREAD)``: only the
tracer thread's own tracees report here, never children of the test's other threads.
"""
from __future__ import annotations

import errno
import os
import random
import select
import signal as _signal
import struct
import time as _time

from pidfd import PidFd, PidFdError
from ptrace.syscall.linux.i386 import SYSCALL_NAMES as I386_SYSCALL_NAMES

from .errors import WatchdogError
from .kernel import Exited, ProcessTable, Signaled, VirtualClock
from .kernel.errors import KernelError
from .kernel.rlimits import RLIM_INFINITY, RLIMIT_CORE, RLIMIT_CPU, RLIMIT_NOFILE
from .kernel.signals import default_action
from .kernel.clock import EventQueue
from .kernel.sigstate import siginfo_bytes
from .kernel.futex import FutexTable
from .kernel.timers import FdTimer, TimerTable
from .kernel.sigstate import SI_KERNEL, SI_TKILL, SignalDispositions, SA_NOCLDSTOP, SA_RESETHAND, \
    SA_RESTART, PendingSignals, kill_targets
from .procview import ProcView
from .scheduler import Scheduler
from .syscalls import (CONDITIONAL, HANDLERS, UNSUPPORTED, intercepted_numbers, syscall_name,
                       syscall_number)
from .syscalls.outcome import Block, Fork, Native, NativePark
from .syscalls.thread import futex_key
from .trace import ptrace_ops as pt
from .trace.execpatch import patch_auxv
from .trace.memory import TraceeMemory
from .trace.procstatus import status_sets
from .trace.seccomp import (AUDIT_ARCH_X86_64, FOREIGN_ABI_TAG, X32_SYSCALL_BIT,
                             PreparedFilter, build_filter)
from .trace.spawn import spawn_traced

SIGCHLD = _signal.SIGCHLD
SIGKILL = _signal.SIGKILL
SIGSTOP = _signal.SIGSTOP
SIGCONT = _signal.SIGCONT
STOP_SIGNALS = {_signal.SIGSTOP, _signal.SIGTSTP, _signal.SIGTTIN, _signal.SIGTTOU}
# Signals a thread raises against itself by faulting: they pass straight through.
SYNCHRONOUS_SIGNALS = {_signal.SIGSEGV, _signal.SIGBUS, _signal.SIGILL, _signal.SIGFPE,
                       _signal.SIGTRAP, _signal.SIGSYS, _signal.SIGPIPE, _signal.SIGXFSZ}
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 5, 6
SYS_SECCOMP = 1              # SIGSYS si_code
POLL_IN, POLL_HUP = 1, 6     # SIGIO si_codes (sigaction(2))
AUDIT_ARCH_I386 = 0x40000003
CLONE_VM = 0x100
CLONE_VFORK = 0x4000
CLONE_THREAD = 0x10000
CLONE_SETTLS = 0x80000
MASK64 = pt.MASK64
NSEC = 1_000_000_000
# The deterministic CPU model: a simulated system call costs this much CPU time by
# default (and nothing else does), so CPU clocks, ITIMER_VIRTUAL/PROF and RLIMIT_CPU
# depend only on what the program asked of the kernel.
CPU_NS_PER_SYSCALL = 1_000


class SyscallContext:
    """What a handler sees: the calling task, its raw arguments, the kernel."""

    __slots__ = ("engine", "task", "nr", "args", "regs")

    def __init__(self, engine, task, nr, args, regs):
        self.engine, self.task, self.nr, self.args, self.regs = engine, task, nr, args, regs

    @property
    def proc(self):
        return self.task.proc

    @property
    def table(self):
        return self.engine.table

    @property
    def mem(self):
        return self.task.mem

    @property
    def now_ns(self) -> int:
        return self.engine.clock.now_ns

    @property
    def name(self) -> str:
        return syscall_name(self.nr)


class Task:
    """One native thread under the tracer, and what it will do when resumed."""

    __slots__ = ("native", "tgid_native", "tid", "proc", "mem", "stop", "regs", "ctx",
                 "result", "native_call", "fork", "fork_child", "deliver_sig",
                 "block", "wake", "expect_stop", "gone", "exiting", "native_parked",
                 "awaiting_initial", "child_tid_ptr", "pending", "injected",
                 "restart_syscall", "last_syscall", "park_mask",
                 "strace_call", "strace_call_unfinished", "saved_regs", "clear_tid",
                 "saved_mem", "exits_alone", "first_regs")

    def __init__(self, native: int, proc, tgid_native: int | None = None):
        self.native = native
        self.tgid_native = tgid_native or native
        self.tid = proc.pid
        self.proc = proc
        self.mem = TraceeMemory(native)
        self.stop = None          # the kind of ptrace stop it sits in, None if running
        self.regs = None
        self.ctx = None
        self.result = None        # emulated return value to write at resume
        self.native_call = None   # Native outcome: let the kernel run the call
        self.fork = None          # Fork outcome in progress
        self.fork_child = None    # a vfork's child's virtual pid (or -errno), from its event
        self.deliver_sig = 0      # signal to pass at a signal-delivery-stop
        self.block = None         # (Block, ctx) while parked in an emulated call
        self.wake = None          # why a parked task became runnable
        self.expect_stop = False  # we wait for its next stop as a scheduling point
        self.gone = False
        self.exiting = False
        self.native_parked = False
        self.awaiting_initial = False
        self.child_tid_ptr = 0
        self.pending = PendingSignals()
        self.injected: list[tuple[int, bytes]] = []
        self.restart_syscall = False
        self.last_syscall = None
        self.park_mask = 0        # blocked set while natively parked (sigsuspend's)
        self.strace_call = None   # the strace log's record of the call in progress
        self.strace_call_unfinished = False
        self.saved_regs = None
        self.clear_tid = 0        # CLONE_CHILD_CLEARTID / set_tid_address word
        self.saved_mem = None     # (address, bytes) of the program's, put back at exit
        self.exits_alone = False  # called exit(2): only this thread ends
        self.first_regs = None    # a new child's registers to set at its first stop

    def __repr__(self):
        return f"<Task tid={self.tid} native={self.native} stop={self.stop}>"


class ProcInfo:
    """Host-side facts about a simulated process that the kernel model does not hold."""

    __slots__ = ("native", "dispositions", "exit_signal", "vfork_parent", "tasks",
                 "cpu_ns", "children_cpu_ns", "xcpu_next_ns")

    def __init__(self, native, dispositions, exit_signal=SIGCHLD):
        self.native = native
        self.dispositions = dispositions
        self.exit_signal = exit_signal
        self.vfork_parent = None
        self.tasks: list[Task] = []
        self.cpu_ns = 0
        self.children_cpu_ns = 0   # CPU of children it waited for (RUSAGE_CHILDREN)
        self.xcpu_next_ns = 0      # RLIMIT_CPU: when the next SIGXCPU is due


class SignalFd:
    """A signalfd: its mask, and the host's duplicate of the eventfd standing in for
    it (made readable while a signal of the mask is pending)."""

    __slots__ = ("mask", "dup", "readable")

    def __init__(self, mask: int, dup: int):
        self.mask, self.dup, self.readable = mask, dup, False

    def nonblocking(self) -> bool:
        import fcntl
        return bool(fcntl.fcntl(self.dup, fcntl.F_GETFL) & os.O_NONBLOCK)

    def set_readable(self, flag: bool) -> None:
        if flag and not self.readable:
            os.write(self.dup, (1).to_bytes(8, "little"))
        elif not flag and self.readable:
            poller = select.poll()
            poller.register(self.dup, select.POLLIN)
            if poller.poll(0):  # never blocks: it is readable
                os.read(self.dup, 8)
        self.readable = flag


class WatchdogState:
    """Shared with the watchdog thread: which task runs natively, since when."""

    __slots__ = ("task", "since", "fired")

    def __init__(self):
        self.task = None
        self.since = 0.0
        self.fired = None


class Engine:
    def __init__(self, *, hostname: str, start_time_ns: int, seed: int, data_dir: str,
                 rlimits=None, cpu_ns_per_syscall: int = CPU_NS_PER_SYSCALL,
                 strace: str = "off"):
        self.hostname = hostname
        self.cpu_ns_per_syscall = cpu_ns_per_syscall
        self.data_dir = data_dir
        self.table = ProcessTable(rlimits=rlimits)
        self.procview = ProcView(self)   # /proc as the host's programs see it
        self.clock = VirtualClock(start_time_ns)
        self.start_time_ns = start_time_ns
        self.sched = Scheduler(seed)
        self.events = EventQueue()
        self.timers = TimerTable(self.clock, self.events,
                                 lambda pid, _tid, sig, info: self._post_signal(pid, sig, info),
                                 lambda pid: self.info[pid].cpu_ns)
        self._rng = random.Random(f"simproc:{seed}:{hostname}")
        self._random_files = 0
        self.tasks: dict[int, Task] = {}      # native tid -> task
        self.info: dict[int, ProcInfo] = {}    # virtual pid -> facts (latest process)
        self._stash: dict[int, list[int]] = {}  # statuses of natives not known yet
        self._native_unreaped: set[int] = set()
        self._pidfds: dict[int, int] = {}
        self.alive = 0
        self.unsupported: dict[tuple[str, int], int] = {}
        self.refused: list[dict] = []
        self.external_signals: list[dict] = []
        self.watch = WatchdogState()
        self._unsupported = frozenset(syscall_number(n) for n in UNSUPPORTED)
        # the calls that cost CPU in the model: the simulated ones, whether or not the
        # strace log traps every other call too
        self._simulated = intercepted_numbers()
        if strace == "off":
            self.strace = None
            self._filter = PreparedFilter(build_filter(intercepted_numbers(), CONDITIONAL))
        else:
            from .strace import StraceLog
            self.strace = StraceLog(mode=strace, directory=data_dir, hostname=hostname,
                                    start_ns=start_time_ns)
            # every call is logged, so every call stops the tracee
            self._filter = PreparedFilter(build_filter(None))
        self._cpu = _pick_cpu()
        if self._cpu is not None:
            # The tracer thread (this one) shares the tracees' CPU: see _pick_cpu.
            os.sched_setaffinity(0, {self._cpu})
        self.exit_observers: list = []
        self._io_waiters: dict[Task, Block] = {}   # parked on descriptors, in order
        self.futexes = FutexTable()
        self.extra_handlers: dict[int, object] = {}   # users' hooks, by syscall number
        self.timerfds: dict[tuple[int, int], object] = {}   # (pid, fd) -> FdTimer
        self.signalfds: dict[tuple[int, int], SignalFd] = {}
        self.pidfds: dict[tuple[int, int], int] = {}   # (pid, fd) -> virtual pid it names
        self._fd_dups: list[int] = []  # the host's duplicates of timerfds and signalfds
        self.tasks_by_tid: dict[int, Task] = {}
        self._dying: set[Task] = set()             # retired, native death not seen yet
        # ids of the Process records still alive at stop_time: their final state is Running
        self.running_at_stop: set[int] = set()

    # ------------------------------------------------------------------ helpers
    def random_bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)

    def random_device_file(self) -> str:
        """A fresh file of seeded bytes standing in for /dev/urandom."""
        self._random_files += 1
        path = os.path.join(self.data_dir, f".urandom.{self._random_files}")
        with open(path, "wb") as f:
            f.write(self.random_bytes(65536))
        return path

    def cpu_time_ns(self, task: Task) -> int:
        return self.info[task.proc.pid].cpu_ns

    def uptime_ns(self) -> int:
        return self.clock.now_ns - self.start_time_ns

    def dispositions(self, pid: int) -> SignalDispositions:
        return self.info[pid].dispositions

    def native_pid_of(self, pid: int) -> int | None:
        proc = self.table.get(pid)
        if proc is None or pid == 1 or proc.state in ("zombie", "reaped"):
            return None
        return self.info[pid].native

    def refuse(self, ctx, message: str) -> None:
        self.refused.append({"pid": ctx.proc.pid, "syscall": ctx.name, "message": message})

    def child_event_consumed(self, waiter: int, event) -> None:
        """A wait in the program consumed a child event: a reaped child's CPU time now
        counts as the waiter's children's (getrusage(2) RUSAGE_CHILDREN)."""
        if event.kind in ("exited", "killed", "dumped"):
            self.info[waiter].children_cpu_ns += self.waited_cpu_ns(event)

    def waited_cpu_ns(self, event) -> int:
        info = self.info.get(event.pid)
        return info.cpu_ns + info.children_cpu_ns if info is not None else 0

    def children_cpu_ns(self, pid: int) -> int:
        return self.info[pid].children_cpu_ns

    def _check_cpu_limit(self, proc, info) -> None:
        """RLIMIT_CPU in virtual CPU time: SIGXCPU at the soft limit and every second
        after, SIGKILL at the hard limit (getrlimit(2))."""
        soft, hard = proc.rlimits[RLIMIT_CPU]
        if soft >= RLIM_INFINITY and hard >= RLIM_INFINITY:
            return
        cpu = info.cpu_ns
        if cpu >= hard * NSEC:
            self._post_signal(proc.pid, SIGKILL, _kill_info(SIGKILL, SI_KERNEL, 0))
        elif cpu >= soft * NSEC and cpu >= info.xcpu_next_ns:
            info.xcpu_next_ns = (cpu // NSEC + 1) * NSEC
            self._post_signal(proc.pid, _signal.SIGXCPU,
                              _kill_info(_signal.SIGXCPU, SI_KERNEL, 0))

    # ------------------------------------------------------------------ spawn
    def spawn(self, path, argv, env, cwd, fds, rlimits=None) -> object:
        limits = dict(self.table.default_rlimits)
        limits.update(rlimits or {})
        native_limits = {RLIMIT_NOFILE: limits[RLIMIT_NOFILE], RLIMIT_CORE: (0, 0)}
        proc = self.table.spawn(list(argv), os.path.basename(argv[0]), self.clock.now_ns,
                                rlimits=rlimits)
        execve_call = []
        if self.strace is not None:
            self.strace.process_started(proc.pid, proc.exe)

            def on_execve(native):
                regs = pt.getregs(native)
                mem = TraceeMemory(native)
                try:
                    execve_call.append(self.strace.syscall_entry(
                        proc.pid, regs.orig_rax, _args(regs), mem, self.clock.now_ns))
                finally:
                    mem.close()
        else:
            on_execve = None
        try:
            native = spawn_traced(path, argv, env, cwd, fds, self._filter, self._cpu,
                                  native_limits, on_execve)
        except BaseException:
            self.table.forget_spawn(proc.pid)
            raise
        info = ProcInfo(native, SignalDispositions())
        self.info[proc.pid] = info
        task = self._add_task(native, proc, info)
        task.stop = "event"  # at its exec event
        self._on_exec(task)
        if execve_call:
            self.strace.syscall_exit(execve_call[0], 0, task.mem, self.clock.now_ns)
        self.sched.add(task)
        return proc

    def add_extra_handlers(self, handlers: dict) -> None:
        """Trap these syscall numbers too and offer them to ``handler(ctx)`` first;
        programs spawned from now on get the larger filter."""
        self.extra_handlers.update(handlers)
        self._simulated = intercepted_numbers() | frozenset(self.extra_handlers)
        if self.strace is None:
            self._filter = PreparedFilter(build_filter(
                intercepted_numbers() | frozenset(self.extra_handlers), CONDITIONAL))

    # ------------------------------------------------------------------ fd objects
    def timerfd_created(self, task: Task, fd: int, clock_id: int) -> None:
        dup = self.dup_tracee_fd(task, fd)
        self._fd_dups.append(dup)
        self.timerfds[(task.proc.pid, fd)] = FdTimer(
            clock_id, lambda count: os.write(dup, count.to_bytes(8, "little")))

    def signalfd_created(self, task: Task, fd: int, mask: int) -> None:
        dup = self.dup_tracee_fd(task, fd)
        self._fd_dups.append(dup)
        self.signalfds[(task.proc.pid, fd)] = SignalFd(mask, dup)
        self.signalfd_update(task.proc.pid)

    def signalfd_update(self, pid: int) -> None:
        """A signalfd polls readable exactly while a signal of its mask is pending."""
        info = self.info.get(pid)
        if info is None:
            return
        pending = 0
        for task in info.tasks:
            if not task.exiting:
                pending |= task.pending.mask()
        for (owner, _fd), sfd in self.signalfds.items():
            if owner == pid:
                sfd.set_readable(bool(pending & sfd.mask))

    def _inherit_fd_objects(self, parent: int, child: int) -> None:
        """fork(2): the child's descriptors are the parent's."""
        for table in (self.timerfds, self.signalfds, self.pidfds):
            for (owner, fd), obj in list(table.items()):
                if owner == parent:
                    table[(child, fd)] = obj

    def futex_woken(self, task: Task) -> None:
        """A FUTEX_WAKE picked this parked waiter: its wait returns 0."""
        if task.block is None:
            return
        self._end_block(task)
        self.sched.unpark(task)
        self.sched.add(task)
        self._complete(task, 0)

    def _add_task(self, native: int, proc, info: ProcInfo) -> Task:
        task = Task(native, proc, info.native)
        self.tasks[native] = task
        self.tasks_by_tid[task.tid] = task
        info.tasks.append(task)
        self.alive += 1
        return task

    def _pidfd(self, native: int):
        """The process's pidfd, opened on first use (pidfd_getfd, the survivors check)
        rather than at its birth: ~5 us a process. Safe because its pid cannot name
        another process until the tracer, its parent, reaps it, and the tracer drops
        the pidfd when it does (_release_native). None when it is gone."""
        pidfd = self._pidfds.get(native)
        if pidfd is None:
            try:
                # os.pidfd_open: a C call, where PidFd.open goes through ctypes (~4 us)
                pidfd = self._pidfds[native] = PidFd(os.pidfd_open(native))
            except (OSError, PidFdError):
                return None
        return pidfd

    # ------------------------------------------------------------------ running
    def run(self, until_ns: int, predicate=None) -> str:
        """Run until ``predicate()`` holds, every process ended, or virtual time would
        pass ``until_ns``. Returns "predicate", "exited" or "time"."""
        eligible = _not_stopped
        while True:
            if self._dying:
                self._collect_dying()
            if predicate is not None and predicate():
                return "predicate"
            if self.alive == 0:
                return "exited"
            self._fire_due_timers()
            task = self.sched.pick(eligible)
            if task is None:
                # Events of tasks nobody waits for (a parked process killed from outside)
                # enter here, when nothing else can run.
                self._take_pending_events()
                self._await_native_wakeups()
                task = self.sched.pick(eligible)
            if task is None and self._io_waiters:
                self._recheck_io()
                task = self.sched.pick(eligible)
            if task is None:
                deadline = _earliest(self.sched.next_deadline(), self.events.next_time())
                if deadline is None or deadline > until_ns:
                    if until_ns > self.clock.now_ns:
                        self.clock.advance_to(until_ns)
                    return "time"
                if deadline > self.clock.now_ns:
                    self.clock.advance_to(deadline)
                self._fire_due_timers()
                for woken in self.sched.expire(self.clock.now_ns):
                    woken.wake = "timeout"
                continue
            self._step(task)

    def _take_pending_events(self) -> None:
        while True:
            native, status = pt.poll_any()
            if native == 0:
                return
            self._dispatch(native, status)
            if self._dying:
                self._collect_dying()

    def _await_native_wakeups(self) -> None:
        """A task parked natively (pause, sigsuspend) for which the real kernel already
        queued a signal it does not block (the SIGIO of a write made in the host, a
        signal from outside) stops as soon as the machine runs it: wait for that stop
        now, before virtual time moves on, so that the wake-up does not depend on how
        fast the machine schedules it. Queued at the write, the signal is seen here
        whatever the timing (proc(5) SigPnd, ShdPnd)."""
        for task in [t for t in self.tasks.values() if t.native_parked]:
            while (task.native_parked and not task.expect_stop and not task.gone
                   and _natively_pending(task) & ~task.park_mask):
                native, status = pt.wait_task(task.native)
                self._dispatch(native, status)

    def _fire_due_timers(self) -> None:
        events = self.events
        if events and events.next_time() <= self.clock.now_ns:
            for payload in events.pop_due(self.clock.now_ns):
                self.timers.run_event(payload)

    def _end_block(self, task: Task):
        """The task's parked call stops waiting (woken, timed out, interrupted, or its
        process ended): release what it holds; returns (block, ctx)."""
        block, ctx = task.block
        task.block = None
        self._io_waiters.pop(task, None)
        if block.cleanup is not None:
            block.cleanup()
        return block, ctx

    def _recheck_io(self) -> None:
        """Tasks parked on descriptors whose state changed become runnable. Called only
        at deterministic points: when nothing else can run."""
        if not self._io_waiters:
            return
        self._collect_dying()  # an exiting process's descriptors must be closed first
        poller = select.poll()
        owners: dict[int, list] = {}
        ready = set()
        for task, block in self._io_waiters.items():
            for fd, events in block.io:
                poller.register(fd, events)
                owners.setdefault(fd, []).append(task)
            if block.ready is not None and block.ready():
                ready.add(task)
        ready.update(task for fd, _ in poller.poll(0) for task in owners.get(fd, ()))
        for task in list(self._io_waiters):  # in parking order: deterministic
            if task in ready:
                self.sched.unpark(task)
                self.sched.add(task)
                task.wake = "retry"

    def _collect_dying(self) -> None:
        while self._dying:
            native, status = pt.wait_any()
            self._dispatch(native, status)

    def dup_tracee_fd(self, task: Task, fd: int) -> int:
        """A duplicate of the task's descriptor ``fd`` (pidfd_getfd(2)); it shares the
        open file description: the host only polls it, never reads from it."""
        pidfd = self._pidfd(task.tgid_native)
        if pidfd is None or fd < 0:
            raise OSError(errno.EBADF, "no such descriptor")
        try:
            return pidfd.getfd(fd)
        except PidFdError as exc:
            raise OSError(getattr(exc, "errno", errno.EBADF) or errno.EBADF, str(exc)) from None

    def _step(self, task: Task) -> None:
        if task.block is not None:
            block, ctx = self._end_block(task)
            wake, task.wake = task.wake, None
            if wake == "timeout":
                outcome = block.on_timeout(ctx) if block.on_timeout else 0
            else:
                outcome = self._call(block.retry, ctx)
            self._apply(task, ctx, outcome)
            if task.block is not None:
                return
        if task.stop is None:
            task.expect_stop = True
            self._await(task)
            if task.stop is None:
                return
        self._resume(task)
        self._await(task)

    def _await(self, task: Task) -> None:
        watch = self.watch
        watch.task, watch.since = task, _time.monotonic()
        # A single-threaded process's next event is its own; a thread group's may come
        # from any of its threads (exit_group, a leader's delayed death).
        alone = len(self.info[task.proc.pid].tasks) == 1
        try:
            while task.stop is None and task.expect_stop and not task.gone:
                native, status = pt.wait_task(task.native) if alone else pt.wait_any()
                self._dispatch(native, status)
        finally:
            watch.task = None
        if watch.fired is not None:
            message, watch.fired = watch.fired, None
            raise WatchdogError(message)

    def _resume(self, task: Task) -> None:
        if task.pending:
            self._deliver_pending(task)
            if task.gone or task.exiting or task.proc.state != "running":
                return
            if task.block is not None:  # delivery decided the parked call's result
                return
        kind, task.stop = task.stop, None
        native = task.native
        if kind == "seccomp":
            regs = task.regs
            if task.result is not None:
                regs.orig_rax = MASK64
                if task.restart_syscall:
                    # re-execute the call after the handler: rip back over `syscall`
                    task.restart_syscall = False
                    regs.rip -= 2
                    regs.rax = task.ctx.nr
                else:
                    regs.rax = task.result & MASK64
                task.result = None
                pt.setregs(native, regs)
                pt.cont(native)
            elif task.fork is not None:
                _rewrite_for_native(task, regs, task.fork.regs, task.fork.patch)
                pt.syscall(native)
            else:
                call, task.native_call = task.native_call, None
                if call.regs or call.patch:
                    _rewrite_for_native(task, regs, call.regs, call.patch)
                    if call.on_exit is None:
                        call.on_exit = _unchanged
                if call.on_exit is not None:
                    task.native_call = call  # keep on_exit for the exit stop
                    pt.syscall(native)
                elif isinstance(call, _ParkNative):
                    task.park_mask = call.mask if call.mask is not None else _blocked_mask(task)
                    pt.cont(native)
                    task.native_parked = True
                    task.expect_stop = False
                    self.sched.park(task, keys=(("native-park", task.tid),))
                    if task.pending:  # e.g. sigsuspend unblocks a pending signal
                        self._deliver_pending(task)
                    return
                else:
                    pt.cont(native)
        elif kind == "signal":
            sig, task.deliver_sig = task.deliver_sig, 0
            pt.cont(native, sig)
        elif kind == "sysexit" and task.result is not None:
            regs = task.regs  # a call that waited at its exit stop: its result now
            regs.rax = task.result & MASK64
            task.result = None
            # -ERESTARTSYS at an exit stop: the kernel itself restarts the call after
            # the handler (the call really ran, unlike a skipped one)
            task.restart_syscall = False
            pt.setregs(native, regs)
            pt.cont(native)
        else:
            pt.cont(native)
        task.expect_stop = True

    # ------------------------------------------------------------------ events
    def _dispatch(self, native: int, status: int) -> None:
        task = self.tasks.get(native)
        if task is None:
            self._stash.setdefault(native, []).append(status)
            return
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            self._on_native_death(task, status)
            return
        sig = os.WSTOPSIG(status)
        if sig == (_signal.SIGTRAP | 0x80):
            self._on_sysexit(task)
            return
        event = status >> 16
        if sig == _signal.SIGTRAP and event:
            if event == pt.EVENT_SECCOMP:
                self._on_seccomp(task)
            elif event == pt.EVENT_VFORK:
                self._on_vfork(task)
            elif event == pt.EVENT_EXEC:
                task.stop = "event"
                self._on_exec(task)
            else:
                pt.cont(native)
            return
        self._on_signal_stop(task, sig)

    def _on_seccomp(self, task: Task) -> None:
        if task.native_parked:
            # pause()/sigsuspend() restarted by the kernel after a signal we suppressed
            # (a real SIGCHLD): it goes straight back to sleep, still parked.
            pt.cont(task.native)
            return
        regs = pt.getregs(task.native)
        task.regs = regs
        nr = regs.orig_rax
        task.stop = "seccomp"
        pid = task.proc.pid
        info = self.info[pid]
        if nr in self._simulated:
            info.cpu_ns += self.cpu_ns_per_syscall
            self.timers.cpu_advanced(pid)
            self._check_cpu_limit(task.proc, info)
        args = _args(regs)
        ctx = SyscallContext(self, task, nr, args, regs)
        task.ctx = ctx
        task.last_syscall = nr
        if self.strace is not None:
            task.strace_call = self.strace.syscall_entry(task.tid, nr, args, task.mem,
                                                         self.clock.now_ns, sp=regs.rsp)
        handler = HANDLERS.get(nr)
        extra = self.extra_handlers.get(nr) if self.extra_handlers else None
        outcome = None
        if extra is not None:
            outcome = extra(ctx)  # a user's hook: an int, or None to pass
        if outcome is not None:
            outcome = int(outcome)
        elif handler is not None:
            outcome = self._call(handler, ctx, *args)
        elif nr in self._unsupported:
            self._count_unsupported(syscall_name(nr), pid)
            outcome = -errno.ENOSYS
        else:
            outcome = Native()  # only trapped because strace logging wants to see it
        if task.strace_call is not None and isinstance(outcome, Native):
            if nr in _NO_RETURN:
                self.strace.syscall_noreturn(task.strace_call, self.clock.now_ns)
                task.strace_call = None
            elif outcome.on_exit is None:
                outcome.on_exit = _unchanged  # the log needs the native result
        self._apply(task, ctx, outcome)
        if nr == SYS_EXIT and task.exits_alone and isinstance(outcome, Native):
            self._exit_one_thread(task, args[0])

    def _count_unsupported(self, name: str, pid: int) -> None:
        key = (name, pid)
        self.unsupported[key] = self.unsupported.get(key, 0) + 1

    def _refuse_foreign_call(self, task: Task, info: bytes) -> None:
        """A call through another ABI (seccomp.build_filter): it did not run, and
        returns -ENOSYS (SECCOMP_RET_TRAP leaves the number in rax, for a handler to
        see); the host counts it as unsupported, under a name saying so."""
        regs = pt.getregs(task.native)
        regs.rax = -errno.ENOSYS & MASK64
        pt.setregs(task.native, regs)
        nr, arch = struct.unpack_from("<iI", info, 24)  # siginfo _sigsys: si_syscall, si_arch
        if arch == AUDIT_ARCH_X86_64:
            name = f"x32 syscall {nr & ~X32_SYSCALL_BIT}"
        elif arch == AUDIT_ARCH_I386:
            name = f"i386 {I386_SYSCALL_NAMES.get(nr, f'syscall {nr}')}"
        else:
            name = f"syscall {nr} of audit arch {arch:#x}"
        self._count_unsupported(name, task.proc.pid)

    def _exit_one_thread(self, task: Task, status: int) -> None:
        """exit(2) while other threads of the process live: the thread ends in the model
        now, and natively as it resumes. A thread group leader's native death is only
        reported once the whole group has ended (wait(2)), so nothing waits for it."""
        others = [t for t in self.info[task.proc.pid].tasks if t is not task and not t.exiting]
        if not others or task.proc.state not in ("running", "stopped"):
            return  # the process ends with it, at its native death
        self._thread_exited(task, Exited(status & 0xFF))
        if task.native == task.tgid_native:
            self._dying.discard(task)
        task.stop = None
        task.native_call = None
        pt.cont(task.native)

    @staticmethod
    def _call(func, ctx, *args):
        try:
            return func(ctx, *args)
        except KernelError as exc:
            return -exc.errno
        except OSError as exc:  # the program passed a bad pointer
            if exc.errno in (errno.EFAULT, errno.EIO):
                return -errno.EFAULT
            raise

    def _apply(self, task: Task, ctx, outcome) -> None:
        if isinstance(outcome, int):
            self._complete(task, outcome)
        elif isinstance(outcome, Native):
            task.native_call = outcome
        elif isinstance(outcome, Block):
            task.block = (outcome, ctx)
            self.sched.park(task, outcome.keys, outcome.deadline_ns)
            if outcome.io or outcome.ready is not None:
                self._io_waiters[task] = outcome
            if task.strace_call is not None and not task.strace_call_unfinished:
                task.strace_call_unfinished = True
                self.strace.syscall_unfinished(task.strace_call, self.clock.now_ns)
        elif isinstance(outcome, Fork):
            task.fork = outcome
        elif isinstance(outcome, NativePark):
            task.native_call = _ParkNative(mask=outcome.mask)
        else:
            raise TypeError(f"handler for {ctx.name} returned {outcome!r}")

    def _complete(self, task: Task, result: int) -> None:
        """An emulated call has its result: it is written back at the next resume."""
        task.result = result
        self._log_exit(task, result)

    def _log_exit(self, task: Task, result: int) -> None:
        call = task.strace_call
        if call is not None:
            task.strace_call = None
            task.strace_call_unfinished = False
            self.strace.syscall_exit(call, result, task.mem, self.clock.now_ns)

    def _on_sysexit(self, task: Task) -> None:
        regs = pt.getregs(task.native)
        result = pt.to_signed(regs.rax)
        value = result
        if task.fork is not None:
            fork, task.fork = task.fork, None
            if result > 0:
                # the native child's pid: the child is known from here on, by its
                # virtual pid (a vfork's child already is, since its vfork event)
                value = (task.fork_child if task.fork_child is not None
                         else self._adopt_child(task, result, fork))
                if fork.parent_tid_ptr and value > 0:
                    task.mem.write_i32(fork.parent_tid_ptr, value)
            task.fork_child = None
        elif task.native_call is not None:
            call, task.native_call = task.native_call, None
            value = call.on_exit(task.ctx, result)
        saved = _put_back(task, regs)
        task.stop = "sysexit"
        if isinstance(value, Block):
            # The native part is done but the call must still wait (a connect in
            # progress): park at the exit stop; the result goes into rax at resume.
            task.regs = regs
            if saved:
                pt.setregs(task.native, regs)
            self._apply(task, task.ctx, value)
            return
        if value != result or saved:
            regs.rax = value & MASK64
            pt.setregs(task.native, regs)
        self._log_exit(task, value)

    def _on_vfork(self, task: Task) -> None:
        """PTRACE_EVENT_VFORK: vfork(2)'s parent sleeps natively until the child execs or
        exits, and its exit stop comes only then: the child is adopted now."""
        fork = task.fork
        vpid = task.fork_child = self._adopt_child(task, pt.geteventmsg(task.native), fork)
        pt.syscall(task.native)  # on to the syscall-exit stop, to write the virtual pid
        if vpid > 0 and not fork.flags & CLONE_THREAD:
            self.info[vpid].vfork_parent = task
            task.expect_stop = False
            self.sched.park(task, keys=(("vfork", vpid),))

    def _adopt_child(self, task: Task, child_native: int, fork) -> int:
        """The native clone made ``child_native`` (traced through CLONE_PTRACE, stopped
        or about to stop with its SIGSTOP): enter it into the model. Returns its virtual
        pid (tid for a thread), or -errno when the model refuses it, which then kills it."""
        if fork.flags & CLONE_THREAD:
            return self._adopt_thread(task, child_native, fork)
        parent = task.proc
        try:
            child = self.table.fork(parent.pid, self.clock.now_ns)
        except KernelError as exc:
            # The model refuses (no free pid): undo the native fork, fail the call.
            os.kill(child_native, SIGKILL)
            self._stash.pop(child_native, None)
            self._native_unreaped.add(child_native)
            return -exc.errno
        parent_info = self.info[parent.pid]
        info = ProcInfo(child_native, parent_info.dispositions.copy(), fork.exit_signal)
        self.info[child.pid] = info
        if self.timerfds or self.signalfds or self.pidfds:
            self._inherit_fd_objects(parent.pid, child.pid)
        child_task = self._add_task(child_native, child, info)
        if self.strace is not None:
            self.strace.process_started(child.pid, child.exe)
        child_task.child_tid_ptr = fork.child_tid_ptr
        child_task.clear_tid = fork.clear_tid_ptr  # its only thread's, as for a thread
        # The child starts with the parent's registers and (without CLONE_VM) a copy of
        # its memory, rewritten for the native clone: put the program's back at its
        # first stop.
        self._await_first_stop(task, child_task, fork, copies_memory=not fork.flags & CLONE_VM)
        return child.pid

    def _adopt_thread(self, task: Task, native: int, fork) -> int:
        """clone(CLONE_THREAD): a new task in the same process, with a tid from the
        shared pid counter (clone(2))."""
        proc = task.proc
        info = self.info[proc.pid]
        thread = Task(native, proc, info.native)
        thread.tid = self.table.allocate_tid()
        thread.child_tid_ptr = fork.child_tid_ptr
        thread.clear_tid = fork.clear_tid_ptr
        self.tasks[native] = thread
        self.tasks_by_tid[thread.tid] = thread
        info.tasks.append(thread)
        if self.strace is not None:
            self.strace.thread_started(thread.tid, proc.pid)
        self.alive += 1
        self._await_first_stop(task, thread, fork, copies_memory=False)
        return thread.tid

    def _await_first_stop(self, parent: Task, child: Task, fork, copies_memory: bool) -> None:
        child.awaiting_initial = True
        if parent.saved_regs:
            if fork.stack or fork.flags & CLONE_SETTLS:
                child.saved_regs = dict(parent.saved_regs)  # put back into its own
            else:
                # clone(2) without a new stack or TLS: the child's registers are its
                # parent's at the call, with 0 in rax; set without reading them.
                regs = pt.copy_regs(parent.regs)
                for name, original in parent.saved_regs.items():
                    setattr(regs, name, original)
                regs.rax = 0
                child.first_regs = regs
        if parent.saved_mem is not None and copies_memory:
            child.saved_mem = parent.saved_mem
        child.expect_stop = True
        self.sched.add(child)
        for status in self._stash.pop(child.native, ()):
            self._dispatch(child.native, status)

    def _thread_exited(self, task: Task, state) -> None:
        """One thread of a process that goes on ends (exit(2), not exit_group(2)):
        CLONE_CHILD_CLEARTID clears the tid word and wakes one futex waiter on it
        (set_tid_address(2)), which is how pthread_join learns of it."""
        if self.strace is not None and task.tid != task.proc.pid:
            # strace reports the main thread's end only with its process's (a thread
            # group leader's exit is reported last, wait(2) "delay_group_leader")
            self._log_task_end(task, state)
        if task.clear_tid:
            try:
                task.mem.write(task.clear_tid, b"\0\0\0\0")
            except OSError:
                pass
            # set_tid_address(2): futex(clear_child_tid, FUTEX_WAKE, 1, ...), without
            # FUTEX_PRIVATE_FLAG (glibc's pthread_join waits with a shared op too).
            key = futex_key(task, task.clear_tid, private=False)
            for waiter in self.futexes.wake(key, 1):
                self.futex_woken(waiter)
        if task.tid != task.proc.pid:
            self.table.release_tid(task.tid)
        self._retire(task)

    def _release_vfork_parent(self, pid: int) -> None:
        info = self.info.get(pid)
        if info is not None and info.vfork_parent is not None:
            info.vfork_parent = None
            for woken in self.sched.notify(("vfork", pid)):
                woken.expect_stop = True

    def _on_exec(self, task: Task) -> None:
        task.mem.reopen()
        # a translated execve's path and registers were the old program's: no exit
        # stop comes (resumed with PTRACE_CONT) and nothing is put back
        task.native_call = task.saved_regs = task.saved_mem = None
        regs = pt.getregs(task.native)
        patch_auxv(task.mem, regs.rsp, self.random_bytes)
        argv = _read_cmdline(task.native)
        exe = os.path.basename(argv[0]) if argv else task.proc.exe
        self.table.exec(task.proc.pid, argv, exe)
        self.info[task.proc.pid].dispositions.reset_for_exec()
        self.timers.exec(task.proc.pid)
        self._release_vfork_parent(task.proc.pid)

    def _on_signal_stop(self, task: Task, sig: int) -> None:
        native = task.native
        if task.awaiting_initial and sig == SIGSTOP:
            task.awaiting_initial = False
            if task.first_regs is not None:
                pt.setregs(native, task.first_regs)
                task.first_regs = None
            if task.saved_regs:
                regs = pt.getregs(native)
                _put_back(task, regs)
                pt.setregs(native, regs)
            elif task.saved_mem is not None:
                _put_back(task, None)
            if task.child_tid_ptr:
                task.mem.write_i32(task.child_tid_ptr, task.tid)
            task.stop = "initial"
            return
        injected = next((i for i, (s, _) in enumerate(task.injected) if s == sig), None)
        if injected is not None:
            # Ours (a native SIGCHLD pending at the same time coalesced with it, so the
            # siginfo is not checked): give it the simulated kernel's siginfo. The
            # kernel picks the order among several: match by signal number.
            _, virtual_info = task.injected.pop(injected)
            pt.setsiginfo(native, virtual_info)
            task.deliver_sig = sig
            task.stop = "signal"
            if task.native_parked:  # pause()/sigsuspend() ends with the handler
                task.native_parked = False
                self._log_exit(task, -ERESTARTNOHAND)
            if self.strace is not None:
                self.strace.signal(task.tid, virtual_info, self.clock.now_ns)
            return
        info = pt.getsiginfo(native) if sig == _signal.SIGSYS else None
        if info is not None and _is_foreign_abi_trap(info):
            self._refuse_foreign_call(task, info)
            pt.cont(native, 0)
            return
        if sig in SYNCHRONOUS_SIGNALS:
            if self.strace is not None:
                self.strace.signal(task.tid, info or pt.getsiginfo(native), self.clock.now_ns)
            pt.cont(native, sig)
            return
        if sig != SIGCHLD:
            info = pt.getsiginfo(native)
            if _from_io_owner(sig, info):
                # fcntl(2) F_SETOWN: the kernel signals a descriptor's owner (a process
                # of the host, syscalls/owner.py) when I/O is possible. The simulated
                # kernel takes it over, as if it had sent it: its masks, dispositions
                # and waits (sigsuspend, sigwaitinfo) then apply as to any signal.
                pt.cont(native, 0)
                self._post_signal(task.proc.pid, sig, info, task=task)
                return
            # Not ours, not the program's own fault: someone outside sent it.
            self.external_signals.append({"pid": task.proc.pid, "signal": sig})
        # Suppressed: SIGCHLD is the simulated kernel's to send. A parked
        # pause()/sigsuspend() restarts natively and goes back to sleep.
        pt.cont(native, 0)

    def _on_native_death(self, task: Task, status: int) -> None:
        task.gone = True
        self._dying.discard(task)
        task.stop = None
        task.expect_stop = False
        proc = task.proc
        others = [t for t in self.info[proc.pid].tasks if t is not task and not t.exiting]
        if proc.state in ("running", "stopped") and not task.exiting:
            # The simulated end of the thread or process comes with its native death
            # (there is no separate exit event: one stop less per process), once its
            # descriptors are closed. exit(2) ends one thread; exit_group(2), the last
            # thread's exit or a fatal signal end the process, with the status of
            # whichever thread's death comes first (all carry the group's).
            if others and task.exits_alone:
                self._thread_exited(task, _final_state(status))
            else:
                self._process_exited(proc, _final_state(status))
        self._retire(task)
        self.tasks.pop(task.native, None)
        task.mem.close()
        self._release_native(task.native)

    def _release_native(self, native: int) -> None:
        """The native task is dead and reaped (every native process of the host is the
        tracer's own child, and the wait that reported its death reaped it): its pidfd
        has proved what it had to."""
        pidfd = self._pidfds.pop(native, None)
        if pidfd is not None:
            pidfd.close()

    # ------------------------------------------------------------------ lifecycle
    def _process_exited(self, proc, state) -> None:
        pid = proc.pid
        info = self.info[pid]
        parent_pid = proc.ppid
        parent_info = self.info.get(parent_pid) if parent_pid != 1 else None
        autoreap = parent_info is not None and parent_info.dispositions.autoreaps_children()
        result = self.table.exit(pid, state, self.clock.now_ns, parent_autoreaps=autoreap)
        self.timers.exit(pid)
        if self.strace is not None:
            for t in info.tasks:
                if t.strace_call is not None:  # killed inside a call
                    self.strace.syscall_noreturn(t.strace_call, self.clock.now_ns)
                    t.strace_call = None
            # every thread still running ends with the process, the main thread last
            for t in info.tasks:
                if not t.exiting and t.tid != pid:
                    self._log_task_end(t, state)
            self._log_task_end(info.tasks[0], state)
        for t in info.tasks:
            self._retire(t)
        self._release_vfork_parent(pid)
        self._notify(("child", result.parent_pid))
        for new_parent in dict.fromkeys(result.new_parent_of.values()):
            self._notify(("child", new_parent))
        if parent_info is not None and info.exit_signal:
            code, status = _cld_code(state)
            self._post_signal(parent_pid, info.exit_signal,
                              _sigchld_info(info.exit_signal, code, pid, status))
        for child_pid, sig in result.pdeath_signals:
            # prctl(2): sent as if by the dying parent (SI_USER, si_pid = the parent)
            self._post_signal(child_pid, sig, _kill_info(sig, 0, pid))
        for pgid in result.orphaned_pgrps:
            # exit(3)/credentials(7): a newly orphaned group with a stopped member gets
            # SIGHUP, then SIGCONT.
            members = [p.pid for p in self.table.group_members(pgid) if p.state != "zombie"]
            for hup_or_cont in (_signal.SIGHUP, SIGCONT):
                for member in members:
                    self._post_signal(member, hup_or_cont, _kill_info(hup_or_cont, SI_KERNEL, 0))
        for observer in self.exit_observers:
            observer(proc, state)

    def _log_task_end(self, task: Task, state) -> None:
        """strace's "+++ exited with N +++" / "+++ killed by SIG +++" for one thread."""
        if isinstance(state, Exited):
            self.strace.exited(task.tid, state.code, False, False, self.clock.now_ns)
        else:
            self.strace.exited(task.tid, int(state.signal), True, state.core,
                               self.clock.now_ns)

    def _retire(self, task: Task) -> None:
        """The task will never be scheduled again (its process ended)."""
        if not task.exiting:
            task.exiting = True
            self.alive -= 1
        task.expect_stop = False
        if task.block is not None:
            self._end_block(task)
        self.sched.remove(task)
        if self.tasks_by_tid.get(task.tid) is task:
            del self.tasks_by_tid[task.tid]
        if not task.gone:
            self._dying.add(task)

    def _notify(self, key) -> None:
        for woken in self.sched.notify(key):
            woken.wake = "retry"

    def terminate(self, proc, state) -> None:
        """End a process by a signal's default action: the model first, then natively."""
        info = self.info[proc.pid]
        self._process_exited(proc, state)
        try:
            os.kill(info.native, SIGKILL)
        except ProcessLookupError:
            pass
        # run() sees the killed tracee through to its native death before anything else
        # runs (_collect_dying), so that nothing it holds (files, locks, sockets)
        # outlives its simulated death.

    # ------------------------------------------------------------------ signals
    def kill_from_outside(self, pid: int, sig: int) -> int:
        """SimHost.kill: kill(2) from init, then every killed process is seen through to
        its native end before the call returns."""
        result = self.kill(1, pid, sig)
        self._collect_dying()
        return result

    def kill(self, caller: int, pid: int, sig: int, code: int = 0) -> int:
        """kill(2) inside the host; returns 0 or -errno."""
        targets = kill_targets(self.table, caller, pid)
        if not targets:
            return -errno.ESRCH
        if sig:
            for proc in targets:
                self._post_signal(proc.pid, sig, _kill_info(sig, code, caller))
        return 0

    def raise_sigpipe(self, task: Task) -> None:
        """A write to a pipe or socket with no reader: SIGPIPE for the writing thread,
        as the kernel sends it (send_sig: SI_USER from the writer itself; pipe(7))."""
        pid = task.proc.pid
        self._post_signal(pid, _signal.SIGPIPE, _kill_info(_signal.SIGPIPE, 0, pid), task)

    def kill_thread(self, caller: int, tgid, tid: int, sig: int) -> int:
        """tkill(2)/tgkill(2): a signal for one thread."""
        task = self.tasks_by_tid.get(tid)
        if task is None:
            zombie = self.table.get(tid)  # a zombie's threads still exist: the signal is lost
            if zombie is not None and (tgid is None or tgid == tid):
                return 0
            return -errno.ESRCH
        if tgid is not None and tgid != task.proc.pid:
            return -errno.ESRCH
        if sig:
            self._post_signal(task.proc.pid, sig, _kill_info(sig, SI_TKILL, caller), task)
        return 0

    def _signal_target(self, pinfo, sig: int):
        """signal(7): a process-directed signal goes to a thread that does not block it
        (the first, in creation order), else stays with the main thread."""
        live = [t for t in pinfo.tasks if not t.exiting]
        if len(live) > 1:
            for task in live:
                if not _blocked_mask(task) & (1 << (sig - 1)):
                    return task
        return live[0] if live else None

    def _post_signal(self, pid: int, sig: int, info: bytes, task=None) -> None:
        """Generate ``sig`` for process ``pid`` (or one of its threads) (signal(7));
        delivery happens at the target's next deterministic point."""
        proc = self.table.get(pid)
        if pid == 1 or proc is None or proc.state not in ("running", "stopped"):
            return
        pinfo = self.info[pid]
        if sig == SIGKILL:
            self.terminate(proc, Signaled(SIGKILL))
            return
        if task is None:
            task = self._signal_target(pinfo, sig)
            if task is None:
                return
        if sig == SIGCONT:
            for stop_sig in STOP_SIGNALS:
                task.pending.discard(stop_sig)
            if proc.state == "stopped":
                self._continue(proc)
        elif sig in STOP_SIGNALS:
            task.pending.discard(SIGCONT)
            if sig == SIGSTOP:
                if self.strace is not None:
                    self.strace.signal(task.tid, info, self.clock.now_ns)
                self._stop(proc, sig)
                return
        action = pinfo.dispositions.get(sig)
        ignored = action.is_ignore or (action.is_default and default_action(sig) in ("ign", "cont"))
        # signal(7): an ignored signal is discarded at once, unless it is blocked (the
        # disposition may change before it is unblocked, and signalfd/sigwait see it)
        if not ignored or _blocked_mask(task) & (1 << (sig - 1)):
            task.pending.add(sig, info)
            if self.signalfds:
                self.signalfd_update(pid)
        elif self.strace is not None:  # strace still sees it delivered (and ignored)
            self.strace.signal(task.tid, info, self.clock.now_ns)
        if proc.state != "running" or not task.pending:
            return
        if task.block is not None or task.native_parked:
            self._deliver_pending(task)
        if task.block is not None:  # still parked: rt_sigtimedwait may want it
            self._notify(("signal", task.tid))

    def queue_signal(self, caller: int, tgid: int, tid, sig: int, info: bytes) -> int:
        """rt_sigqueueinfo(2) / rt_tgsigqueueinfo(2) with the caller's siginfo."""
        proc = self.table.get(tgid)
        if proc is None or (tid is not None and tid != tgid):
            return -errno.ESRCH
        code = struct.unpack_from("<i", info, 8)[0]
        # Only the kernel may send si_code >= 0, and SI_TKILL only from tgkill (EPERM).
        if (code >= 0 or code == SI_TKILL) and tgid != caller:
            return -errno.EPERM
        if sig:
            self._post_signal(tgid, sig, struct.pack("<i", sig) + info[4:])
        return 0

    def _deliver_pending(self, task: Task) -> None:
        """Act on every pending signal the thread does not block, lowest first: the
        kernel then sets up one handler frame for each before the thread runs on, as
        on any return to user mode (signal(7))."""
        blocked = _blocked_mask(task)
        pinfo = self.info[task.proc.pid]
        for sig in task.pending.signals():
            if blocked & (1 << (sig - 1)):
                continue
            info = siginfo_bytes(task.pending.remove(sig))
            if self.signalfds:
                self.signalfd_update(task.proc.pid)
            action = pinfo.dispositions.get(sig)
            if action.is_ignore:
                continue
            if action.is_default:
                kind = default_action(sig)
                if self.strace is not None:
                    self.strace.signal(task.tid, info, self.clock.now_ns)
                if kind in ("term", "core"):
                    self.terminate(task.proc, Signaled(sig, core=(kind == "core")))
                    return
                if kind == "stop":
                    self._stop(task.proc, sig)
                    return
                continue
            self._inject(task, sig, info, action)

    def _inject(self, task: Task, sig: int, info: bytes, action) -> None:
        if task.block is not None:
            block, ctx = self._end_block(task)
            self.sched.unpark(task)
            self.sched.add(task)
            if block.sigmask_ptr:
                # The handler must run under the call's temporary mask, which only the
                # kernel can install for it: the call becomes rt_sigsuspend(that mask),
                # which returns EINTR after the handler and restores the old mask, as
                # ppoll(2)/pselect(2)/epoll_pwait(2) do.
                task.native_call = Native(regs={"orig_rax": SYS_RT_SIGSUSPEND,
                                                "rdi": block.sigmask_ptr, "rsi": 8},
                                          on_exit=_eintr)
            elif block.restart and action.flags & SA_RESTART:
                task.restart_syscall = True
                self._complete(task, -ERESTARTSYS)
            else:
                self._complete(task, block.on_interrupt(ctx) if block.on_interrupt
                               else -errno.EINTR)
        elif task.native_parked:
            self.sched.unpark(task)
            self.sched.add(task)
            task.expect_stop = True
        task.injected.append((sig, info))
        pt.tgkill(task.tgid_native, task.native, sig)
        if action.flags & SA_RESETHAND:
            self.info[task.proc.pid].dispositions.set(sig, type(action)())

    def _stop(self, proc, sig: int) -> None:
        if not self.table.stop(proc.pid, sig):
            return
        if self.strace is not None:  # every thread enters the group stop
            for task in self.info[proc.pid].tasks:
                if not task.exiting:
                    self.strace.stopped(task.tid, sig, self.clock.now_ns)
        self._notify_parent_of_state(proc, CLD_STOPPED, sig)

    def _continue(self, proc) -> None:
        if not self.table.cont(proc.pid):
            return
        self._notify_parent_of_state(proc, CLD_CONTINUED, SIGCONT)

    def _notify_parent_of_state(self, proc, code: int, status: int) -> None:
        self._notify(("child", proc.ppid))
        parent_info = self.info.get(proc.ppid) if proc.ppid != 1 else None
        if parent_info is None:
            return
        action = parent_info.dispositions.get(SIGCHLD)
        if not action.flags & SA_NOCLDSTOP:
            self._post_signal(proc.ppid, SIGCHLD, _sigchld_info(SIGCHLD, code, proc.pid, status))

    # ------------------------------------------------------------------ teardown
    def kill_everything(self) -> None:
        """SIGKILL every native process of the host (any thread may do this)."""
        for task in list(self.tasks.values()):
            if not task.gone:
                try:
                    os.kill(task.native, SIGKILL)
                except ProcessLookupError:
                    pass

    def drain(self, timeout: float = 10.0) -> list[int]:
        """After kill_everything: collect every native death; return survivors."""
        deadline = _time.monotonic() + timeout
        while any(not t.gone for t in self.tasks.values()):
            if _time.monotonic() > deadline:
                break
            try:
                native, status = os.waitpid(-1, pt.WALL | pt.WNOTHREAD | os.WNOHANG)
            except ChildProcessError:
                break
            if native == 0:
                _time.sleep(0.001)
                continue
            task = self.tasks.get(native)
            if task is None:
                continue
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                self._on_native_death(task, status)
            else:
                try:
                    pt.cont(native, 0)
                except pt.PtraceError:
                    pass
        for native in list(self._native_unreaped):
            if _try_reap(native):
                self._native_unreaped.discard(native)
        return self.survivors()

    def survivors(self) -> list[int]:
        """The pidfd-based proof: every native process we started has exited, and
        none is left as an unreaped zombie."""
        alive = []
        poller = select.poll()
        for task in self.tasks.values():
            if not task.gone and task.native == task.tgid_native:
                self._pidfd(task.native)
        for pidfd in self._pidfds.values():
            poller.register(pidfd.fileno(), select.POLLIN)
        exited = {fd for fd, _ in poller.poll(0)}
        for native, pidfd in self._pidfds.items():
            # pidfd_open(2): the pidfd polls readable once the process has exited
            if pidfd.fileno() not in exited:
                alive.append(native)
        alive.extend(sorted(self._native_unreaped))
        return alive

    def close(self) -> None:
        if self.strace is not None:
            self.strace.close()
        for dup in self._fd_dups:
            os.close(dup)
        self._fd_dups.clear()
        for pidfd in self._pidfds.values():
            pidfd.close()
        self._pidfds.clear()


class _ParkNative(Native):
    """Native call that sleeps until a signal: pause(2), rt_sigsuspend(2)."""

    def __init__(self, mask=None):
        super().__init__()
        self.mask = mask


# Kernel-internal "restart" results, shown by strace for interrupted calls.
ERESTARTSYS, ERESTARTNOHAND = 512, 514
SYS_EXIT, SYS_EXIT_GROUP, SYS_EXECVE, SYS_EXECVEAT = 60, 231, 59, 322
# Calls whose exit stop may never come (exit) or is logged elsewhere (not yet: execve
# returns normally at its exit stop).
_NO_RETURN = frozenset({SYS_EXIT, SYS_EXIT_GROUP})


def _rewrite_for_native(task: Task, regs, new_regs: dict, patch=None) -> None:
    """Run the call natively with other argument registers (and bytes of memory) than
    the program's, keeping the program's for _put_back: the kernel preserves argument
    registers across a call, and the program may rely on that."""
    if new_regs:
        task.saved_regs = {name: getattr(regs, name) for name in new_regs}
        for name, value in new_regs.items():
            setattr(regs, name, value & MASK64)
        pt.setregs(task.native, regs)
    if patch is not None:
        addr, data = patch
        task.saved_mem = (addr, task.mem.read(addr, len(data)))
        task.mem.write(addr, data)


def _put_back(task: Task, regs) -> bool:
    """Restore what _rewrite_for_native changed: memory at once, registers into
    ``regs``; True when ``regs`` changed and must be set."""
    if task.saved_mem is not None:
        addr, data = task.saved_mem
        task.saved_mem = None
        task.mem.write(addr, data)
    saved, task.saved_regs = task.saved_regs, None
    for name, original in (saved or {}).items():
        setattr(regs, name, original)
    return bool(saved)


def _unchanged(_ctx, result: int) -> int:
    return result


def _eintr(_ctx, _result: int) -> int:
    return -errno.EINTR


SYS_RT_SIGSUSPEND = 130


def _args(regs) -> tuple:
    """x86_64 syscall arguments: rdi, rsi, rdx, r10, r8, r9 (syscall(2))."""
    return (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)


def _earliest(a, b):
    if a is None:
        return b
    return a if b is None or a <= b else b


def _not_stopped(task) -> bool:
    return task.proc.state == "running"


def _final_state(status: int):
    if os.WIFEXITED(status):
        return Exited(os.WEXITSTATUS(status))
    sig = os.WTERMSIG(status)
    return Signaled(sig, core=default_action(sig) == "core")


def _cld_code(state) -> tuple[int, int]:
    if isinstance(state, Exited):
        return CLD_EXITED, state.code
    return (CLD_DUMPED if state.core else CLD_KILLED), int(state.signal)


def _sigchld_info(sig: int, code: int, pid: int, status: int) -> bytes:
    return struct.pack("<iiiiiiiiqq", sig, 0, code, 0, pid, 0, status, 0, 0, 0)


def _from_io_owner(sig: int, info: bytes) -> bool:
    """A signal the kernel sent to a descriptor's owner: SIGIO/SIGURG as SI_KERNEL, or
    the F_SETSIG signal with a POLL_* si_code. Nobody else can send a positive si_code
    to another process (rt_sigqueueinfo(2): EPERM)."""
    code = struct.unpack_from("<i", info, 8)[0]
    return POLL_IN <= code <= POLL_HUP or (code == SI_KERNEL and sig in (_signal.SIGIO,
                                                                         _signal.SIGURG))


def _is_foreign_abi_trap(info: bytes) -> bool:
    """Our filter's SIGSYS: si_code SYS_SECCOMP, our tag in si_errno (a program's own
    seccomp filter may send SIGSYS too)."""
    _signo, errno_, code = struct.unpack_from("<iii", info)
    return code == SYS_SECCOMP and errno_ == FOREIGN_ABI_TAG


def _kill_info(sig: int, code: int, sender: int) -> bytes:
    return struct.pack("<iiiiii", sig, 0, code, 0, sender, 0)


def _blocked_mask(task: Task) -> int:
    """The thread's blocked set, read from the real kernel (proc(5) SigBlk) while it is
    stopped; while parked in sigsuspend, the mask that call installed."""
    if task.native_parked:
        return task.park_mask
    if task.block is not None and task.block[0].sigmask is not None:
        return task.block[0].sigmask  # ppoll/pselect6/epoll_pwait's temporary mask
    if task.stop is not None:
        try:
            return pt.getsigmask(task.native)
        except pt.PtraceError:
            pass
    return status_sets(task.tgid_native, task.native, (b"SigBlk",)).get(b"SigBlk", 0)


def _natively_pending(task: Task) -> int:
    """The signals the real kernel holds pending for the thread or its process."""
    pending = 0
    for value in status_sets(task.tgid_native, task.native, (b"SigPnd", b"ShdPnd")).values():
        pending |= value
    return pending


def _read_cmdline(native: int) -> list[str]:
    try:
        with open(f"/proc/{native}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [os.fsdecode(a) for a in raw.split(b"\0")[:-1]]


def _try_reap(native: int) -> bool:
    """True when the native process is no longer a zombie we owe a wait to."""
    try:
        pid, _ = os.waitpid(native, os.WNOHANG | pt.WALL)
    except ChildProcessError:
        # Gone: every native process of a host is the tracer's own child (processes are
        # cloned with CLONE_PARENT), and its death event already reaped it.
        return True
    return pid != 0


def _pick_cpu() -> int | None:
    """Tracees all run on one CPU with their tracer: waking the tracer on the CPU the
    tracee just left costs a few microseconds, across CPUs tens (NOTES: ptrace cost).
    The CPU the tracer thread runs on now, so that hosts of parallel pytest workers
    (pytest-xdist) spread over the machine; programs are told they run on CPU 0."""
    import ctypes
    try:
        cpus = os.sched_getaffinity(0)
    except OSError:
        return None
    current = ctypes.CDLL(None).sched_getcpu()
    if current in cpus:
        return current
    return min(cpus) if cpus else None
