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
are matched one line at a time against the line *without* its prefixes: the
``[pid TID] `` of a line of a thread other than the process's main one, and the time
(``00:00:05.000000 `` in deterministic mode):

- a plain ``str`` is a case-sensitive substring: ``"wait4(-1, "`` matches any line that
  contains that text anywhere;
- a ``str`` starting with ``re:`` is a regular expression (the rest of the string),
  searched anywhere in the line with ``re.search``: ``r"re:^kill\\(100\\d, SIGTERM\\)"``;
  ``^`` anchors at the start of the system call, after the prefixes;
- a compiled ``re.Pattern`` is searched the same way (use
  ``re.compile(re.escape("re:..."))`` to match text that itself starts with ``re:``).

Snapshots (``assert_strace_snapshot``) compare the whole deterministic log of one
process, time prefixes included, with a golden file. A *missing* golden file fails the
test (and is not written) unless update mode is on, like pytest-snapshot and syrupy: a
test run in CI must never pass by writing the expectation it should have checked. The
snapshot fixture writes paths that change from run to run (the test's ``tmp_path``, the
host's data dir, the working directory) as ``<tmp_path>``, ``<data_dir>`` and ``<cwd>``.
"""
from __future__ import annotations

import difflib
import hashlib
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Union

from .errors import SimprocError
from .kernel.signals import parse_signal
from .kernel.states import Exited, Running, Signaled, format_state
from .report import _exit_text, _label  # the tree's own labels for "(gone)" lines

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

#: How many strace lines a failure message shows for each process concerned.
TAIL_LINES = 20
#: A unified diff longer than this is cut in failure messages.
MAX_DIFF_LINES = 400
STRACE_OFF = ("(strace logging is off: run with --simproc-strace=deterministic or "
              "SimHost(strace=...))")
UPDATE_HINT = "run pytest with --simproc-update-snapshots to accept the new output"
SNAPSHOT_DIR = "__snapshots__"
SNAPSHOT_SUFFIX = ".strace"

PatternLike = Union[str, "re.Pattern[str]"]

# The prefixes of a strace line: a thread's "[pid  1001] " (strace -f on a terminal),
# then the time: deterministic "00:00:05.000000 ", strace -t/-tt "12:34:56[.123456] ",
# -ttt "946684805.000000 ", -r "     0.000123 ". No system call, signal ("--- ") or
# exit ("+++ ") line starts with "[" or a digit, so stripping is safe.
_LINE_PREFIXES = re.compile(
    r"^(?:\[pid +\d+\] )?(?:\s*(?:\d+:\d{2}:\d{2}(?:\.\d+)?|\d+\.\d+) )?")


class StraceUnavailableError(SimprocError):
    """A strace assertion was asked for, but the host logs no (deterministic) strace."""


# ----------------------------------------------------------------------- patterns
def _strip_prefixes(line: str) -> str:
    return line[_LINE_PREFIXES.match(line).end():]


def _matcher(pattern):
    """``pattern`` -> a predicate on one line (without prefixes); see module doc."""
    if isinstance(pattern, re.Pattern):
        if not isinstance(pattern.pattern, str):
            raise TypeError(f"strace patterns are text, not bytes: {pattern!r}")
        return pattern.search
    if isinstance(pattern, str):
        if pattern.startswith("re:"):
            source = pattern[3:]
            if not source:
                raise ValueError("empty regular expression 're:' would match every line")
            try:
                return re.compile(source).search
            except re.error as exc:
                raise ValueError(f"invalid regular expression in strace pattern "
                                 f"{pattern!r}: {exc}") from None
        if not pattern:
            raise ValueError("empty strace pattern '' would match every line")
        return lambda line: pattern in line
    raise TypeError(f"a strace pattern is a str (substring, or 're:' + regular "
                    f"expression) or a compiled re.Pattern, not {pattern!r}")


def _describe(pattern) -> str:
    if isinstance(pattern, re.Pattern):
        return repr("re:" + pattern.pattern)
    return repr(pattern)


def _pattern_list(value, what: str) -> list:
    """A single pattern or an iterable of patterns -> list (a str is one pattern)."""
    if isinstance(value, (str, re.Pattern)):
        return [value]
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{what} must be a pattern or a list of patterns, not {value!r}")
    return list(value)


# ----------------------------------------------------------------------- Strace
class Strace:
    """The strace log of one process, as ``SimProcess.strace()`` returns it.

    ``Strace(lines, deterministic=False)``: ``lines`` are the log's lines in order, one
    per system call, signal (``--- SIGCHLD {...} ---``) or exit (``+++ exited with 0
    +++``), as ``strace -ff`` writes them (a thread's other than the main one's start
    with ``[pid TID] ``); a single ``str`` is split into lines.

    - ``lines``: the lines as logged (time prefix included in deterministic mode);
    - ``calls``: the same lines without thread and time prefixes (what patterns match);
    - ``contains(p)``, ``sequence([p, ...])``, ``count(p)``, ``matching(p)``: see the
      module docstring for what a pattern is; each line is matched on its own;
    - ``tail(n=20)``; ``len()``, iteration, indexing and ``str()`` work on ``lines``;
      ``p in strace`` is ``strace.contains(p)`` (pattern semantics, not line equality).
    """

    __slots__ = ("_lines", "_calls", "deterministic")

    def __init__(self, lines: "Iterable[str] | str" = (), *, deterministic: bool = False):
        if isinstance(lines, str):
            lines = lines.splitlines()
        out = []
        for line in lines:
            if not isinstance(line, str):
                raise TypeError(f"strace lines are str, not {line!r}")
            out.append(line.rstrip("\r\n"))
        self._lines = out
        self._calls = [_strip_prefixes(line) for line in out]
        self.deterministic = bool(deterministic)

    @property
    def lines(self) -> list[str]:
        """The lines as logged (a copy)."""
        return list(self._lines)

    @property
    def calls(self) -> list[str]:
        """The lines without their thread and time prefixes (a copy)."""
        return list(self._calls)

    def _first_match(self, pattern, start: int = 0) -> int:
        match = _matcher(pattern)
        for i in range(start, len(self._calls)):
            if match(self._calls[i]):
                return i
        return -1

    def contains(self, pattern: PatternLike) -> bool:
        """True when at least one line matches ``pattern``."""
        return self._first_match(pattern) >= 0

    def __contains__(self, pattern) -> bool:
        return self.contains(pattern)

    def count(self, pattern: PatternLike) -> int:
        """How many *lines* match ``pattern`` (a line matching twice counts once)."""
        match = _matcher(pattern)
        return sum(1 for call in self._calls if match(call))

    def matching(self, pattern: PatternLike) -> list[str]:
        """The lines (as logged) that match ``pattern``, in order."""
        match = _matcher(pattern)
        return [line for line, call in zip(self._lines, self._calls) if match(call)]

    def _sequence_progress(self, patterns) -> tuple[list[int], int]:
        """Greedy subsequence match: (matched line indexes, index of the first step
        that found no line, or -1 when every step matched)."""
        if isinstance(patterns, (str, re.Pattern)) or not isinstance(patterns, Iterable):
            raise TypeError(f"sequence() takes a list of patterns, not {patterns!r}")
        patterns = list(patterns)
        matchers = [_matcher(p) for p in patterns]  # validate every step up front
        found: list[int] = []
        start = 0
        for step, match in enumerate(matchers):
            for i in range(start, len(self._calls)):
                if match(self._calls[i]):
                    found.append(i)
                    start = i + 1
                    break
            else:
                return found, step
        return found, -1

    def sequence(self, patterns: Iterable[PatternLike]) -> bool:
        """True when the patterns match lines in this order: each pattern must match a
        line strictly after the line matched by the previous one (other lines may come
        between; one line never satisfies two steps). An empty list is true. Matching
        takes the earliest line for each step, which finds a match whenever one exists."""
        return self._sequence_progress(patterns)[1] < 0

    def tail(self, n: int = TAIL_LINES) -> list[str]:
        """The last ``n`` lines, as logged."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, not {n!r}")
        return list(self._lines[-n:]) if n > 0 else []

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._lines))

    def __getitem__(self, index):
        return self._lines[index]

    def __str__(self) -> str:
        return "\n".join(self._lines)

    def __repr__(self) -> str:
        mode = ", deterministic" if self.deterministic else ""
        return f"<Strace {len(self._lines)} lines{mode}>"


