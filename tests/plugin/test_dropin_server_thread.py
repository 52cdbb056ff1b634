"""An event loop's request to a server thread of the test is answered before its timer.

tornado's ``SyncHTTPClientTest`` serves HTTP from a thread of the test, started before
the client's loop, and the client's request has a 20 s limit. The server thread's
answer takes a little real time; on a loaded machine, more. Under ``--simproc``,
before the test's host exists, the client's loop found nothing ready, waited for the
test's other threads to be quiet, and then moved its clock all the way to its limit:
the answer was there by then, but so was the limit, and the request timed out. Once
the other threads have acted, the loop looks at its descriptors again at the same
instant before its clock moves.

The server here computes for a while before it answers, as a loaded machine would
make it; the test passes natively and under ``--simproc``, where its clock moved
less than the limit.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import asyncio
import json
import os
import socket
import threading
import time


def serve(listener):
    conn, _ = listener.accept()
    with conn:
        request = conn.recv(100)
        # the work of an answer, or a CPU shared with other programs (real time)
        end = time.thread_time() + 0.2
        while time.thread_time() < end:
            pass
        conn.sendall(b"answer to " + request)


def test_a_server_thread_answers_within_the_limit():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = threading.Thread(target=serve, args=(listener,), daemon=True)
    server.start()

    async def ask():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"question")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(100), timeout=20)
        writer.close()
        return answer

    start = time.monotonic()
    assert asyncio.run(ask()) == b"answer to question"
    elapsed = time.monotonic() - start
    server.join()
    listener.close()
    assert elapsed < 20
    print("OBSERVED", json.dumps([os.getpid(), elapsed, time.time()]))
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_a_loop_gets_its_server_threads_answer(observed, args):
    [(pid, elapsed, now)] = observed(INNER, args, passed=1)
    if args:
        # the test ran in its host (under its own pid) and on its virtual clock
        assert pid > 1 and 946684800 <= now < 946684800 + 20
