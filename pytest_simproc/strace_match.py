"""Matching a process's strace (SPEC §2): the ``Strace`` object ``proc.strace()``
returns and the patterns its queries take. It stands apart from the assertion helpers
because a test reads it directly (``proc.strace().contains("wait4(")``) and because the
helpers, the snapshots and the failure messages all build on it.

Strace patterns (``Strace.contains`` / ``sequence`` / ``count`` and ``assert_strace``)
are matched one line at a time against the line *without* its prefixes: the
``[pid TID] `` of a line of a thread other than the process's main one, and the time
(``00:00:05.000000 `` in deterministic mode):

- a ``str`` starting with ``re:`` is a regular expression (the rest of the string),
  searched anywhere in the line with ``re.search``: ``r"re:^kill\\(100\\d, SIGTERM\\)"``;
  ``^`` anchors at the start of the system call, after the prefixes;
- a compiled ``re.Pattern`` is searched the same way (use
  ``re.compile(re.escape("re:..."))`` to match text that itself starts with ``re:``).

Snapshots (``assert_strace_snapshot``) compare the whole deterministic log of one
"""
from __future__ import annotations

import re
from typing import Iterable, Iterator, Mapping, Union

from .errors import SimprocError

#: How many strace lines a failure message shows for each process concerned.
TAIL_LINES = 20
STRACE_OFF = ("(strace logging is off: run with --simproc-strace=deterministic or "
              "SimHost(strace=...))")

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


# A call named in a pattern: "wait4(" in a substring, "wait4\\(" in a regular expression.
_CALL_NAME = re.compile(r"(?<![A-Za-z0-9_])([a-z_][a-z0-9_]*)(?:\(|\\\()")


def _named_calls(pattern) -> frozenset:
    """The system calls ``pattern`` names: a known call's name followed by its "(" (or
    a plain str that is only a call's name)."""
    from .syscalls.registry import known_syscalls
    source = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    if not isinstance(source, str):
        return frozenset()
    if isinstance(pattern, str) and source.startswith("re:"):
        source = source[3:]
    names = set(_CALL_NAME.findall(source))
    if isinstance(pattern, str) and not pattern.startswith("re:"):
        names.add(pattern.strip())
    return frozenset(names) & known_syscalls()


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
      ``p in strace`` is ``strace.contains(p)`` (pattern semantics, not line equality);
    - ``recorded``: None when every call is logged; with logging off, the names of the
      calls the host stops for anyway (the ones it simulates), the only ones the log
      holds: a pattern naming another call (``"mmap("``) raises StraceUnavailableError
      rather than match nothing. Such a log shows a call the host ran natively without
      seeing its end with ``= ?`` (its result would take one more stop).
    """

    __slots__ = ("_lines", "_calls", "deterministic", "recorded")

    def __init__(self, lines: "Iterable[str] | str" = (), *, deterministic: bool = False,
                 recorded: "Iterable[str] | None" = None):
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
        self.recorded = None if recorded is None else frozenset(recorded)

    def _matcher(self, pattern):
        """``_matcher(pattern)``, refused when ``pattern`` names a call not recorded."""
        match = _matcher(pattern)
        if self.recorded is not None:
            missing = sorted(_named_calls(pattern) - self.recorded)
            if missing:
                raise StraceUnavailableError(
                    f"strace pattern {_describe(pattern)} names {', '.join(missing)}, which "
                    f"this log does not record: with strace logging off, a host records "
                    f"only the calls it simulates. Log every call with the marker's "
                    f"strace='deterministic' (or 'standard'), --simproc-strace=deterministic "
                    f"or SimHost(strace='deterministic')")
        return match

    @property
    def lines(self) -> list[str]:
        """The lines as logged (a copy)."""
        return list(self._lines)

    @property
    def calls(self) -> list[str]:
        """The lines without their thread and time prefixes (a copy)."""
        return list(self._calls)

    def _first_match(self, pattern, start: int = 0) -> int:
        match = self._matcher(pattern)
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
        match = self._matcher(pattern)
        return sum(1 for call in self._calls if match(call))

    def matching(self, pattern: PatternLike) -> list[str]:
        """The lines (as logged) that match ``pattern``, in order."""
        match = self._matcher(pattern)
        return [line for line, call in zip(self._lines, self._calls) if match(call)]

    def _sequence_progress(self, patterns) -> tuple[list[int], int]:
        """Greedy subsequence match: (matched line indexes, index of the first step
        that found no line, or -1 when every step matched)."""
        if isinstance(patterns, (str, re.Pattern)) or not isinstance(patterns, Iterable):
            raise TypeError(f"sequence() takes a list of patterns, not {patterns!r}")
        patterns = list(patterns)
        matchers = [self._matcher(p) for p in patterns]  # validate every step up front
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
