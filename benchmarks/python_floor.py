"""Where workload (c)'s time goes: fork + exit + reap under simproc, against a tracer
written in Python that simulates nothing.

    python benchmarks/python_floor.py [--reps 7]

Four rows, each the marginal cost per child (fork_reap 1,000 vs 4,000) as a median:
native; the Python floor (simproc's own spawn, seccomp filter and CPU pinning, the same
calls trapped as benchmarks/run.py's C floor traps, every stop resumed at once with
PTRACE_CONT); the same with the registers read and written back at each trapped call
(the least a simulator must do to answer one); simproc. For the tracers, the tracer
thread's CPU time too. What simproc costs over the second floor is its simulation:
the kernel model, the scheduler, its bookkeeping, and the requests beyond registers.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from pytest_simproc import SimHost
from pytest_simproc import engine as simproc_engine
from pytest_simproc.syscalls import syscall_number
from pytest_simproc.trace import ptrace_ops as pt
from pytest_simproc.trace.seccomp import PreparedFilter, build_filter
from pytest_simproc.trace.spawn import spawn_traced

SMALL, LARGE = 1_000, 4_000
TRAPPED = frozenset(syscall_number(n) for n in ("clone", "clone3", "fork", "vfork", "wait4"))


def native(prog: str, n: int) -> tuple[float, float]:
    t = time.perf_counter()
    subprocess.run([prog, str(n)], check=True)
    return time.perf_counter() - t, 0.0


def python_floor(prog: str, n: int, with_registers: bool) -> tuple[float, float]:
    """Trace ``prog n`` and its children, resuming every stop at once."""
    cpus = os.sched_getaffinity(0)
    cpu = min(cpus)
    os.sched_setaffinity(0, {cpu})  # tracer and tracees on one CPU, as simproc does
    try:
        t, c = time.perf_counter(), time.thread_time()
        pid = spawn_traced(prog, [prog, str(n)], dict(os.environ), None, (0, 1, 2),
                           PreparedFilter(build_filter(TRAPPED)), cpu=cpu)
        # simproc's options less O_TRACEVFORK's events: children come from CLONE_PTRACE
        # in simproc; here the kernel's fork events attach them
        pt.setoptions(pid, pt.TRACER_OPTIONS | pt.O_TRACEFORK | pt.O_TRACECLONE)
        pt.cont(pid)
        # waitpid(-1) may also report other children of this process; a child may end
        # before its parent's fork event is seen
        alive, ended_early = {pid}, set()
        while alive:
            task, status = os.waitpid(-1, pt.WALL)
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                if task in alive:
                    alive.discard(task)
                else:
                    ended_early.add(task)
                if task == pid and os.waitstatus_to_exitcode(status) != 0:
                    raise RuntimeError(f"{prog} {n} failed under the floor tracer: "
                                       f"status {status:#x}")
                continue
            sig, event = os.WSTOPSIG(status), status >> 16
            if sig == signal.SIGTRAP and event:
                if event in (pt.EVENT_FORK, pt.EVENT_VFORK, pt.EVENT_CLONE):
                    child = pt.geteventmsg(task)
                    if child in ended_early:
                        ended_early.discard(child)
                    else:
                        alive.add(child)
                elif event == pt.EVENT_SECCOMP and with_registers:
                    pt.setregs(task, pt.getregs(task))
                pt.cont(task)
            else:
                pt.cont(task, 0 if sig in (signal.SIGSTOP, signal.SIGCHLD) else sig)
        return time.perf_counter() - t, time.thread_time() - c
    finally:
        os.sched_setaffinity(0, cpus)


def simproc(prog: str, n: int) -> tuple[float, float]:
    cpu = [0.0]
    run = simproc_engine.Engine.run

    def timed_run(self, *args, **kwargs):
        c = time.thread_time()
        try:
            return run(self, *args, **kwargs)
        finally:
            cpu[0] += time.thread_time() - c
    simproc_engine.Engine.run = timed_run
    try:
        t = time.perf_counter()
        with SimHost() as host:
            p = host.spawn([prog, str(n)])
            host.run()
            assert p.returncode == 0, p.stderr
        return time.perf_counter() - t, cpu[0]
    finally:
        simproc_engine.Engine.run = run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory(prefix="simproc-floor-") as bindir:
        prog = os.path.join(bindir, "fork_reap")
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-o", prog,
                        os.path.join(here, "programs", "fork_reap.c")], check=True)
        rows = {
            "native": lambda n: native(prog, n),
            "Python floor (PTRACE_CONT only)": lambda n: python_floor(prog, n, False),
            "Python floor + GETREGS/SETREGS": lambda n: python_floor(prog, n, True),
            "simproc": lambda n: simproc(prog, n),
        }
        marginal = {name: ([], []) for name in rows}
        for _ in range(args.reps):
            for name, measure in rows.items():  # interleaved: drifts hit every row alike
                (w1, c1), (w2, c2) = measure(SMALL), measure(LARGE)
                marginal[name][0].append((w2 - w1) / (LARGE - SMALL) * 1e6)
                marginal[name][1].append((c2 - c1) / (LARGE - SMALL) * 1e6)
    print(f"fork + exit + reap, marginal µs per child ({SMALL:,} vs {LARGE:,} children), "
          f"medians of {args.reps}; load {os.getloadavg()[0]:.2f}\n")
    print("| | wall µs | tracer CPU µs |\n|---|---:|---:|")
    for name, (wall, cpu) in marginal.items():
        cpu_cell = f"{statistics.median(cpu):.0f}" if name != "native" else ""
        print(f"| {name} | {statistics.median(wall):.0f} | {cpu_cell} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
