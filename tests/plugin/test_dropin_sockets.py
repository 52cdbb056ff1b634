"""Drop-in mode: the test talks to its daemons over sockets without hanging (issue 13
item 4).

The inner suite is written as a real suite writes it: a daemon spawned with subprocess,
polled for its port with short sleeps, then queried with http.client, urllib, plain
sockets and makefile reads, without timeouts or with a socket timeout. It passes
natively and under ``--simproc``; each test prints what it saw (the daemon's pid, how
long its waits took, the time), and the outer tests check that under ``--simproc`` the
daemons were the host's (pid 1000) and the waits virtual (exact durations from the
host's start time).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pytest_simproc.dropin import DropinSession
from pytest_simproc.dropin.sockets import fd_waits_on_host

pytest_plugins = ["pytester"]

INNER = r'''
import concurrent.futures
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest
from dropin_helpers import SLOW_COUNTER, connect, free_port, observed


@pytest.fixture
def http_daemon(tmp_path):
    (tmp_path / "hello.txt").write_text("hello from the daemon\n")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                               str(port)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    connect(port).close()
    yield server, port
    server.terminate()
    server.wait()


@pytest.fixture
def counter():
    port = free_port()
    server = subprocess.Popen([*SLOW_COUNTER, str(port)])
    yield server, port
    server.kill()
    server.wait()


def test_http_client_and_urlopen_without_timeout(http_daemon):
    server, port = http_daemon
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/hello.txt")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"hello from the daemon\n")
    conn.close()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello.txt") as response:
        assert response.read() == b"hello from the daemon\n"
    observed("http", [server.pid])


def test_sendall_then_a_socket_timeout_then_the_answer(counter):
    server, port = counter
    request = b"x" * (8 << 20) + b"\n"  # more than the sockets' buffers hold
    with connect(port) as sock:
        sock.sendall(request)
        t0 = time.monotonic()
        sock.settimeout(0.2)
        with pytest.raises(socket.timeout):
            sock.recv(100)
        timed_out = time.monotonic() - t0
        sock.settimeout(None)
        with sock.makefile("rb") as answers:
            assert answers.readline() == b"%d\n" % len(request)
        observed("counter", [server.pid], timed_out, time.monotonic() - t0)


def test_recv_from_a_unix_socket_daemon():
    path = os.path.join(tempfile.mkdtemp(), "daemon.sock")  # sun_path is short
    server = subprocess.Popen([sys.executable, "-c", (
        "import socket, sys, time\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.bind(sys.argv[1])\n"
        "s.listen()\n"
        "conn, _ = s.accept()\n"
        "request = conn.recv(100)\n"
        "time.sleep(2)\n"
        "conn.sendall(request.upper())\n"), path])
    sock = connect(path)
    t0 = time.monotonic()
    sock.send(b"ping")
    assert sock.recv(100) == b"PING"
    observed("unix", [server.pid], time.monotonic() - t0)
    sock.close()
    assert server.wait() == 0


def test_pass_descriptors_to_a_daemon_and_back():
    path = os.path.join(tempfile.mkdtemp(), "fds.sock")
    server = subprocess.Popen([sys.executable, "-c", (
        "import os, socket, sys, time\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.bind(sys.argv[1])\n"
        "s.listen()\n"
        "conn, _ = s.accept()\n"
        "request, fds, _, _ = socket.recv_fds(conn, 100, 1)\n"
        "time.sleep(1)\n"
        "os.write(fds[0], request.upper())\n"
        "socket.send_fds(conn, [b'done'], fds)\n"), path])
    sock = connect(path)
    read_end, write_end = os.pipe()
    t0 = time.monotonic()
    socket.send_fds(sock, [b"hello"], [write_end])
    answer, fds, _, _ = socket.recv_fds(sock, 100, 1)
    assert answer == b"done" and len(fds) == 1
    assert os.read(read_end, 100) == b"HELLO"
    observed("fds", [server.pid], time.monotonic() - t0)
    for fd in (read_end, write_end, *fds):
        os.close(fd)
    sock.close()
    assert server.wait() == 0


def test_accept_a_connection_from_a_program():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        client = subprocess.Popen([sys.executable, "-c", (
            "import socket, sys, time\n"
            "time.sleep(1)\n"
            "socket.create_connection(('127.0.0.1', int(sys.argv[1]))).sendall(b'hi')\n"),
            str(listener.getsockname()[1])])
        t0 = time.monotonic()
        conn, _ = listener.accept()
        with conn:
            assert conn.recv(10) == b"hi"
        observed("accept", [client.pid], time.monotonic() - t0)
        assert client.wait() == 0


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl to make a cert")
def test_https_daemon(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "key.pem", "-out",
                    "cert.pem", "-days", "36500", "-subj", "/CN=localhost"],
                   cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / "hello.txt").write_text("secret\n")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", (
        "import http.server, ssl, sys\n"
        "context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
        "context.load_cert_chain('cert.pem', 'key.pem')\n"
        "server = http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])),\n"
        "                                http.server.SimpleHTTPRequestHandler)\n"
        "server.socket = context.wrap_socket(server.socket, server_side=True)\n"
        "server.serve_forever()\n"), str(port)], cwd=tmp_path, stderr=subprocess.DEVNULL)
    connect(port).close()
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    conn = http.client.HTTPSConnection("localhost", port, context=context)
    conn.request("GET", "/hello.txt")
    assert conn.getresponse().read() == b"secret\n"
    conn.close()
    observed("https", [server.pid])
    server.terminate()
    server.wait()


def test_threads_query_the_daemon_while_the_test_waits(http_daemon):
    server, port = http_daemon

    def get(_):
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", "/hello.txt")
        return conn.getresponse().read()

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        assert list(pool.map(get, range(3))) == [b"hello from the daemon\n"] * 3
    observed("threads", [server.pid])


def test_recvfrom_a_datagram_daemon():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", (
        "import socket, sys, time\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.bind(('127.0.0.1', int(sys.argv[1])))\n"
        "while True:\n"
        "    data, client = s.recvfrom(100)\n"
        "    if data != b'hello':\n"
        "        break\n"
        "    s.sendto(data, client)\n"
        "time.sleep(1)\n"
        "s.sendto(data[::-1], client)\n"), str(port)])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.1)
        while True:  # until the daemon is there to answer
            sock.sendto(b"hello", ("127.0.0.1", port))
            try:
                assert sock.recvfrom(100)[0] == b"hello"
                break
            except socket.timeout:
                continue
        sock.settimeout(None)
        sock.sendto(b"ping", ("127.0.0.1", port))
        t0 = time.monotonic()
        answer = sock.recvfrom(100)
        while answer[0] == b"hello":  # a late answer to a hello
            answer = sock.recvfrom(100)
        assert answer == (b"gnip", ("127.0.0.1", port))
        observed("datagram", [server.pid], time.monotonic() - t0)
    assert server.wait() == 0


def test_a_server_of_the_test_itself_is_not_the_hosts():
    sleeper = subprocess.Popen(["sleep", "100"])  # the host has a process
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def serve():
            conn, _ = listener.accept()
            with conn:
                conn.sendall(conn.recv(10) * 2)

        thread = threading.Thread(target=serve)
        thread.start()
        with socket.create_connection(listener.getsockname()) as sock:
            t0 = time.monotonic()
            sock.sendall(b"ab")
            assert sock.recv(10) == b"abab"
            observed("own server", [sleeper.pid], time.monotonic() - t0)
        thread.join()
    sleeper.kill()
    sleeper.wait()
'''

START = 946684800  # the host's default start time


OPENSSL = shutil.which("openssl") is not None  # the https test makes its cert with it
OUTCOMES = dict(passed=9, skipped=0) if OPENSSL else dict(passed=8, skipped=1)


def test_sockets_natively(observe):
    seen = observe(INNER, [], **OUTCOMES)
    assert all(now > 1.6e9 and pids != [1000] for pids, _, now in seen.values())
    assert seen["counter"][1][1] >= 0.5 and seen["unix"][1][0] >= 2


def test_sockets_under_simproc_talk_to_the_host(observe):
    seen = observe(INNER, ["--simproc"], **OUTCOMES)
    # its own thread answered, outside the host: the test's clock moved by the real
    # time the wait took (routing.waited_outside), which the machine's load decides
    own_pids, (own_elapsed,), own_now = seen.pop("own server")
    assert own_pids == [1000] and own_elapsed >= 0 and START <= own_now < START + 60
    # the answer comes after the daemon's 0.5 s sleep and the CPU it took to read the
    # rest of the 8 MB request after sendall returned (the CPU model: 11 ms once in CI)
    counter_pids, (timed_out, answered), _ = seen.pop("counter")
    assert counter_pids == [1000] and timed_out == 0.2  # virtual, and exact
    assert 0.5 <= answered < 0.6
    assert {name: (pids, elapsed) for name, (pids, elapsed, _) in seen.items()} == {
        "http": ([1000], []),
        "unix": ([1000], [2.0]),
        "fds": ([1000], [1.0]),  # recvmsg, sendmsg
        "accept": ([1000], [1.0]),
        "threads": ([1000], []),
        **({"https": ([1001], [])} if OPENSSL else {}),  # 1000 was openssl; TLS: below Python
        "datagram": ([1000], [1.0]),  # a bound datagram socket: the host may send to it
    }
    assert all(START <= now < START + 60 for _, _, now in seen.values())


def test_a_daemon_that_never_answers_fails_the_test_instead_of_hanging(pytester):
    pytester.makepyfile(r'''
        import socket, subprocess, sys, time
        import pytest

        def test_no_answer():
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            # the daemon connects and then only waits for its own request
            subprocess.Popen([sys.executable, "-c",
                "import socket, sys; s = socket.create_connection(('127.0.0.1', "
                "int(sys.argv[1]))); s.recv(1)", str(listener.getsockname()[1])])
            conn, _ = listener.accept()
            conn.settimeout(30)
            t0 = time.time()
            with pytest.raises(TimeoutError):
                conn.recv(1)
            assert 30 <= time.time() - t0 < 30.0001
            conn.settimeout(None)
            conn.recv(1)  # natively: forever
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--simproc",
                                           timeout=120)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*natively it would never return*"])


def test_which_descriptors_wait_on_the_host():
    """The hook select and poll can share: a socket whose other end a host process
    holds waits on the host, and so does a listener of the test while the host has
    processes; a socket to the test's own listener, a socketpair and a pipe do not."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with DropinSession() as session:
        daemon = subprocess.Popen([sys.executable, "-c", (
            "import socket, sys\n"
            "s = socket.socket()\n"
            "s.bind(('127.0.0.1', int(sys.argv[1])))\n"
            "s.listen()\n"
            "s.accept()[0].recv(1)\n"), str(port)])
        time.sleep(1)  # virtual: the daemon listens
        to_daemon = socket.create_connection(("127.0.0.1", port))
        own = socket.socket()
        own.bind(("127.0.0.1", 0))
        own.listen()
        to_own = socket.create_connection(own.getsockname())
        pair = socket.socketpair()
        read_end, write_end = os.pipe()
        try:
            assert fd_waits_on_host(session, to_daemon.fileno())
            assert fd_waits_on_host(session, own.fileno())
            assert not fd_waits_on_host(session, to_own.fileno())
            assert not any(fd_waits_on_host(session, s.fileno()) for s in pair)
            assert not fd_waits_on_host(session, read_end)
            to_daemon.sendall(b"!")
            assert daemon.wait() == 0
            assert not fd_waits_on_host(session, own.fileno())  # nobody left to call
        finally:
            for s in (to_daemon, own, to_own, *pair):
                s.close()
            os.close(read_end)
            os.close(write_end)


