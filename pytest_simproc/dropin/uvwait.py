"""uvloop's event loops in the test follow the host, as asyncio's own do (aio.py).

uvloop runs asyncio on libuv, in C: its clock is libuv's (``uv_now``, read with
``clock_gettime(CLOCK_MONOTONIC[_COARSE])``), its waits are epoll's, and its
subprocesses are libuv's ``uv_spawn`` (fork and exec in C, then SIGCHLD and waitpid).
None of that asks Python, so under ``--simproc`` a uvloop test slept in real time, and
its subprocess hung: uv_spawn runs the at-fork hooks but returns only after its child
exec'd, while forking.py's child waits for the parent's hook to enter it into the host.

So, once uvloop is imported during a session:

- libuv's calls to ``clock_gettime`` and ``epoll_pwait`` (``epoll_wait`` in older
  libuv) through the slots of uvloop's loop module (libhooks.py) come here. In the
  test's own thread during a session, libuv's monotonic clock is the host's virtual
  one, each read costing a microsecond as the test's Python reads do (clock.py): anyio's
  deadline timer, which re-arms itself when it finds the clock short of its deadline
  (libuv rounds the wait to the millisecond), ran at once forever on a clock that
  stood still, where the machine's moves on; and a wait with nothing ready runs the host until one of the loop's
  descriptors is ready or its next timer is due, in virtual time:
  ``asyncio.sleep(3600)`` returns at once, ``wait_for`` timeouts and ``call_later``
  are virtual, a stream to a daemon of the host gets its answer. Other threads'
  loops, and every loop outside a session, read the machine's clock plus the virtual
  time the test's loops went ahead of it (libuv's clock never goes back) and wait for
  real. A suite's uvloop policy stays in place during its tests (patches.py).
- ``subprocess_exec`` and ``subprocess_shell`` of a uvloop loop that the test's thread
  runs start the program in the host (aio.py's transport over a SimPopen), with
  uvloop's own checks of their arguments; their output and their end reach the loop
  through its thread-safe wake-up whenever the host ran. Other threads' uvloop
  subprocesses are the machine's (their forks stay out of the host: native_forks).
- While work handed to a thread by ``run_in_executor`` (``to_thread``) is under way,
  the loop waits in real time and virtual time stands still.

- uvloop resolves addresses (``create_server``, ``create_connection``, ``getaddrinfo``)
  in libuv's thread pool: while a resolution the test's thread asked for is under way
  (``uv_getaddrinfo``/``uv_getnameinfo``, hooked too, until their callback), the loop
  waits in real time and virtual time stands still, as for a thread's work (uvicorn's
  server had not bound its port when its test's 0.1 s sleep ended).

What stays native: loops of the compiled base class itself
(``uvloop.loop.Loop()``, not ``uvloop.Loop``/``new_event_loop``/its policy) cannot be
given Python methods: their subprocesses, and any fork while one runs, stay the
machine's (forking.spawning_loops). Only x86-64 is hooked.
"""
from __future__ import annotations

import _thread
import asyncio.events
import ctypes
import functools
import select
import subprocess
import sys
import weakref

from . import forking, libhooks
from .aio import _OUTSIDE_SLICE, _off_the_loop, start_in_host, wait_in_host
from .routing import active_session, fd_ready
from .triowait import _test_thread_session

_CLOCK_MONOTONIC, _CLOCK_MONOTONIC_COARSE = 1, 6  # clock_gettime(2)
_SLICE_MS = int(_OUTSIDE_SLICE * 1000)


class _Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


