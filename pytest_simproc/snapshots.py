"""Golden-file snapshots of a deterministic strace (SPEC §2): the comparison, where a
test's snapshot file lives, and the ``snap`` fixture's object.

A *missing* golden file fails the test (and is not written) unless update mode is on,
like pytest-snapshot and syrupy: a test run in CI must never pass by writing the
expectation it should have checked. The snapshot fixture writes paths that change from
run to run (the test's ``tmp_path``, the host's data dir, the working directory) as
``<tmp_path>``, ``<data_dir>`` and ``<cwd>``.
"""
from __future__ import annotations

import difflib
import hashlib
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Mapping

from .failure import _host_of, _name, _require_strace
from .strace_match import StraceUnavailableError

#: A unified diff longer than this is cut in failure messages.
MAX_DIFF_LINES = 400
UPDATE_HINT = "run pytest with --simproc-update-snapshots to accept the new output"
SNAPSHOT_DIR = "__snapshots__"
SNAPSHOT_SUFFIX = ".strace"


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
