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
