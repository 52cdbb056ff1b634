"""Futex wait queues (futex(2)), so that threads never sleep in the real kernel.

A waiter is queued under a key with a bitset. The syscall layer makes the key
(``syscalls.thread.futex_key``: the process and the word's address, or for a shared
futex the mapped object and the word's offset in it, futex(2)). Wakes take waiters in
FIFO order, the order the simulated kernel queued them, which makes every wake-up
deterministic. Values are read and compared by the caller
(the syscall layer), under the same one-thread-at-a-time rule as the programs' own
atomic operations.
"""
from __future__ import annotations

from collections import OrderedDict

FUTEX_BITSET_MATCH_ANY = 0xFFFFFFFF


class FutexTable:
    def __init__(self):
        self._queues: dict[tuple, OrderedDict] = {}
        self._where: dict[object, tuple] = {}   # waiter -> key

    def wait(self, key: tuple, waiter, bitset: int = FUTEX_BITSET_MATCH_ANY) -> None:
        self._queues.setdefault(key, OrderedDict())[waiter] = bitset
        self._where[waiter] = key

    def cancel(self, waiter) -> bool:
        """Remove a waiter that stopped waiting (timeout, signal, exit)."""
        key = self._where.pop(waiter, None)
        if key is None:
            return False
        queue = self._queues[key]
        del queue[waiter]
        if not queue:
            del self._queues[key]
        return True

    def wake(self, key: tuple, count: int, bitset: int = FUTEX_BITSET_MATCH_ANY) -> list:
        """Up to ``count`` waiters whose bitset intersects ``bitset``, oldest first."""
        queue = self._queues.get(key)
        woken = []
        if not queue or count <= 0:
            return woken
        for waiter, waiter_bits in list(queue.items()):
            if waiter_bits & bitset:
                woken.append(waiter)
                self.cancel(waiter)
                if len(woken) >= count:
                    break
        return woken

    def requeue(self, key: tuple, to_key: tuple, wake_count: int, requeue_count: int):
        """Wake ``wake_count`` waiters, move up to ``requeue_count`` of the rest to
        ``to_key``; returns (woken, moved)."""
        woken = self.wake(key, wake_count)
        moved = []
        queue = self._queues.get(key)
        if queue and requeue_count > 0:
            for waiter, bits in list(queue.items())[:requeue_count]:
                self.cancel(waiter)
                self.wait(to_key, waiter, bits)
                moved.append(waiter)
        return woken, moved

    def waiters(self, key: tuple) -> int:
        return len(self._queues.get(key, ()))
