"""The message every ``assert_*`` helper fails with: one headline, the host's process
tree (reaped processes concerned listed as ``(gone)``), the strace tails of the
processes concerned. Kept apart from the helpers so that the snapshot comparison and the
helpers word their failures and find a process's strace the same way.
"""
from __future__ import annotations

from .kernel.states import Exited, Running, Signaled, format_state
from .report import _label  # the tree's own labels for "(gone)" lines
from .strace_match import STRACE_OFF, TAIL_LINES, Strace, StraceUnavailableError


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
    """The process's Strace for an assertion (with logging off, the record of the calls
    the host simulates, when ``strace()`` gives one); an error of its own ``strace()``
    propagates."""
    method = getattr(proc, "strace", None)
    log = method() if callable(method) else None
    if _strace_off(proc) and getattr(log, "recorded", None) is None:
        log = None
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
