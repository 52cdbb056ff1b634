"""Threads: futexes emulated in the simulated kernel, yielding the CPU.

A thread waiting on a futex (futex(2), futex_waitv(2)) is parked by the host, never natively, so the seed alone
decides which thread runs next. Priority-inheritance futexes are refused: they hand
lock ownership to the kernel, which is not modelled.

A process outside the host that shares a word (the test, in drop-in mode, releasing a
multiprocessing lock: sem_post(3)) wakes only native waiters. A shared word found
changed when the host looks at its parked waits (when nothing else can run) ends the
wait with 0, as a spurious wake-up would, which every futex user tolerates by checking
the word again (futex(2) FUTEX_WAIT).
"""
from __future__ import annotations

import errno
import struct

from ..kernel.futex import FUTEX_BITSET_MATCH_ANY
from ..kernel.timers import REALTIME_SET
from ..trace.maps import mapping_at
from ..trace.memory import in_user_space
from .args import einval_on_invalid, read_timespec, s32, u32
from .outcome import ERESTART_RESTARTBLOCK, Block
from .registry import handles
from .time import CLOCK_MONOTONIC, CLOCK_REALTIME, clock_deadline

FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 2, 3, 4
FUTEX_WAKE_OP, FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI = 5, 6, 7, 8
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2 = 11, 12, 13
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
_PI_OPS = {FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI, FUTEX_WAIT_REQUEUE_PI,
           FUTEX_CMP_REQUEUE_PI, FUTEX_LOCK_PI2, FUTEX_FD}


def futex_key(task, addr: int, private: bool, mapping=None) -> tuple:
    """What identifies the futex word at ``addr`` for ``task``: waiters and wakers meet
    on equal keys.

    futex(2): to share a futex between processes "the futex is placed in a region of
    shared memory ... the futex word may have different virtual addresses in different
    processes, but these addresses all refer to the same location in physical memory".
    So without FUTEX_PRIVATE_FLAG a word in a shared mapping (MAP_SHARED memory kept
    over fork, shm_open/sem_open files, shmat) is keyed by the object mapped there and
    the word's offset in it: (device, inode, offset). A FUTEX_PRIVATE_FLAG operation
    ("process-private and not shared with another process"), or a word in a private
    mapping, is keyed by (process, address), which is all threads need; private
    operations never read the memory map. ``mapping``: the one at ``addr``, when the
    caller has looked it up already (_get_key).
    """
    if not private:
        if mapping is None:
            mapping = _mapping_of(task, addr)
        if mapping is not None and mapping.shared:
            return ("shared", mapping.device, mapping.inode,
                    mapping.offset + addr - mapping.start)
    return ("private", task.proc.pid, addr)


def _mapping_of(task, addr: int):
    """The mapping of ``task``'s memory that holds ``addr`` (/proc/TID/maps), or None."""
    mapping = mapping_at(task.native, addr)
    if mapping is None and task.native != task.tgid_native:
        mapping = mapping_at(task.tgid_native, addr)  # the calling thread is gone
    return mapping


def _word(ctx, addr: int) -> int:
    return struct.unpack("<I", ctx.mem.read(addr, 4))[0]


def _get_key(ctx, addr: int, private: bool, write: bool = False):
    """The kernel's get_futex_key: the word's key (futex_key), or, as a negative errno,
    EINVAL when the address is not 4-byte aligned, EFAULT outside user space and, for a
    shared futex, when no page the program could read (or write, for ``write``) is
    mapped there. One look at the memory map serves the check and the key."""
    if addr % 4:
        return -errno.EINVAL
    if not in_user_space(addr, 4):
        return -errno.EFAULT
    if private:
        return futex_key(ctx.task, addr, True)
    try:
        ctx.mem.read(addr, 4)
    except OSError:
        return -errno.EFAULT
    # the mapping's permissions, not a write of the word back: a process outside the
    # host sharing it (the test's sem_post) may change it between the two
    mapping = _mapping_of(ctx.task, addr)
    if mapping is not None and not mapping.writable:
        # read-only: refused for a write, and for anonymous memory, which "will never
        # change and thus doesn't make sense for futex operations" (the kernel's words)
        if write or not mapping.inode:
            return -errno.EFAULT
    return futex_key(ctx.task, addr, False, mapping)


def _timeout(ctx, ptr: int, absolute: bool, realtime: bool = False):
    """Deadline in virtual ns, or None for no timeout. An absolute one is a time of
    CLOCK_MONOTONIC, or CLOCK_REALTIME's with FUTEX_CLOCK_REALTIME (futex(2))."""
    if not ptr:
        return None
    value = read_timespec(ctx, ptr)
    if not absolute:
        return ctx.now_ns + value
    return clock_deadline(ctx, CLOCK_REALTIME if realtime else CLOCK_MONOTONIC, value)


