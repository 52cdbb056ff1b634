"""The test process's own CPU time and context switches, without the simulator's.

Under ``--simproc`` the host's tracer and watchdog threads live in the test process,
and the test's own threads do the drop-in's work (running the host, waiting for it):
the kernel counts all of it as the test's. invoke's ``isnt_cpu_heavy`` saw 21 % of a
CPU where natively it sees 1.7 % (the tracer's 0.14 s against the test's 0.01 s in one
virtual second). And a virtual sleep blocks nothing, so the voluntary context switch
that natively comes with every blocking call never comes (psutil's
``test_num_ctx_switches`` sleeps and waits for one).

So every way the test reads its own usage leaves the machinery out: getrusage(2)
RUSAGE_SELF and RUSAGE_THREAD, times(2) (``os.times``), ``time.process_time`` and
``thread_time``, ``clock_gettime`` of CLOCK_PROCESS_CPUTIME_ID and
CLOCK_THREAD_CPUTIME_ID, and the CPU and switch fields of /proc/self/stat and
/proc/self/status (and of /proc/self/task/TID/..., proc(5)), which psutil reads. What
is left out:

- the host's own threads (``simproc-*``): their usage is noted by the threads
  themselves (host/usage.py);
- in the test's threads, each call into the session that runs or waits for the host
  (``machinery``): its usage, measured around it (RUSAGE_THREAD).

A virtual sleep, and a virtual wait that had to wait (the host ran before it could
return), count one voluntary switch, as the blocking call natively does.

The ratio of CPU to virtual time: the test sees the CPU its own code really used, one
to one, never more. The test's code takes no virtual time (only its clock reads move
the clock, clock.py), so a test that sleeps or waits sees at most its native share of
a CPU, and a test that computes without reading a clock can see more CPU than virtual
time has passed. Scaling CPU down to virtual time instead would make a loop that waits
for its CPU clock to move never end.

RUSAGE_CHILDREN (and the children fields of ``os.times`` and /proc/self/stat) are the
host's CPU model's usage of the children the test waited for (kernel/rusage.py), plus
what children outside the host (before or between tests) really used: the natives the
tracer reaps are the host's, and the kernel adds them to the test's real figures.
"""
from __future__ import annotations

import _thread
import builtins
import io
import operator
import os
import resource
import threading
import time

from ..host import usage as host_usage
from ..kernel import rusage
from ..procview import with_stat_fields, with_values
from .clock import _transparent, wall_clock_ns
from .routing import _caller_is_native, _in_host_thread, active_session

_real_getrusage = resource.getrusage
_real_times = os.times
_real_process_time = time.process_time
_real_process_time_ns = time.process_time_ns
_real_thread_time = time.thread_time
_real_thread_time_ns = time.thread_time_ns
_real_clock_gettime = time.clock_gettime
_real_clock_gettime_ns = time.clock_gettime_ns
_real_open = builtins.open
_real_getpid = os.getpid

_RUSAGE_THREAD = getattr(resource, "RUSAGE_THREAD", 1)
_PROCESS_CLOCK = time.CLOCK_PROCESS_CPUTIME_ID
_THREAD_CLOCK = time.CLOCK_THREAD_CPUTIME_ID
_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _ns(seconds: float) -> int:
    return round(seconds * 1e9)


class _Thread:
    """What the machinery used in one thread of the test (its sections), and the
    virtual blocks it counts there."""

    __slots__ = ("ident", "user_ns", "sys_ns", "nvcsw", "nivcsw", "blocks", "depth",
                 "start", "blocked")

    def __init__(self, ident: int):
        self.ident = ident
        self.user_ns = self.sys_ns = self.nvcsw = self.nivcsw = self.blocks = 0
        self.depth = 0
        self.start = None
        self.blocked = False


# reentrant: a garbage collection under it runs finalizers, whose sleep (ptyprocess's
# __del__) is a section of its own
_lock = threading.RLock()
_threads: dict[int, _Thread] = {}   # native tid -> its sections
# every thread's sections (ended threads included): user ns, system ns, nvcsw, nivcsw,
# virtual blocks
_total = [0, 0, 0, 0, 0]
_last_self = [0, 0, 0, 0]   # the last RUSAGE_SELF figures shown (they never go back)
_last_process_ns = [0]
# RUSAGE_CHILDREN (user ns, system ns): the natives reaped during sessions (the
# host's), the real figures at the active session's start, the model's usage of the
# children the test waited for in the sessions that ended and in the one ending
_children = {"hosted": [0, 0], "start": None, "waited": [0, 0], "ending": (0, 0)}


