"""asyncio's own event loops the test makes beside the session's policy, and their child
watchers.

A loop from a policy of the test's own (pytest-asyncio's ``event_loop_policy`` fixture
returning ``asyncio.DefaultEventLoopPolicy()``, pytest-subprocess's suite) or from
``asyncio.Runner(loop_factory=asyncio.SelectorEventLoop)`` is asyncio's, not the
session's: it starts its program with subprocess.Popen (the host's) and learns of its
end from a child watcher's ``os.waitpid(pid, ...)``. asyncio's calls were all taken for
the machinery's, so that wait was the machine's: ECHILD, "Unknown child process pid
1000, will report returncode 255". The inner suite passes natively and under
``--simproc``.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import asyncio
import subprocess
import time

import pytest
from dropin_helpers import observed, watched_loop


async def run_one():
    p = await asyncio.create_subprocess_exec("sh", "-c", "sleep 1; echo $$; exit 3",
                                             stdout=subprocess.PIPE)
    out, _ = await p.communicate()
    return int(out), p.returncode


def test_a_runner_of_selector_loops():
    t0 = time.monotonic()
    with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
        pid, code = runner.run(run_one())
    assert code == 3
    observed("runner", [pid], time.monotonic() - t0)


@pytest.fixture(params=["ThreadedChildWatcher", "PidfdChildWatcher", "SafeChildWatcher"])
def loop(request):
    policy = asyncio.DefaultEventLoopPolicy()
    with watched_loop(policy, getattr(asyncio, request.param)) as loop:
        yield loop


def test_a_policy_of_its_own(loop, request):
    t0 = time.monotonic()
    pid, code = loop.run_until_complete(run_one())
    assert code == 3
    observed(request.node.callspec.id, [pid], time.monotonic() - t0)
"""


@pytest.mark.skipif(not hasattr(__import__("asyncio"), "SafeChildWatcher"),
                    reason="asyncio's child watchers are gone (3.14)")
@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_asyncios_own_loops_see_their_programs_end(observe, args):
    seen = observe(INNER, ["--timeout", "60", *args], passed=4)
    assert set(seen) == {"runner", "ThreadedChildWatcher", "PidfdChildWatcher",
                         "SafeChildWatcher"}
    for pids, elapsed, now in seen.values():
        assert elapsed[0] >= 1
        if args:  # in the host: its pids, its virtual clock
            assert pids[0] >= 1000 and elapsed[0] == pytest.approx(1, abs=0.01)
            assert 946684800 <= now < 946684800 + 60
