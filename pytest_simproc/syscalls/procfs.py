"""/proc inside a host: every call that takes a path, and directory listings, see the
host's processes by their virtual pids (pid_namespaces(7), "/proc and PID namespaces").

proc(5): /proc/<pid> is the process with that pid, /proc/<pid>/task/<tid> one of its
threads. Reached natively with a virtual pid, such a path names whatever real process
has that number: the wrong one, or one outside the host, whose /proc/<pid>/mem can
write it as process_vm_writev(2), which the host refuses, would. So a host pid is
translated to the native one, any other number is ENOENT, /proc/self and
/proc/thread-self read as the caller's virtual numbers, a listing of /proc or of
/proc/<pid>/task shows the host's pids and tids only, and the files whose numbers are
the kernel's view of the process (stat, status, the system's uptime, stat, loadavg)
are served rendered by the host's view (procview.py).

Rendered files are written in the host's data directory and the program's open(2) is
pointed at them, as /dev/urandom is: a file is reachable by path from the program
without ptrace rights over the tracer (a memfd of the tracer's, reached through
/proc/<tracer>/fd, needs them, which Yama's ptrace_scope 1 denies). Each rendering
is a new file (the old one unlinked), so a descriptor opened earlier keeps what it read.
Init (pid 1) and a zombie have no native process: their /proc/<pid> is a directory
rendered there too.

The path is read lexically ("//", ".", ".." and /proc/thread-self's three levels);
other symlinks are not followed. A relative path is joined to its base directory (the
cwd or dirfd), read with one readlink. Every other path runs as it is, after reading
its string once: a path without "proc" in it is rejected at once.
"""
from __future__ import annotations

import errno
import os
import struct

from ..kernel.errors import KernelError
from ..procview import namespace_link
from .args import s32
from .outcome import Native, native_with_copy
from .registry import handles
from .sched import host_task

AT_FDCWD = -100
PATH_MAX = 4096   # with its NUL (limits.h)
SYS_LSEEK = 8
DT_DIR = 4
O_PATH = 0o10000000
_PREFIX = 128


class Target:
    """A path under /proc, read lexically, with virtual numbers: ``comps`` from the root
    (b"proc", b"1000", b"task", b"1001", b"stat"); ``link`` when it ends at the
    /proc/self or /proc/thread-self symlink itself."""

    __slots__ = ("comps", "link")

    def __init__(self, comps, link):
        self.comps, self.link = comps, link

    @property
    def pid(self) -> int | None:
        return int(self.comps[1]) if len(self.comps) > 1 and _is_pid(self.comps[1]) else None


def _is_pid(name: bytes) -> bool:
    # the kernel reads no sign and no leading zero (fs/proc/util.c name_to_int)
    return name.isdigit() and name[:1] != b"0"


# ------------------------------------------------------------------ resolution

def resolve(ctx, path: bytes, dirfd: int | None):
    """None: not under /proc (run the call as it is); a Target; or -errno.

    ``dirfd`` is the *at call's, None for a call without one."""
    if path[:1] == b"/":
        if path.find(b"proc") < 0:
            return None
        base = []
    elif not path:
        return None  # ENOENT, or AT_EMPTY_PATH: the kernel answers
    else:
        base = _base_dir(ctx, dirfd)
        if base is None or (base[:1] != [b"proc"] and path.find(b"proc") < 0):
            return None
        if base[:1] == [b"proc"]:
            base = _virtual_base(ctx, base)
            if base is None:
                return -errno.ENOENT  # under a process the host does not have
    return _walk(ctx, base, path.split(b"/"))


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


def _task_by_native(ctx, native: int):
    task = ctx.engine.tasks.get(native)
    return None if task is None or task.exiting else task


