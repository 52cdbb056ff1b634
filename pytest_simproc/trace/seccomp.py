"""The seccomp filter that decides which system calls stop the tracee.

Only the calls the simulator must answer (identity, signals, time, ...) return
SECCOMP_RET_TRACE and cost a ptrace stop; every other call runs at native speed.
The filter is classic BPF, about 2 + N instructions. It is written by hand because no
maintained Python library builds seccomp BPF without libseccomp's C bindings, which
are not on PyPI; the program is a plain list of comparisons (seccomp(2),
Documentation/userspace-api/seccomp_filter.rst).
"""
from __future__ import annotations

import ctypes
import struct

# linux/filter.h, linux/bpf_common.h
BPF_LD, BPF_JMP, BPF_RET = 0x00, 0x05, 0x06
BPF_W, BPF_ABS = 0x00, 0x20
BPF_JEQ, BPF_JSET, BPF_K = 0x10, 0x40, 0x00

# linux/seccomp.h
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_TRACE = 0x7FF00000
SECCOMP_MODE_FILTER = 2
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

# offsetof(struct seccomp_data, nr / arch)
_OFF_NR, _OFF_ARCH = 0, 4


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k & 0xFFFFFFFF)


def build_filter(traced: frozenset[int] | set[int] | None) -> bytes:
    """BPF program: trace the syscall numbers in ``traced`` (all of them when None).

    Calls from another ABI (i386 via int 0x80, x32) are traced too, so the host can
    refuse them instead of letting them run with untranslated arguments.
    """
    if traced is None:
        return _insn(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_TRACE)
    numbers = sorted(traced)
    n = len(numbers)
    prog = [
        _insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, _OFF_ARCH),
        # arch == x86_64 ? fall through : jump to TRACE (at the very end)
        _insn(BPF_JMP | BPF_JEQ | BPF_K, 0, n + 3, AUDIT_ARCH_X86_64),
        _insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, _OFF_NR),
        _insn(BPF_JMP | BPF_JSET | BPF_K, n + 1, 0, X32_SYSCALL_BIT),
    ]
    for i, nr in enumerate(numbers):
        # on match jump to the TRACE return: skip the rest of the list and ALLOW
        prog.append(_insn(BPF_JMP | BPF_JEQ | BPF_K, n - i, 0, nr))
    prog.append(_insn(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW))
    prog.append(_insn(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_TRACE))
    return b"".join(prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class PreparedFilter:
    """A filter laid out in memory before fork, so the child only makes two prctl calls."""

    def __init__(self, program: bytes):
        self._buf = ctypes.create_string_buffer(program, len(program))
        self._fprog = _SockFprog(len(program) // 8, ctypes.addressof(self._buf))
        self._prctl = ctypes.CDLL(None, use_errno=True).prctl
        self._prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
        self._prctl.restype = ctypes.c_int

    def install(self) -> None:
        """Install in the calling process (the forked child, just before execve)."""
        prctl = self._prctl
        if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(self._fprog), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")
