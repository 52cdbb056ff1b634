"""Starting a program under ptrace with the seccomp filter in place.

The child asks to be traced, turns ASLR off, stops itself so the tracer can set its
ptrace options, installs the filter and execs. The tracer lets everything before that
first execve run natively: only the program, not our set-up, is simulated.

The child is a clone(CLONE_VM) that runs C (_spawnc.c) when that extension was built:
forking the test process and running Python in the child cost most of a spawn. The
fork path (_child) stays for installs without a C compiler and for the inputs the C
path leaves to os.execve's own checks and errors.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import resource as resource_module
import signal
import warnings

from . import ptrace_ops as pt
from .seccomp import PreparedFilter

try:
    from . import _spawnc
except ImportError:  # built without a C compiler
    _spawnc = None

ADDR_NO_RANDOMIZE = 0x0040000  # personality(2)
SYS_EXECVE = 59
RLIM64_INFINITY = (1 << 64) - 1  # getrlimit(2): what any limit >= 2**63 means
_libc = ctypes.CDLL(None, use_errno=True)


class SpawnFailed(Exception):
    """The child could not exec the program; the message says why."""


def close_fds_except(keep) -> None:
    """Close every descriptor from 3 up but those of ``keep``, as a child's close_fds
    (_spawnc.c closes the same range)."""
    low = 3
    for fd in sorted(keep):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 1 << 20)


@contextlib.contextmanager
def std_sources_above(fds):
    """``fds`` (a child's 0, 1, 2; -1: none) with every source among 0, 1, 2 replaced
    by a copy above them, closed on leaving. The child's dup2(source, target) then
    never overwrites another target's source (CPython issue 12607) and always clears
    close-on-exec (a source in its own place keeps it: issue 9905), as
    _posixsubprocess sees to, for a parent that closed or moved its own 0, 1, 2."""
    moved = {}
    try:
        for fd in fds:
            if 0 <= fd < 3 and fd not in moved:
                moved[fd] = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
        yield tuple(moved.get(fd, fd) for fd in fds)
    finally:
        for copy in moved.values():
            os.close(copy)


def _child(path, argv, env, cwd, fds, prepared, cpu, errpipe_w, rlimits):
    try:
        for target, fd in enumerate(fds):
            if fd != target:
                os.dup2(fd, target)
        close_fds_except({errpipe_w})
        if cwd is not None:
            os.chdir(cwd)
        # A program starts with every signal at its default and none blocked: Python
        # ignores SIGPIPE and SIGXFSZ, and an ignored signal stays ignored across exec.
        for sig in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        for resource, (soft, hard) in rlimits.items():
            resource_module.setrlimit(resource, (_native_limit(soft), _native_limit(hard)))
        pt.traceme()
        _libc.personality(ADDR_NO_RANDOMIZE)
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        os.kill(os.getpid(), signal.SIGSTOP)
        prepared.install()
        os.execve(path, argv, env)
    except BaseException as exc:  # report anything to the parent, then die
        try:
            os.write(errpipe_w, f"{type(exc).__name__}: {exc}".encode(errors="replace"))
        finally:
            os._exit(127)
    os._exit(127)


def _native_limit(value: int) -> int:
    return resource_module.RLIM_INFINITY if value >= (1 << 63) else value


def _c_limit(value: int) -> int:
    return RLIM64_INFINITY if value >= (1 << 63) else value


def spawn_traced(path: str, argv: list[str], env: dict[str, str], cwd: str | None,
                 fds: tuple[int, int, int], prepared: PreparedFilter,
                 cpu: int | None = None, rlimits: dict | None = None,
                 on_execve=None) -> int:
    """Fork, trace and exec ``path``; return the native pid, stopped at its exec event.

    ``rlimits`` ({resource: (soft, hard)}) are applied to the native process.
    ``on_execve(pid)`` is called at the program's execve stop (when the filter traps
    execve), while its arguments can still be read."""
    with std_sources_above(fds) as fds:
        return _spawn_traced(path, argv, env, cwd, fds, prepared, cpu, rlimits, on_execve)


def _spawn_traced(path, argv, env, cwd, fds, prepared, cpu, rlimits, on_execve) -> int:
    launch = _launch(path, argv, env, cwd, fds, prepared, cpu, rlimits or {})
    if launch is None:
        return _spawn_forked(path, argv, env, cwd, fds, prepared, cpu, rlimits, on_execve)
    # The child runs in our memory until its exec: its stack and plan are given back
    # only once it has exec'd or been reaped.
    done = False
    try:
        pid = _await_exec(launch.pid, lambda status: _launch_failure(launch, status, path,
                                                                     cwd), on_execve)
        done = True
        return pid
    except SpawnFailed:
        done = True
        raise
    finally:
        if not done:
            done = _kill_and_reap(launch.pid)
        if done:
            launch.release()
        else:
            _never_released.append(launch)


_never_released: list = []  # launches whose child could not be reaped


def _launch(path, argv, env, cwd, fds, prepared, cpu, rlimits):
    """Start the C path's child, or None to take the fork path: no extension, or input
    that os.execve would refuse (the fork path's child reports its error as before)."""
    if _spawnc is None or (cpu is not None and not 0 <= cpu < 1024):
        return None
    try:
        args = [os.fsencode(a) for a in argv]
        envp = _encoded_environment(env)
        bpath = os.fsencode(path)
        bcwd = None if cwd is None else os.fsencode(cwd)
        limits = [(int(res), _c_limit(soft), _c_limit(hard))
                  for res, (soft, hard) in rlimits.items()]
    except (TypeError, ValueError):
        return None
    if (envp is None or not args or not args[0]
            or any(b"\0" in b for b in (bpath, bcwd or b"", *args))
            or any(min(limit[1:]) < 0 for limit in limits)):
        return None
    try:
        return _spawnc.spawn(bpath, args, envp, bcwd, tuple(fds), prepared.address,
                             -1 if cpu is None else cpu, limits)
    except (TypeError, ValueError, OverflowError):  # e.g. a descriptor beyond a C int
        return None


def _encoded_environment(env) -> list[bytes] | None:
    """``env`` as execve(2) takes it, "NAME=value" in the file system's encoding, or
    None for what os.execve would refuse (an empty name, or one with "=", a NUL). In
    one encode of the whole: a spawn's ~40 variables one at a time cost ~70 us."""
    if not env:
        return []
    names, values = "".join(env), "".join(env.values())   # TypeError unless all str
    if "=" in names or "\0" in names or "\0" in values or not all(env):
        return None
    return os.fsencode("\0".join(map("=".join, env.items()))).split(b"\0")


# _spawnc.c's stages, in the order the child goes through them
(_DUP2, _CHDIR, _RLIMIT, _TRACEME, _AFFINITY, _NO_NEW_PRIVS, _SECCOMP,
 _EXECVE) = range(1, 9)


def _launch_failure(launch, status: int, path: str, cwd) -> SpawnFailed:
    """The error the fork path's child would have reported at the same stage."""
    failure = launch.failure()
    if failure is None:
        return SpawnFailed(f"child {launch.pid} ended before exec (status {status:#x})")
    stage, err = failure
    text = os.strerror(err)
    if stage == _CHDIR:
        exc = OSError(err, text, cwd)
    elif stage == _EXECVE:
        exc = OSError(err, text, path)
    elif stage == _RLIMIT and err in (errno.EINVAL, errno.EPERM):
        # resource.setrlimit's own words for them
        exc = ValueError("current limit exceeds maximum limit" if err == errno.EINVAL
                         else "not allowed to raise maximum limit")
    elif stage == _TRACEME:
        exc = pt.PtraceError(f"ptrace(cmd=0, pid=0, 0, 0) error #{err}: {text}")
    elif stage == _NO_NEW_PRIVS:
        exc = OSError(err, "prctl(PR_SET_NO_NEW_PRIVS)")
    elif stage == _SECCOMP:
        exc = OSError(err, "prctl(PR_SET_SECCOMP)")
    else:
        exc = OSError(err, text)
    return SpawnFailed(f"{type(exc).__name__}: {exc}")


def _kill_and_reap(pid: int) -> bool:
    """After an error while the child may still run in our memory: end it. Whether it
    is gone."""
    try:
        os.kill(pid, signal.SIGKILL)
        while True:
            _, status = os.waitpid(pid, pt.WALL)
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                return True
            pt.cont(pid)  # an exit event stop
    except ChildProcessError:
        return True
    except OSError:
        return False


def _spawn_forked(path, argv, env, cwd, fds, prepared, cpu, rlimits, on_execve) -> int:
    errpipe_r, errpipe_w = os.pipe2(os.O_CLOEXEC)
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a threaded process; the child only makes
        # a handful of system calls before execve.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os.close(errpipe_r)
        _child(path, argv, env, cwd, fds, prepared, cpu, errpipe_w, rlimits or {})
    os.close(errpipe_w)
    try:
        return _await_exec(pid, lambda status: _failure(pid, errpipe_r, status), on_execve)
    finally:
        os.close(errpipe_r)


def _failure(pid: int, errpipe_r: int, status: int) -> SpawnFailed:
    message = os.read(errpipe_r, 4096).decode(errors="replace")
    return SpawnFailed(message or f"child {pid} ended before exec (status {status:#x})")


def _await_exec(pid: int, failure, on_execve) -> int:
    """Wait for the child's SIGSTOP, set the tracer's options, then wait for its exec;
    ``failure(status)`` is the SpawnFailed raised when it ends before."""
    _, status = os.waitpid(pid, pt.WALL)
    if not os.WIFSTOPPED(status):
        raise failure(status)
    pt.setoptions(pid, pt.TRACER_OPTIONS)
    pt.cont(pid)
    while True:
        _, status = os.waitpid(pid, pt.WALL)
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            raise failure(status)
        sig = os.WSTOPSIG(status)
        event = status >> 16
        if sig == signal.SIGTRAP and event == pt.EVENT_EXEC:
            return pid
        if sig == signal.SIGTRAP and event == pt.EVENT_EXIT:
            pt.cont(pid)
            continue
        if sig == signal.SIGTRAP and event == pt.EVENT_SECCOMP and on_execve is not None:
            if pt.getregs(pid).orig_rax == SYS_EXECVE:
                on_execve(pid)
        # Seccomp stops and anything else before the program exists: run natively.
        pt.cont(pid, 0 if sig == signal.SIGTRAP else sig)
