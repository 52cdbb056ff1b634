"""``Engine``, the façade the rest of the code uses (host.py, dropin.py, the syscall
handlers through ``ctx.engine``): the kernel model's parts, the scheduler, the tracer's
tables, and the small queries handlers make. Its behaviour comes from the parts it is
made of, one responsibility each (see the package docstring)."""
from __future__ import annotations

import os
import random

from ..kernel import ProcessTable, VirtualClock
from ..kernel.clock import EventQueue
from ..kernel.futex import FutexTable
from ..kernel.sigstate import SignalDispositions
from ..kernel.timers import TimerTable
from ..procview import ProcView
from ..inject import Injector
from ..scheduler import ChaosScheduler, Scheduler
from ..syscalls.outcome import Block
from ..syscalls import CONDITIONAL, UNSUPPORTED, intercepted_numbers, syscall_number
from ..trace.seccomp import PreparedFilter, build_filter
from .decode import SyscallStops
from .deliver import SignalDelivery
from .fdobjects import FdObjects, SignalFd
from .lifecycle import Lifecycle
from .log import TraceLog
from .records import ProcInfo, Task, WatchdogState
from .teardown import Teardown
from .trap import StopLoop
from .writeback import WriteBack

# The deterministic CPU model: a simulated system call costs this much CPU time by
# default (and nothing else does), so CPU clocks, ITIMER_VIRTUAL/PROF and RLIMIT_CPU
# depend only on what the program asked of the kernel.
CPU_NS_PER_SYSCALL = 1_000


class Engine(StopLoop, SyscallStops, WriteBack, TraceLog, Lifecycle,
             SignalDelivery, FdObjects, Teardown):
    """One host's tracer: the state, and the parts that act on it."""

    def __init__(self, *, hostname: str, start_time_ns: int, seed: int, data_dir: str,
                 rlimits=None, cpu_ns_per_syscall: int = CPU_NS_PER_SYSCALL,
                 strace: str = "off", network: str = "loopback", chaos: bool = False,
                 replay=None, explain: bool = False, inject=()):
        self.hostname = hostname
        self.network = network  # "loopback" or "outside" (syscalls/net.py)
        self.cpu_ns_per_syscall = cpu_ns_per_syscall
        self.data_dir = data_dir
        self.table = ProcessTable(rlimits=rlimits)
        self.procview = ProcView(self)   # /proc as the host's programs see it
        self.clock = VirtualClock(start_time_ns)
        self.start_time_ns = start_time_ns
        if chaos:
            # explain: each decision also says which call each candidate was about to
            # complete (the plugin asks for it when it reports a failing schedule)
            self.sched = ChaosScheduler(seed, replay=replay,
                                        describe=self.describe_next if explain else None)
        else:
            self.sched = Scheduler(seed)
        self.chaos = chaos
        # strace -e inject= rules (inject.py): None when there are none, so that the
        # per-call path pays one attribute test
        self.injector = Injector(inject, seed=seed, hostname=hostname) if inject else None
        self.injections: list[dict] = []
        self.extra_handlers: dict[int, object] = {}   # users' hooks, by syscall number
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
            # the record of the calls that stop anyway (strace/record.py); None: every
            # call is logged
            from ..strace.record import CallRecord
            self.strace_recorded = self._recorded_numbers()
            self.strace = CallRecord(self.strace_recorded, hostname=hostname)
            self._filter = PreparedFilter(build_filter(self._trapped_numbers(), CONDITIONAL))
        else:
            from ..strace import StraceLog
            self.strace_recorded = None
            self.strace = StraceLog(mode=strace, directory=data_dir, hostname=hostname,
                                    start_ns=start_time_ns)
            # every call is logged, so every call stops the tracee
            self._filter = PreparedFilter(build_filter(None))
        self._cpu = _pick_cpu()
        if self._cpu is not None:
            # The tracer thread (this one) shares the tracees' CPU: see _pick_cpu.
            os.sched_setaffinity(0, {self._cpu})
        self.exit_observers: list = []
        self.before_kill = None  # callable(proc), run before a SIGKILL is carried out
        self._io_waiters: dict[Task, Block] = {}   # parked on descriptors, in order
        self.futexes = FutexTable()
        self.timerfds: dict[tuple[int, int], object] = {}   # (pid, fd) -> FdTimer
        self.signalfds: dict[tuple[int, int], SignalFd] = {}
        self.pidfds: dict[tuple[int, int], int] = {}   # (pid, fd) -> virtual pid it names
        self._fd_dups: list[int] = []  # the host's duplicates of timerfds and signalfds
        self.tasks_by_tid: dict[int, Task] = {}
        self._dying: set[Task] = set()             # retired, native death not seen yet
        # ids of the Process records still alive at stop_time: their final state is Running
        self.running_at_stop: set[int] = set()

    def _trapped_numbers(self) -> frozenset:
        """What the filter traps whatever the arguments: the simulated calls, users'
        hooks, and the calls fault-injection rules name."""
        numbers = intercepted_numbers() | frozenset(self.extra_handlers)
        if self.injector is not None:
            numbers |= self.injector.numbers
        return numbers

    def _recorded_numbers(self) -> frozenset:
        """With logging off, what the record holds: the simulated calls, users' hooks and
        the calls fault-injection rules name (all trapped whatever the arguments)."""
        from ..strace.record import recorded_numbers
        extra = frozenset(self.extra_handlers)
        if self.injector is not None:
            extra |= self.injector.numbers
        return recorded_numbers(extra)

    def describe_next(self, task: Task) -> str:
        """The call ``task`` completes when it next runs, as the deterministic strace
        log would begin its line: "1001 openat(AT_FDCWD, "race.pid", O_RDONLY"."""
        ctx = task.ctx
        if ctx is None:
            return f"{task.tid} starts"
        from ..strace.format import Call, begin_call
        call = Call(task.tid, ctx.nr, ctx.args, True, 0)
        try:
            begin_call(call, task.mem)
        except OSError:
            pass
        return f"{task.tid} {call.sc.name}({call.head})"

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
