"""SimPopen: ``subprocess.Popen`` whose program runs in the test's host.

It keeps Popen's whole interface (``run``, ``call``, ``check_output``... are built on
it) and its conventions (``returncode`` is ``-sig`` when signalled), while the program is
spawned into the host and every wait is in virtual time.
"""
from __future__ import annotations

import fcntl
import functools
import io
import operator
import os
import signal as _signal
import subprocess
import sys
import threading
import warnings
import weakref

from ..errors import ProgramNotFoundError, SimprocError, SpawnError
from ..host.spawnargs import _check_env
from ..host.stdio import _redirect, open_stdio
from ..trace.spawn import close_fds_except, std_sources_above
from .forking import (ChildFailed, _HostPipeIO, _is_fifo, exec_candidates, exec_first,
                      fork_exec)
from .pipes import _PipeReader, _Relay, _StdinWriter, collect
from .routing import _in_host_thread, _real_waitpid, _RealPopen, active_session
from .waiting import _reaped_first, _sim_waitpid, sigchld_ignored


class DropinUnsupportedError(SimprocError, NotImplementedError):
    """A subprocess feature the simulated host cannot provide yet."""


class SimPopen(_RealPopen):
    """``subprocess.Popen`` whose program runs in the test's simulated host.

    ``pid`` is the virtual pid; ``wait``/``communicate`` timeouts are virtual seconds;
    ``returncode`` follows Popen's convention (``-sig`` when signalled). Outside an
    active drop-in session it makes a real ``Popen``."""

    _sp = _record = None  # as Popen's _child_created: __del__ of one __init__ refused

    def __new__(cls, *args, **kwargs):
        if not args and not kwargs:
            # Popen.__new__(Popen): a blank object the caller fills in by hand for a
            # process it did not start (plumbum's daemons): a real one, as natively;
            # its pid, if a host's, still reaches the host through os.kill & co.
            return object.__new__(_RealPopen if cls is __class__ else cls)
        session = active_session()
        if session is None or session._closed or _in_host_thread():
            return _RealPopen(*args, **kwargs)
        if cls is __class__ and _fork_replaced(cls):
            # the real Popen with the test's replacement (on SimPopen: the class the
            # test found at subprocess.Popen), as natively
            popen = object.__new__(_RealPopen)
            if "_execute_child" in __class__.__dict__:
                popen._execute_child = __class__.__dict__["_execute_child"]
            _real_init(popen, *args, **kwargs)
            return popen
        return object.__new__(cls)

    def __init__(self, args, bufsize=-1, executable=None, stdin=None, stdout=None,
                 stderr=None, preexec_fn=None, close_fds=True, shell=False, cwd=None,
                 env=None, universal_newlines=None, startupinfo=None, creationflags=0,
                 restore_signals=True, start_new_session=False, pass_fds=(), *,
                 user=None, group=None, extra_groups=None, encoding=None, errors=None,
                 text=None, umask=-1, pipesize=-1, process_group=None):
        if not isinstance(self, __class__):
            # ``subprocess.Popen.__init__(self, ...)`` in the __init__ of a subclass of
            # the real Popen (CPython's test_subprocess): the real one's, as natively
            return _subclass_init(self, args, bufsize, executable, stdin, stdout, stderr,
                                  preexec_fn, close_fds, shell, cwd, env, universal_newlines,
                                  startupinfo, creationflags, restore_signals,
                                  start_new_session, pass_fds, user=user, group=group,
                                  extra_groups=extra_groups, encoding=encoding,
                                  errors=errors, text=text, umask=umask, pipesize=pipesize,
                                  process_group=process_group)
        self._child_created = False  # the real Popen's methods have nothing to do
        self._sp = None
        self._record = None  # the session's record of the program (forking.ForkedChild)
        self._session = session = active_session()
        subprocess._cleanup()  # as Popen: reap the dropped Popens that have ended
        self._waitpid_lock = threading.Lock()
        self._input = None
        self._communication_started = False
        self._sigint_wait_secs = 0.25  # Popen's grace after a KeyboardInterrupt (wait)
        if bufsize is None:
            bufsize = -1
        if not isinstance(bufsize, int):
            raise TypeError("bufsize must be an integer")
        if startupinfo is not None:
            raise ValueError("startupinfo is only supported on Windows platforms")
        if creationflags != 0:
            raise ValueError("creationflags is only supported on Windows platforms")
        self.args = args
        self.stdin = self.stdout = self.stderr = None
        self.returncode = None
        self.encoding = encoding
        self.errors = errors
        self.pipesize = pipesize
        if (text is not None and universal_newlines is not None
                and bool(universal_newlines) != bool(text)):
            raise subprocess.SubprocessError(
                "Cannot disambiguate when both text and universal_newlines are supplied "
                "but different. Pass one or the other.")
        self.text_mode = encoding or errors or text or universal_newlines

        self._argv, self._executable = self._build_argv(args, executable, shell)
        self._env = None if env is None else {os.fsdecode(k): os.fsdecode(v)
                                              for k, v in env.items()}
        self._cwd = None if cwd is None else os.fsdecode(os.fspath(cwd))
        self._cwd_given = cwd  # named as given when it cannot be entered
        if pass_fds and not close_fds:
            warnings.warn("pass_fds overriding close_fds.", RuntimeWarning)
            close_fds = True
        # What only Python code between fork and exec can do: the test forks a child
        # that joins the host (forking.py), as Popen does natively; so does what the
        # program inherits from the test: its inheritable descriptors (close_fds=False)
        # and the signals Python ignores (restore_signals=False: SIGPIPE, SIGXFSZ)
        child = dict(preexec_fn=preexec_fn, pass_fds=_fds_to_keep(pass_fds),
                     close_fds=close_fds, umask=_c_int(umask),
                     process_group=None if process_group is None else _c_int(process_group),
                     start_new_session=start_new_session,
                     restore_signals=restore_signals,
                     ids=_ids(user, group, extra_groups))
        forked = (preexec_fn is not None or child["pass_fds"] or umask != -1
                  or process_group is not None or start_new_session
                  or not close_fds or not restore_signals
                  or child["ids"] != (None, None, None) or self._executable != self._argv[0]
                  # chdir(2)'s own error, named as Popen names it
                  or (self._cwd is not None and not os.path.isdir(self._cwd)))
        self._child = child if forked else None

        self._opened = opened = []  # the program's ends, closed once it started
        # the test's own 0, 1, 2 that it closed (before the Popen's pipes and dups take
        # their numbers): the program inherits them closed
        self._closed_std = {fd for fd in (0, 1, 2) if not _is_open(fd)}
        self._stdin_raw = None
        self._readers: dict[int, _PipeReader] = {}  # 1, 2 -> the test's end of a PIPE
        self._collected: dict[str, list[bytes]] = {}  # what communicate() read so far
        try:
            self._take_handles(self._get_handles(stdin, stdout, stderr))
            if self._inherits_closed:  # only a fork of the test has them closed
                self._child = child
            if self._child is None:
                try:
                    session.spawn(self, self._stdin_spec)
                except (ProgramNotFoundError, SpawnError):
                    # Popen's own error (FileNotFoundError with errno and file name,
                    # PermissionError...): what its fork meets at the exec
                    self._child = child
                    spawn_forked(session, self, self._stdin_spec)
            else:
                spawn_forked(session, self, self._stdin_spec)
        except BaseException:
            if self._stdin_raw is not None:
                self._stdin_raw._close_fd()
            for reader in self._readers.values():
                getattr(reader, "_close_fd", reader.close)()
            raise
        finally:
            for fd in dict.fromkeys(opened):
                os.close(fd)

        text_args = dict(encoding=encoding, errors=errors)
        line_buffering = bufsize == 1 and bool(self.text_mode)
        if self._stdin_raw is not None:
            # io.open(fd, "wb", bufsize) as Popen makes it: a BufferedWriter unless
            # bufsize is 0 (1 is line buffering in text mode, a warning in binary)
            if line_buffering:
                bufsize = -1
            elif bufsize == 1:
                warnings.warn("line buffering (buffering=1) isn't supported in binary "
                              "mode, the default buffer size will be used",
                              RuntimeWarning, stacklevel=2)
            stdin = (self._stdin_raw if bufsize == 0 else io.BufferedWriter(
                self._stdin_raw, bufsize if bufsize > 1 else io.DEFAULT_BUFFER_SIZE))
            self.stdin = (io.TextIOWrapper(stdin, write_through=True,
                                           line_buffering=line_buffering, **text_args)
                          if self.text_mode else stdin)
        for kind, raw in (("stdout", self._readers.get(1)),
                          ("stderr", self._readers.get(2))):
            if raw is None:
                continue
            if bufsize == 0 and not self.text_mode:
                stream = raw
            else:
                size = bufsize if bufsize > 1 else io.DEFAULT_BUFFER_SIZE
                stream = io.BufferedReader(raw, size)
                if self.text_mode:
                    stream = io.TextIOWrapper(stream, **text_args)
            setattr(self, kind, stream)

    # ------------------------------------------------------------ construction
    @staticmethod
    def _build_argv(args, executable, shell) -> tuple[list[str], str]:
        """The program's argv, and the file to execute (Popen's ``executable``)."""
        if isinstance(args, (str, bytes, os.PathLike)):
            if shell and isinstance(args, os.PathLike):
                raise TypeError("path-like args is not allowed when shell is true")
            seq = [args]
        else:
            seq = list(args)
        if shell:
            seq = ["/bin/sh", "-c", *seq]
            if executable is not None:
                seq[0] = executable
        if not seq:
            raise IndexError("list index out of range")
        argv = [os.fsdecode(os.fspath(a)) for a in seq]
        return argv, argv[0] if executable is None else os.fsdecode(os.fspath(executable))

    def _get_handles(self, stdin, stdout, stderr) -> tuple:
        """Popen's hook, in its form: (p2cread, p2cwrite, c2pread, c2pwrite, errread,
        errwrite), -1 where there is none; the program's ends and the test's. A
        subclass that overrides it (sarge's ``>&2`` puts stdout into the stderr pipe)
        wraps this one as it wraps Popen's, and ``_take_handles`` takes its answer."""
        opened = self._opened
        p2cread = self._in_spec(stdin, opened)
        p2cwrite = -1 if self._stdin_raw is None else self._stdin_raw.fileno()
        c2pwrite = -1 if stdout is None else self._out(stdout, opened, 1)
        if stderr == subprocess.STDOUT:  # Popen: the parent's stdout when none is set
            errwrite = c2pwrite if c2pwrite != -1 else sys.__stdout__.fileno()
        else:
            errwrite = -1 if stderr is None else self._out(stderr, opened, 2)
        c2pread, errread = (self._readers[fd].fileno() if fd in self._readers else -1
                            for fd in (1, 2))
        return (-1 if p2cread is None else p2cread, p2cwrite, c2pread, c2pwrite,
                errread, errwrite)

    def _take_handles(self, handles) -> None:
        """The program's stdin, stdout and stderr, and the test's ends, from
        ``_get_handles``'s answer. Ends a subclass made itself (a dup) are treated as
        Popen treats them: the program's end of a pipe is closed once it started, and
        a dup of the test's end of a pipe reads it too."""
        p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite = handles
        for child_end, test_end in ((p2cread, p2cwrite), (c2pwrite, c2pread),
                                    (errwrite, errread)):
            if child_end != -1 and test_end != -1 and child_end not in self._opened:
                self._opened.append(child_end)
        made = {reader.fileno(): reader for reader in self._readers.values()}
        readers = {}
        for target, fd in ((1, c2pread), (2, errread)):
            if fd != -1:
                readers[target] = made.pop(fd, None) or self._test_end(fd)
        for unused in made.values():
            unused._close_fd()
        self._readers = readers
        self._stdin_spec = None if p2cread == -1 else p2cread
        self._inherits_closed = {target for target, fd in enumerate((p2cread, c2pwrite,
                                                                     errwrite))
                                 if fd == -1 and target in self._closed_std}
        self._out_spec, self._err_spec = (
            fd if fd != -1 else -1 if target in self._inherits_closed
            else self._opened_dup(target)
            for target, fd in ((1, c2pwrite), (2, errwrite)))

    def _opened_dup(self, fd: int) -> int:
        """The program inherits the test's ``fd`` (pytest's capture sees it, as
        natively)."""
        fd = os.dup(fd)
        self._opened.append(fd)
        return fd

    def _test_end(self, fd: int):
        """A read end that ``_get_handles`` did not make: a dup of one of its pipes
        reads that pipe through the same relay; any other pipe is read as the test's
        ``os.fdopen`` files are (runs the host while it waits for its writers)."""
        ino = os.fstat(fd).st_ino
        for reader in self._readers.values():
            if os.fstat(reader.fileno()).st_ino == ino:
                reader._relay.shared = True  # either close leaves the other reading
                return _PipeReader(self._session, fd, reader._relay)
        return _HostPipeIO(fd, "r") if _is_fifo(fd) else io.FileIO(fd, "r")

    def _host_stdio(self) -> tuple:
        """SimHost.spawn's stdout and stderr for this Popen's (None: one the program
        inherits closed)."""
        return tuple(None if fd == -1 else fd for fd in (self._out_spec, self._err_spec))

    @staticmethod
    def _fileno(fileobj) -> int:
        return fileobj if isinstance(fileobj, int) else fileobj.fileno()

    @classmethod
    def _dup(cls, fileobj) -> int:
        return os.dup(cls._fileno(fileobj))

    def _in_spec(self, stdin, opened):
        if stdin is None or stdin == subprocess.DEVNULL:
            return None
        if stdin == subprocess.PIPE:
            read_end, write_end = self._pipe()
            opened.append(read_end)
            self._stdin_raw = _StdinWriter(self._session, write_end)
            return read_end
        source = self._fileno(stdin)
        fd = os.dup(source)
        opened.append(fd)
        reader = self._session._pipe_fds.get(source)
        if isinstance(reader, _PipeReader):  # another program's stdout: now read by two
            reader._relay.shared = True
        return fd

    def _pipe(self) -> tuple[int, int]:
        read_end, write_end = os.pipe()
        if self.pipesize > 0:  # as Popen: fcntl(2) F_SETPIPE_SZ
            try:
                fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, self.pipesize)
            except BaseException:
                os.close(read_end)
                os.close(write_end)
                raise
        return read_end, write_end

    def _out(self, spec, opened, default_fd):
        if spec == subprocess.PIPE:  # the program (and its children) hold the write end
            read_end, write_end = self._pipe()
            opened.append(write_end)
            try:
                test_end, relay_end = self._pipe()
            except BaseException:
                os.close(read_end)
                raise
            relay = _Relay(self._session, read_end, relay_end)
            self._readers[default_fd] = _PipeReader(self._session, test_end, relay)
            return write_end
        if spec == subprocess.DEVNULL:
            fd = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        elif spec == subprocess.STDOUT:
            raise ValueError("STDOUT can only be used for stderr")
        else:
            fd = self._dup(spec)
        opened.append(fd)
        return fd

    # ------------------------------------------------------------ state
    @property
    def pid(self) -> int:
        return self._sp.pid

    @pid.setter
    def pid(self, value) -> None:  # Popen.__init__ of a subclass may try
        pass

    @property
    def _waited(self) -> bool:
        """The test collected the exit status (this Popen or an os.wait*): kept on the
        session's record of the child, which outlives this object."""
        return self._record is not None and self._record._waited

    @_waited.setter
    def _waited(self, value: bool) -> None:
        self._record._waited = value

    def _ended(self) -> bool:
        return self._sp is not None and self._sp.exit_status is not None

    def _reap(self) -> None:
        """The test (the program's parent) collects the exit status; none when it
        ignores SIGCHLD (the kernel reaped the child: Popen's waitpid gets ECHILD and
        says 0, as natively)."""
        self._waited = True
        if self.returncode is None:
            self.returncode = 0 if sigchld_ignored() else self._sp.returncode

    def _block_until_ended(self, timeout) -> bool:
        if not self._ended():
            self._session.block(self._ended, timeout)
        if not self._ended():
            return False
        self._check_ended_by_itself()
        return True

    def _check_ended_by_itself(self) -> None:
        """An ended program that was alive at stop_time was stopped by the host: a wait
        for it would natively never return."""
        if self._sp.returncode is None:
            raise SimprocError(
                f"{self._argv!r} was still running when the simulated host reached its "
                f"stop_time ({self._session.host.stop_time} virtual seconds); natively "
                f"this wait would never return")

    # ------------------------------------------------------------ Popen API
    def _collected_elsewhere(self) -> bool:
        """An os.wait* of the test took the exit status: as natively, Popen then says 0
        (CPython's Popen when its own waitpid finds no child, ECHILD)."""
        if self._waited and self.returncode is None:
            self.returncode = 0
        return self._waited

    def poll(self):
        if self.returncode is None and not self._collected_elsewhere():
            # natively the test's poll comes before the program's later work: a program
            # that prints and then exits at one virtual instant (its work costs no time)
            # is seen alive with its output in the pipe first (circus's stream of a
            # killed process is read before it reaps it and drops the stream)
            self._session.run_now(until_output=True)
            if self._ended():
                self._reap()
        return self.returncode

    def _wait(self, timeout):
        # Popen.wait's own step: wait() (and __exit__ after a KeyboardInterrupt, with
        # its short grace) are Popen's, as a test that patches _wait expects
        if self.returncode is None and os.waitpid not in (_sim_waitpid, _real_waitpid):
            # the test put its own os.waitpid under Popen.wait (CPython's test_stopped
            # gives it a stopped status): Popen's own loop over it, as natively
            return _RealPopen._wait(self, timeout)
        if self.returncode is not None or self._collected_elsewhere():
            return self.returncode
        if not self._block_until_ended(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout)
        self._reap()
        _reaped_first(self._session)  # as a blocking os.waitpid
        return self.returncode

    def communicate(self, input=None, timeout=None):
        """As Popen's: reads stdout and stderr to end of file (every writer closed
        them), then waits; ``timeout`` is virtual."""
        if self._communication_started and input:
            raise ValueError("Cannot send input after starting communication")
        pipes = [self.stdin, self.stdout, self.stderr]
        if timeout is None and not self._communication_started and pipes.count(None) >= 2:
            # as Popen: one pipe and no timeout use the file object itself
            out = err = None
            if self.stdin:
                self._stdin_write(input)
            elif self.stdout:
                out = self.stdout.read()
                self.stdout.close()
            elif self.stderr:
                err = self.stderr.read()
                self.stderr.close()
            self.wait()
            return out, err
        deadline = None if timeout is None else self._session.now + timeout
        if self.stdin is not None and not self._communication_started:
            try:
                self.stdin.flush()   # what the test wrote before, as Popen flushes it
            except BrokenPipeError:
                pass
            self._stdin_write(input)  # never blocks: the rest is fed as the program reads
        self._communication_started = True
        done = collect(self, timeout)
        out, err = (b"".join(self._collected[kind]) if kind in self._collected else None
                    for kind in ("stdout", "stderr"))
        if not done:
            raise subprocess.TimeoutExpired(self.args, timeout, output=out or None,
                                            stderr=err or None)
        if self.text_mode:
            if out is not None:
                out = self._translate_newlines(out, self.stdout.encoding, self.stdout.errors)
            if err is not None:
                err = self._translate_newlines(err, self.stderr.encoding, self.stderr.errors)
        self.wait(None if deadline is None else max(0.0, deadline - self._session.now))
        return out, err

    def send_signal(self, sig):
        self.poll()
        if self.returncode is not None or self._ended():
            return
        try:
            with self._session._lock:
                self._session._signal(self.pid, sig)
        except ProcessLookupError:
            pass

    def terminate(self):
        self.send_signal(_signal.SIGTERM)

    def kill(self):
        self.send_signal(_signal.SIGKILL)

    def _internal_poll(self, _deadstate=None, **_):
        """Popen's poll without running anything (its waitpid with WNOHANG), for
        ``__del__`` and ``subprocess._cleanup``; ``_deadstate`` when the status was
        taken elsewhere, as Popen's when its waitpid fails."""
        if self.returncode is None and self._sp is not None:
            if self._waited:
                self.returncode = 0 if _deadstate is None else _deadstate
            elif self._ended():
                self._reap()
        return self.returncode

    def __del__(self, _maxsize=sys.maxsize, _warn=warnings.warn):
        # Popen.__del__: a program still running warns, and subprocess keeps its Popen
        # (_active) to reap it at the next Popen (test_subprocess's issue 12650)
        if self._sp is None:
            return
        if self.returncode is None:
            _warn("subprocess %s is still running" % self.pid, ResourceWarning, source=self)
        self._internal_poll(_deadstate=_maxsize)
        if self.returncode is None and subprocess._active is not None:
            subprocess._active.append(self)

    @property
    def simprocess(self):
        """The host's SimProcess behind this Popen (state, ppid, children...)."""
        return self._sp


