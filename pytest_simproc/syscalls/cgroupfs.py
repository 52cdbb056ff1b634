"""The pid lists of control groups (cgroups(7)), with the host's numbers.

A cgroup's cgroup.procs, cgroup.threads and (version 1) tasks list the machine's pids,
and a pid written to one moves that process: the program's own processes there are
native, and a host's pid written as it is would move whatever machine process has
that number. An open for reading gets a rendered copy of the list with the host's
numbers (the machine's other processes left out, as the host's /proc leaves them
out); a write is given the native id of the host's process or thread it names.
CLONE_INTO_CGROUP and the rest of the cgroup files are the kernel's.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re

from . import procfs
from .outcome import Native, scratch_copy

_ROOT = b"/sys/fs/cgroup/"
_PROCESS_LISTS = (b"cgroup.procs", b"tasks")   # a thread's id names its process
_THREAD_LISTS = (b"cgroup.threads",)
_NAMES = _PROCESS_LISTS + _THREAD_LISTS
O_ACCMODE, O_WRONLY, O_RDWR, O_PATH = 0o3, 0o1, 0o2, 0o10000000


def might_be_list(path: bytes) -> bool:
    """Cheap first look at an opened path: does it end in a pid list's name."""
    return path.rpartition(b"/")[2] in _NAMES


def _absolute(ctx, path: bytes, dirfd: int | None) -> bytes | None:
    if path[:1] != b"/":
        fd = -100 if dirfd is None else dirfd
        link = (b"/proc/%d/cwd" % ctx.task.native if fd == -100
                else b"/proc/%d/fd/%d" % (ctx.task.native, fd))
        try:
            path = os.readlink(link) + b"/" + path
        except OSError:
            return None  # the kernel answers (EBADF, ENOTDIR)
    return os.path.normpath(path)


def on_open(ctx, path: bytes, dirfd: int | None, flags: int) -> bytes | None:
    """The path the open must see instead of the program's: a rendered copy of a pid
    list opened for reading; None to run it as it is (a list opened for writing, whose
    writes cgroup_write translates; any other file)."""
    real = _absolute(ctx, path, dirfd)
    if real is None or not real.startswith(_ROOT) or not os.path.isfile(real):
        return None
    ctx.table.pid_files_open = True
    if flags & O_PATH or flags & O_ACCMODE in (O_WRONLY, O_RDWR):
        return None
    try:
        with open(real, "rb") as f:
            natives = [int(n) for n in f.read().split()]
    except (OSError, ValueError):
        return None  # the kernel answers
    threads = real.rpartition(b"/")[2] in _THREAD_LISTS
    ids = []
    for native in natives:
        task = ctx.engine.tasks.get(native)
        if task is not None and not task.exiting:
            ids.append(task.tid if threads else task.proc.pid)
    name = b"cgroup/%s" % hashlib.sha1(real).hexdigest().encode()
    return procfs.render(ctx, name, b"".join(b"%d\n" % i for i in ids))


def _number(text: bytes) -> int | None:
    """The kernel's kstrtoint with base 0: decimal, 0x hexadecimal, 0 octal."""
    if re.fullmatch(rb"[1-9][0-9]*", text):
        return int(text)
    if re.fullmatch(rb"0[xX][0-9a-fA-F]+", text):
        return int(text[2:], 16)
    if re.fullmatch(rb"0[0-7]*", text):
        return int(text, 8)
    return None


def cgroup_write(ctx, fd: int, buf: int, count: int):
    """write(2) to a pid list: the id the program wrote (cgroups(7): one a write; 0
    is the writer) becomes the native id of the host's process or thread, ESRCH for
    an id the host does not have; None for any other descriptor."""
    if fd < 0 or count > 64:
        return None
    try:
        link = os.readlink(b"/proc/%d/fd/%d" % (ctx.task.tgid_native, fd))
    except OSError:
        return None
    if not link.startswith(_ROOT) or link.rpartition(b"/")[2] not in _NAMES:
        return None
    number = _number(ctx.mem.read(buf, count).strip())
    if not number:
        return None  # 0 (the writer) or no number (EINVAL): the kernel's to judge
    task = ctx.engine.tasks_by_tid.get(number)
    if task is None or task.exiting:
        return -errno.ESRCH
    native = b"%d\n" % task.native
    return Native(regs={"rsi": scratch_copy(ctx, native), "rdx": len(native)},
                  on_exit=lambda c, result: count if result == len(native) else result)