# ------------------------------------------------------------------ libuv's clock
class _Clock:
    """libuv's monotonic clock, one for the process: in the test's thread during a
    session, where it was when the session's first reading came plus the virtual time
    since (its reads' cost included); elsewhere the machine's plus ``offset``, the virtual time earlier sessions
    went ahead of it. Never goes back in any thread."""
    lock = _thread.allocate_lock()  # not threading's: the session's fakes replace it
    offset = 0
    session = None  # the session whose test thread reads virtual time
    base = (0, 0)  # (libuv's clock, the session's virtual ns) at its first reading
    last = 0  # the latest reading given to the session's thread

    @classmethod
    def now(cls, real: int) -> int:
        session = _test_thread_session()
        with cls.lock:
            current = cls.session
            if current is not None and current is not session and (
                    current._closed or active_session() is not current):  # it is over
                cls.offset = max(cls.offset, cls.last - real)
                cls.session = None
            if session is None:
                return real + cls.offset
            virtual = session._read_ns()
            if cls.session is not session:
                cls.session = session
                cls.base = (max(real + cls.offset, cls.last), virtual)
            cls.last = max(cls.last, cls.base[0] + virtual - cls.base[1])
            return cls.last


_real_clock_gettime = libhooks.libc_function("clock_gettime", ctypes.c_int, ctypes.c_int,
                                             ctypes.c_void_p)
_real_epoll_pwait = libhooks.libc_function("epoll_pwait", ctypes.c_int, ctypes.c_int,
                                           ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                           ctypes.c_void_p)


def _clock_gettime(clock_id, address):
    if clock_id in (_CLOCK_MONOTONIC, _CLOCK_MONOTONIC_COARSE):
        try:
            # every monotonic reading from the precise clock: one base for the offset
            if _real_clock_gettime(_CLOCK_MONOTONIC, address) == 0:
                spec = _Timespec.from_address(address)
                now = _Clock.now(spec.sec * 1_000_000_000 + spec.nsec)
                spec.sec, spec.nsec = divmod(now, 1_000_000_000)
                return 0
        except BaseException as exc:  # a C caller cannot take an exception
            _hand_over(exc)
    return _real_clock_gettime(clock_id, address)


# ------------------------------------------------------------------ libuv's waits
def _epoll_pwait(epfd, events, maxevents, timeout, sigmask):
    try:
        found = _wait(_running_uvloop(), epfd, events, maxevents, timeout, sigmask)
    except BaseException as exc:  # a C caller cannot take an exception
        _hand_over(exc)
        found = None  # (a handed-over one woke the loop: the real call returns at once)
    if found is None:
        found = _real_epoll_pwait(epfd, events, maxevents, timeout, sigmask)
    if found < 0:
        libhooks.set_errno(ctypes.get_errno())  # what libuv reads (EINTR: it waits again)
    return found


def _epoll_wait(epfd, events, maxevents, timeout):
    """epoll_wait(2), which libuv before 1.45 calls when it blocks no signal."""
    return _epoll_pwait(epfd, events, maxevents, timeout, None)


@_off_the_loop
def _wait(loop, epfd, events, maxevents, timeout, sigmask):
    """epoll_pwait(2) of ``loop`` (uvloop's, None for any other) in the test's thread
    during a session: the host runs while nothing is ready (None: the real call, as
    asked). No loop is marked running meanwhile (_off_the_loop)."""
    session = _test_thread_session()
    if session is None:
        return None
    state = _states.get(loop) if loop is not None else None
    if timeout == 0:
        if state is not None:
            state.look()
        return None

    def ready() -> bool:
        return fd_ready(epfd, select.POLLIN) or state is not None and state.look()

    # libuv takes no "nothing happened" from a wait without a timeout (-1): it waits on
    while True:
        if (state is not None and state.outside  # work in a thread or the pool: real time
                or any(asker is session for asker, _ in _resolving.values())):
            found = _real_epoll_pwait(epfd, events, maxevents, _slice(timeout), sigmask)
        else:
            outcome = wait_in_host(session, ready, None if timeout < 0 else timeout / 1000)
            if outcome is False:
                return 0  # the next timer is due: libuv reads its clock again
            # ready, or only the outside (a thread, the machine) can end the wait
            found = _real_epoll_pwait(epfd, events, maxevents,
                                      0 if outcome else _slice(timeout), sigmask)
        if found != 0 or timeout >= 0:
            return found


