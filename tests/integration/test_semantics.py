"""Corners of signal, timer and clock semantics that the Linux Test Project's syscall
tests showed a host getting wrong (issue 12, item 5). Each program is written from the
man pages and runs natively and in a host with the same expected output.
"""
from __future__ import annotations

import os
import time

import pytest

from pytest_simproc import Exited, SimHost

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


TIMER_SIGEV = (b"SIGEV_SIGNAL: SIGUSR1 SI_TIMER value=42\n"
               b"SIGEV_THREAD: SIGUSR2 SI_TIMER value=42\n"
               b"SIGEV_THREAD_ID: SIGUSR1 SI_TIMER value=42\n"
               b"SIGEV_THREAD_ID, a child's pid: EINVAL\n"
               b"SIGEV_THREAD_ID, a reaped pid: EINVAL\n"
               b"SIGEV_THREAD, signal 0: EINVAL\n"
               b"SIGEV_THREAD, signal 65: EINVAL\n"
               b"notify 3: EINVAL\n"
               b"SIGEV_NONE, signal 0: created\n"
               b"timer_settime(NULL): EINVAL\n"
               b"timer_settime(no such timer, NULL): EINVAL\n")


def test_timer_create_notify_kinds_as_the_kernel_takes_them(build):
    """A raw SIGEV_THREAD was refused (EINVAL); the kernel signals the process.
    timer_settime without a new value gave EFAULT."""
    same_as_native([build("timer_sigev")], TIMER_SIGEV)


def test_glibc_thread_timer_runs_its_function(build):
    """glibc's SIGEV_THREAD timer signals its helper thread (SIGEV_THREAD_ID): it was
    refused (EINVAL), the host posting timer signals to the process only."""
    report = same_as_native([build("timer_sigev"), "glibc"], b"notified 42\n")
    assert report["host"]["refused"] == []


def test_sigev_thread_id_timer_signals_its_thread(build):
    """The timer's signal goes to the thread it names: handled there while another
    thread blocks it, pending there (not run by the main thread's handler) while that
    thread blocks it. It was refused for any thread but the main one (glibc's
    SIGEV_THREAD timers: test_glibc_thread_timer_runs_its_function)."""
    same_as_native([build("timer_thread")],
                   b"SIGUSR1 handled in the worker: yes\n"
                   b"main thread's handler ran: no\n"
                   b"pending in the worker: yes\n"
                   b"sigwaitinfo in the worker: SIGUSR2 SI_TIMER value=7\n")


def test_rt_sigqueueinfo_to_a_threads_tid_queues_for_its_process(build):
    """It gave ESRCH: only a process's own pid was looked up."""
    same_as_native([build("sig_queue_thread")],
                   b"rt_sigqueueinfo(thread's tid) = 0\n"
                   b"handled in the thread, value 777, SI_QUEUE\n"
                   b"rt_sigqueueinfo(ended thread's tid) = ESRCH\n", stop_time=60)


def test_rlimit_sigpending_limits_queued_realtime_signals(build):
    """sigqueue and tgkill of a real-time signal past RLIMIT_SIGPENDING are EAGAIN;
    kill(2) and a standard signal still go (they were never limited)."""
    same_as_native([build("sig_pending_limit")],
                   b"sigqueue(SIGRTMIN) #1: 0\n"
                   b"sigqueue(SIGRTMIN) #2: 0\n"
                   b"sigqueue(SIGRTMIN) #3: 0\n"
                   b"sigqueue(SIGRTMIN) #4: EAGAIN\n"
                   b"tgkill(SIGRTMIN+1): EAGAIN\n"
                   b"kill(SIGRTMIN+2): 0\n"
                   b"sigqueue(SIGUSR1): 0\n"
                   b"queued: SIGRTMIN 3, SIGRTMIN+1 0, SIGRTMIN+2 1, SIGUSR1 1\n"
                   b"after draining, sigqueue(SIGRTMIN): 0\n"
                   b"queued: SIGRTMIN 1\n")


def test_kill_permission_follows_the_native_user_ids(build):
    """Signals between processes of different users gave 0: the host never asked
    who the sender and the receiver are (set-user-ID calls run natively)."""
    if os.geteuid() != 0:
        pytest.skip("the children need root to take user ids of their own")
    same_as_native([build("kill_perm")],
                   b"1001 -> 1001: kill 0 0\n"
                   b"1001 -> saved 1001: kill 0 0\n"
                   b"1001 -> 1003: kill 0 EPERM, SIGTERM EPERM, SIGCONT EPERM\n"
                   b"1001 -> 1003: sigqueue EPERM, tgkill EPERM\n"
                   b"1001 -> root: kill 0 EPERM, SIGCONT in its session 0\n"
                   b"1001 -> no such pid: kill 0 ESRCH\n"
                   b"1001 -> 1003's group: kill 0 EPERM\n"
                   b"1001 -> its own group (root, 1001, 1002 saved 1001): SIGUSR2 0\n"
                   b"1001 -> everyone: kill 0 0\n"
                   b"child 0: signaled SIGKILL\n"
                   b"child 1: signaled SIGKILL\n"
                   b"child 2: signaled SIGKILL\n"
                   b"root got SIGUSR2: 0\n")


