"""Drop-in mode: the test's own threads are the outside of its host (issue 13).

Libraries such as ``sh`` fork the test process (from a process with threads), feed the
child's stdin from one thread, poll its output from another and ``waitpid(WNOHANG)``
from a third, while the test's thread waits in ``waitpid(pid, 0)``. Natively those
threads act in real time while the child runs. In a host the waiting thread runs the
programs; the inner suite below checks that the other threads still act while they do:
a wait that only a thread can end waits for it (instead of running the host to its
stop_time), a reader thread reacts to a line before the program's next sleep ends, and
a feeding thread's ``time.sleep`` between two lines is the program's time too.
It is written as such a suite is (os.fork, os.pipe, select.poll, threading; no simproc
API) and passes natively and under ``--simproc``.
"""
from __future__ import annotations

import os
import subprocess

import pytest

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import errno
import json
import os
import pty
import select
import signal
import sys
import threading
import time
import tty


def observed(name, pid, when):
    print("OBSERVED", json.dumps([name, int(pid), float(when)]), flush=True)


def spawn(argv, tty_out=False):
    # as sh does: a pipe for stdin, a pipe or a raw pty for stdout, os.fork from a
    # process with threads
    in_r, in_w = os.pipe()
    out_r, out_w = pty.openpty() if tty_out else os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(in_r, 0)
        os.dup2(out_w, 1)
        if tty_out:
            tty.setraw(1)
        for fd in (in_r, in_w, out_r, out_w):
            os.close(fd)
        os.execvp(argv[0], argv)
    os.close(in_r)
    os.close(out_w)
    return pid, in_w, out_r


def read_lines(fd, lines, on_line=None):
    # a reader thread: poll with a timeout, then read, until end of file
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    buffered = b""
    while True:
        if not poller.poll(100):
            continue
        try:
            chunk = os.read(fd, 1024)
        except OSError as exc:  # a pty's master once its slave is closed
            if exc.errno != errno.EIO:
                raise
            chunk = b""
        if not chunk:
            return
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            lines.append(line.decode())
            if on_line is not None:
                on_line(line.decode())


def test_a_thread_feeds_stdin_while_the_test_waits():
    pid, in_w, out_r = spawn(["sh", "-c", "read line; echo $$ $(date +%s) $line"],
                             tty_out=True)
    lines = []
    reader = threading.Thread(target=read_lines, args=(out_r, lines))
    reader.start()

    def feed():
        time.sleep(0.05)  # another thread's sleep is real
        os.write(in_w, b"fed\n")
        os.close(in_w)

    feeder = threading.Thread(target=feed)
    feeder.start()
    got, status = os.waitpid(pid, 0)  # only the feeder can end it
    feeder.join()
    reader.join()
    os.close(out_r)
    assert got == pid and os.waitstatus_to_exitcode(status) == 0
    shell_pid, when, word = lines[0].split()
    assert int(shell_pid) == pid and word == "fed"
    observed("fed", shell_pid, when)


def test_a_reader_thread_stops_the_program_between_two_lines():
    script = "for i in 1 2 3 4 5; do echo $i $$ $(date +%s); sleep 0.3; done"
    pid, in_w, out_r = spawn(["sh", "-c", script])
    os.close(in_w)
    lines = []

    def on_line(line):
        if line.split()[0] == "3":
            os.kill(pid, signal.SIGTERM)

    reader = threading.Thread(target=read_lines, args=(out_r, lines, on_line))
    reader.start()
    got, status = os.waitpid(pid, 0)
    reader.join()
    os.close(out_r)
    assert got == pid and os.WIFSIGNALED(status)
    assert os.WTERMSIG(status) == signal.SIGTERM
    assert [line.split()[0] for line in lines] == ["1", "2", "3"]
    _, shell_pid, when = lines[0].split()
    assert int(shell_pid) == pid
    observed("stopped", shell_pid, when)


TIMED_READS = "\n".join([
    "import os, sys, time",
    "sys.stdin.readline()",
    "t0 = time.time()",
    "sys.stdin.readline()",
    "print(os.getpid(), t0, time.time() - t0)",
])


