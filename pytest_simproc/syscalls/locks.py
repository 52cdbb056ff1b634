"""File locks a program waits for: flock(2), fcntl(2) F_SETLKW and F_OFD_SETLKW.

A program blocked natively on a lock that another process of the host holds would
freeze the host: one process runs at a time, so the holder never gets to release it
(``flock -c`` in two scripts, a daemon's pid-file lock, ``lockf(3)``). Each waiting
call runs natively once without waiting (LOCK_NB added; F_SETLK or F_OFD_SETLK), so the
kernel itself decides conflicts and takes the lock when it can. When it could not, the
program is parked until the locks of that file change (its lines of /proc/locks,
proc(5)), and then runs the call again. The host looks after every step while a lock
wait is parked: a release it does not trap (flock's LOCK_UN, an F_SETLK or F_OFD_SETLK
unlock or downgrade, close(2) of a descriptor, the holder's exit: fcntl(2), flock(2))
wakes the waiter at the releaser's next stop, before the releaser goes on. A
handler interrupts the wait with EINTR, or restarts it after SA_RESTART (signal(7)
lists both calls among the restarted ones).

Two settle at the entry stop, with no exit stop (_by_host): F_OFD_SETLKW is the
host's F_OFD_SETLK on a duplicate of the descriptor, which shares the open file
description that owns the lock; F_SETLKW runs natively as it is when no lock
conflicts with it, so it cannot wait.

F_GETLK names the holder of a conflicting lock by its pid in the host.

F_SETLKW's deadlock check is the kernel's, made on the host's waiters: the request
fails with EDEADLK when the process holding the conflicting lock waits, through a
chain of parked F_SETLKW callers, for a lock the caller holds (fcntl(2); the kernel's
posix_locks_deadlock follows at most 10 links). OFD locks and flock have no such check.
"""
from __future__ import annotations

import errno
import fcntl as _fcntl
import os
import struct

from .args import s32, u32
from .outcome import Block, Native
from .registry import handles

LOCK_SH, LOCK_EX, LOCK_NB = 1, 2, 4
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
_FLOCK = struct.Struct("<hh4xqqi4x")   # struct flock: type, whence, start, len, pid
_MAX_LINKS = 10                        # fs/locks.c MAX_DEADLK_ITERATIONS
_EOF = float("inf")

# parked F_SETLKW callers: id(task) -> (its process's native pid, request)
_posix_waiters: dict[int, tuple] = {}


@handles("flock", when=(1, {LOCK_SH, LOCK_EX}))
def flock(ctx, fd, operation, *_):
    """A flock that may wait: LOCK_SH or LOCK_EX without LOCK_NB (the filter traps
    only those; the strace log traps every one), run with LOCK_NB."""
    if u32(operation) not in (LOCK_SH, LOCK_EX):
        return Native()
    return _gated(ctx, s32(fd), Native(regs={"rsi": u32(operation) | LOCK_NB}),
                  (errno.EWOULDBLOCK,))


@handles("fcntl", when=(1, {F_SETLKW, F_OFD_SETLKW}))
def setlkw(ctx, fd, cmd, arg, *_):
    """F_SETLKW and F_OFD_SETLKW, run as F_SETLK and F_OFD_SETLK (EACCES or EAGAIN on a
    conflict, fcntl(2))."""
    posix = s32(cmd) == F_SETLKW
    done = _by_host(ctx, s32(fd), arg, posix)
    if done is not None:
        return done
    if _unlocks(ctx, arg):
        return Native()   # an unlock never waits: no exit stop to look at its result
    native = Native(regs={"rsi": F_SETLK if posix else F_OFD_SETLK})
    return _gated(ctx, s32(fd), native, (errno.EACCES, errno.EAGAIN),
                  request_at=arg if posix else None)