def _own_thread(create: bool) -> _Thread | None:
    tid = threading.get_native_id()
    record = _threads.get(tid)
    if record is not None and record.ident == _thread.get_ident():
        return record
    if not create:
        return None
    if len(_threads) >= 64:   # forget the threads that ended (_total keeps their use)
        for old in [t for t, r in _threads.items() if r.ident not in threading._active]:
            _threads.pop(old, None)
    record = _threads[tid] = _Thread(_thread.get_ident())
    return record


def _enter() -> _Thread | None:
    if _in_host_thread():
        return None   # host/usage.py counts the host's threads whole
    record = _own_thread(True)
    record.depth += 1
    if record.depth == 1:
        record.start, record.blocked = _real_getrusage(_RUSAGE_THREAD), False
    return record


def _leave(record: _Thread | None, blocked: bool) -> None:
    if record is None:
        return
    record.blocked = record.blocked or blocked
    record.depth -= 1
    if record.depth:
        return
    # (the record keeps no struct_rusage past its section: see waiting._no_usage)
    now, start, record.start = _real_getrusage(_RUSAGE_THREAD), record.start, None
    used = (_ns(now.ru_utime - start.ru_utime), _ns(now.ru_stime - start.ru_stime),
            now.ru_nvcsw - start.ru_nvcsw, now.ru_nivcsw - start.ru_nivcsw,
            int(record.blocked))
    with _lock:
        for i, value in enumerate(used):
            _total[i] += value
        record.user_ns += used[0]
        record.sys_ns += used[1]
        record.nvcsw += used[2]
        record.nivcsw += used[3]
        record.blocks += used[4]


def machinery(func=None, *, blocks: bool = False):
    """A session method whose usage is the machinery's; with ``blocks``, one that
    natively blocks (spawning: Popen waits for the exec)."""
    def wrap(method):
        def section(*args, **kwargs):
            record = _enter()
            try:
                return method(*args, **kwargs)
            finally:
                _leave(record, blocks)
        section.__name__, section.__qualname__ = method.__name__, method.__qualname__
        section.__doc__, section.__wrapped__ = method.__doc__, method
        return section
    return wrap if func is None else wrap(func)


def sleeping(method):
    """``DropinSession.sleep(seconds)``: a sleep of more than nothing blocks."""
    def section(self, seconds):
        record = _enter()
        try:
            return method(self, seconds)
        finally:
            _leave(record, isinstance(seconds, (int, float)) and seconds > 0)
    section.__name__, section.__qualname__ = method.__name__, method.__qualname__
    section.__doc__, section.__wrapped__ = method.__doc__, method
    return section


def waiting(method):
    """``DropinSession.block(predicate, timeout, ...)``: the wait blocks unless it was
    over at its first look (``predicate()`` true) or it had no time (timeout 0)."""
    def section(self, predicate, timeout=None, *args, **kwargs):
        first = []

        def looked():
            ready = predicate()
            if not first:
                first.append(bool(ready))
            return ready
        record = _enter()
        try:
            return method(self, looked, timeout, *args, **kwargs)
        finally:
            _leave(record, first == [False] and timeout != 0)
    section.__name__, section.__qualname__ = method.__name__, method.__qualname__
    section.__doc__, section.__wrapped__ = method.__doc__, method
    return section


# ------------------------------------------------------------------ what is shown
def _left_out() -> tuple[int, int, int, int]:
    """(user ns, system ns, voluntary, involuntary switches) the machinery added to
    the process's figures, less the virtual blocks' switches."""
    user, sys_, vol, invol = host_usage.usage()
    with _lock:
        return (user + _total[0], sys_ + _total[1], vol + _total[2] - _total[4],
                invol + _total[3])