def test_a_feeder_threads_sleep_is_the_programs_time():
    # sh's generator stdin: a line, a pause of the feeding thread, another line
    pid, in_w, out_r = spawn([sys.executable, "-c", TIMED_READS])

    def feed():
        time.sleep(1)  # the program has started meanwhile
        os.write(in_w, b"one\n")
        time.sleep(1)
        os.write(in_w, b"two\n")
        os.close(in_w)

    feeder = threading.Thread(target=feed)
    feeder.start()
    got, status = os.waitpid(pid, 0)
    feeder.join()
    program_pid, when, waited = os.read(out_r, 1000).split()
    os.close(out_r)
    assert got == pid and os.waitstatus_to_exitcode(status) == 0
    assert int(program_pid) == pid
    assert 0.9 <= float(waited) < 10
    observed("slept", program_pid, when)


def test_a_thread_forks_and_reads_its_child():
    # sh run from a thread: the thread forks and reads the child's pipe, while the
    # test's thread sits in join()
    result = []

    def work():
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            time.sleep(0.2)
            os.write(w, b"%d %f" % (os.getpid(), time.time()))
            os._exit(0)
        os.close(w)
        data = os.read(r, 100)  # natively it waits for the child
        os.close(r)
        result.append((pid, data, os.waitpid(pid, 0)[1]))

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    pid, data, status = result[0]
    child_pid, when = data.split()
    assert int(child_pid) == pid and os.waitstatus_to_exitcode(status) == 0
    observed("thread fork", child_pid, when)
"""

NAMES = {"fed", "stopped", "slept", "thread fork"}


def _run(observed, *args) -> dict:
    seen = {name: (pid, when)
            for name, pid, when in observed(INNER, args, passed=4, timeout=180)}
    assert set(seen) == NAMES
    return seen


def test_the_suite_passes_natively(observed):
    for name, (_, when) in _run(observed).items():
        assert when > HOST_EPOCH + 20 * 365 * 86400, name  # the machine's clock


def test_under_simproc_the_threads_act_while_the_host_runs(observed):
    for name, (pid, when) in _run(observed, "--simproc").items():
        assert 1000 <= pid < 1100, (name, pid)
        assert HOST_EPOCH <= when < HOST_EPOCH + 3600, (name, when)


def test_wnohang_after_stop_time_says_still_running():
    """A child the host's stop_time shut down still runs as far as the test can know:
    waitpid(WNOHANG) says so (0, 0), from any thread; only a wait that blocks says
    natively it would never return."""
    from pytest_simproc.dropin import DropinSession
    from pytest_simproc.errors import SimprocError
    with DropinSession({"stop_time": 5}) as session:
        p = subprocess.Popen(["sleep", "100"])
        session.sleep(10)  # past stop_time: the host shut sleep down
        assert p.simprocess.state == "zombie"   # the test's, which has not waited
        assert os.waitpid(p.pid, os.WNOHANG) == (0, 0)
        with pytest.raises(SimprocError, match="natively this wait would never return"):
            os.waitpid(p.pid, 0)


LEFT_THREAD = r"""
import json
import subprocess
import threading
import time

import pytest


def test_a_helper_thread_outlives_its_test():
    threading.Thread(target=time.sleep, args=(30,), daemon=True).start()


@pytest.mark.simproc(stop_time=1)
def test_a_sleep_past_the_stop_time():
    p = subprocess.Popen(["sleep", "100"])
    time.sleep(1.5)
    print("OBSERVED", json.dumps([p.pid, time.time()]), flush=True)
    p.kill()
    p.wait()
"""


@pytest.mark.parametrize("flag", [[], ["--simproc"]], ids=["native", "simproc"])
def test_a_thread_left_from_an_earlier_test_does_not_hold_a_sleep_past_stop_time(
        observed, flag):
    """A daemon thread of an earlier test still sleeps (in real time: it started
    before this test's host) while this test's sleep runs past its host's stop_time:
    the sleep ends at the stop_time instead of waiting forever for a clock that
    cannot move further."""
    ((pid, when),) = observed(LEFT_THREAD, flag, passed=2)
    if flag:
        assert pid == 1000
        assert when == pytest.approx(HOST_EPOCH + 1, abs=0.01)  # ended at its stop_time
    else:
        assert when > HOST_EPOCH + 20 * 365 * 86400
