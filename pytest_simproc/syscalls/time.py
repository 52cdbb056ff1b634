"""Time: every clock reads the host's virtual clock; sleeps park the thread.

Every clock reads the host's virtual time: the realtime ones the date (seconds since
the epoch, from the host's start_time), the monotonic and boottime ones the time
since the host's boot, a minute before its start (kernel/clock.py), as on a machine,
where programs take the boot as realtime - monotonic and compare the clocks with
/proc/uptime. A privileged program may set CLOCK_REALTIME (clock_settime,
settimeofday): the realtime clocks then move, the others stay; the machine's clock
is never touched. CPU-time clocks read the
deterministic CPU model.

Most reads never reach these handlers: the host's vDSO (trace/vdso.c) answers
clock_gettime of the wall and monotonic clocks, gettimeofday, time and getcpu from
the clock page, and must give what they give (its clock kinds mirror
REALTIME_CLOCKS and _WALL_CLOCKS; tests/integration/test_vdso.py compares the two).
They still answer syscall(2), CPU-time clocks, unknown ids, and every read of a
program that has no vDSO.

Time namespaces (kernel/timens.py) are applied: a process's namespace moves its
monotonic and boottime clocks, and absolute sleeps and timers on them are read in its
terms. adjtimex(2) and clock_adjtime(2) read and set the host's NTP state
(kernel/ntp.py): ADJ_SETOFFSET steps the host's CLOCK_REALTIME as clock_settime does,
a leap second armed with STA_INS or STA_DEL is carried out on it at UTC midnight, and
ADJ_TAI moves CLOCK_TAI with its timers and absolute sleeps. The virtual time is
CLOCK_MONOTONIC, which NTP steers: an adjtime(3) slew or a frequency shows against
CLOCK_MONOTONIC_RAW (kernel/clock.py ClockRate), in the vDSO's clock page too.
"""
from __future__ import annotations

import errno
import os
import struct

from ..kernel.errors import KernelError
from ..kernel.ntp import ADJ_SETOFFSET, NtpState, Timex
from ..kernel.rusage import times_ticks
from ..kernel.timers import REALTIME_CLOCKS, REALTIME_SET
from ..trace.procstatus import credentials
from ..trace.vdso import write_offsets
from .args import (efault_on_fault, einval_on_invalid, pack_timespec, read_timespec,
                   read_timeval, s32, s64)
from ..kernel.timens import PAGE_SIZE, parse_offsets
from .outcome import ERESTART_RESTARTBLOCK, ERESTARTNOHAND, Block, Native
from .registry import handles

NSEC = 1_000_000_000
TIMER_ABSTIME = 1

# time.h clock ids
CLOCK_REALTIME, CLOCK_MONOTONIC = 0, 1
CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 2, 3
CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE = 4, 5, 6
CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM, CLOCK_TAI = 7, 8, 9, 11
_WALL_CLOCKS = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
                CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_REALTIME_ALARM,
                CLOCK_BOOTTIME_ALARM, CLOCK_TAI}
_CPU_CLOCKS = {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID}
_NO_SLEEP = {CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
             CLOCK_MONOTONIC_COARSE}
_COARSE_RES_NS = 4_000_000  # a 250 Hz tick, fixed so that clock_getres is deterministic


def _realtime(ctx) -> int:
    return ctx.engine.clock.realtime_ns


def _clock_value(ctx, clock_id: int) -> int | None:
    # the time namespace's offset, or CLOCK_TAI's (adjtimex(2) tai)
    if clock_id in REALTIME_CLOCKS:
        return _realtime(ctx) + ctx.engine.clock_offset_ns(ctx.proc.pid, clock_id)
    if clock_id == CLOCK_MONOTONIC_RAW:  # the oscillator's time: not slewed by NTP
        return ctx.engine.clock.raw_ns + ctx.engine.timens.offset(ctx.proc.pid, clock_id)
    if clock_id in _WALL_CLOCKS:  # the monotonic ones count from the boot
        return ctx.now_ns + ctx.engine.clock_offset_ns(ctx.proc.pid, clock_id)
    if clock_id in _CPU_CLOCKS:
        return ctx.engine.cpu_time_ns(ctx.task)
    if clock_id < 0:
        return cpu_clock_ns(ctx, clock_id)
    return None


