"""Sources of nondeterminism that are not about processes (randomness, uname, the
system's uptime and load in sysinfo(2)), and open(2)/openat(2): seeded random devices,
the host's /etc files (net) and /proc/<pid> paths (procfs)."""
from __future__ import annotations

import errno
import os
import struct

from ..kernel.errors import KernelError
from ..kernel.uts import DOMAINNAME, HOST_NAME_MAX, HOSTNAME
from ..trace.memory import in_user_space
from ..trace.procstatus import uts_key
from . import cgroupfs, fifos, net, procfs, tty
from .args import s32, u32
from .outcome import Native
from .procfs import native_with_path as _native_with_path
from .registry import handles
from .time import CAP_SYS_ADMIN, capable

GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE = 1, 2, 4
_RANDOM_DEVICES = (b"/dev/urandom", b"/dev/random")
_MAX_RW_COUNT = 0x7FFFF000  # INT_MAX rounded down to a page: a read's longest
_RANDOM_CHUNK = 1 << 16
O_NOCTTY = 0o400
# where the loader's and most configuration's opens go, and no FIFO is looked for
_NO_FIFOS = (b"/usr/", b"/lib", b"/etc/", b"/proc/", b"/sys/")
_SETHOSTNAME = 170   # x86_64; setdomainname is 171


@handles("getrandom")
def getrandom(ctx, buf, length, flags, *_):
    flags = u32(flags)
    if flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) or (
            flags & GRND_RANDOM and flags & GRND_INSECURE):
        return -errno.EINVAL
    # The kernel caps the length at MAX_RW_COUNT, refuses a buffer outside user space
    # (EFAULT, for no bytes too) and returns what it copied before a fault, EFAULT
    # when nothing
    length = min(length, _MAX_RW_COUNT)
    if not in_user_space(buf, length):
        return -errno.EFAULT
    done = 0
    while done < length:
        size = min(length - done, _RANDOM_CHUNK)
        written = ctx.mem.write_partial(buf + done, ctx.engine.random_bytes(size))
        done += written
        if written < size:
            return done or -errno.EFAULT
    return done


def _open(ctx, path_reg: str, path_ptr: int, dirfd: int | None, flags: int,
          flags_reg: str | None = None):
    """open(2)/openat(2): /dev/urandom and /dev/random become a file of seeded bytes,
    /etc's name files the host's own (net), /proc/<pid> paths name the host's
    processes (procfs), a terminal may become the controlling one (tty), a FIFO's
    blocking open waits in the host (fifos; ``flags_reg``: where the flags are)."""
    path = procfs.read_path(ctx, path_ptr)
    if path is None:
        return Native()  # the kernel will answer EFAULT or ENAMETOOLONG itself
    if path in _RANDOM_DEVICES:
        return _native_with_path(ctx, path_reg, os.fsencode(ctx.engine.random_device_file()))
    if (etc := net.etc_view(ctx, path)) is not None:
        return _native_with_path(ctx, path_reg, os.fsencode(etc))
    if path[:5] == b"/dev/" and (opened := tty.on_open(ctx, path_reg, path, flags)) is not None:
        return opened
    if cgroupfs.might_be_list(path) and (
            listed := cgroupfs.on_open(ctx, path, None if dirfd is None else s32(dirfd),
                                       u32(flags))) is not None:
        return _native_with_path(ctx, path_reg, listed)
    if flags_reg is not None and not path.startswith(_NO_FIFOS) and (
            waited := fifos.on_open(ctx, flags_reg, path, dirfd, flags)) is not None:
        return waited
    if path.find(b"proc") < 0 and path[:1] == b"/":
        return Native()  # most opens: nothing to translate
    new = procfs.translate(ctx, path, dirfd)
    if new is None:
        return Native()
    if isinstance(new, int):
        return new
    return _native_with_path(ctx, path_reg, new)


@handles("open")
def open_(ctx, path, flags, *_):
    return _open(ctx, "rdi", path, None, flags, "rsi")


@handles("openat")
def openat(ctx, dirfd, path, flags, *_):
    return _open(ctx, "rsi", path, dirfd, flags, "rdx")


@handles("openat2")
def openat2(ctx, dirfd, path, how, size, *_):
    # its RESOLVE_* flags judge the path the kernel gets, as they would the program's
    try:
        flags = ctx.mem.read_u64(how) if size >= 8 else 0
    except OSError:
        flags = O_NOCTTY  # the kernel will answer EFAULT itself
    return _open(ctx, "rsi", path, dirfd, flags)


