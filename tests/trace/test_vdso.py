"""The host's vDSO image and its clock page (trace/vdso.py), without a tracee."""
from __future__ import annotations

import os
import struct

import pytest

from pytest_simproc.trace import vdso

ELF_EXPORTS = (b"__vdso_clock_gettime", b"__vdso_gettimeofday", b"__vdso_time",
               b"__vdso_getcpu", b"LINUX_2.6", b"linux-vdso.so.1")


def image_or_skip() -> bytes:
    data = vdso.image()
    if data is None:
        pytest.skip("no C compiler built the vDSO image")
    return data


def test_image_is_one_segment_without_relocations():
    """Loaders map nothing and relocate nothing in a vDSO: one PT_LOAD at file offset
    0, address 0, and no relocation section (glibc would not apply it)."""
    data = image_or_skip()
    assert data[:4] == b"\x7fELF" and data[4] == 2
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    loads = []
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr = struct.unpack_from("<IIQQ", data, phoff + i * phentsize)
        if p_type == 1:
            loads.append((p_offset, p_vaddr))
    assert loads == [(0, 0)]
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum = struct.unpack_from("<HH", data, 58)
    types = {struct.unpack_from("<I", data, shoff + i * shentsize + 4)[0] for i in range(shnum)}
    assert not types & {4, 9}  # SHT_RELA, SHT_REL
    for name in ELF_EXPORTS:
        assert name in data


def test_clock_page_publishes_with_an_even_sequence(tmp_path):
    page = vdso.ClockPage(str(tmp_path), image_or_skip())
    try:
        page.publish(5_000_000_123, 7_000_000_456)
        with open(page.path, "rb") as f:  # what a program's shared mapping reads
            seq, _, now, real = struct.unpack_from("<IIqq", f.read(24))
        assert (now, real) == (5_000_000_123, 7_000_000_456) == page.read()
        assert seq % 2 == 0 and seq > 0
    finally:
        page.close()


def test_a_data_dir_used_before_gets_a_fresh_page(tmp_path):
    """A host reusing a data dir gets a new page file, not the old one reopened (its
    mode is 0444, which only root could open for writing; programs of the old host
    may still map it)."""
    image = image_or_skip()
    first = vdso.ClockPage(str(tmp_path), image)
    first.publish(1, 2)
    old_inode = os.stat(first.path).st_ino
    with open(first.path, "rb") as still_mapped:
        first.close()
        second = vdso.ClockPage(str(tmp_path), image)
        assert os.stat(second.path).st_ino != old_inode
        assert struct.unpack_from("<IIqq", still_mapped.read(24))[2:] == (1, 2)
    try:
        assert second.read() == (0, 0)
        second.publish(3, 4)
        assert second.read() == (3, 4)
    finally:
        second.close()


def test_a_pool_page_comes_back_zeroed_to_the_next_host():
    """A closed host's page, once no program maps it, is the next host's: the same
    file, with every clock (CLOCK_TAI's offset too) zero as in a new one."""
    image = image_or_skip()
    first = vdso.take_page(image)
    first.publish(5, 6)
    first.publish_tai(37_000_000_000)
    path = first.path
    assert os.path.dirname(path) in ("/dev/shm", vdso.tempfile.gettempdir())
    first.unmapped = True
    first.close()
    second = vdso.take_page(image)
    try:
        assert second.path == path
        with open(path, "rb") as f:
            seq, _, now, real, tai, raw = struct.unpack_from("<IIqqqq", f.read(40))
        assert (now, real, tai, raw) == (0, 0, 0, 0) and seq % 2 == 0
        second.publish(7, 8)
        assert second.read() == (7, 8)
    finally:
        second.unmapped = True
        second.close()


def test_a_page_a_program_may_still_map_is_not_reused():
    """Closed without ``unmapped`` (its host's programs were not all reaped), or with
    its file gone, a page's file goes and the next host gets a new one."""
    image = image_or_skip()
    first = vdso.take_page(image)
    first.close()
    assert not os.path.exists(first.path)
    second = vdso.take_page(image)
    assert second.path != first.path
    os.unlink(second.path)
    second.unmapped = True
    second.close()
    third = vdso.take_page(image)
    try:
        assert third.path not in (first.path, second.path) and os.path.exists(third.path)
    finally:
        third.close()
    assert not os.path.exists(third.path)


def test_a_forked_child_does_not_share_the_pool(tmp_path):
    """A fork of the test process starts with a pool of its own: two processes
    writing one page would be two hosts' clocks in it."""
    image = image_or_skip()
    page = vdso.take_page(image)
    page.unmapped = True
    page.close()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            child = vdso.take_page(image)
            code = 0 if child.path != page.path and str(os.getpid()) in child.path else 2
            child.close()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    again = vdso.take_page(image)
    try:
        assert again.path == page.path
    finally:
        again.unmapped = True
        again.close()


def test_a_new_pool_removes_the_pages_of_dead_processes():
    """A process killed (or ended by os._exit) leaves its pool's pages: the next
    process's pool removes those whose process is gone, and no other."""
    image = image_or_skip()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)   # a pid no process has now
    directory = vdso._shared_memory_dir()
    stale = os.path.join(directory, f"{vdso._PagePool.PREFIX}{pid}-0badc0de")
    alive = os.path.join(directory, f"{vdso._PagePool.PREFIX}{os.getpid()}-0badc0de")
    for path in (stale, alive):
        with open(path, "wb"):
            pass
    try:
        page = vdso._PagePool().take(image)
        page.close()
        assert not os.path.exists(stale) and os.path.exists(alive)
    finally:
        for path in (stale, alive):
            if os.path.exists(path):
                os.unlink(path)
