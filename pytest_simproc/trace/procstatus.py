"""Fields of a native thread's /proc status file (proc(5)): the hexadecimal signal
sets (SigBlk, SigPnd, ShdPnd) and capability sets (CapEff, CapPrm, CapInh), and the
size of the descriptor table (FDSize)."""
from __future__ import annotations


def status_sets(tgid: int, tid: int, names: tuple[bytes, ...]) -> dict[bytes, int]:
    """{name: value} of the fields ``names`` (without the colon) of thread ``tid`` of
    process ``tgid``; {} when the thread is gone."""
    path = f"/proc/{tid}/status" if tid == tgid else f"/proc/{tgid}/task/{tid}/status"
    prefixes = tuple(name + b":" for name in names)
    found = {}
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.startswith(prefixes):
                    found[line[:line.index(b":")]] = int(line.split()[1], 16)
    except OSError:
        pass
    return found


def fd_table_size(pid: int) -> int | None:
    """FDSize: the slots of the process's descriptor table (what select(2) clamps its
    nfds to); None when the process is gone."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"FDSize:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None
