"""The suite's functions that an executor calls as they are.

``asyncio.to_thread(os.waitpid, pid, 0)`` and ``executor.submit(os.waitpid, pid, 0)``:
the caller of ``os.waitpid`` is concurrent.futures' work item, a standard module the
drop-in takes for the machinery's own (as asyncio's waitpid(-1)), so the
wait was the machine's and a child that joined the host was not its child: ECHILD
(filelock's fork tests). The inner suite passes natively and under ``--simproc``.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import asyncio
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor


def fork_child(code):
    pid = os.fork()
    if pid == 0:
        time.sleep(0.2)
        os._exit(code)
    return pid


def test_to_thread_waits_for_a_forked_child():
    pid = fork_child(3)

    async def main():
        return await asyncio.to_thread(os.waitpid, pid, 0)

    waited, status = asyncio.run(main())
    assert waited == pid and os.waitstatus_to_exitcode(status) == 3
    print("OBSERVED", json.dumps([os.getpid(), pid, time.time()]))


def test_an_executor_waits_for_a_forked_child():
    pid = fork_child(4)
    with ThreadPoolExecutor(1) as executor:
        waited, status = executor.submit(os.waitpid, pid, 0).result(timeout=30)
    assert waited == pid and os.waitstatus_to_exitcode(status) == 4
    print("OBSERVED", json.dumps([os.getpid(), pid, time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_an_executor_calls_the_suites_waitpid(observed, args):
    seen = observed(INNER, ["--timeout", "60", *args], passed=2)
    assert len(seen) == 2
    for pid, child, now in seen:
        assert child != pid
        if args:
            # in the host: the test keeps its pid, its children from 1000, on the
            # virtual clock
            assert pid > 1 and child >= 1000 and 946684800 <= now < 946684800 + 60
