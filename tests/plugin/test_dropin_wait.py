"""Drop-in mode: the test waits for its programs as a parent does (issue 13 item 6).

The inner suite is written as a real suite writes it: os.wait, wait3, wait4, waitpid,
waitid, os.pidfd_open and signal.pidfd_send_signal on children started with subprocess,
no simproc API. It passes natively and under ``--simproc``; each test prints what it saw
(its children's pids and how much time its waits took), and the outer test checks that
under ``--simproc`` those were the host's: pids from 1000, exact virtual times.

The inner pytest runs in a process of its own: natively, a wait for any child must not
find the children of the process running this suite.
"""
from __future__ import annotations

import os
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest_plugins = ["pytester"]

INNER = """
import json
import os
import select
import signal
import subprocess
import threading
import time

import pytest


def observed(name, pids, elapsed):
    print("OBSERVED", json.dumps([name, pids, elapsed, time.time()]))


def test_wait_for_any_child():
    t0 = time.time()
    # natively too, `slow` still runs at the first os.wait, even on a loaded machine
    slow = subprocess.Popen(["sh", "-c", "sleep 2; exit 3"])
    fast = subprocess.Popen(["sh", "-c", "sleep 0.2; exit 4"])
    assert os.waitpid(-1, os.WNOHANG) == (0, 0)
    os.waitid(os.P_PID, fast.pid, os.WEXITED | os.WNOWAIT)
    os.kill(fast.pid, 0)  # it ended, but until it is waited for it exists
    os.kill(fast.pid, signal.SIGKILL)  # and a signal does nothing to it
    pid, status = os.wait()
    assert pid == fast.pid and os.waitstatus_to_exitcode(status) == 4
    pid, status, usage = os.wait3(0)
    assert pid == slow.pid and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3
    assert usage.ru_utime >= 0
    with pytest.raises(ChildProcessError):
        os.wait()
    with pytest.raises(ChildProcessError):
        os.waitpid(slow.pid, 0)
    assert fast.returncode is None
    assert (fast.poll(), slow.wait()) == (0, 0)  # os.wait took the statuses: Popen says 0
    observed("any", [slow.pid, fast.pid], time.time() - t0)


def test_stop_continue_and_end_are_each_reported_once():
    t0 = time.time()
    p = subprocess.Popen(["sleep", "30"])
    os.kill(p.pid, signal.SIGSTOP)
    pid, status = os.waitpid(p.pid, os.WUNTRACED)
    assert pid == p.pid and os.WIFSTOPPED(status) and os.WSTOPSIG(status) == signal.SIGSTOP
    assert os.waitpid(p.pid, os.WUNTRACED | os.WNOHANG) == (0, 0)
    os.kill(p.pid, signal.SIGCONT)
    info = os.waitid(os.P_PID, p.pid, os.WCONTINUED)
    assert (info.si_pid, info.si_signo, info.si_code, info.si_status) == (
        p.pid, signal.SIGCHLD, os.CLD_CONTINUED, signal.SIGCONT)
    assert os.waitid(os.P_PID, p.pid, os.WEXITED | os.WCONTINUED | os.WNOHANG) is None
    os.kill(p.pid, signal.SIGTERM)
    seen = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
    assert (seen.si_pid, seen.si_code, seen.si_status) == (p.pid, os.CLD_KILLED, signal.SIGTERM)
    pid, status, _ = os.wait4(p.pid, 0)  # WNOWAIT left it waitable
    assert pid == p.pid and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    with pytest.raises(ChildProcessError):
        os.wait4(-1, os.WNOHANG)
    observed("stop", [p.pid], time.time() - t0)


def test_wait_for_a_process_group():
    t0 = time.time()
    leader = subprocess.Popen(["sh", "-c", "sleep 0.5; exit 6"], start_new_session=True)
    mine = subprocess.Popen(["sh", "-c", "sleep 0.2; exit 7"])
    time.sleep(0.1)
    os.waitid(os.P_PID, leader.pid, os.WEXITED | os.WNOWAIT)
    os.killpg(leader.pid, 0)  # the group of a child not waited for still exists
    os.killpg(leader.pid, signal.SIGTERM)
    pid, status = os.waitpid(-leader.pid, 0)
    assert pid == leader.pid and os.WEXITSTATUS(status) == 6
    with pytest.raises(ChildProcessError):
        os.waitid(os.P_PGID, leader.pid, os.WEXITED)
    info = os.waitid(os.P_PGID, 0, os.WEXITED)
    assert (info.si_pid, info.si_code, info.si_status) == (mine.pid, os.CLD_EXITED, 7)
    observed("group", [leader.pid, mine.pid], time.time() - t0)


def test_pidfd():
    t0 = time.time()
    p = subprocess.Popen(["sleep", "30"])
    fd = os.pidfd_open(p.pid)
    assert select.select([fd], [], [], 0)[0] == []
    signal.pidfd_send_signal(fd, signal.SIGKILL)
    info = os.waitid(os.P_PIDFD, fd, os.WEXITED)
    assert (info.si_pid, info.si_code, info.si_status) == (p.pid, os.CLD_KILLED, signal.SIGKILL)
    assert select.select([fd], [], [], 0)[0] == [fd]  # readable once it ended
    with pytest.raises(ProcessLookupError):
        signal.pidfd_send_signal(fd, 0)
    with pytest.raises(ChildProcessError):
        os.waitid(os.P_PIDFD, fd, os.WEXITED)
    with pytest.raises(ProcessLookupError):
        os.pidfd_open(p.pid)
    os.close(fd)

    q = subprocess.Popen(["sleep", "30"])
    fd = os.pidfd_open(q.pid, getattr(os, "PIDFD_NONBLOCK", os.O_NONBLOCK))
    with pytest.raises(BlockingIOError):
        os.waitid(os.P_PIDFD, fd, os.WEXITED)
    assert os.waitid(os.P_PIDFD, fd, os.WEXITED | os.WNOHANG) is None
    signal.pidfd_send_signal(fd, signal.SIGTERM)
    assert q.wait() == -signal.SIGTERM
    os.close(fd)
    observed("pidfd", [p.pid, q.pid], time.time() - t0)


def test_a_grandchild_is_not_the_tests_to_wait_for():
    t0 = time.time()
    sh = subprocess.Popen(["sh", "-c", "sleep 30 & echo $!; wait"], stdout=subprocess.PIPE)
    grandchild = int(sh.stdout.readline())
    with pytest.raises(ChildProcessError):
        os.waitpid(grandchild, os.WNOHANG)
    fd = os.pidfd_open(grandchild)
    signal.pidfd_send_signal(fd, signal.SIGTERM)
    os.close(fd)
    assert sh.wait() == 0
    sh.stdout.close()
    observed("grandchild", [sh.pid, grandchild], time.time() - t0)


def test_native_and_simulated_children_together():
    t0 = time.time()
    p = subprocess.Popen(["sleep", "2"])
    child = os.fork()
    if child == 0:
        os._exit(5)
    os.waitid(os.P_PID, child, os.WEXITED | os.WNOWAIT)  # it has ended
    pid, status = os.wait()
    assert (pid, os.WEXITSTATUS(status)) == (child, 5)
    pid, status = os.wait()
    assert (pid, status) == (p.pid, 0)
    with pytest.raises(ChildProcessError):
        os.wait()
    observed("mixed", [p.pid], time.time() - t0)


def test_a_thread_waits_while_the_test_sleeps():
    t0 = time.time()
    p = subprocess.Popen(["sh", "-c", "sleep 0.3; exit 9"])
    got = []
    waiter = threading.Thread(target=lambda: got.append(os.waitpid(p.pid, 0)))
    waiter.start()
    time.sleep(1)
    waiter.join(timeout=30)
    assert got == [(p.pid, 9 << 8)]
    observed("thread", [p.pid], time.time() - t0)


def test_no_child_at_all():
    with pytest.raises(ChildProcessError):
        os.wait()
    assert subprocess.run(["true"]).returncode == 0
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
    with pytest.raises(ChildProcessError):
        os.waitid(os.P_ALL, 0, os.WEXITED)
    with pytest.raises(OSError) as info:
        os.waitpid(-1, 0x100)  # not an option of wait4(2)
    assert info.value.errno == 22 and not isinstance(info.value, ChildProcessError)
"""

