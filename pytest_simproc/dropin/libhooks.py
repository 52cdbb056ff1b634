"""A loaded shared library's calls to libc functions, sent to Python functions.

Compiled event loops (uvloop's libuv) read their clock and wait for events in C,
through calls no Python patch sees: ``clock_gettime`` and ``epoll_pwait`` inside the
library. A dynamically linked library makes such calls through its global offset
table, one slot per imported function, which the dynamic loader fills in (ld.so(8));
pointing the slot at a ctypes callback sends that library's calls, and only its
calls, to Python. The slots are found in the file's relocation sections (elf(5)):
R_X86_64_JUMP_SLOT and R_X86_64_GLOB_DAT entries naming the function.
"""
from __future__ import annotations

import ctypes
import mmap
import os
import platform
import struct

_SHT_RELA = 4
_R_X86_64_GLOB_DAT, _R_X86_64_JUMP_SLOT = 6, 7
_ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION = struct.Struct("<IIQQQQIIQQ")  # Elf64_Shdr
_RELA = struct.Struct("<QQq")  # Elf64_Rela
_SYM_NAME = struct.Struct("<I")  # st_name, the first field of an Elf64_Sym (24 bytes)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
_libc.__errno_location.restype = ctypes.POINTER(ctypes.c_int)


def supported() -> bool:
    return platform.machine() == "x86_64"


def import_slots(path: str, names) -> dict[str, list[int]]:
    """The link-time addresses of the slots through which the library at ``path``
    calls each of ``names`` (a 64-bit little-endian ELF file)."""
    with open(path, "rb") as f:
        data = f.read()
    header = _ELF_HEADER.unpack_from(data, 0)
    if header[0][:4] != b"\x7fELF" or header[0][4] != 2 or header[0][5] != 1:
        raise ValueError(f"{path}: not a 64-bit little-endian ELF file")
    shoff, shentsize, shnum = header[6], header[11], header[12]
    sections = [_SECTION.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]
    wanted, slots = set(names), {}
    for _, kind, _, _, offset, size, link, _, _, entsize in sections:
        if kind != _SHT_RELA or not entsize or link >= len(sections):
            continue
        symtab = sections[link]
        strtab = sections[symtab[6]]
        for at in range(offset, offset + size, entsize):
            r_offset, info, _ = _RELA.unpack_from(data, at)
            if info & 0xffffffff not in (_R_X86_64_JUMP_SLOT, _R_X86_64_GLOB_DAT):
                continue
            (st_name,) = _SYM_NAME.unpack_from(data, symtab[4] + (info >> 32) * symtab[9])
            start = strtab[4] + st_name
            name = data[start:data.index(b"\0", start)].decode()
            if name in wanted:
                slots.setdefault(name, []).append(r_offset)
    return slots


def load_bias(path: str) -> int:
    """Where the loaded library's link-time address 0 is in memory: the first field
    (l_addr) of its ``struct link_map``, which dlopen(3) returns as the handle."""
    handle = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)._handle
    return ctypes.c_size_t.from_address(handle).value


def _protection(address: int) -> int | None:
    """The PROT_* bits of the mapping holding ``address`` (proc(5) maps)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            span, perms = line.split(None, 2)[:2]
            start, end = (int(x, 16) for x in span.split("-"))
            if start <= address < end:
                return ((mmap.PROT_READ if perms[0] == "r" else 0)
                        | (mmap.PROT_WRITE if perms[1] == "w" else 0)
                        | (mmap.PROT_EXEC if perms[2] == "x" else 0))
    return None


def write_slot(address: int, value: int) -> int:
    """Put ``value`` in the pointer slot at ``address`` (made writable for the write
    if RELRO left it read-only); returns what it held."""
    slot = ctypes.c_void_p.from_address(address)
    old = slot.value or 0
    prot = _protection(address)
    if prot is None:
        raise OSError(f"no mapping holds {address:#x}")
    page = address & ~(mmap.PAGESIZE - 1)
    if not prot & mmap.PROT_WRITE:
        if _libc.mprotect(page, mmap.PAGESIZE, prot | mmap.PROT_WRITE) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    try:
        slot.value = value
    finally:
        if not prot & mmap.PROT_WRITE:
            _libc.mprotect(page, mmap.PAGESIZE, prot)
    return old


def set_errno(value: int) -> None:
    """The calling thread's C errno, for the library to read after a hook returns -1."""
    _libc.__errno_location()[0] = value


def libc_function(name: str, restype, *argtypes):
    """libc's ``name``, called without the GIL, errno kept for ctypes.get_errno()."""
    return library_function(None, name, restype, *argtypes)


def library_function(path: str | None, name: str, restype, *argtypes):
    """The function ``name`` the library at ``path`` (None: the process's global
    symbols) exports, called without the GIL, errno kept for ctypes.get_errno()."""
    function = getattr(ctypes.CDLL(path, use_errno=True), name)
    function.restype, function.argtypes = restype, argtypes
    return function