def test_a_thread_on_a_known_socket_does_not_wait_for_the_host():
    """While the test's thread runs the host (it holds the session's lock), another
    thread's recv on a socket already known not to be the host's goes on natively."""
    with DropinSession() as session:
        sleeper = subprocess.Popen(["sleep", "100"])  # the host exists
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            client = socket.create_connection(listener.getsockname())
            server, _ = listener.accept()
            server.sendall(b"ab")
            assert client.recv(1) == b"a"  # the test's thread: now known
            got = []
            with session._lock:  # as during a host run
                reader = threading.Thread(target=lambda: got.append(client.recv(1)))
                reader.start()
                reader.join(30)
                done_during_the_run = not reader.is_alive()
            reader.join()
            assert done_during_the_run and got == [b"b"]
            for s in (client, server):
                s.close()
        sleeper.kill()
        sleeper.wait()


# ---------------------------------------------------------------- hostile arguments
@pytest.fixture
def quiet_daemon():
    """A socket to a daemon of the host that never sends, and one to the test's own
    listener that never gets anything either: the same calls must fail alike."""
    with DropinSession(), socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        daemon = subprocess.Popen([sys.executable, "-c", (
            "import socket, sys\n"
            "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
            "s.recv(1)\n"), str(listener.getsockname()[1])])
        to_daemon, _ = listener.accept()  # runs the host until the daemon connects
        native = socket.create_connection(listener.getsockname())
        own, _ = listener.accept()
        yield to_daemon, native
        for s in (to_daemon, native, own):
            s.close()
        daemon.kill()
        daemon.wait()


