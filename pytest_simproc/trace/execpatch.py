"""Fixing up a freshly exec'd image before its first instruction runs.

- AT_SYSINFO_EHDR points at the host's own vDSO (trace/vdso.py), whose clocks read
  virtual time; where none could be mapped it becomes AT_IGNORE: without a vDSO,
  glibc and musl make real clock_gettime/gettimeofday/time system calls, which the
  filter traps (getauxval(3)).
- The 16 AT_RANDOM bytes (stack canary, pointer guard, hash seeds) come from the
  host's seeded generator.
"""
from __future__ import annotations

import array
import struct

AT_NULL, AT_IGNORE, AT_RANDOM, AT_SYSINFO_EHDR = 0, 1, 25, 33
_CHUNK = 4096


class _Stack:
    """The 8-byte words of a new program's stack from ``addr`` up, read a page at a
    time as they are asked for, into an array (argv, envp and auxv are a hundred words
    and more: a Python step and an int each cost a spawn tens of microseconds)."""

    def __init__(self, mem, addr: int):
        self.mem, self.addr, self.words = mem, addr, array.array("Q")

    def _more(self) -> None:
        at = self.addr + 8 * len(self.words)
        data = self.mem.peek(at, _CHUNK - (at % _CHUNK) or _CHUNK)
        self.words.frombytes(data[:len(data) - len(data) % 8])

    def __getitem__(self, i: int) -> int:
        while i >= len(self.words):
            self._more()
        return self.words[i]

    def zero_from(self, i: int) -> int:
        """The index of the first zero word at or after ``i``."""
        while True:
            try:
                return self.words.index(0, i)
            except ValueError:
                self._more()


def patch_auxv(mem, rsp: int, random_bytes, vdso=None) -> None:
    """Walk argc, argv, envp and auxv from the initial stack pointer and patch auxv.
    ``vdso()``: maps the host's vDSO in place of the machine's, returns its address
    or None."""
    stack = _Stack(mem, rsp)
    at = stack.zero_from(stack[0] + 2) + 1  # past argc, argv and its NULL, envp's NULL
    while True:
        a_type, a_val = stack[at], stack[at + 1]
        addr = rsp + 8 * at
        at += 2
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