def _wait(ctx, addr, private, expected, deadline, bitset, realtime_at=None):
    """FUTEX_WAIT(_BITSET): queue the caller on the word while it holds ``expected``;
    ``realtime_at``: its timeout is this CLOCK_REALTIME time (FUTEX_CLOCK_REALTIME)."""
    if not bitset:
        return -errno.EINVAL
    key = _get_key(ctx, addr, private)
    if type(key) is int:
        return key
    if _word(ctx, addr) != expected:
        return -errno.EAGAIN
    if deadline is not None and deadline <= ctx.now_ns:
        return -errno.ETIMEDOUT
    ctx.engine.futexes.wait(key, ctx.task, bitset)
    return _queued(ctx, deadline, realtime_at, word=(addr, expected) if key[0] == "shared"
                   else None)


def _changed(ctx, word) -> bool:
    """The shared futex word at ``word[0]`` no longer holds ``word[1]``."""
    try:
        return struct.unpack("<I", ctx.mem.read_now(word[0], 4))[0] != word[1]
    except OSError:
        return False   # the waiter is gone


def _queued(ctx, deadline, realtime_at, restart=False, word=None):
    """The wait of a queued waiter. A handler interrupts it: a FUTEX_WAIT without a
    timeout and futex_waitv(2) (``restart``) restart after SA_RESTART (the kernel's
    -ERESTARTSYS; signal(7) lists FUTEX_WAIT since 2.6.22), a FUTEX_WAIT with one
    returns EINTR (-ERESTART_RESTARTBLOCK, restarted only without a handler). A CLOCK_REALTIME timeout counts against the clock as
    set: a clock_settime past it ends the wait (ETIMEDOUT), one short of it moves it,
    and the waiter keeps its place in the queue. ``word``: (address, value) of a shared
    word, which a process outside the host may change."""
    engine, task = ctx.engine, ctx.task
    places = {}
    restart = restart or deadline is None
    block = Block(deadline_ns=deadline, on_timeout=lambda c: -errno.ETIMEDOUT,
                  restart=restart, interrupted=None if restart else ERESTART_RESTARTBLOCK,
                  cleanup=lambda: places.update(engine.futexes.cancel(task) or {}))
    if realtime_at is not None:
        def clock_set(c):
            moved = clock_deadline(c, CLOCK_REALTIME, realtime_at)
            if moved <= c.now_ns:
                return -errno.ETIMEDOUT
            engine.futexes.rejoin(task, places)
            return _queued(c, moved, realtime_at, restart, word)
        block.keys, block.retry = (REALTIME_SET,), clock_set
    if word is not None:
        keyed = block.retry
        block.ready = lambda: _changed(ctx, word)
        block.retry = lambda c: 0 if keyed is None or _changed(c, word) else keyed(c)
    return block


def _wake(ctx, waiters) -> int:
    for waiter in waiters:
        ctx.engine.futex_woken(waiter)
    return len(waiters)


_WAKE_OPS = {0: lambda old, arg: arg, 1: lambda old, arg: old + arg,
             2: lambda old, arg: old | arg, 3: lambda old, arg: old & ~arg,
             4: lambda old, arg: old ^ arg}
_WAKE_CMPS = {0: lambda a, b: a == b, 1: lambda a, b: a != b, 2: lambda a, b: a < b,
              3: lambda a, b: a <= b, 4: lambda a, b: a > b, 5: lambda a, b: a >= b}
_WAITS_WITH_TIMEOUT = {FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI, FUTEX_LOCK_PI2,
                       FUTEX_WAIT_REQUEUE_PI}


def _s12(value: int) -> int:
    return value - 0x1000 if value & 0x800 else value


