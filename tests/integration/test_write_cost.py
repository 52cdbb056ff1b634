"""A program's reads and writes that cannot block are let run on one look at the
descriptor (syscalls/probe.look, trace/_fdlook.c), without the host's Python probe;
what they return is what they return natively."""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import re
import select
import socket
import termios
import time
import tty
from pathlib import Path

import pytest

from pytest_simproc import Exited, SimHost
from pytest_simproc.syscalls import io as io_handlers
from pytest_simproc.syscalls import probe as probe_module
from pytest_simproc.syscalls.probe import (KIND_CHAR, KIND_FIFO, KIND_NEVER_WAITS, KIND_OTHER,
                                           KIND_PTY, KIND_STREAM, KIND_WRITTEN, NONBLOCKING,
                                           PTY_FITS)

from .conftest import same_as_native

POLLIN, POLLOUT = select.POLLIN, select.POLLOUT
BENCHMARKS = Path(__file__).resolve().parent.parent.parent / "benchmarks"

EXPECTED = b"""\
pipe lines 192000 drained 1
pipe writev 60000 drained 1
devnull 64000
file 64000 size 64000
closed write -9 read -9
nonblocking pipe 65536 then Resource temporarily unavailable
nonblocking read 65536 then Resource temporarily unavailable
no reader Broken pipe
pipe read 10 then 0
stream 64 read 64
dgram 64 read 64
pty lines 128000 drained 1
"""


def test_every_kind_of_write_returns_what_it_returns_natively(build):
    """Pipes filled many times over by lines (the writer parks while full), writev,
    /dev/null, a file, a closed descriptor, a full non-blocking pipe, a pipe without a
    reader, sockets and a pty."""
    same_as_native([build("writekinds")], EXPECTED)


def _descriptors(tmp_path, opened: list, sockets: list):
    """(name, fd, events, expected kind, nonblocking, expected revents) of this
    process's own descriptors of every kind; what it opens goes into ``opened`` and
    ``sockets``, for the caller to close."""
    regular = tmp_path / "f"
    regular.write_bytes(b"x")
    opened += [os.open(regular, os.O_WRONLY), os.open(tmp_path, os.O_RDONLY),
               os.open("/dev/null", os.O_WRONLY), *os.pipe(), *os.pipe(), *os.pipe(),
               *os.openpty()]
    file, directory, null, empty_r, empty_w, full_r, full_w, fed_r, fed_w, _master, slave = \
        opened
    fcntl.fcntl(full_w, fcntl.F_SETFL, os.O_NONBLOCK)
    try:
        while True:
            os.write(full_w, b"x" * 4096)
    except BlockingIOError:
        pass
    os.write(fed_w, b"data")
    sockets += [*socket.socketpair(), *socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)]
    return [
        ("file", file, POLLOUT, KIND_NEVER_WAITS, False, 0),
        ("directory", directory, POLLIN, KIND_NEVER_WAITS, False, 0),
        ("null", null, POLLOUT, KIND_NEVER_WAITS, False, 0),
        ("empty pipe, writer", empty_w, POLLOUT, KIND_FIFO, False, POLLOUT),
        ("empty pipe, reader", empty_r, POLLIN, KIND_FIFO, False, 0),
        ("full pipe, writer", full_w, POLLOUT, KIND_FIFO, True, 0),
        ("fed pipe, reader", fed_r, POLLIN, KIND_FIFO, False, POLLIN),
        ("pty slave", slave, POLLOUT, KIND_PTY, False, POLLOUT),
        ("stream socket", sockets[0].fileno(), POLLOUT, KIND_STREAM, False, POLLOUT),
        ("datagram socket", sockets[2].fileno(), POLLIN, KIND_OTHER, False, 0),
    ]