# ----------------------------------------------------------------------- context
def _name(proc) -> str:
    name = getattr(proc, "name", None)
    return name if isinstance(name, str) and name else str(getattr(proc, "pid", "?"))


def _host_of(proc):
    return getattr(proc, "_host", None)


def _strace_off(proc) -> bool:
    """True when the process's host logs no strace (or cannot log one)."""
    if not callable(getattr(proc, "strace", None)):
        return True
    return getattr(_host_of(proc), "strace_mode", None) == "off"


def _strace_of(proc):
    """The process's Strace, or None when there is none (no method, strace off)."""
    method = getattr(proc, "strace", None)
    if not callable(method) or _strace_off(proc):
        return None
    try:
        log = method()
    except Exception:  # noqa: BLE001 - a failure report must not fail in turn
        return None
    try:
        return None if log is None else _as_strace(log)
    except TypeError:
        return None


def _as_strace(log) -> Strace:
    """A Strace from what ``strace()`` returned (a Strace, or anything with lines)."""
    if isinstance(log, Strace):
        return log
    lines = getattr(log, "lines", log)
    return Strace(lines() if callable(lines) else lines,
                  deterministic=bool(getattr(log, "deterministic", False)))


def _require_strace(proc) -> Strace:
    """The process's Strace for an assertion; an error of its own ``strace()`` (e.g.
    one explaining that logging is off) propagates."""
    method = getattr(proc, "strace", None)
    log = None if _strace_off(proc) else method()
    if log is None:
        raise StraceUnavailableError(
            f"cannot check the strace of process '{_name(proc)}': {STRACE_OFF[1:-1]}")
    return _as_strace(log)


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _tree_section(host, concerned=()) -> str:
    if host is None or not callable(getattr(host, "tree", None)):
        return "process tree:\n  (no host)"
    try:
        tree = host.tree()
    except Exception as exc:  # noqa: BLE001
        tree = f"(process tree unavailable: {exc})"
    lines = tree.splitlines()
    seen = set()
    for proc in concerned:
        if getattr(proc, "state", None) == "reaped" and proc.pid not in seen:
            seen.add(proc.pid)
            try:
                lines.append(f"    (gone) {_label(proc)}")
            except Exception:  # noqa: BLE001
                pass
    return "process tree:\n" + _indent("\n".join(lines))


