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

What IPC_STAT (and GETPID) shows of who last sent to or received from a queue,
operated on or changed a semaphore, created, attached or detached a segment, and
when, is the host's (kernel/ipcstamps.py): msgctl(2), semctl(2), shmctl(2); so
are GETNCNT and GETZCNT, which count the callers waiting in the host
(kernel/semwaits.py).

Not modelled: a semop(2) with IPC_NOWAIT on some of its operations runs natively as
it is, and waits natively if another of them blocks (the watchdog reports it).
"""
from __future__ import annotations

import ctypes
import errno
import select
import struct

from ..kernel.ipcstamps import FIELDS
from ..kernel.semwaits import INCREASE, ZERO, blocking_op
from ..kernel.timers import REALTIME_SET
from ..trace.maps import sysv_shmid_at
from .args import Invalid, read_timespec, s32, u32
from .outcome import ERESTARTNOHAND, Block, Native, scratch_copy
from .probe import _probe, once_nonblocking
from .registry import handles

IPC_NOWAIT = 0o4000
IPC_CREAT, IPC_EXCL, IPC_PRIVATE = 0o1000, 0o2000, 0
IPC_RMID, IPC_SET, IPC_STAT = 0, 1, 2
GETPID, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL = 11, 13, 14, 15, 16, 17
# the STAT commands that name an object by its index, as ipcs(1) reads them:
# MSG_STAT, MSG_STAT_ANY; SEM_STAT, SEM_STAT_ANY; SHM_STAT, SHM_STAT_ANY
STAT_BY_INDEX = {"msg": (11, 13), "sem": (18, 20), "shm": (13, 15)}
CLOCK_REALTIME = 0

_libc = ctypes.CDLL(None, use_errno=True)
_ctl = {"msg": _libc.msgctl, "sem": _libc.semctl, "shm": _libc.shmctl}
_libc.msgctl.argtypes = _libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
_semctl = _libc.semctl
_semctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
# sizeof(struct msqid64_ds), semid64_ds, shmid64_ds
_DS_SIZE = {"msg": 120, "sem": 104, "shm": 112}
_SEM_NSEMS = 80                   # offsetof(struct semid_ds, sem_nsems)


def _stat(kind: str, ident: int):
    """System V object ``ident``'s IPC_STAT, None once it is gone."""
    buf = ctypes.create_string_buffer(_DS_SIZE[kind])
    args = (ident, 0, IPC_STAT, buf) if kind == "sem" else (ident, IPC_STAT, buf)
    return buf.raw if _ctl[kind](*args) == 0 else None


def _queue_state(msqid: int):
    """What a change of System V message queue ``msqid`` changes (msgctl IPC_STAT:
    counts, times, last pids), None once it is gone."""
    return _stat("msg", msqid)


def _set_state(semid: int):
    """What a change of semaphore set ``semid`` changes (its IPC_STAT and every
    value), None once it is gone."""
    ds = _stat("sem", semid)
    if ds is None:
        return None
    nsems = struct.unpack_from("<Q", ds, _SEM_NSEMS)[0]
    values = ctypes.create_string_buffer(2 * max(1, nsems))
    if _semctl(semid, 0, GETALL, values) != 0:
        return None
    return ds + values.raw


# tasks whose System V call waited and runs again once woken: id(task) -> (the id
# it waited on, its deadline). EINVAL then means the set or queue was removed
# meanwhile, and a semtimedop(2) keeps the deadline of its first entry
_waits: dict[int, tuple] = {}


def _stamp(ctx, kind: str, ident: int, fields, sems=()) -> None:
    """A call on System V object ``ident`` that the kernel stamps in ``fields`` (and
    in the sempid of semaphores ``sems``) succeeded: note what the kernel stamped and
    what the host's kernel stamps (kernel/ipcstamps.py). A pid the kernel did not
    stamp with the caller's is not the caller's to note."""
    raw = _stat(kind, ident)
    if raw is None:
        return
    stamps, me = ctx.engine.ipc_stamps, ctx.task.tgid_native
    now = ctx.engine.clock.realtime_ns // 1_000_000_000
    for field in fields:
        offset, size = FIELDS[kind][field]
        native = int.from_bytes(raw[offset:offset + size], "little", signed=True)
        if not field.endswith("pid"):
            stamps.note(kind, ident, field, native, now)
        elif native == me:
            stamps.note(kind, ident, field, native, ctx.proc.pid)
    for num in sems:
        if _semctl(ident, num, GETPID, None) == me:
            stamps.note(kind, ident, ("sempid", num), me, ctx.proc.pid)


