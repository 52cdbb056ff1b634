"""The test as the parent of the programs it started: the wait family and pidfds.

``os.wait``, ``wait3``, ``wait4``, ``waitpid``, ``waitid``, ``os.pidfd_open`` and
``signal.pidfd_send_signal`` answer from the host for the host's pids, groups and
pidfds, as wait(2), waitid(2) and pidfd_open(2) answer a parent: a child that ended stays
waitable until it is waited for, a stop or continue is reported once (WUNTRACED,
WCONTINUED), WNOWAIT leaves the report in place, ECHILD when no child matches, and a
blocking wait runs the host in virtual time.

In the host's table init adopted the test's programs and reaped each at its end; what a
parent keeps is kept here instead: whether the test collected an end (its SimPopen's
``_waited``) and the kernel process's pending stop and continue reports.

Selectors that also name native children (pid -1 and 0, P_ALL, P_PGID 0) look at the
host's children first, then at the calling thread's own native ones, with __WNOTHREAD
added: the host's tracees are native children of its tracer thread, and a wait of the
whole process would take their statuses from it. Everything else goes to the real
function unchanged.
"""
from __future__ import annotations

import _thread
import errno
import os
import resource
import signal as _signal
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..errors import SimprocError
from ..kernel.process import STOPPED
from ..kernel.table import INIT_PID
from ..kernel.wait import (__WALL, __WCLONE, __WNOTHREAD, WCONTINUED, WEXITED, WNOHANG,
                           WNOWAIT, WSTOPPED, WUNTRACED, WaitEvent, continue_event,
                           exit_event, stop_event)
from . import gonepids, pidcalls
from .forking import ForkedChild
from .args import c_integer, signal_number
from .routing import (_in_host_thread, _real_pidfd_open, _real_pidfd_send_signal, _real_wait,
                      _real_wait3, _real_wait4, _real_waitid, _real_waitpid, _session_for_caller,
                      active_session)

if TYPE_CHECKING:
    from .popen import SimPopen
    from .session import DropinSession

_THREAD_BITS = __WNOTHREAD | __WALL | __WCLONE
_WAIT4_OPTIONS = WNOHANG | WUNTRACED | WCONTINUED | _THREAD_BITS
_WAITID_OPTIONS = WNOHANG | WEXITED | WSTOPPED | WCONTINUED | WNOWAIT | _THREAD_BITS
PIDFD_NONBLOCK = os.O_NONBLOCK  # pidfd_open(2)


def _kernel_takes_pidfd_thread() -> int:
    """pidfd_open(2)'s PIDFD_THREAD (O_EXCL, Linux 6.9): a pidfd for a thread (for a
    leader, its process's). Accepted here where the machine's kernel accepts it."""
    try:
        os.close(_real_pidfd_open(os.getpid(), os.O_EXCL))
    except OSError:
        return 0
    return os.O_EXCL


PIDFD_THREAD = _kernel_takes_pidfd_thread()


def _error(code: int) -> OSError:
    return OSError(code, os.strerror(code))  # ChildProcessError for ECHILD, ...


@dataclass(frozen=True)
class _Want:
    exited: bool
    stopped: bool
    continued: bool
    consume: bool
    nohang: bool = False


# ------------------------------------------------------------------ the test's children
def _children(session: "DropinSession", match) -> "list[SimPopen]":
    """The test's children it has not waited for that ``match``, oldest first."""
    _adopt_orphans(session)
    return [c for c in session._children.values() if not c._waited and match(c)]


def _adopt_orphans(session: "DropinSession") -> None:
    """The test is its host's init (identity.py): the orphans init adopted are its
    children too, kept as zombies until it waits for them (table.init_waits), as a
    real pid 1 keeps them (wait(2): an orphan "is adopted by init")."""
    host = session._host
    if host is None or host._closed or not host._engine.table.init_waits:
        return
    table = host._engine.table
    for pid in list(table.init.children):
        known = session._children.get(pid)
        if known is None or known._sp._proc is not table.get(pid):
            session._children[pid] = ForkedChild(session, host.process(pid))


def sigchld_ignored() -> bool:
    """The test ignores SIGCHLD: its children are reaped as they end, leaving no
    status to wait for (wait(2) NOTES, signal(7))."""
    return _signal.getsignal(_signal.SIGCHLD) == _signal.SIG_IGN