def _virtual_base(ctx, base: list):
    """A native base directory under /proc with virtual numbers; None when it is a
    process's the host does not have."""
    if len(base) < 2 or not _is_pid(base[1]):
        return base
    native = int(base[1])
    task = _task_by_native(ctx, native)
    if task is None:
        pid = next((p for p, i in ctx.engine.info.items()
                    if i.native == native and ctx.engine.native_pid_of(p) == native), None)
        if pid is None:
            return None
        out = [b"proc", b"%d" % pid]
    else:
        out = [b"proc", b"%d" % (task.proc.pid if task.native == task.tgid_native else task.tid)]
    if len(base) >= 4 and base[2] == b"task" and _is_pid(base[3]):
        thread = _task_by_native(ctx, int(base[3]))
        if thread is not None:
            out += [b"task", b"%d" % thread.tid]
        elif int(base[3]) == native:  # the main thread, ended while others run
            out += [b"task", out[1]]
        else:
            return None
        return out + base[4:]
    return out + base[2:]


def _known_pid(ctx, n: int):
    """The virtual number /proc/<n> names: a host pid or tid (live, a zombie, init),
    or the native pid of a host task, which passes as the task's; else None."""
    if host_task(ctx, n) is not None or ctx.table.get(n) is not None:
        return n
    task = _task_by_native(ctx, n)  # a native number the program learnt elsewhere
    if task is not None:
        return task.proc.pid if task.native == task.tgid_native else task.tid
    return None


def _known_tid(ctx, pid: int, n: int):
    """The virtual tid /proc/<pid>/task/<n> names, else None (not a thread of pid)."""
    tids = ctx.engine.procview.tids(_process_of(ctx, pid))
    if n in tids:
        return n
    task = _task_by_native(ctx, n)
    if task is not None and task.tid in tids:
        return task.tid
    return None


def _process_of(ctx, n: int) -> int:
    """The process of /proc/<n>: n, or the process of thread n."""
    task = host_task(ctx, n)
    return task.proc.pid if task is not None else n


def _walk(ctx, base: list, parts: list):
    stack = list(base)
    link = False
    for name in parts:
        link = False
        if name == b".." and stack:
            stack.pop()
            continue
        if name in (b"", b".", b".."):
            continue
        if len(stack) == 1 and stack[0] == b"proc":
            if name == b"self":
                stack.append(b"%d" % ctx.proc.pid)
                link = True
                continue
            if name == b"thread-self":
                stack += [b"%d" % ctx.proc.pid, b"task", b"%d" % ctx.task.tid]
                link = True
                continue
            if _is_pid(name):
                n = _known_pid(ctx, int(name))
                if n is None:
                    return -errno.ENOENT
                name = b"%d" % n
        elif (len(stack) == 3 and stack[0] == b"proc" and _is_pid(stack[1])
              and stack[2] == b"task" and _is_pid(name)):
            n = _known_tid(ctx, int(stack[1]), int(name))
            if n is None:
                return -errno.ENOENT
            name = b"%d" % n
        stack.append(name)
    if stack[:1] != [b"proc"]:
        return None
    return Target(stack, link)


# ------------------------------------------------------------------ what the kernel sees

def native_path(ctx, target: Target) -> bytes:
    """The path the kernel must see for ``target``: native numbers, or the rendered
    directory of a process without a native one."""
    comps = target.comps
    if target.link:  # the symlink itself: natively the caller's too
        return b"/proc/self" if len(comps) == 2 else b"/proc/thread-self"
    pid = target.pid
    if pid is None:
        return b"/" + b"/".join(comps)
    view = ctx.engine.procview
    proc = _process_of(ctx, pid)
    rest = comps[2:]
    if proc != pid:  # /proc/<tid> of a thread: its own (unlisted) directory
        head = b"/proc/%d" % host_task(ctx, pid).native
    else:
        native = view.native_dir(proc)
        if native is None:
            return _rendered_dir(ctx, proc) + b"/" + b"/".join(rest)
        if len(rest) >= 2 and rest[0] == b"task":
            native = view.native_dir(proc, int(rest[1]))
            if native is None:  # ended since it was looked up
                raise KernelError(errno.ENOENT)
            rest = rest[2:]
        head = os.fsencode(native)
    return b"/".join([head] + rest)


