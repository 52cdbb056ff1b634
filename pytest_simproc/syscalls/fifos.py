"""Blocking opens of FIFOs: open(2) of a FIFO waits for the other end (fifo(7)).

Opening a FIFO for reading blocks until a writer has opened it, and for writing until
a reader has: ``mkfifo p; producer > p & consumer < p``. Run natively, the first to
open waits in the kernel, and the host, which runs one process at a time, never ran
the other: the watchdog killed the waiter. So a blocking open (O_RDONLY or O_WRONLY,
without O_NONBLOCK) of a FIFO is the host's, as the kernel's fifo_open decides it:

- A reader does not wait when a writer holds the FIFO open, or waits in the host
  itself; else it parks until a writer opens it (the kernel waits for its count of
  writers' opens to move, so a writer that came and went ends the wait too). Its open
  then runs natively with O_NONBLOCK, which always succeeds, and the flag is taken off
  the new file description (the program never sees it).
- A writer's open runs natively with O_NONBLOCK: it succeeds when a reader holds the
  FIFO open (the flag is taken off likewise), and fails with ENXIO when none does; the
  writer then parks until a reader opens it, or waits in the host itself, and runs
  again.

Who holds an end is read from /proc/N/fd and fdinfo of the host's processes and of the
process that runs the host (the test): a FIFO end held by another process of the
machine is not seen. A handler interrupts the wait with EINTR, or restarts it after
SA_RESTART (signal(7) names open of a FIFO among the restarted calls). openat2(2) runs
natively as it is.
"""
from __future__ import annotations

import errno
import os
import stat

from ..trace.openfiles import O_ACCMODE, opened_as
from .args import s32, u32
from .outcome import Block, Native

O_RDONLY, O_WRONLY = 0o0, 0o1
O_NONBLOCK, O_DIRECTORY, O_NOFOLLOW, O_PATH = 0o4000, 0o200000, 0o400000, 0o10000000
AT_FDCWD = -100
_NEVER_WAITS = O_NONBLOCK | O_DIRECTORY | O_PATH


class _Fifo:
    """The host's record of one FIFO's blocking opens: how many readers' and writers'
    opens succeeded (the kernel's r_counter and w_counter), who waits now."""
    __slots__ = ("readers_opened", "writers_opened", "waiting_readers", "waiting_writers")

    def __init__(self):
        self.readers_opened = self.writers_opened = 0
        self.waiting_readers: set[int] = set()
        self.waiting_writers: set[int] = set()


def on_open(ctx, flags_reg: str, path: bytes, dirfd, flags: int):
    """The outcome of a blocking open of a FIFO; None for anything else."""
    flags = u32(flags)
    if flags & _NEVER_WAITS or flags & O_ACCMODE not in (O_RDONLY, O_WRONLY):
        return None
    try:
        st = os.stat(_seen_from_host(ctx, path, dirfd), follow_symlinks=not flags & O_NOFOLLOW)
    except (OSError, ValueError):
        return None  # the kernel answers (ENOENT, ELOOP...) as it would
    if not stat.S_ISFIFO(st.st_mode):
        return None
    inode = (st.st_dev, st.st_ino)
    fifo = record(ctx.engine, inode)
    if flags & O_ACCMODE == O_RDONLY:
        return _reader(ctx, fifo, inode, flags_reg, flags)
    return _writer(ctx, fifo, inode, flags_reg, flags)


def record(engine, inode) -> _Fifo:
    """The host's record of the FIFO ``inode`` ((st_dev, st_ino))."""
    return engine.fifos.setdefault(inode, _Fifo())


def _seen_from_host(ctx, path: bytes, dirfd) -> bytes:
    """``path`` as the program resolves it, through its root, cwd or ``dirfd``."""
    native = ctx.task.native
    if path[:1] == b"/":
        return b"/proc/%d/root%s" % (native, path)
    if dirfd is None or s32(dirfd) == AT_FDCWD:
        return b"/proc/%d/cwd/%s" % (native, path)
    return b"/proc/%d/fd/%d/%s" % (native, s32(dirfd), path)


def _reader(ctx, fifo: _Fifo, inode, flags_reg: str, flags: int):
    if fifo.waiting_writers or held(ctx.engine, inode, writing=True):
        return _opened_now(ctx, fifo, flags_reg, flags, reading=True)
    seen = fifo.writers_opened
    task = id(ctx.task)
    fifo.waiting_readers.add(task)
    return Block(retry=lambda c: _opened_now(c, fifo, flags_reg, flags, reading=True),
                 ready=lambda: (fifo.writers_opened != seen or bool(fifo.waiting_writers)
                                or held(ctx.engine, inode, writing=True)),
                 restart=True, on_interrupt=lambda _c: -errno.EINTR,
                 cleanup=lambda: fifo.waiting_readers.discard(task))


def _writer(ctx, fifo: _Fifo, inode, flags_reg: str, flags: int):
    def finished(c, result):
        if result >= 0:
            return _made_blocking(c, fifo, result, reading=False)
        if result != -errno.ENXIO:
            return result
        # no reader holds it open: wait for one to open it, as the kernel would
        seen, task = fifo.readers_opened, id(c.task)
        fifo.waiting_writers.add(task)
        return Block(retry=lambda _c: Native(),   # the open again, from its entry
                     ready=lambda: (fifo.readers_opened != seen or bool(fifo.waiting_readers)
                                    or held(c.engine, inode, writing=False)),
                     restart=True, on_interrupt=lambda _c: -errno.EINTR,
                     cleanup=lambda: fifo.waiting_writers.discard(task))
    return Native(regs={flags_reg: flags | O_NONBLOCK}, on_exit=finished)


def _opened_now(ctx, fifo: _Fifo, flags_reg: str, flags: int, reading: bool) -> Native:
    """The open run natively with O_NONBLOCK (a reader's never waits)."""
    return Native(regs={flags_reg: flags | O_NONBLOCK},
                  on_exit=lambda c, result: (_made_blocking(c, fifo, result, reading)
                                             if result >= 0 else result))


def _made_blocking(ctx, fifo: _Fifo, fd: int, reading: bool) -> int:
    """The new descriptor's description without the O_NONBLOCK the host added."""
    try:
        dup = ctx.engine.dup_tracee_fd(ctx.task, fd)
    except OSError:
        pass
    else:
        try:
            os.set_blocking(dup, True)
        finally:
            os.close(dup)
    if reading:
        fifo.readers_opened += 1
    else:
        fifo.writers_opened += 1
    return fd


def held(engine, inode, writing: bool) -> bool:
    """Whether a process of the host, or the one running it, holds the FIFO open for
    writing (``writing``) or for reading."""
    wanted = (O_WRONLY, 0o2) if writing else (O_RDONLY, 0o2)
    pids = {t.tgid_native for t in list(engine.tasks.values()) if not t.gone}
    pids.add(os.getpid())
    return any(mode in wanted for pid in pids for mode in opened_as(pid, inode))
