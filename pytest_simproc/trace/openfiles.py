"""What a native process holds open, read from /proc/PID/fd and fdinfo (proc(5)).

Programs open their files natively, so the kernel model knows no descriptors; yet some
answers depend on who holds what: whether a FIFO has a reader or a writer
(syscalls/fifos.py), which socket a program listens on and whether the other end of a
test's pipe or FIFO is a program of the host (dropin/sockets.py, dropin/forking.py).
One reader of /proc for all of them. A process that ended meanwhile holds nothing.
"""
from __future__ import annotations

import os

O_ACCMODE = 0o3


def descriptors(pid: int) -> list[tuple[int, str]]:
    """(descriptor, what its /proc/PID/fd link names) of each descriptor of ``pid``:
    a path, or ``pipe:[INODE]``, ``socket:[INODE]``, ``anon_inode:...``."""
    fd_dir = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return []
    found = []
    for name in names:
        try:
            found.append((int(name), os.readlink(f"{fd_dir}/{name}")))
        except OSError:  # closed meanwhile
            continue
    return found


def holds(pid: int, targets) -> bool:
    """Whether ``pid`` has a descriptor whose link names one of ``targets``."""
    return any(target in targets for _, target in descriptors(pid))


def opened_as(pid: int, inode: tuple[int, int]) -> list[int]:
    """The access modes (O_RDONLY, O_WRONLY, O_RDWR) of ``pid``'s descriptors of the
    file ``inode`` (st_dev, st_ino): fdinfo's flags (proc(5))."""
    modes = []
    for fd, _ in descriptors(pid):
        try:
            st = os.stat(f"/proc/{pid}/fd/{fd}")
            if (st.st_dev, st.st_ino) != inode:
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = f.read()
        except OSError:
            continue
        modes.append(int(info.split("flags:", 1)[1].split()[0], 8) & O_ACCMODE)
    return modes
