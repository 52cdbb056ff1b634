"""Drop-in mode: uvloop's event loops follow the host (issue 13 item 7, dropin/uvwait.py).

uvloop keeps its clock, its waits and its subprocesses in C (libuv). The inner suite is
written as a suite that runs on uvloop writes it: ``uvloop.run``, its loop policy with
``asyncio.run``, ``create_subprocess_exec``/``_shell`` with pipes, signals, ``wait_for``
timeouts, ``call_later``, ``loop.time``, a stream to a daemon, work in a thread, a
server started while the test sleeps, and uvloop loops that stay the machine's (another
thread's, the compiled class used as is). It passes natively and under ``--simproc``;
each test prints what it saw, and the outer tests check that under ``--simproc`` the
programs of the test's loops ran in the host (pids from 1000) and every wait took
exactly its virtual length. Without the change, the first subprocess hung (uv_spawn's
child waited for the parent's at-fork hook, which runs only after uv_spawn returns) and
every sleep was real. Skipped when uvloop is not installed.
"""
from __future__ import annotations

import pytest

pytest.importorskip("uvloop")

pytest_plugins = ["pytester"]

INNER = r'''
import asyncio
import signal
import subprocess
import threading
import time

import pytest
import uvloop
from dropin_helpers import SLOW_COUNTER, free_port, observed


def on_uvloop(main):
    """Run ``main()`` on uvloop, checking that the loop is uvloop's."""
    async def checked():
        assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
        return await main()
    return uvloop.run(checked())


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
    on_uvloop(main)


def test_shell_with_input_under_the_policy():
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    try:
        async def main():
            assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
            proc = await asyncio.create_subprocess_shell(
                "tr a-z A-Z; echo $$", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE)
            out, _ = await proc.communicate(b"hello\n")
            upper, pid = out.splitlines()
            assert upper == b"HELLO" and proc.returncode == 0
            assert int(pid) == proc.pid  # the shell's own pid, as it sees it
            observed("shell", [proc.pid])
        asyncio.run(main())
    finally:
        asyncio.set_event_loop_policy(None)


def test_a_signal_reaches_the_programs_handler():
    async def main():
        proc = await asyncio.create_subprocess_exec(
            "sh", "-c", "trap 'echo got TERM; exit 3' TERM; echo ready; "
            "while :; do sleep 0.1; done", stdout=asyncio.subprocess.PIPE)
        assert await proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        assert await proc.stdout.read() == b"got TERM\n"
        assert await proc.wait() == 3
        observed("signal", [proc.pid])
    on_uvloop(main)


def test_wait_for_a_program_times_out_then_kill():
    async def main():
        loop = asyncio.get_running_loop()
        proc = await asyncio.create_subprocess_exec("sleep", "30")
        t0 = loop.time()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(proc.wait(), timeout=0.5)
        elapsed = loop.time() - t0
        proc.kill()
        assert await proc.wait() == -9
        observed("wait_for", [proc.pid], elapsed)
    on_uvloop(main)


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
    on_uvloop(main)


def test_call_later_and_the_clocks():
    async def main():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        t0, wall0 = loop.time(), time.time()
        loop.call_later(0.3, done.set_result, "late")
        assert await done == "late"
        observed("call_later", [], loop.time() - t0, time.time() - wall0)
    on_uvloop(main)


def test_sleep_an_hour():
    async def main():
        loop = asyncio.get_running_loop()
        t0, wall0 = loop.time(), time.time()
        await asyncio.sleep(3600)
        observed("an hour", [], loop.time() - t0, time.time() - wall0)
    on_uvloop(main)


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
        on_uvloop(main)
    finally:
        server.kill()
        server.wait()


def test_work_in_a_thread_runs_a_program():
    async def main():
        result = await asyncio.to_thread(
            subprocess.run, ["sh", "-c", "sleep 1; echo $$"], capture_output=True)
        return int(result.stdout)
    observed("thread", [on_uvloop(main)])


def test_a_server_started_while_the_test_sleeps():
    # uvicorn's tests start their server so: a task, then a short sleep. uvloop
    # resolves "localhost" in libuv's thread pool meanwhile
    port = free_port()

    async def echo(reader, writer):
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    async def main():
        server = asyncio.ensure_future(asyncio.start_server(echo, "localhost", port))
        await asyncio.sleep(0.1)
        assert server.done()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hi\n")
        assert await reader.readline() == b"hi\n"
        writer.close()
        server.result().close()
        await server.result().wait_closed()
        observed("server", [])
    on_uvloop(main)


def test_the_compiled_loop_class_as_is_starts_a_program():
    loop = uvloop.loop.Loop()

    async def main():
        proc = await asyncio.create_subprocess_exec(
            "sh", "-c", "echo $$", stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        assert int(out) == proc.pid and proc.returncode == 0
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    observed("compiled class", [])  # not uvloop.Loop: the machine's program


def test_a_loop_of_another_thread_starts_a_program():
    outcome = []

    async def main():
        proc = await asyncio.create_subprocess_exec(
            "sh", "-c", "echo $$", stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        outcome.append((proc.pid, int(out), proc.returncode))

    thread = threading.Thread(target=on_uvloop, args=(main,))
    thread.start()
    thread.join()
    [(pid, seen, code)] = outcome
    assert seen == pid and code == 0
    observed("other thread", [])  # its loop is not the test's: the machine's program
'''