def _tail_sections(procs) -> list[str]:
    """One ``strace tail of ...`` section per process; STRACE_OFF once if none logs."""
    sections, off = [], False
    seen = set()
    for proc in procs:
        pid = getattr(proc, "pid", None)
        if pid in seen:
            continue
        seen.add(pid)
        log = _strace_of(proc)
        if log is None:
            off = True
            continue
        if len(log) == 0:
            sections.append(f"strace tail of {pid} ({_name(proc)}): (no line logged)")
            continue
        tail = log.tail(TAIL_LINES)
        header = f"strace tail of {pid} ({_name(proc)})"
        if len(log) > len(tail):
            header += f", last {len(tail)} of {len(log)} lines"
        sections.append(header + ":\n" + _indent("\n".join(tail)))
    if off and not sections:
        sections.append(STRACE_OFF)
    return sections


def _failure(headline: str, host, procs=(), tails=None) -> AssertionError:
    """The AssertionError of a helper: headline, tree, strace tails."""
    parts = [headline, "", _tree_section(host, procs)]
    for section in _tail_sections(procs if tails is None else tails):
        parts += ["", section]
    return AssertionError("\n".join(parts))


def _lookup(host, pid):
    if host is None or pid is None:
        return None
    try:
        return host.process(pid)
    except Exception:  # noqa: BLE001 - init (pid 1) and unknown pids have no SimProcess
        return None


def _who(host, pid) -> str:
    """``1 (init)``, ``1000 (simhost.sh.1000)``, or the bare pid."""
    if pid == 1:
        return "1 (init)"
    proc = _lookup(host, pid)
    return f"{pid} ({_name(proc)})" if proc is not None else str(pid)


def _found(proc) -> str:
    """What became of ``proc``: ``exited with status {...}`` and the like."""
    status = proc.exit_status
    if isinstance(status, (Exited, Signaled)):
        return f"exited with status {format_state(status)}"
    if status is Running:
        return f"was still running at stop_time (status {format_state(status)})"
    return f"has not ended yet (state: {proc.state})"


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


# ----------------------------------------------------------------------- snapshots
def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