NS_LAST_PID = [b"proc", b"sys", b"kernel", b"ns_last_pid"]


def rendered_path(ctx, comps: list) -> bytes:
    """Where the file /proc/``comps[1:]`` is rendered."""
    return _rendered_root(ctx) + b"/" + b"/".join(comps[1:])


def render(ctx, name: bytes, data: bytes) -> bytes:
    """Write ``data`` as the rendered file ``name`` (under the host's .proc); its path."""
    return write_rendered(_rendered_root(ctx), name, data)


def open_path(ctx, target: Target) -> bytes:
    """The path open(2) must see: a rendered file for what the view renders."""
    comps = target.comps
    view = ctx.engine.procview
    if target.pid is not None and ctx.table.is_outsider(target.pid) and _private(comps):
        raise KernelError(errno.EACCES)
    data = None
    if comps == NS_LAST_PID:  # the host's pid namespace's (syscalls/process.py)
        ctx.table.pid_files_open = True
        path = render(ctx, b"/".join(comps[1:]), b"%d\n" % ctx.table.last_pid)
        os.chmod(path, 0o666)  # as the kernel's: its write method checks who writes
        return path
    if len(comps) == 2 and target.pid is None:
        data = view.system_file(comps[1].decode(), ctx.proc.pid)
        name = comps[1]
    elif not target.link and target.pid is not None and len(comps) in (3, 5):
        proc = _process_of(ctx, target.pid)
        if len(comps) == 3:
            tid = None if proc == target.pid else target.pid
        elif comps[2] == b"task":
            tid = int(comps[3])
        else:
            return _namespace_file(ctx, target, proc) or native_path(ctx, target)
        if view.native_dir(proc) is not None:
            data = view.pid_file(proc, tid, comps[-1].decode())
        name = b"/".join(comps[1:])
    if data is None:
        return native_path(ctx, target)
    if comps[-1] == b"timens_offsets":  # its writes are the host's (syscalls/time.py)
        ctx.engine.timens.files_open = True
    return write_rendered(_rendered_root(ctx), name, data)


def _private(comps: list) -> bool:
    """A file of the outsider's (drop-in mode's test process), that would give its
    memory or its descriptors to a program: opened as for a process one may
    not ptrace (proc(5): ptrace access mode checks); listed and read as links they are
    the test's."""
    if len(comps) == 3:
        return comps[2] in (b"mem", b"pagemap")
    return len(comps) >= 4 and comps[2] in (b"fd", b"map_files")


def _time_namespace(ctx, target: Target, proc: int):
    """/proc/<pid>/ns/time or time_for_children: the host's time namespace it names
    (kernel/timens.py), None for any other path or the root namespace, which is the
    machine's own (a real descriptor of it)."""
    comps = target.comps
    if target.link or len(comps) != 4 or comps[2] != b"ns" or comps[3] not in (
            b"time", b"time_for_children"):
        return None
    timens = ctx.engine.timens
    ns = timens.of(proc) if comps[3] == b"time" else timens.for_children(proc)
    return None if ns is timens.root else ns


def _namespace_file(ctx, target: Target, proc: int) -> bytes | None:
    """A time namespace of the host's has no real one to open: a file standing for it,
    which setns(2) recognizes (syscalls/time.py namespace_of_fd)."""
    ns = _time_namespace(ctx, target, proc)
    if ns is None:
        return None
    path = _rendered_root(ctx) + b"/timens/%d" % ns.inum
    if not os.path.exists(path):
        write_rendered(_rendered_root(ctx), b"timens/%d" % ns.inum, b"")
    return path


def _rendered_root(ctx, data_dir: str | None = None) -> bytes:
    """Where the host's rendered /proc files go: ``.proc`` in its data dir (made now if
    it was not yet, unless ``data_dir`` names it)."""
    return os.fsencode(os.path.join(data_dir or ctx.engine.data_dir, ".proc"))


