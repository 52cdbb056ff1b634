"""Drop-in mode: uvloop's event loops follow the host (issue 13 item 7, dropin/uvwait.py).

uvloop keeps its clock, its waits and its subprocesses in C (libuv). asyncio's inner
suite (test_dropin_asyncio: subprocesses with pipes, ``wait_for`` timeouts, ``gather``,
``call_later``, an hour's sleep, a stream to a daemon, work in a thread) runs on uvloop
here, its policy installed by the suite's conftest as suites do, and gives the same
pids and the same virtual waits under ``--simproc``. The inner suite of this file is
written as a suite that runs on uvloop writes it: ``uvloop.run``, a signal to a
program's handler, a server started while the test sleeps, uvloop imported inside the
test, and uvloop loops that stay the machine's (another thread's, the compiled class
used as is). Everything passes natively and under ``--simproc``. Without the change,
the first subprocess hung (uv_spawn's child waited for the parent's at-fork hook, which
runs only after uv_spawn returns) and every sleep was real. Skipped when uvloop is not
installed.
"""
from __future__ import annotations

import pytest

pytest.importorskip("uvloop")

from .test_dropin_asyncio import INNER as ASYNCIO_INNER  # noqa: E402
from .test_dropin_asyncio import UNDER_SIMPROC  # noqa: E402

pytest_plugins = ["pytester"]

INNER = r'''
import asyncio
import signal
import threading

import uvloop
from dropin_helpers import free_port, observed


def on_uvloop(main):
    """Run ``main()`` on uvloop, checking that the loop is uvloop's."""
    async def checked():
        assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
        return await main()
    return uvloop.run(checked())


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
        sleeps = 1
        while not server.done() and sleeps < 100:  # natively a loaded machine is slower
            await asyncio.sleep(0.1)
            sleeps += 1
        assert server.done()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hi\n")
        assert await reader.readline() == b"hi\n"
        writer.close()
        server.result().close()
        await server.result().wait_closed()
        observed("server", [], sleeps)
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
    seen = observe(INNER, [], passed=4)
    assert all(now > 1.6e9 and 1000 not in pids for pids, _, now in seen.values())


def test_uvloop_under_simproc_follows_the_host(observe, virtual):
    seen = observe(INNER, ["--simproc"], passed=4)
    # the server was up after the test's first sleep: the loop waited for its thread pool
    assert virtual(seen) == {"signal": ([1000], []), "server": ([], [1]),
                             "compiled class": ([], []), "other thread": ([], [])}


def test_asyncios_suite_on_uvloops_policy(observe, virtual):
    seen = observe(ASYNCIO_INNER, [], passed=7, skipped=1, conftest=POLICY_CONFTEST,
                   hours_simulated=True)
    assert all(now > 1.6e9 and 1000 not in pids for pids, _, now in seen.values())
    seen = observe(ASYNCIO_INNER, ["--simproc"], passed=8, conftest=POLICY_CONFTEST,
                   hours_simulated=True)
    # as on asyncio's own loop, to libuv's millisecond
    assert virtual(seen) == UNDER_SIMPROC


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


# anyio's CancelScope on uvloop: its deadline timer (call_at) checks the loop's clock
# and, short of the deadline, arms itself at the deadline again; uvloop rounds the wait
# to libuv's millisecond, so a deadline less than half a millisecond away (anyio's came
# a float's rounding short) runs the timer again at once until the clock gets there
DEADLINE_REARMED = r'''
import asyncio

import uvloop
from dropin_helpers import observed


def test_a_timer_rearmed_until_the_clock_passes_its_deadline():
    async def main():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        start = loop.time()
        deadline = start + 0.0004

        def timeout():
            if loop.time() >= deadline:
                done.set_result(None)
            else:
                loop.call_at(deadline, timeout)
        loop.call_at(deadline, timeout)
        await done
        proc = await asyncio.create_subprocess_exec("sleep", "1")
        assert await proc.wait() == 0
        observed("rearmed", [proc.pid], loop.time() - start)
    uvloop.run(main())
'''


def test_a_rearmed_deadline_timer(observe, virtual):
    """Under --simproc libuv's clock stood still while the loop ran callbacks: the
    re-armed timer ran forever (anyio's move_on_at and fail_after on uvloop spun until
    pytest-timeout's 120 s). Each read of libuv's clock in the test's thread now costs
    a microsecond, as the test's Python reads do."""
    pids, elapsed, _ = observe(DEADLINE_REARMED, [], passed=1)["rearmed"]
    assert pids != [1000] and elapsed[0] >= 1
    seen = observe(DEADLINE_REARMED, ["--simproc"], passed=1)
    assert virtual(seen) == {"rearmed": ([1000], [1.0])}


# uvloop's test_process_send_signal_1: a line to the program's stdin, drain(), its answer
# read back, then the next line
STDIN_LINES = r'''
import asyncio
import subprocess
import sys

import uvloop
from dropin_helpers import observed

PROG = """
a = input()
print(a, flush=True)
a = input()
print(a)
exit(11)
"""


