"""Message queues and semaphores: waits the host must own, with virtual timeouts.

A program blocked natively in mq_timedreceive(2), msgrcv(2) or semop(2) would freeze
the host (one process runs at a time), and its timeout would count against the
machine's clock, not the host's. Each of these calls runs natively once without
waiting (the queue's description made O_NONBLOCK for the call, IPC_NOWAIT added for
System V), so that the kernel makes its own checks and does the work when it can;
when it could not without waiting, the program is parked until the queue or the set
changes (the host looks when nothing else can run), its virtual timeout passes
(ETIMEDOUT for POSIX queues, mq_send(3); EAGAIN for semtimedop(2)) or a handler
interrupts it, and then runs the call again. POSIX queue calls restart after
SA_RESTART handlers; System V ones never do (signal(7)). A set or queue removed while
the program waits gives EIDRM (msgrcv(2), semop(2)).

What msgctl(2) IPC_STAT shows of a queue's last send and receive (times, pids) is
the host's (kernel/ipcstamps.py); semaphores' sem_otime and GETPID stay the kernel's.

Not modelled: a semop(2) with IPC_NOWAIT on some of its operations runs natively as
it is, and waits natively if another of them blocks (the watchdog reports it).
"""
from __future__ import annotations

import ctypes
import errno
import select
import struct

from ..kernel.ipcstamps import MSQID_FIELDS, RECEIVE_FIELDS, SEND_FIELDS
from ..kernel.timers import REALTIME_SET
from .args import Invalid, read_timespec, s32, u32
from .outcome import Block, Native, scratch_copy
from .probe import _probe, once_nonblocking
from .registry import handles

IPC_NOWAIT = 0o4000
IPC_STAT, GETALL = 2, 13
CLOCK_REALTIME = 0

_libc = ctypes.CDLL(None, use_errno=True)
_msgctl = _libc.msgctl
_msgctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
_semctl = _libc.semctl
_semctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
_MSQID_DS, _SEMID_DS = 120, 104   # sizeof(struct msqid_ds), sizeof(struct semid_ds)
_SEM_NSEMS = 80                   # offsetof(struct semid_ds, sem_nsems)


def _queue_state(msqid: int):
    """What a change of System V message queue ``msqid`` changes (msgctl IPC_STAT:
    counts, times, last pids), None once it is gone."""
    buf = ctypes.create_string_buffer(_MSQID_DS)
    return buf.raw if _msgctl(msqid, IPC_STAT, buf) == 0 else None


def _set_state(semid: int):
    """What a change of semaphore set ``semid`` changes (its IPC_STAT and every
    value), None once it is gone."""
    ds = ctypes.create_string_buffer(_SEMID_DS)
    if _semctl(semid, 0, IPC_STAT, ds) != 0:
        return None
    nsems = struct.unpack_from("<Q", ds.raw, _SEM_NSEMS)[0]
    values = ctypes.create_string_buffer(2 * max(1, nsems))
    if _semctl(semid, 0, GETALL, values) != 0:
        return None
    return ds.raw + values.raw


# tasks whose System V call waited and runs again once woken: id(task) -> (the id
# it waited on, its deadline). EINVAL then means the set or queue was removed
# meanwhile, and a semtimedop(2) keeps the deadline of its first entry
_waits: dict[int, tuple] = {}


def _stamp(ctx, msqid: int, fields) -> None:
    """A send or receive of queue ``msqid`` succeeded: note what the kernel stamped
    and what the host's kernel stamps (kernel/ipcstamps.py)."""
    raw = _queue_state(msqid)
    if raw is None:
        return
    virtual = {"msg_stime": ctx.engine.clock.realtime_ns // 1_000_000_000,
               "msg_rtime": ctx.engine.clock.realtime_ns // 1_000_000_000,
               "msg_lspid": ctx.proc.pid, "msg_lrpid": ctx.proc.pid}
    for field in fields:
        offset, size = MSQID_FIELDS[field]
        native = int.from_bytes(raw[offset:offset + size], "little", signed=True)
        ctx.engine.ipc_stamps.note(msqid, field, native, virtual[field])


def _sysv(ctx, native: Native, would_wait: int, state, key: int, timeout_ns=None,
          done=None):
    """Run a System V call natively as ``native`` says (IPC_NOWAIT added); a
    ``would_wait`` error means it would have slept: park until ``state(key)``
    changes, then run it again. A handler interrupts it with EINTR (never restarted:
    signal(7)); semtimedop(2)'s timeout gives EAGAIN."""
    task = id(ctx.task)
    prior = _waits.pop(task, None)
    rerun = prior is not None and prior[0] == key
    deadline = prior[1] if rerun else (
        None if timeout_ns is None else ctx.now_ns + timeout_ns)

    def ended(result):
        _waits.pop(task, None)
        return result

    def woken(_c):
        _waits[task] = (key, deadline)
        return Native()  # the call, from its entry again

    def finished(c, result):
        if result == -would_wait:
            if deadline is not None and deadline <= c.now_ns:
                return -errno.EAGAIN
            before = state(key)
            return Block(retry=woken, ready=lambda: state(key) != before,
                         deadline_ns=deadline, on_timeout=lambda _c: ended(-errno.EAGAIN),
                         on_interrupt=lambda _c: ended(-errno.EINTR))
        if rerun and result == -errno.EINVAL:
            return -errno.EIDRM  # removed while it waited (the id now names nothing)
        if result >= 0 and done is not None:
            done(c)
        return result

    native.on_exit = finished
    return native


