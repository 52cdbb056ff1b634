"""Which files that epoll instances watch with EPOLLEXCLUSIVE had a wake-up since the
host last looked (kernel/epollwake.py chooses whom each one wakes).

A waiter's instance stays ready after a wake-up that passed it over, so its readiness
cannot tell the next wake-up: a pipe wakes its readers at every write, even onto
data nobody took, and a reader may take the data and the next write come before the
host looks again. The host registers each target in an epoll instance of its own,
edge-triggered, which queues one event per wake-up (epoll(7): "EPOLLET ... delivered
when changes occur") until the next look. It registers the target through a duplicate
(pidfd_getfd(2)) and closes that at once: the item stays while the file lives and is
removed when the program closes it for the last time (epoll(7), Q6), so the host
keeps no pipe end open and no writer misses its EPIPE.
"""
from __future__ import annotations

import ctypes
import os
import select
import struct

# taken when the plugin loads: in drop-in mode select.epoll becomes the test's wrapper
_epoll = select.epoll
_libc = ctypes.CDLL(None, use_errno=True)
_POLL_BITS = 0xffff   # EPOLLIN ... EPOLLRDHUP, not the input flags (EPOLLET and above)
_EPOLL_CTL_ADD, _EVENT = 1, struct.Struct("=IQ")   # struct epoll_event is packed


class ExclusiveEdges:
    def __init__(self) -> None:
        self._epoll = None
        self._watched: dict[int, tuple] = {}   # token -> target (device, inode)
        self._targets: set = set()

    def watch(self, dup, items) -> bool:
        """Watch the targets of ``items`` ``(target, fd, events)`` (``fd`` the
        program's descriptor of it, duplicated with ``dup``); False when one cannot
        be (the descriptor now names another file, or none)."""
        for target, fd, events in items:
            if target in self._targets:
                continue
            try:
                copy = dup(fd)
            except OSError:
                return False
            try:
                if os.fstat(copy).st_ino != target[1]:
                    return False
                if self._epoll is None:
                    self._epoll = _epoll()
                token = len(self._watched) + 1
                # select.epoll keeps the descriptor's number as the event's data: a
                # token instead, since the number is free again once closed
                event = ctypes.create_string_buffer(
                    _EVENT.pack((events & _POLL_BITS) | select.EPOLLET, token))
                if _libc.epoll_ctl(self._epoll.fileno(), _EPOLL_CTL_ADD, copy, event):
                    return False
            except OSError:
                return False
            finally:
                os.close(copy)
            self._watched[token] = target
            self._targets.add(target)
        return True

    def watching(self) -> bool:
        """Whether an exclusive waiter's edge is watched (``taken`` would look)."""
        return bool(self._watched)

    def taken(self) -> set:
        """The targets woken since the last call."""
        if self._epoll is None:
            return set()
        size = len(self._watched)
        buf = ctypes.create_string_buffer(_EVENT.size * size)
        n = _libc.epoll_wait(self._epoll.fileno(), buf, size, 0)
        return {self._watched[_EVENT.unpack_from(buf, _EVENT.size * i)[1]]
                for i in range(max(n, 0))}

    def close(self) -> None:
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
