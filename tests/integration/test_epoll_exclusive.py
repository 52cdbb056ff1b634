"""EPOLLEXCLUSIVE (epoll_ctl(2)): a write to a pipe that three processes wait on, each
in its own epoll instance with EPOLLEXCLUSIVE, wakes one or more of them, not all;
without the flag it wakes all (tests/programs/epoll_exclusive.c). In a host every
instance had the event (nobody sleeps in the real kernel's wait queue): all three
were woken (kernel/epollwake.py). Then a write after the woken one's data was taken,
before the host looked again, woke nobody: the passed-over instances had stayed
ready, so no look saw a new readiness (engine/epolledges.py watches the pipe's
wake-ups instead)."""
from __future__ import annotations

from .conftest import same_as_native

EXPECTED = b"""\
EPOLLEXCLUSIVE: one or more woken, not all: 1
without it: all woken: 1
a write after the data was taken wakes the next: 1
"""


def test_an_exclusive_wake_up_wakes_one_waiter_not_all(build):
    report = same_as_native([build("epoll_exclusive")], EXPECTED)
    assert report["host"]["unsupported_syscalls"] == []
