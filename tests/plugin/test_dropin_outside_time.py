"""The test's clock runs on while the test waits for something outside its host.

Gunicorn's unit tests wait in the test's thread on a socketpair (a selector with a
0.1 s timeout, then `elapsed >= 0.1`), hold a deadline taken from `time.monotonic()`
over a socket a thread trickles bytes into, and put a 1 s `asyncio.wait_for` over a
slow job in an executor. Under --simproc the test's clock is virtual and moved only
by the host, while those waits took real time: the selector's 0.1 s showed as 2 us,
the deadline never came and the wait_for never timed out (three tests failed). The
inner suite is written that way, with no simproc API; the outer test checks that
under --simproc it ran on the virtual clock (and, where it spawns, in the host).
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import asyncio
import json
import selectors
import socket
import subprocess
import threading
import time


def observed(name, *pids):
    print("OBSERVED", json.dumps([name, list(pids), time.time()]))


def test_selector_timeout_on_a_quiet_socketpair():
    server, client = socket.socketpair()
    with server, client, selectors.DefaultSelector() as sel:
        sel.register(server, selectors.EVENT_READ)
        start = time.monotonic()
        assert sel.select(timeout=0.1) == []
        assert time.monotonic() - start >= 0.1
    observed("selector")


def test_budget_over_a_trickling_socket():
    server, client = socket.socketpair()
    stop = threading.Event()

    def trickle():
        for _ in range(40):
            if stop.is_set():
                return
            client.sendall(b"x")
            time.sleep(0.05)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    got = b""
    deadline = time.monotonic() + 0.2
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            server.settimeout(remaining)
            try:
                got += server.recv(1)
            except socket.timeout:
                break
    finally:
        stop.set()
        thread.join()
        server.close()
        client.close()
    assert 0 < len(got) < 40
    observed("budget")


def test_wait_for_a_slow_job_in_an_executor():
    async def main():
        loop = asyncio.get_running_loop()
        with pytest_raises_timeout():
            await asyncio.wait_for(loop.run_in_executor(None, time.sleep, 1.0), 0.2)
    asyncio.run(main())
    observed("executor")


class pytest_raises_timeout:
    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        assert kind is not None and issubclass(kind, asyncio.TimeoutError), kind
        return True


def test_programs_get_the_time_the_test_waited():
    p = subprocess.Popen(["sleep", "0.1"])
    server, client = socket.socketpair()
    with server, client:
        start = time.monotonic()
        assert not select_readable(server, 0.3)
        assert time.monotonic() - start >= 0.3
    assert p.poll() == 0
    observed("host", p.pid)


def select_readable(sock, timeout):
    import select
    return select.select([sock], [], [], timeout)[0]
"""


def _run(observed, *args):
    seen = observed(INNER, args, passed=4, timeout=300)
    assert sorted(name for name, _, _ in seen) == ["budget", "executor", "host", "selector"]
    return {name: (pids, when) for name, pids, when in seen}


def test_the_suite_passes_natively(observed):
    seen = _run(observed)
    assert all(when > HOST_EPOCH + 20 * 365 * 86400 for _, when in seen.values())


def test_under_simproc_waits_outside_the_host_move_its_clock(observed):
    seen = _run(observed, "--simproc")
    assert all(HOST_EPOCH <= when < HOST_EPOCH + 60 for _, when in seen.values()), seen
    (pid,), _ = seen["host"]
    assert 1000 <= pid < 1100
