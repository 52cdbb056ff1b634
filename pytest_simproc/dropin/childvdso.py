"""A child the test forked reads the host's clocks from C too, not only from Python.

A forked copy of pytest keeps the machine's vDSO, where glibc found clock_gettime,
gettimeofday and time at start-up: forking.py's child makes Python's clocks plain
system calls (the host's filter traps them), but C code read the machine's clock and
waited on the host's. multiprocessing's ``Event.wait(timeout)`` (SemLock) computes an
absolute CLOCK_REALTIME deadline for sem_timedwait(3) from the vDSO: 2026 against a
host in 2000, so a forked reader's 30 s wait never ended (filelock's
test_write_non_starvation); threading's timed lock waits and the GIL's do the same
with CLOCK_MONOTONIC. Here the child, once it has joined and before it installs the
filter, turns each of those vDSO functions into its system call (``mov eax, NR;
syscall; ret``: their arguments and results are the call's), written through
/proc/self/mem as a debugger writes a breakpoint (the page becomes the process's
own copy); the trapped calls are answered with the host's time. Its forks inherit
the copy; an exec gets the host's own vDSO (trace/vdso.py).
"""
from __future__ import annotations

import ctypes
import os

from ..trace.vdso import _dynamic_symbol

# the machine vDSO's entry points (vdso(7), x86_64) and their system calls
_CALLS = {"__vdso_clock_gettime": 228, "__vdso_gettimeofday": 96, "__vdso_time": 201}


def _machine_vdso() -> tuple[int, int] | None:
    """(address, length) of this process's [vdso] mapping, None without one."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            if line.rstrip().endswith("[vdso]"):
                start, end = (int(x, 16) for x in line.split()[0].split("-"))
                return start, end - start
    return None


def trap_clock_reads() -> None:
    """Make the vDSO's clock functions system calls (see the module's docstring);
    nothing where there is no vDSO or it has none of them."""
    found = _machine_vdso()
    if found is None:
        return
    base, length = found
    elf = ctypes.string_at(base, length)
    stubs = []
    for name, number in _CALLS.items():
        try:
            offset, size = _dynamic_symbol(elf, name)
        except LookupError:
            continue
        stub = b"\xb8" + number.to_bytes(4, "little") + b"\x0f\x05\xc3"
        if size >= len(stub):
            stubs.append((base + offset, stub))
    if not stubs:
        return
    try:  # else the clocks stay the machine's, as before; the child must still join
        fd = os.open("/proc/self/mem", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return
    try:
        for address, stub in stubs:
            os.pwrite(fd, stub, address)
    except OSError:
        pass
    finally:
        os.close(fd)
