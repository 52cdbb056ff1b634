"""Reading and writing a stopped tracee's memory through /proc/PID/mem.

One pread/pwrite per access, whatever the length, and writes go through even to
read-only pages (proc(5): /proc/pid/mem, with ptrace access mode). The file is bound
to the address space it was opened on, so it is reopened after every execve.
"""
from __future__ import annotations

import ctypes
import os
import struct


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


# process_vm_writev(2) for a lone small write into a process whose file is not open: one
# call (~3 us here), where PTRACE_PEEKDATA + POKEDATA cost two (~5.5 us) and opening
# the file an open and a close. Python has no binding for it. Its own libc handle: a
# handle's functions carry argtypes, which other modules set their own way.
_process_vm_writev = ctypes.CDLL(None, use_errno=True).process_vm_writev
_process_vm_writev.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_ulong,
                               ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
_process_vm_writev.restype = ctypes.c_ssize_t
_word = ctypes.c_int32()
_local = _IoVec(ctypes.addressof(_word), 4)
_remote = _IoVec(0, 4)
_local_ptr, _remote_ptr = ctypes.addressof(_local), ctypes.addressof(_remote)


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
        if self._fd < 0:
            # A lone small write (a new child's tid). Unlike the file, it does not
            # write through to read-only pages: then the file does it.
            _word.value = value
            _remote.base = addr
            if _process_vm_writev(self.native_pid, _local_ptr, 1, _remote_ptr, 1, 0) == 4:
                return
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