def clock_deadline(ctx, clock_id: int, value_ns: int) -> int:
    """The virtual time at which clock ``clock_id`` reads ``value_ns`` to the caller
    (an absolute timeout): the realtime clocks as set (clock_settime), the monotonic
    and boottime ones counting from the boot, all in the caller's time namespace."""
    deadline = value_ns - ctx.engine.clock_offset_ns(ctx.proc.pid, clock_id)
    if clock_id in REALTIME_CLOCKS:
        deadline -= ctx.engine.clock.realtime_offset_ns
    return deadline


def dynamic_clock(clock_id: int) -> bool:
    """A negative id whose low bits are 3 names a clock by descriptor (CLOCKFD, a PTP
    clock): none in a host can be slept on or carry a timer (EOPNOTSUPP), nor be read."""
    return clock_id < 0 and clock_id & 7 == 3


def cpu_clock_ns(ctx, clock_id: int) -> int | None:
    """A negative clock id names a process's or thread's CPU clock
    (clock_getcpuclockid(3), pthread_getcpuclockid(3)): ~pid << 3, 4 for a thread, and
    the clock type in the low bits. Its CPU time, or None where the kernel finds no
    such clock (EINVAL): type 3, a pid the host does not have or has reaped, a thread
    of another process."""
    if clock_id & 3 == 3:
        return None
    pid, engine = ~(clock_id >> 3), ctx.engine
    if pid in (0, ctx.task.tid, ctx.proc.pid):
        return engine.cpu_time_ns(ctx.task)
    if clock_id & 4:
        task = engine.tasks_by_tid.get(pid)
        return engine.cpu_time_ns(task) if task is not None and task.proc is ctx.proc else None
    if ctx.table.get(pid) is None:  # live or zombie processes only
        return None
    info = engine.info.get(pid)
    return info.cpu_ns if info is not None else 0


@handles("clock_gettime")
def clock_gettime(ctx, clock_id, tp, *_):
    value = _clock_value(ctx, s32(clock_id))
    if value is None:
        return -errno.EINVAL
    if not tp:
        return -errno.EFAULT
    ctx.mem.write(tp, pack_timespec(value))
    return 0


@handles("clock_getres")
def clock_getres(ctx, clock_id, res, *_):
    clock_id = s32(clock_id)
    if _clock_value(ctx, clock_id) is None:
        return -errno.EINVAL
    if res:
        coarse = clock_id in (CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE)
        ctx.mem.write(res, pack_timespec(_COARSE_RES_NS if coarse else 1))
    return 0


