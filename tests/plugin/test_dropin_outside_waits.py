"""A timed wait of the test before its host exists moves the test's clock on, and
the machinery never calls ``threading.get_ident``, which a suite may replace.

Before the first program, the test's ``Event.wait(t)`` (``Condition.wait``) is a real
wait, while the test's clock is already the host's: it stood still meanwhile. A loop
that waits for what is left of a deadline taken from its clock (pebble's
``waitforthreads``, ``Queue.get``-style code of the suite's own) then never reached
its deadline and waited until the event came, however late. The inner test is written
that way, with no simproc API: a thread sets the event long after the deadline; the
test then starts a program, which under --simproc is the host's.

pebble's ``waitforthreads`` also replaces ``threading.get_ident`` with a function that sets
an Event (threading calls it as a thread ends) and waits on that Event until its
timeout. Under --simproc each clock read, sleep or wait of the test asked
``threading.current_thread()``/``get_ident()`` and set the Event: the wait woke at
once, again and again, and spun on the test's clock until the thread had ended
(pebble's test_waitforthreads_timeout failed). The second inner test
is written that way.
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
    observe_a_program()


def observe_a_program():
    out = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                         capture_output=True, text=True, check=True).stdout
    print("OBSERVED", json.dumps([int(out), time.time()]))


def test_a_get_ident_hook_hears_no_call_while_nothing_starts_or_ends():
    sleeper = threading.Thread(target=time.sleep, args=(5,), daemon=True)
    sleeper.start()
    heard = threading.Event()
    real = threading.get_ident

    def hooked():
        heard.set()
        return real()

    threading.get_ident = hooked
    try:
        start = time.monotonic()
        time.time()
        time.sleep(0.05)
        woke = heard.wait(0.05)
        took = time.monotonic() - start
    finally:
        threading.get_ident = real
    assert not woke
    assert sleeper.is_alive()
    assert took >= 0.1
    observe_a_program()
"""


def _run(observed, *args):
    return observed(INNER, list(args), 2, timeout=300)


def test_the_suite_passes_natively(observed):
    assert all(when > HOST_EPOCH + 20 * 365 * 86400 for _, when in _run(observed))


def test_under_simproc_the_waits_end_as_natively_and_the_programs_are_the_hosts(observed):
    seen = _run(observed, "--simproc")
    assert all(1000 <= pid < 1100 for pid, _ in seen), seen
    assert all(HOST_EPOCH <= when < HOST_EPOCH + 3600 for _, when in seen), seen
