"""Who waits in semop(2), and for what, as semctl(2) GETNCNT and GETZCNT count them.

A program whose semop would sleep waits in the host, not in the kernel (syscalls/
ipc.py), so the kernel's counts leave it out. semctl(2): GETNCNT is "the number of
threads waiting for the value of this semaphore to increase", GETZCNT "... to become
zero"; since Linux 4.x a waiter counts on the one semaphore whose operation made it
wait (ipc/sem.c count_semcnt, check_qop: q->blocking), the operations being tried
in order, each on the values the earlier ones left (perform_atomic_semop_slow).
"""
from __future__ import annotations

INCREASE, ZERO = "ncnt", "zcnt"


def blocking_op(values, ops):
    """What operation of ``ops`` ((sem_num, sem_op, sem_flg), ...) makes semop wait on
    semaphores holding ``values``: (its semaphore, INCREASE or ZERO), or None."""
    values = list(values)
    for num, op, _flg in ops:
        if op == 0 and values[num] != 0:
            return num, ZERO
        if values[num] + op < 0:
            return num, INCREASE
        values[num] += op
    return None


class SemWaits:
    def __init__(self) -> None:
        self._waiting: dict = {}   # waiter -> (semid, sem_num, INCREASE or ZERO)

    def wait(self, waiter, semid: int, blocking) -> None:
        self._waiting[waiter] = (semid, *blocking)

    def end(self, waiter) -> None:
        self._waiting.pop(waiter, None)

    def count(self, semid: int, num: int, kind: str) -> int:
        """The host's waiters GETNCNT (INCREASE) or GETZCNT (ZERO) counts on semaphore
        ``num`` of set ``semid``."""
        return sum(1 for waiting in self._waiting.values() if waiting == (semid, num, kind))