@handles("uname")
def uname(ctx, buf, *_):
    real = os.uname()
    hostname, domainname = _uts_names(ctx)
    fields = (real.sysname, hostname, real.release, real.version, real.machine, domainname)
    ctx.mem.write(buf, b"".join(struct.pack("65s", f.encode()[:64]) for f in fields))
    return 0


def _uts_names(ctx):
    return ctx.engine.uts.names(ctx.proc.pid, uts_key(ctx.task.native))


@handles("sethostname", "setdomainname")
def sethostname(ctx, name, length, *_):
    # kernel/sys.c: EPERM without CAP_SYS_ADMIN, EINVAL for a negative length or one
    # past __NEW_UTS_LEN, then EFAULT; kernel/uts.py keeps the names (the machine's
    # namespace's are not the host's to change: EPERM)
    if not capable(ctx, CAP_SYS_ADMIN):
        return -errno.EPERM
    if not 0 <= s32(length) <= HOST_NAME_MAX:
        return -errno.EINVAL
    try:
        raw = ctx.mem.read(name, s32(length)) if s32(length) else b""
    except OSError:
        return -errno.EFAULT
    which = HOSTNAME if ctx.nr == _SETHOSTNAME else DOMAINNAME
    try:
        ctx.engine.uts.set(ctx.proc.pid, uts_key(ctx.task.native), which,
                           raw.decode("utf-8", "surrogateescape"))
    except KernelError as exc:
        return -exc.errno
    return 0


@handles("getcpu")
def getcpu(ctx, cpu_ptr, node_ptr, *_):
    # One program of a host runs at a time; it is said to run on the first CPU of its
    # mask (sched_setaffinity(2)), CPU 0 until it set one (the host's vDSO asks here).
    affinity = ctx.proc.affinity
    if cpu_ptr:
        ctx.mem.write(cpu_ptr, struct.pack("<I", min(affinity) if affinity else 0))
    if node_ptr:
        ctx.mem.write(node_ptr, struct.pack("<I", 0))
    return 0


def cpu_mask(cpus, size: int) -> bytes:
    """``size`` bytes of a cpu_set_t holding ``cpus`` (CPU_SET(3))."""
    bits = sum(1 << c for c in cpus if c < size * 8)
    return bits.to_bytes(size, "little")


@handles("sched_getaffinity")
def sched_getaffinity(ctx, pid, size, mask_ptr, *_):
    """The machine's CPUs, those the test process may run on, whatever task is named:
    nproc(1) in a host and os.cpu_count() or psutil in the test agree, as sysconf(3)'s
    _SC_NPROCESSORS_ONLN, /proc/cpuinfo and /proc/stat already did (natively the host
    pins its tracees to one CPU, its tracer's). The call runs natively on the caller,
    for the kernel's checks of the size (EINVAL, before the pid) and of the buffer
    (EFAULT, after it); a zombie still has a mask."""
    pid = s32(pid)
    task = ctx.engine.tasks_by_tid.get(pid)
    proc = ctx.proc if pid in (0, ctx.proc.pid) else (
        task.proc if task is not None else ctx.table.get(pid))
    found = proc is not None

    def machine_cpus(c, written):
        if written < 0 and (written != -errno.EFAULT or found):
            return written
        if not found:
            return -errno.ESRCH
        if written > 0:
            c.mem.write(mask_ptr, cpu_mask(proc.affinity or c.engine.cpus, written))
        return written

    return Native(regs={"rdi": 0}, on_exit=machine_cpus)


# struct sysinfo (sysinfo(2)) on x86_64: uptime and the three loads (longs) at 0, the
# process count (an unsigned short) at 80
_SYSINFO_TIMES = struct.Struct("<qQQQ")
_SYSINFO_PROCS = 80


@handles("sysinfo")
def sysinfo(ctx, info, *_):
    """sysinfo(2): the memory and swap figures are the machine's (as /proc/meminfo is);
    the uptime, loads and task count the host's, as its /proc/uptime and /proc/loadavg
    say: whole seconds since its boot rounded up, in the caller's time namespace's
    CLOCK_BOOTTIME, no load."""
    def hosts(c, result):
        if result == 0:
            engine = c.engine
            up = engine.procview.boottime_ns(c.proc.pid)  # since its boot, as /proc/uptime
            c.mem.write(info, _SYSINFO_TIMES.pack(-(-up // 1_000_000_000), 0, 0, 0))
            c.mem.write(info + _SYSINFO_PROCS,
                        struct.pack("<H", engine.procview.task_count() & 0xFFFF))
        return result

    return Native(on_exit=hosts)