@handles("futex")
@einval_on_invalid
def futex(ctx, addr, op, val, timeout_or_val2, addr2, val3, *_):
    """futex(2), checking its arguments in the kernel's order: the timeout, the
    operation, the counts, then each word's address (get_futex_key)."""
    op = s32(op)
    cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    val, val3 = u32(val), u32(val3)
    futexes = ctx.engine.futexes
    private = bool(op & FUTEX_PRIVATE_FLAG)

    deadline = None
    if cmd in _WAITS_WITH_TIMEOUT:
        deadline = _timeout(ctx, timeout_or_val2, absolute=cmd != FUTEX_WAIT,
                            realtime=bool(op & FUTEX_CLOCK_REALTIME))
    if op & FUTEX_CLOCK_REALTIME and cmd not in (FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI,
                                                 FUTEX_LOCK_PI2):
        return -errno.ENOSYS
    if cmd in _PI_OPS:
        ctx.engine.refuse(ctx, f"priority-inheritance futex operation {cmd} is not "
                               "supported (ENOSYS)")
        return -errno.ENOSYS
    if cmd == FUTEX_WAIT:
        return _wait(ctx, addr, private, val, deadline, FUTEX_BITSET_MATCH_ANY)
    if cmd == FUTEX_WAIT_BITSET:
        realtime_at = read_timespec(ctx, timeout_or_val2) \
            if op & FUTEX_CLOCK_REALTIME and timeout_or_val2 else None
        return _wait(ctx, addr, private, val, deadline, val3, realtime_at)
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        bitset = val3 if cmd == FUTEX_WAKE_BITSET else FUTEX_BITSET_MATCH_ANY
        if not bitset:
            return -errno.EINVAL
        key = _get_key(ctx, addr, private)
        return key if type(key) is int else _wake(ctx, futexes.wake(key, val, bitset))
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        nr_wake, nr_requeue = s32(val), s32(timeout_or_val2)
        if nr_wake < 0 or nr_requeue < 0:
            return -errno.EINVAL
        key = _get_key(ctx, addr, private)
        if type(key) is int:
            return key
        key2 = _get_key(ctx, addr2, private)
        if type(key2) is int:
            return key2
        if cmd == FUTEX_CMP_REQUEUE and _word(ctx, addr) != val3:
            return -errno.EAGAIN
        woken, moved = futexes.requeue(key, key2, nr_wake, nr_requeue)
        _wake(ctx, woken)
        return len(woken) + (len(moved) if cmd == FUTEX_CMP_REQUEUE else 0)
    if cmd == FUTEX_WAKE_OP:
        key = _get_key(ctx, addr, private)
        if type(key) is int:
            return key
        key2 = _get_key(ctx, addr2, private, write=True)
        if type(key2) is int:
            return key2
        encoded = val3
        shift_arg, op_code = encoded >> 31 & 1, encoded >> 28 & 7
        cmp_code = encoded >> 24 & 15
        oparg, cmparg = _s12(encoded >> 12 & 0xFFF), _s12(encoded & 0xFFF)
        if shift_arg:
            oparg = 1 << (oparg & 31)
        if op_code not in _WAKE_OPS or cmp_code not in _WAKE_CMPS:
            return -errno.ENOSYS
        old = _word(ctx, addr2)
        ctx.mem.write(addr2, struct.pack("<I", _WAKE_OPS[op_code](old, oparg) & 0xFFFFFFFF))
        count = _wake(ctx, futexes.wake(key, val))
        if _WAKE_CMPS[cmp_code](s32(old), cmparg):
            count += _wake(ctx, futexes.wake(key2, u32(timeout_or_val2)))
        return count
    return -errno.ENOSYS


FUTEX_WAITV_MAX = 128
FUTEX2_SIZE_U32, FUTEX2_SIZE_MASK, FUTEX2_PRIVATE = 2, 3, FUTEX_PRIVATE_FLAG


@handles("futex_waitv")
@einval_on_invalid
def futex_waitv(ctx, waiters, nr_futexes, flags, timeout_ptr, clock_id, *_):
    """futex_waitv(2) (Linux 5.16): wait on up to 128 words at once; a wake of any
    returns its index. The kernel's order: the flags, the count and array, the clock,
    the absolute timeout (EFAULT, EINVAL), each entry as it is read (EFAULT; EINVAL for
    flags other than a private 32-bit word, a reserved field or a value past 32 bits),
    every word's address (get_futex_key), then every value (EAGAIN)."""
    nr_futexes = u32(nr_futexes)
    if u32(flags) or not 0 < nr_futexes <= FUTEX_WAITV_MAX or not waiters:
        return -errno.EINVAL
    deadline = realtime_at = None
    if timeout_ptr:
        clock_id = s32(clock_id)
        if clock_id not in (CLOCK_REALTIME, CLOCK_MONOTONIC):
            return -errno.EINVAL
        # an absolute time of the clock, as the caller reads it (its time namespace's)
        value = read_timespec(ctx, timeout_ptr)
        deadline = clock_deadline(ctx, clock_id, value)
        realtime_at = value if clock_id == CLOCK_REALTIME else None
    words = []
    for i in range(nr_futexes):
        # struct futex_waitv: u64 val, u64 uaddr, u32 flags, u32 __reserved
        val, uaddr, word_flags, reserved = struct.unpack(
            "<QQII", ctx.mem.read(waiters + 24 * i, 24))
        if word_flags & ~(FUTEX2_SIZE_MASK | FUTEX2_PRIVATE) or reserved or \
                word_flags & FUTEX2_SIZE_MASK != FUTEX2_SIZE_U32 or val >> 32:
            return -errno.EINVAL
        words.append((uaddr, val, bool(word_flags & FUTEX2_PRIVATE)))
    keys = []
    for uaddr, _val, private in words:
        key = _get_key(ctx, uaddr, private)
        if type(key) is int:
            return key
        keys.append(key)
    for uaddr, val, _private in words:
        if _word(ctx, uaddr) != val:
            return -errno.EAGAIN
    if deadline is not None and deadline <= ctx.now_ns:
        return -errno.ETIMEDOUT
    ctx.engine.futexes.wait_vector(keys, ctx.task)
    return _queued(ctx, deadline, realtime_at, restart=True)


@handles("sched_yield")
def sched_yield(ctx, *_):
    ctx.engine.sched.yield_cpu()
    return 0
