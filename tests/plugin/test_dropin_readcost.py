"""Drop-in mode: the test's clock is never frozen between two of its reads.

On a machine the test's code takes time, so a clock read after another is later, and
one read after ``sleep(s)`` is past the read before it plus ``s``. Supervisor's unit
tests, which start no process, rely on it (``now > laststart`` for "exited too
quickly", ``now > laststopreport + 2`` after ``time.sleep(2)``); a frozen clock failed
four of them under ``--simproc``. Each read costs a microsecond of virtual time, which
the host's clock catches up with before its programs run or take the test's signals,
so they never see a time before one the test saw. The inner suite is written as real
suites are (no simproc API) and passes natively and under ``--simproc``.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

START = 946684800  # the host's default start time

INNER = '''
import datetime
import os
import signal
import subprocess
import sys
import time

from dropin_helpers import observed


def work():
    """Some code between two reads (natively two reads in a row can agree)."""
    return sum(range(2000))


def test_two_reads_of_the_clock_differ():
    for clock in (time.time, time.monotonic, time.perf_counter, time.time_ns,
                  datetime.datetime.now):
        started = clock()
        work()
        assert clock() > started, clock
    observed("reads", [])


def test_a_sleep_lasts_its_length_and_more():
    last = time.time()
    time.sleep(0.2)
    assert time.time() > last + 0.2
    t0 = time.monotonic()
    time.sleep(0.2)
    elapsed = time.monotonic() - t0
    assert elapsed > 0.2
    observed("sleep", [], elapsed)


def test_a_program_never_sees_a_time_before_the_test_saw():
    for _ in range(2000):
        before = time.time()
    p = subprocess.Popen(["date", "+%s.%N"], stdout=subprocess.PIPE)
    out, _ = p.communicate()
    assert float(out) >= before
    observed("program", [p.pid])


def test_a_forked_child_never_sees_a_time_before_its_parent_saw():
    subprocess.run(["true"], check=True)
    for _ in range(2000):
        before = time.time()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(w, repr(time.time()).encode())
        os._exit(0)
    os.close(w)
    seen = float(os.read(r, 100))
    os.close(r)
    assert os.waitpid(pid, 0)[1] == 0
    assert seen >= before
    observed("fork", [pid])


HANDLER = """
import signal, sys, time
def got(*_):
    print(repr(time.time()), flush=True)
    sys.exit(0)
signal.signal(signal.SIGUSR1, got)
print("ready", flush=True)
while True:
    signal.pause()
"""


def test_a_signalled_program_never_sees_a_time_before_the_test_sent_it():
    p = subprocess.Popen([sys.executable, "-c", HANDLER], stdout=subprocess.PIPE)
    assert p.stdout.readline() == b"ready\\n"
    for _ in range(2000):
        sent = time.time()
    os.kill(p.pid, signal.SIGUSR1)
    handled = float(p.stdout.readline())
    assert p.wait() == 0
    p.stdout.close()
    assert handled >= sent
    observed("signal", [p.pid])
'''


@pytest.mark.parametrize("args", [["--simproc"], []], ids=["simproc", "native"])
def test_the_tests_clock_moves_between_its_reads(observe, args):
    seen = observe(INNER, args, passed=5)
    if not args:
        assert all(now > 1.6e9 for _, _, now in seen.values())
        return
    # in the host: virtual time, and the program's pid is the host's
    assert all(START <= now < START + 60 for _, _, now in seen.values())
    assert seen["sleep"][1] == [0.2] and seen["program"][0] == [1000]
    assert seen["fork"][0] == [1001]  # after true's 1000
    assert seen["signal"][0] == [1000]
