"""System call handlers, one module per family (process, signal, time, timer, resource,
io, net, thread, sched, observe, owner, ioctl, machine, misc, ipc, locks).

A handler is a small function ``handler(ctx, *raw_args) -> outcome``: it decodes its
arguments, asks the simulated kernel, writes results into the tracee's memory through
``ctx.mem`` and returns an outcome (see ``outcome``). Handlers never touch ptrace.
"""
from .registry import (CONDITIONAL, HANDLERS, UNSUPPORTED, intercepted_numbers, syscall_name,
                       syscall_number)

# Importing the families registers their handlers.
from . import (process, signal, time, timer, resource, io, net, thread, sched, observe,
               owner, ioctl, machine, misc, ipc, locks, filetimes)  # noqa: E402,F401

__all__ = ["CONDITIONAL", "HANDLERS", "UNSUPPORTED", "intercepted_numbers", "syscall_name", "syscall_number"]
