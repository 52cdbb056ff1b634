"""Drop-in mode: a program that a fixture wider than the test holds lives on into the
next tests, as natively.

execnet's suite keeps its gateways (python processes it talks to over their stdin and
stdout, a receiver thread reading their replies) in a session-scoped group, made by the
first test that needs one and used by every later test. The host of the test that
started them must therefore not be closed (killing them) at that test's end: the inner
suite below is written that way (Popen with pipes, a reader thread, a queue; no simproc
API), with a module-scoped fixture whose program the tests of one module share, and a
second module whose test must get a fresh host of its own once that fixture is gone.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

SHARED = r"""
import json
import os
import queue
import subprocess
import threading
import time

import pytest


class Echo:
    # a long-lived program and a thread that receives its lines, as execnet's gateways
    def __init__(self):
        self.proc = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._receive, daemon=True)
        self.reader.start()

    def _receive(self):
        data = b""
        while True:
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                self.lines.put(None)
                return
            data += chunk
            while b"\n" in data:
                line, data = data.split(b"\n", 1)
                self.lines.put(line.decode())

    def ask(self, text):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()
        return self.lines.get(timeout=30)


@pytest.fixture(scope="module")
def gateways():
    group = {}
    yield group
    for echo in group.values():
        echo.proc.stdin.close()  # cat ends at end of file
        assert echo.proc.wait(timeout=30) == 0
        assert echo.lines.get(timeout=30) is None


@pytest.fixture
def echo(gateways):
    if "cat" not in gateways:  # made by the first test that asks
        gateways["cat"] = Echo()
    return gateways["cat"]


@pytest.mark.parametrize("n", range(3))
def test_talks_to_the_module_wide_program(echo, n):
    assert echo.ask(f"line {n}") == f"line {n}"
    time.sleep(2)
    print("OBSERVED", json.dumps([f"echo {n}", echo.proc.pid, time.time()]), flush=True)


def test_starts_nothing():
    print("OBSERVED", json.dumps(["nothing", os.getpid(), time.time()]), flush=True)
"""

AFTER = r"""
import json
import subprocess
import time


def test_a_later_module_spawns():
    p = subprocess.Popen(["true"])
    assert p.wait() == 0
    print("OBSERVED", json.dumps(["later", p.pid, time.time()]), flush=True)
"""


def _run(observed, *args) -> dict:
    seen = {name: (pid, when) for name, pid, when in observed(
        {"test_a_shared": SHARED, "test_b_after": AFTER}, args, passed=5, timeout=300)}
    assert len(seen) == 5, seen
    return seen


def test_natively_the_tests_share_one_program(observed):
    seen = _run(observed)
    assert seen["echo 0"][0] == seen["echo 1"][0] == seen["echo 2"][0]


def test_under_simproc_the_program_lives_on_in_its_host(observed):
    seen = _run(observed, "--simproc")
    pids = {seen[f"echo {n}"][0] for n in range(3)}
    assert pids == {1000}  # one program of the first test's host, for all three
    # one host and its clock across the module: each test's sleep is virtual
    times = [seen[f"echo {n}"][1] - HOST_EPOCH for n in range(3)]
    assert times == sorted(times) and times[2] - times[0] >= 4 and times[2] < 3600
    assert HOST_EPOCH <= seen["nothing"][1] < HOST_EPOCH + 3600
    # the module's fixture is gone (and its program ended): a fresh host
    assert seen["later"][0] == 1000
    assert HOST_EPOCH <= seen["later"][1] < HOST_EPOCH + 1
