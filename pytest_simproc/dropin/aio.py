"""asyncio in the test follows the host: its clock, its waits and its subprocesses.

An event loop reads ``loop.time()`` for its timers and blocks in its selector between
them. Natively both are the machine's; in a drop-in session the loop the test creates
(``asyncio.run``, ``new_event_loop``: the session installs a loop policy) is a
:class:`SimEventLoop`, whose clock is the host's virtual clock and whose selector runs
the host while the loop waits, until a descriptor is ready or the next timer is due:
``asyncio.sleep(3600)`` returns at once, a ``wait_for`` timeout is virtual, and a
stream to a daemon in the host gets its answer. ``create_subprocess_exec`` and
``_shell`` spawn into the host (SimPopen); the loop moves their output and their end
into asyncio's subprocess protocol whenever the host ran.

While work handed to a thread (``run_in_executor``, ``to_thread``, ``getaddrinfo``) is
under way, the loop waits for real, and virtual time moves on by the real time it
waited (its selector's real waits are ready.py's, routing.waited_outside): the thread
may need the machine. Loops made in other threads are asyncio's own. A loop that
outlives its test (one per thread, kept by jupyter_core's ``run_sync``) follows its
thread's next test into that test's host.
"""
from __future__ import annotations

import _thread
import asyncio
import errno
import fcntl
import functools
import math
import os
import selectors
import socket
import stat
import struct
import subprocess
import threading
import warnings
import weakref
from asyncio import base_subprocess, constants, transports
from asyncio.log import logger

from . import forking
from .pipes import _PipeReader
from .popen import sim_popen
from .procfs import _real_listdir
from .ready import LINGER_STEPS, _real_read
from .routing import (_in_host_thread, _real_monotonic, _RealPopen, active_session,
                      fd_ready)
from .sockets import run_host_until

# Real seconds the loop waits at a time for a thread of the test (or the outside).
_OUTSIDE_SLICE = 0.01
_SIOCOUTQNSD = 0x894B  # tcp(7): bytes in the send queue not sent yet
_TCPI_UNACKED = 24  # offset of tcpi_unacked (segments) in struct tcp_info


def _off_the_loop(method):
    """``method`` runs the host's machinery for the test's event loop, as no loop's code:
    it stands for the machine's kernel, not for the test's coroutines, so a checker of
    blocking calls made while a loop runs (blockbuster, in anyio's suite) does not
    take the host's own files, locks and waits for the test's."""
    @functools.wraps(method)
    def run(*args, **kwargs):
        loop = asyncio.events._get_running_loop()
        if loop is None:
            return method(*args, **kwargs)
        asyncio.events._set_running_loop(None)
        try:
            return method(*args, **kwargs)
        finally:
            asyncio.events._set_running_loop(loop)
    return run


def wait_in_host(session, ready, timeout) -> bool | None:
    """An event loop of the test's thread waits for ``ready()`` (one of its descriptors)
    or its next timer, ``timeout`` seconds of its clock away (None: no timer): the host
    runs meanwhile, in virtual time. True: ready; False: the timer is due; None: only
    the outside (a thread, the machine) can end the wait, for the caller to wait for
    in real time. Once ``ready()`` holds the programs go on for a while
    (ready.LINGER_STEPS), or until they wait, as natively a busy writer goes on while
    the loop wakes up: a run that stopped at the first byte cost a round trip to the
    host per write (uvloop's communicate of 1 MB from a program writing a byte at a
    time: one run per byte)."""
    deadline = None if timeout is None else (
        session._now_ns() + max(1, math.ceil(timeout * 1e9)))
    if run_host_until(session, ready, deadline, outside=True, linger=LINGER_STEPS):
        return True
    return False if deadline is not None else None


