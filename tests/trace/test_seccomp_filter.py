"""The seccomp filter's decisions, checked by running its BPF program on given
seccomp_data (no kernel needed): a tiny interpreter for the five instructions the
filter uses (load word, jump if equal, if greater or equal, if bits set, return)."""
from __future__ import annotations

import struct

from hypothesis import given, strategies as st

from pytest_simproc.syscalls import CONDITIONAL, intercepted_numbers, syscall_number
from pytest_simproc.trace import seccomp
from pytest_simproc.trace.seccomp import (
    AUDIT_ARCH_X86_64, FOREIGN_ABI_TAG, SECCOMP_RET_ALLOW, SECCOMP_RET_TRACE,
    SECCOMP_RET_TRAP, X32_SYSCALL_BIT, build_filter)

AUDIT_ARCH_I386 = 0x40000003
TRAP = SECCOMP_RET_TRAP | FOREIGN_ABI_TAG
LD_W_ABS = seccomp.BPF_LD | seccomp.BPF_W | seccomp.BPF_ABS
JEQ = seccomp.BPF_JMP | seccomp.BPF_JEQ | seccomp.BPF_K
JGE = seccomp.BPF_JMP | seccomp.BPF_JGE | seccomp.BPF_K
JSET = seccomp.BPF_JMP | seccomp.BPF_JSET | seccomp.BPF_K
RET = seccomp.BPF_RET | seccomp.BPF_K


def run(program: bytes, nr: int, args=(0,) * 6, arch=AUDIT_ARCH_X86_64, steps=None) -> int:
    """The filter's return value for struct seccomp_data {nr, arch, ip, args[6]};
    ``steps``, a list, gets the number of instructions run appended."""
    args = [a & (2**64 - 1) for a in args] + [0] * (6 - len(args))
    data = struct.pack("<iIQ6Q", nr, arch, 0, *args)
    insns = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    assert 0 < len(insns) <= 4096  # BPF_MAXINSNS
    pc, acc = 0, 0
    while True:
        if steps is not None:
            steps.append(pc)
        code, jt, jf, k = insns[pc]
        if code == LD_W_ABS:
            acc = struct.unpack_from("<I", data, k)[0]
            pc += 1
        elif code == JEQ:
            pc += 1 + (jt if acc == k else jf)
        elif code == JGE:
            pc += 1 + (jt if acc >= k else jf)
        elif code == JSET:
            pc += 1 + (jt if acc & k else jf)
        elif code == RET:
            return k
        else:
            raise AssertionError(f"unexpected instruction {code:#x} at {pc}")


REAL = build_filter(intercepted_numbers(), CONDITIONAL)
FCNTL, IOCTL = syscall_number("fcntl"), syscall_number("ioctl")


def test_every_intercepted_call_is_traced_and_others_run():
    for nr in intercepted_numbers():
        assert run(REAL, nr) == SECCOMP_RET_TRACE, nr
    for name in ("mmap", "brk", "close", "getuid", "openat2", "futimesat"):
        try:
            nr = syscall_number(name)
        except KeyError:
            continue
        if nr not in intercepted_numbers() and nr not in CONDITIONAL:
            assert run(REAL, nr) == SECCOMP_RET_ALLOW, name


def test_fcntl_and_ioctl_are_traced_only_for_the_commands_that_reach_out():
    for cmd in (8, 9, 15, 16):          # F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX
        assert run(REAL, FCNTL, (3, cmd, 1000)) == SECCOMP_RET_TRACE
        # the command is an int: the upper half of the register does not count
        assert run(REAL, FCNTL, (3, cmd | (0xDEAD << 32), 1000)) == SECCOMP_RET_TRACE
    for cmd in (0, 1, 2, 3, 4, 10, 1030):  # F_DUPFD ... F_SETSIG, F_DUPFD_CLOEXEC
        assert run(REAL, FCNTL, (3, cmd, 1000)) == SECCOMP_RET_ALLOW
    for request in (0x8901, 0x8902, 0x8903, 0x8904, 0x5412, 0x541C):  # owners, TIOCSTI, TIOCLINUX
        assert run(REAL, IOCTL, (3, request, 0)) == SECCOMP_RET_TRACE
    for request in (0x5401, 0x5413, 0x541B, 0x5421):  # TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO
        assert run(REAL, IOCTL, (3, request, 0)) == SECCOMP_RET_ALLOW


def test_any_number_is_decided_in_a_few_steps():
    """A search, not a list: installing a filter runs it for every number (the
    kernel's action cache), so each step on the way is paid ~450 times per spawn."""
    longest = 0
    for nr in range(0, 1024):
        if nr in CONDITIONAL:
            continue  # decided by its argument: no longer cached once that is loaded
        steps = []
        run(REAL, nr, steps=steps)
        longest = max(longest, len(steps))
    assert longest <= 2 * len(intercepted_numbers()).bit_length() + 8


def test_other_abis_are_trapped_never_run():
    for nr in (2, 56, 57, FCNTL, syscall_number("getuid")):
        assert run(REAL, nr, arch=AUDIT_ARCH_I386) == TRAP
        assert run(REAL, nr | X32_SYSCALL_BIT) == TRAP
        assert run(build_filter(None), nr, arch=AUDIT_ARCH_I386) == TRAP
        assert run(build_filter(None), nr | X32_SYSCALL_BIT) == TRAP


def test_trace_everything_still_traces_every_x86_64_call():
    for nr in range(0, 460):
        assert run(build_filter(None), nr) == SECCOMP_RET_TRACE


def test_a_fully_traced_number_ignores_its_condition():
    program = build_filter({FCNTL}, {FCNTL: (1, frozenset({8}))})
    assert run(program, FCNTL, (3, 1, 0)) == SECCOMP_RET_TRACE


numbers = st.integers(0, 511)


@given(traced=st.frozensets(numbers, max_size=300),
       conditional=st.dictionaries(numbers, st.tuples(st.integers(0, 5),
                                                      st.frozensets(st.integers(0, 2**32 - 1),
                                                                    min_size=1, max_size=8)),
                                   max_size=4),
       nr=numbers, args=st.lists(st.integers(0, 2**64 - 1), min_size=6, max_size=6))
def test_filter_decides_as_specified(traced, conditional, nr, args):
    program = build_filter(traced, conditional)
    if nr in traced:
        expected = SECCOMP_RET_TRACE
    elif nr in conditional:
        index, values = conditional[nr]
        expected = SECCOMP_RET_TRACE if args[index] & 0xFFFFFFFF in values else SECCOMP_RET_ALLOW
    else:
        expected = SECCOMP_RET_ALLOW
    assert run(program, nr, args) == expected
