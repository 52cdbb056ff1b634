"""/proc/<pid> paths in open(2) and openat(2) name the host's processes.

proc(5): /proc/<pid> is the process with that pid, /proc/<pid>/task/<tid> one of its
threads. Opened natively with a virtual pid, such a path reaches whatever real process
has that number: the wrong one, or one outside the host, whose /proc/<pid>/mem can
write it as process_vm_writev(2), which the host refuses, would. The host is a pid
namespace, and there /proc shows its own processes only (pid_namespaces(7), "/proc and
PID namespaces"): a host pid is translated to the native one, any other number is
ENOENT. /proc/self and /proc/thread-self already name the caller.

The path is read lexically ("//", ".", ".." and /proc/thread-self's three levels);
other symlinks are not followed. A relative path is joined to its base directory (the
cwd or dirfd), read with one readlink; a base under /proc/<pid> names a native pid.
"""
from __future__ import annotations

import errno
import os

from .args import s32
from .sched import host_task

AT_FDCWD = -100
# What a /proc/<pid> directory on the walked path is
_HOST = "host"         # a host process's, by its native pid: tids below it translate
_SELF = "self"         # /proc/self, /proc/thread-self: the caller's, left as they are
_OUTSIDE = "outside"   # a native process's that is not the host's (a base directory)


def translate(ctx, path: bytes, dirfd: int | None):
    """None: run the call as it is; bytes: run it on this path; int: -errno.

    ``dirfd`` is openat's, None for open(2)."""
    if path[:1] == b"/":
        if path.find(b"proc") < 0:
            return None
        base = []
    elif not path:
        return None  # ENOENT
    else:
        base = _base_dir(ctx, dirfd)
        if base is None or (base[:1] != [b"proc"] and path.find(b"proc") < 0):
            return None
    parts = path.split(b"/")
    new = _walk(ctx, base, parts)
    if new is None or isinstance(new, int):
        return new
    return b"/".join(new)


def _base_dir(ctx, dirfd):
    """The components of the directory a relative path starts from; None when unknown
    (the kernel then answers: EBADF, ENOTDIR)."""
    dirfd = AT_FDCWD if dirfd is None else s32(dirfd)
    if dirfd == AT_FDCWD:
        link = b"/proc/%d/cwd" % ctx.task.native
    elif dirfd >= 0:
        link = b"/proc/%d/fd/%d" % (ctx.task.native, dirfd)
    else:
        return None
    try:
        target = os.readlink(link)
    except OSError:
        return None
    if target[:1] != b"/":
        return None  # not a directory: a pipe, socket, ...
    return [p for p in target.split(b"/") if p]


def _is_pid(name: bytes) -> bool:
    # the kernel reads no sign and no leading zero (fs/proc/util.c name_to_int)
    return name.isdigit() and name[:1] != b"0"


def _native_tid(ctx, tid: int):
    """The native tid of a live host thread or process, else None. A native tid of
    the host's passes as it is: what /proc itself shows (a readlink of /proc/self, a
    directory listing) is native, and ps(1) opens what it lists."""
    task = host_task(ctx, tid)
    if task is not None:
        return task.native
    native = ctx.engine.native_pid_of(tid)  # a process whose main thread has ended
    if native is None and tid in ctx.engine.tasks:
        return tid
    return native


def _walk(ctx, base: list, parts: list):
    """``parts`` (a path split at "/") with host pids made native, None if unchanged,
    or -ENOENT. ``stack`` holds (name, kind) from the root, kind saying what a
    /proc/<pid> directory is."""
    stack = []
    for name in base:  # native, canonical (readlink)
        kind = None
        if len(stack) == 1 and stack[0][0] == b"proc" and _is_pid(name):
            kind = _HOST if int(name) in ctx.engine.tasks else _OUTSIDE
        stack.append((name, kind))
    out = None
    for i, name in enumerate(parts):
        if name == b".." and stack:
            stack.pop()
        elif name not in (b"", b".", b".."):
            depth = len(stack)
            native = kind = None
            if depth == 1 and stack[0][0] == b"proc":
                if name == b"self":
                    kind = _SELF
                elif name == b"thread-self":  # -> <pid>/task/<tid>
                    stack += [(name, _SELF), (b"task", None)]
                elif _is_pid(name):
                    native, kind = _native_tid(ctx, int(name)), _HOST
                    if native is None:
                        return -errno.ENOENT
            elif (depth == 3 and stack[0][0] == b"proc" and stack[1][1] is _HOST
                  and stack[2][0] == b"task" and _is_pid(name)):
                # the kernel then checks that it is a thread of that process
                native = _native_tid(ctx, int(name))
                if native is None:
                    return -errno.ENOENT
            stack.append((name, kind))
            if native is not None and native != int(name):
                out = out or list(parts)
                out[i] = b"%d" % native
        if len(stack) > 1 and stack[0][0] == b"proc" and stack[1][1] is _OUTSIDE:
            return -errno.ENOENT
    return out
