"""Which parked epoll_wait(2) callers a descriptor's readiness wakes, when their
epoll instances watch it with EPOLLEXCLUSIVE.

epoll_ctl(2): with EPOLLEXCLUSIVE, "when a wakeup event occurs and multiple epoll
file descriptors are attached to the same target file using EPOLLEXCLUSIVE, one or
more of the epoll file descriptors will receive an event". The kernel walks the
target's wait queue and stops at the first instance with a sleeper. In a host nobody
sleeps in the real kernel (the host looks at each instance without waiting in it), so
every instance has the event; the host makes the choice instead: when instances that
watch a target exclusively become ready at the same look, it wakes the first waiter
to have parked among those sharing a target, and the others stay parked while their
instance stays ready (a wake-up is a readiness that was not there at the last look:
once the woken one has taken the data, the next data wakes the next waiter).

A waiter is ``(key, targets, ready)``: ``targets`` are what its instance watches
exclusively (empty: an instance with a plain item too, woken whenever it is ready,
as before; a mix of both is not told apart).
"""
from __future__ import annotations


class ExclusiveWakes:
    def __init__(self) -> None:
        # waiters left parked while their instance was ready at the last look
        self._passed_over: set = set()

    def woken(self, looked: list) -> list:
        """The keys of ``looked`` (in parking order) to wake now."""
        woken, taken, passed_over = [], set(), set()
        for key, targets, ready in looked:
            if not ready:
                continue
            if not targets:
                woken.append(key)
            elif key in self._passed_over or targets <= taken:
                passed_over.add(key)
            else:
                taken |= targets
                woken.append(key)
        self._passed_over = passed_over
        return woken

    def ended(self, key) -> None:
        """The waiter's call ended (a timeout, a handler): its next wait starts anew."""
        self._passed_over.discard(key)
