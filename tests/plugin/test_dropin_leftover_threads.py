"""A loop's read is not held back by server threads that earlier tests left behind.

anyio's socket tests serve from daemon threads; some of them (its IPv6 cases on a
machine without IPv6) never get a client and stay blocked in ``accept`` for the rest of
the run. Its ``TestUNIXStream.test_iterate`` then serves ``b"bl"``, sleeps 50 ms and
serves ``b"ah"``, and expects two chunks. Under ``--simproc``, before the test's host
exists, the loop's wait (trio's, uvloop's) first lets the test's other threads act, and
waits until they are quiet; a thread counted as quiet only once seen for 20 ms, and the
threads were noted one at a time, so five leftover threads held the loop for 100 ms: the
second chunk was there before it read the first (``[b"blah"]``).

The inner suite is written as such a suite is: earlier tests leave six threads blocked
in ``accept``; the last asks a server thread for its answer and reads it in
``trio.run``. It passes natively
and under ``--simproc``, where its time is the host's clock and the program it runs at
its end gets a pid of the host.
"""
from __future__ import annotations

import pytest

pytest.importorskip("trio")

pytest_plugins = ["pytester"]

INNER = r"""
import json
import secrets
import socket
import subprocess
import sys
import threading
import time

import pytest
import trio

LEFT = []  # listeners nobody connects to, as a suite's failed cases leave them


@pytest.mark.parametrize("n", range(6))
def test_leaves_a_server_thread(n):
    server = socket.socket(socket.AF_UNIX)
    server.bind("\0simproc-leftover-" + secrets.token_hex(8))
    server.listen()
    LEFT.append(server)
    threading.Thread(target=server.accept, daemon=True).start()


def test_iterate_chunks():
    path = "\0simproc-chunks-" + secrets.token_hex(8)
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()

    def serve():
        client, _ = server.accept()
        assert client.recv(4) == b"GET\n"
        time.sleep(0.01)  # it looks the answer up
        client.sendall(b"bl")
        time.sleep(0.05)
        client.sendall(b"ah")
        client.close()

    async def main():
        stream = await trio.open_unix_socket(path)
        await stream.send_all(b"GET\n")
        chunks = []
        while chunk := await stream.receive_some():
            chunks.append(chunk)
        await stream.aclose()
        return chunks

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    chunks = trio.run(main)
    thread.join()
    server.close()
    assert chunks == [b"bl", b"ah"]
    pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                             capture_output=True, text=True, check=True).stdout)
    print("OBSERVED", json.dumps([pid, time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_leftover_threads_do_not_hold_a_loops_read(observed, args):
    [(pid, now)] = observed(INNER, args, passed=7)
    if args:
        assert pid >= 1000
        assert 946684800 <= now < 946684800 + 60  # the host's clock