@handles("gettimeofday")
def gettimeofday(ctx, tv, tz, *_):
    now = _realtime(ctx)
    if tv:
        ctx.mem.write(tv, struct.pack("<qq", now // NSEC, (now % NSEC) // 1000))
    if tz:
        ctx.mem.write(tz, struct.pack("<ii", 0, 0))  # UTC, no DST
    return 0


@handles("time")
def time_(ctx, tloc, *_):
    seconds = _realtime(ctx) // NSEC
    if tloc:
        ctx.mem.write(tloc, struct.pack("<q", seconds))
    return seconds


@handles("times")
def times(ctx, buf, *_):
    # clock ticks (USER_HZ = 100) since the host booted; CPU times from the CPU model,
    # user and system apart (kernel/rusage.py)
    if buf:
        own = times_ticks(ctx.engine.own_usage(ctx.proc.pid, maxrss=False))
        children = times_ticks(ctx.engine.children_usage(ctx.proc.pid))
        ctx.mem.write(buf, struct.pack("<qqqq", *own, *children))
    return ctx.engine.clock.monotonic_ns // 10_000_000


def _sleep_until(ctx, deadline_ns: int, rem_ptr: int, absolute: bool = False):
    """Park until ``deadline_ns``; a handled signal ends it with EINTR and the time left
    (the kernel's ERESTART_RESTARTBLOCK, ERESTARTNOHAND for an ``absolute`` sleep)."""
    if deadline_ns <= ctx.now_ns:
        return 0

    @efault_on_fault  # nanosleep(2): a remaining time it cannot write is EFAULT
    def interrupted(c):
        if rem_ptr:
            c.mem.write(rem_ptr, pack_timespec(max(0, deadline_ns - c.now_ns)))
        return -errno.EINTR

    # nanosleep is never restarted after a handler, SA_RESTART or not (signal(7))
    return Block(deadline_ns=deadline_ns, on_timeout=lambda c: 0, on_interrupt=interrupted,
                 interrupted=ERESTARTNOHAND if absolute else ERESTART_RESTARTBLOCK)


def _sleep_until_realtime(ctx, clock_id: int, value_ns: int, rem_ptr: int = 0,
                          absolute: bool = False):
    """Park until realtime clock ``clock_id`` reads ``value_ns``: a clock_settime (or
    a leap second, for all but CLOCK_TAI; ADJ_TAI for CLOCK_TAI) meanwhile makes the
    sleep end sooner or later (clock_nanosleep(2) TIMER_ABSTIME)."""
    block = _sleep_until(ctx, clock_deadline(ctx, clock_id, value_ns), rem_ptr, absolute)
    if isinstance(block, Block):
        block.keys = (REALTIME_SET,)
        block.retry = lambda c: _sleep_until_realtime(c, clock_id, value_ns, rem_ptr, absolute)
    return block


@handles("nanosleep")
@einval_on_invalid
def nanosleep(ctx, req, rem, *_):
    if not req:
        return -errno.EFAULT
    duration = read_timespec(ctx, req)
    return _sleep_until(ctx, ctx.now_ns + duration, rem)


@handles("clock_nanosleep")
@einval_on_invalid
def clock_nanosleep(ctx, clock_id, flags, req, rem, *_):
    # clock_nanosleep(2)'s checks in the kernel's order: the clock, whether it can be
    # slept on (EOPNOTSUPP), the request read (EFAULT), its value (EINVAL), then a CPU
    # clock's owner (EINVAL: never the caller's own thread)
    clock_id, flags = s32(clock_id), s64(flags)
    if clock_id >= 0 and clock_id not in _WALL_CLOCKS | _CPU_CLOCKS:
        return -errno.EINVAL
    if clock_id in _NO_SLEEP or dynamic_clock(clock_id):
        return -errno.EOPNOTSUPP
    if not req:
        return -errno.EFAULT
    value = read_timespec(ctx, req)
    if clock_id < 0 and (cpu_clock_ns(ctx, clock_id) is None or clock_id & 4 and
                         ~(clock_id >> 3) in (0, ctx.task.tid)):
        return -errno.EINVAL
    if flags & TIMER_ABSTIME:
        # the remaining time is not written for absolute sleeps (clock_nanosleep(2))
        if clock_id in REALTIME_CLOCKS:
            return _sleep_until_realtime(ctx, clock_id, value, absolute=True)
        # a time since the boot, of the caller's namespace (time_namespaces(7))
        return _sleep_until(ctx, clock_deadline(ctx, clock_id, value), 0, absolute=True)
    if clock_id == CLOCK_TAI:
        # only a relative CLOCK_REALTIME sleep is the kernel's CLOCK_MONOTONIC one
        # (POSIX's rule): a relative TAI sleep ends at a TAI time, and moves with it
        return _sleep_until_realtime(ctx, clock_id, _clock_value(ctx, clock_id) + value, rem)
    return _sleep_until(ctx, ctx.now_ns + value, rem)


CAP_SYS_ADMIN, CAP_SYS_TIME = 21, 25  # capabilities(7)


def capable(ctx, cap: int) -> bool:
    """Whether the calling thread has ``cap`` in its effective set."""
    creds = credentials(ctx.task.tgid_native, ctx.task.native)
    return creds is not None and bool(creds[1] & (1 << cap))


def _set_realtime(ctx, value_ns: int | None) -> int:
    """Move the host's CLOCK_REALTIME to ``value_ns`` (None: leave it), never the
    machine's: EPERM without the native thread's CAP_SYS_TIME (clock_settime(2)).
    The monotonic clocks stay."""
    if not capable(ctx, CAP_SYS_TIME):
        return -errno.EPERM
    if value_ns is not None and value_ns < ctx.engine.clock.monotonic_ns:
        return -errno.EINVAL  # before CLOCK_MONOTONIC's value (clock_settime(2))
    if value_ns is not None:
        step_realtime(ctx.engine, value_ns - ctx.engine.clock.realtime_ns)
    return 0


def step_realtime(engine, delta_ns: int) -> None:
    """Move CLOCK_REALTIME by ``delta_ns``: what waits for an absolute realtime moves
    with it, and the NTP state counts seconds on from the new time."""
    sync_ntp(engine)
    engine.clock.realtime_offset_ns += delta_ns
    engine.realtime_was_set(delta_ns)
    engine.ntp.stepped(engine.clock.realtime_ns, engine.clock)
    sync_ntp(engine)


def sync_ntp(engine) -> None:
    """Run the NTP state on to the present, carrying out the leap seconds it meets
    (the TAI offset they change is the vDSO's too), and keep one event queued at the
    next leap second (adjtimex(2) STA_INS, STA_DEL)."""
    clock, ntp = engine.clock, engine.ntp
    while step := ntp.advance(clock.realtime_ns):
        clock.realtime_offset_ns += step * NSEC
        engine.realtime_was_set(step * NSEC, tai_ns=0)  # the TAI offset moved back
    if engine.clock_page is not None:  # the vDSO's CLOCK_TAI
        engine.clock_page.publish_tai(ntp.tai * NSEC)
    if engine.leap_event is not None:
        engine.events.cancel(engine.leap_event)
        engine.leap_event = None
    at = ntp.leap_at_ns()
    if at is not None:
        engine.leap_event = engine.events.schedule(
            max(at - clock.realtime_offset_ns, clock.now_ns),
            (lambda _pid, _timer: sync_ntp(engine), 0, None))


# struct timex (adjtimex(2)) on x86_64: its fields' formats and offsets
_TIMEX_SIZE = 208
_TIMEX_LAYOUT = (("modes", "I", 0), ("offset", "q", 8), ("freq", "q", 16),
                 ("maxerror", "q", 24), ("esterror", "q", 32), ("status", "i", 40),
                 ("constant", "q", 48), ("precision", "q", 56), ("tolerance", "q", 64),
                 ("time_sec", "q", 72), ("time_usec", "q", 80), ("tick", "q", 88),
                 ("ppsfreq", "q", 96), ("jitter", "q", 104), ("shift", "i", 112),
                 ("stabil", "q", 120), ("jitcnt", "q", 128), ("calcnt", "q", 136),
                 ("errcnt", "q", 144), ("stbcnt", "q", 152), ("tai", "i", 160))


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _adjtimex(ctx, buf: int) -> int:
    """adjtimex(2) on the host's clock: the whole struct is read (EFAULT), the modes
    checked (EPERM, EINVAL), applied, and the struct written back."""
    raw = bytearray(ctx.mem.read(buf, _TIMEX_SIZE))
    tx = Timex(**{name: struct.unpack_from("<" + fmt, raw, at)[0]
                  for name, fmt, at in _TIMEX_LAYOUT})
    try:
        NtpState.validate(tx, capable(ctx, CAP_SYS_TIME))
    except KernelError as exc:
        return -exc.errno
    engine = ctx.engine
    if tx.modes & ADJ_SETOFFSET:
        step_realtime(engine, NtpState.setoffset_ns(tx))
    sync_ntp(engine)
    tai = engine.ntp.tai
    result = engine.ntp.adjtimex(tx, engine.clock.realtime_ns, engine.clock)
    if engine.ntp.tai != tai:
        # ADJ_TAI: CLOCK_TAI moved, and what waits for an absolute TAI time moves
        # with it (the kernel's clock_was_set on the TAI timer base)
        engine.realtime_was_set(0, tai_ns=(engine.ntp.tai - tai) * NSEC)
    sync_ntp(engine)  # a status set or cleared arms or disarms a leap second
    for name, fmt, at in _TIMEX_LAYOUT:
        value = getattr(tx, name)
        struct.pack_into("<" + fmt, raw, at, _signed32(value) if fmt == "i" else value)
    ctx.mem.write(buf, bytes(raw))
    return result


@handles("adjtimex")
def adjtimex(ctx, buf, *_):
    return _adjtimex(ctx, buf)


@handles("clock_adjtime")
def clock_adjtime(ctx, clock_id, buf, *_):
    # clock_adjtime(2): the struct is read first (EFAULT); only CLOCK_REALTIME
    # adjusts, another clock the kernel knows (CPU clocks too) has no adjustment
    # (EOPNOTSUPP), an unknown id is EINVAL
    clock_id = s32(clock_id)
    if clock_id == CLOCK_REALTIME:
        return _adjtimex(ctx, buf)
    ctx.mem.read(buf, _TIMEX_SIZE)
    if clock_id in _WALL_CLOCKS | _CPU_CLOCKS or clock_id < 0 and not dynamic_clock(clock_id):
        return -errno.EOPNOTSUPP
    return -errno.EINVAL


# ------------------------------------------------------------------ time namespaces

def publish_namespace(engine, pid: int, task=None) -> None:
    """The process's vDSO adds its namespace's offsets from now on (trace/vdso.py)."""
    image = engine.vdso_images.get(pid)
    if image is None or engine.clock_page is None:
        return
    ns = engine.timens.of(pid)
    if task is None:
        task = engine.info[pid].tasks[0]
    write_offsets(task.mem, image, engine.clock_page, ns.monotonic_ns, ns.boottime_ns)


def unshare_time(ctx) -> int:
    """unshare(CLONE_NEWTIME): the caller's later children enter a new namespace
    (time_namespaces(7)); EPERM without CAP_SYS_ADMIN."""
    if not capable(ctx, CAP_SYS_ADMIN):
        return -errno.EPERM
    ctx.engine.timens.unshare(ctx.proc.pid)
    return 0


def namespace_of_fd(ctx, fd: int):
    """The time namespace descriptor ``fd`` names (/proc/PID/ns/time or
    time_for_children), None when it names none."""
    try:
        link = os.readlink(f"/proc/{ctx.task.tgid_native}/fd/{fd}")
    except OSError:
        return None
    rendered = os.path.join(ctx.engine.data_dir, ".proc", "timens", "")
    if link.startswith(rendered):
        return ctx.engine.timens.by_inum(int(link[len(rendered):]))
    if link.startswith("time:") and link == os.readlink("/proc/self/ns/time"):
        return ctx.engine.timens.root
    return None


def setns_time(ctx, ns) -> int:
    """setns(2) into time namespace ``ns``: EUSERS for a multithreaded caller, EPERM
    without CAP_SYS_ADMIN; the caller's clocks move at once."""
    if sum(1 for t in ctx.engine.info[ctx.proc.pid].tasks if not t.exiting) > 1:
        return -errno.EUSERS
    if not capable(ctx, CAP_SYS_ADMIN):
        return -errno.EPERM
    if ctx.engine.timens.setns(ctx.proc.pid, ns):
        publish_namespace(ctx.engine, ctx.proc.pid, ctx.task)
    return 0


O_ACCMODE, O_WRONLY, O_RDWR, O_PATH = 0o3, 0o1, 0o2, 0o10000000
UIO_MAXIOV = 1024
RWF_HIPRI = 0x1


def timens_offsets_file(ctx, fd: int):
    """(pid, position, writable) when descriptor ``fd`` is a /proc/PID/timens_offsets
    (rendered, procfs.py), None for any other (and at once until a program opened
    one: the check costs a readlink)."""
    if not ctx.engine.timens.files_open or fd < 0:
        return None
    try:
        link = os.readlink(f"/proc/{ctx.task.tgid_native}/fd/{fd}")
    except OSError:
        return None
    root = os.path.join(ctx.engine.data_dir, ".proc", "")
    # the file is rendered anew at each open: one open before is deleted by then
    link = link.removesuffix(" (deleted)")
    if not (link.startswith(root) and link.endswith("/timens_offsets")):
        return None
    pid = int(link[len(root):].split("/", 1)[0])
    with open(f"/proc/{ctx.task.tgid_native}/fdinfo/{fd}", "rb") as f:
        position = int(f.readline().split()[1])
        flags = int(f.readline().split()[1], 8)
    return pid, position, flags & O_ACCMODE in (O_WRONLY, O_RDWR) and not flags & O_PATH


def _write_offsets(ctx, pid: int, position: int, buf: int, count: int) -> int:
    """The file's write method (fs/proc/base.c): the whole text at position 0, under
    a page, parsed before the process is looked up; the host's namespace takes the
    offsets (kernel/timens.py)."""
    count &= 0xFFFFFFFFFFFFFFFF
    if position or count >= PAGE_SIZE:
        return -errno.EINVAL  # before the buffer is read
    try:
        data = ctx.mem.read(buf, count) if count else b""
    except OSError as exc:
        if exc.errno != errno.EFAULT:
            raise
        return -errno.EFAULT
    if ctx.table.get(pid) is None:
        parsed = parse_offsets(data)
        return parsed if isinstance(parsed, int) else -errno.ESRCH
    now = ctx.engine.clock.monotonic_ns  # the root's MONOTONIC and BOOTTIME
    return ctx.engine.timens.write_offsets(pid, data, position, capable(ctx, CAP_SYS_TIME),
                                           now, now)


def _written_file(ctx, fd: int):
    """(pid, position) of a timens_offsets descriptor open for writing, -EBADF for
    one that is not (vfs_write's check comes first), None for any other file."""
    found = timens_offsets_file(ctx, fd)
    if found is None:
        return None
    pid, position, writable = found
    return (pid, position) if writable else -errno.EBADF


def timens_offsets_write(ctx, fd: int, buf: int, count: int):
    """write(2) to /proc/PID/timens_offsets; None for any other descriptor."""
    found = _written_file(ctx, fd)
    if found is None or isinstance(found, int):
        return found
    return _write_offsets(ctx, *found, buf, count)


def timens_offsets_writev(ctx, fd: int, iov: int, vlen: int, flags: int = 0):
    """writev(2), or pwritev2(2) at offset -1, to /proc/PID/timens_offsets: the file
    has a write method only, so each segment is a write of its own at the same
    position (vfs_writev's loop), until one fails (its error when it is the first)
    or is taken in part; a zero-length first segment is such a write, later ones
    are skipped. None for any other descriptor."""
    found = _written_file(ctx, fd)
    if found is None or isinstance(found, int):
        return found
    pid, position = found
    vlen &= 0xFFFFFFFFFFFFFFFF
    if vlen > UIO_MAXIOV:
        return -errno.EINVAL
    raw = ctx.mem.read(iov, 16 * vlen) if vlen else b""
    segments = [struct.unpack_from("<Qq", raw, 16 * i) for i in range(vlen)]
    if any(length < 0 for _, length in segments):
        return -errno.EINVAL
    if not sum(length for _, length in segments):
        return 0
    if flags & ~RWF_HIPRI:
        return -errno.EOPNOTSUPP
    done = 0
    for index, (base, length) in enumerate(segments):
        if index and not length:
            continue
        written = _write_offsets(ctx, pid, position, base, length)
        if written < 0:
            return done or written
        done += written
        if written != length:
            break
    return done


# A seq_file has no pwrite (seq_open clears FMODE_PWRITE): pwrite64, pwritev and
# pwritev2 at an offset refuse /proc/PID/timens_offsets with ESPIPE (after a negative
# offset's EINVAL, which the kernel gives first); pwritev2 at -1 is writev(2). They
# stop only at offset 0 (and pwritev2 at -1), the offset a program gives this file:
# trapping every pwrite would cost a stop each (~28 us measured) to programs that
# write files at offsets (databases). At another offset the call runs natively on the
# rendered copy, whatever the strace log traps, so that logging changes nothing.
_AT_ZERO = frozenset({0})
_AT_ZERO_OR_CURRENT = frozenset({0, 0xFFFFFFFF})


def _pwrite_refused(ctx, fd: int, pos: int, trapped: frozenset):
    if pos & 0xFFFFFFFF not in trapped or s64(pos) < 0:
        return Native()
    return Native() if timens_offsets_file(ctx, s32(fd)) is None else -errno.ESPIPE


@handles("pwrite64", when=(3, _AT_ZERO))
def pwrite64(ctx, fd, buf, count, pos, *_):
    return _pwrite_refused(ctx, fd, pos, _AT_ZERO)


@handles("pwritev", when=(3, _AT_ZERO))
def pwritev(ctx, fd, iov, vlen, pos, *_):
    return _pwrite_refused(ctx, fd, pos, _AT_ZERO)


@handles("pwritev2", when=(3, _AT_ZERO_OR_CURRENT))
def pwritev2(ctx, fd, iov, vlen, pos, _pos_h, flags, *_):
    if s64(pos) == -1:   # the file's position: writev(2)
        written = timens_offsets_writev(ctx, s32(fd), iov, vlen, flags & 0xFFFFFFFF)
        return Native() if written is None else written
    return _pwrite_refused(ctx, fd, pos, _AT_ZERO)


@handles("clock_settime")
@einval_on_invalid
def clock_settime(ctx, clock_id, tp, *_):
    clock_id = s32(clock_id)
    if clock_id != CLOCK_REALTIME:
        # only the realtime clock can be set; a valid CPU clock id (clock_getcpuclockid(3))
        # refuses with EPERM after reading the value, every other clock has no setter
        if clock_id >= 0 or _clock_value(ctx, clock_id) is None:
            return -errno.EINVAL
        ctx.mem.read(tp, 16)  # EFAULT first
        return -errno.EPERM
    return _set_realtime(ctx, read_timespec(ctx, tp))


@handles("settimeofday")
@einval_on_invalid
def settimeofday(ctx, tv, tz, *_):
    value = read_timeval(ctx, tv) if tv else None
    if tz:
        ctx.mem.read(tz, 8)  # the time zone is taken and kept nowhere (gettimeofday: UTC)
    return _set_realtime(ctx, value)