# libuv's thread pool: uv_getaddrinfo and uv_getnameinfo requests of the test's thread
# under way, by the request's address -> (the session, the callback libuv would have
# called); one whose callback never came (its loop dropped) holds no later session
_resolving: dict = {}
_ResolvedCallback = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
_NameCallback = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p,
                                 ctypes.c_char_p)


def _resolved(request, status, result):
    _, callback = _resolving.pop(request, (None, None))
    if callback is not None:
        _ResolvedCallback(callback)(request, status, result)


def _named(request, status, hostname, service):
    _, callback = _resolving.pop(request, (None, None))
    if callback is not None:
        _NameCallback(callback)(request, status, hostname, service)


def _pool_hook(done):
    """uv_getaddrinfo(3)/uv_getnameinfo: a request of the test's thread during a
    session counts as under way until its callback (``done`` calls libuv's)."""
    real = []

    def submit(loop, request, callback, *args):
        session = _test_thread_session()
        if not callback or session is None:
            return real[0](loop, request, callback, *args)
        _resolving[request] = (session, callback)
        status = real[0](loop, request, done, *args)
        if status != 0:
            _resolving.pop(request, None)
        return status
    return submit, real


def _slice(timeout: int) -> int:
    return _SLICE_MS if timeout < 0 else min(timeout, _SLICE_MS)


def _running_uvloop():
    loop = asyncio.events._get_running_loop()
    return loop if _loop_class is not None and isinstance(loop, _loop_class) else None


def _hand_over(exc: BaseException) -> None:
    """An exception raised in a hook, which its C caller (libuv) cannot take. One that
    is no Exception came from a signal handler of the test (KeyboardInterrupt,
    SystemExit, pytest-timeout's): the hook's Python code ran it, where natively
    uvloop's signal wake-up runs it in a callback of the loop (Loop._read_from_self),
    so it goes to the running uvloop loop as a callback that raises it, and uvloop
    takes it as its own: KeyboardInterrupt and SystemExit end the loop's run and are
    raised from it, any other goes to the loop's exception handler. An Exception is the
    hook's failure: the real call is made, said once."""
    loop = _running_uvloop()
    if loop is not None and not isinstance(exc, Exception):
        def raise_it():
            raise exc
        try:
            loop.call_soon_threadsafe(raise_it)
            return
        except RuntimeError:  # closed
            pass
    _report(exc)


_reported = False


def _report(exc) -> None:
    """A hook's failure: the real call is made instead; said once on stderr."""
    global _reported
    if not _reported:
        _reported = True
        print(f"pytest-simproc: uvloop hook failed, real call made: {exc!r}",
              file=sys.stderr)


# ------------------------------------------------------------------ one loop's programs
class _LoopState:
    """The programs a uvloop loop started in the host, and its jobs in threads."""

    def __init__(self, loop):
        self._loop = weakref.ref(loop)
        self.transports: list = []
        self.outside = 0
        self._pumping = False

    def look(self) -> bool:
        """Whether the loop has output or an end of its programs to take in: if so, a
        pump is on its way (the loop's thread-safe wake-up ends its wait)."""
        if self._pumping:
            return True
        loop = self._loop()
        if loop is None or not any(t.has_news() for t in self.transports):
            return False
        self._pumping = True
        loop.call_soon_threadsafe(self.pump)
        return True

    def pump(self) -> None:
        self._pumping = False
        self.transports = [t for t in self.transports if t.pump()]


_states: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _state(loop) -> _LoopState:
    state = _states.get(loop)
    if state is None:
        state = _states[loop] = _LoopState(loop)
    return state


def _hosted(loop) -> bool:
    return _test_thread_session() is not None and _running_uvloop() is loop