def _read_snapshot(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    return text.replace("\r\n", "\n").splitlines()


def _write_snapshot(path: Path, lines: list[str]) -> None:
    """Atomically (write + rename), so a crash or a parallel reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(line + "\n" for line in lines)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# A string strace cut at its length limit: "first bytes"...
_TRUNCATED = re.compile(r'"((?:[^"\\]|\\.)*)"\.\.\.')
_MIN_CUT_PATH = 10  # a shorter cut tail ("/tmp") says too little to be taken for a path


def _with_placeholders(lines: list[str], placeholders: "Mapping[str, str] | None"):
    """``lines`` with each path of ``placeholders`` replaced by its token, the longest
    path first (a data dir inside the tmp_path stays ``<data_dir>``). A string cut
    short by strace's length limit in the middle of such a path ends in the token."""
    pairs = sorted(((os.fspath(path).rstrip("/"), token)
                    for path, token in (placeholders or {}).items()),
                   key=lambda pair: len(pair[0]), reverse=True)
    pairs = [(path, token) for path, token in pairs if path]  # "/" is every slash
    if not pairs:
        return lines
    whole = re.compile("|".join(re.escape(path) for path, _ in pairs))
    tokens = dict(pairs)

    def cut(match):
        text = match.group(1)
        for i, char in enumerate(text):
            tail = text[i:]
            if char == "/" and len(tail) >= _MIN_CUT_PATH:
                for path, token in pairs:
                    if path.startswith(tail):
                        return f'"{text[:i]}{token}"...'
        return match.group(0)

    return [_TRUNCATED.sub(cut, whole.sub(lambda m: tokens[m.group(0)], line))
            for line in lines]


def assert_strace_snapshot(proc, path, *, update: bool = False,
                           placeholders: "Mapping[str, str] | None" = None) -> None:
    """Compare the whole deterministic strace of ``proc`` (time prefixes included) with
    the golden file ``path``; ``placeholders`` maps paths that differ between runs to
    the stable text written instead (``{str(tmp_path): "<tmp_path>"}``).

    - ``update=True`` (``--simproc-update-snapshots``): write the file (only when its
      content changes) and pass;
    - the file is missing and ``update`` is false: fail, naming the file, and write
      nothing (a CI run must not create its own expectations);
    - the contents differ: fail with a unified diff (``--- snapshot`` / ``+++ actual``,
      3 lines of context) and the hint to run with ``--simproc-update-snapshots``.

    Raises StraceUnavailableError when the host's strace is off or not deterministic
    (a standard strace holds real addresses and times and would never match twice).
    """
    __tracebackhide__ = True
    path = Path(path)
    log = _require_strace(proc)
    if not log.deterministic:
        raise StraceUnavailableError(
            f"cannot snapshot the strace of process '{_name(proc)}': snapshots need a "
            f"deterministic strace (run with --simproc-strace=deterministic or "
            f"SimHost(strace='deterministic'))")
    actual = _with_placeholders(log.lines, placeholders)
    exists = path.is_file()
    if update:
        if not exists or _read_snapshot(path) != actual:
            _write_snapshot(path, actual)
        return
    shown = _display_path(path)
    if not exists:
        raise AssertionError(
            f"strace snapshot {shown} of process '{_name(proc)}' does not exist "
            f"({len(actual)} lines to store)\n\n"
            f"run pytest with --simproc-update-snapshots to create it")
    expected = _read_snapshot(path)
    if expected == actual:
        return
    diff = list(difflib.unified_diff(expected, actual, fromfile="snapshot",
                                     tofile="actual", lineterm="", n=3))
    removed = sum(1 for d in diff[2:] if d.startswith("-"))
    added = sum(1 for d in diff[2:] if d.startswith("+"))
    if len(diff) > MAX_DIFF_LINES:
        more = len(diff) - MAX_DIFF_LINES
        diff = diff[:MAX_DIFF_LINES] + [f"... ({more} more diff lines)"]
    raise AssertionError(
        f"strace of process '{_name(proc)}' does not match snapshot {shown}: "
        f"{removed} line{'' if removed == 1 else 's'} removed, {added} added\n\n"
        + "\n".join(diff) + f"\n\n{UPDATE_HINT}")


# Characters kept as they are in snapshot file names; anything else becomes "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9_.,=+@\[\]-]")
_MAX_NAME = 180


def _safe_name(text: str) -> str:
    """A file-name-safe form of a test id; when characters had to be replaced (or the
    name cut), a short hash of the original keeps different ids apart."""
    safe = _UNSAFE.sub("_", text)
    if safe.startswith("."):
        safe = "_" + safe[1:]
    if safe != text or len(safe) > _MAX_NAME:
        digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        safe = f"{safe[:_MAX_NAME]}-{digest}"
    return safe


def _node_of(request_or_node):
    """A FixtureRequest's test item, or the node itself."""
    if hasattr(request_or_node, "getfixturevalue") and hasattr(request_or_node, "node"):
        return request_or_node.node
    return request_or_node


def _test_file(node) -> Path:
    path = getattr(node, "path", None)
    if path is None:
        path = getattr(node, "fspath", None)
    if path is None:
        raise TypeError(f"cannot tell the test file of {node!r}")
    return Path(str(path))


CHAOS_PARAM = "_simproc_chaos_seed"  # the plugin's parameter under --simproc-chaos


def chaos_seed(node) -> "int | None":
    """The schedule seed ``node`` runs under with --simproc-chaos, else None."""
    return getattr(getattr(node, "callspec", None), "params", {}).get(CHAOS_PARAM)


def _without_chaos_id(name: str, seed: "int | None") -> str:
    """``test_x[seed=3]`` -> ``test_x``, ``test_x[a-seed=3]`` -> ``test_x[a]``: every
    chaos run of a test has the test's one snapshot."""
    if seed is None or not name.endswith("]") or "[" not in name:
        return name
    base, ids = name[:-1].split("[", 1)
    parts = ids.split("-")
    token = f"seed={seed}"
    if token in parts:
        parts.remove(token)
    return f"{base}[{'-'.join(parts)}]" if parts else base


def _test_name(node) -> str:
    """``test_x[param-id]``, or ``TestClass.test_x[...]`` for a method (without the
    id of a --simproc-chaos seed)."""
    chain = node.listchain() if callable(getattr(node, "listchain", None)) else [node]
    import pytest
    for i, item in enumerate(chain):
        if isinstance(item, pytest.Module):
            names = [n.name for n in chain[i + 1:]]
            if names:
                names[-1] = _without_chaos_id(names[-1], chaos_seed(node))
                return ".".join(names)
    return _without_chaos_id(node.name, chaos_seed(node))


def snapshot_path(request_or_node, name: "str | None" = None) -> Path:
    """Where the strace snapshot of the running test lives:
    ``<test file's dir>/__snapshots__/<test file stem>/<test name>[.<name>].strace``.

    ``<test name>`` is the test's name with its parametrize id (``test_x[1-fast]``),
    prefixed by its class (``TestX.test_y``); characters unsafe in file names become
    ``_`` followed by a short hash of the original. One directory per test file keeps
    equally named tests of two files apart. ``name`` tells several snapshots of one
    test apart."""
    node = _node_of(request_or_node)
    test_file = _test_file(node)
    filename = _safe_name(_test_name(node))
    if name is not None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"snapshot name must be a non-empty str, not {name!r}")
        filename += "." + _safe_name(name)
    return test_file.parent / SNAPSHOT_DIR / test_file.stem / (filename + SNAPSHOT_SUFFIX)


