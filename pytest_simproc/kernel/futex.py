"""Futex wait queues (futex(2)), so that threads never sleep in the real kernel.

A waiter is queued under a key with a bitset, or under several keys at once
(futex_waitv(2): the wake of any of its words ends the wait and says which). The
syscall layer makes the key (``syscalls.thread.futex_key``: the process and the word's
address, or for a shared futex the mapped object and the word's offset in it,
futex(2)). Wakes take waiters in FIFO order, the order the simulated kernel queued
them, which makes every wake-up deterministic; a waiter taken off to be put back
(a set of the clock its timeout counts against) goes back where it stood. Values are read and compared by the
caller (the syscall layer), under the same one-thread-at-a-time rule as the programs'
own atomic operations.
"""
from __future__ import annotations

import itertools

FUTEX_BITSET_MATCH_ANY = 0xFFFFFFFF


class FutexTable:
    def __init__(self):
        # key -> {waiter: (its place, bitset)}, in the order of the places
        self._queues: dict[tuple, dict] = {}
        self._places = itertools.count()
        # waiter -> {key: what its wait returns when a wake takes it through that key}
        self._where: dict[object, dict] = {}
        self._results: dict[object, int] = {}  # woken waiter -> its wait's result

    def wait(self, key: tuple, waiter, bitset: int = FUTEX_BITSET_MATCH_ANY,
             result: int = 0) -> None:
        self._queues.setdefault(key, {})[waiter] = (next(self._places), bitset)
        self._where.setdefault(waiter, {}).setdefault(key, result)

    def wait_vector(self, keys: list, waiter) -> None:
        """futex_waitv(2): one waiter on every key of ``keys``; a wake through
        ``keys[i]`` takes it off all of them and its wait returns i (a word listed
        twice answers with its first index)."""
        for index, key in enumerate(keys):
            self.wait(key, waiter, FUTEX_BITSET_MATCH_ANY, index)

    def cancel(self, waiter) -> dict | None:
        """Remove a waiter that stopped waiting (timeout, signal, exit); returns where
        it stood, for ``rejoin`` (None: it was not waiting)."""
        keys = self._where.pop(waiter, None)
        if keys is None:
            return None
        places = {}
        for key, result in keys.items():
            places[key] = (*self._queues[key][waiter], result)
            self._leave(key, waiter)
        return places

    def rejoin(self, waiter, places: dict) -> None:
        """Put a waiter back where ``cancel`` took it from."""
        for key, (place, bitset, result) in places.items():
            queue = self._queues.setdefault(key, {})
            queue[waiter] = (place, bitset)
            self._where.setdefault(waiter, {})[key] = result
            self._queues[key] = dict(sorted(queue.items(), key=lambda item: item[1][0]))

    def _leave(self, key: tuple, waiter) -> None:
        queue = self._queues[key]
        del queue[waiter]
        if not queue:
            del self._queues[key]

    def wake(self, key: tuple, count: int, bitset: int = FUTEX_BITSET_MATCH_ANY) -> list:
        """Up to ``count`` waiters whose bitset intersects ``bitset``, oldest first."""
        queue = self._queues.get(key)
        woken = []
        if not queue or count <= 0:
            return woken
        for waiter, (_place, waiter_bits) in list(queue.items()):
            if waiter_bits & bitset:
                woken.append(waiter)
                self._results[waiter] = self._where[waiter][key]
                self.cancel(waiter)
                if len(woken) >= count:
                    break
        return woken

    def woken_result(self, waiter) -> int:
        """What the wait of a waiter ``wake`` took returns (0, or futex_waitv's
        index); asked once."""
        return self._results.pop(waiter, 0)

    def requeue(self, key: tuple, to_key: tuple, wake_count: int, requeue_count: int):
        """Wake ``wake_count`` waiters, move up to ``requeue_count`` of the rest to
        ``to_key``; returns (woken, moved)."""
        woken = self.wake(key, wake_count)
        moved = []
        queue = self._queues.get(key)
        if queue and requeue_count > 0:
            for waiter, (_place, bits) in list(queue.items())[:requeue_count]:
                result = self._where[waiter].pop(key)
                self._leave(key, waiter)
                self.wait(to_key, waiter, bits, result)
                moved.append(waiter)
        return woken, moved

    def waiters(self, key: tuple) -> int:
        return len(self._queues.get(key, ()))
