"""The machinery never calls ``threading.get_ident``, which a suite may replace.

pebble's ``waitforthreads`` replaces ``threading.get_ident`` with a function that sets
an Event (threading calls it as a thread ends) and waits on that Event until its
timeout. Under --simproc each clock read, sleep or wait of the test asked
``threading.current_thread()``/``get_ident()`` and set the Event: the wait woke at
once, again and again, and spun on the test's clock until the thread had ended
(pebble's test_waitforthreads_timeout failed). The inner test is written that way,
with no simproc API; it then starts a program, which under --simproc is the host's.
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
    out = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                         capture_output=True, text=True, check=True).stdout
    print("OBSERVED", json.dumps([int(out), time.time()]))
"""


def _run(observed, *args):
    return observed(INNER, list(args), 1, timeout=300)[0]


def test_the_suite_passes_natively(observed):
    _, when = _run(observed)
    assert when > HOST_EPOCH + 20 * 365 * 86400


def test_under_simproc_no_call_is_heard_and_the_program_is_the_hosts(observed):
    pid, when = _run(observed, "--simproc")
    assert 1000 <= pid < 1100, pid
    assert HOST_EPOCH <= when < HOST_EPOCH + 3600, when
