"""Descriptors whose state the simulated kernel owns: timerfds and signalfds (the host
keeps a duplicate of each, standing in for it, and makes it readable), pidfds (which
virtual pid each names), and duplicates of a tracee's descriptors (pidfd_getfd(2))."""
from __future__ import annotations

import errno
import os
import select

from pidfd import PidFd, PidFdError

from ..kernel.timers import FdTimer
from .records import Task


class SignalFd:
    """A signalfd: its mask, and the host's duplicate of the eventfd standing in for
    it (made readable while a signal of the mask is pending)."""

    __slots__ = ("mask", "dup", "readable")

    def __init__(self, mask: int, dup: int):
        self.mask, self.dup, self.readable = mask, dup, False

    def nonblocking(self) -> bool:
        import fcntl
        return bool(fcntl.fcntl(self.dup, fcntl.F_GETFL) & os.O_NONBLOCK)

    def set_readable(self, flag: bool) -> None:
        if flag and not self.readable:
            os.write(self.dup, (1).to_bytes(8, "little"))
        elif not flag and self.readable:
            poller = select.poll()
            poller.register(self.dup, select.POLLIN)
            if poller.poll(0):  # never blocks: it is readable
                os.read(self.dup, 8)
        self.readable = flag


class FdObjects:
    """The per-descriptor tables, by (virtual pid, fd)."""

    def timerfd_created(self, task: Task, fd: int, clock_id: int) -> None:
        dup = self.dup_tracee_fd(task, fd)
        self._fd_dups.append(dup)
        self.timerfds[(task.proc.pid, fd)] = FdTimer(
            clock_id, lambda count: os.write(dup, count.to_bytes(8, "little")))

    def signalfd_created(self, task: Task, fd: int, mask: int) -> None:
        dup = self.dup_tracee_fd(task, fd)
        self._fd_dups.append(dup)
        self.signalfds[(task.proc.pid, fd)] = SignalFd(mask, dup)
        self.signalfd_update(task.proc.pid)

    def signalfd_update(self, pid: int) -> None:
        """A signalfd polls readable exactly while a signal of its mask is pending."""
        info = self.info.get(pid)
        if info is None:
            return
        pending = 0
        for task in info.tasks:
            if not task.exiting:
                pending |= task.pending.mask()
        for (owner, _fd), sfd in self.signalfds.items():
            if owner == pid:
                sfd.set_readable(bool(pending & sfd.mask))

    def _inherit_fd_objects(self, parent: int, child: int) -> None:
        """fork(2): the child's descriptors are the parent's."""
        for table in (self.timerfds, self.signalfds, self.pidfds):
            for (owner, fd), obj in list(table.items()):
                if owner == parent:
                    table[(child, fd)] = obj

    def dup_tracee_fd(self, task: Task, fd: int) -> int:
        """A duplicate of the task's descriptor ``fd`` (pidfd_getfd(2)); it shares the
        open file description: the host only polls it, never reads from it."""
        pidfd = self._pidfd(task.tgid_native)
        if pidfd is None or fd < 0:
            raise OSError(errno.EBADF, "no such descriptor")
        try:
            return pidfd.getfd(fd)
        except PidFdError as exc:
            raise OSError(getattr(exc, "errno", errno.EBADF) or errno.EBADF, str(exc)) from None

    def _pidfd(self, native: int):
        """The process's pidfd, opened on first use (pidfd_getfd, the survivors check)
        rather than at its birth: ~5 us a process. Safe because its pid cannot name
        another process until the tracer, its parent, reaps it, and the tracer drops
        the pidfd when it does (_release_native). None when it is gone."""
        pidfd = self._pidfds.get(native)
        if pidfd is None:
            try:
                # os.pidfd_open: a C call, where PidFd.open goes through ctypes (~4 us)
                pidfd = self._pidfds[native] = PidFd(os.pidfd_open(native))
            except (OSError, PidFdError):
                return None
        return pidfd
