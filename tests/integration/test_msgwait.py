"""Waits on message queues (syscalls/ipc.py): mq_timedreceive(2)'s absolute timeout is
the host's CLOCK_REALTIME (it timed out at once: the machine's clock is years past the
host's), a message or a handler ends the wait; msgrcv(2) waited natively, where the
watchdog killed it, and now waits in the host for a message or the queue's removal
(EIDRM, printed E#43)."""
from __future__ import annotations

from .conftest import same_as_native

EXPECTED = b"""\
mq_timedreceive(empty, 2 s) = -1 ETIMEDOUT after >= 2 s: 1
mq_timedreceive(sent by a child) = 5 'hello' prio 3
mq_timedreceive(a handler runs) = -1 EINTR
msgrcv(sent by a child) = 16 'queued'
msgrcv(queue removed) = -1 E#43
"""


def test_message_queue_waits_as_natively(build):
    report = same_as_native([build("msgwait")], EXPECTED)
    assert report["host"]["unsupported_syscalls"] == []
