"""Starting a program under ptrace with the seccomp filter in place.

The child of fork(2) asks to be traced, turns ASLR off, stops itself so the tracer can
set its ptrace options, installs the filter and execs. The tracer lets everything
before that first execve run natively: only the program, not our set-up, is simulated.
"""
from __future__ import annotations

import ctypes
import os
import resource as resource_module
import signal
import warnings

from . import ptrace_ops as pt
from .seccomp import PreparedFilter

ADDR_NO_RANDOMIZE = 0x0040000  # personality(2)
SYS_EXECVE = 59
_libc = ctypes.CDLL(None, use_errno=True)


class SpawnFailed(Exception):
    """The child could not exec the program; the message says why."""


def _child(path, argv, env, cwd, fds, prepared, cpu, errpipe_w, rlimits):
    try:
        for target, fd in enumerate(fds):
            if fd != target:
                os.dup2(fd, target)
        os.closerange(3, errpipe_w)
        os.closerange(errpipe_w + 1, 1 << 20)
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


def spawn_traced(path: str, argv: list[str], env: dict[str, str], cwd: str | None,
                 fds: tuple[int, int, int], prepared: PreparedFilter,
                 cpu: int | None = None, rlimits: dict | None = None,
                 on_execve=None) -> int:
    """Fork, trace and exec ``path``; return the native pid, stopped at its exec event.

    ``rlimits`` ({resource: (soft, hard)}) are applied to the native process.
    ``on_execve(pid)`` is called at the program's execve stop (when the filter traps
    execve), while its arguments can still be read."""
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
        return _await_exec(pid, errpipe_r, on_execve)
    finally:
        os.close(errpipe_r)


def _failure(pid: int, errpipe_r: int, status: int) -> SpawnFailed:
    message = os.read(errpipe_r, 4096).decode(errors="replace")
    return SpawnFailed(message or f"child {pid} ended before exec (status {status:#x})")


def _await_exec(pid: int, errpipe_r: int, on_execve) -> int:
    _, status = os.waitpid(pid, pt.WALL)
    if not os.WIFSTOPPED(status):
        raise _failure(pid, errpipe_r, status)
    pt.setoptions(pid, pt.TRACER_OPTIONS)
    pt.cont(pid)
    while True:
        _, status = os.waitpid(pid, pt.WALL)
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            raise _failure(pid, errpipe_r, status)
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