class _SimReadPipe(transports.ReadTransport):
    """A subprocess's stdout or stderr: the test's end of its pipe (pipes.py), read
    when the host ran. End of file comes when every writer in the host closed it."""

    def __init__(self, loop, reader, protocol):
        super().__init__()
        self._loop, self._reader, self._protocol = loop, reader, protocol
        self._paused = self._closing = self._eof = False
        protocol.connection_made(self)

    @_off_the_loop
    def has_news(self) -> bool:
        """Output not handed over yet, or the end: checked at every step of the host
        while the loop waits, without reading."""
        return not (self._paused or self._closing or self._eof) and self._reader.ready()

    @_off_the_loop
    def pump(self, soon: bool = True) -> None:
        """New output or the end to the protocol: in a callback of the loop, or at once
        (``soon`` False)."""
        if not self.has_news():
            return
        call = self._loop.call_soon if soon else _now
        data = _real_read(self._reader.fileno(), 1 << 16)
        if data:
            call(self._protocol.data_received, data)
        else:
            self._eof = True
            call(self._protocol.eof_received)
            self._close(call)

    def is_reading(self) -> bool:
        return not (self._paused or self._closing)

    def pause_reading(self) -> None:
        self._paused = True

    def resume_reading(self) -> None:
        self._paused = False

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._close(self._loop.call_soon)

    def _close(self, call) -> None:
        if not self._closing:
            self._closing = True
            # a loop closed before the end was read (a transport collected late):
            # natively the selector had handed the end over by then, and nothing is due
            if not self._loop.is_closed():
                call(self._protocol.connection_lost, None)


def _now(callback, *args) -> None:
    callback(*args)


class _SimWritePipe(transports._FlowControlMixin, transports.WriteTransport):
    """A subprocess's stdin: SimPopen's writer, which never blocks the test. What the
    pipe did not take yet is this transport's write buffer, with asyncio's flow
    control (its _FlowControlMixin, as asyncio's _UnixWritePipeTransport and uvloop's
    WriteUnixTransport: pause_writing above the high-water mark, resume_writing at the
    low one, ``drain()`` waits while the program reads), and the program's end without
    reading it is the transport's BrokenPipeError, as natively. It is a full Transport
    as theirs are: pause_reading() is NotImplementedError, not AttributeError
    (uvloop's test_process_streams_basic_1); close() and write_eof() let the buffer
    go in before connection_lost, abort() drops it."""

    def __init__(self, loop, writer, protocol):
        super().__init__({"pipe": writer}, loop)
        self._writer, self._protocol = writer, protocol
        self._closing = self._lost = False
        self._conn_lost = 0
        protocol.connection_made(self)

    def __repr__(self):
        state = "closed" if self._lost else "closing" if self._closing else "open"
        return f"<{type(self).__name__} {state} bufsize={self.get_write_buffer_size()}>"

    @_off_the_loop
    def write(self, data) -> None:
        assert isinstance(data, (bytes, bytearray, memoryview)), repr(data)
        if not data:
            return
        if self._conn_lost or self._closing:
            if self._conn_lost >= constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                logger.warning("pipe closed by peer or "
                               "os.write(pipe, data) raised exception.")
            self._conn_lost += 1
            return
        try:
            self._writer.write(bytes(data))
        except (BrokenPipeError, ConnectionResetError) as exc:
            self._conn_lost += 1
            self._close(exc)
            return
        self._maybe_pause_protocol()

    def _raw(self):
        return getattr(self._writer, "raw", self._writer)

    def _broken(self) -> bool:
        """The program's side closed (EPIPE) while bytes were on their way."""
        raw = self._raw()
        return getattr(raw, "_fd", 0) is None and not raw.closed

    def _peer_gone(self) -> bool:
        """Every reader closed the pipe (poll(2): POLLERR on its write end), which
        asyncio's and uvloop's transports watch for, to close."""
        fd = getattr(self._raw(), "_fd", None)
        return fd is not None and fd_ready(fd, 0)

    def has_news(self) -> bool:
        if self._lost:
            return False
        if self._closing:
            return not self.get_write_buffer_size()  # the rest went in: the end
        return self._broken() or self._peer_gone() or (
            self._protocol_paused and self.get_write_buffer_size() <= self._low_water)

    @_off_the_loop
    def pump(self, soon: bool = True) -> None:
        """Flow control and the end to the protocol: in a callback of the loop, or at
        once (``soon`` False)."""
        if not self.has_news():
            return
        call = self._loop.call_soon if soon else _now
        if self._closing:
            self._lose(None, call)
        elif self._broken():
            self._conn_lost += 1
            self._close(BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE)), call)
        elif self._peer_gone():   # as asyncio's _read_ready
            self._close(BrokenPipeError() if self.get_write_buffer_size() else None, call)
        else:
            self._maybe_resume_protocol()

    def can_write_eof(self) -> bool:
        return True

    @_off_the_loop
    def write_eof(self) -> None:
        if self._closing:
            return
        self._closing = True
        try:
            self._writer.close()  # the pipe closes once the rest went in
        except BrokenPipeError:
            pass
        if not self.get_write_buffer_size():
            self._lose(None)

    def get_write_buffer_size(self) -> int:
        return len(getattr(self._raw(), "_buf", b""))

    def set_protocol(self, protocol) -> None:
        self._protocol = protocol

    def get_protocol(self):
        return self._protocol

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self.write_eof()

    def abort(self) -> None:
        self._close(None)

    @_off_the_loop
    def _close(self, exc, call=None) -> None:
        """The end at once, whatever the buffer held (abort, a broken pipe)."""
        self._closing = True
        raw = self._raw()
        discard = getattr(raw, "discard", None)
        if discard is not None:
            discard()
        try:
            self._writer.close()
        except BrokenPipeError:
            pass
        self._lose(exc, call)

    def _lose(self, exc, call=None) -> None:
        if not self._lost:
            self._lost = True
            if not self._loop.is_closed():   # as _SimReadPipe.close
                (call or self._loop.call_soon)(self._protocol.connection_lost, exc)