def _report(children, want: _Want) -> "tuple[SimPopen, WaitEvent] | None":
    """The first report among ``children`` (wait(2): an end, else a stop, else a
    continue, child by child); consumed unless ``want.consume`` is false."""
    for child in children:
        proc = child._sp._proc
        if child._ended() and sigchld_ignored() and child._sp.returncode is not None:
            child._waited = True  # reaped already: Popen says 0, as natively on ECHILD
            continue
        if child._ended():
            if not want.exited:
                continue
            if want.nohang and child._sp.returncode is None:
                continue  # stop_time's shutdown ended it: natively it still runs
            child._check_ended_by_itself()
            if want.consume:
                child._waited = True  # Popen.returncode stays None until poll/wait
            return child, exit_event(proc)
        if want.stopped and proc.state == STOPPED and proc.stop_report_pending:
            if want.consume:
                proc.stop_report_pending = False
            return child, stop_event(proc)
        if want.continued and proc.continue_report_pending:
            if want.consume:
                proc.continue_report_pending = False
            return child, continue_event(proc)
    return None


def _matcher(session: "DropinSession", selector: int):
    """wait4(2)'s pid argument as a test on a child; None when it names nothing of
    the host (the real function answers)."""
    if selector > 0:
        return (lambda c: c.pid == selector) if session._lookup(selector) else None
    if selector < -1:
        return (lambda c: c._sp.pgid == -selector) if session._owns_group(-selector) else None
    if session._host is None:
        return None
    if selector == 0:  # the test's own group: in the host, the one its programs start in
        return lambda c: c._sp.pgid == INIT_PID
    return lambda c: True


def _only_clone_children(options: int, match):
    """wait(2) __WCLONE without __WALL waits for children whose exit signal is not
    SIGCHLD only: never one the test started."""
    return (lambda c: False) if options & __WCLONE and not options & __WALL else match


def _wait(session: "DropinSession", match, want: _Want, nohang: bool, native=None,
          nonblock: bool = False):
    """The first report of a matching child: ``(child, event)``, ``(None, result)``
    for a native child's (``native(extra_options)`` calls the real function), or
    None when nothing is to report under WNOHANG."""
    want = replace(want, nohang=nohang)
    with session._lock:
        if nohang:
            session.run_now()
            if _report(_children(session, match), replace(want, consume=False)):
                # the run may have ended a child right after it wrote to a pipe that
                # another thread of the test reads: natively that reader wakes at the
                # write, long before a look finds the child gone (pebble's workers
                # acknowledge a task and may die at once; its pool thread looks with
                # WNOHANG every 0.1 s). The test's threads have their turn first.
                session.others_quiet()
        found = _report(_children(session, match), want)
        if found is not None:
            if not nohang:
                _reaped_first(session)
            return found
        if native is not None:
            try:
                result = native(WNOHANG)
            except ChildProcessError:
                native = None
            else:
                if result is not None:
                    return None, result
        if _children(session, match):
            if nohang:
                return None
            if nonblock:
                raise _error(errno.EAGAIN)  # pidfd_open(2) PIDFD_NONBLOCK
            return _block(session, match, want, native)
        if native is None:
            raise _error(errno.ECHILD)
        if nohang:
            return None
    return None, native(0)  # only native children: the real wait, the host left alone


def _reaped_first(session: "DropinSession") -> None:
    """A blocking wait that took a child's report returns once the test's other
    threads have had their turn. The child's end closed the pipes it held: natively a
    thread waiting on one (concurrent.futures' manager thread on a worker's sentinel)
    wakes at the end as the parent's wait does, and usually acts before the wait
    returns (apscheduler's test_broken_pool kills its pool's worker, waitpid()s it,
    then submits to a pool it expects marked broken). The report is taken first: a
    parent already in wait(2) reaps the child before such a thread could (its own
    waitpid, Process.join, gets ECHILD). Only in the test's own thread: another
    thread's wait (asyncio's ThreadedChildWatcher) may be what the test's thread
    waits for in real time, and the turn's real pause, added to that wait, moved the
    test's clock on (routing.waited_outside: 1.035 s for a 1 s program at load 5)."""
    if _thread.get_ident() == session._ident:
        session.others_quiet()


def _block(session: "DropinSession", match, want: _Want, native):
    """Run the host until a matching child has something to report (or a native
    child, polled at every step, has)."""
    polled = []
    peek = replace(want, consume=False)

    def ready() -> bool:
        if _report(_children(session, match), peek) or not _children(session, match):
            return True  # (none left: each was reaped as it ended)
        if native is not None:
            result = native(WNOHANG)
            if result is not None:
                polled.append(result)
                return True
        return False

    session.block(ready)
    if polled:
        return None, polled[0]
    if not _children(session, match) and native is None:
        raise _error(errno.ECHILD)  # SIGCHLD ignored: wait(2) fails once all ended
    found = _report(_children(session, match), want)
    if found is None:
        raise SimprocError("a wait of the test for its children was still waiting when the "
                           "simulated host reached its stop_time; natively it would never "
                           "return")
    _reaped_first(session)
    return found


def _no_usage() -> resource.struct_rusage:
    """An empty rusage, made at each use: a struct_rusage a module keeps outlives the
    type's dictionary at interpreter exit, and its dealloc then reads no n_fields
    (SystemError, "Exception ignored in tp_clear")."""
    return resource.struct_rusage((0.0, 0.0) + (0,) * 14)


