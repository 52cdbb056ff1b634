"""Messages carried by a native thread of the test arrive before its clock moves on.

circus's tests talk to their arbiter (in the test process) through zmq, whose messages
libzmq's I/O thread carries: a thread Python does not know, in real time. Under
--simproc the host's clock moved to its next deadline while such a message was in
flight, and tornado's 30 s gen_test timeout passed in no real time. The inner suite
stands a small C library in for libzmq (tests/programs/relay_thread.c: a native thread
that waits in epoll_wait, works on each message for 20 ms of CPU and passes it on) and
waits for each message under asyncio's wait_for, as a suite would; without the rule
of pytest_simproc/dropin/nativework.py the timeout is due at once under --simproc.
"""
from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PROGRAMS_DIR = Path(__file__).parent.parent / "programs"
START = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import asyncio
import ctypes
import json
import os
import socket
import subprocess
import time

RELAY = ctypes.CDLL(os.environ["RELAY_LIB"])
RELAY.relay_start.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_long)


def observed(name, *pids):
    print("OBSERVED", json.dumps([name, list(pids), time.time()]))


async def round_trips(count):
    sender, relay_in = socket.socketpair()
    relay_out, receiver = socket.socketpair()
    with sender, relay_in, relay_out:
        assert RELAY.relay_start(relay_in.fileno(), relay_out.fileno(), 20000) == 0
        reader, writer = await asyncio.open_connection(sock=receiver)
        for i in range(count):
            sender.send(b"ping%d" % i)
            got = await asyncio.wait_for(reader.readexactly(5), 2)
            assert got == b"ping%d" % i
        writer.close()


def test_messages_through_a_native_thread_while_a_daemon_runs():
    daemon = subprocess.Popen(["sleep", "30"])
    try:
        asyncio.run(round_trips(5))
        assert daemon.poll() is None
    finally:
        daemon.kill()
        daemon.wait()
    observed("daemon", daemon.pid)


def test_messages_through_a_native_thread_alone():
    asyncio.run(round_trips(5))
    observed("alone")
"""


@pytest.fixture
def relay_lib(c_programs):
    build = c_programs(PROGRAMS_DIR, "nativework-lib",
                       {"relay_thread": ["-shared", "-fPIC", "-pthread"]})
    return build("relay_thread")


def _run(observed, monkeypatch, relay_lib, *args):
    monkeypatch.setenv("RELAY_LIB", relay_lib)
    seen = observed(INNER, args, passed=2)
    return {name: (pids, now) for name, pids, now in seen}


def test_natively(observed, monkeypatch, relay_lib):
    seen = _run(observed, monkeypatch, relay_lib)
    assert sorted(seen) == ["alone", "daemon"]
    assert all(now > START + 20 * 365 * 86400 for _, now in seen.values())


def test_under_simproc_the_clock_waits_for_the_native_thread(observed, monkeypatch,
                                                             relay_lib):
    seen = _run(observed, monkeypatch, relay_lib, "--simproc")
    assert sorted(seen) == ["alone", "daemon"]
    (pid,), _ = seen["daemon"]
    assert 1000 <= pid < 1100   # the daemon ran in the host
    # on the virtual clock, and within the daemon's 30 s (it was still running)
    assert all(START <= now < START + 60 for _, now in seen.values()), seen



def test_the_tracers_look_at_threads_takes_no_lock_of_threading():
    """The tracer thread counts the test's threads (native_threads) while a finalizer
    run by a collection inside the test thread's threading.enumerate (its lock held)
    may wait for the tracer: GitPython's dropped Popens reap their programs."""
    import threading
    import time

    from pytest_simproc.dropin.nativework import native_threads

    go, seen = threading.Event(), []

    def look():
        go.wait()
        seen.append(native_threads())

    looker = threading.Thread(target=look, daemon=True)
    looker.start()
    with threading._active_limbo_lock:  # as threading.enumerate holds it
        go.set()
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        looked = bool(seen)
    looker.join()
    assert looked