def _seen_self():
    """RUSAGE_SELF's (user ns, system ns, nvcsw, nivcsw) as the test sees them, and
    the real figures, read after the machinery's (what the machinery does between the
    two reads counts as the test's, never the other way round). The kernel splits a
    CPU time into user and system time by samples, the process's apart from each
    thread's: their sum is exact, and each of the two, as natively, never goes back
    (the sum is kept first, then the split)."""
    user, sys_, vol, invol = _left_out()
    ru = _real_getrusage(resource.RUSAGE_SELF)
    user, sys_ = _ns(ru.ru_utime) - user, _ns(ru.ru_stime) - sys_
    with _lock:
        last_user, last_sys, last_vol, last_invol = _last_self
        total = max(last_user + last_sys, user + sys_)
        user = max(last_user, min(user, total - last_sys))
        _last_self[:] = [user, total - user, max(last_vol, ru.ru_nvcsw - vol),
                         max(last_invol, ru.ru_nivcsw - invol)]
        return tuple(_last_self), ru


def _seen_thread(ru, record: _Thread | None) -> tuple[int, int, int, int]:
    """RUSAGE_THREAD's figures of a thread of the test as it sees them."""
    if record is None:
        return _ns(ru.ru_utime), _ns(ru.ru_stime), ru.ru_nvcsw, ru.ru_nivcsw
    return (_ns(ru.ru_utime) - record.user_ns, _ns(ru.ru_stime) - record.sys_ns,
            ru.ru_nvcsw - record.nvcsw + record.blocks, ru.ru_nivcsw - record.nivcsw)


def _waited_by(session) -> tuple[int, int]:
    """The model's usage of the children the test waited for in ``session``'s host."""
    host = session._host
    if host is None:
        return 0, 0
    user = sys_ = 0
    info = host._engine.info
    for pid, child in list(session._children.items()):
        if child._waited and pid in info:
            usage = rusage.waited(info[pid])
            user, sys_ = user + usage.user_ns, sys_ + usage.sys_ns
    return user, sys_


def _seen_children(ru) -> tuple[int, int]:
    """RUSAGE_CHILDREN's (user ns, system ns) as the test sees them."""
    real = (_ns(ru.ru_utime), _ns(ru.ru_stime))
    start = _children["start"]
    if start is not None:
        real = start   # what the kernel added since are the host's natives
    session = active_session()
    now = _waited_by(session) if session is not None else (0, 0)
    hosted, waited = _children["hosted"], _children["waited"]
    return tuple(real[i] - hosted[i] + waited[i] + now[i] for i in range(2))


def session_started() -> None:
    """A drop-in session starts: children reaped from now on are the host's."""
    ru = _real_getrusage(resource.RUSAGE_CHILDREN)
    _children["start"] = (_ns(ru.ru_utime), _ns(ru.ru_stime))


def session_ended(session) -> None:
    """A session's host has closed (its natives reaped): what the kernel added is the
    host's; the model's usage of the children the test waited for is kept."""
    start = _children["start"]
    if start is None:
        return
    ru = _real_getrusage(resource.RUSAGE_CHILDREN)
    hosted, waited = _children["hosted"], _children["waited"]
    hosted[0] += _ns(ru.ru_utime) - start[0]
    hosted[1] += _ns(ru.ru_stime) - start[1]
    _children["start"] = None
    user, sys_ = _children["ending"]
    _children["ending"] = (0, 0)
    waited[0] += user
    waited[1] += sys_


def session_ending(session) -> None:
    """Before the host closes: the model's usage of what the test waited for."""
    if _children["start"] is not None:
        _children["ending"] = _waited_by(session)


def _rusage(ru, user_ns: int, sys_ns: int, vol: int | None = None,
            invol: int | None = None) -> resource.struct_rusage:
    fields = list(ru)
    fields[0], fields[1] = user_ns // 1000 / 1e6, sys_ns // 1000 / 1e6   # a timeval
    if vol is not None:
        fields[14], fields[15] = vol, invol
    return resource.struct_rusage(fields)


# ------------------------------------------------------------------ the fakes
def _sim_getrusage(who):
    if _caller_is_native(2) or _in_host_thread():
        return _real_getrusage(who)
    if who == resource.RUSAGE_SELF:
        seen, ru = _seen_self()
        return _rusage(ru, *seen)
    ru = _real_getrusage(who)
    if who == _RUSAGE_THREAD:
        return _rusage(ru, *_seen_thread(ru, _own_thread(False)))
    if who == resource.RUSAGE_CHILDREN:
        return _rusage(ru, *_seen_children(ru))
    return ru


