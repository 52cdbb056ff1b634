"""A zmq poll of the test runs its host, as circus's stats client's does.

circus's TestStatsClient starts its arbiter with a stats streamer (a program of the
host, publishing over zmq) and reads ten stats through ``zmq.Poller().poll(timeout)``
in the test's thread: libzmq's zmq_poll waits in C, in real time, and under --simproc
the host never ran meanwhile, so nothing was ever published. The inner suite does the
same with a publisher of its own; pyzmq is needed (it is not a dependency of the
package: the test is skipped without it).
"""
from __future__ import annotations

import sys

import pytest

pytest_plugins = ["pytester"]

zmq = pytest.importorskip("zmq")

START = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import json
import socket
import subprocess
import sys
import time

import zmq

PUBLISHER = '''
import sys, time, zmq
pub = zmq.Context().socket(zmq.PUB)
pub.bind("tcp://127.0.0.1:" + sys.argv[1])
print("ready", flush=True)
n = 0
while True:
    pub.send(b"stat.%d" % n)
    n += 1
    time.sleep(0.5)
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_stats_from_a_publisher():
    port = free_port()
    daemon = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(port)],
                              stdout=subprocess.PIPE)
    assert daemon.stdout.readline() == b"ready\n"
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"stat.")
    sub.connect("tcp://127.0.0.1:%d" % port)
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    got, empty_polls = [], 0
    try:
        while len(got) < 3 and empty_polls < 3:
            events = dict(poller.poll(1000))
            if sub in events:
                got.append(sub.recv())
            else:
                empty_polls += 1
    finally:
        daemon.kill()
        daemon.wait()
        sub.close(linger=0)
    assert len(got) == 3, got
    print("OBSERVED", json.dumps(["stats", [daemon.pid], time.time()]))
"""


def test_natively(observed):
    (seen,) = observed(INNER, (), passed=1)
    assert seen[2] > START + 20 * 365 * 86400


def test_under_simproc_the_poll_runs_the_host(observed):
    (seen,) = observed(INNER, ("--simproc",), passed=1)
    _, (pid,), now = seen
    assert 1000 <= pid < 1100   # the publisher ran in the host
    assert START <= now < START + 60, seen   # on the virtual clock
