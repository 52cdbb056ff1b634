"""Assertion helpers (SPEC §2): final states, reaping, zombies, strace matching and
golden-file snapshots of a deterministic strace.

Every ``assert_*`` helper raises ``AssertionError`` whose message is, in this order:

1. one line saying what was expected and what was found, e.g.
   ``process 'simhost.server.1000' exited with status {"signaled": "SIGSEGV"}; expected {"exited": 0}``;
2. ``process tree:`` and the host's pstree-like tree (states shown, zombies marked
   ``<defunct>``; a process concerned that was already reaped is listed after the tree
   as ``(gone)``, since the tree only shows live and zombie processes);
3. ``strace tail of PID (NAME):`` and the last 20 lines of that process's strace, or
   the line ``(strace logging is off: ...)`` when the host logs no strace.

Each helper sets ``__tracebackhide__`` so that pytest points at the caller's line.
The helpers never run the simulation: a process that has not ended yet fails
``assert_exited`` with a hint to run the host first.

Strace patterns (``Strace.contains`` / ``sequence`` / ``count`` and ``assert_strace``)
are described in :mod:`.strace_match`: a substring, ``"re:"`` + a regular expression,
or a compiled ``re.Pattern``, matched one line at a time without the line's prefixes.

Snapshots (``assert_strace_snapshot``) compare the whole deterministic log of one
process, time prefixes included, with a golden file. A *missing* golden file fails the
test (and is not written) unless update mode is on, like pytest-snapshot and syrupy: a
test run in CI must never pass by writing the expectation it should have checked. The
snapshot fixture writes paths that change from run to run (the test's ``tmp_path``, the
host's data dir, the working directory) as ``<tmp_path>``, ``<data_dir>`` and ``<cwd>``.

The ``Strace`` object lives in :mod:`.strace_match`, the failure message in
:mod:`.failure`, snapshots in :mod:`.snapshots`; their public names are importable from
here.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping

from .failure import _failure, _found, _host_of, _lookup, _name, _require_strace, _who
from .kernel.signals import parse_signal
from .kernel.states import Exited, Signaled, format_state
from .report import _exit_text
# Public names of the modules the helpers build on, importable from here as before.
from .snapshots import (CHAOS_PARAM, UPDATE_HINT, SnapshotNotCompared,  # noqa: F401
                        StraceSnapshot, assert_strace_snapshot, chaos_seed,
                        make_snapshot_fixture, snapshot_path)
from .strace_match import (STRACE_OFF, Strace, StraceUnavailableError, _describe, _matcher,
                           _pattern_list)

__all__ = [
    "Strace",
    "StraceUnavailableError",
    "assert_exited",
    "assert_signaled",
    "assert_reaped",
    "assert_no_zombies",
    "assert_strace",
    "assert_strace_snapshot",
    "snapshot_path",
    "make_snapshot_fixture",
    "StraceSnapshot",
    "SnapshotNotCompared",
    "STRACE_OFF",
    "UPDATE_HINT",
]

_RUN_HINT = " (the helpers do not run the host: call proc.wait() or host.run() first)"


# ----------------------------------------------------------------------- final states
def assert_exited(proc, code: int = 0) -> None:
    """Assert that ``proc`` ended by exiting with status ``code`` (0..255)."""
    __tracebackhide__ = True
    expected = Exited(code)
    if proc.exit_status == expected:
        return
    hint = _RUN_HINT if proc.exit_status is None else ""
    raise _failure(f"process '{_name(proc)}' {_found(proc)}; expected "
                   f"{format_state(expected)}{hint}", _host_of(proc), [proc])


def assert_signaled(proc, sig) -> None:
    """Assert that ``proc`` was killed by signal ``sig`` (an int, ``signal.Signals`` or a
    name such as ``"SIGTERM"`` / ``"term"``); whether a core was dumped is not checked."""
    __tracebackhide__ = True
    expected = Signaled(parse_signal(sig))
    if proc.exit_status == expected:
        return
    hint = _RUN_HINT if proc.exit_status is None else ""
    raise _failure(f"process '{_name(proc)}' {_found(proc)}; expected "
                   f"{format_state(expected)}{hint}", _host_of(proc), [proc])


def _reaper_pid(by):
    if by is None:
        return None
    if isinstance(by, bool):
        raise TypeError(f"by must be a pid or a SimProcess, not {by!r}")
    if isinstance(by, int):
        if by < 1:
            raise ValueError(f"by must be a positive pid, not {by}")
        return by
    pid = getattr(by, "pid", None)
    if isinstance(pid, int) and not isinstance(pid, bool):
        return pid
    raise TypeError(f"by must be a pid or a SimProcess, not {by!r}")


def assert_reaped(proc, by=None) -> None:
    """Assert that ``proc`` has ended and been reaped (waited for), by the process ``by``
    (a pid or a SimProcess; 1 is the host's init, which reaps orphans) when given."""
    __tracebackhide__ = True
    want = _reaper_pid(by)
    host = _host_of(proc)
    state = proc.state
    if state == "reaped" and (want is None or proc.reaped_by == want):
        return
    expected = "expected it to be reaped" + (f" by {_who(host, want)}" if want else "")
    others = [_lookup(host, want)] if want not in (None, 1) else []
    if state == "reaped":
        headline = (f"process '{_name(proc)}' was reaped by {_who(host, proc.reaped_by)}; "
                    f"{expected}")
    elif state == "zombie":
        parent = getattr(proc, "ppid", None)
        headline = (f"process '{_name(proc)}' is a zombie <defunct> ({_found(proc)}), not "
                    f"yet reaped by its parent {_who(host, parent)}; {expected}")
        if parent not in (None, 1, want):
            others.insert(0, _lookup(host, parent))
    else:
        headline = (f"process '{_name(proc)}' {_found(proc)}, so it cannot have been "
                    f"reaped; {expected}")
    procs = [proc] + [p for p in others if p is not None]
    raise _failure(headline, host, procs)


def assert_no_zombies(host) -> None:
    """Assert that ``host`` has no zombie process (ended, not yet waited for). The
    message lists each zombie and its parent, and shows the parents' strace tails (the
    processes that did not call wait)."""
    __tracebackhide__ = True
    zombies = list(host.zombies())
    if not zombies:
        return
    plural = "process" if len(zombies) == 1 else "processes"
    listed = ", ".join(
        f"{z.pid} ({' '.join(z.argv)}) {_exit_text(z.exit_status)}, child of "
        f"{_who(host, getattr(z, 'ppid', None))}" for z in zombies)
    hostname = getattr(host, "hostname", "?")
    headline = (f"host '{hostname}' has {len(zombies)} zombie {plural}; expected none: "
                f"{listed}")
    parents = []
    for z in zombies:
        parent = _lookup(host, getattr(z, "ppid", None))
        if parent is not None and all(parent.pid != p.pid for p in parents):
            parents.append(parent)
    raise _failure(headline, host, zombies, tails=(parents or zombies)[:3])


# ----------------------------------------------------------------------- strace
def _count_items(count) -> list[tuple]:
    if isinstance(count, Mapping):
        items = list(count.items())
    elif (isinstance(count, tuple) and len(count) == 2
          and isinstance(count[0], (str, re.Pattern))):
        items = [count]
    elif isinstance(count, (list, tuple)):
        items = list(count)
    else:
        raise TypeError(f"count must be a (pattern, n) tuple or a dict {{pattern: n}}, "
                        f"not {count!r}")
    out = []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"count must be a (pattern, n) tuple or a dict {{pattern: n}}, "
                            f"not {count!r}")
        pattern, n = item
        _matcher(pattern)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise TypeError(f"count for {_describe(pattern)} must be an int >= 0, "
                            f"not {n!r}")
        out.append((pattern, n))
    return out


