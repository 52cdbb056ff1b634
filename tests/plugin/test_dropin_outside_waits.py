"""A timed wait of the test before its host exists moves the test's clock on.

Before the first program, the test's ``Event.wait(t)`` (``Condition.wait``) is a real
wait, while the test's clock is already the host's: it stood still meanwhile. A loop
that waits for what is left of a deadline taken from its clock (pebble's
``waitforthreads``, ``Queue.get``-style code of the suite's own) then never reached
its deadline and waited until the event came, however late. The inner test is written
that way, with no simproc API: a thread sets the event long after the deadline; the
test then starts a program, which under --simproc is the host's.
"""
from __future__ import annotations


pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import json
import subprocess
import sys
import threading
import time


def wait_until(event, deadline):
    while not event.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        event.wait(left)
    return True


def test_a_deadline_loop_gives_up_at_its_deadline():
    late = threading.Event()
    setter = threading.Timer(10, late.set)
    setter.start()
    try:
        came = wait_until(late, time.monotonic() + 0.3)
    finally:
        setter.cancel()
    assert not came
    out = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                         capture_output=True, text=True, check=True).stdout
    print("OBSERVED", json.dumps([int(out), time.time()]))
"""


def _run(observed, *args):
    return observed(INNER, list(args), 1, timeout=300)[0]


def test_the_suite_passes_natively(observed):
    _, when = _run(observed)
    assert when > HOST_EPOCH + 20 * 365 * 86400


def test_under_simproc_the_deadline_passes_and_the_program_is_the_hosts(observed):
    pid, when = _run(observed, "--simproc")
    assert 1000 <= pid < 1100, pid
    assert HOST_EPOCH <= when < HOST_EPOCH + 3600, when
