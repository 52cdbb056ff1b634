"""An event loop waits for a thread of the test that wakes before the loop's timer.

Before the test's host exists, the test's threads sleep in real time while its event
loop's clock is virtual. tornado's ioloop and gen tests start a thread that sleeps
10 ms and then hands the loop a callback (``add_callback``, an executor job under
``with_timeout``) while the loop has a 5 s limit: the loop saw nothing ready and
moved its clock to the limit, and both tests timed out. The loop now reads when each
thread's timed wait ends (``/proc/self/task/TID/syscall``, the deadline in its
memory) and waits in real time for one that wakes before its next timer.
"""
from __future__ import annotations

import threading
import time

import pytest

from pytest_simproc.dropin import wakeups

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import asyncio
import json
import threading
import time
from concurrent import futures


def observed(name, start):
    print("OBSERVED", json.dumps([name, start, time.time() - start]))


def test_a_thread_wakes_the_loop():
    async def main():
        loop = asyncio.get_running_loop()
        woken = loop.create_future()

        def target():
            time.sleep(0.01)  # let the loop go into its wait
            loop.call_soon_threadsafe(woken.set_result, "woken")

        start = time.time()
        threading.Thread(target=target).start()
        assert await asyncio.wait_for(woken, 5) == "woken"
        observed("callback", start)

    asyncio.run(main())


def test_an_executor_job_ends_within_a_limit():
    async def main():
        start = time.time()
        with futures.ThreadPoolExecutor(1) as executor:
            job = asyncio.wrap_future(executor.submit(time.sleep, 0.01))
            await asyncio.wait_for(job, 3600)
        observed("executor", start)

    asyncio.run(main())


def test_a_thread_that_waits_longer_does_not_hold_the_loop():
    stop = threading.Event()
    heartbeat = threading.Thread(target=stop.wait, args=(60,), daemon=True)
    heartbeat.start()

    async def main():
        start = time.time()
        await asyncio.sleep(10)
        observed("heartbeat", start)

    try:
        asyncio.run(main())
    finally:
        stop.set()
        heartbeat.join()
"""


# the inner test that waits longer, by a name no outer test's (the inner module's) holds
LONGER = "does_not_hold_the_loop"


def _run(observed, *args) -> dict:
    seen = observed(INNER, [*args, "-k", f"not {LONGER}"], passed=2, deselected=1)
    return {name: (start, elapsed) for name, start, elapsed in seen}


def test_natively(observed):
    seen = _run(observed)
    assert sorted(seen) == ["callback", "executor"]
    assert all(start > HOST_EPOCH + 20 * 365 * 86400 for start, _ in seen.values())


def test_under_simproc_the_loop_waits_for_a_thread_that_wakes_first(observed):
    seen = _run(observed, "--simproc")
    assert sorted(seen) == ["callback", "executor"]
    # the virtual clock, moved by the real waits for the thread only
    assert all(HOST_EPOCH <= start < HOST_EPOCH + 60 and elapsed < 5
               for start, elapsed in seen.values()), seen


def test_under_simproc_a_thread_that_waits_longer_leaves_the_clock_virtual(observed):
    ((_, start, elapsed),) = observed(INNER, ["--simproc", "-k", LONGER], passed=1,
                                      deselected=2)
    assert HOST_EPOCH <= start < HOST_EPOCH + 60 and 10 <= elapsed < 10.01


def _in_wait(thread) -> float | None:
    for _ in range(2000):  # until it is in its wait (not running any more)
        left = wakeups.wake_in(thread.native_id)
        if left != 0.0:
            return left
        time.sleep(0.001)
    pytest.fail("the thread never waited")


@pytest.mark.parametrize("wait", ["event", "sleep", "condition"])
def test_a_timed_wait_shows_its_deadline(wait):
    stop = threading.Event()
    condition = threading.Condition()

    length = 3 if wait == "sleep" else 60  # a sleep cannot be cut short: it is joined

    def target():
        if wait == "event":
            stop.wait(length)
        elif wait == "sleep":
            time.sleep(length)
        else:
            with condition:
                condition.wait(length)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    left = _in_wait(thread)
    assert length / 4 < left <= length
    assert wakeups.soon([thread.native_id], length + 1)
    assert not wakeups.soon([thread.native_id], length / 8)
    stop.set()
    with condition:
        condition.notify()
    thread.join()  # no thread of this test lives on into the next ones


def test_an_untimed_wait_has_no_deadline():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    assert _in_wait(thread) is None
    assert not wakeups.soon([thread.native_id], None)
    stop.set()
    thread.join()


SLEEPS = r"""
import json
import threading
import time

stop = threading.Event()


def tick():  # started at import, before any test: a heartbeat
    while not stop.wait(0.05):
        pass


threading.Thread(target=tick, daemon=True).start()


def test_a_thread_acts_while_the_test_sleeps():
    done = []

    def target():
        time.sleep(0.2)
        done.append(True)

    start = time.time()
    thread = threading.Thread(target=target)
    thread.start()
    time.sleep(1)
    assert done
    thread.join()
    print("OBSERVED", json.dumps(["acts", start, time.time() - start]))


def test_an_older_heartbeat_leaves_the_sleep_alone():
    start = time.time()
    time.sleep(3600)
    print("OBSERVED", json.dumps(["hour", start, time.time() - start]))
"""


def _sleeps(observed, *args) -> dict:
    if "--simproc" in args:
        seen = observed(SLEEPS, args, passed=2, deselected=0)
    else:  # an hour of real time natively
        seen = observed(SLEEPS, [*args, "-k", "thread_acts"], passed=1, deselected=1)
    return {name: (start, elapsed) for name, start, elapsed in seen}


def test_the_test_sleeps_natively(observed):
    assert list(_sleeps(observed)) == ["acts"]


def test_under_simproc_the_tests_sleep_waits_for_a_thread_that_wakes_within_it(observed):
    seen = _sleeps(observed, "--simproc")
    assert sorted(seen) == ["acts", "hour"]
    assert all(HOST_EPOCH <= start < HOST_EPOCH + 3700 for start, _ in seen.values())
    assert 1 <= seen["acts"][1] < 1.01  # the sleep's own length, in the test's clock
    assert 3600 <= seen["hour"][1] < 3600.01
