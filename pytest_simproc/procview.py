"""The host's /proc, rendered from its state: what /proc/N/stat, status, cmdline and the
system-wide uptime, stat and loadavg files say inside a host.

Natively these files speak of native pids, ptrace stops and the machine's boot; inside
a host they must speak of the host's pids, parents, groups, sessions and states, and of
its virtual clock, or ps(1), pgrep(1), top(1) and psutil see through the simulation. One
renderer, so that every reader (the programs' open(2) through syscalls/procfs.py, and
later drop-in mode's patched calls in the test process) sees the same numbers.

The model gives identity, state, start time and CPU time; the native files give what
the model has no opinion on (memory sizes, fault counts, comm, signal masks). Init
(pid 1) has no native process and a zombie has none left (the host reaps natively at
death): their files are rendered from the model alone.
"""
from __future__ import annotations

import errno
import os
import re

from .kernel import rusage
from .kernel.clock import BOOT_LEAD_NS
from .kernel.rlimits import RLIM_INFINITY
from .kernel.errors import KernelError
from .kernel.tty import stat_fields

HZ = 100  # USER_HZ: the unit of clock ticks in /proc (proc(5), sysconf(_SC_CLK_TCK))
NSEC = 1_000_000_000

_STATE_NAMES = {"R": "R (running)", "S": "S (sleeping)", "D": "D (disk sleep)",
                "T": "T (stopped)", "t": "t (tracing stop)", "Z": "Z (zombie)",
                "X": "X (dead)", "I": "I (idle)"}


def _ticks(ns: int) -> int:
    return ns * HZ // NSEC


# A host booted BOOT_LEAD_NS before its start time, its first instant, when its init
# is there (in drop-in mode the test, which reads the clock at once): the clock's
# boot_ns (kernel/clock.py). /proc/stat's btime, /proc/uptime and the start times in
# /proc/N/stat count from it, as CLOCK_MONOTONIC and CLOCK_BOOTTIME do.


# /proc/N/sched's "key : value" lines (sched_show_task): the values the host gives.
# Those of the machine's scheduler (its clock, load averages, migrations, NUMA faults)
# read 0; its settings (policy, prio, weight, slice) are the native ones.
_SCHED_LINE = re.compile(rb"^(\S+)(\s*:\s*)(\S+)$")
_SCHED_KEPT = frozenset({b"policy", b"prio", b"se.load.weight", b"se.slice",
                         b"numa_preferred_nid"})
_SCHED_TEMPLATE = (b"se.exec_start", b"se.vruntime", b"se.sum_exec_runtime",
                   b"se.nr_migrations", b"nr_switches", b"nr_voluntary_switches",
                   b"nr_involuntary_switches", b"se.load.weight", b"policy", b"prio")


