"""Reads and writes that surely run natively, resumed at their stop.

Every read(2) and write(2) of a program stops (syscalls/io.py), and most cannot block:
a line to a pipe with room, a block of a file. For those the stop loop's full turn --
the call's context and record, its handler, the outcome, the run loop's checks and
the scheduler's pick -- cost the tracer more than the look that decides them. So the
stop loop asks :func:`absorb` first, at a seccomp stop of the task it just resumed:
when the call surely runs natively (io.runs_natively) and nothing the run loop would
do before resuming the task can happen (no signal pending, the CPU burst not due,
the task's quantum not used up, no CPU timer or limit to check, no log or hook that
wants the call), the call is charged and counted as its dispatch would, the run's
predicate is asked as the loop's next turn would, and the task is resumed at once.
Anything else is dispatched as before: the same outcomes, schedule and virtual time.

A blocking write to a pty is one the host finishes itself (io.py _send_from_host: no
poll tells whether a line fits a terminal). When the model would pass it unchanged,
the look finishes it too, through the host's duplicate (io.quick_write), and the task
is resumed at its stop with the count as the call's result, the call skipped, as its
dispatch would have written it back.
"""
from __future__ import annotations

import time
from select import POLLIN

from ..kernel.rlimits import RLIM_INFINITY, RLIMIT_CPU
from ..syscalls.args import s32
from ..syscalls.io import (FULL_PATH, NATIVELY, quick_reads_ok, quick_write, quick_writes_ok,
                           rest_of_write, runs_natively)
from ..syscalls.outcome import Native
from ..trace import ptrace_ops as pt
from ..trace.memory import next_stop, stops
from .records import SyscallContext, Task

_READ, _WRITE = 0, 1
_NO_CPU_LIMIT = (RLIM_INFINITY, RLIM_INFINITY)
_RESULT = pt.reg_mask(("orig_rax", "rax"))   # (engine/writeback.py: a skipped call)
_clock_gettime, _MONOTONIC = time.clock_gettime, time.CLOCK_MONOTONIC


def absorb(engine, task: Task, regs, args) -> bool:
    """At ``task``'s seccomp stop (``regs``, ``args``: its registers and arguments):
    True when the call was taken here and the task must be resumed (PTRACE_CONT) at
    once; False when the stop is to be dispatched, or, with ``task.stop`` set, when
    it was dispatched here: the run's predicate holds (engine.predicate_held), or a
    terminal filled half way through the write."""
    nr = regs.orig_rax
    if nr == _WRITE:
        if not quick_writes_ok(engine):
            return False
    elif nr != _READ or not quick_reads_ok(engine):
        return False
    burst, ns, sched = engine.burst, engine.cpu_ns_per_syscall, engine.sched
    if (engine.strace_recorded is None or nr in engine.strace_recorded
            or engine.injector is not None or nr in engine.extra_handlers
            or task.pending or task.native_parked or engine._cpu_armed
            or task.proc.rlimits[RLIMIT_CPU] != _NO_CPU_LIMIT
            or not sched.keeps_turn(task)):   # the pick would draw
        return False
    if burst.unapplied_ns + ns >= burst.threshold_ns and (
            engine.run_predicate is None or engine._until_ns > engine.clock.now_ns):
        return False   # the burst would move the clock, or end a run without a predicate
    if nr == _READ:
        if not runs_natively(engine, task, s32(args[0]), POLLIN):
            return False
        outcome = Native()
    else:
        written = quick_write(engine, task, s32(args[0]), args[1], args[2])
        if written == FULL_PATH:
            return False
        outcome = Native() if written == NATIVELY else written
    # the dispatch's part (engine/trap.py _dispatch, engine/decode.py _on_seccomp)
    stops[0] = next_stop()
    engine._charge_cpu(task.proc, engine.info[task.proc.pid], ns, ns >> 1)
    engine.calls_charged += 1
    task.last_syscall = nr
    task.regs = regs
    if type(outcome) is int and outcome < args[2]:
        # the terminal filled half way: the host finishes it, the task parked meanwhile
        _dispatched(engine, task, nr, args, regs,
                    lambda ctx: rest_of_write(ctx, args[0], args[1], args[2], outcome))
        return False
    # the run loop's next turn: its predicate, then the pick of the same task
    predicate = engine.run_predicate
    if predicate is not None:
        try:
            held = predicate()
        except BaseException:
            _dispatched(engine, task, nr, args, regs, lambda _ctx: outcome)
            raise
        if held:
            _dispatched(engine, task, nr, args, regs, lambda _ctx: outcome)
            engine.predicate_held = True
            return False
    if type(outcome) is int:   # written by the host: the call is skipped
        regs.orig_rax = pt.MASK64
        regs.rax = outcome
        pt.putregs(task.native, _RESULT, regs)
    sched.took_turn()
    watch = engine.watch   # (engine/trap.py _await: a new stop, a new slice)
    watch.since = _clock_gettime(_MONOTONIC)
    watch.epoch += 1
    return True


def _dispatched(engine, task: Task, nr: int, args, regs, outcome_of) -> None:
    """The task waits at its stop with its call decided by ``outcome_of(ctx)``, as
    after its dispatch (engine/decode.py _on_seccomp, _apply)."""
    task.stop = "seccomp"
    task.ctx = ctx = SyscallContext(engine, task, nr, args, regs)
    task.strace_call = None
    engine._apply(task, ctx, outcome_of(ctx))