class _Ctx:
    """What probe.look reads of a stop's context: the engine's pidfd of the process,
    and its duplicates for the Python fallback."""

    class _Task:
        tgid_native = native = os.getpid()

    class _Engine:
        def __init__(self):
            self.pidfd = None

        def _pidfd(self, native):
            from pidfd import PidFd
            if self.pidfd is None:
                self.pidfd = PidFd(os.pidfd_open(native))
            return self.pidfd

        def dup_tracee_fd(self, task, fd):
            from pidfd import PidFdError
            try:
                return self._pidfd(task.tgid_native).getfd(fd)
            except PidFdError as exc:
                raise OSError(str(exc)) from None

    def __init__(self):
        self.task, self.engine = self._Task(), self._Engine()


@pytest.mark.parametrize("c_extension", [True, False], ids=["C", "Python"])
def test_look_tells_kind_flags_and_readiness(tmp_path, monkeypatch, c_extension):
    """probe.look packs what the full path would find: the C extension and the Python
    fallback alike (a descriptor of the test's own process stands for a program's)."""
    if c_extension and probe_module._c_look is None:
        pytest.skip("trace/_fdlook.c was not built")
    if not c_extension:
        monkeypatch.setattr(probe_module, "_c_look", None)
    opened, sockets = [], []
    ctx = _Ctx()
    try:
        rows = _descriptors(tmp_path, opened, sockets)
        seen = {}
        for name, fd, events, kind, nonblocking, revents in rows:
            facts = probe_module.look(ctx.engine, ctx.task, fd, events)
            seen[name] = (facts >> 16 & 0xF, bool(facts & NONBLOCKING), facts & 0xFFFF)
        assert seen == {name: (kind, nonblocking, revents)
                        for name, _fd, _events, kind, nonblocking, revents in rows}
        closed = os.open("/dev/null", os.O_RDONLY)
        os.close(closed)
        assert probe_module.look(ctx.engine, ctx.task, closed, POLLIN) < 0
    finally:
        for fd in opened:
            os.close(fd)
        for sock in sockets:
            sock.close()
        if ctx.engine.pidfd is not None:
            ctx.engine.pidfd.close()


@pytest.mark.parametrize("c_extension", [True, False], ids=["C", "Python"])
def test_look_at_a_write_to_a_pty(monkeypatch, c_extension):
    """probe.look_writing on this process's own pty: a raw line surely fits
    (PTY_FITS), not with IXON; a cooked one is written through the duplicate by the
    C look (KIND_WRITTEN and its count, "\\n" gone as "\\r\\n"), left to the full path
    by the Python one; the device refused and a master not allowed are KIND_CHAR; a
    full terminal has no POLLOUT and takes no write."""
    if c_extension and probe_module._c_look is None:
        pytest.skip("trace/_fdlook.c was not built")
    if not c_extension:
        monkeypatch.setattr(probe_module, "_c_look", None)
    ctx = _Ctx()
    line = ctypes.create_string_buffer(b"x" * 63 + b"\n" + b"z" * 1984, 2048)
    buf = ctypes.addressof(line)
    master, slave = os.openpty()
    try:
        def looked(fd, count=64, refused=0, masters=True):
            facts = probe_module.look_writing(ctx.engine, ctx.task, fd, buf, count,
                                              refused, masters)
            return facts >> 16 & 0xF, facts

        def drained() -> bytes:
            poller, got = select.poll(), b""
            poller.register(master, POLLIN)
            while poller.poll(0):
                got += os.read(master, 65536)
            return got

        tty.setraw(slave)
        kind, facts = looked(slave)
        assert (kind, bool(facts & PTY_FITS)) == (KIND_PTY, True)
        kind, facts = looked(slave, count=1793)   # more than one request may need
        assert not facts & PTY_FITS
        if c_extension:
            assert (kind, facts >> 24) == (KIND_WRITTEN, 1793)
            assert drained() == line.raw[:1793]
        assert looked(master)[1] & PTY_FITS                     # a master's line is raw
        assert looked(master, masters=False)[0] == KIND_CHAR
        assert looked(slave, refused=os.fstat(slave).st_rdev)[0] == KIND_CHAR
        attrs = termios.tcgetattr(slave)
        attrs[0] |= termios.IXON   # a ^S typed meanwhile would stop it half way
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        kind, facts = looked(slave)
        assert not facts & PTY_FITS
        if c_extension:
            assert (kind, facts >> 24) == (KIND_WRITTEN, 64)
            assert drained() == line.raw[:64]
        attrs = termios.tcgetattr(slave)
        attrs[1] |= termios.OPOST | termios.ONLCR
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        kind, facts = looked(slave)
        if c_extension:
            assert (kind, facts >> 24) == (KIND_WRITTEN, 64)
            assert drained() == b"x" * 63 + b"\r\n"
        else:
            assert (kind, facts & PTY_FITS) == (KIND_PTY, 0)
            assert drained() == b""
        fcntl.fcntl(slave, fcntl.F_SETFL, os.O_NONBLOCK)
        for _ in range(20):  # fill it: no room left (n_tty_poll), once the tty's flush
            wrote = 0        # work has moved what it can to the master's side
            while True:
                try:
                    wrote += os.write(slave, b"y" * 64)
                except BlockingIOError:
                    break
            if not wrote:
                break
            time.sleep(0.05)
        fcntl.fcntl(slave, fcntl.F_SETFL, 0)
        kind, facts = looked(slave)
        assert kind == KIND_PTY and not facts & (POLLOUT | PTY_FITS)
        assert b"x" not in drained()
    finally:
        os.close(master)
        os.close(slave)
        if ctx.engine.pidfd is not None:
            ctx.engine.pidfd.close()


