"""What a System V message queue records about its last send and receive, in the
host's terms (msgctl(2) IPC_STAT: msg_stime, msg_rtime, msg_lspid, msg_lrpid).

The real kernel stamps the machine's time and the native pid of the caller. The host
notes, after each send or receive it saw, the value the kernel stamped and the one
the host's kernel would have (the virtual time in seconds, the virtual pid); a later
IPC_STAT shows the host's value wherever the kernel's is still the one noted. A
stamp made by a process outside the host, or never seen, stays the kernel's.
"""
from __future__ import annotations

# struct msqid_ds (x86_64): field -> (offset, size)
MSQID_FIELDS = {"msg_stime": (48, 8), "msg_rtime": (56, 8), "msg_lspid": (96, 4),
                "msg_lrpid": (100, 4)}
SEND_FIELDS = ("msg_stime", "msg_lspid")
RECEIVE_FIELDS = ("msg_rtime", "msg_lrpid")


class IpcStamps:
    def __init__(self) -> None:
        self._noted: dict[tuple[int, str], tuple[int, int]] = {}

    def note(self, ident: int, field: str, native: int, virtual: int) -> None:
        """The kernel stamped ``native`` in ``field`` of object ``ident`` for an
        operation the host saw, which the host's kernel stamps ``virtual``."""
        self._noted[(ident, field)] = (native, virtual)

    def shown(self, ident: int, field: str, native: int) -> int:
        """What IPC_STAT shows for ``field`` of ``ident`` when the kernel's is ``native``."""
        noted = self._noted.get((ident, field))
        return noted[1] if noted is not None and noted[0] == native else native

    def forget(self, ident: int) -> None:
        """The object was removed: its id may name another one later."""
        for key in [k for k in self._noted if k[0] == ident]:
            del self._noted[key]
