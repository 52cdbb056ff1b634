"""What the inner suites of the drop-in socket and asyncio tests share, as a real suite
shares its helpers: copied beside them, imported by name. Run as a program, it is their
daemon: it answers a request (a line) with its length, half a second after the request
came in full.
"""
import contextlib
import json
import socket
import sys
import time
import warnings

SLOW_COUNTER = [sys.executable, __file__]  # + the port


def observed(name, pids, *elapsed):
    """What a test saw, for the outer test: its programs' pids, how long its waits
    took (to 0.1 ms: under --simproc each read of the clock costs a microsecond), and
    the time at its end."""
    elapsed = [round(e, 4) for e in elapsed]
    print("OBSERVED", json.dumps([name, pids, elapsed, time.time()]))


def until(condition):
    """Wait until ``condition()`` holds, looking every 50 ms (virtual under --simproc)."""
    for _ in range(400):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("never happened")


@contextlib.contextmanager
def watched_loop(policy, watcher_class):
    """A new event loop of ``policy`` with a ``watcher_class`` child watcher, set up
    and taken down as CPython's test_asyncio does (the watchers are deprecated)."""
    loop = policy.new_event_loop()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        watcher = watcher_class()
        watcher.attach_loop(loop)
        policy.set_child_watcher(watcher)
    try:
        yield loop
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            policy.set_child_watcher(None)
            watcher.attach_loop(None)
            watcher.close()
        loop.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(where):
    """A connection to a daemon's port (an int) or Unix socket path, once it listens."""
    for _ in range(1000):
        if isinstance(where, int):
            sock = socket.socket()
            address = ("127.0.0.1", where)
        else:
            sock, address = socket.socket(socket.AF_UNIX), where
        try:
            sock.connect(address)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {where}")


def serve(port):
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen()
    while True:
        conn, _ = server.accept()
        with conn, conn.makefile("rb") as requests:
            line = requests.readline()
            time.sleep(0.5)
            conn.sendall(b"%d\n" % len(line))


if __name__ == "__main__":
    serve(int(sys.argv[1]))