def test_writes_that_cannot_block_take_no_python_probe(c_programs, monkeypatch):
    """A line to a pipe with room, to /dev/null or to a file runs natively on one
    look: the host's Python probe (a duplicate, fstat, fcntl, poll and close, ~8 us
    per call) is taken only when a call may have to wait -- here when the writer
    filled the pipe and parks. Without the short path, one probe a write."""
    probes = []
    real = io_handlers._probe

    def counted(ctx, fd):
        probes.append(ctx.nr)
        return real(ctx, fd)

    monkeypatch.setattr(io_handlers, "_probe", counted)
    # benchmarks/run.py's row (l): N lines to a pipe a child drains, /dev/null, a file
    write_lines = c_programs(BENCHMARKS / "programs", "bench-programs")("write_lines")
    with SimHost() as host:
        lines = 5000
        for target in ("pipe", "null", "file"):
            del probes[:]
            p = host.spawn([write_lines, str(lines), target])
            host.run()
            assert (p.exit_status, p.stdout) == (Exited(0), f"lines={lines}\n".encode())
            writes = probes.count(1)   # write(2)
            if target == "pipe":
                # the pipe holds 1,024 lines: the writer parks about five times
                assert writes < lines // 50, (target, writes)
            else:
                assert writes == 0, (target, writes)


def _interleaved(program: str, monkeypatch, absorbing: bool, stepping: bool = False,
                 terminal=None, lines: int = 20000):
    """interleave.c in a host: (stdout, the clock at the end, the record of the
    simulated calls, the report, how many writes took the full dispatch).
    ``stepping``: first run in runs of this instant (no room for the clock) until a
    predicate that counts its calls says so at every 997th, as drop-in mode's waits
    do; the report then holds the call count and clock at each run's end.
    ``terminal``: the writers share a pty's slave as stdout, set up by
    ``terminal(slave)``, and what its master got is the stdout; not ``absorbing``,
    the host's Python path finishes every write to it (no C look)."""
    from pytest_simproc.engine import trap
    from pytest_simproc.engine.decode import SyscallStops

    dispatched = []
    real = SyscallStops._on_seccomp

    def counted(self, task, regs=None, args=None):
        if regs is not None and regs.orig_rax == 1:
            dispatched.append(task.tid)
        return real(self, task, regs, args)

    with monkeypatch.context() as patch:
        patch.setattr(SyscallStops, "_on_seccomp", counted)
        if not absorbing:
            patch.setattr(trap, "_absorb", lambda *_: False)
            if terminal is not None:
                patch.setattr(probe_module, "_c_look", None)
        master = slave = None
        with contextlib.ExitStack() as closing, SimHost(seed=7) as host:
            if terminal is None:
                p = host.spawn([program, str(lines)])
            else:
                master, slave = os.openpty()
                closing.callback(os.close, master)
                closing.callback(os.close, slave)
                terminal(slave)
                p = host.spawn([program, str(lines), "stdout"], stdout=slave)
            steps = []
            if stepping:
                asked = [0]

                def every_997th():
                    asked[0] += 1
                    return asked[0] % 997 == 0

                for _ in range(30):
                    host.run_until(every_997th, timeout=0)
                    steps.append((asked[0], host.now))
            host.run()
            assert p.exit_status == Exited(0)
            # (execve's environment pointer is the spawn's, in the tracer's memory)
            record = [re.sub(r"0x[0-9a-f]+ /\*", "ENVP /*", line)
                      for line in host._engine.strace.merged_lines()]
            stdout = p.stdout if master is None else _drained(master)
            return stdout, host.now, record, (host.report(), steps), len(dispatched)


