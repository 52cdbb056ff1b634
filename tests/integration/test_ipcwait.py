"""Waits on message queues and semaphores (syscalls/ipc.py): mq_timedreceive(2)'s
absolute timeout is the host's CLOCK_REALTIME (it timed out at once: the machine's
clock is years past the host's), a message or a handler ends the wait; msgrcv(2) and
semop(2) waited natively, where the watchdog killed them, and now wait in the host
for a message, a semaphore's change, the removal (EIDRM, printed E#43), a handler
(EINTR, SA_RESTART or not) or semtimedop(2)'s virtual timeout (EAGAIN); msgctl(2)
shows the host's pids and times of the last send and receive; semctl(2) GETNCNT and
GETZCNT count the children that wait in the host (they counted none)."""
from __future__ import annotations

from .conftest import same_as_native

EXPECTED = b"""\
mq_timedreceive(empty, 2 s) = -1 ETIMEDOUT after >= 2 s: 1
mq_timedreceive(sent by a child) = 5 'hello' prio 3
mq_timedreceive(a handler runs) = -1 EINTR
mq_notify: SIGUSR2 code SI_MESGQ 1, from the sender 1, value 42
msgrcv(sent by a child) = 16 'queued'
IPC_STAT: last sender the child 1, last receiver me 1, times now 1 1
msgrcv(queue removed) = -1 E#43
semop(-1, a child adds 1) = 0, value 0
waiting: GETNCNT 1 1, GETZCNT 0 1, GETNCNT 0 0, GETZCNT 1 0
after the waits: GETNCNT 1 0, GETZCNT 0 0
semtimedop(-1, 1.5 s) = -1 EAGAIN after >= 1.5 s: 1
semop(-1, an SA_RESTART handler runs) = -1 EINTR
semop(set removed) = -1 E#43
"""


def test_queue_and_semaphore_waits_as_natively(build):
    report = same_as_native([build("ipcwait")], EXPECTED)
    assert report["host"]["unsupported_syscalls"] == []
