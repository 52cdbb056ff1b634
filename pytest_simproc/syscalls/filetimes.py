"""File times read and written by the programs are the host's clock's (kernel/filetimes.py).

stat(2), lstat, fstat, newfstatat and statx(2) run natively; at their exit the times in
the program's buffer (atime, mtime, ctime; statx's btime too, each where its mask says
the kernel filled it) are turned into the host's. That costs the call a second stop.
utimensat(2) (glibc's and Python's utime, utimes, futimens; touch) stores an explicit
time as the real instant the host's clock showed it; UTIME_NOW and a NULL ``times``
stay the kernel's (its permission rules differ from an explicit time's: utimensat(2),
"Permissions requirements"), the map told the host's now just before, so the stamp
reads as that. Paths under /proc are translated first (procfs.py); a call whose path
was rewritten keeps the times it gave. utime(2), utimes(2) and futimesat(2), which
glibc no longer calls, keep their times as given.
"""
from __future__ import annotations

import struct

from .outcome import Native, native_with_copy
from .procfs import path_call
from .registry import handles

NSEC = 1_000_000_000
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2   # linux/stat.h
# struct stat (x86_64): st_atim, st_mtim, st_ctim from offset 72, timespecs
_STAT_TIMES, _TIMESPECS = 72, struct.Struct("=6q")
# struct statx: stx_mask at 0; stx_atime, btime, ctime, mtime from 64 (statx_timestamp:
# s64 seconds, u32 nanoseconds, s32 reserved), with their mask bits
_STATX_TIMES, _STATX_STAMPS = 64, struct.Struct("=qIi qIi qIi qIi")
_STATX_BITS = (0x20, 0x800, 0x80, 0x40)   # STATX_ATIME, BTIME, CTIME, MTIME


def _files(ctx):
    return ctx.engine.clock.files


def _host_stamp(files, sec: int, nsec: int) -> tuple[int, int]:
    return divmod(files.shown(sec * NSEC + nsec), NSEC)


def _stat_exit(buf: int):
    def on_exit(ctx, result: int) -> int:
        if result != 0:
            return result
        try:
            values = list(_TIMESPECS.unpack(ctx.mem.read(buf + _STAT_TIMES, _TIMESPECS.size)))
        except (OSError, OverflowError):
            return result
        files, given = _files(ctx), list(values)
        for i in (0, 2, 4):
            values[i], values[i + 1] = _host_stamp(files, values[i], values[i + 1])
        if values != given:   # a file from before the host keeps its times
            ctx.mem.write(buf + _STAT_TIMES, _TIMESPECS.pack(*values))
        return result
    return on_exit


def _statx_exit(buf: int):
    def on_exit(ctx, result: int) -> int:
        if result != 0:
            return result
        try:
            mask = struct.unpack("=I", ctx.mem.read(buf, 4))[0]
            values = list(_STATX_STAMPS.unpack(
                ctx.mem.read(buf + _STATX_TIMES, _STATX_STAMPS.size)))
        except (OSError, OverflowError):
            return result
        files, given = _files(ctx), list(values)
        for n, bit in enumerate(_STATX_BITS):
            if mask & bit:
                values[3 * n], values[3 * n + 1] = _host_stamp(
                    files, values[3 * n], values[3 * n + 1])
        if values != given:
            ctx.mem.write(buf + _STATX_TIMES, _STATX_STAMPS.pack(*values))
        return result
    return on_exit


def _with_exit(outcome, on_exit):
    if isinstance(outcome, Native):
        outcome.on_exit = on_exit
    return outcome


@handles("stat", "lstat")
def stat(ctx, _path, buf, *_):
    return _with_exit(path_call(ctx, "rdi", None), _stat_exit(buf))


@handles("fstat")
def fstat(ctx, _fd, buf, *_):
    return Native(on_exit=_stat_exit(buf))


@handles("newfstatat")
def newfstatat(ctx, dirfd, _path, buf, *_):
    return _with_exit(path_call(ctx, "rsi", dirfd), _stat_exit(buf))


@handles("statx")
def statx(ctx, dirfd, _path, _flags, _mask, buf, *_):
    return _with_exit(path_call(ctx, "rsi", dirfd), _statx_exit(buf))


@handles("utimensat")
def utimensat(ctx, dirfd, _path, times, *_):
    outcome = path_call(ctx, "rsi", dirfd)
    if not isinstance(outcome, Native) or outcome.regs:
        return outcome
    files, clock = _files(ctx), ctx.engine.clock
    if not times:
        files.note(clock.realtime_ns, force=True)
        return outcome
    try:
        values = list(struct.unpack("=4q", ctx.mem.read(times, 32)))
    except (OSError, OverflowError):
        return outcome   # EFAULT: the kernel's
    given = list(values)
    for i in (0, 2):
        nsec = values[i + 1]
        if nsec == UTIME_NOW:
            files.note(clock.realtime_ns, force=True)
        elif 0 <= nsec < NSEC:
            values[i], values[i + 1] = divmod(files.stored(values[i] * NSEC + nsec), NSEC)
    if values == given:
        return outcome
    return native_with_copy(ctx, "rdx", struct.pack("=4q", *values))