def _rusage(session: "DropinSession", event: WaitEvent | None) -> resource.struct_rusage:
    """getrusage(2)'s fields for a reaped child, as the programs' own wait4 reports
    them: user and system time from the host's CPU model, ru_maxrss the native one's."""
    usage = session.host._waited_usage(event)
    if usage is None:
        return _no_usage()
    # a timeval holds microseconds
    return resource.struct_rusage((usage.user_ns // 1000 / 1e6, usage.sys_ns // 1000 / 1e6,
                                   usage.maxrss_kb) + (0,) * 13)


def _reported(result):
    """A real wait4's result, None when it reported nothing (pid 0 under WNOHANG)."""
    return None if result[0] == 0 else result


def _wait4(session, pid, options, real):
    """wait4(2) of the test: (pid, status, rusage), or None to call ``real``."""
    match = _matcher(session, pid)
    if match is None:
        return None
    options = c_integer(options) & 0xFFFFFFFF  # the kernel's unsigned int
    if options & ~_WAIT4_OPTIONS:
        raise _error(errno.EINVAL)
    match = _only_clone_children(options, match)
    native = None
    if pid in (-1, 0):
        native = lambda extra: _reported(real(pid, options | extra | __WNOTHREAD))  # noqa: E731
    want = _Want(True, bool(options & WUNTRACED), bool(options & WCONTINUED), True)
    found = _wait(session, match, want, bool(options & WNOHANG), native)
    if found is None:
        return 0, 0, _rusage(session, None)
    child, event = found
    if child is None:
        return event
    return event.pid, event.status, _rusage(session, event)


def _own_children(any_child: bool, options):
    """The options of a real wait the host does not answer (a machinery caller's:
    asyncio's FastChildWatcher calls waitpid(-1, WNOHANG) at each SIGCHLD), with
    __WNOTHREAD when it may match any child while a host runs: the tracer thread's
    tracees are children of the whole process, and such a wait took their ptrace
    stops (a shell's fork event: it stayed stopped in clone for good)."""
    session = active_session()
    if (any_child and type(options) is int and session is not None
            and not session._closed and not _in_host_thread()):
        return options | __WNOTHREAD
    return options


def _sim_wait():
    session = _session_for_caller()
    found = session and _wait4(session, -1, 0, _real_wait4)
    if found:
        return found[:2]
    options = _own_children(True, 0)
    return _real_waitpid(-1, options) if options else _real_wait()


def _sim_waitpid(pid, options):
    if pidcalls.unreaped(pid):
        return pidcalls.reap_unreaped(pid)
    session = _session_for_caller()
    found = session and isinstance(pid, int) and _wait4(session, pid, options, _real_wait4)
    if not found and gonepids.waits_for_gone(pid):   # a closed host's child
        raise gonepids.echild()
    if found:
        return found[:2]
    return _real_waitpid(pid, _own_children(type(pid) is int and pid <= 0, options))


def _sim_wait3(options):
    session = _session_for_caller()
    found = session and _wait4(session, -1, options, _real_wait4)
    return _real_wait3(_own_children(True, options)) if not found else found


def _sim_wait4(pid, options):
    if pidcalls.unreaped(pid):
        return (*pidcalls.reap_unreaped(pid), _no_usage())
    session = _session_for_caller()
    found = session and isinstance(pid, int) and _wait4(session, pid, options, _real_wait4)
    if not found and gonepids.waits_for_gone(pid):   # a closed host's child
        raise gonepids.echild()
    if found:
        return found
    return _real_wait4(pid, _own_children(type(pid) is int and pid <= 0, options))


# ------------------------------------------------------------------ waitid
def _sim_waitid(idtype, id, options):
    session = _session_for_caller()
    found = session and _waitid(session, idtype, id, options)
    if not found and gonepids.waitid_for_gone(idtype, id):   # a closed host's child
        raise gonepids.echild()
    if found:
        return found[0]
    return _real_waitid(idtype, id, _own_children(idtype in (os.P_ALL, os.P_PGID), options))