# what the test's code sees is subprocess.Popen: its repr too ("<Popen: returncode: ...>")
SimPopen.__name__ = SimPopen.__qualname__ = "Popen"

# Drop-in's code reads SimPopen at run time only through this tuple or, in its methods,
# their ``__class__``: a library that swaps every module global that *is* the current
# subprocess.Popen for its fake (pytest-subprocess's ``fp``, natively the real Popen)
# swaps drop-in's own names of SimPopen too, and one read then would reach the fake.
_HELD = (SimPopen,)


def sim_popen() -> type:
    """SimPopen, whatever a library did to the module globals that name it."""
    return _HELD[0]


# ------------------------------------------------------------ Popen's subclasses
_VARIANTS: dict[type, type] = {}   # a subclass of the real Popen -> its host variant


def _twin(klass: type) -> bool:
    """``klass`` is the Popen of a copy of subprocess (eventlet's
    ``patcher.original("subprocess")``, modcopies.py): the real class's code again."""
    return (klass is not _RealPopen and klass.__module__ == "subprocess"
            and klass.__qualname__ == "Popen" and klass.__bases__ == (object,))


def _variant(cls: type) -> type:
    """``cls`` with SimPopen under its own methods (MRO: cls, its bases, SimPopen, the
    real Popen): the subclass's overrides still win, and their ``super()`` calls
    reach SimPopen; ``isinstance(p, cls)`` holds. Where a twin of the real Popen is
    among its bases (eventlet.green.subprocess's Popen), the twin's methods would come
    before SimPopen's: SimPopen's go in the variant itself."""
    variant = _VARIANTS.get(cls)
    if variant is None:
        attrs = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
        for name, value in vars(sim_popen()).items():
            owner = next((k for k in cls.__mro__ if name in vars(k)), None)
            if owner is not None and _twin(owner) and not name.startswith("__"):
                attrs[name] = value
        variant = _VARIANTS[cls] = type(cls.__name__, (cls, sim_popen()), attrs)
    return variant