START = 946684800  # the host's default start time


def observations(observed, args) -> dict:
    seen = {name: (pids, elapsed, now)
            for name, pids, elapsed, now in observed(INNER, args, passed=8)}
    assert len(seen) == 7, seen
    return seen


def test_waits_natively(observed):
    seen = observations(observed, [])
    assert all(now > 1.6e9 for _, _, now in seen.values())
    assert seen["any"][1] >= 2.0


def test_waits_under_simproc_run_in_the_host(observed):
    seen = observations(observed, ["--simproc"])
    # to the 10 ms: a `sleep` a shell forks starts after its fork and exec, some
    # 0.6 ms each (README "The CPU model")
    assert {name: (pids, round(elapsed, 2)) for name, (pids, elapsed, _) in seen.items()} == {
        "any": ([1000, 1001], 2.0),
        "stop": ([1000], 0),
        "group": ([1000, 1001], 0.5),
        "pidfd": ([1000, 1001], 0),
        "grandchild": ([1000, 1001], 0),
        "mixed": ([1000], 2.0),
        "thread": ([1000], 1.0),
    }
    # each test has its own host, from the start
    assert START + 2.0 < seen["any"][2] < START + 2.01


# ---------------------------------------------------------------- hostile arguments
def _outcome(call):
    """What a call gave: its result (normalized) or its exception's type and errno."""
    try:
        result = call()
    except Exception as exc:  # noqa: BLE001 -- the comparison is the point
        return type(exc).__name__, getattr(exc, "errno", None)
    if isinstance(result, tuple) and len(result) == 3:  # wait3/wait4: drop the rusage
        result = result[:2]
    if result in ((0, 0), None):
        return "nothing to report"
    if isinstance(result, int) and not isinstance(result, bool):  # a new pidfd
        os.close(result)
        return "a pidfd"
    return "reported", result