class _SimSubprocessTransport(base_subprocess.BaseSubprocessTransport):
    """asyncio's subprocess transport over a SimPopen: the program runs in the host."""

    # (high, low): the first write buffer limits of the stdin transport, when the
    # loop's own are not asyncio's
    stdin_limits: tuple[int, int] | None = None
    # the loop took in what the program did before its pipes were connected (uvloop's
    # sleep after the fork): its output and its end are handed over with the start
    settled = False

    @_off_the_loop
    def _start(self, args, shell, stdin, stdout, stderr, bufsize, **kwargs):
        # subprocess.Popen as asyncio looks it up: SimPopen, or what the test put there
        # (mock.patch("subprocess.Popen", side_effect=...) in asyncio's own tests)
        popen = subprocess.Popen if subprocess.Popen is not _RealPopen else sim_popen()
        self._proc = popen(args, shell=shell, stdin=stdin, stdout=stdout, stderr=stderr,
                           universal_newlines=False, bufsize=bufsize, **kwargs)

    async def _connect_pipes(self, waiter):
        try:
            proc, loop = self._proc, self._loop
            if proc.stdin is not None:
                stdin = _SimWritePipe(
                    loop, proc.stdin, base_subprocess.WriteSubprocessPipeProto(self, 0))
                if self.stdin_limits is not None:
                    stdin._set_write_buffer_limits(*self.stdin_limits)
                self._pipes[0] = stdin._protocol
            for fd, kind in ((1, "stdout"), (2, "stderr")):
                if getattr(proc, kind) is not None:
                    factory = functools.partial(base_subprocess.ReadSubprocessPipeProto,
                                                self, fd)
                    if isinstance(loop, SimEventLoop):
                        # through the loop's method, as asyncio connects them (its
                        # own tests wrap loop.connect_read_pipe)
                        _, protocol = await loop.connect_read_pipe(factory,
                                                                   getattr(proc, kind))
                    else:
                        protocol = factory()
                        _SimReadPipe(loop, proc._readers[fd], protocol)
                    self._pipes[fd] = protocol
            if self.settled:
                self._settle()
            loop.call_soon(self._protocol.connection_made, self)
            for callback, data in self._pending_calls:
                loop.call_soon(callback, *data)
            self._pending_calls = None
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            if waiter is not None and not waiter.cancelled():
                waiter.set_exception(exc)
        else:
            if waiter is not None and not waiter.cancelled():
                waiter.set_result(None)

    @_off_the_loop
    def send_signal(self, signal):
        super().send_signal(signal)

    @_off_the_loop
    def terminate(self):
        super().terminate()

    @_off_the_loop
    def kill(self):
        super().kill()

    @_off_the_loop
    def close(self):
        super().close()

    def _settle(self) -> None:
        """What the pipes hold, and the program's end, to the protocols at once: into
        the calls that wait for the pipes' connection (``_pending_calls``)."""
        while any(pipe.has_news() for pipe in self._readers()):
            for pipe in self._readers():
                pipe.pump(soon=False)
        if self._returncode is None and self._proc._ended():
            self._process_exited(self._proc.wait())

    def _readers(self):
        """The pipes the loop moves data and ends through: stdout, stderr, and stdin
        (its flow control and its broken end)."""
        return [p.pipe for p in self._pipes.values()
                if p is not None and p.pipe is not None]

    @_off_the_loop
    def has_news(self) -> bool:
        if self._proc is None:
            return False
        return (any(pipe.has_news() for pipe in self._readers())
                or self._returncode is None and self._proc._ended())

    @_off_the_loop
    def pump(self) -> bool:
        """Hand new output and the end to asyncio; False once the transport is done."""
        if self._proc is None:
            return False
        for pipe in self._readers():
            pipe.pump()
        if self._returncode is None and self._proc._ended() and self._pending_calls is None:
            self._process_exited(self._proc.wait())
        return True