def _ms(ns: int) -> bytes:
    """A time in sched's unit: milliseconds with six decimals (SPLIT_NS)."""
    return b"%d.%06d" % (ns // 1_000_000, ns % 1_000_000)


# The inode numbers of the initial namespaces (include/linux/proc_ns.h), which
# /proc/N/ns/* name on a machine whose processes share them: a host's processes are in
# the host's first namespaces, whatever namespaces the machine runs the test in.
INITIAL_NAMESPACES = {b"ipc": 0xEFFFFFFF, b"uts": 0xEFFFFFFE, b"user": 0xEFFFFFFD,
                      b"pid": 0xEFFFFFFC, b"cgroup": 0xEFFFFFFB, b"time": 0xEFFFFFFA,
                      b"net": 0xEFFFFFF9, b"mnt": 0xEFFFFFF8}
# stat's policy field (sched(7)): SCHED_OTHER, SCHED_BATCH, SCHED_IDLE use the nice value
_NORMAL_POLICIES = (b"0", b"3", b"5")
_NS_LINK = re.compile(rb"^([a-z]+):\[(\d+)\]$")


def namespace_link(target: bytes) -> bytes:
    """readlink of /proc/N/ns/*: a namespace the machine's test process is in too (the
    host's own) by the initial namespace's number, any other (one a program made) as
    it is (namespaces(7))."""
    match = _NS_LINK.match(target)
    if match is None or match.group(1) not in INITIAL_NAMESPACES:
        return target
    kind = match.group(1)
    try:
        own = os.readlink(b"/proc/self/ns/" + kind)
    except OSError:
        return target
    if own != target:
        return target
    return b"%s:[%d]" % (kind, INITIAL_NAMESPACES[kind])


# /proc/N/limits (proc_pid_limits in fs/proc/base.c): name and unit of each limit, in
# resource order
_LIMITS = (("Max cpu time", "seconds"), ("Max file size", "bytes"),
           ("Max data size", "bytes"), ("Max stack size", "bytes"),
           ("Max core file size", "bytes"), ("Max resident set", "bytes"),
           ("Max processes", "processes"), ("Max open files", "files"),
           ("Max locked memory", "bytes"), ("Max address space", "bytes"),
           ("Max file locks", "locks"), ("Max pending signals", "signals"),
           ("Max msgqueue size", "bytes"), ("Max nice priority", ""),
           ("Max realtime priority", ""), ("Max realtime timeout", "us"))


def _limit(value: int) -> str:
    return "%-20s " % ("unlimited" if value == RLIM_INFINITY else value)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


# The lines of a zombie's /proc/N/status, in the kernel's order (proc_pid_status:
# no mm, no fs, so no Umask and no Vm* lines); those a kernel lacks are left out.
_ZOMBIE_STATUS = (b"Name", b"State", b"Tgid", b"Ngid", b"Pid", b"PPid", b"TracerPid",
                  b"Uid", b"Gid", b"FDSize", b"Groups", b"NStgid", b"NSpid", b"NSpgid",
                  b"NSsid", b"Kthread", b"Threads", b"SigQ", b"SigPnd", b"ShdPnd", b"SigBlk",
                  b"SigIgn", b"SigCgt", b"CapInh", b"CapPrm", b"CapEff", b"CapBnd",
                  b"CapAmb", b"NoNewPrivs", b"Seccomp", b"Seccomp_filters",
                  b"Speculation_Store_Bypass", b"SpeculationIndirectBranch",
                  b"Cpus_allowed", b"Cpus_allowed_list", b"Mems_allowed",
                  b"Mems_allowed_list", b"voluntary_ctxt_switches",
                  b"nonvoluntary_ctxt_switches")
_ZERO_MASK = b"0000000000000000"


def _modelled_status(proc) -> bytes:
    """/proc/N/status of init or a zombie, which have no native process: a zombie's
    lines (proc(5)), with the credentials, capabilities and CPU and memory masks the
    programs inherit from the machine's test process, and no pending or handled
    signal, no thread but the main one, no context switch counted (init, which is no
    zombie, has its Umask too)."""
    own = dict(line.split(b":", 1) for line in (_read("/proc/self/status") or b"").split(b"\n")
               if b":" in line)
    limit = own.get(b"SigQ", b"0/0").strip().split(b"/")[-1]
    values = {b"Name": proc.exe.encode()[:15], b"FDSize": b"0", b"Threads": b"1",
              b"SigQ": b"0/" + limit, b"SigPnd": _ZERO_MASK, b"ShdPnd": _ZERO_MASK,
              b"SigBlk": _ZERO_MASK, b"SigIgn": _ZERO_MASK, b"SigCgt": _ZERO_MASK,
              b"voluntary_ctxt_switches": b"0", b"nonvoluntary_ctxt_switches": b"0"}
    lines = []
    for key in _ZOMBIE_STATUS:
        value = values.get(key)
        if value is None:
            if key not in own:
                continue
            value = own[key].lstrip(b"\t")
        lines.append(b"%s:\t%s" % (key, value))
        if key == b"Name" and not proc.is_zombie:
            lines.append(b"Umask:\t0022")
    return b"\n".join(lines) + b"\n"


def with_values(raw: bytes, values: dict, sep: bytes = b":\t") -> bytes:
    """``raw``'s "key<sep>value" lines with the values of the keys in ``values``."""
    out = []
    for line in raw.split(b"\n"):
        key = line.split(sep[:1], 1)[0]
        if key in values:
            line = b"%s%s%s" % (key, sep, str(values[key]).encode())
        out.append(line)
    return b"\n".join(out)


def with_stat_fields(raw: bytes, values: dict) -> bytes:
    """A proc(5) stat line with the fields after the command name replaced, numbered
    from 0 (the state, proc(5)'s field 3)."""
    close = raw.rindex(b")")
    fields = raw[close + 2:].split()
    for index, value in values.items():
        if index < len(fields):
            fields[index] = b"%d" % value
    return raw[:close + 2] + b" ".join(fields) + b"\n"


class ProcView:
    """/proc of one host. ``engine`` gives the process table, the clock and each
    process's live tasks (tid, native tid, whether the host parks it)."""

    def __init__(self, engine):
        self.engine = engine

    # ------------------------------------------------------------- who is there
    def pids(self) -> list[int]:
        """The pids /proc lists: init, the live processes and the zombies, and the
        outsider (drop-in mode's test process: kernel.table.add_outsider)."""
        table = self.engine.table
        procs = table.live() + table.zombies()
        if table.outsider is not None:
            procs.append(table.outsider)
        return [1] + sorted(p.pid for p in procs)

    def process(self, pid: int):
        """The live or zombie process ``pid``, else None."""
        return self.engine.table.get(pid)

    def tasks(self, pid: int) -> list:
        """The live tasks of process ``pid`` (main thread first)."""
        info = self.engine.info.get(pid)
        if info is None:
            return []
        return [t for t in info.tasks if not t.exiting and not t.gone]

    def tids(self, pid: int) -> list[int]:
        """The tids /proc/<pid>/task lists: the main thread's always (a zombie's, or
        one that ended while others run, is listed natively too)."""
        if self.process(pid) is None:
            return []
        return sorted({pid} | {t.tid for t in self.tasks(pid)})

    def native_dir(self, pid: int, tid: int | None = None) -> str | None:
        """/proc/<native>[/task/<native tid>] of a live host task, else None."""
        native = self.engine.native_pid_of(pid)
        if native is None:
            # the outsider is a native process under its own pid; its threads are
            # not the host's
            if not self.engine.table.is_outsider(pid) or tid not in (None, pid):
                return None
            native = pid
        if tid is None or tid == pid:
            return f"/proc/{native}" if tid is None else f"/proc/{native}/task/{native}"
        task = self.engine.tasks_by_tid.get(tid)
        if task is None or task.exiting or task.proc.pid != pid:
            return None
        return f"/proc/{native}/task/{task.native}"

    # ------------------------------------------------------------- states
    def state(self, proc, tid: int, native_letter: str | None) -> str:
        """The state letter a native run would show (proc(5) field 3): the host's
        ptrace stops are not the program's, so a task the host parks sleeps (S) and one
        waiting for its turn runs (R)."""
        if proc.is_zombie:
            return "Z"
        if proc.state == "stopped":
            return "T"
        if proc.pid == 1:
            return "S"
        task = self.engine.tasks_by_tid.get(tid)
        if native_letter in (None, "t", "T"):
            if task is None:
                return "S"
            # a signal sent to a task in pause()/sigsuspend() wakes it at once (R),
            # though the host sees it leave only when it next runs (expect_stop)
            return ("S" if task.block is not None
                    or (task.native_parked and not task.expect_stop) else "R")
        return native_letter

    # ------------------------------------------------------------- files
    def stat(self, pid: int, tid: int | None = None) -> bytes:
        """/proc/<pid>/stat, or /proc/<pid>/task/<tid>/stat (proc(5))."""
        proc = self.process(pid)
        tid = pid if tid is None else tid
        native = self.native_dir(pid, None if tid == pid else tid)
        raw = _read(f"{native}/stat") if native else None
        if raw is not None:
            close = raw.rindex(b")")
            comm = raw[raw.index(b"(") + 1:close]
            fields = raw[close + 2:].split()
        else:
            comm = proc.exe.encode()[:15]
            # a zombie's or init's: no memory, no native numbers
            fields = [b"0"] * 50
            fields[15] = b"20"    # priority
            fields[17] = b"1"     # num_threads
            fields[35] = b"17"    # exit_signal: SIGCHLD
        info = self.engine.info.get(pid)
        own = rusage.own(info) if info is not None else None
        children = rusage.children(info) if info is not None else None
        letter = fields[0].decode()
        tty_nr, tpgid = stat_fields(proc)
        values = {
            0: self.state(proc, tid, letter if raw is not None else None),
            1: proc.ppid, 2: proc.pgid, 3: proc.sid,
            4: tty_nr, 5: tpgid,          # kernel.tty: none until a leader takes one
            # page faults depend on the machine's page cache, not the program: never
            # the same twice (majflt moved between runs under --simproc-verify)
            7: 0, 8: 0, 9: 0, 10: 0,
            # the CPU model's user and system time, the reaped children's
            11: _ticks(own.user_ns if own else 0), 12: _ticks(own.sys_ns if own else 0),
            13: _ticks(children.user_ns if children else 0),
            14: _ticks(children.sys_ns if children else 0),
            17: max(1, len(self.tasks(pid))),
            18: 0,                        # itrealvalue: always 0 since 2.6.17
            # since the boot; init is there from the host's start
            19: _ticks(max(proc.start_time_ns, self.engine.start_time_ns)
                       - self.engine.clock.boot_ns),
            36: 0,                        # processor: every host runs on CPU 0
        }
        if len(fields) > 38 and fields[38] in _NORMAL_POLICIES:
            values[15], values[16] = 20 + proc.nice, proc.nice  # priority, nice (kernel/nice.py)
        for index, value in values.items():
            if index < len(fields):
                fields[index] = str(value).encode()
        return b"%d (%s) %s\n" % (tid, comm, b" ".join(fields))

    def status(self, pid: int, tid: int | None = None) -> bytes:
        """/proc/<pid>/status or /proc/<pid>/task/<tid>/status: the native file with the
        host's identity and state, or one made from the model."""
        proc = self.process(pid)
        tid = pid if tid is None else tid
        native = self.native_dir(pid, None if tid == pid else tid)
        raw = _read(f"{native}/status") if native else None
        if raw is None:
            raw = _modelled_status(proc)
            letter = None
        else:
            line = raw[raw.index(b"State:"):].split(b"\n", 1)[0]
            letter = line.split()[1].decode()
        state = self.state(proc, tid, letter)
        from .syscalls.privs import no_new_privs  # not the host's own bit (privs.py)
        values = {b"State": _STATE_NAMES.get(state, state), b"Tgid": pid, b"Ngid": 0,
                  b"Pid": tid, b"PPid": proc.ppid, b"TracerPid": 0, b"NStgid": pid,
                  b"NSpid": tid, b"NSpgid": proc.pgid, b"NSsid": proc.sid,
                  b"NoNewPrivs": int(no_new_privs(proc))}
        return with_values(raw, values)

    def sched(self, pid: int, tid: int | None = None) -> bytes:
        """/proc/<pid>[/task/<tid>]/sched: the virtual tid in its head, the CPU model's
        time as the task's runtime and its clock as when it last ran, the machine's
        scheduler numbers as 0 (they differ from run to run)."""
        proc = self.process(pid)
        tid = pid if tid is None else tid
        native = self.native_dir(pid, None if tid == pid else tid)
        raw = _read(f"{native}/sched") if native else None
        info = self.engine.info.get(pid)
        cpu = info.cpu_ns if info is not None else 0
        values = {b"se.exec_start": _ms(self.engine.clock.monotonic_ns), b"se.vruntime": _ms(cpu),
                  b"se.sum_exec_runtime": _ms(cpu), b"se.load.weight": b"1048576",
                  b"policy": b"0", b"prio": b"120"}
        if raw is None:
            lines = [b"%-45s:%21s" % (key, b"0") for key in _SCHED_TEMPLATE]
        else:
            lines = raw.rstrip(b"\n").split(b"\n")[2:]
        out = [b"%s (%d, #threads: %d)" % (proc.exe.encode()[:15], tid,
                                            max(1, len(self.tasks(pid)))), b"-" * 67]
        for line in lines:
            match = _SCHED_LINE.match(line)
            if match is not None:
                key, _gap, value = match.groups()
                if key in values and (raw is None or key not in _SCHED_KEPT):
                    new = values[key]
                elif key in _SCHED_KEPT and raw is not None:
                    new = value
                else:
                    new = b"0"
                line = b"%-45s:%21s" % (key, new)
            else:  # the NUMA summary lines: counters
                line = re.sub(rb"=-?\d+", b"=0", line)
            out.append(line)
        return b"\n".join(out) + b"\n"

    def schedstat(self, pid: int) -> bytes:
        """/proc/<pid>/schedstat: time on the CPU (the model's), time waiting for it
        and time slices (none the host measures)."""
        info = self.engine.info.get(pid)
        return b"%d 0 0\n" % (info.cpu_ns if info is not None else 0)

    def timens_offsets(self, pid: int) -> bytes:
        """The offsets of the time namespace the process's children enter
        (time_namespaces(7), kernel/timens.py)."""
        return self.engine.timens.show(pid)

    def cmdline(self, pid: int) -> bytes:
        """A process without a native one: init's argv; a zombie's is empty (proc(5))."""
        proc = self.process(pid)
        if proc.is_zombie:
            return b""
        return b"".join(a.encode() + b"\0" for a in proc.argv)

    def children(self, pid: int, tid: int) -> bytes:
        """/proc/<pid>/task/<tid>/children: "pid " per live or zombie child. The model
        gives children to processes: the main thread lists them all, others none."""
        if tid != pid:
            return b""
        return b"".join(b"%d " % child for child in self.process(pid).children)

    def limits(self, pid: int) -> bytes:
        """/proc/<pid>/limits: the host's limits of the process, the ones getrlimit(2)
        gives it (the native process's differ but for those the kernel enforces)."""
        rlimits = self.process(pid).rlimits
        out = ["%-25s %-20s %-20s %-10s\n" % ("Limit", "Soft Limit", "Hard Limit", "Units")]
        for which, (name, unit) in enumerate(_LIMITS):
            soft, hard = rlimits[which]
            out.append("%-25s %s%s%s\n" % (name, _limit(soft), _limit(hard),
                                           "%-10s" % unit if unit else ""))
        return "".join(out).encode()

    def comm(self, pid: int) -> bytes:
        return self.process(pid).exe.encode()[:15] + b"\n"

    def boottime_ns(self, pid: int | None = None) -> int:
        """CLOCK_BOOTTIME now, in the time namespace of ``pid`` (the root's when None):
        /proc/uptime, sysinfo(2)."""
        offset = 0 if pid is None else self.engine.timens.offset(pid, 7)
        return self.engine.clock.boottime_ns + offset

    def uptime(self, reader: int | None = None) -> bytes:
        """/proc/uptime: seconds since the host booted, the reader's CLOCK_BOOTTIME
        (its time namespace's), and idle time (one CPU: what the processes did not
        use)."""
        up = self.boottime_ns(reader)
        busy = sum(self.engine.info[p].cpu_ns for p in self.pids() if p in self.engine.info)
        idle = max(0, up - busy)
        return b"%d.%02d %d.%02d\n" % (up // NSEC, up % NSEC // (NSEC // 100),
                                       idle // NSEC, idle % NSEC // (NSEC // 100))

    def task_count(self) -> int:
        """Every task of the host (/proc/loadavg's and sysinfo(2)'s count)."""
        return sum(len(self.tids(p)) for p in self.pids())

    def loadavg(self) -> bytes:
        """/proc/loadavg: one runnable task (the reader), all tasks, the last pid; no
        load (sysinfo(2)'s loads are 0 too)."""
        return b"0.00 0.00 0.00 1/%d %d\n" % (self.task_count(), max(self.pids()))

    def system_stat(self) -> bytes:
        """/proc/stat: the machine's CPU lines, the host's boot time and process counts."""
        raw = _read("/proc/stat") or b""
        running = 1
        blocked = 0
        # the boot as CLOCK_REALTIME dates it: a set of that clock moves it (proc(5))
        clock = self.engine.clock
        values = {b"btime": (clock.boot_ns + clock.realtime_offset_ns) // NSEC,
                  b"processes": len(self.engine.table.processes()),
                  b"procs_running": running, b"procs_blocked": blocked}
        return with_values(raw, values, b" ")

    # ------------------------------------------------------------- by name
    PID_FILES = ("stat", "status", "cmdline", "comm", "environ", "sched", "schedstat",
                 "timens_offsets", "limits")
    # the files of a process without a native one (init, a zombie) that hold no number
    # of the host: a zombie's, which has no memory, I/O or wait channel left
    MODEL_FILES = {"statm": b"0 0 0 0 0 0 0\n",
                   "io": b"rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: 0\n"
                         b"write_bytes: 0\ncancelled_write_bytes: 0\n",
                   "maps": b"", "smaps": b"", "numa_maps": b"", "oom_score": b"0\n",
                   "wchan": b"0", "personality": b"00000000\n"}
    MODEL_DIRS = ("fd", "fdinfo", "map_files")  # empty
    SYSTEM_FILES = {"uptime": "uptime", "stat": "system_stat", "loadavg": "loadavg"}

    def pid_file(self, pid: int, tid: int | None, name: str) -> bytes | None:
        """The rendered /proc/<pid>[/task/<tid>]/<name>, None for a file the view does
        not render (then the native one is right, through its native pid)."""
        if name == "stat":
            return self.stat(pid, tid)
        if name == "status":
            return self.status(pid, tid)
        if name == "children" and tid is not None:
            return self.children(pid, tid)
        if name == "sched":
            return self.sched(pid, tid)
        if name == "schedstat":
            return self.schedstat(pid)
        if name == "timens_offsets":
            return self.timens_offsets(pid)
        if name == "limits":
            return self.limits(pid)
        if name == "stack":
            # the kernel's own frames (ptrace_stop for a task the host parks): answered
            # as by a kernel built without CONFIG_STACKTRACE, where the file is absent
            raise KernelError(errno.ENOENT, "/proc/N/stack is not simulated")
        if self.native_dir(pid) is not None:
            return None  # cmdline, environ, comm: the native process's own
        if name == "cmdline":
            return self.cmdline(pid)
        if name == "comm":
            return self.comm(pid)
        if name == "environ":
            return b""
        return self.MODEL_FILES.get(name)

    def system_file(self, name: str, reader: int | None = None) -> bytes | None:
        """/proc/<name> as process ``reader`` reads it (None: as the root namespace)."""
        if name == "uptime":
            return self.uptime(reader)
        method = self.SYSTEM_FILES.get(name)
        return getattr(self, method)() if method else None
