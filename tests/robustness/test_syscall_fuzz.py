"""Hostile arguments to the simulated calls get what the kernel gives, and the host
survives them; so do arguments the kernel gets as the program passed them, in memory
the program cannot write.

tests/programs/fuzzcalls.c runs raw system calls from its stdin, one a line, and prints
each result and errno. A batch of calls runs once natively and once in a host, and the
two outputs must be the same line by line, the host process must exit 0 and the host
must not fail.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pytest_simproc import Exited, SimHost

PROGRAMS_DIR = Path(__file__).resolve().parents[1] / "programs"

@pytest.fixture(scope="module")
def build(c_programs):
    return c_programs(PROGRAMS_DIR, "fuzz-programs")


@pytest.fixture(scope="module")
def harness(build):
    return build("fuzzcalls")


def run_both(path: str, lines: list[str], tmp: Path) -> tuple[list[str], list[str]]:
    """The batch natively (stdin and stdout regular files, as in a host) and in a host."""
    script = ("\n".join(lines) + "\n").encode()
    (tmp / "in").write_bytes(script)
    with open(tmp / "in", "rb") as stdin, open(tmp / "out", "wb") as stdout:
        res = subprocess.run([path], stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                             timeout=60)
    assert (res.returncode, res.stderr) == (0, b""), "native run"
    native = (tmp / "out").read_text().splitlines()
    with SimHost(hostname="fuzz", watchdog_timeout=20) as host:
        proc = host.spawn([path], stdin=script)
        host.run()
        assert (proc.exit_status, proc.stderr) == (Exited(0), b""), "in host"
        simulated = proc.stdout.decode().splitlines()
    return native, simulated


def assert_same(lines, native, simulated) -> None:
    __tracebackhide__ = True
    assert len(native) == len(lines)
    diffs = [f"{line}: native {n!r}, host {h!r}"
             for line, n, h in zip(lines, native, simulated) if n != h]
    assert not diffs and len(simulated) == len(native), "\n".join(diffs) or simulated


# What the fuzzer found, one line each: the host answered differently (the check
# order, or a value) until the fix named beside it.
FOUND = [
    "clock_gettime -1 ro",                   # CPU clock of type 3: EINVAL
    "clock_getres pnobody end4",             # CPU clock of no process: EINVAL
    "clock_nanosleep 3 0 0 0 null null",     # thread CPU clock: EOPNOTSUPP
    "clock_nanosleep 4 0 0 -1 mis ro",       # MONOTONIC_RAW cannot be slept on
    "clock_nanosleep -1 0 0 0 high none",    # the request is read before a CPU clock is checked
    "timer_create -2 0 0 self null null",    # the id is written (EFAULT) before the CPU clock...
    "timer_create pnobody 0 0 self null null",  # ...is checked
    "timer_create 0 2 32 self rw rw",        # a raw SIGEV_THREAD is SIGEV_SIGNAL
    "timer_create 4 0 10 self null rw",      # MONOTONIC_RAW has no timers: EOPNOTSUPP
    "timer_settime 0 0 0 0 0 0 null null",   # no new value: EINVAL
    "futex 1 0 0 0 0 null null null",        # a shared futex at NULL: EFAULT
    "futex 129 1 0 0 1 high none unm",       # beyond user space: EFAULT
    "futex 3 -1 0 0 0 kern mis end",         # a negative count: EINVAL first
    "futex 5 1 0 0 1 neg unm rw",            # misaligned: EINVAL
    "futex 3 0 0 0 0 ro rw end4",            # shared, read-only anonymous memory: EFAULT
    "waitid 3 0 1 end mis",                  # the siginfo is written after an error too
    "waitid 2 1 0 end4 mis",
    "rt_sigpending 4294967304 null",         # a size_t, not truncated
    "rt_sigaction 99 0 0 0 8 neg null",      # the action is read before the signal is checked
    "kill -99999999 2147483647",             # the target is looked up before the signal
    "tkill nobody 2147483647",
    "rt_sigqueueinfo self 2147483647 0 null",  # the siginfo is read first
    "rt_sigqueueinfo nobody 10 0 rw",        # a kernel si_code for another process: EPERM
    "prctl 1 4294967297",                    # an unsigned long, not truncated
    "poll 0 1 -1 high",                      # no entries, but the array beyond user space
    "getrandom 5000 2 end4",                 # a partial count, not EFAULT
    "getrandom 0 0 high",
    "setrlimit -1 1 none",                   # read before the resource is checked
    "prlimit64 nobody 16 0 rw null",         # the process before the resource
    "prlimit64 self 12 -2 ro end",           # the change checked before the old is written
    "sched_getaffinity nobody -1 end",       # the size before the pid
    "select 2 0 1000000 rw rw",              # whole seconds of tv_usec carried over
    "epoll_wait 100000000 0 rw",             # up to INT_MAX / 12 events
    "fork",
    "waitid 0 0 2 rw rw",                    # zombies only, without WEXITED: ECHILD
    "prlimit64 child 10 -2 mis rw",          # a zombie has limits
    "sched_getaffinity child 4096 none",     # and a CPU mask
]


def test_what_the_fuzzer_found(harness, tmp_path):
    native, simulated = run_both(harness, FOUND, tmp_path)
    assert_same(FOUND, native, simulated)


READONLY_ARGS = """\
F_SETOWN_EX 0 0
owner is self 1
FIOSETOWN 0 0
owner is self 1
capset 0 0
clone3 1 0
clone3 reaped 1 exit 3
clone 1 0
clone reaped 1 exit 4
parent word 0
""".splitlines()


def test_read_only_arguments_the_host_rewrites(build, tmp_path):
    """The structures the host changes for the native call (an owner's pid, capset's
    pid, clone3's flags) in read-only memory: the kernel only reads them, so the calls
    work; clone's tid pointers at a read-only word are skipped, as by the kernel."""
    native, simulated = run_both(build("readonly_args"), [], tmp_path)
    assert native == READONLY_ARGS
    assert simulated == READONLY_ARGS
