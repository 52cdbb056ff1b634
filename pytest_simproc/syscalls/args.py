"""Decoding raw 64-bit register values into the C types the man pages declare."""
from __future__ import annotations

import errno
import functools
import struct


def s32(value: int) -> int:
    """int / pid_t argument."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >> 31 else value


def u32(value: int) -> int:
    return value & 0xFFFFFFFF


def s64(value: int) -> int:
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >> 63 else value


def pack_timespec(ns: int) -> bytes:
    return struct.pack("<qq", ns // 1_000_000_000, ns % 1_000_000_000)


def unpack_timespec(data: bytes) -> tuple[int, int]:
    return struct.unpack("<qq", data)


def read_timespec(ctx, ptr: int) -> int:
    """A struct timespec in the program's memory, as nanoseconds; ``Invalid`` (EINVAL)
    when negative or tv_nsec is out of range, as every call taking one says."""
    return checked_timespec(ctx.mem.read(ptr, 16))


def checked_timespec(data: bytes) -> int:
    sec, nsec = unpack_timespec(data)
    if sec < 0 or not 0 <= nsec < 1_000_000_000:
        raise Invalid()
    return sec * 1_000_000_000 + nsec


def checked_timeval(data: bytes) -> int:
    """A struct timeval as nanoseconds; ``Invalid`` (EINVAL) when negative or tv_usec
    is out of range (setitimer(2), settimeofday(2), select(2))."""
    sec, usec = struct.unpack("<qq", data)
    if sec < 0 or not 0 <= usec < 1_000_000:
        raise Invalid()
    return sec * 1_000_000_000 + usec * 1000


def read_timeval(ctx, ptr: int) -> int:
    """A struct timeval read whole (EFAULT first), then checked."""
    return checked_timeval(ctx.mem.read(ptr, 16))


class Invalid(Exception):
    """An argument out of range, found while decoding: the call fails with EINVAL."""


def einval_on_invalid(handler):
    """Turn ``Invalid`` raised while decoding into the EINVAL the man pages give."""
    @functools.wraps(handler)
    def wrapper(ctx, *args):
        try:
            return handler(ctx, *args)
        except Invalid:
            return -errno.EINVAL
    return wrapper


def efault_on_fault(callback):
    """A Block's ``on_timeout``/``on_interrupt`` runs outside the handler call that
    turns a bad pointer (OSError EFAULT) into the call's -EFAULT: do it here too."""
    @functools.wraps(callback)
    def wrapper(ctx):
        try:
            return callback(ctx)
        except OSError as exc:
            if exc.errno != errno.EFAULT:
                raise
            return -errno.EFAULT
    return wrapper
