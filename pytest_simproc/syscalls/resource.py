"""Resource limits. prlimit64 names its target by pid, so the pid is translated.

Limits themselves are still the real kernel's; the simulated rlimit table (defaults,
per-host overrides, NPROC/CPU enforcement) is not modelled yet.
"""
from __future__ import annotations

import errno

from .args import s32
from .outcome import Native
from .registry import handles


@handles("prlimit64")
def prlimit64(ctx, pid, *_):
    pid = s32(pid)
    if pid == 0 or pid == ctx.proc.pid:
        return Native(regs={"rdi": 0})
    native = ctx.engine.native_pid_of(pid)
    if native is None:
        return -errno.ESRCH
    return Native(regs={"rdi": native})