def _stamped(kind: str, ident: int, fields, sems=()):
    """An ``on_exit`` that stamps (``_stamp``) when the call succeeded."""
    def done(c, result):
        if result >= 0:
            _stamp(c, kind, ident, fields, sems)
        return result
    return done


def _sysv(ctx, native: Native, would_wait: int, state, key: int, timeout_ns=None,
          done=None, parked=None):
    """Run a System V call natively as ``native`` says (IPC_NOWAIT added); a
    ``would_wait`` error means it would have slept: park until ``state(key)``
    changes, then run it again. A handler interrupts it with EINTR (never restarted:
    signal(7)); semtimedop(2)'s timeout gives EAGAIN. ``parked(ctx)`` notes the wait
    and returns what ends the note."""
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
                         on_interrupt=lambda _c: ended(-errno.EINTR),
                         # msgrcv and msgsnd's -ERESTARTNOHAND; semop's is EINTR itself
                         interrupted=ERESTARTNOHAND if c.name in ("msgrcv", "msgsnd") else None,
                         cleanup=None if parked is None else parked(c))
        if rerun and result == -errno.EINVAL:
            return -errno.EIDRM  # removed while it waited (the id now names nothing)
        return result if done is None else done(c, result)

    native.on_exit = finished
    return native


MSG_COPY = 0o40000


@handles("msgrcv")
def msgrcv(ctx, msqid, msgp, msgsz, msgtyp, msgflg, *_):
    flags = u32(msgflg)
    done = _stamped("msg", s32(msqid), ("msg_rtime", "msg_lrpid"))
    if flags & MSG_COPY:
        return Native()  # a copy is no receive; without IPC_NOWAIT it is EINVAL
    if flags & IPC_NOWAIT:
        return Native(on_exit=done)  # the program's own non-blocking call
    return _sysv(ctx, Native(regs={"r8": flags | IPC_NOWAIT}), errno.ENOMSG, _queue_state,
                 s32(msqid), done=done)


@handles("msgsnd")
def msgsnd(ctx, msqid, msgp, msgsz, msgflg, *_):
    flags = u32(msgflg)
    done = _stamped("msg", s32(msqid), ("msg_stime", "msg_lspid"))
    if flags & IPC_NOWAIT:
        return Native(on_exit=done)
    return _sysv(ctx, Native(regs={"r10": flags | IPC_NOWAIT}), errno.EAGAIN, _queue_state,
                 s32(msqid), done=done)


@handles("msgget", "semget", "shmget")
def ipc_get(ctx, key, arg2, arg3=0, *_):
    """Natively; an object the call created is stamped with the host's time (and, for a
    segment, its creator's pid): ``*_ctime``, ``shm_cpid``."""
    kind = ctx.name[:3]
    key, flags = s32(key), u32(arg2 if kind == "msg" else arg3)
    if key != IPC_PRIVATE and (not flags & IPC_CREAT or (
            not flags & IPC_EXCL and _exists(kind, key))):
        return Native()  # it finds an object, creates none

    def created(c, result):
        if result >= 0:
            _stamp(c, kind, result, (f"{kind}_ctime",) + (("shm_cpid",) if kind == "shm" else ()))
        return result
    return Native(on_exit=created)


def _exists(kind: str, key: int) -> bool:
    """An object of ``kind`` has ``key`` (a lookup asking for no permission finds it)."""
    get = getattr(_libc, f"{kind}get")
    found = get(key, 0) if kind == "msg" else get(key, 0, 0)
    return found >= 0 or ctypes.get_errno() != errno.ENOENT


def _ctl_call(ctx, kind: str, ident: int, cmd: int, buf: int):
    """msgctl, semctl, shmctl natively; IPC_SET stamps ``*_ctime``; what IPC_STAT and
    the STAT commands by index show of the last operations the host saw is the
    host's (kernel/ipcstamps.py)."""
    stamps = ctx.engine.ipc_stamps
    if cmd == IPC_RMID:
        def removed(c, result):
            if result == 0 and _stat(kind, ident) is None:  # (a segment still attached stays)
                stamps.forget(kind, ident)
            return result
        return Native(on_exit=removed)
    if cmd == IPC_SET:
        return Native(on_exit=_stamped(kind, ident, (f"{kind}_ctime",)))
    if cmd not in (IPC_STAT, *STAT_BY_INDEX[kind]) or not buf:
        return Native()

    def shown(c, result):
        if result < 0:
            return result
        shown_id = ident if cmd == IPC_STAT else result
        for field, (offset, size) in FIELDS[kind].items():
            raw = c.mem.read(buf + offset, size)
            native = int.from_bytes(raw, "little", signed=True)
            value = stamps.shown(kind, shown_id, field, native)
            if value != native:
                c.mem.write(buf + offset, value.to_bytes(size, "little", signed=True))
        return result

    return Native(on_exit=shown)


