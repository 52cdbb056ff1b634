"""Drop-in mode: asyncio follows the host (issue 13 item 7).

The inner suite is written as a real suite writes it, with plain ``asyncio.run`` in the
test body: ``create_subprocess_exec`` and ``_shell`` with pipes, ``asyncio.sleep``,
``wait_for`` timeouts, ``call_later``, ``loop.time``, a stream to a daemon, work handed
to a thread. It passes natively and under ``--simproc``; each test prints what it saw
(its programs' pids, the loop's elapsed times, the time), and the outer tests check that
under ``--simproc`` the programs ran in the host (pids from 1000) and every wait took
exactly its virtual length from the host's start time. The hour-long sleep runs only
under ``--simproc``.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = r'''
import asyncio
import subprocess
import time

import pytest
from dropin_helpers import SLOW_COUNTER, free_port, observed


def test_subprocess_exec_with_pipes():
    async def main():
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        proc = await asyncio.create_subprocess_exec(
            "sh", "-c", "echo out; echo err >&2; sleep 1; echo late",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        assert await proc.stdout.readline() == b"out\n"
        assert await proc.communicate() == (b"late\n", b"err\n")
        assert proc.returncode == 0
        observed("exec", [proc.pid], loop.time() - t0)
    asyncio.run(main())


def test_subprocess_shell_with_input():
    async def main():
        proc = await asyncio.create_subprocess_shell(
            "tr a-z A-Z", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert await proc.communicate(b"hello\n") == (b"HELLO\n", None)
        assert proc.returncode == 0
        observed("shell", [proc.pid])
    asyncio.run(main())


def test_wait_for_a_program_times_out_then_terminate():
    async def main():
        loop = asyncio.get_running_loop()
        proc = await asyncio.create_subprocess_exec("sleep", "30")
        t0 = loop.time()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(proc.wait(), timeout=0.5)
        elapsed = loop.time() - t0
        proc.terminate()
        assert await proc.wait() == -15
        observed("wait_for", [proc.pid], elapsed)
    asyncio.run(main())


def test_programs_end_in_the_order_of_their_sleeps():
    async def run(seconds):
        proc = await asyncio.create_subprocess_exec(
            "sh", "-c", f"sleep {seconds}; echo {seconds}", stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        return proc.pid, out, asyncio.get_running_loop().time()

    async def main():
        t0 = asyncio.get_running_loop().time()
        ended = await asyncio.gather(run(0.3), run(0.1), run(0.2))
        assert [out for _, out, _ in ended] == [b"0.3\n", b"0.1\n", b"0.2\n"]
        observed("gather", [pid for pid, _, _ in ended], *(t - t0 for _, _, t in ended))
    asyncio.run(main())


def test_call_later_and_the_clocks():
    async def main():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        t0, wall0 = loop.time(), time.time()
        loop.call_later(0.3, done.set_result, "late")
        assert await done == "late"
        observed("call_later", [], loop.time() - t0, time.time() - wall0)
    asyncio.run(main())


def test_sleep_an_hour():
    async def main():
        loop = asyncio.get_running_loop()
        t0, wall0 = loop.time(), time.time()
        await asyncio.sleep(3600)
        observed("an hour", [], loop.time() - t0, time.time() - wall0)
    asyncio.run(main())


def test_stream_to_a_daemon():
    port = free_port()
    server = subprocess.Popen([*SLOW_COUNTER, str(port)])

    async def main():
        loop = asyncio.get_running_loop()
        for _ in range(1000):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except ConnectionRefusedError:
                await asyncio.sleep(0.05)
        writer.write(b"ping\n")
        await writer.drain()
        t0 = loop.time()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(reader.readline(), 0.2)
        assert await reader.readline() == b"5\n"
        observed("stream", [server.pid], loop.time() - t0)
        writer.close()
        await writer.wait_closed()
    try:
        asyncio.run(main())
    finally:
        server.kill()
        server.wait()


def test_work_in_a_thread_runs_a_program():
    async def main():
        result = await asyncio.to_thread(
            subprocess.run, ["sh", "-c", "sleep 1; echo $$"], capture_output=True)
        return int(result.stdout)
    observed("thread", [asyncio.run(main())])
'''

def test_asyncio_natively(observe):
    seen = observe(INNER, [], passed=7, skipped=1, hours_simulated=True)
    assert all(now > 1.6e9 and 1000 not in pids for pids, _, now in seen.values())
    assert seen["exec"][1][0] >= 1 and seen["wait_for"][1][0] >= 0.5


# what INNER's tests saw under --simproc: their programs' pids and their waits, to the
# 10 ms (a `sleep` a shell forks starts after its fork and exec, some 0.6 ms each on
# the host's one CPU: README "The CPU model")
UNDER_SIMPROC = {
    "exec": ([1000], [1.0]),
    "shell": ([1000], []),
    "wait_for": ([1000], [0.5]),
    "gather": ([1000, 1001, 1002], [0.3, 0.1, 0.2]),
    "call_later": ([], [0.3, 0.3]),  # the loop's clock and the test's agree
    "an hour": ([], [3600.0, 3600.0]),
    "stream": ([1000], [0.5]),
    "thread": ([1000], []),  # `sh` printed its own pid: the host's
}


def test_asyncio_under_simproc_follows_the_host(observe, virtual):
    seen = observe(INNER, ["--simproc"], passed=8, hours_simulated=True)
    assert virtual(seen) == UNDER_SIMPROC
    assert seen["exec"][1][0] > 1 and all(
        late > nominal for late, nominal in zip(seen["gather"][1], [0.3, 0.1, 0.2]))


def test_the_session_puts_asyncio_and_socket_back_as_they_were():
    import asyncio
    import socket

    from pytest_simproc.dropin import DropinSession
    from pytest_simproc.dropin.aio import SimEventLoop

    policy = asyncio.get_event_loop_policy()
    methods = dict(socket.socket.__dict__)
    with DropinSession():
        loop = asyncio.new_event_loop()
        try:
            assert isinstance(loop, SimEventLoop)
            t0 = loop.time()
            loop.run_until_complete(asyncio.sleep(60))  # no host yet: the clock moves
            assert loop.time() - t0 == 60
        finally:
            loop.close()
        assert "recv" in socket.socket.__dict__
    assert asyncio.get_event_loop_policy() is policy
    assert dict(socket.socket.__dict__) == methods
    loop = asyncio.new_event_loop()
    assert not isinstance(loop, SimEventLoop)
    loop.close()