def write_rendered(root: bytes, name: bytes, data: bytes) -> bytes:
    """Write ``data`` as a new file ``root``/``name`` and return its path. The old file
    is unlinked first, not renamed over: ext4 writes a file's data back before a
    rename that replaces another (its auto_da_alloc), ~3 ms a file here."""
    path = root + b"/" + name
    try:
        os.unlink(path)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "xb") as f:
        f.write(data)
    return path


def render_dir(view, root: bytes, pid: int) -> bytes:
    """/proc/<pid> of a process without a native one (init, a zombie), rendered whole
    under ``root`` (its files and its one task); returns the directory."""
    # the model files (they never change) once, the others at every look
    constant = not os.path.exists(root + b"/%d/task/%d/map_files" % (pid, pid))
    for name in view.PID_FILES + (tuple(view.MODEL_FILES) if constant else ()):
        data = view.pid_file(pid, None, name)
        write_rendered(root, b"%d/%s" % (pid, name.encode()), data)
        write_rendered(root, b"%d/task/%d/%s" % (pid, pid, name.encode()), data)
    write_rendered(root, b"%d/task/%d/children" % (pid, pid), view.children(pid, pid))
    for name in view.MODEL_DIRS if constant else ():
        for where in (b"%d/%s" % (pid, name.encode()),
                      b"%d/task/%d/%s" % (pid, pid, name.encode())):
            os.makedirs(root + b"/" + where, exist_ok=True)
    return root + b"/%d" % pid


def _rendered_dir(ctx, pid: int) -> bytes:
    return render_dir(ctx.engine.procview, _rendered_root(ctx), pid)


# ------------------------------------------------------------------ the calls

def read_path(ctx, ptr: int) -> bytes | None:
    """The program's path, None when the kernel must answer (EFAULT, ENAMETOOLONG).
    A short prefix first, never past its page: most paths end in it (a stat loop's
    handler went from 4.4 to 3.9 us per call against one read to the page's end)."""
    try:
        head = ctx.mem.read(ptr, min(_PREFIX, 4096 - ptr % 4096))
        nul = head.find(b"\0")
        if nul >= 0:
            return head[:nul]
        path = ctx.mem.read_cstring(ptr, PATH_MAX)
    except (OSError, OverflowError):
        return None
    return None if len(path) >= PATH_MAX else path


def translate(ctx, path: bytes, dirfd: int | None, *, opening: bool = True):
    """None: run the call as it is; bytes: run it on this path; int: -errno."""
    target = resolve(ctx, path, dirfd)
    if target is None or isinstance(target, int):
        return target
    new = open_path(ctx, target) if opening else native_path(ctx, target)
    return None if new == path else new


def native_with_path(ctx, path_reg: str, path: bytes) -> Native:
    """Run the call on another path (a copy below the stack's red zone)."""
    return native_with_copy(ctx, path_reg, path + b"\0")


def path_call(ctx, path_reg: str, dirfd: int | None):
    path = read_path(ctx, getattr(ctx.regs, path_reg))
    if path is None or path[:1] == b"/" and path.find(b"proc") < 0:
        return Native()  # most calls: nothing to translate
    new = translate(ctx, path, dirfd, opening=False)
    if new is None:
        return Native()
    if isinstance(new, int):
        return new
    return native_with_path(ctx, path_reg, new)


@handles("access", "chdir", "chroot", "statfs", "truncate",
         "getxattr", "lgetxattr", "listxattr", "llistxattr", "setxattr", "lsetxattr",
         "removexattr", "lremovexattr", "chmod", "chown", "lchown", "utime", "utimes")
def path_first(ctx, *_):
    return path_call(ctx, "rdi", None)


@handles("faccessat", "faccessat2", "fchmodat", "fchmodat2", "fchownat", "futimesat",
         "name_to_handle_at")
def at_path(ctx, dirfd, *_):
    return path_call(ctx, "rsi", dirfd)


@handles("inotify_add_watch")
def inotify_add_watch(ctx, *_):
    return path_call(ctx, "rsi", None)


