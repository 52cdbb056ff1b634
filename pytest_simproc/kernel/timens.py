"""Time namespaces of a host (time_namespaces(7)).

Every clock of a host is virtual, so a program's time namespace can be applied rather
than refused: the namespace a process is in moves its CLOCK_MONOTONIC and
CLOCK_BOOTTIME (and their RAW, COARSE and ALARM views) by its offsets, and absolute
sleeps and timers on those clocks are read in its terms. This module keeps which
namespace each process is in and which its children will enter, the offsets, and the
rules of /proc/PID/timens_offsets; nothing here touches a real namespace.

time_namespaces(7): unshare(CLONE_NEWTIME) makes a namespace the caller's later
children enter (the caller stays where it is until it execs); its offsets can be
written until the first process enters it; setns(2) enters one at once, for the caller
and its children; clone3(2) CLONE_NEWTIME puts the child in a new one. A thread or a
vfork(2) child stays in its creator's namespace (a vfork child enters at its exec).
"""
from __future__ import annotations

import errno

NSEC = 1_000_000_000
KTIME_SEC_MAX = ((1 << 63) - 1) // NSEC
PAGE_SIZE = 4096

CLOCK_MONOTONIC, CLOCK_BOOTTIME = 1, 7
# the clocks each offset moves (time_namespaces(7))
MONOTONIC_CLOCKS = frozenset({1, 4, 6})     # MONOTONIC, _RAW, _COARSE
BOOTTIME_CLOCKS = frozenset({7, 9})         # BOOTTIME, BOOTTIME_ALARM

ROOT_INUM = 0xEFFFFFFA   # the initial time namespace's inode number (procview)
_FIRST_INUM = 0xF0000100  # namespaces programs make: numbered from here, in order


class TimeNamespace:
    __slots__ = ("inum", "monotonic_ns", "boottime_ns", "frozen")

    def __init__(self, inum: int, monotonic_ns: int = 0, boottime_ns: int = 0,
                 frozen: bool = False):
        self.inum = inum
        self.monotonic_ns, self.boottime_ns = monotonic_ns, boottime_ns
        self.frozen = frozen   # a process has entered it: its offsets are fixed

    def offset(self, clock_id: int) -> int:
        if clock_id in MONOTONIC_CLOCKS:
            return self.monotonic_ns
        if clock_id in BOOTTIME_CLOCKS:
            return self.boottime_ns
        return 0

    def __repr__(self) -> str:
        return (f"TimeNamespace({self.inum}, monotonic={self.monotonic_ns}, "
                f"boottime={self.boottime_ns}, frozen={self.frozen})")


