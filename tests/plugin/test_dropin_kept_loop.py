"""Drop-in mode: an event loop one test makes and later tests of the same thread run.

jupyter_core's ``run_sync`` (every blocking call of jupyter_client's KernelManager:
``start_kernel``, ``shutdown_kernel``) keeps one loop per thread for the whole run, made
by the first test that needs it. Under ``--simproc`` that loop's clock was the first
test's host: once that test ended, its time stood still, so a later test's
``start_kernel`` waited forever for its ``asyncio.sleep(0.01)`` (ipykernel's
test_async.py: every test after the first hit its 30 s limit). The inner suite is
written as real suites are (no simproc API) and passes natively and under ``--simproc``;
under ``--simproc`` each test's programs and waits are its own host's.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = '''
import asyncio
import subprocess
import time

import pytest
from dropin_helpers import observed

_loop = None
_last = 0.0


def thread_loop():
    """The thread's one loop, made on first use (jupyter_core.utils.ensure_event_loop)."""
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop


async def start_kernel():
    proc = await asyncio.create_subprocess_exec(
        "sh", "-c", "sleep 1; echo $$", stdout=subprocess.PIPE)
    out, _ = await proc.communicate()
    await asyncio.sleep(0.01)  # jupyter_client's in_pending_state
    return int(out)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_start_a_kernel(n):
    global _last
    loop = thread_loop()
    assert loop.time() >= _last  # the loop's clock never goes back
    t0 = time.monotonic()
    pid = loop.run_until_complete(start_kernel())
    _last = loop.time()
    observed(f"start {n}", [pid], time.monotonic() - t0)
'''


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_a_loop_kept_across_tests_runs_in_each_tests_host(observe, args):
    seen = observe(INNER, ["--timeout", "60", *args], passed=3)
    assert set(seen) == {"start 1", "start 2", "start 3"}
    for pids, elapsed, now in seen.values():
        assert elapsed[0] >= 1
        if args:  # in each test's host: its pids, its virtual clock
            assert pids[0] >= 1000, seen
            assert elapsed[0] == pytest.approx(1.01, abs=0.01), seen
            assert 946684800 <= now < 946684800 + 60
