"""Reading and writing a stopped tracee's memory through /proc/PID/mem.

One pread/pwrite per access, whatever the length, and writes go through even to
read-only pages (proc(5): /proc/pid/mem, with ptrace access mode). The file is bound
to the address space it was opened on, so it is reopened after every execve.
"""
from __future__ import annotations

import os
import struct

from . import ptrace_ops as pt


class TraceeMemory:
    def __init__(self, native_pid: int):
        self.native_pid = native_pid
        self._fd = -1

    def _file(self) -> int:
        if self._fd < 0:
            self._fd = os.open(f"/proc/{self.native_pid}/mem", os.O_RDWR | os.O_CLOEXEC)
        return self._fd

    def reopen(self) -> None:
        """The address space changed (execve): drop the old file."""
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def read(self, addr: int, size: int) -> bytes:
        data = os.pread(self._file(), size, addr)
        if len(data) != size:
            raise OSError(14, f"short read of tracee memory at {addr:#x}")  # EFAULT
        return data

    def write(self, addr: int, data: bytes) -> None:
        if os.pwrite(self._file(), data, addr) != len(data):
            raise OSError(14, f"short write of tracee memory at {addr:#x}")

    def read_u64(self, addr: int) -> int:
        return struct.unpack("<Q", self.read(addr, 8))[0]

    def write_i32(self, addr: int, value: int) -> None:
        if self._fd < 0 and addr % 4096 <= 4096 - 8:
            # A lone small write (a new child's tid): two ptrace calls instead of
            # opening the file for it.
            try:
                word = pt.peekdata(self.native_pid, addr)
                word = (word & ~0xFFFFFFFF) | (value & 0xFFFFFFFF)
                pt.pokedata(self.native_pid, addr, word)
                return
            except pt.PtraceError as exc:
                raise OSError(14, f"bad address {addr:#x}") from exc
        self.write(addr, struct.pack("<i", value))

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string, read page by page so it never crosses into an
        unmapped page it does not need."""
        out = bytearray()
        fd = self._file()
        while len(out) < limit:
            chunk = 4096 - (addr % 4096)
            try:
                data = os.pread(fd, chunk, addr)
            except OSError:
                data = b""
            if not data:
                raise OSError(14, f"bad string address {addr:#x}")
            nul = data.find(b"\0")
            if nul >= 0:
                out += data[:nul]
                return bytes(out[:limit])
            out += data
            addr += len(data)
        return bytes(out[:limit])