def _sim_times():
    real = _real_times()
    if _caller_is_native(2) or _in_host_thread():
        return real
    (user, sys_, _, _), _ = _seen_self()
    cuser, csys = _seen_children(_real_getrusage(resource.RUSAGE_CHILDREN))
    tick = _TICK_NS / 1e9   # times(2) counts clock ticks
    return os.times_result((user // _TICK_NS * tick, sys_ // _TICK_NS * tick,
                            cuser // _TICK_NS * tick, csys // _TICK_NS * tick, real[4]))


def _process_ns() -> int:
    user, sys_, _, _ = _left_out()   # first, as in _seen_self
    real = _real_clock_gettime_ns(_PROCESS_CLOCK)
    with _lock:
        _last_process_ns[0] = max(_last_process_ns[0], real - user - sys_)
        return _last_process_ns[0]


def _thread_ns() -> int:
    real = _real_clock_gettime_ns(_THREAD_CLOCK)
    record = _own_thread(False)
    return real if record is None else real - record.user_ns - record.sys_ns


def _cpu_clock_ns(clock) -> int | None:
    """The test's view of a CPU clock, or None for any other clock (or caller)."""
    if clock == _PROCESS_CLOCK:
        return None if _in_host_thread() else _process_ns()
    if clock == _THREAD_CLOCK:
        return None if _in_host_thread() else _thread_ns()
    return None


def _cpu_clock(clock, real, seconds: bool):
    """The fake of ``time.process_time`` and the like: the test's view of ``clock``."""
    def fake():
        if _caller_is_native(2) or _in_host_thread():
            return real()
        ns = _process_ns() if clock == _PROCESS_CLOCK else _thread_ns()
        return ns / 1e9 if seconds else ns
    return fake


_sim_process_time = _cpu_clock(_PROCESS_CLOCK, _real_process_time, True)
_sim_process_time_ns = _cpu_clock(_PROCESS_CLOCK, _real_process_time_ns, False)
_sim_thread_time = _cpu_clock(_THREAD_CLOCK, _real_thread_time, True)
_sim_thread_time_ns = _cpu_clock(_THREAD_CLOCK, _real_thread_time_ns, False)


@_transparent
def _sim_clock_gettime(clk_id):
    ns = None if _caller_is_native(2) else _test_clock_ns(clk_id)
    return _real_clock_gettime(clk_id) if ns is None else ns / 1e9


@_transparent
def _sim_clock_gettime_ns(clk_id):
    ns = None if _caller_is_native(2) else _test_clock_ns(clk_id)
    return _real_clock_gettime_ns(clk_id) if ns is None else ns


@_transparent
def _test_clock_ns(clk_id):
    """A CPU clock's time as the test sees it, or the session's time for its wall and
    monotonic clocks (clock.py wall_clock_ns: the host's, whose boot is the test's).
    The id is an int, as the real call takes it (TypeError for a float)."""
    clk_id = operator.index(clk_id)
    ns = _cpu_clock_ns(clk_id)
    return wall_clock_ns(clk_id, 3) if ns is None else ns


# ------------------------------------------------------------------ /proc/self
def _own_path(path) -> tuple[str, int | None] | None:
    """("stat" or "status", the tid or None for the process) when ``path`` is the
    test process's own /proc/<pid>/stat or status, or a thread's under task/."""
    if hasattr(path, "__fspath__"):
        path = os.fspath(path)   # pathlib's read_text opens the path itself
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    elif not isinstance(path, str):
        return None
    if not path.startswith("/proc/") or not path.endswith(("stat", "status")):
        return None
    comps = [c for c in path.split("/") if c not in ("", ".")]
    if len(comps) < 3 or comps[-1] not in ("stat", "status"):
        return None
    pid = _real_getpid()
    tid = None
    if comps[1] == "thread-self" and len(comps) == 3:
        tid = threading.get_native_id()
    elif comps[1] not in ("self", str(pid)):
        return None
    elif len(comps) == 5 and comps[2] == "task" and comps[3].isdigit():
        tid = int(comps[3])
    elif len(comps) != 3:
        return None
    return comps[-1], tid


def _thread_record(tid: int) -> _Thread | None:
    """The sections of the test's live thread ``tid`` (None for the host's threads)."""
    record = _threads.get(tid)
    if record is None:
        return None
    thread = threading._active.get(record.ident)
    if thread is None or thread.native_id != tid or thread.name.startswith("simproc-"):
        return None
    return record


def with_own_usage(kind: str, tid: int | None, data: bytes) -> bytes:
    """The test process's stat or status (``kind``; ``tid`` a native thread id, or None
    for the process) with its CPU and switches, the host's threads' left out (also
    procfs.py's view of /proc/1, the test as its host's init)."""
    if kind == "status":
        # a task's own switches: the main thread's for the process (proc(5))
        record = _thread_record(_real_getpid() if tid is None else tid)
        if record is None:
            return data
        found = host_usage.status_switches(data)
        if found is None:
            return data
        vol, invol = found
        return with_values(data, {
            b"voluntary_ctxt_switches": max(0, vol - record.nvcsw + record.blocks),
            b"nonvoluntary_ctxt_switches": max(0, invol - record.nivcsw)})
    # utime, stime, cutime, cstime: proc(5)'s fields 14-17
    cuser, csys = _seen_children(_real_getrusage(resource.RUSAGE_CHILDREN))
    values = {13: cuser // _TICK_NS, 14: csys // _TICK_NS}
    if tid is None:
        (user, sys_, _, _), _ = _seen_self()
        values.update({11: user // _TICK_NS, 12: sys_ // _TICK_NS})
    else:
        record = _thread_record(tid)
        if record is None:
            return data
        fields = data.rpartition(b")")[2].split()
        values.update({11: int(fields[11]) - record.user_ns // _TICK_NS,
                       12: int(fields[12]) - record.sys_ns // _TICK_NS})
    return with_stat_fields(data, {index: max(0, value) for index, value in values.items()})


def own_file(file, mode, buffering, encoding, errors, newline, closefd, opener):
    """What ``open(file, mode, ...)`` gives the test for its own /proc stat and status
    files (``_sim_open``, procfs.py's ``_sim_open``; the caller is 2 frames up), or
    None for the real call."""
    found = None if type(file) is int else _own_path(file)
    if found is None or _caller_is_native(3) or _in_host_thread():
        return None
    binary = mode in ("rb", "br")
    if not ((binary and (encoding, errors, newline) == (None, None, None)
             or mode in ("r", "rt", "tr") and buffering != 0)
            and type(buffering) is int and opener is None and closefd is True):
        return None
    kind, tid = found
    native = f"/proc/self/{kind}" if tid is None else f"/proc/self/task/{tid}/{kind}"
    try:
        with _real_open(native, "rb") as f:
            data = with_own_usage(kind, tid, f.read())
    except OSError as exc:
        exc.filename = file
        raise
    from .procfs import _RenderedBytes
    raw = _RenderedBytes(data, file)
    if binary:
        return raw
    text = io.TextIOWrapper(raw, encoding=io.text_encoding(encoding), errors=errors,
                            newline=newline)
    text.mode = mode
    return text


def _sim_open(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None,
              closefd=True, opener=None):
    own = own_file(file, mode, buffering, encoding, errors, newline, closefd, opener)
    if own is not None:
        return own
    return _real_open(file, mode, buffering, encoding, errors, newline, closefd, opener)


def _forget() -> None:
    """A forked child: its own usage, none of the parent's sections."""
    global _lock
    _lock = threading.RLock()
    _threads.clear()
    _total[:] = [0, 0, 0, 0, 0]
    _last_self[:] = [0, 0, 0, 0]
    _last_process_ns[0] = 0
    _children.update(hosted=[0, 0], start=None, waited=[0, 0], ending=(0, 0))


os.register_at_fork(after_in_child=_forget)

# (module, attribute, the real object, its fake): patches.py installs them with its own
# (procfs.py's open takes the place of this open while the test has a host)
REPLACED = [(resource, "getrusage", _real_getrusage, _sim_getrusage),
            (os, "times", _real_times, _sim_times),
            (time, "process_time", _real_process_time, _sim_process_time),
            (time, "process_time_ns", _real_process_time_ns, _sim_process_time_ns),
            (time, "thread_time", _real_thread_time, _sim_thread_time),
            (time, "thread_time_ns", _real_thread_time_ns, _sim_thread_time_ns),
            (time, "clock_gettime", _real_clock_gettime, _sim_clock_gettime),
            (time, "clock_gettime_ns", _real_clock_gettime_ns, _sim_clock_gettime_ns),
            (builtins, "open", _real_open, _sim_open), (io, "open", _real_open, _sim_open)]