async def _start(loop, protocol_factory, args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, universal_newlines=False, shell=True, bufsize=0,
                 preexec_fn=None, close_fds=None, cwd=None, env=None, startupinfo=None,
                 creationflags=0, restore_signals=True, start_new_session=False,
                 executable=None, pass_fds=(), **kwargs):
    """uvloop's subprocess start (its checks, its ``executable`` as argv[0]), in the
    host. libuv's child keeps the inheritable descriptors: no ``close_fds``."""
    if universal_newlines:
        raise ValueError("universal_newlines must be False")
    if bufsize != 0:
        raise ValueError("bufsize must be 0")
    if startupinfo is not None:
        raise ValueError("startupinfo is not supported")
    if creationflags != 0:
        raise ValueError("creationflags is not supported")
    if executable is not None:
        args[0] = executable
    sleep_after_fork = kwargs.pop("__uvloop_sleep_after_fork", False)
    if kwargs:
        raise ValueError("unexpected kwargs: {}".format(", ".join(kwargs.keys())))
    protocol = protocol_factory()
    # bufsize 0, as uvloop checked: libuv writes to the program's stdin at once (a
    # buffered one kept a write that drain() let through until the pipe was closed)
    transport = await start_in_host(
        loop, _state(loop).transports.append, protocol, args, False, stdin, stdout, stderr,
        bufsize, preexec_fn=preexec_fn, close_fds=bool(pass_fds), cwd=cwd, env=env,
        restore_signals=restore_signals, start_new_session=start_new_session,
        pass_fds=pass_fds, started=functools.partial(_started, sleep=sleep_after_fork))
    return transport, protocol


