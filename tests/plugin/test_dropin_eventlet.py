"""Drop-in mode: eventlet's hub waits in the host's time (execnet's eventlet tests).

eventlet's hubs sleep and poll through copies of ``time`` and ``select`` that it
imports again (``patcher.original``), while their clock is ``time.monotonic``: the
copies must wait on the clock the test reads, the virtual one under ``--simproc``
(dropin/modcopies.py). The inner suite is written as an eventlet user writes it: a
green sleep, an ``Event.wait`` that times out and a ``GreenPool`` of sleepers, each
beside a program the test started, in one suite that imports eventlet at the top
(before any test, as execnet's conftest does) and one that imports it in its tests
(after the session's fakes are in place). Each passes natively and under ``--simproc``; under ``--simproc``
the programs ran in the host (pids from 1000) and every wait took its virtual length.
Before the fix each test hung under ``--simproc`` (the hub's timers never came due).
eventlet is in the test extra, not a dependency of pytest-simproc: without it these
tests skip.
"""
from __future__ import annotations

import importlib.util

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("eventlet") is None,
                                reason="eventlet is not installed")

pytest_plugins = ["pytester"]

TESTS = r'''
def test_{where}_green_sleep_beside_a_program():
    {imports}
    proc = subprocess.Popen(["sh", "-c", "sleep 1; echo $$"], stdout=subprocess.PIPE)
    t0 = time.monotonic()
    eventlet.sleep(0.5)
    slept = time.monotonic() - t0
    out, _ = proc.communicate(timeout=30)
    observed("{where} sleep", [int(out)], slept)


def test_{where}_event_wait_times_out():
    {imports}
    proc = subprocess.Popen(["sleep", "30"])
    t0 = time.monotonic()
    assert eventlet.event.Event().wait(timeout=1.0) is None
    waited = time.monotonic() - t0
    proc.kill()
    assert proc.wait() == -9
    observed("{where} event", [proc.pid], waited)


def test_{where}_pool_of_sleepers():
    {imports}
    proc = subprocess.Popen(["sleep", "30"])
    done = eventlet.queue.Queue()
    pool = eventlet.GreenPool()
    t0 = time.monotonic()
    for i in range(4):
        pool.spawn(lambda i=i: (eventlet.sleep(0.1 * (i + 1)), done.put(i)))
    pool.waitall()
    assert [done.get() for _ in range(4)] == [0, 1, 2, 3]
    elapsed = time.monotonic() - t0
    proc.kill()
    proc.wait()
    observed("{where} pool", [proc.pid], elapsed)


def test_{where}_green_popen_communicates():
    {imports}
    t0 = time.monotonic()
    proc = green.Popen(["sh", "-c", "sleep 1; echo $$"], stdout=green.PIPE)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    observed("{where} green communicate", [int(out)], time.monotonic() - t0)


def test_{where}_green_popen_read_then_wait():
    {imports}
    t0 = time.monotonic()
    proc = green.Popen(["sh", "-c", "echo $$; sleep 1; echo done"], stdout=green.PIPE)
    first = proc.stdout.readline()
    rest = proc.stdout.read()
    assert proc.wait() == 0 and rest == b"done\n"
    observed("{where} green read", [int(first)], time.monotonic() - t0)
'''
HEAD = """
import subprocess
import time

from dropin_helpers import observed
"""
IMPORTS = ("import eventlet, eventlet.event, eventlet.queue; "
           "from eventlet.green import subprocess as green")

INNER = {"top": HEAD + IMPORTS + "\n" + TESTS.format(where="top", imports=""),
         "lazy": HEAD + TESTS.format(where="lazy", imports=IMPORTS)}


@pytest.mark.parametrize("where", INNER)
def test_eventlet_natively(observe, where):
    seen = observe(INNER[where], [], passed=5)
    assert all(now > 1.6e9 and 1000 not in pids for pids, _, now in seen.values())
    assert seen[f"{where} sleep"][1][0] >= 0.5 and seen[f"{where} event"][1][0] >= 1.0
    assert seen[f"{where} green read"][1][0] >= 1.0


@pytest.mark.parametrize("where", INNER)
def test_eventlet_under_simproc_waits_in_the_hosts_time(observe, virtual, where):
    seen = observe(INNER[where], ["--simproc"], passed=5)
    assert virtual(seen) == {
        f"{where} sleep": ([1000], [0.5]),
        f"{where} event": ([1000], [1.0]),
        f"{where} pool": ([1000], [0.4]),
        f"{where} green communicate": ([1000], [1.0]),
        f"{where} green read": ([1000], [1.0]),
    }