def _readlink(ctx, path_reg: str, dirfd: int | None, buf: int, size: int):
    size = s32(size)
    path = read_path(ctx, getattr(ctx.regs, path_reg))
    if path is None or size <= 0 or path[:1] == b"/" and path.find(b"proc") < 0:
        return Native()
    target = resolve(ctx, path, dirfd)
    if target is None:
        return Native()
    if isinstance(target, int):
        return target
    if target.link:  # /proc/self, /proc/thread-self: the caller's virtual numbers
        value = b"/".join(target.comps[1:])[:size]
        return len(value) if _write(ctx, buf, value) else -errno.EFAULT
    if target.pid is not None and (
            ns := _time_namespace(ctx, target, _process_of(ctx, target.pid))) is not None:
        value = b"time:[%d]" % ns.inum  # namespaces(7)
        return len(value[:size]) if _write(ctx, buf, value[:size]) else -errno.EFAULT
    new = native_path(ctx, target)
    outcome = Native() if new == path else native_with_path(ctx, path_reg, new)
    if target.pid is not None:  # a link of a process's (cwd, fd/N) may point into /proc
        outcome.on_exit = lambda c, result: _virtual_link(c, buf, size, result)
    return outcome


def _write(ctx, addr: int, data: bytes) -> bool:
    """Write into the program's buffer; False where the kernel would fault (EFAULT)."""
    try:
        ctx.mem.write(addr, data)
    except (OSError, OverflowError):
        return False
    return True


def _virtual_link(ctx, buf: int, size: int, result: int) -> int:
    """A link's target under /proc/<native> with the host's numbers; a rendered file
    by its /proc path."""
    if result <= 0:
        return result
    data = ctx.mem.read(buf, result)
    made = ctx.engine.made_data_dir()  # no rendered file is in a data dir not made yet
    rendered = None if made is None else _rendered_root(ctx, made) + b"/"
    if rendered is not None and data.startswith(rendered):
        value = b"/proc/" + data[len(rendered):]
    elif data.startswith(b"/proc/"):
        comps = _virtual_base(ctx, [c for c in data.split(b"/") if c])
        if comps is None:
            return result
        value = b"/" + b"/".join(comps)
    else:
        value = namespace_link(data)
        if value == data:
            return result
    value = value[:size]
    if value != data:
        ctx.mem.write(buf, value)
    return len(value)


@handles("readlink")
def readlink(ctx, _path, buf, size, *_):
    return _readlink(ctx, "rdi", None, buf, size)


@handles("readlinkat")
def readlinkat(ctx, dirfd, _path, buf, size, *_):
    return _readlink(ctx, "rsi", dirfd, buf, size)


# ------------------------------------------------------------------ listings

def _fd_target(ctx, fd: int) -> bytes | None:
    try:
        return os.readlink(b"/proc/%d/fd/%d" % (ctx.task.tgid_native, fd))
    except OSError:
        return None


def _fd_dir(ctx, fd: int):
    """The components of the path under /proc that ``fd`` is open on, else None."""
    target = _fd_target(ctx, fd)
    return None if target is None else _proc_components(target)


def _proc_components(target: bytes):
    if not target.startswith(b"/proc/") and target != b"/proc":
        return None
    return [c for c in target.split(b"/") if c]


def _listing(ctx, fd: int):
    """[(name, inode, type)] of a /proc or /proc/<pid>/task directory open as ``fd``,
    with the host's numbers; None for any other descriptor."""
    comps = _fd_dir(ctx, fd)
    if comps is None:
        return None
    view = ctx.engine.procview
    if comps == [b"proc"]:
        entries = [(b".", 1, DT_DIR), (b"..", 1, DT_DIR)]
        with os.scandir(b"/proc") as it:
            for e in it:
                if not _is_pid(e.name):
                    entries.append((e.name, e.inode(), _dtype(e)))
        return entries + [(b"%d" % pid, 0x10000000 + pid, DT_DIR) for pid in view.pids()]
    if len(comps) == 3 and comps[2] == b"task":
        base = _virtual_base(ctx, comps)
        if base is None:
            return None
        pid = int(base[1])
        return [(b".", 1, DT_DIR), (b"..", 1, DT_DIR)] + [
            (b"%d" % tid, 0x10000000 + tid, DT_DIR) for tid in view.tids(pid)]
    return None


