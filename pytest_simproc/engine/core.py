"""``Engine``, the façade the rest of the code uses (host.py, dropin.py, the syscall
handlers through ``ctx.engine``): the kernel model's parts, the scheduler, the tracer's
tables, and the small queries handlers make. Its behaviour comes from the parts it is
made of, one responsibility each (see the package docstring)."""
from __future__ import annotations

import ctypes
import os
import hashlib
import random

from ..kernel import ProcessTable, VirtualClock
from ..kernel.ipcstamps import IpcStamps
from ..kernel.semwaits import SemWaits
from ..kernel.clock import CpuBurst, EventQueue
from ..kernel.filetimes import FileClock
from ..kernel.futex import FutexTable
from ..kernel.ntp import NtpState
from ..kernel.timens import TimeNamespaces
from ..kernel.uts import UtsNamespaces
from ..kernel.sigstate import SignalDispositions
from ..kernel.timers import TimerTable
from ..kernel import rusage
from ..kernel.rlimits import RLIM_INFINITY, RLIMIT_CPU, cpu_limit_signal
from ..procview import ProcView
from ..inject import Injector
from ..scheduler import ChaosScheduler, Scheduler
from ..strace.format import Call, begin_call
from ..strace.log import StraceLog
from ..strace.record import CallRecord, recorded_numbers
from ..syscalls.outcome import Block
from ..syscalls import CONDITIONAL, UNSUPPORTED, intercepted_numbers, syscall_number
from ..trace.procstatus import uts_key, vm_hwm_kb
from ..trace.seccomp import prepared_filter
from ..trace.vdso import image as vdso_image, take_page
from .decode import SyscallStops
from .epolledges import ExclusiveEdges
from .deliver import SignalDelivery
from .fdobjects import FdObjects, PidFdRef, SignalFd, TimerFd
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
# The CPU model's clock (README "The CPU model"): charged CPU moves the clock once this
# much has gathered since it last did (kernel.clock.CpuBurst), ...
MAX_UNAPPLIED_CPU_NS = 10_000_000
# ... and a task that ran this much real CPU time in user code, without a call the host
# sees, while something is due (trap.StopLoop._preempt_due) is preempted and charged
# PREEMPT_SLICE_NS of virtual time and CPU: a spin advances virtual time at about the
# speed it runs.
PREEMPT_AFTER_NS = 10_000_000
PREEMPT_SLICE_NS = 10_000_000
# the calls the host's vDSO answers without a stop (trace/vdso.c)
_NO_CPU_LIMIT = (RLIM_INFINITY, RLIM_INFINITY)
_VDSO_CALLS = frozenset(syscall_number(n) for n in
                        ("clock_gettime", "gettimeofday", "time", "getcpu"))
_UNSUPPORTED_NUMBERS = frozenset(syscall_number(n) for n in UNSUPPORTED)


# the clocks that count from the boot: MONOTONIC, _RAW, _COARSE, BOOTTIME, _ALARM
_BOOT_CLOCKS = frozenset({1, 4, 6, 7, 9})