# uvloop's first write buffer limits (its UVBaseTransport: 64 KiB high, and 64 // 4
# bytes low), where asyncio's low is 16 KiB
_UVLOOP_LIMITS = (64 * 1024, 64 // 4)


@_off_the_loop
def _started(transport, sleep: bool) -> None:
    """The program started: its stdin gets uvloop's limits, and with uvloop's test-only
    ``__uvloop_sleep_after_fork`` (``sleep``) the parent sleeps a second after the
    fork (``time.sleep(1)`` in UVProcessTransport's start, its loop blocked), so an end
    libuv saw meanwhile is the transport's before its pipes are connected (uvloop's
    test_process_delayed_stdio__paused__*). Here the second is the host's."""
    transport.stdin_limits = _UVLOOP_LIMITS
    if not sleep:
        return
    _test_thread_session().sleep(1)
    transport.settled = True


class _NativeFirstStep:
    """A uvloop subprocess start the machine makes: its first step (where uv_spawn
    forks) runs with the fork hooks standing aside, the rest as it comes."""

    def __init__(self, coro):
        self._coro = coro

    def __await__(self):
        steps = self._coro.__await__()
        with forking.native_forks():
            try:
                value = steps.send(None)
            except StopIteration as stop:
                return stop.value
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                steps.close()
                raise
            except BaseException as exc:
                try:
                    value = steps.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = steps.send(sent)
                except StopIteration as stop:
                    return stop.value


def _make_subprocess_exec(real):
    async def subprocess_exec(self, protocol_factory, program, *args, shell=False, **kwargs):
        if not _hosted(self):
            return await _NativeFirstStep(
                real(self, protocol_factory, program, *args, shell=shell, **kwargs))
        if shell:
            raise ValueError("shell must be False")
        return await _start(self, protocol_factory, [program, *args], **kwargs)
    return subprocess_exec


def _make_subprocess_shell(real):
    async def subprocess_shell(self, protocol_factory, cmd, *, shell=True, **kwargs):
        if not _hosted(self):
            return await _NativeFirstStep(
                real(self, protocol_factory, cmd, shell=shell, **kwargs))
        if not shell:
            raise ValueError("shell must be True")
        return await _start(self, protocol_factory, [b"/bin/sh", b"-c", cmd], **kwargs)
    return subprocess_shell


def _make_run_in_executor(real):
    def run_in_executor(self, executor, func, *args):
        future = real(self, executor, func, *args)
        if _hosted(self):
            state = _state(self)
            state.outside += 1

            def done(_):
                state.outside -= 1
            future.add_done_callback(done)
        return future
    return run_in_executor


_MAKERS = {"subprocess_exec": _make_subprocess_exec,
           "subprocess_shell": _make_subprocess_shell,
           "run_in_executor": _make_run_in_executor}
_fakes: dict = {}  # method name -> the fake installed on uvloop.Loop
_loop_class = None  # uvloop.Loop, once hooked
_callbacks: list = []  # the ctypes callbacks in libuv's slots: alive for the process


def install(undo: list) -> None:
    """Once uvloop is imported (looked at every session's start): the fakes on
    uvloop.Loop, with their undo entries (object, name, real), and, once for the
    process, libuv's clock and waits (they act only for a session's test thread)."""
    global _loop_class
    if not libhooks.supported():
        return
    uvloop = sys.modules.get("uvloop")
    klass = getattr(uvloop, "Loop", None)
    if klass is None:
        if uvloop is None and not any(f is _watch for f in sys.meta_path):
            _watch.undo = undo
            sys.meta_path.insert(0, _watch)
        return
    for name, make in _MAKERS.items():
        current = getattr(klass, name)
        if current is _fakes.get(name):
            continue
        fake = make(current)
        fake.__name__ = fake.__qualname__ = name
        _fakes[name] = fake
        undo.append((klass, name, current))
        setattr(klass, name, fake)
    if _loop_class is None:
        compiled = klass.__mro__[1]
        _hook_libuv(sys.modules[compiled.__module__].__file__)
        forking.spawning_loops = (compiled,)  # its methods are not ours: see above
        _loop_class = klass


def follows_host(policy) -> bool:
    """Whether ``policy`` (the suite's asyncio loop policy) makes loops that follow the
    host: uvloop's, once hooked."""
    policy_class = getattr(sys.modules.get("uvloop"), "EventLoopPolicy", None)
    return (_loop_class is not None and policy_class is not None
            and isinstance(policy, policy_class))


class _ImportWatch:
    """A finder on sys.meta_path until uvloop is imported: a test (anyio's plugin,
    uvloop.run, uvloop.install) may import it first during a session, which then
    installs the fakes at once (a later session's start would be too late for it)."""
    undo: list = []

    def find_spec(self, name, path, target=None):
        if name != "uvloop":
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if finder is not self and find else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            real_exec = spec.loader.exec_module

            def exec_module(module):
                real_exec(module)
                if self in sys.meta_path:
                    sys.meta_path.remove(self)
                if active_session() is not None:
                    install(self.undo)
            spec.loader.exec_module = exec_module
        return spec


_watch = _ImportWatch()


def _hook_libuv(path: str) -> None:
    hooks = {"clock_gettime": ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)(
                 _clock_gettime),
             "epoll_pwait": ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                             ctypes.c_int, ctypes.c_int, ctypes.c_void_p)(
                 _epoll_pwait),
             "epoll_wait": ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                            ctypes.c_int, ctypes.c_int)(_epoll_wait)}
    resolved, named = _ResolvedCallback(_resolved), _NameCallback(_named)
    pool = {"uv_getaddrinfo": (resolved, [ctypes.c_void_p] * 6),
            "uv_getnameinfo": (named, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                       ctypes.c_void_p, ctypes.c_int])}
    for name, (done, argtypes) in pool.items():
        submit, real = _pool_hook(done)
        real.append(libhooks.library_function(path, name, ctypes.c_int, *argtypes))
        hooks[name] = ctypes.CFUNCTYPE(ctypes.c_int, *argtypes)(submit)
    _callbacks.extend((resolved, named))
    slots = libhooks.import_slots(path, hooks)
    bias = libhooks.load_bias(path)
    _callbacks.extend(hooks.values())
    for name, hook in hooks.items():
        for slot in slots.get(name, ()):
            libhooks.write_slot(bias + slot, ctypes.cast(hook, ctypes.c_void_p).value)
