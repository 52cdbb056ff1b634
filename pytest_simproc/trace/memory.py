"""Reading and writing a stopped tracee's memory, as the kernel would for its calls.

A pointer a program hands to a simulated call must get what the kernel gives it: EFAULT
for NULL, -1, an unmapped or PROT_NONE page, and a read-only page written to. ``read``,
``write``, ``write_i32`` and ``read_cstring`` use process_vm_readv/writev(2), which honour
page protections as the kernel's own copies from and to user memory do, and raise
OSError(EFAULT) for every bad pointer (the engine turns it into -EFAULT). An address
outside the user address space is refused without a system call.

``peek`` and ``poke`` are the host's own accesses, through /proc/PID/mem: they go through
page protections (proc(5): writes with ptrace access succeed on read-only pages), for
what the host must change whatever the program mapped (the auxv at exec). That file is
bound to the address space it was opened on, so it is reopened after every execve.
"""
from __future__ import annotations

import ctypes
import errno
import itertools
import os
import struct

_PAGE = 4096
# x86_64 with 4-level page tables: user space ends one page below 2**47 (the kernel's
# TASK_SIZE_MAX); access_ok() refuses any access beyond it. A copy of zero bytes never
# fails (copy_from_user/copy_to_user), but calls that check a range first
# (user_access_begin, import_ubuf) refuse an empty one out there too: in_user_space.
USER_END = (1 << 47) - _PAGE


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


# Python has no binding for process_vm_readv/writev. Own libc handle: a handle's
# functions carry argtypes, which other modules set their own way.
# No argtypes: the arguments are passed as ready ctypes objects (a pid is a C int),
# which spares a conversion of each per call (~0.6 us of ~3).
_libc = ctypes.CDLL(None, use_errno=True)
_process_vm_readv = _libc.process_vm_readv
_process_vm_writev = _libc.process_vm_writev
for _f in (_process_vm_readv, _process_vm_writev):
    _f.restype = ctypes.c_ssize_t
# One local and one remote iovec and a page of local buffer, reused by every call (the
# host has one thread touching tracee memory at a time): allocating them per call
# costs as much as the system call.
_local = _IoVec()
_remote = _IoVec()
_local_ptr = ctypes.c_void_p(ctypes.addressof(_local))
_remote_ptr = ctypes.c_void_p(ctypes.addressof(_remote))
_ONE, _NO_FLAGS = ctypes.c_ulong(1), ctypes.c_ulong(0)
_scratch = ctypes.create_string_buffer(_PAGE)
_scratch_addr, _scratch_view = ctypes.addressof(_scratch), memoryview(_scratch).cast("B")


try:  # the stop path's C extension (setup.py): the same calls without ctypes
    from ._ptrace import vm_read as _vm_read, vm_write as _vm_write
except ImportError:
    _vm_read = _vm_write = None


# The tracer's stop: a new number from next_stop() at every stop the engine dispatches
# (unique: hosts' tracer threads share it without a lock). Until the next one no tracee
# has run, so the bytes a write put at an address are what a read of exactly them
# would copy back: a call's result written and then logged (wait4's status, which the
# strace record decodes) is read without a process_vm_readv.
stops = [0]
next_stop = itertools.count(1).__next__


def _fault(addr: int, size: int, what: str) -> OSError:
    return OSError(errno.EFAULT, f"bad address for a {size}-byte {what} at {addr:#x}")


def in_user_space(addr: int, size: int) -> bool:
    """Whether access_ok() lets a call touch ``size`` bytes at ``addr``."""
    return 0 <= addr < USER_END and addr + size <= USER_END


