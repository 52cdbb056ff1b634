"""Drop-in mode: the host's machinery is not the test's code to a blocking-call checker.

anyio's suite runs every test under blockbuster, which fails a test whose code makes a
blocking call (a file made, a lock waited for, a sleep) while an asyncio loop runs in
its thread. Under ``--simproc`` a subprocess the loop starts makes its host (a data
dir: ``os.mkdir``), and the loop's waits run the host: none of that is the test's, as
natively the kernel's work is not. The inner suite is written as such a suite writes
it (blockbuster's context around each test, plain asyncio subprocesses in the body);
it passes natively and under ``--simproc``, where the program's pid is the host's.
blockbuster is in the test extra; without it these tests skip.
"""
from __future__ import annotations

import pytest

pytest.importorskip("blockbuster")

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest
from blockbuster import blockbuster_ctx


@pytest.fixture(autouse=True)
def blockbuster(request):
    with blockbuster_ctx(request.module) as bb:  # the test module's own calls
        yield bb
"""

INNER = r'''
import asyncio
import os

import pytest
from dropin_helpers import observed


async def talk_to_a_program():
    proc = await asyncio.create_subprocess_exec(
        "sh", "-c", "read line; echo \"got $line\"; exec sleep 30",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    proc.stdin.write(b"ping\n")
    await proc.stdin.drain()
    assert await proc.stdout.readline() == b"got ping\n"
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(proc.wait(), 0.2)
    proc.terminate()
    assert await proc.wait() == -15
    return proc.pid


def test_a_program_under_a_blocking_call_checker():
    observed("checked", [asyncio.run(talk_to_a_program())])


def test_the_checker_still_sees_the_tests_own_blocking_calls(tmp_path):
    async def main():
        await talk_to_a_program()
        os.mkdir(tmp_path / "made in the loop")
    with pytest.raises(Exception, match="Blocking call to os.mkdir"):
        asyncio.run(main())
    observed("caught", [])
'''


def test_blocking_call_checker_natively(observe):
    seen = observe(INNER, [], passed=2, conftest=CONFTEST)
    assert seen["checked"][0] != [1000]


def test_blocking_call_checker_under_simproc(observe):
    seen = observe(INNER, ["--simproc"], passed=2, conftest=CONFTEST)
    assert seen["checked"][0] == [1000]
