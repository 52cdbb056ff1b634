"""Blocking I/O in the host: pipes, poll/select/epoll and sockets never block natively."""
from __future__ import annotations

import os
import re
import socket
import sys
import textwrap


from pytest_simproc import Exited, SimHost

from .conftest import later_by_startups, same_as_native

START = 946684800
PY = os.path.realpath(sys.executable)


def run_in_host(argv, **kw):
    with SimHost(**kw) as host:
        proc = host.spawn(argv)
        host.run()
        return proc.exit_status, proc.stdout, proc.stderr, host.now, host.report()


def test_pipeline_yes_head_wc():
    status, out, err, _, report = run_in_host(["bash", "-c", "yes | head -n 100000 | wc -l"])
    assert (status, out.strip(), err) == (Exited(0), b"100000", b"")
    # yes dies of SIGPIPE as it would natively, not of EPIPE
    assert [p["exit"] for p in report["processes"] if p["argv"] == ["yes"]] == [
        {"signaled": "SIGPIPE"}]


def test_command_substitution_waits_in_virtual_time():
    status, out, _, now, _ = run_in_host(
        ["bash", "-c", 'x=$(echo a; sleep 5; echo b); echo "[$x]"; date +%s'])
    assert status == Exited(0)
    assert out == b"[a\nb]\n946684805\n"
    assert later_by_startups(now, START + 5, 2)   # sleep's and date's


PIPE_TIMEOUTS = textwrap.dedent("""
    import os, select, selectors, time
    r, w = os.pipe()
    t0 = time.time()
    p = select.poll(); p.register(r, select.POLLIN)
    print("poll-timeout", p.poll(2500), time.time() - t0)
    print("select-timeout", select.select([r], [], [], 1.5), time.time() - t0)
    ep = select.epoll(); ep.register(r, select.EPOLLIN)
    print("epoll-timeout", ep.poll(0.5), time.time() - t0)
    pid = os.fork()
    if pid == 0:
        time.sleep(3)
        os.write(w, b"x")
        os._exit(0)
    print("epoll-ready", ep.poll(10), time.time() - t0)
    print("select-ready", select.select([r], [], [], 10)[0] == [r], time.time() - t0)
    print("read", os.read(r, 10), time.time() - t0)
    os.waitpid(pid, 0)
""")


def test_poll_select_epoll_timeouts_are_virtual():
    status, out, err, now, _ = run_in_host([PY, "-c", PIPE_TIMEOUTS])
    assert status == Exited(0), err
    assert out.decode().splitlines() == [
        "poll-timeout [] 2.5",
        "select-timeout ([], [], []) 4.0",
        "epoll-timeout [] 4.5",
        "epoll-ready [(3, 1)] 7.5",
        "select-ready True 7.5",
        "read b'x' 7.5",
    ]
    assert now == START + 7.5


ECHO_SERVER = textwrap.dedent("""
    import socket, sys, time
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    print(srv.getsockname()[1], flush=True)
    for _ in range(2):
        conn, _ = srv.accept()
        data = conn.recv(100)
        conn.sendall(b"echo:" + data + b" at %d" % time.time())
        conn.close()
""")