@handles("fcntl", when=(1, {F_GETLK}))
def getlk(ctx, fd, cmd, arg, *_):
    """F_GETLK: the conflicting lock's holder as the host names it (l_pid), 0 for a
    process outside the host, as for one outside the caller's pid namespace."""
    def translated(c, result):
        if result == 0:
            kind, whence, start, length, pid = _FLOCK.unpack(c.mem.read(arg, _FLOCK.size))
            if kind != F_UNLCK and pid > 0:
                holder = c.engine.tasks.get(pid)
                c.mem.write(arg, _FLOCK.pack(kind, whence, start, length,
                                             0 if holder is None else holder.proc.pid))
        return result
    return Native(on_exit=translated)


def _by_host(ctx, fd: int, address: int, posix: bool):
    """What the host settles at the entry stop through its duplicate of the descriptor
    (pidfd_getfd), with no exit stop; None: the kernel answers (a bad descriptor or
    address, or a POSIX lock that may have to wait, run as F_SETLK).

    F_OFD_SETLKW: an OFD lock belongs to the open file description (fcntl(2) "Open
    file description locks"), which the duplicate shares, and /proc/locks shows its
    pid as -1 whoever took it: the host's F_OFD_SETLK takes or frees the program's
    own lock, and a conflict parks the caller, whose retry is the host's again.
    F_SETLKW: a POSIX lock is the process's, which the host cannot take for it; but
    when no lock conflicts with the request, the call cannot wait and runs natively
    as it is. The host's F_GETLK sees every lock but its own (the test's, in drop-in
    mode), F_OFD_GETLK on the duplicate every lock but the description's OFD locks:
    both free, nothing conflicts. One stop a call either way (LTP's fcntl36 locks and
    unlocks at every turn of its threads' loops)."""
    try:
        request = ctx.mem.read(address, _FLOCK.size)
    except OSError:
        return None
    kind, whence, start, length, _pid = _FLOCK.unpack(request)
    if posix and kind == F_UNLCK:
        return Native()   # an unlock never waits: no exit stop to look at its result
    try:
        dup = ctx.engine.dup_tracee_fd(ctx.task, fd)
    except OSError:
        return None
    try:
        if posix:
            probe = _FLOCK.pack(kind, whence, start, length, 0)   # F_OFD_GETLK: l_pid 0
            free = all(_FLOCK.unpack(_fcntl.fcntl(dup, cmd, probe))[0] == F_UNLCK
                       for cmd in (F_GETLK, F_OFD_GETLK))
            return Native() if free else None
        _fcntl.fcntl(dup, F_OFD_SETLK, request)
        return 0
    except OSError as exc:
        if posix:
            return None
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            return -exc.errno
        st = os.fstat(dup)
    finally:
        os.close(dup)
    where = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    return _lock_wait(ctx.engine, where, lambda c: setlkw(c, fd, F_OFD_SETLKW, address))


def _lock_wait(engine, where: str, retry, cleanup=None) -> Block:
    """Park the caller until the locks of ``where`` change, then ``retry``: looked at
    after every step (a release the host does not trap wakes it at the releaser's next
    stop), /proc/locks read once a round of the engine's looks for all its waits."""
    before = lines_of(where)
    return Block(retry=retry, ready=lambda: _lines_now(engine, where) != before,
                 ready_each_step=True, restart=True,
                 on_interrupt=lambda _c: -errno.EINTR, cleanup=cleanup)


def _unlocks(ctx, address: int) -> bool:
    """The struct flock at ``address`` asks for F_UNLCK (a bad address: the native
    call's own EFAULT)."""
    try:
        return struct.unpack("<h", ctx.mem.read(address, 2))[0] == F_UNLCK
    except OSError:
        return False