class Engine(StopLoop, SyscallStops, WriteBack, TraceLog, Lifecycle,
             SignalDelivery, FdObjects, Teardown):
    """One host's tracer: the state, and the parts that act on it."""

    def __init__(self, *, hostname: str, start_time_ns: int, seed: int, data_dir: str,
                 rlimits=None, cpu_ns_per_syscall: int = CPU_NS_PER_SYSCALL,
                 strace: str = "off", network: str = "loopback", chaos: bool = False,
                 replay=None, explain: bool = False, inject=(), boot_ns: int | None = None,
                 files=None):
        self.hostname = hostname
        self.seed = seed
        self.network = network  # "loopback" or "outside" (syscalls/net.py)
        self.cpu_ns_per_syscall = cpu_ns_per_syscall
        # the host's data dir, or a function that makes it at its first use (programs
        # that need no file of the host's, most, leave it unmade)
        self._data_dir = data_dir
        self.table = ProcessTable(rlimits=rlimits)
        self.procview = ProcView(self)   # /proc as the host's programs see it
        # the boot: BOOT_LEAD_NS before the start, or a drop-in session's (one for
        # its test, whenever its host starts)
        self.clock = VirtualClock(start_time_ns, boot_ns)
        # the machine's file times on this clock (kernel/filetimes.py): a drop-in
        # session's, kept since its test's start, or one from now
        self.clock.files = files if files is not None else FileClock(start_time_ns)
        self.start_time_ns = start_time_ns
        self.burst = CpuBurst(self.clock, MAX_UNAPPLIED_CPU_NS)
        self.preempt_after_ns = PREEMPT_AFTER_NS   # read by the watchdog thread
        self.preempt_slice_ns = PREEMPT_SLICE_NS
        self.preemptions = 0        # the one nondeterministic count (README)
        self.calls_charged = 0      # simulated calls so far: the host's progress
        self._until_ns = start_time_ns  # the end of the current run: no clock move past it
        self.stop_ns = None  # the host's stop_time (SimHost's): a run that ends sooner waits for a time
        self._clock_moved = False   # by work: due timers and deadlines to look at
        # Drop-in mode's session (dropin/session.py), for the length of one of its runs:
        # before_idle() when no task can run, before parked descriptors are looked at
        # again (it moves what the programs and the test wrote); end_at_idle() when
        # still none can, before the clock moves: True ends the run;
        # outside_busy(room_ns) then: None if the test process's native threads had
        # no work in flight, else how far (ns, at most room_ns) the clock moves for
        # the time they took, before the host looks again (dropin/nativework.py)
        self.before_idle = None
        self.end_at_idle = None
        self.outside_busy = None
        # the page the programs' vDSO reads the clocks from (trace/vdso.py); without
        # one (no C compiler), programs get no vDSO and every clock read traps
        image = vdso_image()
        self.clock_page = take_page(image) if image is not None else None
        if self.clock_page is not None:
            self.clock.on_change = self.clock_page.publish
        if chaos:
            # explain: each decision also says which call each candidate was about to
            # complete (the plugin asks for it when it reports a failing schedule)
            self.sched = ChaosScheduler(seed, replay=replay,
                                        describe=self.describe_next if explain else None)
        else:
            self.sched = Scheduler(seed)
        self.chaos = chaos
        self._cut_key = f"simproc-cut:{seed}:{hostname}"
        self._cuts: dict[int, int] = {}   # thread -> how many transfers chaos drew for
        self.chaos_cuts = 0               # transfers chaos made shorter
        # strace -e inject= rules (inject.py): None when there are none, so that the
        # per-call path pays one attribute test
        self.injector = Injector(inject, seed=seed, hostname=hostname) if inject else None
        self.injections: list[dict] = []
        self.extra_handlers: dict[int, object] = {}   # users' hooks, by syscall number
        self.events = EventQueue()
        self.timers = TimerTable(self.clock, self.events, self._post_timer_signal,
                                 lambda pid: self.info[pid].cpu_ns)
        # pid -> its armed CPU timers (the table's own dict): _charge_cpu asks the
        # table to fire them only while there are some
        self._cpu_armed = self.timers.cpu_armed
        # time namespaces, the NTP state and its leap-second event (syscalls/time.py)
        self.timens = TimeNamespaces()
        self.uts = UtsNamespaces(hostname, uts_key(os.getpid()))
        self.ntp = NtpState(self.clock.realtime_ns)
        self.timers.ns_offset = self.clock_offset_ns
        self.leap_event = None
        self.vdso_images: dict[int, int] = {}   # pid -> its vDSO image's address
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
        self._unsupported = _UNSUPPORTED_NUMBERS
        # the calls that cost CPU in the model: the simulated ones, whether or not the
        # strace log traps every other call too
        self._simulated = intercepted_numbers()
        self._off_traps = self._trapped_numbers()   # what logging off traps by number
        if strace == "off":
            # the record of the calls that stop anyway (strace/record.py); None: every
            # call is logged
            self.strace_recorded = self._recorded_numbers()
            self.strace = CallRecord(self.strace_recorded, hostname=hostname)
            self._filter = prepared_filter(self._off_traps, CONDITIONAL)
        else:
            self.strace_recorded = None
            self.strace = StraceLog(mode=strace, directory=self.data_dir, hostname=hostname,
                                    start_ns=start_time_ns)
            # every call is logged, so every call stops the tracee
            self._filter = prepared_filter(None)
        # the CPUs the machine gives the test, its main thread's (this thread may be
        # one pinned below for an earlier host): the mask the programs are told
        # (sched_getaffinity(2), syscalls/misc.py)
        try:
            self.cpus = frozenset(os.sched_getaffinity(os.getpid()))
        except OSError:
            self.cpus = frozenset({0})
        self._cpu = _pick_cpu()
        if self._cpu is not None:
            # The tracer thread (this one) shares the tracees' CPU: see _pick_cpu.
            os.sched_setaffinity(0, {self._cpu})
        self.exit_observers: list = []
        self.before_kill = None  # callable(proc), run before a SIGKILL is carried out
        self._io_waiters: dict[Task, Block] = {}   # parked on descriptors, in order
        self._step_waiters: dict[Task, Block] = {}   # of those, Block.ready_each_step
        self.look_round = 0   # counts the looks at those waits (_recheck_io, _recheck_steps)
        self.futexes = FutexTable()
        self.timerfds: dict[tuple[int, int], TimerFd] = {}   # (pid, fd) -> its timerfd
        self.signalfds: dict[tuple[int, int], SignalFd] = {}
        self.pidfds: dict[tuple[int, int], PidFdRef] = {}   # (pid, fd) -> the pid it names
        # processes the real kernel may signal itself, and hold the signal pending while
        # blocked (syscalls/signal.py): one that asked a message queue for a signal
        # (mq_notify(3)), a descriptor's owner (fcntl(2) F_SETOWN, F_NOTIFY, F_SETLEASE)
        self.kernel_signalled: set[int] = set()
        self.exclusive_edges = ExclusiveEdges()   # EPOLLEXCLUSIVE targets' wake-ups (epoll_ctl(2))
        self.sem_waits = SemWaits()     # semop callers waiting in the host (GETNCNT)
        self.ipc_stamps = IpcStamps()   # System V objects' last operators and times
        self.fifos: dict = {}   # (st_dev, st_ino) -> its blocking opens (syscalls/fifos.py)
        # by id(table): every object of it a descriptor may still be (fdobjects.py)
        self._fd_objects: dict[int, list] = {}
        self._fd_sweep_at = 64
        self.cancelable_timerfds = False  # a timerfd had TFD_TIMER_CANCEL_ON_SET
        self.tasks_by_tid: dict[int, Task] = {}
        self._dying: set[Task] = set()             # retired, native death not seen yet
        # ids of the Process records still alive at stop_time: their final state is Running
        self.running_at_stop: set[int] = set()

    @property
    def data_dir(self) -> str:
        if callable(self._data_dir):
            self._data_dir = self._data_dir()
        return self._data_dir

    def made_data_dir(self) -> str | None:
        """The data dir if it exists yet (no file of the host's can be in one that
        does not), without making it."""
        return None if callable(self._data_dir) else self._data_dir

    def _watched_numbers(self) -> frozenset:
        """The calls users' hooks answer and fault-injection rules name."""
        numbers = frozenset(self.extra_handlers)
        if self.injector is not None:
            numbers |= self.injector.numbers
        return numbers

    def _stops_anyway(self, nr: int, args) -> bool:
        """Whether the call would stop with strace logging off too: the filter of that
        mode, its conditional calls by their argument (registry.CONDITIONAL)."""
        cond = CONDITIONAL.get(nr)
        return (cond is not None and args[cond[0]] & 0xFFFFFFFF in cond[1]
                or nr in self._off_traps)

    def _trapped_numbers(self) -> frozenset:
        """What the filter traps whatever the arguments: the simulated calls and the
        watched ones."""
        watched = self._watched_numbers()
        return intercepted_numbers() | watched if watched else intercepted_numbers()

    def vdso_wanted(self) -> bool:
        """Whether programs get the host's vDSO: not when users' hooks or
        fault-injection rules must see the clock calls it answers."""
        if self.clock_page is None:
            return False
        return not self._watched_numbers() & _VDSO_CALLS
    def _recorded_numbers(self) -> frozenset:
        """With logging off, what the record holds: the simulated calls, users' hooks and
        the calls fault-injection rules name (all trapped whatever the arguments)."""
        return recorded_numbers(self._watched_numbers())

    def describe_next(self, task: Task) -> str:
        """The call ``task`` completes when it next runs, as the deterministic strace
        log would begin its line: "1001 openat(AT_FDCWD, "race.pid", O_RDONLY"."""
        ctx = task.ctx
        if ctx is None:
            return f"{task.tid} starts"
        call = Call(task.tid, ctx.nr, ctx.args, True, 0)
        try:
            begin_call(call, task.mem)
        except OSError:
            pass
        return f"{task.tid} {call.sc.name}({call.head})"

    def chaos_cut(self, tid: int, size: int) -> int:
        """Under chaos, how many of ``size`` ready bytes thread ``tid``'s next pipe or
        stream transfer moves: all of them half the time, else 1 to size-1. Drawn from
        the seed, the thread and its own count of draws, so that a schedule changed
        elsewhere (shrinking, replay) leaves this thread's draws as they were."""
        n = self._cuts.get(tid, 0)
        self._cuts[tid] = n + 1
        digest = hashlib.blake2b(f"{self._cut_key}:{tid}:{n}".encode(), digest_size=8)
        draw = int.from_bytes(digest.digest(), "little")
        if size < 2 or draw & 1:
            return size
        self.chaos_cuts += 1
        return 1 + (draw >> 1) % (size - 1)

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

    def _charge_cpu(self, proc, info: ProcInfo, ns: int, system_ns: int = 0) -> None:
        """``ns`` of CPU time for process ``proc``, ``system_ns`` of it spent in the
        kernel: its CPU clocks, CPU timers and RLIMIT_CPU see it, and so does the
        host's clock (the burst)."""
        info.cpu_ns += ns
        info.sys_ns += system_ns
        self.burst.unapplied_ns += ns
        if self._cpu_armed:   # (some process has a CPU timer armed: rare)
            self.timers.cpu_advanced(proc.pid)
        limit = proc.rlimits[RLIMIT_CPU]
        if limit != _NO_CPU_LIMIT:   # (a limit to check: rare)
            due = cpu_limit_signal(limit, info.cpu_ns, info.xcpu_next_ns)
            if due is not None:
                self._cpu_limit_reached(proc.pid, info, due)

    def clock_offset_ns(self, pid: int, clock_id: int) -> int:
        """How far ``clock_id`` reads ahead of the virtual clock (CLOCK_REALTIME, for
        the realtime ones) for process ``pid``: the TAI offset, or for the monotonic
        and boottime clocks their count from the boot (kernel/clock.py) and the
        process's time namespace's offset (syscalls/time.py)."""
        if clock_id == 11:  # CLOCK_TAI
            return self.ntp.tai * 1_000_000_000
        if clock_id in _BOOT_CLOCKS:
            return self.timens.offset(pid, clock_id) - self.clock.boot_ns
        return 0

    def _charge_start(self, task: Task) -> None:
        """A program loaded by execve: the process is charged its start-up's CPU time
        (kernel/rusage.py), and its first instruction runs once the host's one CPU has
        done the work charged so far, its own loading included: the task waits for the
        clock to show the burst (its program sees the time its loading took, however
        short the run that saw the exec: a drop-in poll() moves no clock)."""
        pid = task.proc.pid
        info = self.info[pid]
        self._charge_cpu(task.proc, info, rusage.EXEC_SYSTEM_NS + rusage.EXEC_USER_NS,
                         rusage.EXEC_SYSTEM_NS)
        self.sched.park(task, deadline_ns=self.clock.now_ns + self.burst.unapplied_ns)

    def dispositions(self, pid: int) -> SignalDispositions:
        return self.info[pid].dispositions

    def native_pid_of(self, pid: int) -> int | None:
        proc = self.table.get(pid)
        info = self.info.get(pid)   # none for init and the outsider
        if proc is None or info is None or proc.state in ("zombie", "reaped"):
            return None
        return info.native

    def refuse(self, ctx, message: str) -> None:
        self.refused.append({"pid": ctx.proc.pid, "syscall": ctx.name, "message": message})

    def child_event_consumed(self, waiter: int, event) -> None:
        """A wait in the program consumed a child event: a reaped child's usage now
        counts as the waiter's children's (getrusage(2) RUSAGE_CHILDREN)."""
        if event.kind in ("exited", "killed", "dumped"):
            child = self.info.get(event.pid)
            if child is not None:
                rusage.fold_reaped(self.info[waiter], child)

    def waited_usage(self, event) -> rusage.Usage | None:
        """What a wait for ``event`` reports in its rusage: the child's own usage and
        its reaped children's (wait4(2))."""
        info = self.info.get(event.pid) if event is not None else None
        return rusage.waited(info) if info is not None else None

    def own_usage(self, pid: int, maxrss: bool = True) -> rusage.Usage:
        """RUSAGE_SELF; ``maxrss`` reads the live native process's VmHWM for it."""
        info = self.info[pid]
        return rusage.own(info, vm_hwm_kb(self.native_pid_of(pid)) if maxrss else 0)

    def children_usage(self, pid: int) -> rusage.Usage:
        return rusage.children(self.info[pid])


_libc = ctypes.CDLL(None)


def _pick_cpu() -> int | None:
    """Tracees all run on one CPU with their tracer: waking the tracer on the CPU the
    tracee just left costs a few microseconds, across CPUs tens (NOTES: ptrace cost).
    The CPU the tracer thread runs on now, so that hosts of parallel pytest workers
    (pytest-xdist) spread over the machine; programs are told they run on CPU 0."""
    try:
        cpus = os.sched_getaffinity(0)
    except OSError:
        return None
    current = _libc.sched_getcpu()
    if current in cpus:
        return current
    return min(cpus) if cpus else None