def test_outside_client_talks_to_a_daemon_in_the_host():
    with SimHost() as host:
        server = host.spawn([PY, "-c", ECHO_SERVER])
        host.run_until(lambda: server.stdout.endswith(b"\n"), timeout=10)
        port = int(server.stdout)
        replies = []
        for word in (b"one", b"two"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                client.sendall(word)
                host.run_for(1)  # the host serves what arrived, at a well-defined point
                replies.append(client.recv(100))
        host.run()
        assert replies == [b"echo:one at 946684800", b"echo:two at 946684801"]
        assert server.exit_status == Exited(0)


def test_pipes_are_deterministic():
    script = "for i in 1 2 3; do (sleep $i; echo $i) & done | cat; echo end"
    outs = {run_in_host(["bash", "-c", script])[1] for _ in range(3)}
    assert outs == {b"1\n2\n3\nend\n"}


THREADS = textwrap.dedent("""
    import threading, time
    t0 = time.time()
    ev = threading.Event()
    out = []
    def worker(n):
        for i in range(3):
            time.sleep(0.5 * n)
            out.append((n, i, time.time() - t0))
    ts = [threading.Thread(target=worker, args=(n,)) for n in (1, 2)]
    for t in ts:
        t.start()
    print("wait", ev.wait(timeout=5), time.time() - t0)
    for t in ts:
        t.join()
    print(out)
    print(threading.active_count(), time.time() - t0)
""")


def test_python_threads_and_event_timeout_are_virtual_and_deterministic():
    results = {run_in_host([PY, "-c", THREADS])[1:4:2] for _ in range(3)}
    assert len(results) == 1
    out, now = results.pop()
    assert out.decode().splitlines() == [
        "wait False 5.0",
        "[(1, 0, 0.5), (1, 1, 1.0), (2, 0, 1.0), (1, 2, 1.5), (2, 1, 2.0), (2, 2, 3.0)]",
        "1 5.0",
    ]
    assert now == START + 5


PSELECT_EXPECTED = (b"pselect -1 Interrupted system call got=1 at +2\n"
                    b"ppoll -1 Interrupted system call got=2 at +4\n"
                    b"still blocked 1\n")


def test_pselect_ppoll_temporary_mask_native(build, native):
    """Natively the seconds are a lower bound: a loaded machine makes the child's
    sleeps late, never early (the host's run is exact)."""
    out = native([build("pselect_mask")], timeout=30).stdout.decode()
    late = re.findall(r"at \+(\d+)", out)
    assert re.sub(r"at \+\d+", "at +N", out) == re.sub(
        r"at \+\d+", "at +N", PSELECT_EXPECTED.decode())
    assert int(late[0]) >= 2 and int(late[1]) >= 4, out


def test_pselect_ppoll_temporary_mask_in_host(build):
    status, out, err, now, _ = run_in_host([build("pselect_mask")])
    assert (status, out) == (Exited(0), PSELECT_EXPECTED), err
    assert now == START + 4


PROGRAMS = os.path.join(os.path.dirname(__file__), os.pardir, "programs")


def _native(script):
    import subprocess
    done = subprocess.run([PY, os.path.join(PROGRAMS, script)], capture_output=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_big_blocking_writes_and_waitall_reads_complete_as_natively():
    """1 MiB write(2)/writev(2) to a pipe, send/sendmsg/sendall of 0.5-0.8 MB on a Unix
    stream socket and a recv(MSG_WAITALL) of 700 kB, each against a slow reader: every
    call returns its full count, as natively, and none sleeps in the real kernel (the
    watchdog would kill it). A reader that leaves early: SIGPIPE, or the partial count
    and then EPIPE when it is ignored."""
    expected = _native("bigio.py")
    assert b"write returned 1048576\n" in expected
    outputs = set()
    for _ in range(2):
        status, out, err, _, _ = run_in_host([PY, os.path.join(PROGRAMS, "bigio.py")])
        assert (status, out) == (Exited(0), expected), err
        outputs.add(out)
    assert len(outputs) == 1


def test_blocking_unix_connect_waits_in_the_host_for_a_full_backlog():
    expected = b"str ['client 0', 'client 1', 'client 2']\n" \
               b"bytes ['client 0', 'client 1', 'client 2']\n"
    assert _native("unix_backlog.py") == expected
    status, out, err, now, _ = run_in_host([PY, os.path.join(PROGRAMS, "unix_backlog.py")])
    assert (status, out) == (Exited(0), expected), err
    assert now == START + 2   # the two sleeps; the connects waited meanwhile


WRITEV = textwrap.dedent("""
    import os
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        total = 0
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            total += len(b)
        print("child read", total)
        os._exit(0)
    os.close(r)
    n = os.writev(w, [b"a" * 100000, b"b" * 100000, b"c" * 50000])
    left = 250000 - n
    while left:
        left -= os.write(w, b"x" * left)
    os.close(w)
    os.waitpid(pid, 0)
    print("parent wrote", n, "in the first writev")
""")


def test_large_writev_to_a_pipe_never_blocks_natively():
    status, out, err, _, _ = run_in_host([PY, "-c", WRITEV])
    assert status == Exited(0), err
    # a blocking writev returns once all is written, as natively (pipe(7))
    assert out == b"child read 250000\nparent wrote 250000 in the first writev\n"


def test_files_that_never_make_a_call_wait_are_told_apart_by_their_stat(tmp_path):
    """io._never_waits: regular files, directories and the memory devices run their
    calls natively; pipes, sockets and terminals (also character devices) are gated."""
    import socket as socket_module

    from pytest_simproc.syscalls import io as io_handlers
    regular = tmp_path / "f"
    regular.write_bytes(b"x")
    opened = [os.open(regular, os.O_RDONLY), os.open(tmp_path, os.O_RDONLY),
              os.open("/dev/zero", os.O_RDONLY), os.open("/dev/null", os.O_WRONLY)]
    pipe_r, pipe_w = os.pipe()
    master, slave = os.openpty()
    sock_a, sock_b = socket_module.socketpair()
    waits = [pipe_r, pipe_w, master, slave, sock_a.fileno()]
    try:
        assert [io_handlers._never_waits(os.fstat(fd)) for fd in opened] == [True] * 4
        assert [io_handlers._never_waits(os.fstat(fd)) for fd in waits] == [False] * 5
    finally:
        for fd in opened + [pipe_r, pipe_w, master, slave]:
            os.close(fd)
        sock_a.close()
        sock_b.close()


def test_a_read_or_write_against_the_descriptors_direction_fails_at_once(build):
    """read(2)/write(2): EBADF when the descriptor is not open for reading/writing.
    The host parked such a call until the file was ready for it (a pipe's read end
    never polls writable), so LTP's pipe03 hung (tests/programs/wrong_direction.c)."""
    calls = ["write(read end)", "read(write end)", "writev(read end)", "readv(write end)",
             "read(fifo O_WRONLY)", "read(fifo O_PATH)", "write(fifo O_PATH)"]
    same_as_native([build("wrong_direction")],
                   b"".join(b"%s -1 EBADF\n" % c.encode() for c in calls))
