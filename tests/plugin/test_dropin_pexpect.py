"""Drop-in mode: what pexpect's public suite does to the test process, where a host once
behaved differently from a machine (pexpect drives programs on ptys made by pty.fork,
reads them with select and timeouts or an asyncio loop, signals them and waits for them,
and leaves spawn objects whose finalizers sleep to the garbage collector).

The inner suite is written as such a suite writes it (pty, os, threading, select; no
simproc API). It passes natively and under ``--simproc``, and under ``--simproc`` its
children were the host's (virtual pids). The inner pytest runs in a process of its own:
it forks.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = r"""
import asyncio
import contextlib
import errno
import gc
import json
import os
import pty
import select
import shutil
import socket
import subprocess
import sys
import termios
import threading
import time

import pytest


def observed(name, pid):
    print("OBSERVED", json.dumps([name, pid]), flush=True)


def read_to_eof(fd):
    data = b""
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: the child's side of the pty is closed
            return data
        if not chunk:
            return data
        data += chunk


def echo_on_a_pty():
    pid, fd = pty.fork()
    if pid == 0:
        os.execv("/bin/echo", ["echo", "hello"])
    return pid, fd


def check_echoed(pid, fd):
    output = read_to_eof(fd)
    os.close(fd)
    assert os.waitpid(pid, 0) == (pid, 0)
    assert output.strip() == b"hello"


class Connection:
    # closing waits a moment for the other side, as ptyprocess's close() does
    def __del__(self):
        time.sleep(0.1)


def test_fork_while_another_thread_holds_a_resource_that_closes_slowly():
    # the fork's child drops the other thread's state, and so runs the resource's
    # finalizer, before any at-fork hook: natively its sleep just takes 0.1 s
    local = threading.local()
    ready, done = threading.Event(), threading.Event()

    def worker():
        local.connection = Connection()
        ready.set()
        done.wait()

    thread = threading.Thread(target=worker)
    thread.start()
    ready.wait()
    try:
        pid, fd = echo_on_a_pty()
        check_echoed(pid, fd)
    finally:
        done.set()
        thread.join()
    observed("fork beside a thread's resource", pid)


def test_a_program_in_path_that_cannot_run_fails_as_execve_does(tmp_path, monkeypatch):
    program = tmp_path / "tool"
    shutil.copy("/bin/true", program)
    program.chmod(0o600)  # no execute bit, not even for root
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PermissionError) as denied:
        subprocess.Popen("tool")
    assert (denied.value.errno, denied.value.filename) == (errno.EACCES, "tool")
    with pytest.raises(FileNotFoundError) as missing:
        subprocess.Popen(["absent"])
    assert (missing.value.errno, missing.value.filename) == (errno.ENOENT, "absent")
    program.chmod(0o700)
    started = subprocess.Popen("tool")
    assert started.wait() == 0
    observed("program from PATH", started.pid)


class Terminal:
    # a spawn object left in a reference cycle: the garbage collector frees it, and
    # its finalizer closes it slowly, as ptyprocess's PtyProcess.__del__ does
    collecting = False
    open = False  # those collected before were closed already

    def __init__(self):
        self.me = self

    def __del__(self):
        if Terminal.open:
            time.sleep(0.0001)
        if Terminal.collecting:
            Terminal()  # the next one, for the next collection


# a library's at-fork hook: from the fork on, the objects collected were open
os.register_at_fork(before=lambda: setattr(Terminal, "open", Terminal.collecting))


@contextlib.contextmanager
def collecting_at_every_allocation(open_from_start):
    gc.collect()
    threshold = gc.get_threshold()
    gc.set_threshold(1)
    Terminal.collecting, Terminal.open = True, open_from_start
    Terminal()
    try:
        yield
    finally:
        Terminal.collecting = Terminal.open = False
        gc.set_threshold(*threshold)
        gc.collect()


