"""A thread of the test blocked in a native call is not paused for at every instant.

While a thread of the test lives, the host runs one instant at a time and the clock
moves on only once that thread is quiet (session.py's ``_await_quiet``): a real pause
of 0.5 ms or more, sampled on either side, at every instant. A test's server thread
that sits in a native ``accept()`` (started before the host existed) made a program
that ticks every 10 ms cost several milliseconds of wall time per tick. A thread found
quiet, and neither on a CPU nor runnable since, needs no new pause: whatever the host
did that woke it would have made it runnable. The inner suite is written as a real
suite is (a server thread, subprocess, socket; no simproc API): its program ticks, then
connects to the test's server thread and must get its answer within a second, which
under --simproc holds only if the thread's wake-up is still seen at the instant the
program connected.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

from pytest_simproc.dropin import DropinSession

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

CLIENT = '''
import os, socket, sys, time
for _ in range(100):
    time.sleep(0.01)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1)
s.sendall(b"hello")
print(os.getpid(), s.recv(100).decode(), time.time(), flush=True)
'''


def test_a_program_talks_to_the_tests_server_thread():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    seen = []

    def serve():
        conn, _ = listener.accept()  # in accept() before any program starts
        with conn:
            data = conn.recv(100)
            seen.append(time.time())
            conn.sendall(data.upper())

    server = threading.Thread(target=serve)
    server.start()
    time.sleep(0.2)
    out = subprocess.run([sys.executable, "-c", CLIENT, str(listener.getsockname()[1])],
                         capture_output=True, text=True, check=True).stdout
    server.join()
    listener.close()
    pid, answer, when = out.split()
    assert answer == "HELLO"
    print("OBSERVED", json.dumps([int(pid), float(when), seen[0]]))
"""


def _run(observed, *args):
    return observed(INNER, list(args), 1, timeout=300)[0]


def test_the_suite_passes_natively(observed):
    _, when, served = _run(observed)
    assert when > HOST_EPOCH + 20 * 365 * 86400 and served > HOST_EPOCH + 20 * 365 * 86400


def test_under_simproc_the_program_is_the_hosts_and_the_server_thread_in_time(observed):
    pid, when, served = _run(observed, "--simproc")
    assert 1000 <= pid < 1100
    # the program's 100 ticks of 10 ms, its start-up; the thread answered in that instant
    assert HOST_EPOCH + 1 < when < HOST_EPOCH + 2
    assert served <= when


def test_a_thread_in_a_native_accept_costs_no_pause_per_instant():
    """The pauses _await_quiet takes while a program ticks 200 times and a thread of the
    test sits in a native accept(): a few to find it quiet, not one per tick."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        accepted = []
        server = threading.Thread(target=lambda: accepted.append(listener.accept()))
        server.start()
        with DropinSession() as session:
            pauses = []
            real_wait = session._cond.wait

            def counted(timeout=None):
                pauses.append(timeout)
                return real_wait(timeout)

            session._cond.wait = counted
            ticker = subprocess.Popen([sys.executable, "-c",
                                       "import time\nfor _ in range(200): time.sleep(0.01)"])
            assert ticker.wait() == 0
            socket.create_connection(listener.getsockname()).close()
            server.join()
        accepted[0][0].close()
    assert time.time() > HOST_EPOCH + 20 * 365 * 86400  # the session is over
    # a thread is new, and paused for, for its first 20 ms of real time in the session
    # (_SETTLE): up to 40 pauses of 0.5 ms on a fast machine, fewer under load; then
    # none, where every one of the 200 ticks took one or two before
    assert 0 < len(pauses) < 60, len(pauses)
