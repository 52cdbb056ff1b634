"""Drop-in mode: asyncio's subprocess pipes behave as asyncio's own tests expect
(test_asyncio/test_subprocess): the program's stdout is connected through
``loop.connect_read_pipe`` (a test wraps it to watch the stream's flow control), the
stdin transport has a write buffer with flow control (``drain()`` waits while the
program has not read) and reports the program's end without reading it as
BrokenPipeError, and a child watcher that is not active refuses to start anything.
The inner suite passes natively and under ``--simproc``, where the programs are the
host's (pids from 1000) and their waits virtual.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = """
import asyncio
import json
import os
import sys
import time
import warnings
from unittest import mock

import pytest

MORE_THAN_A_PIPE = 4 << 20


def observed(name, pids, elapsed):
    print("OBSERVED", json.dumps([name, pids, round(elapsed, 2)]))


def test_stdout_goes_through_connect_read_pipe():
    async def main():
        loop = asyncio.get_running_loop()
        connect = loop.connect_read_pipe
        transports = []

        async def watched(*args, **kwargs):
            transport, protocol = await connect(*args, **kwargs)
            transport.pause_reading = mock.Mock(wraps=transport.pause_reading)
            transports.append(transport)
            return transport, protocol

        loop.connect_read_pipe = watched
        proc = await asyncio.create_subprocess_exec(
            "sh", "-c", "sleep 1; head -c 100 /dev/zero", stdout=asyncio.subprocess.PIPE,
            limit=10)
        out, _ = await proc.communicate()
        return proc.pid, out, transports

    t0 = time.time()
    pid, out, transports = asyncio.run(main())
    assert out == bytes(100) and len(transports) == 1
    assert transports[0].pause_reading.called   # more than twice the limit came
    observed("connect_read_pipe", [pid], time.time() - t0)


def test_drain_raises_when_the_program_ends_without_reading():
    async def main():
        r, w = os.pipe()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", f"import os; os.read({r}, 1)", pass_fds=(r,),
            stdin=asyncio.subprocess.PIPE)
        proc.stdin.write(b"x" * MORE_THAN_A_PIPE)
        os.write(w, b"go")   # it ends now, without reading its stdin
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            await proc.stdin.drain()
        os.close(r)
        os.close(w)
        return proc.pid, await proc.wait()

    pid, code = asyncio.run(main())
    assert code == 0
    observed("broken", [pid], 0)


def test_an_inactive_child_watcher_refuses():
    watcher = mock.create_autospec(
        asyncio.AbstractChildWatcher,
        **{"__enter__.return_value.is_active.return_value": False})

    async def main():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            asyncio.set_child_watcher(watcher)
        with pytest.raises(RuntimeError, match="not activated"):
            await asyncio.create_subprocess_exec("true")

    try:
        asyncio.run(main())
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            asyncio.set_child_watcher(None)
    watcher.add_child_handler.assert_not_called()
"""


def _seen(observed, args) -> dict:
    return {name: (pids, elapsed)
            for name, pids, elapsed in observed(INNER, args, passed=3)}


def test_natively(observed):
    assert _seen(observed, [])["connect_read_pipe"][1] >= 1.0


def test_under_simproc_in_the_host(observed):
    assert _seen(observed, ["--simproc"]) == {
        "connect_read_pipe": ([1000], 1.0), "broken": ([1000], 0)}
