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


def test_clock_ids_are_accepted_and_refused_as_by_the_kernel(build):
    """clock_nanosleep on CLOCK_THREAD_CPUTIME_ID gave EINVAL, on the raw and coarse
    clocks it slept; an invalid CPU clock id (-1) read the CPU clock."""
    open_expected = (
        b"clock -1: gettime EINVAL getres EINVAL nanosleep EINVAL nanosleep(NULL) EFAULT\n"
        b"clock 0: gettime 0 getres 0 nanosleep 0 nanosleep(NULL) EFAULT\n"
        b"clock 1: gettime 0 getres 0 nanosleep 0 nanosleep(NULL) EFAULT\n")
    unsleepable = b"nanosleep EOPNOTSUPP nanosleep(NULL) EOPNOTSUPP\n"
    expected = open_expected + b"".join(
        b"clock %d: gettime 0 getres 0 " % c + unsleepable for c in (3, 4, 5, 6))
    expected += (b"clock 7: gettime 0 getres 0 nanosleep 0 nanosleep(NULL) EFAULT\n"
                 b"clock 10: gettime EINVAL getres EINVAL nanosleep EINVAL nanosleep(NULL) EINVAL\n"
                 b"clock 11: gettime 0 getres 0 nanosleep 0 nanosleep(NULL) EFAULT\n"
                 b"clock 12: gettime EINVAL getres EINVAL nanosleep EINVAL nanosleep(NULL) EINVAL\n"
                 b"clock 1000: gettime EINVAL getres EINVAL nanosleep EINVAL nanosleep(NULL) EINVAL\n")
    same_as_native([build("clock_errors")], expected)
