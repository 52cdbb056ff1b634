"""Descriptors whose state the simulated kernel owns: timerfds and signalfds (the host
keeps a duplicate of each, standing in for it, and makes it readable), pidfds (which
virtual pid each names), and duplicates of a tracee's descriptors (pidfd_getfd(2)).

The host does not see close(2), dup(2), dup2(2) or an exec closing O_CLOEXEC
descriptors, so a table keyed by descriptor number goes stale: such an object is the
open file description behind the number, and the host holds a duplicate of each to
recognize it by (kcmp(2) KCMP_FILE) under any number, in any process."""
from __future__ import annotations

import errno
import fcntl
import os
import select

from pidfd import PidFd, PidFdError

from ..kernel.timers import REALTIME_SET, FdTimer
from ..trace import ptrace_ops as pt
from .records import Task


class SignalFd:
    """A signalfd: its mask, and the host's duplicate of the eventfd standing in for
    it (made readable while a signal of the mask is pending)."""

    __slots__ = ("mask", "dup", "readable")

    def __init__(self, mask: int, dup: int):
        self.mask, self.dup, self.readable = mask, dup, False

    def nonblocking(self) -> bool:
        return bool(fcntl.fcntl(self.dup, fcntl.F_GETFL) & os.O_NONBLOCK)

    def set_readable(self, flag: bool) -> None:
        if flag and not self.readable:
            os.write(self.dup, (1).to_bytes(8, "little"))
        elif not flag and self.readable:
            if _readable(self.dup):  # never blocks
                os.read(self.dup, 8)
        self.readable = flag


class TimerFd:
    """A timerfd: its timer, the host's duplicate of the eventfd standing in for it, and
    whether a setting of CLOCK_REALTIME cancels it (TFD_TIMER_CANCEL_ON_SET) or did."""

    __slots__ = ("timer", "dup", "cancel_on_set", "canceled")

    def __init__(self, timer: FdTimer, dup: int):
        self.timer, self.dup = timer, dup
        self.cancel_on_set = self.canceled = False

    def take_count(self) -> int:
        """Read the expirations counted so far (0 if none), without blocking."""
        if not _readable(self.dup):
            return 0
        return int.from_bytes(os.read(self.dup, 8), "little")


def _readable(fd: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class PidFdRef:
    """A pidfd: the virtual pid it names, and the host's duplicate of it."""

    __slots__ = ("pid", "dup")

    def __init__(self, pid: int, dup: int):
        self.pid, self.dup = pid, dup


# what /proc/N/fd/M reads for the descriptors these tables hold (proc(5))
_ANON_LINKS = ("anon_inode:", "pidfd:")


class FdObjects:
    """The per-descriptor tables, by (virtual pid, fd), checked by open file description.
    ``_fd_objects`` holds every object some descriptor may still be, by table; each is
    in its table under at least one number (a number found stale is replaced by another
    that names it, or the object is dropped), so an empty table means no such objects."""

    def timerfd_created(self, task: Task, fd: int, clock_id: int) -> None:
        entry = TimerFd(None, self.dup_tracee_fd(task, fd))

        def expired(count: int) -> None:
            if self._still_open(self.timerfds, entry):
                os.write(entry.dup, count.to_bytes(8, "little"))

        entry.timer = FdTimer(clock_id, expired)
        self._fd_object_created(self.timerfds, task, fd, entry)

    def signalfd_created(self, task: Task, fd: int, mask: int) -> None:
        self._fd_object_created(self.signalfds, task, fd,
                                SignalFd(mask, self.dup_tracee_fd(task, fd)))
        self.signalfd_update(task.proc.pid)

    def pidfd_created(self, task: Task, fd: int, pid: int) -> None:
        self._fd_object_created(self.pidfds, task, fd,
                                PidFdRef(pid, self.dup_tracee_fd(task, fd)))

    def realtime_was_set(self, delta_ns: int, tai_ns: int | None = None) -> None:
        """CLOCK_REALTIME was set ``delta_ns`` away and CLOCK_TAI ``tai_ns`` (as far
        when None; kernel/timers.py): timers at an absolute time of them move,
        absolute sleeps on them look again (clock_nanosleep(2)), and, when the
        realtime moved, a timerfd armed with TFD_TIMER_CANCEL_ON_SET is canceled:
        readable, its read ECANCELED (timerfd_create(2))."""
        if not delta_ns and not tai_ns:
            return
        self.timers.realtime_was_set(delta_ns, tai_ns)
        if delta_ns:
            for entry in self._fd_objects.get(id(self.timerfds), ()):
                if entry.cancel_on_set and not entry.canceled:
                    entry.canceled = True
                    os.write(entry.dup, (1).to_bytes(8, "little"))
        self._notify(REALTIME_SET)

    def pidfd_target(self, task: Task, fd: int):
        """The virtual pid the task's pidfd ``fd`` names, or None."""
        ref = self.fd_object(self.pidfds, task, fd)
        return ref.pid if ref is not None else None

    def _fd_object_created(self, table: dict, task: Task, fd: int, obj) -> None:
        table[(task.proc.pid, fd)] = obj
        objects = self._fd_objects.setdefault(id(table), [])
        objects.append(obj)
        if len(objects) > self._fd_sweep_at:  # a program that opens many: drop the closed
            for old in list(objects):
                self._still_open(table, old)
            self._fd_sweep_at = max(64, 2 * len(objects))

    def fd_object(self, table: dict, task: Task, fd: int):
        """The object of ``table`` (timerfds, signalfds, pidfds) that the task's
        descriptor ``fd`` is, or None: the one remembered under its number if that
        still names it, else any whose file description it is (a dup, an inherited or
        received descriptor), remembered under this number from now on."""
        key = (task.proc.pid, fd)
        native = task.tgid_native
        obj = table.get(key)
        if obj is not None:
            if pt.same_file(native, fd, obj.dup):
                return obj
            del table[key]  # closed, or another file now
            if obj not in table.values():
                self._still_open(table, obj)  # found under another number, or dropped
        objects = self._fd_objects.get(id(table))
        if not objects or fd < 0:
            return None
        try:
            if not os.readlink(f"/proc/{native}/fd/{fd}").startswith(_ANON_LINKS):
                return None
        except OSError:
            return None
        for candidate in objects:
            if pt.same_file(native, fd, candidate.dup):
                table[key] = candidate
                return candidate
        return None

    def _still_open(self, table: dict, obj) -> bool:
        """Whether a descriptor of a host process still is ``obj``: the numbers it was
        seen under first, then every descriptor of every process (it may have been
        duplicated, inherited or passed on since). Numbers that name something else
        now are forgotten, and so is an object no descriptor is: its duplicate closed,
        a timerfd's timer disarmed (the kernel frees both with the last descriptor)."""
        for key in [k for k, v in table.items() if v is obj]:
            info = self.info.get(key[0])
            if info is not None and pt.same_file(info.native, key[1], obj.dup):
                return True
            del table[key]
        for pid, info in list(self.info.items()):
            try:
                fds = os.listdir(f"/proc/{info.native}/fd")
            except OSError:
                continue
            for name in fds:
                if pt.same_file(info.native, int(name), obj.dup):
                    table[(pid, int(name))] = obj
                    return True
        self._fd_objects[id(table)].remove(obj)
        if isinstance(obj, TimerFd):
            self.timers.fd_timer_close(obj.timer)
        os.close(obj.dup)
        return False

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

