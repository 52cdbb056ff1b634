"""Which parked epoll_wait(2) callers a descriptor's readiness wakes, when their
epoll instances watch it with EPOLLEXCLUSIVE.

epoll_ctl(2): with EPOLLEXCLUSIVE, "when a wakeup event occurs and multiple epoll
file descriptors are attached to the same target file using EPOLLEXCLUSIVE, one or
more of the epoll file descriptors will receive an event". The kernel walks the
target's wait queue at each wake-up and stops at the first instance with a sleeper.
In a host nobody sleeps in the real kernel (the host looks at each instance without
waiting in it), so every instance has the event; the host makes the choice instead:
for each target that had a wake-up since the last look (``edged``: the host watches
it edge-triggered, engine/epolledges.py), it wakes the first ready waiter to have
parked among those sharing it; the others stay parked, their instance ready, until
the target's next wake-up (a pipe write wakes its readers at every write, even onto
data nobody took: pipe_write).

A waiter is ``(key, targets, ready)``: ``targets`` are what its instance watches
exclusively (empty: an instance with a plain item too, woken whenever it is ready,
as before; a mix of both is not told apart).
"""
from __future__ import annotations


def woken(looked: list, edged: set) -> list:
    """The keys of ``looked`` (in parking order) to wake now."""
    chosen, taken = [], set()
    for key, targets, ready in looked:
        if not ready:
            continue
        if not targets:
            chosen.append(key)
            continue
        fresh = (targets & edged) - taken
        if fresh:
            taken |= fresh
            chosen.append(key)
    return chosen
