"""Message queues: waits the host must own, with virtual timeouts.

A program blocked natively in mq_timedreceive(2) or msgrcv(2) would freeze the host
(one process runs at a time), and an absolute timeout would count against the
machine's clock, not the host's. Each of these calls runs natively once without
waiting (the queue's description made O_NONBLOCK for the call, IPC_NOWAIT added for
System V), so that the kernel makes its own checks and does the work when it can;
when it could not without waiting, the program is parked until the queue changes
(the host looks when nothing else can run), its virtual timeout passes (ETIMEDOUT,
mq_send(3)) or a handler interrupts it, and then runs the call again. POSIX queue
calls restart after SA_RESTART handlers; System V ones never do (signal(7)). A queue
removed while the program waits gives EIDRM (msgrcv(2)).

Not yet: semop(2) and semtimedop(2) still wait natively (the watchdog reports them).
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import select
import struct

from ..kernel.timers import REALTIME_SET
from .args import read_timespec, s32, u32
from .outcome import Block, Native
from .probe import _probe
from .registry import handles

IPC_NOWAIT = 0o4000
IPC_STAT = 2
CLOCK_REALTIME = 0

_libc = ctypes.CDLL(None, use_errno=True)
_msgctl = _libc.msgctl
_msgctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
_MSQID_DS = 120   # sizeof(struct msqid_ds)


def _queue_state(msqid: int):
    """What a change of System V message queue ``msqid`` changes (msgctl IPC_STAT:
    counts, times, last pids), None once it is gone."""
    buf = ctypes.create_string_buffer(_MSQID_DS)
    return buf.raw if _msgctl(msqid, IPC_STAT, buf) == 0 else None


# tasks whose System V call waited and runs again once woken (id(task): the id it
# waited on): EINVAL then means the queue was removed meanwhile
_waited: dict[int, int] = {}


def _park_until_changed(ctx, state, key: int, retry, deadline_ns, on_timeout):
    """Park until ``state(key)`` differs from now (or the queue is gone); a handler
    interrupts with EINTR (System V calls never restart: signal(7))."""
    before = state(key)
    task = id(ctx.task)

    def ended(result):
        _waited.pop(task, None)
        return result

    def woken(c):
        _waited[task] = key
        return retry(c)

    return Block(retry=woken, ready=lambda: state(key) != before, deadline_ns=deadline_ns,
                 on_timeout=lambda c: ended(on_timeout(c)),
                 on_interrupt=lambda _c: ended(-errno.EINTR))


def _removed_while_waiting(ctx, key: int, result: int) -> int:
    if _waited.pop(id(ctx.task), None) == key and result == -errno.EINVAL:
        return -errno.EIDRM  # removed while it waited (the id now names nothing)
    return result


def _sysv(ctx, reg: str, flags: int, would_wait: int, state, key: int):
    """Run a System V call natively with IPC_NOWAIT added in ``reg``; a
    ``would_wait`` error means it would have slept: park, then run it again."""
    if flags & IPC_NOWAIT:
        return Native()  # the program's own non-blocking call

    def finished(c, result):
        if result == -would_wait:
            return _park_until_changed(c, state, key, lambda _c: Native(), None, None)
        return _removed_while_waiting(c, key, result)

    return Native(regs={reg: flags | IPC_NOWAIT}, on_exit=finished)


MSG_COPY = 0o40000


@handles("msgrcv")
def msgrcv(ctx, msqid, msgp, msgsz, msgtyp, msgflg, *_):
    if u32(msgflg) & MSG_COPY:
        return Native()  # it never waits: without IPC_NOWAIT it is EINVAL (msgrcv(2))
    return _sysv(ctx, "r8", u32(msgflg), errno.ENOMSG, _queue_state, s32(msqid))


@handles("msgsnd")
def msgsnd(ctx, msqid, msgp, msgsz, msgflg, *_):
    return _sysv(ctx, "r10", u32(msgflg), errno.EAGAIN, _queue_state, s32(msqid))


# ---------------------------------------------------------------- POSIX message queues
@handles("mq_timedsend", "mq_timedreceive")
def mq_timed(ctx, mqdes, msg_ptr, msg_len, msg_prio, abs_timeout, *_):
    events = select.POLLOUT if ctx.name == "mq_timedsend" else select.POLLIN
    probe = _probe(ctx, s32(mqdes))
    if probe is None:
        return Native()  # EBADF
    if probe.nonblocking or _ready(probe.fd, events):
        probe.close()
        return Native()
    flags = probe.flags
    fcntl.fcntl(probe.fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)

    def finished(c, result):
        fcntl.fcntl(probe.fd, fcntl.F_SETFL, flags)
        if result != -errno.EAGAIN:
            probe.close()
            return result
        # it would wait: its checks passed, the timeout among them (mq_send(3))
        block = Block(retry=lambda c2: mq_timed(c2, mqdes, msg_ptr, msg_len, msg_prio,
                                                abs_timeout),
                      restart=True, io=[(probe.fd, events)], cleanup=probe.close,
                      on_timeout=lambda _c: -errno.ETIMEDOUT)
        if abs_timeout:
            # an absolute CLOCK_REALTIME time: a set of the clock moves it
            value = read_timespec(c, abs_timeout)
            block.deadline_ns = value - c.engine.clock.realtime_offset_ns \
                - c.engine.clock_offset_ns(c.proc.pid, CLOCK_REALTIME)
            block.keys = (REALTIME_SET,)
            if block.deadline_ns <= c.now_ns:
                probe.close()
                return -errno.ETIMEDOUT
        return block

    return Native(on_exit=finished)


def _ready(fd: int, events: int) -> bool:
    poller = select.poll()
    poller.register(fd, events)
    return bool(poller.poll(0))