class TraceeMemory:
    def __init__(self, native_pid: int):
        self.native_pid = native_pid
        self._fd = -1
        self._written = None   # (stops[0], address, bytes) of the last whole write

    # ------------------------------------------------------------ the program's view
    def read(self, addr: int, size: int) -> bytes:
        """``size`` bytes at ``addr``, or OSError(EFAULT) where the program could not
        read them."""
        if not size:
            return b""
        written = self._written
        if (written is not None and written[1] == addr and written[0] == stops[0]
                and len(written[2]) == size):
            return written[2]   # written at this stop: still there (see stops)
        if size < 0 or not 0 <= addr <= USER_END - size:   # in_user_space, inline
            raise _fault(addr, size, "read")
        if _vm_read is not None:
            data = _vm_read(self.native_pid, addr, size)
            if len(data) != size:
                raise _fault(addr, size, "read")
            return data
        buf = _scratch if size <= _PAGE else ctypes.create_string_buffer(size)
        _local.base, _local.len = ctypes.addressof(buf), size
        _remote.base, _remote.len = addr, size
        if _process_vm_readv(self.native_pid, _local_ptr, _ONE, _remote_ptr, _ONE, _NO_FLAGS) != size:
            raise _fault(addr, size, "read")
        return bytes(_scratch_view[:size]) if buf is _scratch else buf.raw

    def read_now(self, addr: int, size: int) -> bytes:
        """``read``, never answered from this stop's last write: memory that a process
        outside the host shares may have changed since."""
        self._written = None
        return self.read(addr, size)

    def write(self, addr: int, data: bytes) -> None:
        """Write ``data`` at ``addr``, or OSError(EFAULT) where the program could not
        (unmapped, PROT_NONE, read-only). A fault part-way may leave a prefix written,
        as the kernel's copy_to_user does."""
        if self.write_partial(addr, data) != len(data):
            raise _fault(addr, len(data), "write")
        self._written = (stops[0], addr, bytes(data))

    def write_partial(self, addr: int, data: bytes) -> int:
        """Write what the program could of ``data`` at ``addr``: the count of bytes
        written before the first page it cannot write (0 for none), as calls that
        return partial counts report it. OSError(EFAULT) outside user space."""
        size = len(data)
        self._written = None   # what it replaces may be part of it, whole or not
        if not size:
            return 0
        if not 0 <= addr <= USER_END - size:   # in_user_space (size > 0), inline
            raise _fault(addr, size, "write")
        if _vm_write is not None:
            return _vm_write(self.native_pid, addr, data)
        if size <= _PAGE:
            _scratch_view[:size] = data
            _local.base = _scratch_addr
        else:
            buf = ctypes.create_string_buffer(bytes(data), size)
            _local.base = ctypes.addressof(buf)
        _local.len = size
        _remote.base, _remote.len = addr, size
        return max(0, _process_vm_writev(self.native_pid, _local_ptr, _ONE, _remote_ptr, _ONE,
                                      _NO_FLAGS))

    def writable(self, addr: int, size: int) -> bool:
        """Whether the program could write ``size`` bytes at ``addr``: the bytes there
        written back unchanged (False when it could not read them either)."""
        try:
            self.write(addr, self.read(addr, size))
        except OSError:
            return False
        return True

    def read_u64(self, addr: int) -> int:
        return struct.unpack("<Q", self.read(addr, 8))[0]

    def write_i32(self, addr: int, value: int) -> None:
        self.write(addr, struct.pack("<i", value))

    def put_i32(self, addr: int, value: int) -> bool:
        """A put_user() of 4 bytes: all of them written, or none where the program
        could not write them all; False then (the kernel's callers that ignore the
        fault, as clone(2)'s tid writes do, ignore this)."""
        if addr % _PAGE > _PAGE - 4 and not self.writable(addr, 4):
            return False  # across a page boundary: no prefix written
        try:
            return self.write_partial(addr, struct.pack("<i", value)) == 4
        except OSError:
            return False

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string of at most ``limit`` bytes (the NUL not counted),
        read page by page so that it never touches a page past its end."""
        out = bytearray()
        while len(out) < limit:
            data = self.read(addr, _PAGE - (addr % _PAGE))
            nul = data.find(b"\0")
            if nul >= 0:
                out += data[:nul]
                break
            out += data
            addr += len(data)
        return bytes(out[:limit])

    # ------------------------------------------------------------ the host's own
    def _file(self) -> int:
        if self._fd < 0:
            self._fd = os.open(f"/proc/{self.native_pid}/mem", os.O_RDWR | os.O_CLOEXEC)
        return self._fd

    def peek(self, addr: int, size: int) -> bytes:
        """Read through page protections (PROT_NONE too)."""
        if size < 0 or not 0 <= addr <= USER_END - size:   # in_user_space, inline
            raise _fault(addr, size, "read")
        try:
            data = os.pread(self._file(), size, addr)
        except OSError as exc:
            raise _fault(addr, size, "read") from exc
        if len(data) != size:
            raise _fault(addr, size, "read")
        return data

    def poke(self, addr: int, data: bytes) -> None:
        """Write through page protections (read-only pages too)."""
        self._written = None
        if not in_user_space(addr, len(data)):
            raise _fault(addr, len(data), "write")
        try:
            written = os.pwrite(self._file(), data, addr)
        except OSError as exc:
            raise _fault(addr, len(data), "write") from exc
        if written != len(data):
            raise _fault(addr, len(data), "write")

    def reopen(self) -> None:
        """The address space changed (execve): drop the old file."""
        self.close()

    def close(self) -> None:
        self._written = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