class StraceSnapshot:
    """What the snapshot fixture returns: ``snap(proc, name=None)`` asserts that the
    strace of ``proc`` matches this test's snapshot (``snapshot_path``). Each snapshot
    file may be used once per test: a second process needs its own ``name``."""

    def __init__(self, request, update: bool):
        self._request = request
        self.update = bool(update)
        self._used: dict[Path, int] = {}

    def path(self, name: "str | None" = None) -> Path:
        return snapshot_path(self._request, name)

    def __call__(self, proc, name: "str | None" = None) -> None:
        __tracebackhide__ = True
        path = self.path(name)
        if path in self._used:
            raise ValueError(
                f"snapshot {path.name} was already used in this test for process "
                f"{self._used[path]}; give each snapshot its own name: snap(proc, "
                f"name=...)")
        self._used[path] = getattr(proc, "pid", None)
        seed = chaos_seed(_node_of(self._request))
        if seed is not None:
            # The snapshot records one schedule (and the random bytes of one seed):
            # another seed's log differs without anything being wrong.
            warnings.warn(SnapshotNotCompared(
                f"strace snapshot {path.name} not compared under --simproc-chaos "
                f"(schedule seed {seed}): it records one schedule; run without "
                f"--simproc-chaos to check it"), stacklevel=2)
            return
        assert_strace_snapshot(proc, path, update=self.update,
                               placeholders=self.placeholders(proc))

    def placeholders(self, proc) -> dict[str, str]:
        """The paths of this run that the snapshot writes as placeholders."""
        paths = {os.getcwd(): "<cwd>"}
        if "tmp_path" in getattr(self._request, "fixturenames", ()):
            paths[str(self._request.getfixturevalue("tmp_path"))] = "<tmp_path>"
        data_dir = getattr(_host_of(proc), "data_dir", None)
        if data_dir:
            paths[data_dir] = "<data_dir>"
        for path, token in list(paths.items()):
            paths.setdefault(os.path.realpath(path), token)
        return paths


class SnapshotNotCompared(UserWarning):
    """A snapshot the fixture did not compare (under --simproc-chaos)."""


def make_snapshot_fixture(request, update: bool) -> StraceSnapshot:
    """The value of the snapshot fixture: ``snap(proc, name=None)``."""
    return StraceSnapshot(request, update)