_real_init = _RealPopen.__init__
_real_fork_exec = subprocess._fork_exec


def _fork_replaced(cls: type) -> bool:
    """The test replaced Popen's fork: ``subprocess._fork_exec`` (mock.patch) or
    ``_execute_child`` (a subclass's override, mock.patch.object). Natively no program
    starts but the one the replacement starts, so the real Popen's code runs with it
    (what it forks joins the host through forking.py's hooks)."""
    owner = next(k for k in cls.__mro__ if "_execute_child" in vars(k))
    return (subprocess._fork_exec is not _real_fork_exec
            or (cls._execute_child is not _RealPopen._execute_child
                and not (_twin(owner) and getattr(owner._execute_child, "__qualname__", "")
                         == "Popen._execute_child")))


@functools.wraps(_real_init)
def _subclass_init(self, *args, **kwargs):
    """The real Popen's ``__init__`` while drop-in patches are in: a subclass defined
    before the patch (``class Popen(subprocess.Popen)`` at import, sarge's) inherits
    from the real class, which replacing ``subprocess.Popen`` cannot reach, so its
    instances made in a session become their host variant and start their program in
    the host too. (Its own ``__init__`` has run up to its ``super().__init__``.)"""
    cls = type(self)
    if cls is not _RealPopen and not isinstance(self, sim_popen()):
        session = active_session()
        if (session is not None and not session._closed and not _in_host_thread()
                and not _fork_replaced(cls)):
            self.__class__ = _variant(cls)
            return sim_popen().__init__(self, *args, **kwargs)
    return _real_init(self, *args, **kwargs)