INTS = (st.integers(-2**31, 2**31 - 1) | st.integers(2**31, 2**70) | st.integers(-2**70, -2**31)
        | st.sampled_from([0, os.WUNTRACED, os.WCONTINUED, os.WEXITED, os.WNOWAIT, 0x40000000,
                           0x80000000, 0x20000000, -1]))
# os.kill hands kill(2) the low 32 bits of its argument: 2**32 + 9 is SIGKILL
BAD_SIGNALS = st.integers(-2**70, 2**70).filter(lambda n: not 0 < n % 2**32 < 65)


@pytest.fixture
def children():
    """A native child and a host child of the test, both asleep, and a pidfd of each."""
    from pytest_simproc.dropin import DropinSession
    native = subprocess.Popen(["sleep", "1000"])
    try:
        with DropinSession() as session:
            simulated = subprocess.Popen(["sleep", "1000"])
            session.run_now()
            fds = os.pidfd_open(native.pid), os.pidfd_open(simulated.pid)
            yield native.pid, simulated.pid, fds
            for fd in fds:
                os.close(fd)
    finally:
        native.kill()
        native.wait()


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=st.sampled_from(["waitpid", "wait4", "waitid", "waitid pidfd", "kill",
                             "pidfd_send_signal", "pidfd_open"]),
       number=INTS | st.floats(allow_nan=False), bad_signal=BAD_SIGNALS)
def test_hostile_arguments_fail_as_natively(children, call, number, bad_signal):
    """The same call on a host child and on a native child gives the same result or
    the same exception and errno (WNOHANG is always added: no call may block)."""
    import signal as _signal
    from pytest_simproc.dropin import routing
    native, simulated, (native_fd, simulated_fd) = children
    options = number | os.WNOHANG if isinstance(number, int) else number
    calls = {
        "waitpid": (lambda pid, fd: os.waitpid(pid, options),
                    lambda pid, fd: routing._real_waitpid(pid, options)),
        "wait4": (lambda pid, fd: os.wait4(pid, options),
                  lambda pid, fd: routing._real_wait4(pid, options)),
        "waitid": (lambda pid, fd: os.waitid(os.P_PID, pid, options),
                   lambda pid, fd: routing._real_waitid(os.P_PID, pid, options)),
        "waitid pidfd": (lambda pid, fd: os.waitid(os.P_PIDFD, fd, options),
                         lambda pid, fd: routing._real_waitid(os.P_PIDFD, fd, options)),
        "kill": (lambda pid, fd: os.kill(pid, bad_signal),
                 lambda pid, fd: routing._real_kill(pid, bad_signal)),
        "pidfd_send_signal": (
            lambda pid, fd: _signal.pidfd_send_signal(fd, bad_signal),
            lambda pid, fd: routing._real_pidfd_send_signal(fd, bad_signal)),
        "pidfd_open": (lambda pid, fd: os.pidfd_open(pid, number),
                       lambda pid, fd: routing._real_pidfd_open(pid, number)),
    }
    in_host, real = calls[call]
    assert _outcome(lambda: in_host(simulated, simulated_fd)) == _outcome(
        lambda: real(native, native_fd))
