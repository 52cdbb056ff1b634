"""Calls that change the real machine rather than a process: rebooting, loading kernel
modules, mounting, swap, process accounting, the kernel log, I/O ports, a hang-up of
the caller's terminal.

Run natively by a root tracee (as in CI), they would change the machine the tests run
on, outside the host. The host answers as the kernel answers an unprivileged user,
EPERM (reboot(2), init_module(2), mount(2), ... "the caller lacks the capability"),
and reports each one. Reading the kernel log passes; clearing it is refused.
"""
from __future__ import annotations

import errno

from .args import s32
from .time import capable
from .outcome import Native
from .registry import handles

_MACHINE_WIDE = (
    "reboot", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "swapon", "swapoff", "acct", "mount", "umount2", "pivot_root",
    "mount_setattr", "move_mount", "fsmount", "iopl", "ioperm",
)
# syslog(2) actions that change the log or the console: CLOSE, OPEN, READ_CLEAR,
# CLEAR, CONSOLE_OFF, CONSOLE_ON, CONSOLE_LEVEL
_SYSLOG_CHANGES = frozenset({0, 1, 4, 5, 6, 7, 8})


def _refuse(ctx) -> int:
    ctx.engine.refuse(ctx, f"{ctx.name} would change the real machine, not the host: "
                           "refused with EPERM, as for an unprivileged user")
    return -errno.EPERM


@handles(*_MACHINE_WIDE)
def machine_wide(ctx, *_):
    return _refuse(ctx)


CAP_SYS_TTY_CONFIG = 26  # capabilities(7)


@handles("vhangup")
def vhangup(ctx, *_):
    """vhangup(2) hangs up the caller's controlling terminal, which is the host's
    (kernel/tty.py), never a native one of the programs: without one the call does
    nothing after its capability check (EPERM); with one it is refused, as the
    terminal's native descriptors cannot be hung up for the host alone."""
    if not capable(ctx, CAP_SYS_TTY_CONFIG):
        return -errno.EPERM
    if ctx.proc.ctty is None:
        return 0
    return _refuse(ctx)


@handles("syslog", when=(0, _SYSLOG_CHANGES))
def syslog(ctx, action, *_):
    return _refuse(ctx) if s32(action) in _SYSLOG_CHANGES else Native()