CLASS_ATTRIBUTES = [(_RealPopen, "__init__", _subclass_init)]


# ------------------------------------------------------------ Popen's fork
def _ids(user, group, extra_groups) -> tuple:
    """(gid, supplementary gids, uid) as Popen resolves and checks them in the parent."""
    import grp
    import pwd
    gid = gids = uid = None
    if group is not None:
        gid = _id("Group", grp.getgrnam(group).gr_gid if isinstance(group, str) else group)
    if extra_groups is not None:
        gids = [_id("Group", grp.getgrnam(g).gr_gid if isinstance(g, str) else g, True)
                for g in extra_groups]
        if any(g >= _UINT_MAX for g in gids):  # _posixsubprocess's own message
            raise ValueError("invalid group id")
    if user is not None:
        uid = _id("User", pwd.getpwnam(user).pw_uid if isinstance(user, str) else user)
    return gid, gids, uid


def _id(kind: str, value, extra: bool = False) -> int:
    value = operator.index(value)
    if value < 0:
        raise ValueError(f"{kind} ID cannot be negative, got {value}")
    if value >= _UINT_MAX and not extra:  # uid_t and gid_t; -1 means "unchanged"
        raise OverflowError(f"{kind.lower()} id is greater than maximum")
    return value


def _c_int(value) -> int:
    """A value _posixsubprocess takes as a C int (umask, the process group)."""
    value = operator.index(value)
    if not _INT_MIN <= value <= _INT_MAX:
        raise OverflowError("signed integer is greater than maximum" if value > 0
                            else "signed integer is less than minimum")
    return value


