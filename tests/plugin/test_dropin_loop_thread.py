"""Drop-in mode: an event loop the test makes and a thread of the test runs.

tornado's ``IOLoop()`` makes its asyncio loop where it is called; circus's stats
collector tests make one in the test and start it in a thread, then sleep a second
and expect its periodic callbacks (every 0.1 s) to have run. The loop's waits in that
thread are the real ones (only the test's own thread moves virtual time), but its
clock was the session's: its timers never came due while the test's sleep waited in
real time for the thread, and the collector published nothing. The inner suite is
written as real suites are (no simproc API) and passes natively and under
``--simproc``; under ``--simproc`` the test's clock is the host's.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

START = 946684800  # the host's default start time

INNER = '''
import asyncio
import threading
import time

from dropin_helpers import observed


def test_a_loop_made_here_and_run_in_a_thread_keeps_its_timers():
    loop = asyncio.new_event_loop()
    ticks = []

    def tick():
        ticks.append(loop.time())
        loop.call_later(0.05, tick)

    def run():
        asyncio.set_event_loop(loop)
        loop.call_soon(tick)
        loop.run_forever()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    time.sleep(0.5)
    loop.call_soon_threadsafe(loop.stop)
    worker.join(10)
    loop.close()
    assert len(ticks) >= 3, ticks
    observed("loop thread", [])
'''


def test_natively(observe):
    seen = observe(INNER, [], passed=1)
    assert seen["loop thread"][2] > 1.6e9


def test_under_simproc(observe):
    seen = observe(INNER, ["--simproc"], passed=1)
    assert START <= seen["loop thread"][2] < START + 60  # the test's virtual clock