def test_a_signalfds_number_reused_after_close_dup2_or_exec_is_that_file(build):
    """The host kept the signalfd under its old number: a read of the pipe there was
    answered as a signalfd read (EAGAIN; postgres's initdb child failed reading libc
    this way) and signalfd() on it re-armed a signalfd that no longer existed."""
    same_as_native([build("signalfd_reuse")],
                   b"after close: read 1 'c', signalfd on it EINVAL\n"
                   b"after dup2: read 1 'd', signalfd on it EINVAL\n"
                   b"after exec: read 1 'e', signalfd on it EINVAL\n")


CLOCK_SET_ERRORS = b"".join(
    [b"REALTIME: EPERM\n", b"REALTIME, tv_nsec 1e9: EINVAL\n", b"REALTIME, NULL: EFAULT\n"]
    + [b"clock %d: EINVAL\n" % c for c in (1, 2, 3, 4, 5, 6, 7, 11, 10, 100, -1)]
    + [b"clock -6: EPERM\n", b"settimeofday: EPERM\n", b"settimeofday, tv_usec 1e6: EINVAL\n",
       b"settimeofday(NULL, NULL): EPERM\n"])


def test_clock_settime_errors_are_the_kernels(build):
    """Both calls were refused as unsupported (ENOSYS)."""
    same_as_native([build("clock_set"), "errors"], CLOCK_SET_ERRORS)


def test_clock_settime_moves_the_hosts_realtime_clock_only(build):
    """CLOCK_REALTIME (and gettimeofday, time, absolute realtime sleeps and timers)
    follow the time set; CLOCK_MONOTONIC does not move; the machine's clock is
    untouched (the call never runs natively)."""
    if os.geteuid() != 0:
        pytest.skip("setting the clock needs CAP_SYS_TIME, which the host reads natively")
    before = time.time()
    with SimHost() as host:
        p = host.spawn([build("clock_set"), "set"])
        host.run()
        year_before = 946684800 - 366 * 86400
        assert p.stdout == (
            b"set REALTIME: 0\n"
            b"REALTIME %d gettimeofday %d time %d MONOTONIC moved 0\n"
            b"absolute REALTIME sleep: 0\n"
            b"after it: REALTIME %d, MONOTONIC +5 s\n"
            b"absolute REALTIME timer 10 s ahead: 10 s left\n"
            b"settimeofday: 0, time 946684800\n"
            % (year_before, year_before, year_before, year_before + 5)), p.stdout
    assert time.time() >= before


def test_time_namespaces_are_entered_as_natively(build, native):
    """unshare(CLONE_NEWTIME) was refused in a host (EINVAL, reported); it now makes
    a namespace as natively (test_timens.py follows it), nothing refused. Joining the
    namespace the process is in works, by either nstype."""
    expected = (b"setns(time): 0\nsetns(time, 0): 0\nunshare(CLONE_NEWTIME): 0\n")
    res = native([build("timens")])
    if res.returncode != 0 or b"EPERM" in res.stdout:
        pytest.skip(f"namespaces need CAP_SYS_ADMIN here: {res.stdout!r}")
    assert res.stdout == expected
    with SimHost() as host:
        p = host.spawn([build("timens")])
        host.run()
        assert p.stdout == expected
        assert host.report()["host"]["refused"] == []


def test_clone_parent_makes_a_sibling(build):
    # clone(2) CLONE_PARENT: the new process's parent is its caller's (B cannot wait
    # for C, A reaps it, and it ended with B's exit signal, SIGCHLD, to A)
    same_as_native([build("clone_parent")], b"A reaped B: exited 0\nA reaped C: exited 3\n")


def test_clock_settime_moves_absolute_realtime_waits(build):
    """Absolute realtime sleeps and timers kept the virtual deadline they were given when
    armed, so a clock set moved nothing, and TFD_TIMER_CANCEL_ON_SET had no effect (host
    only: natively this would set the machine's clock)."""
    if os.geteuid() != 0:
        pytest.skip("setting the clock needs CAP_SYS_TIME, which the host reads natively")
    with SimHost() as host:
        p = host.spawn([build("clock_set_timers")])
        host.run()
        assert p.stdout == (
            b"sleep until +100, clock set +50 at 10: 0 after 50 s\n"
            b"sleep until +20, clock set -30 at 10: 0 after 50 s\n"
            b"absolute timer fired after 10 s\n"
            b"relative timer fired after 60 s\n"
            b"cancelable timerfd: settime 0\n"
            b"readable before a set: 0\n"
            b"readable after a set: 1\n"
            b"read: ECANCELED\n"
            b"readable after the read: 0\n"
            b"settime after another set: ECANCELED\n"
            b"armed all the same: 104 s left\n"
            b"settime again: 0\n"
            b"read: 8 count 1 after 104 s\n"
            b"plain absolute timerfd: read 8 count 1 after 40 s\n"), p.stdout
        assert p.exit_status == Exited(0)
