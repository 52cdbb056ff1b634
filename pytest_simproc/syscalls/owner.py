"""The owner of a descriptor's signal-driven I/O: fcntl(2) F_SETOWN and friends.

The owner is the process (or group) the kernel sends SIGIO/SIGURG to when I/O becomes
possible (fcntl(2) "Managing signals"). Set natively to a virtual pid it names some
real process, outside the host too, which the kernel then signals: a `sleep` outside
was killed by SIGIO this way. Only these commands stop the tracee (the filter looks at
the command: other fcntl and ioctl calls run natively). A host pid is translated, 0
clears the owner, anything else is ESRCH; an owner read back is the virtual pid, or 0
when it is not a process of the host (as in a pid namespace, pid_namespaces(7)).
Process-group owners are refused: the host's groups are not native ones.
"""
from __future__ import annotations

import errno
import struct

from .args import s32
from .outcome import Native, native_with_copy
from .registry import handles
from .sched import host_task, translated

F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX = 8, 9, 15, 16
F_SETLEASE, F_NOTIFY = 1024, 1026   # the caller becomes the owner (fcntl(2))
F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP = 0, 1, 2
# linux/sockios.h: the same owner through ioctl(2), an int pointed to by the argument
FIOSETOWN, SIOCSPGRP, FIOGETOWN, SIOCGPGRP = 0x8901, 0x8902, 0x8903, 0x8904


def _virtual_of(ctx, native: int) -> int:
    task = ctx.engine.tasks.get(native)
    return 0 if task is None or task.exiting else task.tid


def _refuse_group(ctx) -> int:
    ctx.engine.refuse(ctx, "a process group as the owner of signal-driven I/O: the "
                           "host's process groups are not native ones")
    return -errno.EPERM


def _set_owner(ctx, owner: int, prefix: bytes | None = None):
    """``owner`` > 0 a pid, < 0 a process group (fcntl(2) F_SETOWN): natively the native
    pid, in rdx (F_SETOWN) or in a copy of the structure rdx points to, whose bytes
    before the pid are ``prefix`` (F_SETOWN_EX's type, none for FIOSETOWN)."""
    if owner == 0:
        return Native()
    if owner < 0:
        return _refuse_group(ctx)
    task = host_task(ctx, owner)
    if task is not None:
        # the kernel signals it natively from now on (a blocked signal stays pending
        # there: sigtimedwait looks, syscalls/signal.py)
        ctx.engine.kernel_signalled.add(task.proc.pid)
    if prefix is None:
        return translated(ctx, "rdx", owner)
    if task is None:
        return -errno.ESRCH
    return native_with_copy(ctx, "rdx", prefix + struct.pack("<i", task.native))


def _virtual_owner(ctx, owner: int) -> int:
    return _virtual_of(ctx, owner) if owner > 0 else 0


@handles("fcntl", when=(1, {F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX, F_SETLEASE,
                            F_NOTIFY}))
def fcntl(ctx, fd, cmd, arg, *_):
    cmd = s32(cmd)
    if cmd in (F_SETLEASE, F_NOTIFY):
        def owns(c, result):
            if result == 0:
                c.engine.kernel_signalled.add(c.proc.pid)
            return result
        return Native(on_exit=owns)
    if cmd == F_SETOWN:
        return _set_owner(ctx, s32(arg))
    if cmd == F_GETOWN:
        return Native(on_exit=lambda c, result: _virtual_owner(c, result) if result >= 0
                      else result)
    if cmd == F_SETOWN_EX:
        kind, pid = struct.unpack("<ii", ctx.mem.read(arg, 8))
        if kind not in (F_OWNER_TID, F_OWNER_PID, F_OWNER_PGRP):
            return Native()  # the kernel's EINVAL
        if pid < 0:
            return -errno.ESRCH  # no process or group has a negative id (f_setown_ex)
        if kind == F_OWNER_PGRP and pid != 0:
            return _refuse_group(ctx)
        return _set_owner(ctx, pid, prefix=struct.pack("<i", kind))
    if cmd == F_GETOWN_EX:
        def owner_ex(c, result):
            if result == 0:
                kind, pid = struct.unpack("<ii", c.mem.read(arg, 8))
                virtual = _virtual_of(c, pid) if kind != F_OWNER_PGRP else 0
                c.mem.write(arg, struct.pack("<ii", kind if virtual else F_OWNER_PID, virtual))
            return result
        return Native(on_exit=owner_ex)
    return Native()  # the strace log traps every fcntl


OWNER_REQUESTS = frozenset({FIOSETOWN, SIOCSPGRP, FIOGETOWN, SIOCGPGRP})


def ioctl_owner(ctx, request, arg):
    """The ioctl(2) requests of OWNER_REQUESTS (syscalls/ioctl.py dispatches)."""
    if request in (FIOSETOWN, SIOCSPGRP):
        owner = struct.unpack("<i", ctx.mem.read(arg, 4))[0]
        return _set_owner(ctx, owner, prefix=b"")
    if request in (FIOGETOWN, SIOCGPGRP):
        def owner(c, result):
            if result == 0:
                native = struct.unpack("<i", c.mem.read(arg, 4))[0]
                c.mem.write(arg, struct.pack("<i", _virtual_owner(c, native)))
            return result
        return Native(on_exit=owner)
    raise ValueError(f"not an owner request: {request:#x}")
