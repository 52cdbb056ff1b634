"""The seccomp filter that decides which system calls stop the tracee.

Only the calls the simulator must answer (identity, signals, time, ...) return
SECCOMP_RET_TRACE and cost a ptrace stop; every other call runs at native speed.
The filter is classic BPF. It is written by hand because no maintained Python library
builds seccomp BPF without libseccomp's C bindings, which are not on PyPI (seccomp(2),
Documentation/userspace-api/seccomp_filter.rst).

The numbers are found by binary search over the runs of numbers that share a
decision, not by a list of comparisons: when a filter is installed, the kernel runs
it for every system call number to learn which ones it always allows (its action
cache, Linux 5.11), so a list of N comparisons costs ~450 x N steps at every spawn
(~0.3 ms here for the ~170 traced numbers); a search, ~450 x 10.
"""
from __future__ import annotations

import ctypes
import struct

# linux/filter.h, linux/bpf_common.h
BPF_LD, BPF_JMP, BPF_RET = 0x00, 0x05, 0x06
BPF_W, BPF_ABS = 0x00, 0x20
BPF_JEQ, BPF_JGE, BPF_JSET, BPF_K = 0x10, 0x30, 0x40, 0x00

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
    try:
        return b"".join(prog + _search(traced, conditional or {}))
    except _TooFar:
        pass  # a jump over more than 255 instructions: the plain list
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


class _TooFar(Exception):
    """A conditional jump (8-bit offsets) cannot reach its target."""


def _decision(arg_values) -> list[bytes]:
    """The instructions that decide one run of numbers (the number in the
    accumulator): TRACE, ALLOW, or (argument index, values) to trace on a match."""
    if arg_values in (SECCOMP_RET_TRACE, SECCOMP_RET_ALLOW):
        return [_insn(BPF_RET | BPF_K, 0, 0, arg_values)]
    arg, values = arg_values
    values = sorted(values)
    m = len(values)
    return [_insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, _OFF_ARGS + 8 * arg),
            *(_insn(BPF_JMP | BPF_JEQ | BPF_K, m - i, 0, value) for i, value in enumerate(values)),
            _insn(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW),
            _insn(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_TRACE)]


def _search(traced, conditional) -> list[bytes]:
    """Binary search over the runs of numbers with one decision: a JGE at each split
    (the left half follows it, the right half is its jump), a decision at each leaf."""
    decisions = {nr: (arg, frozenset(values)) for nr, (arg, values) in conditional.items()}
    decisions.update(dict.fromkeys(traced, SECCOMP_RET_TRACE))
    runs = [(0, SECCOMP_RET_ALLOW)]   # (first number, decision) of each run
    for nr in sorted(decisions):
        for first, decision in ((nr, decisions[nr]), (nr + 1, SECCOMP_RET_ALLOW)):
            if runs[-1][0] == first:
                runs[-1] = (first, decision)
            if runs[-1][1] != decision:
                runs.append((first, decision))
    merged = [runs[0]]
    for run in runs[1:]:   # a run that took its neighbour's decision joins it
        if run[1] != merged[-1][1]:
            merged.append(run)

    def tree(lo: int, hi: int) -> list[bytes]:
        if hi - lo == 1:
            return _decision(merged[lo][1])
        mid = (lo + hi) // 2
        left, right = tree(lo, mid), tree(mid, hi)
        if len(left) > 255:
            raise _TooFar
        return [_insn(BPF_JMP | BPF_JGE | BPF_K, len(left), 0, merged[mid][0])] + left + right

    return tree(0, len(merged))


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
    traced = None if traced is None else frozenset(traced)   # itself when it is one
    # the same conditional table (syscalls.CONDITIONAL) comes with every host
    quick = (traced, tuple(conditional.items())) if conditional else (traced, ())
    prepared = _prepared.get(quick)
    if prepared is not None:
        return prepared
    key = (traced, tuple(sorted((nr, arg, frozenset(values))
                                for nr, (arg, values) in (conditional or {}).items())))
    prepared = _prepared.get(key)
    if prepared is None:
        prepared = PreparedFilter(build_filter(traced, conditional))
        if len(_prepared) < 64:
            _prepared[key] = prepared
    if len(_prepared) < 64:
        _prepared[quick] = prepared
    return prepared
