"""Drop-in mode: what event loops other than asyncio's do with a program's pipes.

trio and anyio's trio backend make the pipes themselves (``os.pipe``, the test's end
non-blocking), hand the program its end as ``Popen(stdout=fd)``, and wait for readiness
in their own epoll with ``EPOLLONESHOT``. The inner suite does the same with plain
``os`` and ``select``: a read of a non-blocking end that is empty fails with EAGAIN at
once (it must not run the host until the program writes: the loop's other task may be
the one that feeds the program), and a one-shot registration reports the program's
output once, which is the answer the wait must return. It passes natively and under
``--simproc``; under ``--simproc`` the pids are the host's.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = r'''
import os
import select
import subprocess
import sys

from dropin_helpers import observed

ECHO_STDIN = [sys.executable, "-c",
              "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"]


def test_a_non_blocking_read_of_an_empty_pipe_fails_at_once():
    to_child, child_in = os.pipe()
    child_out, from_child = os.pipe()
    p = subprocess.Popen(ECHO_STDIN, stdin=to_child, stdout=from_child)
    os.close(to_child)
    os.close(from_child)
    os.set_blocking(child_out, False)
    try:
        os.read(child_out, 100)  # the program waits for its input: nothing yet
    except BlockingIOError:
        pass
    else:
        raise AssertionError("read of an empty non-blocking pipe returned")
    os.write(child_in, b"fed after the read\n")
    os.close(child_in)
    select.select([child_out], [], [], 30)
    assert os.read(child_out, 100) == b"fed after the read\n"
    assert p.wait() == 0
    os.close(child_out)
    observed("non-blocking", [p.pid])


def test_a_one_shot_epoll_registration_reports_the_output():
    child_out, from_child = os.pipe()
    p = subprocess.Popen([sys.executable, "-c", "import os; os.write(1, b'hello')"],
                         stdout=from_child)
    os.close(from_child)
    os.set_blocking(child_out, False)
    with select.epoll() as ep:
        ep.register(child_out, select.EPOLLIN | select.EPOLLONESHOT)
        [(fd, events)] = ep.poll(30)  # EPOLLHUP too if the program ended already
        assert fd == child_out and events & select.EPOLLIN
    assert os.read(child_out, 100) == b"hello"
    assert p.wait() == 0
    os.close(child_out)
    observed("oneshot", [p.pid])


def test_a_closed_pidfd_leaves_no_descriptor_behind():
    before = sorted(os.listdir("/dev/fd"))
    p = subprocess.Popen(["sleep", "1"])
    pidfd = os.pidfd_open(p.pid)
    assert select.select([pidfd], [], [], 30) == ([pidfd], [], [])
    assert p.wait() == 0
    os.close(pidfd)
    assert sorted(os.listdir("/dev/fd")) == before
    observed("pidfd", [p.pid])


def test_a_closed_descriptor_reads_as_ebadf():
    p = subprocess.Popen(["true"])
    try:
        os.read(-1, 1)
    except OSError as exc:
        assert exc.errno == 9
    else:
        raise AssertionError("read of -1 returned")
    assert p.wait() == 0
    observed("ebadf", [p.pid])
'''


def test_event_loop_pipes_natively(observe):
    seen = observe(INNER, [], passed=4)
    assert all(1000 not in pids for pids, _, _ in seen.values())


def test_event_loop_pipes_under_simproc(observe):
    seen = observe(INNER, ["--simproc"], passed=4)
    assert {name: pids for name, (pids, _, _) in seen.items()} == {
        "non-blocking": [1000], "oneshot": [1000], "pidfd": [1000], "ebadf": [1000]}
