"""Popen.poll() sees a program alive with its output in the pipe before its end.

circus's kill command signals a worker, then polls it every 0.1 s while its event loop
reads the worker's stdout; once poll() says the worker ended it drops the stream. In a
host a program's work costs no virtual time, so the poll right after the signal ran
the worker through its handler's print and its exit at one instant: poll() said it
ended before the loop had seen "SIGINT" (test_exits_within_graceful_timeout failed
under --simproc). Natively the poll comes long before the exit. The inner test is
written that way, with no simproc API; the outer test checks that under --simproc it
ran in the host.
"""
from __future__ import annotations


pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import json
import os
import selectors
import signal
import subprocess
import sys
import time

WORKER = '''
import fcntl, os, select, signal, struct, sys, termios
def stop(*_):
    os.write(1, b"SIGTERM\\n")
    os.write(1, b"STOPPED\\n")
    # natively it ends once its reader has them (FIONREAD of its pipe: pipe(7)), so
    # the test's loop sees them whatever the machine's load; its zero-timeout selects
    # cost no virtual time, so in a host the print and the end are one instant
    while struct.unpack("i", fcntl.ioctl(1, termios.FIONREAD, bytes(4)))[0]:
        select.select([], [], [], 0)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
os.write(1, b"STARTED\\n")
while True:
    signal.pause()
'''


class Stream:
    # a worker's stdout, read only while the worker lives (circus's redirector)

    def __init__(self, p):
        self.p, self.fd, self.seen = p, p.stdout.fileno(), b""
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.fd, selectors.EVENT_READ)

    def pump(self, timeout):
        for _ in self.sel.select(timeout):
            self.seen += os.read(self.fd, 1024)

    def until_ended(self):
        while self.p.poll() is None:  # a stream is read only while its process lives
            self.pump(0.1)
        self.sel.close()
        self.p.stdout.close()
        assert self.seen == b"STARTED\nSIGTERM\nSTOPPED\n", self.seen
        assert self.p.returncode == 0


def test_a_killed_workers_last_words_are_read_before_its_end():
    p = subprocess.Popen([sys.executable, "-c", WORKER], stdout=subprocess.PIPE)
    stream = Stream(p)
    while b"STARTED\n" not in stream.seen:
        stream.pump(0.1)
    p.send_signal(signal.SIGTERM)
    stream.until_ended()
    print("OBSERVED", json.dumps([p.pid, time.time()]))


def test_a_worker_killed_by_pid_after_reads_of_the_clock_is_read_before_its_end():
    # as circus's watcher: a deadline loop on time.time(), os.kill by pid (psutil's
    # send_signal), the time of the kill noted, then a poll every 0.1 s while the
    # loop reads the stream
    p = subprocess.Popen([sys.executable, "-c", WORKER], stdout=subprocess.PIPE)
    stream = Stream(p)
    start = time.time()
    while b"STARTED\n" not in stream.seen and time.time() - start < 30:
        stream.pump(0.1)
    for _ in range(20):  # an event loop's turns, each reading its clock
        time.monotonic()
    os.kill(p.pid, signal.SIGTERM)
    killed_at = time.time()
    stream.until_ended()
    print("OBSERVED", json.dumps([p.pid, killed_at]))
"""


def _run(observed, *args):
    return observed(INNER, list(args), 2, timeout=300)


def test_the_suite_passes_natively(observed):
    for _, when in _run(observed):
        assert when > HOST_EPOCH + 20 * 365 * 86400


def test_under_simproc_the_poll_comes_before_the_end(observed):
    for pid, when in _run(observed, "--simproc"):
        assert 1000 <= pid < 1100
        assert HOST_EPOCH <= when < HOST_EPOCH + 60
