"""A pre-forking TCP server (prefork.py) in a simulated host, with the test as its client.

The master listens on a real loopback port; its workers block in accept(2) on the shared
socket. The test connects from outside the host with an ordinary socket: the connection
and the request sit in the real kernel until the host runs (``simhost.run_for``), which
is when a worker, parked by the host in accept or recv, is woken and answers, stamping
the reply with the virtual time.
"""
from __future__ import annotations

import signal
import socket

import pytest

from pytest_simproc import Exited, Signaled

START = 946684800


def start(simhost, py_script, *args):
    """Spawn the master and run the host until it printed its port."""
    master = simhost.spawn(**py_script("prefork.py", *args))
    assert simhost.run_until(lambda: b"\n" in master.stdout, timeout=5), master.stderr
    first = master.stdout.split(b"\n", 1)[0].decode()
    assert first.startswith("port ")
    return master, int(first.split()[1])


def read_available(sock) -> bytes:
    """What the server has sent so far (it has, once the host ran): never waits."""
    sock.setblocking(False)
    data = b""
    while True:
        try:
            chunk = sock.recv(4096)
        except BlockingIOError:
            return data
        if not chunk:
            return data + b"<EOF>"
        data += chunk


def ask(simhost, port, request: bytes) -> bytes:
    """One connection from outside the host: send ``request``, let the host run for
    one virtual second, return the reply (``<EOF>`` marks a closed connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(request)
        simhost.run_for(1)      # external events enter the host when it runs
        return read_available(client)


def pong_pid(reply: bytes) -> int:
    word, pid, _ = reply.split()
    assert word == b"pong", reply
    return int(pid)


def lines(proc) -> list[str]:
    return proc.stdout.decode().splitlines()


def test_master_forks_two_workers(simhost, py_script):
    master, port = start(simhost, py_script)
    simhost.run_for(1)
    assert 0 < port < 65536
    out = lines(master)
    assert out[1] == "master 1000 workers 1001 1002"
    assert sorted(out[2:]) == ["worker 1001 serving", "worker 1002 serving"]
    assert [w.pid for w in master.children()] == [1001, 1002]
    assert all(w.state == "running" and w.ppid == 1000 for w in master.children())
    assert simhost.unsupported_syscalls == []


def test_ping_from_outside_the_host(simhost, py_script):
    master, port = start(simhost, py_script)
    reply = ask(simhost, port, b"ping\n")
    assert pong_pid(reply) in (1001, 1002)
    assert reply == f"pong {pong_pid(reply)} {START}\n".encode()   # served at once
    simhost.run_for(1)          # the client's close reaches the worker
    assert f"{pong_pid(reply)} served 1" in lines(master)


def test_line_protocol(simhost, py_script):
    _, port = start(simhost, py_script)
    simhost.run_for(41)
    reply = ask(simhost, port, b"ping\nhello\nping\nquit\nping\n")
    pid = pong_pid(reply.split(b"\n")[0] + b"\n")
    assert reply == (f"pong {pid} {START + 41}\nerror hello\npong {pid} {START + 41}\n"
                     f"bye\n<EOF>").encode()    # nothing after quit is answered


def test_replies_carry_the_virtual_time(simhost, py_script):
    master, port = start(simhost, py_script)
    replies = [ask(simhost, port, b"ping\n") for _ in range(6)]
    times = [int(r.split()[2]) for r in replies]
    assert times == [START + n for n in range(6)]   # one request per virtual second
    simhost.run_for(1)
    served = [l for l in lines(master) if " served " in l]
    assert len(served) == 6
    assert {pong_pid(r) for r in replies} <= {1001, 1002}


def test_a_third_client_waits_for_a_free_worker(simhost, py_script):
    _, port = start(simhost, py_script)
    clients = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
    try:
        for c in clients:
            c.sendall(b"ping\n")
        simhost.run_for(1)
        replies = [read_available(c) for c in clients]
        # each worker holds its connection until the client closes it: two answered
        answered = [r for r in replies if r]
        assert len(answered) == 2
        assert sorted(pong_pid(r) for r in answered) == [1001, 1002]
        waiting = replies.index(b"")
        busy = next(i for i, r in enumerate(replies) if r)
        clients[busy].close()
        simhost.run_for(1)
        assert read_available(clients[waiting]) == \
            f"pong {pong_pid(replies[busy])} {START + 1}\n".encode()
    finally:
        for c in clients:
            c.close()


def test_service_survives_a_killed_worker(simhost, py_script):
    master, port = start(simhost, py_script)
    simhost.run_for(1)
    simhost.process(1001).send_signal(signal.SIGKILL)
    simhost.run_for(1)
    assert simhost.process(1001).exit_status == Signaled(signal.SIGKILL)
    live = [w.pid for w in master.children() if w.state == "running"]
    reply = ask(simhost, port, b"ping\n")
    assert pong_pid(reply) in live and pong_pid(reply) != 1001


def test_killed_worker_is_restarted(simhost, py_script):
    master, port = start(simhost, py_script)
    simhost.run_for(5)
    simhost.process(1001).send_signal(signal.SIGKILL)
    simhost.run_for(1)
    assert lines(master)[-2:] == ["restart 1001 -> 1003 (killed by SIGKILL)",
                                  "worker 1003 serving"]
    old = simhost.process(1001)
    assert (old.state, old.reaped_by) == ("reaped", 1000)
    assert [w.pid for w in master.children()] == [1002, 1003]
    simhost.assert_no_zombies()
    reply = ask(simhost, port, b"ping\n")
    assert pong_pid(reply) in (1002, 1003)
    assert reply.endswith(f" {START + 6}\n".encode())


@pytest.mark.simproc(expected_final_state=Exited(0))
def test_sigterm_stops_everything(simhost, py_script):
    master, port = start(simhost, py_script)
    ask(simhost, port, b"ping\n")
    simhost.run_for(10)
    master.terminate()
    assert master.wait(timeout=1) == Exited(0)
    assert simhost.now == START + 11
    assert lines(master)[-4:] == ["stopping",
                                  "reaped 1001 (killed by SIGTERM)",
                                  "reaped 1002 (killed by SIGTERM)",
                                  "bye"]
    for pid in (1001, 1002):
        w = simhost.process(pid)
        assert (w.exit_status, w.reaped_by) == (Signaled(signal.SIGTERM), 1000)
    assert master.reaped_by == 1
    simhost.assert_no_zombies()
    assert simhost.tree() == "1 init"
    # every process holding the listening socket is gone: the port is closed
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_worker_count_and_usage(simhost, py_script):
    master, _ = start(simhost, py_script, "3")
    simhost.run_for(1)
    assert lines(master)[1] == "master 1000 workers 1001 1002 1003"
    bad = simhost.spawn(**py_script("prefork.py", "0"), expected_final_state=Exited(2))
    assert bad.wait(timeout=1) == Exited(2)
    assert bad.stderr == b"usage: prefork.py [NWORKERS >= 1]\n"
