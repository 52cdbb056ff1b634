"""Drop-in mode: trio's run loop follows the host (issue 13 item 7, async suites).

The inner suite is written as a trio suite writes it, with plain ``trio.run`` in the
test body: ``open_process`` with pipes fed and read by two tasks, ``run_process``,
``fail_after``, ``trio.sleep``, a program killed while a ``MockClock`` autojumps (the
loop never waits), trio as a guest of the test's own loop (as anyio's trio backend
runs its tests), work handed to a worker thread. It passes natively and under
``--simproc``; each test prints what it saw (its programs' pids, the loop's elapsed
times, the time), and the outer tests check that under ``--simproc`` the programs ran
in the host (pids from 1000) and every wait took its virtual length from the host's
start time. The hour-long sleep runs only under ``--simproc``. trio is in the test
extra, not a dependency of pytest-simproc: without it these tests skip.
"""
from __future__ import annotations

import pytest

pytest.importorskip("trio")

pytest_plugins = ["pytester"]

INNER = r'''
import queue
import subprocess
import sys
import time
from functools import partial

import trio
import trio.testing
from dropin_helpers import observed

COPY = [sys.executable, "-c",
        "import sys; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(d[::-1])"]


def test_pipes_fed_and_read_by_two_tasks():
    async def main():
        proc = await trio.lowlevel.open_process(COPY, stdin=subprocess.PIPE,
                                                stdout=subprocess.PIPE)
        seen = bytearray()

        async def feed():
            await proc.stdin.send_all(b"the quick brown fox")
            await proc.stdin.aclose()

        async def read():
            async for chunk in proc.stdout:
                seen.extend(chunk)

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(feed)
                nursery.start_soon(read)
            assert await proc.wait() == 0
        assert bytes(seen) == b"xof nworb kciuq eht"
        await proc.stdout.aclose()
        observed("pipes", [proc.pid])
    trio.run(main)


def test_run_process_and_its_time():
    async def main():
        t0 = trio.current_time()
        with trio.fail_after(5):
            result = await trio.run_process(["sh", "-c", "sleep 1; echo $$"],
                                            capture_stdout=True)
        observed("run", [int(result.stdout)], trio.current_time() - t0)
    trio.run(main)


def test_fail_after_a_program_that_sleeps_longer():
    async def main():
        async with trio.open_nursery() as nursery:
            proc = await nursery.start(partial(trio.run_process, ["sleep", "30"],
                                               check=False))
            t0 = trio.current_time()
            with trio.move_on_after(0.5) as scope:
                await proc.wait()
            assert scope.cancelled_caught
            elapsed = trio.current_time() - t0
            proc.terminate()
            assert await proc.wait() == -15
        observed("move_on_after", [proc.pid], elapsed)
    trio.run(main)


def test_sleep_an_hour():
    async def main():
        t0, wall0 = trio.current_time(), time.time()
        await trio.sleep(3600)
        observed("an hour", [], trio.current_time() - t0, time.time() - wall0)
    trio.run(main)


def test_kill_while_a_mock_clock_autojumps():
    async def main():
        proc = await trio.lowlevel.open_process(["sleep", "9999"])
        await trio.sleep(5)  # the mock clock's 5 s: it jumps there at once
        proc.kill()
        assert await proc.wait() == -9
        observed("autojump", [proc.pid])
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_guest_mode_in_the_tests_own_loop():
    # as anyio's trio backend runs a test: trio as a guest of a loop of the test
    calls, done = queue.Queue(), []

    async def main():
        t0 = trio.current_time()
        result = await trio.run_process(["sh", "-c", "sleep 1; echo $$"],
                                        capture_stdout=True)
        await trio.sleep(0.5)
        return int(result.stdout), trio.current_time() - t0

    trio.lowlevel.start_guest_run(main, run_sync_soon_threadsafe=calls.put,
                                  done_callback=done.append)
    while not done:
        calls.get()()
    pid, elapsed = done[0].unwrap()
    observed("guest", [pid], elapsed)


def test_work_in_a_thread_runs_a_program():
    async def main():
        result = await trio.to_thread.run_sync(
            lambda: subprocess.run(["sh", "-c", "sleep 1; echo $$"], capture_output=True))
        return int(result.stdout)
    observed("thread", [trio.run(main)])
'''

def test_trio_natively(observe):
    seen = observe(INNER, [], passed=6, skipped=1, hours_simulated=True)
    assert all(now > 1.6e9 and 1000 not in pids for pids, _, now in seen.values())
    assert seen["run"][1][0] >= 1 and seen["move_on_after"][1][0] >= 0.5


def test_trio_under_simproc_follows_the_host(observe, virtual):
    seen = observe(INNER, ["--simproc"], passed=7, hours_simulated=True)
    # to the 10 ms: `sh` forks and execs `sleep` first (README "The CPU model")
    assert virtual(seen) == {
        "pipes": ([1000], []),
        "run": ([1000], [1.0]),
        "move_on_after": ([1000], [0.5]),
        "an hour": ([], [3600.0, 3600.0]),
        "autojump": ([1000], []),
        "guest": ([1000], [1.5]),
        "thread": ([1000], []),  # `sh` printed its own pid: the host's
    }
