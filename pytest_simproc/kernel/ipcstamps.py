"""What a System V IPC object records of who touched it last, and when, in the host's
terms: a message queue's last send and receive and its last change (msgctl(2)
IPC_STAT: msg_stime, msg_rtime, msg_lspid, msg_lrpid, msg_ctime), a semaphore set's
last semop and change (semctl(2) IPC_STAT: sem_otime, sem_ctime) and each
semaphore's last operator (GETPID: sempid), a shared memory segment's creator, last
attach or detach and change (shmctl(2) IPC_STAT: shm_cpid, shm_lpid, shm_atime,
shm_dtime, shm_ctime).

The real kernel stamps the machine's time and the native pid of the caller. The host
notes, after each operation it saw, the value the kernel stamped and the one the
host's kernel would have (the virtual time in seconds, the virtual pid); a later
IPC_STAT or GETPID shows the host's value wherever the kernel's is still the one
noted. A stamp made by a process outside the host, or never seen (a segment attached
by fork(2) or detached at exit or execve, a semaphore's SEM_UNDO applied at exit),
stays the kernel's.
"""
from __future__ import annotations

# struct msqid64_ds, semid64_ds, shmid64_ds (x86_64): field -> (offset, size)
FIELDS = {
    "msg": {"msg_stime": (48, 8), "msg_rtime": (56, 8), "msg_ctime": (64, 8),
            "msg_lspid": (96, 4), "msg_lrpid": (100, 4)},
    "sem": {"sem_otime": (48, 8), "sem_ctime": (64, 8)},
    "shm": {"shm_atime": (56, 8), "shm_dtime": (64, 8), "shm_ctime": (72, 8),
            "shm_cpid": (80, 4), "shm_lpid": (84, 4)},
}


class IpcStamps:
    def __init__(self) -> None:
        self._noted: dict[tuple, tuple[int, int]] = {}

    def note(self, kind: str, ident: int, field, native: int, virtual: int) -> None:
        """The kernel stamped ``native`` in ``field`` of object ``ident`` of ``kind``
        ("msg", "sem", "shm") for an operation the host saw, which the host's kernel
        stamps ``virtual``."""
        self._noted[(kind, ident, field)] = (native, virtual)

    def shown(self, kind: str, ident: int, field, native: int) -> int:
        """What IPC_STAT shows for ``field`` of ``ident`` when the kernel's is ``native``."""
        noted = self._noted.get((kind, ident, field))
        return noted[1] if noted is not None and noted[0] == native else native

    def forget(self, kind: str, ident: int) -> None:
        """The object was removed: its id may name another one later."""
        for key in [k for k in self._noted if k[:2] == (kind, ident)]:
            del self._noted[key]
