"""``os.system``, ``os.posix_spawn`` and ``os.posix_spawnp`` of the test start their
programs in its host.

Natively they never run Python code in the child (glibc clones and execs), so the fork
hooks of forking.py cannot see them: ``os.system`` becomes a shell run by SimPopen,
``posix_spawn`` a fork that joins the host and carries out its attributes and file
actions in glibc's order before the exec. Each returns as natively: system(3) the wait
status, posix_spawn the (virtual) pid once the program has exec'd, or raises the error
the child met, with the path, as posix_spawn(3) reports it.
"""
from __future__ import annotations

import operator
import os
import signal as _signal

from .forking import ChildFailed, exec_candidates, exec_first, fork_exec
from .routing import (_real_posix_spawn, _real_posix_spawnp, _real_system,
                      _session_for_caller)


def _sim_system(command):
    session = _session_for_caller()
    if session is None:
        return _real_system(command)
    from .popen import sim_popen
    code = sim_popen()(os.fsdecode(command), shell=True).wait()
    return (code & 0xFF) << 8 if code >= 0 else -code  # wait(2)'s status


def _sim_posix_spawn(path, argv, env, **attributes):
    session = _session_for_caller()
    if session is None:
        return _real_posix_spawn(path, argv, env, **attributes)
    return _spawn(session, path, [os.fsdecode(os.fspath(path))], argv, env, **attributes)


def _sim_posix_spawnp(path, argv, env, **attributes):
    session = _session_for_caller()
    if session is None:
        return _real_posix_spawnp(path, argv, env, **attributes)
    # posix_spawnp(3) searches the caller's PATH, not the new environment's
    candidates = exec_candidates(os.fsdecode(os.fspath(path)), os.environ.get("PATH"))
    return _spawn(session, path, candidates, argv, env, **attributes)


def _signal_set(name: str, signals) -> set[int]:
    """setsigmask/setsigdef as posix_spawn reads them: an iterable of signal numbers
    (TypeError otherwise), each in [1, NSIG) (ValueError)."""
    try:
        numbers = [operator.index(sig) for sig in signals]
    except TypeError:
        raise TypeError(f"{name} must be an iterable of signal numbers") from None
    for sig in numbers:
        if not 0 < sig < _signal.NSIG:
            raise ValueError(f"signal number {sig} out of range [1; {_signal.NSIG - 1}]")
    return set(numbers)


def _file_actions(file_actions) -> list[tuple]:
    """file_actions checked in the parent, as posix_spawn does before it forks: each a
    non-empty tuple whose tag and arguments have the types its action takes (TypeError),
    a path without NUL (ValueError)."""
    if file_actions is None:
        return []
    if isinstance(file_actions, (str, bytes)) or not hasattr(file_actions, "__iter__"):
        raise TypeError("file_actions must be a sequence or None")
    shapes = {os.POSIX_SPAWN_OPEN: (int, "path", int, int),
              os.POSIX_SPAWN_CLOSE: (int,), os.POSIX_SPAWN_DUP2: (int, int)}
    actions = []
    for action in file_actions:
        if not isinstance(action, (tuple, list)) or not action:
            raise TypeError("Each file_actions element must be a non-empty tuple")
        tag = operator.index(action[0])
        shape = shapes.get(tag)
        if shape is None:
            raise TypeError("Unknown file_actions identifier")
        if len(action) - 1 != len(shape):
            raise TypeError(f"file action takes {len(shape)} arguments "
                            f"({len(action) - 1} given)")
        args = []
        for kind, value in zip(shape, action[1:]):
            if kind == "path":
                value = os.fspath(value)
                if ("\0" if isinstance(value, str) else b"\0") in value:
                    raise ValueError("embedded null character in path")
            else:
                value = operator.index(value)
            args.append(value)
        actions.append((tag, *args))
    return actions


def _spawn(session, path, candidates, argv, env, *, file_actions=None, setpgroup=None,
           resetids=False, setsid=False, setsigmask=(), setsigdef=(), scheduler=None):
    if not isinstance(argv, (list, tuple)):
        raise TypeError("posix_spawn: argv must be a tuple or list")
    argv = [os.fsdecode(os.fspath(a)) for a in argv]
    if not argv:
        raise ValueError("posix_spawn: argv must not be empty")
    env = {os.fsdecode(k): os.fsdecode(v) for k, v in env.items()}
    actions = _file_actions(file_actions)
    if setpgroup is not None:
        setpgroup = operator.index(setpgroup)
    resetids, setsid = operator.index(resetids), operator.index(setsid)
    setsigmask = _signal_set("setsigmask", setsigmask)
    setsigdef = _signal_set("setsigdef", setsigdef)

    def child(_errpipe):
        for sig in setsigdef:
            _signal.signal(sig, _signal.SIG_DFL)
        if scheduler is not None:
            policy, param = scheduler
            if policy is None:
                os.sched_setparam(0, param)
            else:
                os.sched_setscheduler(0, policy, param)
        if setsid:
            os.setsid()
        if setpgroup is not None:
            os.setpgid(0, setpgroup)
        if resetids:
            os.setgid(os.getgid())
            os.setuid(os.getuid())
        for tag, *args in actions:
            if tag == os.POSIX_SPAWN_OPEN:
                fd, file, flags, mode = args
                opened = os.open(file, flags, mode)
                if opened != fd:
                    os.dup2(opened, fd)
                    os.close(opened)
            elif tag == os.POSIX_SPAWN_CLOSE:
                os.close(args[0])
            elif tag == os.POSIX_SPAWN_DUP2:
                os.dup2(*args)
        if setsigmask:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, setsigmask)
        exec_first(candidates, argv, env)

    with session._lock:
        try:
            return fork_exec(session, child, exit_code=127).pid
        except ChildFailed as failed:
            raise OSError(failed.code, os.strerror(failed.code), path) from None