@handles("msgctl", "shmctl")
def msg_shm_ctl(ctx, ident, cmd, buf, *_):
    return _ctl_call(ctx, ctx.name[:3], s32(ident), s32(cmd) & 0xFF, buf)   # without IPC_64


@handles("semctl")
def semctl(ctx, semid, semnum, cmd, arg, *_):
    """SETVAL and SETALL stamp sem_ctime and the sempid of the semaphores they set;
    GETPID shows the host's pid of the last operator the host saw."""
    ident, num, cmd = s32(semid), u32(semnum), s32(cmd) & 0xFF
    if cmd == SETVAL:
        return Native(on_exit=_stamped("sem", ident, ("sem_ctime",), (num,)))
    if cmd == SETALL:
        ds = _stat("sem", ident)
        nsems = 0 if ds is None else struct.unpack_from("<Q", ds, _SEM_NSEMS)[0]
        return Native(on_exit=_stamped("sem", ident, ("sem_ctime",), range(nsems)))
    if cmd == GETPID:
        stamps = ctx.engine.ipc_stamps
        return Native(on_exit=lambda c, result: result if result <= 0 else
                      stamps.shown("sem", ident, ("sempid", num), result))
    if cmd in (GETNCNT, GETZCNT):   # and those waiting in the host
        kind = INCREASE if cmd == GETNCNT else ZERO
        waits = ctx.engine.sem_waits
        return Native(on_exit=lambda c, result: result if result < 0 else
                      result + waits.count(ident, num, kind))
    return _ctl_call(ctx, "sem", ident, cmd, arg)


@handles("shmat")
def shmat(ctx, shmid, shmaddr, shmflg, *_):
    def attached(c, result):
        if not -4096 < result < 0:   # an address, whatever its sign
            _stamp(c, "shm", s32(shmid), ("shm_atime", "shm_lpid"))
        return result
    return Native(on_exit=attached)


@handles("shmdt")
def shmdt(ctx, shmaddr, *_):
    shmid = sysv_shmid_at(ctx.task.native, shmaddr)
    if shmid is None:
        return Native()  # EINVAL: nothing attached there
    return Native(on_exit=_stamped("shm", shmid, ("shm_dtime", "shm_lpid")))


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
    done = _stamped("sem", s32(semid), ("sem_otime",), {num for num, _op, _flg in ops})
    if any(flg & IPC_NOWAIT for _num, _op, flg in ops):
        return Native(on_exit=done)  # see the module's note
    nowait = b"".join(struct.pack("<Hhh", num, op, flg | IPC_NOWAIT) for num, op, flg in ops)
    # the program's operations with IPC_NOWAIT, in a copy (its own may be read-only);
    # the timeout is the host's to keep: none for the native call
    native = Native(regs={"orig_rax": _SEMTIMEDOP, "rsi": scratch_copy(ctx, nowait), "r10": 0})
    return _sysv(ctx, native, errno.EAGAIN, _set_state, s32(semid), timeout, done=done,
                 parked=lambda c: _sem_waiting(c, s32(semid), ops))


def _sem_waiting(ctx, semid: int, ops):
    """The caller waits in the host on set ``semid``: GETNCNT and GETZCNT count it on
    the semaphore whose operation it waits for (kernel/semwaits.py) until the wait
    ends."""
    waits, task = ctx.engine.sem_waits, ctx.task
    values = _values(semid)
    blocking = None if values is None else blocking_op(values, ops)
    if blocking is not None:
        waits.wait(task, semid, blocking)
    return lambda: waits.end(task)


def _values(semid: int):
    """Every semaphore's value in set ``semid`` (GETALL), None once it is gone."""
    state = _set_state(semid)
    if state is None:
        return None
    return struct.unpack_from(f"<{(len(state) - _DS_SIZE['sem']) // 2}H", state,
                              _DS_SIZE["sem"])


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
            c.engine.kernel_signalled.add(c.proc.pid)
        return result

    return Native(on_exit=registered)