def _in_flight() -> bool:
    """A TCP socket of the test process holds bytes it has not sent yet while segments
    it sent wait for their acknowledgement: the machine sends them by itself once the
    peer acknowledges (Nagle's algorithm, tcp(7); a peer may delay its ACK for tens of
    milliseconds), so a loop that waits for them waits for the outside, in real time,
    instead of moving the clock to its next timer (tornado's streams between two
    sockets of one loop wrote a line or a TLS record after a small one and timed out
    at once). A peer that stopped reading acknowledged all it got: no flight."""
    try:
        fds = _real_listdir("/proc/self/fd")
    except OSError:
        return False
    for name in fds:
        fd = int(name)
        try:
            if (not stat.S_ISSOCK(os.fstat(fd).st_mode) or not struct.unpack(
                    "i", fcntl.ioctl(fd, _SIOCOUTQNSD, b"\0" * 4))[0]):
                continue
            sock = socket.socket(fileno=fd)
            try:
                info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
            finally:
                sock.detach()
        except OSError:
            continue  # closed meanwhile, or not TCP
        if struct.unpack_from("I", info, _TCPI_UNACKED)[0]:
            return True
    return False


def _real_monotonic_ns() -> int:
    return round(_real_monotonic() * 1e9)


def _test_thread_session():
    """The active session when the caller is the test's own thread."""
    session = active_session()
    if (session is None or session._closed or _in_host_thread()
            or _thread.get_ident() != session._ident):
        return None
    return session


class _HostSelector(selectors.DefaultSelector):
    """The loop's selector: while nothing is ready, the host runs (virtual time)."""

    def __init__(self, loop):
        super().__init__()
        self._loop = weakref.ref(loop)

    def _ready(self):
        return super().select(0)

    @_off_the_loop
    def select(self, timeout=None):
        ready = self._ready()
        loop = self._loop()
        if ready or loop is None or timeout is not None and timeout <= 0 or loop._has_news():
            return ready
        session = loop._current()
        if session is None or _thread.get_ident() != session._ident:
            return super().select(timeout)
        if (loop._outside or _in_flight()
                or session.threads_due(timeout, loop._older_threads)):
            # a thread is at work (it may need the host's or the machine's time), or the
            # machine still carries bytes between the loop's own sockets, or (before
            # the host) a thread started since the loop was made wakes before its next
            # timer: a heartbeat of an earlier test does not hold it
            return super().select(_OUTSIDE_SLICE if timeout is None
                                  else min(timeout, _OUTSIDE_SLICE))
        outcome = wait_in_host(session, lambda: bool(self._ready()) or loop._has_news(),
                               timeout)
        if outcome:
            return self._ready()
        if outcome is False:
            return []  # the next timer is due
        return super().select(_OUTSIDE_SLICE)  # only the outside can wake the loop


class SimEventLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop whose clock is the host's and whose waits run the host,
    when made by the test's own thread during a drop-in session."""

    def __init__(self, selector=None):
        session = _test_thread_session()
        self._session = session
        self._base_ns = session._now_ns() if session is not None else 0
        # made by a test: the loop follows its thread's later tests (_current)
        self._follows = session is not None
        self._ended_at: tuple[int, int] | None = None
        self._outside = 0
        self._older_threads = frozenset(t.ident for t in threading.enumerate())
        self._sim_procs: list[_SimSubprocessTransport] = []
        if session is not None and selector is None:
            selector = _HostSelector(self)
        super().__init__(selector)

    def _current(self):
        """The session whose host the loop follows now. A loop outlives the test that
        made it when the suite keeps one per thread (jupyter_core's ``run_sync``, behind
        every blocking call of jupyter_client's KernelManager): the clock of an ended
        test's host stands still, and a later test's ``asyncio.sleep`` never ended. So
        once its test ended, the loop counts real time, and the next test of its thread
        takes it into its own host; its clock goes on from where it was, never back."""
        session = self._session
        if session is not None and not session._closed or not self._follows:
            return session
        if self._ended_at is None:   # its test just ended: real time from here
            self._ended_at = (self._now_ns(), _real_monotonic_ns())
        session = _test_thread_session()
        if session is not None:
            self._base_ns = session._now_ns() - self._now_ns()
            self._session, self._ended_at = session, None
            self._older_threads = frozenset(t.ident for t in threading.enumerate())
        return session

    def _now_ns(self) -> int:
        if self._ended_at is not None:
            loop_ns, real_ns = self._ended_at
            return loop_ns + _real_monotonic_ns() - real_ns
        return self._session._now_ns() - self._base_ns

    def time(self) -> float:
        session = self._current()
        if session is None and self._ended_at is not None:
            return self._now_ns() / 1e9
        if session is None or _thread.get_ident() != session._ident:
            # a loop the test's thread made and another thread runs (tornado's IOLoop()
            # made in the test, started in a thread: circus's stats collector) waits
            # in real time there (_HostSelector.select), and so counts its timers
            return forking.host_monotonic() if forking.in_host else _real_monotonic()
        return self._now_ns() / 1e9

    def _has_news(self) -> bool:
        return any(t.has_news() for t in self._sim_procs)

    async def connect_read_pipe(self, protocol_factory, pipe):
        """A host program's stdout or stderr (SimPopen's) is read when the host ran;
        any other pipe as asyncio reads it."""
        reader = getattr(pipe, "raw", pipe)
        if self._session is None or not isinstance(reader, _PipeReader):
            return await super().connect_read_pipe(protocol_factory, pipe)
        protocol = protocol_factory()
        return _SimReadPipe(self, reader, protocol), protocol

    def _process_events(self, event_list) -> None:
        super()._process_events(event_list)
        if self._sim_procs:
            self._sim_procs = [t for t in self._sim_procs if t.pump()]

    def run_in_executor(self, executor, func, *args):
        future = super().run_in_executor(executor, func, *args)
        self._outside += 1

        def done(_):
            self._outside -= 1
        future.add_done_callback(done)
        return future

    async def shutdown_default_executor(self):
        self._outside += 1  # asyncio.run's last step: a thread joins the executor's
        try:
            await super().shutdown_default_executor()
        finally:
            self._outside -= 1

    async def _make_subprocess_transport(self, protocol, args, shell, stdin, stdout,
                                         stderr, bufsize, extra=None, **kwargs):
        session = self._current()
        if session is None:
            return await super()._make_subprocess_transport(
                protocol, args, shell, stdin, stdout, stderr, bufsize, extra, **kwargs)
        if hasattr(asyncio, "get_child_watcher"):   # (gone in 3.14)
            # asyncio's check before it starts anything: a child watcher that is not
            # active is a RuntimeError; the host's loop waits for its programs itself
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                watcher = asyncio.get_child_watcher()
            with watcher as active:
                if not active.is_active():
                    raise RuntimeError("asyncio.get_child_watcher() is not activated, "
                                       "subprocess support is not installed.")
        return await start_in_host(self, self._sim_procs.append, protocol, args, shell,
                                   stdin, stdout, stderr, bufsize, extra, **kwargs)


async def start_in_host(loop, register, protocol, args, shell, stdin, stdout, stderr,
                        bufsize, extra=None, *, started=None,
                        **kwargs) -> _SimSubprocessTransport:
    """asyncio's subprocess transport of ``loop`` for a program started in the host,
    once its pipes are connected; ``register(transport)`` hands it to whatever moves
    its output and its end into the loop (the loop's waits: ``has_news``, ``pump``).
    ``started(transport)``, if given, runs once the program started, before that."""
    waiter = loop.create_future()
    transport = _SimSubprocessTransport(loop, protocol, args, shell, stdin, stdout,
                                        stderr, bufsize, waiter=waiter, extra=extra,
                                        **kwargs)
    if started is not None:
        started(transport)
    register(transport)
    try:
        await waiter
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException:
        transport.close()
        await transport._wait()
        raise
    return transport


class SimEventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """The loop policy of a drop-in session: new loops are SimEventLoops."""

    _loop_factory = SimEventLoop