def process_of_dir(ctx, fd: int) -> int | None:
    """The host pid whose /proc/<pid> directory ``fd`` is open on, 0 when that
    process is gone (reaped), else None."""
    target = _fd_target(ctx, fd)
    if target is None:
        return None
    root, _, name = target.rpartition(b"/")
    if _is_pid(name) and root == _rendered_root(ctx):
        return int(name)  # init's or a zombie's, rendered (render_dir)
    gone = target.endswith(b" (deleted)")  # a process directory whose process is reaped
    comps = _proc_components(target.removesuffix(b" (deleted)"))
    if comps is None or len(comps) != 2 or comps[0] != b"proc" or not _is_pid(comps[1]):
        return None
    base = None if gone else _virtual_base(ctx, comps)
    return 0 if base is None else int(base[1])  # 0: a process that has ended since


def _dtype(entry) -> int:
    if entry.is_symlink():
        return 10
    if entry.is_dir(follow_symlinks=False):
        return DT_DIR
    return 8


def _position(ctx, fd: int) -> int | None:
    """The descriptor's offset; None for an O_PATH one, which the kernel refuses to
    list (EBADF) without touching the buffer."""
    with open(b"/proc/%d/fdinfo/%d" % (ctx.task.tgid_native, fd), "rb") as f:
        pos = int(f.readline().split()[1])
        flags = int(f.readline().split()[1], 8)
    return None if flags & O_PATH else pos


def _dirent64(name: bytes, ino: int, off: int, dtype: int) -> bytes:
    """struct linux_dirent64 (getdents(2)): the type before the name, 8-aligned."""
    reclen = (19 + len(name) + 1 + 7) & ~7
    return struct.pack("<QqHB", ino, off, reclen, dtype) + name + bytes(reclen - 19 - len(name))


def _dirent(name: bytes, ino: int, off: int, dtype: int) -> bytes:
    """struct linux_dirent of the old getdents(2): the type in the record's last byte."""
    reclen = (18 + len(name) + 2 + 7) & ~7
    return (struct.pack("<QqH", ino, off, reclen) + name
            + bytes(reclen - 18 - len(name) - 1) + bytes((dtype,)))


@handles("getdents64")
def getdents64(ctx, fd, buf, count, *_):
    """A /proc or task directory lists the host's pids or tids (getdents(2)). The
    listing's position is the descriptor's own offset, set with lseek(2) in place of
    the native call, so rewinddir, seekdir and dup'd descriptors behave natively."""
    return _getdents(ctx, fd, buf, count, _dirent64)


@handles("getdents")
def getdents(ctx, fd, buf, count, *_):
    return _getdents(ctx, fd, buf, count, _dirent)


def _getdents(ctx, fd, buf, count, record):
    fd = s32(fd)
    entries = _listing(ctx, fd) if fd >= 0 else None
    if entries is None:
        return Native()
    try:
        pos = _position(ctx, fd)
    except (OSError, IndexError, ValueError):
        pos = None
    if pos is None:
        return Native()
    out = bytearray()
    index = pos
    count = count & 0xFFFFFFFF
    while index < len(entries):
        name, ino, dtype = entries[index]
        data = record(name, ino, index + 1, dtype)
        if len(out) + len(data) > count:
            break
        out += data
        index += 1
    if not out:
        return -errno.EINVAL if index < len(entries) else 0
    if not _write(ctx, buf, bytes(out)):
        return -errno.EFAULT
    size = len(out)

    def listed(_ctx, result):
        return size if result >= 0 else result

    return Native(regs={"orig_rax": SYS_LSEEK, "rdi": fd, "rsi": index, "rdx": os.SEEK_SET},
                  on_exit=listed)