def _fds_to_keep(pass_fds) -> tuple:
    """pass_fds, checked as _posixsubprocess checks them."""
    fds = set(pass_fds)
    if not all(isinstance(fd, int) and 0 <= fd <= _INT_MAX for fd in fds):
        raise ValueError("bad value(s) in fds_to_keep")
    return tuple(sorted(fds))


_INT_MIN, _INT_MAX, _UINT_MAX = -(1 << 31), (1 << 31) - 1, (1 << 32) - 1


def spawn_forked(session, popen: SimPopen, stdin) -> None:
    """Start ``popen``'s program from a fork of the test that joined the host, and
    return once it has exec'd; a failure before the exec is raised as Popen raises it."""
    host = session.host
    exe = os.path.basename(popen._executable)
    env = _check_env(popen._env)
    candidates = exec_candidates(popen._executable,
                                 os.pathsep.join(os.get_exec_path(popen._env)))
    fds, paths, close_after = open_stdio(host.data_dir, exe, stdin)
    try:
        fds = tuple(-1 if target in popen._inherits_closed else fd
                    for target, fd in enumerate(_redirect(fds, *popen._host_stdio())))
        with session._lock, std_sources_above(fds) as fds:
            try:
                record = fork_exec(session, lambda errpipe: _popen_child(
                    popen, fds, errpipe, candidates, env),
                    suite_hooks=popen._child["preexec_fn"] is not None)
            except ChildFailed as exc:
                for path in paths:
                    os.unlink(path)
                raise _popen_error(popen, exc) from None
            host._keep_output(record._sp, exe, paths)
            popen._sp = record._sp
            popen._record = record
            record.popen = weakref.ref(popen)
    finally:
        for fd in close_after:
            os.close(fd)


