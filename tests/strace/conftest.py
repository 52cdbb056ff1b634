"""Shared helpers for the strace-format tests: a fake tracee memory and call drivers.

Nothing here needs ptrace: a dict of address -> bytes stands in for the tracee.
"""
from __future__ import annotations

import struct

import pytest

from pytest_simproc.strace.format import SYSCALL_NUMBERS, format_line

START_NS = 946684800 * 1_000_000_000


class FakeMem:
    """Regions of bytes at addresses; reads outside them raise OSError(EFAULT)."""

    def __init__(self):
        self.regions: dict[int, bytes] = {}
        self._next = 0x7FFD_0000_1000

    def put(self, data: bytes, addr: int | None = None) -> int:
        if addr is None:
            addr = self._next
            self._next += (len(data) + 0x1000) & ~0xFFF
        self.regions[addr] = bytes(data)
        return addr

    def cstr(self, text) -> int:
        if isinstance(text, str):
            text = text.encode()
        return self.put(text + b"\0")

    def strings(self, items) -> int:
        """A NULL-terminated array of string pointers (argv/envp)."""
        ptrs = [self.cstr(s) for s in items]
        return self.put(struct.pack("<%dQ" % (len(ptrs) + 1), *ptrs, 0))

    def _find(self, addr: int):
        for base, data in self.regions.items():
            if base <= addr < base + len(data):
                return base, data
        return None, None

    def read(self, addr: int, n: int) -> bytes:
        if n == 0:
            return b""
        base, data = self._find(addr)
        if base is None or addr + n > base + len(data):
            raise OSError(14, "bad address %#x" % addr)
        return data[addr - base:addr - base + n]

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        base, data = self._find(addr)
        if base is None:
            raise OSError(14, "bad address %#x" % addr)
        s = data[addr - base:]
        nul = s.find(b"\0")
        if nul >= 0:
            s = s[:nul]
        return s[:limit]


@pytest.fixture
def mem():
    return FakeMem()


def nr(name: str) -> int:
    return SYSCALL_NUMBERS[name]


def line(name, args, result, mem, det=False, raw=False) -> str:
    """The -ff style line for one complete call; unless ``raw``, the alignment
    padding before " = " is collapsed to one space (alignment has its own tests)."""
    args = tuple(args) + (0,) * (6 - len(args))
    text = format_line(name, args, result, mem, det)
    return text if raw else collapse(text)


def collapse(text: str) -> str:
    """Drop strace's padding before the final " = "."""
    at = text.rfind(" = ")
    return text if at < 0 else text[:at].rstrip(" ") + text[at:]


def run(log, pid, name, args, result, mem, now_ns=START_NS):
    """Enter and leave one call on a StraceLog."""
    args = tuple(args) + (0,) * (6 - len(args))
    call = log.syscall_entry(pid, nr(name), args, mem, now_ns)
    log.syscall_exit(call, result, mem, now_ns)
    return call
