"""Threads that earlier tests left alive do not change what a later test reads.

Suites leave daemon threads behind for the rest of the run, and under ``--simproc``
the test's other threads are the outside its host waits for. Each inner suite is
written as such a suite is; the outer test runs it natively and under ``--simproc``,
where the program it runs at its end has a pid of the host and its time is the host's.

A loop's read is not held back by them (``LOOP_READ``). anyio's socket tests serve from
daemon threads; some of them (its IPv6 cases on a machine without IPv6) never get a
client and stay blocked in ``accept`` for the rest of the run. Its
``TestUNIXStream.test_iterate`` then serves ``b"bl"``, sleeps 50 ms and serves
``b"ah"``, and expects two chunks. Under ``--simproc``, before the test's host exists,
the loop's wait (trio's, uvloop's) first lets the test's other threads act, and waits
until they are quiet; a thread counted as quiet only once seen for 20 ms, and the
threads were noted one at a time, so five leftover threads held the loop for 100 ms:
the second chunk was there before it read the first (``[b"blah"]``). Here earlier
tests leave six threads blocked in ``accept``; the last asks a server thread for its
answer and reads it in ``trio.run``.

communicate() reads all of a program's output past a pipe's 64 KiB while one lives
(``OUTPUT_PAST_A_PIPE``). plumbum kills timed-out commands from a daemon thread that
its first ``timeout=`` starts and that then waits on a queue for the rest of the run.
Its ``test_cmd`` later reads ``ls /tmp`` with ``communicate()``; with more than a pipe
holds, the rest waits in the session for the test's end of the pipe when the program
ends. Under ``--simproc``, with another thread of the test alive, the host's run
returned once no program was left, with that rest still waiting, and
``communicate()`` raised SimprocError ("waits for a descriptor that no process of the
simulated host can make ready"). Here a first test starts a daemon thread that waits
on a queue, the next reads 200 kB of a program's output.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

LOOP_READ = r"""
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

OUTPUT_PAST_A_PIPE = r"""
import json
import queue
import subprocess
import sys
import threading
import time

JOBS = queue.Queue()  # a suite's watchdog thread waits here for the rest of the run


def test_starts_a_watchdog_thread():
    threading.Thread(target=JOBS.get, daemon=True).start()


def test_reads_more_than_a_pipe_holds():
    proc = subprocess.Popen([sys.executable, "-c", "print('x' * 199999)"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out, err = proc.communicate()
    assert (proc.returncode, len(out), err) == (0, 200000, b"")
    print("OBSERVED", json.dumps([proc.pid, time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
@pytest.mark.parametrize("inner, passed", [(LOOP_READ, 7), (OUTPUT_PAST_A_PIPE, 2)],
                         ids=["loop_read", "output_past_a_pipe"])
def test_leftover_threads_change_nothing_read(observed, args, inner, passed):
    if inner is LOOP_READ:
        pytest.importorskip("trio")
    [(pid, now)] = observed(inner, args, passed=passed)
    if args:
        assert pid >= 1000
        assert 946684800 <= now < 946684800 + 60  # the host's clock
