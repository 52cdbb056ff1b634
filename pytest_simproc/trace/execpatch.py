"""Fixing up a freshly exec'd image before its first instruction runs.

- AT_SYSINFO_EHDR points at the host's own vDSO (trace/vdso.py), whose clocks read
  virtual time; where none could be mapped it becomes AT_IGNORE: without a vDSO,
  glibc and musl make real clock_gettime/gettimeofday/time system calls, which the
  filter traps (getauxval(3)).
- The 16 AT_RANDOM bytes (stack canary, pointer guard, hash seeds) come from the
  host's seeded generator.
"""
from __future__ import annotations

import struct

AT_NULL, AT_IGNORE, AT_RANDOM, AT_SYSINFO_EHDR = 0, 1, 25, 33
_CHUNK = 4096


def _words(mem, addr: int):
    """Yield (address, value) of consecutive 8-byte words starting at ``addr``."""
    while True:
        data = mem.peek(addr, _CHUNK - (addr % _CHUNK) or _CHUNK)
        for i in range(0, len(data) - 7, 8):
            yield addr + i, struct.unpack_from("<Q", data, i)[0]
        addr += len(data) - (len(data) % 8)


def patch_auxv(mem, rsp: int, random_bytes, vdso=None) -> None:
    """Walk argc, argv, envp and auxv from the initial stack pointer and patch auxv.
    ``vdso()``: maps the host's vDSO in place of the machine's, returns its address
    or None."""
    words = _words(mem, rsp)
    _, argc = next(words)
    for _ in range(argc + 1):  # argv pointers and their NULL
        next(words)
    for _, value in words:  # envp up to its NULL
        if value == 0:
            break
    while True:
        addr, a_type = next(words)
        _, a_val = next(words)
        if a_type == AT_NULL:
            return
        if a_type == AT_SYSINFO_EHDR:
            ours = vdso() if vdso is not None else None
            if ours is None:
                mem.poke(addr, struct.pack("<Q", AT_IGNORE))
            else:
                mem.poke(addr + 8, struct.pack("<Q", ours))
        elif a_type == AT_RANDOM:
            mem.poke(a_val, random_bytes(16))
