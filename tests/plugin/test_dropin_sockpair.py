"""The test's waits on a socket pair (a duplex ``multiprocessing.Pipe()``,
``socket.socketpair()``) whose other end a program of the host holds run the host.

A socket pair's ends have no address, so the test could not tell that the other end
was a host process's: ``Connection.poll(timeout)`` waited natively in real time while
the host stood still, ``recv`` blocked for ever, and a timeout passed before the child
had run (uvicorn's supervisor pings its workers over a duplex Pipe from a thread of the
test, and test_multiprocess_health_check failed about 2 runs in 5). The inner suite is
written as real suites write it, with no simproc API; each test reports its children's
pids and how long its waits took, and the outer test checks that under --simproc they
were the host's and the times virtual.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import json
import multiprocessing
import multiprocessing.connection
import os
import socket
import threading
import time


def observed(name, pids, *elapsed):
    print("OBSERVED", json.dumps([name, pids, [round(e, 4) for e in elapsed], time.time()]))


def echo(conn):
    # answers each message, upper-cased, half a second after it came
    conn.send((os.getpid(), time.time()))
    while True:
        message = conn.recv_bytes()
        if message == b"stop":
            return
        time.sleep(0.5)
        conn.send_bytes(message.upper())


def test_duplex_pipe_to_a_forked_child():
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    worker = ctx.Process(target=echo, args=(child,))
    worker.start()
    pid, _ = parent.recv()
    parent.send_bytes(b"ping")
    t0 = time.monotonic()
    assert not parent.poll(0.1)
    t1 = time.monotonic()
    assert parent.poll(5)
    t2 = time.monotonic()
    assert parent.recv_bytes() == b"PING"
    parent.send_bytes(b"x" * 1_000_000)  # more than the pair holds: the child reads
    assert parent.recv_bytes() == b"X" * 1_000_000
    parent.send_bytes(b"stop")
    worker.join()
    assert worker.exitcode == 0
    observed("fork", [worker.pid, pid], t1 - t0, t2 - t0)


def test_duplex_pipe_to_a_spawned_child():
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    worker = ctx.Process(target=echo, args=(child,))
    worker.start()
    pid, when = parent.recv()  # blocks until the child has started
    t0 = time.monotonic()
    parent.send_bytes(b"ping")
    assert parent.recv_bytes() == b"PING"
    t1 = time.monotonic()
    parent.send_bytes(b"stop")
    worker.join()
    observed("spawn", [worker.pid, pid], t1 - t0)


def test_socketpair_to_a_forked_child():
    mine, theirs = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        mine.close()
        data = theirs.recv(100)
        time.sleep(2)
        theirs.sendall(str(os.getpid()).encode() + b" " + data[::-1])
        os._exit(0)
    theirs.close()
    mine.sendall(b"abc")
    mine.settimeout(1)
    t0 = time.monotonic()
    try:
        mine.recv(100)
        raise AssertionError("an answer before the child's sleep ended")
    except TimeoutError:
        pass
    t1 = time.monotonic()
    mine.settimeout(None)
    child_pid, answer = mine.recv(100).split()
    t2 = time.monotonic()
    assert answer == b"cba"
    assert os.waitpid(pid, 0) == (pid, 0)
    observed("socketpair", [pid, int(child_pid)], t1 - t0, t2 - t0)


def serve_one(path):
    with multiprocessing.connection.Listener(path) as listener:
        with listener.accept() as conn:
            question = conn.recv()
            time.sleep(1)
            conn.send((os.getpid(), question * 2))


def test_unix_socket_a_forked_child_listens_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative path: tmp_path's is too long for sun_path
    path = "s"
    server = multiprocessing.get_context("fork").Process(target=serve_one, args=(path,))
    server.start()
    for _ in range(200):
        if os.path.exists(path):
            break
        time.sleep(0.05)
    with multiprocessing.connection.Client(path) as conn:
        conn.send("ab")
        t0 = time.monotonic()
        pid, answer = conn.recv()
        t1 = time.monotonic()
    assert answer == "abab"
    server.join()
    observed("listener", [server.pid, pid], t1 - t0)


def test_supervisor_thread_replaces_a_killed_worker():
    # uvicorn's Multiprocess supervisor: a thread pings each worker over a duplex Pipe
    # every half second, and replaces one that is dead
    ctx = multiprocessing.get_context("spawn")
    workers, done = [], threading.Event()

    def start():
        parent, child = ctx.Pipe()
        worker = ctx.Process(target=echo, args=(child,))
        worker.start()
        parent.recv()
        return worker, parent

    def alive(worker, conn):
        if not worker.is_alive():
            return False
        conn.send_bytes(b"ping")
        return conn.poll(5) and conn.recv_bytes() == b"PING"

    def supervise():
        workers.extend(start() for _ in range(2))
        while not done.wait(0.5):
            for i, (worker, conn) in enumerate(workers):
                if not alive(worker, conn):
                    worker.kill()
                    worker.join()
                    workers[i] = start()

    thread = threading.Thread(target=supervise, daemon=True)
    thread.start()
    for _ in range(100):
        if len(workers) == 2:
            break
        time.sleep(0.1)
    first = workers[0][0]
    first.kill()
    first.join()
    for _ in range(600):  # a spawned replacement starts slowly on a loaded machine
        if workers[0][0] is not first:
            break
        time.sleep(0.1)
    if workers[0][0] is first:
        done.set()
        for worker, _ in workers:
            worker.kill()  # not left for multiprocessing's exit to join for ever
        raise AssertionError("the supervisor did not replace the killed worker")
    done.set()
    thread.join()  # first: two threads reading one Connection at once can tear its frames
    assert all(alive(*w) for w in workers)
    pids = [first.pid] + [w.pid for w, _ in workers]
    for worker, conn in workers:
        conn.send_bytes(b"stop")
        worker.join()
    observed("supervisor", pids)
"""


def _run(observed, *args) -> dict:
    return {name: (pids, elapsed, when) for name, pids, elapsed, when
            in observed(INNER, args, passed=5, timeout=600)}


def test_the_suite_passes_natively(observed):
    seen = _run(observed)
    assert all(when > HOST_EPOCH + 20 * 365 * 86400 for _, _, when in seen.values())


def test_under_simproc_socket_pair_waits_are_virtual_and_the_children_the_hosts(observed):
    seen = _run(observed, "--simproc")
    for name, (pids, _, when) in seen.items():
        assert all(1000 <= pid < 1100 for pid in pids), (name, pids)
        assert HOST_EPOCH <= when < HOST_EPOCH + 3600, (name, when)
    # what each child saw of its own pid is what the test's Process says
    for name in ("fork", "spawn", "socketpair", "listener"):
        pids = seen[name][0]
        assert pids[0] == pids[1], (name, pids)
    # the timeouts are virtual seconds, exactly (a clock read costs a microsecond)
    assert seen["fork"][1][0] == 0.1 and 0.5 <= seen["fork"][1][1] < 0.51, seen["fork"]
    assert seen["socketpair"][1][0] == 1.0 and 2.0 <= seen["socketpair"][1][1] < 2.01
    assert 1.0 <= seen["listener"][1][0] < 1.01, seen["listener"]
    assert 0.5 <= seen["spawn"][1][0] < 0.51, seen["spawn"]
