"""What System V objects record of their last operators and times (syscalls/ipc.py,
kernel/ipcstamps.py): natively and in a host alike, semctl(2) GETPID names the
program's own pids (the child that ran semop or SETVAL, itself after semop or
SETALL), and IPC_STAT's sem_otime/sem_ctime, shmctl(2)'s shm_cpid/shm_lpid and
times and msgctl(2)'s msg_ctime are its own pids and its own clock's seconds. In a
host they were the native pids and the machine's time (26 years past the host's)."""
from __future__ import annotations

from .conftest import same_as_native

EXPECTED = b"""\
sem created: ctime now 1, otime 0 1, GETPID 0 1
semop by a child: GETPID the child 1, untouched 0 1, otime now 1, by index 1 1
semop by me: GETPID me 1
SETVAL by a child: GETPID the child 1, ctime now 1
SETALL by me: GETPID me 1 1
shm created: cpid me 1, lpid 0 1, ctime now 1, atime 0 1
shmat by a child: lpid the child 1, atime now 1, nattch 1
shmdt by the child: lpid the child 1, dtime 2 s later 1, nattch 0
msg queue created: ctime now 1
IPC_SET: ctime now 1
"""


def test_ipc_stamps_are_the_programs_pids_and_times(build):
    report = same_as_native([build("ipcstamps")], EXPECTED)
    assert report["host"]["unsupported_syscalls"] == []
