"""TraceeMemory gives a program's pointers the kernel's protections (EFAULT for every
bad one, never another exception), and the host's own peek/poke go through them;
through the C extension's copies and through ctypes alike."""
from __future__ import annotations

import errno
import subprocess
import sys

import pytest

from pytest_simproc.trace import memory
from pytest_simproc.trace.memory import TraceeMemory, in_user_space

CHILD = r"""
import mmap, ctypes, sys
P = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
rw = mmap.mmap(-1, 8192, flags=P)
ro = mmap.mmap(-1, 4096, flags=P)
none = mmap.mmap(-1, 4096, flags=P)
libc = ctypes.CDLL(None)
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
addr = lambda m: ctypes.addressof(ctypes.c_char.from_buffer(m))
ro[:5] = b"hello"
libc.mprotect(addr(ro), 4096, 1)       # PROT_READ
libc.mprotect(addr(none), 4096, 0)     # PROT_NONE
libc.mprotect(addr(rw) + 4096, 4096, 0)
print(addr(rw), addr(ro), addr(none), flush=True)
sys.stdin.read()
"""


@pytest.fixture(params=["extension", "ctypes"])
def target(request, monkeypatch):
    """(memory, rw, ro, none) of a child; its copies through trace/_ptrace.c's
    vm_read/vm_write, or through ctypes as without the extension."""
    if request.param == "ctypes":
        monkeypatch.setattr(memory, "_vm_read", None)
        monkeypatch.setattr(memory, "_vm_write", None)
    elif memory._vm_read is None:
        pytest.skip("the C extension was not built")
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    rw, ro, none = map(int, proc.stdout.readline().split())
    mem = TraceeMemory(proc.pid)
    yield mem, rw, ro, none
    mem.close()
    proc.kill()
    proc.wait()


def efault(call, *args):
    with pytest.raises(OSError) as info:
        call(*args)
    assert info.value.errno == errno.EFAULT, info.value


BAD = [0, -1, 2**47, 2**64 - 1, 2**64 + 5, 0xFFFF888000000000, 2**47 - 8]


def test_bad_pointers_are_efault(target):
    mem, rw, ro, none = target
    for addr in BAD + [none]:
        efault(mem.read, addr, 8)
        efault(mem.write, addr, b"x" * 8)
        efault(mem.write_i32, addr, 1)
        efault(mem.read_cstring, addr)
    efault(mem.read, rw, -1)


def test_protections_are_the_kernels(target):
    mem, rw, ro, none = target
    assert mem.read(ro, 5) == b"hello"
    efault(mem.write, ro, b"HELLO")            # read-only: a program cannot write it
    mem.write(rw + 4092, b"abcd")
    efault(mem.write, rw + 4092, b"abcdefgh")  # straddles into PROT_NONE
    efault(mem.read, rw + 4095, 2)
    assert mem.read(rw + 4092, 4) == b"abcd"
    assert mem.write_partial(rw + 4090, b"123456789") == 6   # what fits before the fault
    assert mem.write_partial(none, b"x") == 0
    efault(mem.read_cstring, rw + 4092)        # no NUL before the PROT_NONE page


def test_zero_length_copies_never_fail(target):
    mem, rw, _, _ = target
    for addr in BAD + [rw]:
        assert mem.read(addr, 0) == b""
        mem.write(addr, b"")
    assert in_user_space(rw, 0) and in_user_space(0, 0)
    assert not in_user_space(2**47, 0) and not in_user_space(-1, 0)


def test_host_writes_go_through_protections(target):
    mem, rw, ro, none = target
    mem.poke(ro, b"HELLO")
    assert mem.peek(ro, 5) == b"HELLO" == mem.read(ro, 5)
    assert mem.peek(none, 4) == bytes(4)       # proc(5): /proc/PID/mem ignores PROT_NONE
    for addr in (-1, 2**47, 2**64 - 1):
        efault(mem.peek, addr, 8)
        efault(mem.poke, addr, b"x")


def test_a_read_of_what_this_stop_wrote_makes_no_copy(target):
    """Until the tracer's next stop no tracee runs: a read of exactly the bytes the last
    whole write put there gives them back without a copy (the strace record re-reads
    wait4's status); from the next stop on, or after any other write, it copies."""
    mem, rw, ro, none = target
    behind = TraceeMemory(mem.native_pid)   # what only a running tracee could do
    mem.write(rw, b"abcd")
    behind.write(rw, b"WXYZ")
    assert mem.read(rw, 4) == b"abcd"       # not copied: what this stop wrote
    assert mem.read(rw, 2) == b"WX"         # other bytes: copied
    memory.stops[0] = memory.next_stop()    # the engine's next stop
    assert mem.read(rw, 4) == b"WXYZ"
    mem.write(rw + 4088, b"abcd")
    efault(mem.write, rw + 4088, b"12345678zz")   # a prefix written, then the fault
    assert mem.read(rw + 4088, 4) == b"1234"
    mem.write(rw, b"abcd")
    mem.poke(rw, b"PQRS")
    assert mem.read(rw, 4) == b"PQRS"
    behind.close()