def _drained(master: int) -> bytes:
    """What a pty's master has to read (a poll of it finishes the line discipline's
    work first: n_tty_poll)."""
    got = b""
    poller = select.poll()
    poller.register(master, POLLIN)
    while poller.poll(0):
        got += os.read(master, 65536)
    return got


def test_writes_resumed_at_their_stop_change_nothing_the_host_shows(build, monkeypatch):
    """engine/quickcalls.py resumes a write that surely runs natively at its stop,
    without the stop loop's turn: two writers sharing a pipe with emulated calls
    between their lines (40,000 writes, the clock moved by bursts of their CPU) show
    the same interleaving, CPU times, clock, record of simulated calls and report as
    when every write takes the full turn -- while only a few writes (the quantum's
    and the burst's ends, a full pipe) take it. Also in runs of this instant with a
    predicate that counts its calls: it is asked as often, at the same points."""
    program = build("interleave")
    for stepping in (False, True):
        quick = _interleaved(program, monkeypatch, True, stepping)
        full = _interleaved(program, monkeypatch, False, stepping)
        assert quick[:4] == full[:4]
        stdout = quick[0].decode()
        assert stdout.count("\n") == 40001 and "ok 1 children" in stdout
        assert quick[1] > 946684800   # the bursts moved the clock
        assert full[4] >= 40000 and quick[4] < 40000 // 16, (stepping, full[4], quick[4])
    assert quick[3][1][-1][0] > 20 * 997   # the runs of this instant took steps


@pytest.mark.parametrize("line", ["raw", "cooked"])
def test_writes_to_a_terminal_resumed_at_their_stop_change_nothing_the_host_shows(
        build, monkeypatch, line):
    """The same for two writers sharing a pty's slave (its master drained after the
    run: 1,800 lines fit its buffer, so no writer waits for a reader outside the
    host): a raw line that surely fits runs natively, on the C look as on the
    Python one; a cooked one (OPOST, ONLCR: each "\\n" goes as "\\r\\n") is written
    by the C look through the host's duplicate, as the host's Python path writes it
    when every write takes the full turn. Same lines, clock, record and report; few
    writes take the turn."""
    program = build("interleave")

    def terminal(slave):
        if line == "raw":
            tty.setraw(slave)
        else:
            attrs = termios.tcgetattr(slave)
            attrs[1] |= termios.OPOST | termios.ONLCR
            termios.tcsetattr(slave, termios.TCSANOW, attrs)

    for stepping in (False, True):
        quick = _interleaved(program, monkeypatch, True, stepping, terminal, 900)
        full = _interleaved(program, monkeypatch, False, stepping, terminal, 900)
        assert quick[:4] == full[:4]
        stdout = quick[0].decode()
        end = "\r\n" if line == "cooked" else "\n"
        assert stdout.count(end) == 1801 and "ok 1 children" in stdout
        assert "a00899" + end in stdout and "b00899" + end in stdout
        assert full[4] >= 1800 and quick[4] < 1800 // 8, (stepping, full[4], quick[4])
