"""An event loop that waits for bytes the machine still carries between its own sockets.

tornado's IOStream tests connect two TCP sockets of one loop and write a line (or a TLS
record) right after a small one. Once the connection has gone back and forth, the
peer delays its ACKs and Nagle's algorithm holds the second write until the first is
acknowledged: natively the loop's wait lasts those milliseconds. Under --simproc the
loop saw nothing ready and moved its virtual clock to the next timer, the test's
5 s limit, and 7 of tornado's iostream tests timed out at once. The inner suite is
written as tornado's streams work, with no simproc API.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import asyncio
import json
import socket
import time


def test_small_writes_after_an_exchange():
    async def main():
        loop = asyncio.get_running_loop()
        listener = socket.create_server(("127.0.0.1", 0))
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        for sock in (client, server):
            sock.setblocking(False)

        async def read(sock, n):
            data = b""
            while len(data) < n:
                ready = loop.create_future()
                loop.add_reader(sock, ready.set_result, None)
                try:
                    await asyncio.wait_for(ready, 5)
                finally:
                    loop.remove_reader(sock)
                data += sock.recv(n - len(data))
            return data

        start = time.time()
        for _ in range(5):
            client.send(b"hello")
            assert await read(server, 5) == b"hello"
            server.send(b"ok")
            assert await read(client, 2) == b"ok"
            client.send(b"wor")
            client.send(b"ld!!")
            assert await read(server, 7) == b"world!!"
        for sock in (client, server, listener):
            sock.close()
        print("OBSERVED", json.dumps([start, time.time() - start]))

    asyncio.run(main())
"""


def _run(observed, *args) -> tuple:
    (seen,) = observed(INNER, args, passed=1)
    return tuple(seen)


def test_natively(observed):
    start, _ = _run(observed)
    assert start > HOST_EPOCH + 20 * 365 * 86400


def test_under_simproc_the_loop_waits_for_the_bytes_in_flight(observed):
    start, elapsed = _run(observed, "--simproc")
    # the test's virtual clock, moved by the real waits for the machine only
    assert HOST_EPOCH <= start < HOST_EPOCH + 60 and elapsed < 5
