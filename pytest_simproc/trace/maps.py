"""A tracee's memory mappings, as proc(5) shows them in /proc/PID/maps.

Each line is ``start-end perms offset dev inode [pathname]``: addresses and the file
offset in hex, the device as hex ``major:minor``, the inode in decimal; the fourth
perms letter is ``s`` for a shared mapping, ``p`` for a private one. A shared anonymous
mapping (mmap(2) MAP_SHARED|MAP_ANONYMOUS) is backed by a shmem file and shows as
``/dev/zero (deleted)``, System V shared memory as ``/SYSV... (deleted)``, both with a
real device and inode.
"""
from __future__ import annotations

import os
from typing import NamedTuple


class Mapping(NamedTuple):
    start: int
    end: int
    shared: bool
    offset: int        # in the backing file, of ``start``
    device: int        # os.makedev(major, minor)
    inode: int
    writable: bool = True


def parse_mapping(line: bytes) -> Mapping:
    """One line of /proc/PID/maps."""
    span, perms, offset, device, inode = line.split(None, 5)[:5]
    start, end = span.split(b"-")
    major, minor = device.split(b":")
    return Mapping(int(start, 16), int(end, 16), perms[3:4] == b"s", int(offset, 16),
                   os.makedev(int(major, 16), int(minor, 16)), int(inode),
                   perms[1:2] == b"w")


def mapping_at(native_tid: int, addr: int) -> Mapping | None:
    """The mapping of thread ``native_tid``'s address space that holds ``addr``, or None
    (unmapped, or the thread is gone). /proc/TID/maps is readable for any thread, not
    only a thread group leader, and stays right after the leader has exited."""
    line = _line_at(native_tid, addr)
    return None if line is None else parse_mapping(line)


def sysv_shmid_at(native_tid: int, addr: int) -> int | None:
    """The System V shared memory segment attached at ``addr`` in thread
    ``native_tid``, by its id (the mapping's inode: shmget(2) ids name the segment's
    file), or None."""
    line = _line_at(native_tid, addr)
    path = line.split(None, 5)[5:] if line is not None else []
    return parse_mapping(line).inode if path and path[0].startswith(b"/SYSV") else None


def _line_at(native_tid: int, addr: int) -> bytes | None:
    """The line of /proc/TID/maps whose mapping holds ``addr``."""
    try:
        with open(f"/proc/{native_tid}/maps", "rb") as maps:
            for line in maps:
                dash = line.index(b"-")
                if int(line[:dash], 16) > addr:
                    return None  # lines are sorted by address
                if addr < int(line[dash + 1:line.index(b" ")], 16):
                    return line
    except OSError:
        return None
    return None