def _waitid(session, idtype, ident, options):
    """waitid(2) of the test: a one-tuple holding its result, or None to call the
    real function."""
    if isinstance(idtype, bool) or not isinstance(idtype, int) or not isinstance(ident, int):
        return None
    nonblock = False
    if idtype == os.P_PIDFD:
        pidfd = _pidfd(session, ident)
        if pidfd is None:
            return None
        idtype, ident, nonblock = os.P_PID, pidfd.pid, pidfd.nonblock
    if idtype == os.P_PID:
        selector = ident if ident > 0 else None
    elif idtype == os.P_PGID:
        selector = -ident if ident > 1 else 0 if ident == 0 else None
    elif idtype == os.P_ALL:
        selector = -1
    else:
        selector = None
    match = None if selector is None else _matcher(session, selector)
    if match is None:
        return None
    options = c_integer(options) & 0xFFFFFFFF  # the kernel's unsigned int
    if options & ~_WAITID_OPTIONS or not options & (WEXITED | WSTOPPED | WCONTINUED):
        raise _error(errno.EINVAL)
    match = _only_clone_children(options, match)
    native = None
    if selector in (-1, 0):
        native = lambda extra: _real_waitid(idtype, ident, options | extra | __WNOTHREAD)  # noqa: E731
    want = _Want(bool(options & WEXITED), bool(options & WSTOPPED),
                 bool(options & WCONTINUED), not options & WNOWAIT)
    found = _wait(session, match, want, bool(options & WNOHANG), native, nonblock)
    if found is None:
        return (None,)
    child, event = found
    if child is None:
        return (event,)
    return (os.waitid_result((event.pid, os.getuid(), int(_signal.SIGCHLD),
                              event.si_status, event.si_code)),)


# ------------------------------------------------------------------ pidfds
@dataclass
class _PidFd:
    pid: int
    nonblock: bool
    write_end: int
    ended: bool = False  # then a byte is in the pipe: poll says readable


class PidFds:
    """The pidfds the test opened on the host's processes.

    Each is the read end of a pipe (the real pidfd of a host process would name its
    native process, whose wait belongs to the tracer), known by its inode, so a dup
    is known too; the write end gets a byte when the process ends and is closed then:
    like a pidfd (pidfd_open(2)), the read end then polls readable, and once the test
    closed it no descriptor is left behind (trio's suite counts them). A pipe's inode
    number is never handed out again (fs/pipe.c takes it from get_next_ino's counter),
    so the entry cannot name a later pipe. Reads are not a pidfd's EINVAL."""

    def __init__(self):
        self._by_inode: dict[tuple[int, int], _PidFd] = {}
        # those whose process has not ended, by pid: what each run of the host looks
        # at (a test that opens a pidfd per wait, psutil's, had thousands of them)
        self._waiting: dict[int, list[_PidFd]] = {}

    def open(self, pid: int, nonblock: bool) -> int:
        read_end, write_end = os.pipe2(os.O_CLOEXEC | (os.O_NONBLOCK if nonblock else 0))
        st = os.fstat(read_end)
        pidfd = self._by_inode[(st.st_dev, st.st_ino)] = _PidFd(pid, nonblock, write_end)
        self._waiting.setdefault(pid, []).append(pidfd)
        return read_end

    def get(self, fd) -> _PidFd | None:
        if not self._by_inode or isinstance(fd, bool) or not isinstance(fd, int):
            return None
        try:
            st = os.fstat(fd)
        except (OSError, OverflowError):
            return None
        return self._by_inode.get((st.st_dev, st.st_ino))

    def refresh(self, ended) -> None:
        """Make the pidfds of processes that ``ended(pid)`` readable."""
        for pid in [pid for pid in self._waiting if ended(pid)]:
            for pidfd in self._waiting.pop(pid):
                pidfd.ended = True
                try:
                    os.write(pidfd.write_end, b"\0")
                except BrokenPipeError:  # the test closed every copy of it
                    pass
                os.close(pidfd.write_end)

    def close(self) -> None:
        for pidfd in self._by_inode.values():
            if not pidfd.ended:
                os.close(pidfd.write_end)
        self._by_inode.clear()
        self._waiting.clear()


def _pidfd(session: "DropinSession", fd) -> _PidFd | None:
    return session._pidfds.get(fd)


def _sim_pidfd_open(pid, flags=0):
    session = _session_for_caller()
    if session is None or session._lookup(pid) is None:
        if gonepids.gone(pid):   # a closed host's process
            raise _error(errno.ESRCH)
        return _real_pidfd_open(pid, flags)
    if c_integer(flags, signed=False) & ~(PIDFD_NONBLOCK | PIDFD_THREAD):
        raise _error(errno.EINVAL)
    with session._lock:
        if not session._exists(pid):
            raise _error(errno.ESRCH)
        fd = session._pidfds.open(pid, bool(flags & PIDFD_NONBLOCK))
        session._pidfds.refresh(session._gone)
        return fd


def _sim_pidfd_send_signal(pidfd, sig, siginfo=None, flags=0):
    session = _session_for_caller()
    target = _pidfd(session, pidfd) if session is not None else None
    if target is None:
        return _real_pidfd_send_signal(pidfd, sig, siginfo, flags)
    sig = signal_number(sig)
    if siginfo is not None:
        raise TypeError("siginfo must be None")  # as CPython's own check
    if c_integer(flags):
        raise _error(errno.EINVAL)  # pidfd_send_signal(2): flags is reserved
    session.kill(target.pid, sig)
