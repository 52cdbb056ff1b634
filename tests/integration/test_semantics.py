"""Corners of signal, timer and clock semantics that the Linux Test Project's syscall
tests showed a host getting wrong (issue 12, item 5). Each program is written from the
man pages and runs natively and in a host with the same expected output.
"""
from __future__ import annotations

from .conftest import same_as_native

SIG_WAITINFO = (b"sigtimedwait SIGALRM code=SI_KERNEL handled=0\n"
                b"sigwaitinfo SIGUSR1 code=SI_USER from_child=1 handled=0\n"
                b"sigwait r=0 SIGUSR2 handled=0\n"
                b"outside the set: Interrupted system call handled=1\n"
                b"timeout: Resource temporarily unavailable\n")


def test_sigwait_family_takes_unblocked_signals_of_its_set(build):
    """A signal of the set arriving during the wait is dequeued, not handled (its
    handler ran and the call failed with EINTR; glibc's sigwait then waited forever)."""
    same_as_native([build("sig_waitinfo")], SIG_WAITINFO)