def _gated(ctx, fd: int, native: Native, would_wait: tuple, request_at=None) -> Native:
    """Run ``native``; a ``would_wait`` error parks the caller until the file's locks
    change, then the call runs again from its entry (``request_at``: F_SETLKW's struct
    flock, checked for a deadlock first)."""
    task = id(ctx.task)

    def finished(c, result):
        if -result not in would_wait:
            return result
        owner = c.task.tgid_native
        where = file_of(owner, fd)
        if where is None:
            return result
        if request_at is not None:
            request = _request(c, owner, fd, where, request_at)
            if request is not None:
                if _deadlocks(c, owner, request):
                    return -errno.EDEADLK
                _posix_waiters[task] = (owner, request)
        return _lock_wait(c.engine, where, lambda _c: Native(),
                          cleanup=lambda: _posix_waiters.pop(task, None))

    native.on_exit = finished
    return native


def file_of(native_pid: int, fd: int):
    """The "MAJOR:MINOR:INODE" that /proc/locks names ``fd``'s file by."""
    try:
        st = os.stat(f"/proc/{native_pid}/fd/{fd}")
    except OSError:
        return None
    return f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"


def _locks():
    """/proc/locks as (kind, type, pid, file, start, end) for each lock held (not the
    "->" lines of blocked waiters)."""
    try:
        with open("/proc/locks") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    held = []
    for line in lines:
        parts = line.split()
        if len(parts) < 8 or parts[1] == "->":
            continue
        end = _EOF if parts[7] == "EOF" else int(parts[7])
        held.append((parts[1], parts[3], int(parts[4]), parts[5], int(parts[6]), end))
    return held


def lines_of(where: str) -> list:
    return [lock for lock in _locks() if lock[3] == where]


# (engine, its round of looks) -> /proc/locks as read in that round
_snapshot: tuple = (None, ())


def _lines_now(engine, where: str) -> list:
    """lines_of, with /proc/locks read once per round of the engine's looks at its
    parked waits (Engine.look_round), however many lock waits it asks."""
    global _snapshot
    round_ = (id(engine), engine.look_round)
    if _snapshot[0] != round_:
        _snapshot = (round_, _locks())
    return [lock for lock in _snapshot[1] if lock[3] == where]


def _request(ctx, owner: int, fd: int, where: str, address: int):
    """F_SETLKW's request as (file, write?, start, end) in absolute offsets, the way
    fcntl(2) reads l_whence, l_start and l_len (a negative length ends before start)."""
    kind, whence, start, length, _pid = _FLOCK.unpack(ctx.mem.read(address, _FLOCK.size))
    try:
        if whence == os.SEEK_CUR:
            with open(f"/proc/{owner}/fdinfo/{fd}") as f:
                start += int(f.readline().split()[1])
        elif whence == os.SEEK_END:
            start += os.stat(f"/proc/{owner}/fd/{fd}").st_size
    except (OSError, IndexError, ValueError):
        return None
    if length > 0:
        first, last = start, start + length - 1
    elif length < 0:
        first, last = start + length, start - 1
    else:
        first, last = start, _EOF
    return where, kind == F_WRLCK, first, last


def _blockers(request, owner: int, held) -> set:
    """Native pids of the processes whose POSIX locks conflict with ``request``."""
    where, write, first, last = request
    return {pid for kind, type_, pid, file, start, end in held
            if kind == "POSIX" and file == where and pid != owner
            and start <= last and first <= end and (write or type_ == "WRITE")}


def _deadlocks(ctx, owner: int, request) -> bool:
    """Whether waiting for ``request`` would close a cycle: a conflicting lock's holder
    waits in the host (F_SETLKW) on a lock whose holder ... is ``owner``."""
    held = _locks()
    waiting = {}
    for task in ctx.engine.tasks.values():
        entry = _posix_waiters.get(id(task))
        if entry is not None and not task.gone:
            waiting.setdefault(entry[0], []).append(entry[1])
    frontier, seen = _blockers(request, owner, held), set()
    for _link in range(_MAX_LINKS):
        if owner in frontier:
            return True
        seen |= frontier
        frontier = {blocker for pid in frontier for wanted in waiting.get(pid, ())
                    for blocker in _blockers(wanted, pid, held)} - seen
        if not frontier:
            return False
    return False