def _failure(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 -- the comparison is the point
        return type(exc).__name__, getattr(exc, "errno", None)
    return None


SIZES = (st.integers(-2**70, 2**16) | st.sampled_from([2**62, 2**63, 2**70, None, "1", 1.5]))
FLAGS = (st.integers(-2**70, 2**70)
         | st.sampled_from([socket.MSG_OOB, socket.MSG_PEEK, socket.MSG_TRUNC,
                            socket.MSG_WAITALL, socket.MSG_ERRQUEUE, 0xFFFF, -1, True,
                            None, "0", 0.0]))


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=st.sampled_from(["recv", "recvfrom", "recv_into", "recvfrom_into", "recvmsg"]),
       size=SIZES, flags=FLAGS)
def test_hostile_arguments_fail_as_natively(quiet_daemon, call, size, flags):
    """A bad argument to a blocking call on a socket to the host fails at once with
    the real call's error (the host is not run first): compared with the same call on
    a native socket, where the call with MSG_DONTWAIT added fails (so it cannot
    block)."""
    to_daemon, native = quiet_daemon

    def make(sock, with_flags):
        method = getattr(sock, call)
        if call.endswith("_into"):
            return lambda: method(bytearray(16), size, with_flags)
        if call == "recvmsg":
            return lambda: method(size, 0, with_flags)
        return lambda: method(size, with_flags)

    dontwait = flags | int(socket.MSG_DONTWAIT) if isinstance(flags, int) else flags
    expected = _failure(make(native, dontwait))
    assume(expected is not None and expected[0] != "BlockingIOError")
    assert _failure(make(to_daemon, flags)) == expected


def test_a_non_blocking_call_stays_non_blocking(quiet_daemon):
    """MSG_DONTWAIT and a non-blocking socket get the real call (no host run, no
    virtual time), a timeout is virtual time and the socket keeps it."""
    to_daemon, _ = quiet_daemon
    t0 = time.time()
    with pytest.raises(BlockingIOError):
        to_daemon.recv(10, socket.MSG_DONTWAIT)
    to_daemon.setblocking(False)
    with pytest.raises(BlockingIOError):
        to_daemon.recv(10)
    assert time.time() - t0 < 0.0001  # the reads of the clock only
    to_daemon.settimeout(2.5)
    with pytest.raises(socket.timeout):
        to_daemon.recv(10)
    assert 2.5 <= time.time() - t0 < 2.5001 and to_daemon.gettimeout() == 2.5
