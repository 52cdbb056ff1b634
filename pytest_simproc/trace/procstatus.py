"""Fields of a native thread's /proc status file (proc(5)): the hexadecimal signal
sets (SigBlk, SigPnd, ShdPnd) and capability sets (CapEff, CapPrm, CapInh), and the
user and group ids (Uid, Gid: real, effective, saved, filesystem), the size of the descriptor
table (FDSize) and the resident set's high-water mark (VmHWM); and, beside it, the UTS
namespace a thread is in (/proc/TID/ns/uts)."""
from __future__ import annotations

import os


def _fields(tgid: int, tid: int, names: tuple[bytes, ...]) -> dict[bytes, list[bytes]]:
    path = f"/proc/{tid}/status" if tid == tgid else f"/proc/{tgid}/task/{tid}/status"
    prefixes = tuple(name + b":" for name in names)
    found = {}
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.startswith(prefixes):
                    found[line[:line.index(b":")]] = line.split()[1:]
    except OSError:
        pass
    return found


def status_sets(tgid: int, tid: int, names: tuple[bytes, ...]) -> dict[bytes, int]:
    """{name: value} of the fields ``names`` (without the colon) of thread ``tid`` of
    process ``tgid``; {} when the thread is gone."""
    return {name: int(values[0], 16) for name, values in _fields(tgid, tid, names).items()}


def credentials(tgid: int, tid: int):
    """((real, effective, saved) user ids, effective capabilities) of the thread, or
    None when it is gone."""
    found = _fields(tgid, tid, (b"Uid", b"CapEff"))
    if len(found) < 2:
        return None
    return tuple(int(u) for u in found[b"Uid"][:3]), int(found[b"CapEff"][0], 16)


def group_ids(tgid: int, tid: int):
    """(real, effective, saved) group ids of the thread, or None when it is gone."""
    found = _fields(tgid, tid, (b"Gid",))
    return tuple(int(g) for g in found[b"Gid"][:3]) if found else None


def fd_table_size(pid: int) -> int | None:
    """FDSize: the slots of the process's descriptor table (what select(2) clamps its
    nfds to); None when the process is gone."""
    found = _fields(pid, pid, (b"FDSize",))
    return int(found[b"FDSize"][0]) if found else None


def vm_hwm_kb(pid: int | None) -> int:
    """VmHWM: the process's resident-set high-water mark in KiB (getrusage(2)
    ru_maxrss); 0 when the process is gone."""
    if pid is None:
        return 0
    found = _fields(pid, pid, (b"VmHWM",))
    return int(found[b"VmHWM"][0]) if b"VmHWM" in found else 0


def uts_key(tid: int):
    """The UTS namespace thread ``tid`` is in, as a key (the device and inode of its
    /proc/TID/ns/uts, namespaces(7)); None when the thread is gone."""
    try:
        st = os.stat(f"/proc/{tid}/ns/uts")
    except OSError:
        return None
    return st.st_dev, st.st_ino