MSG_COPY = 0o40000


@handles("msgrcv")
def msgrcv(ctx, msqid, msgp, msgsz, msgtyp, msgflg, *_):
    flags = u32(msgflg)
    done = lambda c: _stamp(c, s32(msqid), RECEIVE_FIELDS)  # noqa: E731
    if flags & MSG_COPY:
        return Native()  # a copy is no receive; without IPC_NOWAIT it is EINVAL
    if flags & IPC_NOWAIT:
        return _as_is(done)  # the program's own non-blocking call
    return _sysv(ctx, Native(regs={"r8": flags | IPC_NOWAIT}), errno.ENOMSG, _queue_state,
                 s32(msqid), done=done)


def _as_is(done) -> Native:
    def finished(c, result):
        if result >= 0:
            done(c)
        return result
    return Native(on_exit=finished)


@handles("msgsnd")
def msgsnd(ctx, msqid, msgp, msgsz, msgflg, *_):
    flags = u32(msgflg)
    done = lambda c: _stamp(c, s32(msqid), SEND_FIELDS)  # noqa: E731
    if flags & IPC_NOWAIT:
        return _as_is(done)
    return _sysv(ctx, Native(regs={"r10": flags | IPC_NOWAIT}), errno.EAGAIN, _queue_state,
                 s32(msqid), done=done)


IPC_RMID, MSG_STAT, MSG_STAT_ANY = 0, 11, 13


@handles("msgctl")
def msgctl(ctx, msqid, cmd, buf, *_):
    """Natively; what IPC_STAT (MSG_STAT, MSG_STAT_ANY: by index) shows of the last
    send and receive the host saw is the host's (kernel/ipcstamps.py)."""
    cmd = s32(cmd) & 0xFF   # without IPC_64
    stamps = ctx.engine.ipc_stamps
    if cmd == IPC_RMID:
        def removed(c, result):
            if result == 0:
                stamps.forget(s32(msqid))
            return result
        return Native(on_exit=removed)
    if cmd not in (IPC_STAT, MSG_STAT, MSG_STAT_ANY) or not buf:
        return Native()

    def shown(c, result):
        if result < 0:
            return result
        ident = s32(msqid) if cmd == IPC_STAT else result
        for field, (offset, size) in MSQID_FIELDS.items():
            raw = c.mem.read(buf + offset, size)
            native = int.from_bytes(raw, "little", signed=True)
            value = stamps.shown(ident, field, native)
            if value != native:
                c.mem.write(buf + offset, value.to_bytes(size, "little", signed=True))
        return result

    return Native(on_exit=shown)


_SEMBUF = 6     # struct sembuf: sem_num, sem_op, sem_flg (unsigned short, short, short)
_SEMOPM = 500   # the most operations in one call (semop(2): E2BIG beyond)
_SEMTIMEDOP = 220


@handles("semop", "semtimedop")
def semop(ctx, semid, sops, nsops, timeout_ptr=0, *_):
    if ctx.name == "semop":
        timeout_ptr = 0
    nsops = u32(nsops)
    if not 0 < nsops <= _SEMOPM:
        return Native()  # EINVAL, E2BIG: the kernel's
    try:
        raw = ctx.mem.read(sops, _SEMBUF * nsops)
        timeout = read_timespec(ctx, timeout_ptr) if timeout_ptr else None
    except (OSError, Invalid):
        return Native()  # EFAULT, EINVAL: the kernel's, without a wait
    ops = [struct.unpack_from("<Hhh", raw, _SEMBUF * i) for i in range(nsops)]
    if any(flg & IPC_NOWAIT for _num, _op, flg in ops):
        return Native()  # see the module's note
    nowait = b"".join(struct.pack("<Hhh", num, op, flg | IPC_NOWAIT) for num, op, flg in ops)
    # the program's operations with IPC_NOWAIT, in a copy (its own may be read-only);
    # the timeout is the host's to keep: none for the native call
    native = Native(regs={"orig_rax": _SEMTIMEDOP, "rsi": scratch_copy(ctx, nowait), "r10": 0})
    return _sysv(ctx, native, errno.EAGAIN, _set_state, s32(semid), timeout)


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
    def finished(c, result):
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

    return once_nonblocking(probe, finished)


def _ready(fd: int, events: int) -> bool:
    poller = select.poll()
    poller.register(fd, events)
    return bool(poller.poll(0))


SIGEV_SIGNAL = 0


@handles("mq_notify")
def mq_notify(ctx, mqdes, sevp, *_):
    """Natively; a registration for a signal (SIGEV_SIGNAL) tells the host that the
    kernel may hold that signal pending for the process (syscalls/signal.py)."""
    if not sevp:
        return Native()
    try:
        notify = struct.unpack("<i", ctx.mem.read(sevp + 12, 4))[0]  # sigev_notify
    except OSError:
        return Native()

    def registered(c, result):
        if result == 0 and notify == SIGEV_SIGNAL:
            c.engine.mq_notifying.add(c.proc.pid)
        return result

    return Native(on_exit=registered)