def assert_strace(proc, contains=None, sequence=None, count=None) -> None:
    """Assert on the strace of ``proc`` (patterns: see the module docstring).

    - ``contains``: a pattern, or a list of patterns that must each match some line;
    - ``sequence``: a list of patterns that must match lines in this order
      (see ``Strace.sequence``);
    - ``count``: ``(pattern, n)`` or ``{pattern: n, ...}``: exactly ``n`` lines match.

    Every check is made and every failure reported on the first line of the message.
    Raises StraceUnavailableError (not AssertionError) when the host logs no strace.
    """
    __tracebackhide__ = True
    if contains is None and sequence is None and count is None:
        raise TypeError("assert_strace() needs contains=, sequence= or count=")
    contains_list = [] if contains is None else _pattern_list(contains, "contains")
    for pattern in contains_list:
        _matcher(pattern)
    if sequence is not None and (isinstance(sequence, (str, re.Pattern))
                                 or not isinstance(sequence, Iterable)):
        raise TypeError(f"sequence must be a list of patterns, not {sequence!r}")
    sequence_list = None if sequence is None else list(sequence)
    for pattern in sequence_list or ():
        _matcher(pattern)
    count_items = [] if count is None else _count_items(count)

    log = _require_strace(proc)
    problems = []
    for pattern in contains_list:
        if not log.contains(pattern):
            problems.append(f"no line matches {_describe(pattern)}")
    if sequence_list is not None:
        found, failed = log._sequence_progress(sequence_list)
        if failed >= 0:
            step = f"sequence step {failed + 1} of {len(sequence_list)}"
            pattern = _describe(sequence_list[failed])
            if failed == 0:
                problems.append(f"no line matches {step}, {pattern}")
            else:
                problems.append(
                    f"no line after line {found[-1] + 1} matches {step}, {pattern} "
                    f"(step {failed}, {_describe(sequence_list[failed - 1])}, matched "
                    f"line {found[-1] + 1}: {log.calls[found[-1]]!r})")
    for pattern, n in count_items:
        got = log.count(pattern)
        if got != n:
            problems.append(f"{got} {'line matches' if got == 1 else 'lines match'} "
                            f"{_describe(pattern)}, expected {n}")
    if problems:
        size = f"{len(log)} line" + ("" if len(log) == 1 else "s")
        raise _failure(f"strace of process '{_name(proc)}' ({size}): " + "; ".join(problems),
                       _host_of(proc), [proc])