def _popen_child(popen: SimPopen, fds, errpipe: int, candidates, env) -> None:
    """Popen's steps in the child, in _posixsubprocess's order; simulated, since the
    child joined the host at the fork."""
    child = popen._child
    for target, fd in enumerate(fds):  # -1: the test's own, closed
        if fd >= 0:
            os.dup2(fd, target)
    if popen._cwd is not None:
        try:
            os.chdir(popen._cwd)
        except OSError as exc:
            exc.kind = "noexec:chdir"
            raise
    if child["umask"] >= 0:
        os.umask(child["umask"])
    if child["restore_signals"]:
        for sig in (_signal.SIGPIPE, _signal.SIGXFSZ):
            _signal.signal(sig, _signal.SIG_DFL)
    if child["process_group"] is not None and child["process_group"] >= 0:
        os.setpgid(0, child["process_group"])
    if child["start_new_session"]:
        os.setsid()
    gid, gids, uid = child["ids"]
    if gids is not None:
        os.setgroups(gids)
    if gid is not None:
        os.setregid(gid, gid)
    if uid is not None:
        os.setreuid(uid, uid)
    if child["preexec_fn"] is not None:
        try:
            child["preexec_fn"]()
        except BaseException:
            raise ChildFailed("preexec", 0) from None
        if popen._env is None:
            # env=None: the program gets the child's environ(7), which preexec_fn may
            # have changed with os.putenv (less what the test's own run put there)
            own = set(os.environ) - set(_check_env(None))
            env = {k: v for k, v in _c_environ().items() if k not in own}
    for fd in child["pass_fds"]:
        os.set_inheritable(fd, True)
    if child["close_fds"]:
        close_fds_except({*child["pass_fds"], errpipe})
    exec_first(candidates, popen._argv, env)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _c_environ() -> dict[str, str]:
    """This process's C ``environ`` as execv(3) would pass it (os.environ is a copy
    made at start-up: os.putenv does not change it)."""
    import ctypes
    entries = ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), "environ")
    env, i = {}, 0
    while entries[i] is not None:
        name, _, value = os.fsdecode(entries[i]).partition("=")
        env.setdefault(name, value)
        i += 1
    return env


def _popen_error(popen: SimPopen, failed: ChildFailed) -> BaseException:
    """The exception Popen raises for what its child met (subprocess.py)."""
    if failed.kind == "preexec":
        return subprocess.SubprocessError("Exception occurred in preexec_fn.")
    message = os.strerror(failed.code)
    if failed.kind == "noexec:chdir":
        return OSError(failed.code, message, popen._cwd_given)
    if failed.kind == "noexec":
        return OSError(failed.code, message)
    return OSError(failed.code, message, popen._executable)