def test_lines_to_a_programs_stdin():
    async def main():
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", PROG, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for line in (b"HELLO\n", b"!\n"):
            proc.stdin.write(line)
            await proc.stdin.drain()
            assert await proc.stdout.readline() == line
        assert await proc.wait() == 11
        observed("stdin", [proc.pid])
    uvloop.run(main())
'''


def test_lines_to_a_programs_stdin(observe, virtual):
    """uvloop's subprocess stdin was a buffered writer under --simproc: the line that
    drain() let through stayed in the test process, and the program waited for it
    for ever. It is written at once now, as libuv writes it."""
    assert observe(STDIN_LINES, [], passed=1)["stdin"][0] != [1000]
    seen = observe(STDIN_LINES, ["--simproc"], passed=1)
    assert virtual(seen) == {"stdin": ([1000], [])}


# uvloop's test_process_streams_basic_1, on both loops: a subprocess's stdin transport
# is a whole Transport, as asyncio's and uvloop's are
STDIN_TRANSPORT = r'''
import asyncio
import subprocess

import pytest
import uvloop
from dropin_helpers import observed


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_the_stdin_transport(run):
    async def main():
        proc = await asyncio.create_subprocess_exec(
            "head", "-c", "3", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        stdin = proc._transport.get_pipe_transport(0)
        for method in (stdin.pause_reading, stdin.resume_reading):
            with pytest.raises(NotImplementedError):
                method()
        assert stdin.get_protocol() is not None and stdin.can_write_eof()
        low = 16 if isinstance(asyncio.get_running_loop(), uvloop.Loop) else 16384
        assert stdin.get_write_buffer_limits() == (low, 65536)   # uvloop's, asyncio's
        stdin.set_write_buffer_limits(high=8)
        assert stdin.get_write_buffer_limits() == (2, 8)
        stdin.writelines([b"a", b"bc"])
        stdin.write_eof()
        assert await proc.stdout.read() == b"abc"
        assert await proc.wait() == 0
        on_uvloop = isinstance(asyncio.get_running_loop(), uvloop.Loop)
        observed("stdin uvloop" if on_uvloop else "stdin asyncio", [proc.pid])
    run(main())
'''


def test_the_stdin_transport_is_a_whole_transport(observe, virtual):
    """Its pause_reading() was an AttributeError under --simproc (a WriteTransport
    only), where asyncio's and uvloop's are NotImplementedError."""
    seen = observe(STDIN_TRANSPORT, [], passed=2)
    assert all(pids != [1000] for pids, _, _ in seen.values())
    seen = observe(STDIN_TRANSPORT, ["--simproc"], passed=2)
    assert virtual(seen) == {"stdin asyncio": ([1000], []), "stdin uvloop": ([1000], [])}


# uvloop's test_process_delayed_stdio__paused__*: its test-only keyword makes the parent
# sleep a second after the fork, so the program's end is known when the start returns;
# and a KeyboardInterrupt that a signal handler raises while the loop waits ends uvloop.run
UVLOOP_WAITS = r'''
import asyncio
import signal
import subprocess
import time

import pytest
import uvloop
from dropin_helpers import observed


class Proto(asyncio.SubprocessProtocol):
    def __init__(self):
        self.stages = []
        self.lost = asyncio.get_running_loop().create_future()

    def pipe_data_received(self, fd, data):
        self.stages.append(("OUT", data))

    def process_exited(self):
        self.stages.append("EXIT")

    def connection_lost(self, exc):
        self.lost.set_result(exc)


def test_the_parent_sleeps_after_the_fork():
    async def main():
        loop = asyncio.get_running_loop()
        t0 = time.monotonic()
        transport, proto = await loop.subprocess_shell(
            Proto, "echo 1", stdin=None, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            __uvloop_sleep_after_fork=True)
        assert transport.get_returncode() == 0
        elapsed = time.monotonic() - t0
        assert await proto.lost is None
        assert set(proto.stages) == {"EXIT", ("OUT", b"1\n")}
        transport.close()
        observed("slept", [transport.get_pid()], elapsed)
    uvloop.run(main())


def test_ctrl_c_while_the_loop_waits():
    def interrupted(signum, frame):
        raise KeyboardInterrupt

    async def main():
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        await asyncio.get_running_loop().create_future()   # for ever
    old = signal.signal(signal.SIGALRM, interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            uvloop.run(main())
    finally:
        signal.signal(signal.SIGALRM, old)
    observed("interrupted", [])
'''


def test_uvloop_sleeps_after_the_fork_and_takes_a_ctrl_c(observe, virtual):
    """Under --simproc the test-only keyword was dropped (the end not known yet:
    returncode None), and the KeyboardInterrupt of the test's SIGALRM handler, raised in
    the epoll hook, was swallowed there ("uvloop hook failed"): the test waited for
    ever."""
    seen = observe(UVLOOP_WAITS, [], passed=2)
    assert seen["slept"][0] != [1000] and seen["slept"][1][0] >= 1
    seen = observe(UVLOOP_WAITS, ["--simproc"], passed=2)
    assert virtual(seen) == {"slept": ([1000], [1.0]), "interrupted": ([], [])}
