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

import os
import signal as _signal

from .forking import ChildFailed, exec_candidates, exec_first, fork_exec
from .routing import (_real_posix_spawn, _real_posix_spawnp, _real_system,
                      _session_for_caller)


def _sim_system(command):
    session = _session_for_caller()
    if session is None:
        return _real_system(command)
    from .popen import SimPopen
    code = SimPopen(os.fsdecode(command), shell=True).wait()
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


def _spawn(session, path, candidates, argv, env, *, file_actions=None, setpgroup=None,
           resetids=False, setsid=False, setsigmask=(), setsigdef=(), scheduler=None):
    argv = [os.fsdecode(os.fspath(a)) for a in argv]
    if not argv:
        raise ValueError("posix_spawn: argv must not be empty")
    env = {os.fsdecode(k): os.fsdecode(v) for k, v in env.items()}
    actions = list(file_actions or ())

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