class TimeNamespaces:
    """Which namespace each process (virtual pid) is in and which its children enter.
    A process found in neither table is in the root namespace, which has no offsets.
    ``active`` is False until a program makes a namespace: the clocks' fast path."""

    def __init__(self):
        self.root = TimeNamespace(ROOT_INUM, frozen=True)
        self._in: dict[int, TimeNamespace] = {}
        self._for_children: dict[int, TimeNamespace] = {}
        self._next_inum = _FIRST_INUM
        self.active = False
        # a program opened a timens_offsets: its writes are looked at from now on (a
        # readlink each), not before
        self.files_open = False

    def of(self, pid: int) -> TimeNamespace:
        return self._in.get(pid, self.root)

    def for_children(self, pid: int) -> TimeNamespace:
        return self._for_children.get(pid, self.of(pid))

    def offset(self, pid: int, clock_id: int) -> int:
        """What ``clock_id`` reads more in the namespace of ``pid`` than in the root."""
        if not self.active:
            return 0
        ns = self._in.get(pid)
        return ns.offset(clock_id) if ns is not None else 0

    def by_inum(self, inum: int) -> TimeNamespace | None:
        if inum == ROOT_INUM:
            return self.root
        for ns in (*self._in.values(), *self._for_children.values()):
            if ns.inum == inum:
                return ns
        return None

    def _new(self, like: TimeNamespace) -> TimeNamespace:
        # a new namespace starts with the offsets of the one it was made from
        ns = TimeNamespace(self._next_inum, like.monotonic_ns, like.boottime_ns)
        self._next_inum += 1
        self.active = True
        return ns

    def _place(self, pid: int, current: TimeNamespace, children: TimeNamespace) -> None:
        for table, ns in ((self._in, current), (self._for_children, children)):
            if ns is self.root:
                table.pop(pid, None)
            else:
                table[pid] = ns

    # ------------------------------------------------------------ the calls
    def unshare(self, pid: int) -> TimeNamespace:
        """unshare(CLONE_NEWTIME): a new namespace for the caller's children."""
        ns = self._new(self.for_children(pid))
        self._place(pid, self.of(pid), ns)
        return ns

    def fork(self, parent: int, child: int, *, shares_memory: bool = False,
             new: bool = False) -> bool:
        """A new process: it enters the parent's namespace for children (clone3's
        CLONE_NEWTIME: a new one made from it), unless it shares the parent's memory
        (vfork: it enters at exec). True when it is in another namespace than the
        parent (its clocks read other values than the ones it inherited)."""
        base = self.for_children(parent)
        if new:
            base = self._new(base)
        if shares_memory and not new:
            self._place(child, self.of(parent), base)
            return False
        base.frozen = True
        self._place(child, base, base)
        return base is not self.of(parent)

    def exec(self, pid: int) -> bool:
        """execve(2) enters the namespace for children (that of an unshare before it,
        or a vfork child's parent's). True when the process changed namespace."""
        target = self.for_children(pid)
        if target is self.of(pid):
            return False
        target.frozen = True
        self._place(pid, target, target)
        return True

    def setns(self, pid: int, ns: TimeNamespace) -> bool:
        """setns(2) into ``ns``: the caller and its later children. True when the
        caller changed namespace."""
        changed = ns is not self.of(pid)
        ns.frozen = True
        self._place(pid, ns, ns)
        return changed

    def exit(self, pid: int) -> None:
        self._in.pop(pid, None)
        self._for_children.pop(pid, None)

    # ------------------------------------------------------------ /proc/PID/timens_offsets
    def show(self, pid: int) -> bytes:
        """The offsets of the namespace the process's children enter (proc(5))."""
        ns = self.for_children(pid)
        return b"".join(b"%-10s %10d %9d\n" % (name, value // NSEC, value % NSEC)
                        for name, value in ((b"monotonic", ns.monotonic_ns),
                                            (b"boottime", ns.boottime_ns)))

    def write_offsets(self, pid: int, data: bytes, position: int, privileged: bool,
                      monotonic_ns: int, boottime_ns: int) -> int:
        """A write(2) of ``data`` at ``position`` to /proc/``pid``/timens_offsets:
        the bytes taken, or -errno (time_namespaces(7)). ``monotonic_ns`` and
        ``boottime_ns``: the root's clocks now (the bound a new offset must keep);
        ``privileged``: the writer has CAP_SYS_TIME."""
        if position != 0 or len(data) >= PAGE_SIZE:
            return -errno.EINVAL
        parsed = parse_offsets(data)
        if isinstance(parsed, int):
            return parsed
        offsets, taken = parsed
        ns = self.for_children(pid)
        if not privileged:
            return -errno.EPERM
        for clock_id, sec, nsec in offsets:
            now = monotonic_ns if clock_id == CLOCK_MONOTONIC else boottime_ns
            if not -KTIME_SEC_MAX <= sec <= KTIME_SEC_MAX:
                return -errno.ERANGE
            total = now + sec * NSEC + nsec
            if total < 0 or total // NSEC > KTIME_SEC_MAX // 2:
                return -errno.ERANGE
        if ns.frozen:
            return -errno.EACCES
        for clock_id, sec, nsec in offsets:
            if clock_id == CLOCK_MONOTONIC:
                ns.monotonic_ns = sec * NSEC + nsec
            else:
                ns.boottime_ns = sec * NSEC + nsec
        return taken


_SPACE = b" \t\n\v\f\r"


def _scan_int(text: bytes, at: int, signed: bool):
    """A decimal integer after optional white space, as the kernel's sscanf reads
    one (wrapping at 64 bits); (value, end) or None."""
    while at < len(text) and text[at] in _SPACE:
        at += 1
    negative = False
    if signed and text[at:at + 1] == b"-" and text[at + 1:at + 2].isdigit():
        negative, at = True, at + 1
    start = at
    while at < len(text) and 48 <= text[at] <= 57:
        at += 1
    if at == start:
        return None
    value = int(text[start:at]) % (1 << 64)
    if negative:
        value = (-value) % (1 << 64)
    if signed and value >= 1 << 63:
        value -= 1 << 64
    return value, at


def _scan_line(line: bytes):
    """``"%9s %lld %lu"``: (clock name, seconds, nanoseconds), or None when fewer than
    three fields read."""
    at = 0
    while at < len(line) and line[at] in _SPACE:
        at += 1
    start = at
    while at < len(line) and at - start < 9 and line[at] not in _SPACE:
        at += 1
    if at == start:
        return None
    name = line[start:at]
    sec = _scan_int(line, at, True)
    if sec is None:
        return None
    nsec = _scan_int(line, sec[1], False)
    if nsec is None:
        return None
    return name, sec[0], nsec[0]


def parse_offsets(data: bytes):
    """timens_offsets' format: one "<clock> <seconds> <nanoseconds>" a line, the
    clock by name or number, at most two lines read. ((clock_id, sec, nsec), ...),
    bytes taken) or -EINVAL."""
    text = data.split(b"\0", 1)[0]
    offsets = []
    taken = len(data)
    pos = 0
    while pos is not None:
        newline = text.find(b"\n", pos)
        if newline >= 0:
            line, pos = text[pos:newline], newline + 1
            if pos >= len(text):
                pos = None
        else:
            line, pos = text[pos:], None
        fields = _scan_line(line)
        if fields is None:
            return -errno.EINVAL
        name, sec, nsec = fields
        if nsec >= NSEC:
            return -errno.EINVAL
        if name in (b"monotonic", b"1"):
            clock_id = CLOCK_MONOTONIC
        elif name in (b"boottime", b"7"):
            clock_id = CLOCK_BOOTTIME
        else:
            return -errno.EINVAL
        offsets.append((clock_id, sec, nsec))
        if len(offsets) == 2:
            if pos is not None:
                taken = pos
            break
    return offsets, taken