# uvloop imported by the test itself, as anyio's plugin and uvloop.run users do: the
# first import of the run comes during a test
IMPORTED_IN_THE_TEST = r'''
import asyncio

from dropin_helpers import observed


def test_uvloop_imported_inside():
    import uvloop

    async def main():
        loop = asyncio.get_running_loop()
        assert isinstance(loop, uvloop.Loop)
        t0 = loop.time()
        proc = await asyncio.create_subprocess_exec("sleep", "2")
        assert await proc.wait() == 0
        observed("imported", [proc.pid], loop.time() - t0)
    uvloop.run(main())
'''


def test_uvloop_natively(observe):
    seen = observe(INNER, [], passed=11, skipped=1, hours_simulated=True)
    assert all(now > 1.6e9 and 1000 not in pids for pids, _, now in seen.values())
    assert seen["exec"][1][0] >= 1 and seen["wait_for"][1][0] >= 0.5


def test_uvloop_under_simproc_follows_the_host(observe, virtual):
    seen = observe(INNER, ["--simproc"], passed=12, hours_simulated=True)
    # libuv's clock counts milliseconds; a `sleep` a shell forks starts after its fork
    # and exec, some 0.6 ms each on the host's one CPU (README "The CPU model")
    assert virtual(seen) == {
        "exec": ([1000], [1.0]),
        "shell": ([1000], []),
        "signal": ([1000], []),
        "wait_for": ([1000], [0.5]),
        "gather": ([1000, 1001, 1002], [0.3, 0.1, 0.2]),
        "call_later": ([], [0.3, 0.3]),  # the loop's clock and the test's agree
        "an hour": ([], [3600.0, 3600.0]),
        "stream": ([1000], [0.5]),
        "thread": ([1000], []),  # `sh` printed its own pid: the host's
        "server": ([], []),
        "compiled class": ([], []),
        "other thread": ([], []),
    }
    assert seen["exec"][1][0] > 1 and all(
        late > nominal for late, nominal in zip(seen["gather"][1], [0.3, 0.1, 0.2]))


def test_uvloop_imported_during_a_test(observe, virtual):
    assert observe(IMPORTED_IN_THE_TEST, [], passed=1)["imported"][0] != [1000]
    seen = observe(IMPORTED_IN_THE_TEST, ["--simproc"], passed=1)
    assert virtual(seen) == {"imported": ([1000], [2.0])}


# a suite that puts uvloop's policy in place at its start, then runs plain asyncio.run
POLICY_CONFTEST = """
import asyncio

import uvloop


def pytest_configure(config):
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
"""

ON_THE_SUITES_POLICY = r'''
import asyncio

import uvloop
from dropin_helpers import observed


def test_asyncio_run_on_the_suites_policy():
    async def main():
        loop = asyncio.get_running_loop()
        assert isinstance(loop, uvloop.Loop)
        t0 = loop.time()
        proc = await asyncio.create_subprocess_exec(
            "sh", "-c", "sleep 2; echo $$", stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        assert int(out) == proc.pid
        await asyncio.sleep(0.5)
        observed("policy", [proc.pid], loop.time() - t0)
    asyncio.run(main())
'''


def test_uvloop_policy_of_the_suite(observe, virtual):
    pids, elapsed, _ = observe(ON_THE_SUITES_POLICY, [], passed=1,
                               conftest=POLICY_CONFTEST)["policy"]
    assert pids != [1000] and elapsed[0] >= 2.5
    seen = observe(ON_THE_SUITES_POLICY, ["--simproc"], passed=1, conftest=POLICY_CONFTEST)
    # the session keeps the suite's policy, and freezegun's real clock for the loop
    # class it found there (clock.py) does not hide libuv's virtual one
    assert virtual(seen) == {"policy": ([1000], [2.5])}