def test_finalizers_that_sleep_during_a_sleep():
    with collecting_at_every_allocation(open_from_start=True):
        start = time.monotonic()
        time.sleep(0.01)
        assert time.monotonic() - start >= 0.01
    done = subprocess.Popen(["true"])
    assert done.wait() == 0
    observed("finalizers in a sleep", done.pid)


def test_finalizers_that_sleep_during_a_fork():
    with collecting_at_every_allocation(open_from_start=False):
        pid, fd = echo_on_a_pty()
    check_echoed(pid, fd)
    observed("finalizers in a fork", pid)

ANSWERER = '''
import os, sys
while True:
    line = sys.stdin.readline()
    if not line:
        break
    os.write(1, b"> " + line.strip().encode() + b"\\n")
'''


class Answers(asyncio.Protocol):
    # pexpect's async expect reads its pty's master as a pipe of the event loop
    def __init__(self):
        self.seen = b""
        self.waiter = None

    def data_received(self, data):
        self.seen += data
        if self.waiter is not None and b"\n" in self.seen and not self.waiter.done():
            self.waiter.set_result(None)


async def talk(fd, rounds):
    loop = asyncio.get_running_loop()
    protocol = Answers()
    master = os.fdopen(fd, "rb", buffering=0, closefd=False)
    transport, _ = await loop.connect_read_pipe(lambda: protocol, master)
    answers = []
    for i in range(rounds):
        protocol.seen, protocol.waiter = b"", loop.create_future()
        os.write(fd, b"line %d\n" % i)
        await asyncio.wait_for(protocol.waiter, 10)
        answers.append(protocol.seen.strip())
    transport.close()
    return answers


def test_what_a_program_writes_to_its_pty_reaches_an_event_loop():
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", ANSWERER])
    attrs = termios.tcgetattr(fd)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    answers = asyncio.run(talk(fd, 100))
    assert answers == [b"> line %d" % i for i in range(100)]
    os.write(fd, b"\x04")  # ^D: end of its input
    assert os.waitpid(pid, 0) == (pid, 0)
    os.close(fd)
    observed("pty to an event loop", pid)

SERVER = '''
import socket, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
print(listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
time.sleep(1)
conn.sendall(b"Press Return to continue:")
assert conn.recv(1024) == b"ok"
time.sleep(1)
conn.sendall(b"bye")
conn.close()
'''


def readable(sock, timeout, use_poll):
    # pexpect's fdspawn waits for its descriptor as this does, then os.read()s it
    if use_poll:
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(timeout * 1000))
    return bool(select.select([sock], [], [], timeout)[0])


@pytest.mark.parametrize("use_poll", [False, True])
def test_select_on_a_socket_to_a_daemon_waits_for_its_answer(use_poll):
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE)
    port = int(server.stdout.readline())
    with socket.create_connection(("127.0.0.1", port)) as sock:
        assert readable(sock, 10, use_poll)
        assert os.read(sock.fileno(), 1024) == b"Press Return to continue:"
        os.write(sock.fileno(), b"ok")
        seen = b""
        while readable(sock, 10, use_poll):
            chunk = os.read(sock.fileno(), 1024)
            if not chunk:
                break
            seen += chunk
        assert seen == b"bye"
    assert server.wait() == 0
    observed("socket daemon", server.pid)
"""

NAMES = {"fork beside a thread's resource", "program from PATH", "socket daemon",
         "finalizers in a sleep", "finalizers in a fork", "pty to an event loop"}


def _run(observed, *args):
    seen = dict(observed(INNER, args, passed=INNER.count("\ndef test_") + 1))  # + a parameter
    assert set(seen) == NAMES
    return seen


def test_the_suite_passes_natively(observed):
    _run(observed)


def test_under_simproc_the_suite_passes_in_the_host(observed):
    for name, pid in _run(observed, "--simproc").items():
        assert 1000 <= pid < 1100, (name, pid)
