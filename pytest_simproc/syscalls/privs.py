"""no_new_privs as the program set it, not as the host did.

The host installs its seccomp filter in every program, which takes the no_new_privs
bit (seccomp(2)), so natively every program has it from its first instruction:
PR_GET_NO_NEW_PRIVS said 1 and a seccomp filter could be installed without
CAP_SYS_ADMIN. Here each process has its own bit in the model (the machine's test
process's at the start, inherited by fork and kept across execve, set only by
PR_SET_NO_NEW_PRIVS: prctl(2)); PR_GET_NO_NEW_PRIVS and /proc/N/status read it, and a
filter (PR_SET_SECCOMP or seccomp(2) SECCOMP_SET_MODE_FILTER) is refused with EACCES
without it or CAP_SYS_ADMIN, after the kernel's own EINVAL and EFAULT. The bit is the
process's (the kernel keeps one per thread).
"""
from __future__ import annotations

import errno
import struct

from .args import u32
from .outcome import Native
from .registry import handles
from .time import CAP_SYS_ADMIN, capable

PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 22, 38, 39
OPTIONS = (PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS)
SECCOMP_MODE_FILTER = 2                          # prctl(2)'s name
SECCOMP_SET_MODE_FILTER = 1                      # seccomp(2)'s
# seccomp(2) filter flags: TSYNC, LOG, SPEC_ALLOW, NEW_LISTENER, TSYNC_ESRCH,
# WAIT_KILLABLE_RECV
_TSYNC, _NEW_LISTENER, _TSYNC_ESRCH = 1, 8, 16
_FILTER_FLAGS = 0x3F
_BPF_MAXINSNS = 4096

_machine_bit: bool | None = None


def _machine_no_new_privs() -> bool:
    """The test process's bit, which a program it started natively would inherit."""
    global _machine_bit
    if _machine_bit is None:
        _machine_bit = False
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"NoNewPrivs:"):
                    _machine_bit = line.split()[1] == b"1"
    return _machine_bit


def no_new_privs(proc) -> bool:
    """Process ``proc``'s no_new_privs bit."""
    return _machine_no_new_privs() if proc.no_new_privs is None else proc.no_new_privs


def prctl(ctx, option: int, arg2: int, arg3: int, arg4: int, arg5: int):
    """PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS and PR_SET_SECCOMP (prctl(2))."""
    if option == PR_SET_NO_NEW_PRIVS:
        if arg2 != 1 or arg3 or arg4 or arg5:
            return -errno.EINVAL
        ctx.proc.no_new_privs = True
        return 0
    if option == PR_GET_NO_NEW_PRIVS:
        if arg2 or arg3 or arg4 or arg5:
            return -errno.EINVAL
        return int(no_new_privs(ctx.proc))
    if arg2 == SECCOMP_MODE_FILTER:
        return _filter(ctx, arg3)
    return Native()


@handles("seccomp")
def seccomp(ctx, operation, flags, args, *_):
    operation, flags = u32(operation), u32(flags)
    if operation != SECCOMP_SET_MODE_FILTER or flags & ~_FILTER_FLAGS or (
            flags & _TSYNC and flags & _NEW_LISTENER and not flags & _TSYNC_ESRCH):
        return Native()  # the kernel's answer (EINVAL), or no filter
    return _filter(ctx, args)


def _filter(ctx, fprog: int):
    """A new filter, whose struct sock_fprog is at ``fprog``: EACCES without
    no_new_privs or CAP_SYS_ADMIN, once the kernel would have read the struct (EFAULT)
    and judged its length (EINVAL) (seccomp(2))."""
    try:
        length = struct.unpack_from("<H", ctx.mem.read(fprog, 16))[0]  # len, pad, filter
    except OSError:
        return Native()
    if not 0 < length <= _BPF_MAXINSNS:
        return Native()
    if not no_new_privs(ctx.proc) and not capable(ctx, CAP_SYS_ADMIN):
        return -errno.EACCES
    return Native()
