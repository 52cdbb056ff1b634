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
SECCOMP_RET_TRAP = 0x00030000
# SECCOMP_RET_DATA of our SIGSYS (its si_errno), to tell it from a program's own
# filter's; the value means nothing else.
FOREIGN_ABI_TAG = 0x5350
SECCOMP_MODE_FILTER = 2
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

# offsetof(struct seccomp_data, nr / arch / args); an argument's low half comes first
_OFF_NR, _OFF_ARCH, _OFF_ARGS = 0, 4, 16


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k & 0xFFFFFFFF)


def build_filter(traced: frozenset[int] | set[int] | None,
                 conditional: dict[int, tuple[int, frozenset[int]]] | None = None) -> bytes:
    """BPF program: trace the syscall numbers in ``traced`` (all of them when None), and
    those in ``conditional`` ({nr: (argument index, values)}) only when the low 32 bits
    of that argument are one of the values (fcntl's F_SETOWN, not every fcntl).

    Calls from another ABI (i386 via int 0x80, x32) never run: they return -ENOSYS
    with a SIGSYS that carries FOREIGN_ABI_TAG in si_errno (SECCOMP_RET_TRAP,
    seccomp(2)), which the host reports as unsupported and suppresses. Their numbers
    mean other calls than x86_64's (i386's fork is x86_64's open), and one that made a
    process natively would make it untraced: the tracer asks for no fork events.
    """
    def ret(action):
        return _insn(BPF_RET | BPF_K, 0, 0, action)

    def jeq(k, jt, jf):  # jumps count the instructions skipped after this one
        return _insn(BPF_JMP | BPF_JEQ | BPF_K, jt, jf, k)

    prog = [
        _insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, _OFF_ARCH),
        jeq(AUDIT_ARCH_X86_64, 1, 0),
        ret(SECCOMP_RET_TRAP | FOREIGN_ABI_TAG),
        _insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, _OFF_NR),
        _insn(BPF_JMP | BPF_JSET | BPF_K, 0, 1, X32_SYSCALL_BIT),
        ret(SECCOMP_RET_TRAP | FOREIGN_ABI_TAG),
    ]
    if traced is None:
        prog.append(ret(SECCOMP_RET_TRACE))
        return b"".join(prog)
    for nr, (arg, values) in sorted((conditional or {}).items()):
        if nr in traced:
            continue  # traced whatever its arguments
        values = sorted(values)
        m = len(values)
        # nr? load the argument; on a match TRACE, else ALLOW; another nr skips it all
        prog.append(jeq(nr, 0, m + 3))
        prog.append(_insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, _OFF_ARGS + 8 * arg))
        prog.extend(jeq(value, m - i, 0) for i, value in enumerate(values))
        prog.append(ret(SECCOMP_RET_ALLOW))
        prog.append(ret(SECCOMP_RET_TRACE))
    numbers = sorted(traced)
    n = len(numbers)
    # on a match jump to the TRACE return: skip the rest of the list and ALLOW
    prog.extend(jeq(nr, n - i, 0) for i, nr in enumerate(numbers))
    prog.append(ret(SECCOMP_RET_ALLOW))
    prog.append(ret(SECCOMP_RET_TRACE))
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

    @property
    def address(self) -> int:
        """Where its struct sock_fprog is (for the C spawn path, trace/_spawnc.c)."""
        return ctypes.addressof(self._fprog)

    def install(self) -> None:
        """Install in the calling process (the forked child, just before execve)."""
        prctl = self._prctl
        if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(self._fprog), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


_prepared: dict = {}


def prepared_filter(traced: frozenset[int] | None,
                    conditional: dict[int, tuple[int, frozenset[int]]] | None = None
                    ) -> PreparedFilter:
    """``PreparedFilter(build_filter(traced, conditional))``, built once per process:
    hosts that trap the same calls share it (it is only ever read)."""
    key = (None if traced is None else frozenset(traced),
           tuple(sorted((nr, arg, frozenset(values))
                        for nr, (arg, values) in (conditional or {}).items())))
    prepared = _prepared.get(key)
    if prepared is None:
        prepared = PreparedFilter(build_filter(traced, conditional))
        if len(_prepared) < 64:
            _prepared[key] = prepared
    return prepared
