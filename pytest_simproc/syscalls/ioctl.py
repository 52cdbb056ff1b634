"""ioctl(2): the few requests that reach beyond the calling process. The filter traps
only these (the request is ioctl's second argument); every other request runs natively
without a stop.

- The owner of a descriptor's signal-driven I/O (syscalls/owner.py).
- Job control on a terminal (syscalls/tty.py): TIOCSCTTY, TIOCNOTTY, TIOCGPGRP,
  TIOCSPGRP, TIOCGSID, answered by the simulated kernel's controlling terminals.
- Faking terminal input: TIOCSTI pushes bytes into a terminal's input queue
  (ioctl_tty(2)), TIOCLINUX's selection paste into a virtual console's. The host's
  programs share the terminal pytest runs in (setsid(2) is simulated, not run), so
  these would type commands into the user's shell: refused, EPERM, and reported.
"""
from __future__ import annotations

import errno

from .outcome import Native
from .owner import OWNER_REQUESTS, ioctl_owner
from .registry import handles
from .tty import JOB_CONTROL_REQUESTS, job_control_ioctl

TIOCSTI, TIOCLINUX = 0x5412, 0x541C
_TERMINAL_INPUT = frozenset({TIOCSTI, TIOCLINUX})


@handles("ioctl", when=(1, OWNER_REQUESTS | _TERMINAL_INPUT | JOB_CONTROL_REQUESTS))
def ioctl(ctx, fd, request, arg, *_):
    request &= 0xFFFFFFFF
    if request in OWNER_REQUESTS:
        return ioctl_owner(ctx, request, arg)
    if request in JOB_CONTROL_REQUESTS:
        return job_control_ioctl(ctx, fd, request, arg)
    if request in _TERMINAL_INPUT:
        ctx.engine.refuse(ctx, "faking terminal input (TIOCSTI, TIOCLINUX) would type into "
                               "a terminal outside the host")
        return -errno.EPERM
    return Native()  # the strace log traps every ioctl
