"""Rendering a host for people and machines: the process tree and the JSON report."""
from __future__ import annotations

from .kernel.states import state_to_text

NSEC = 1_000_000_000


def _label(proc) -> str:
    argv = " ".join(proc.argv)
    if len(argv) > 200:  # long enough for real paths, short enough for a tree
        argv = argv[:197] + "..."
    state = proc.state
    if state == "zombie":
        state = f"zombie <defunct> {_exit_text(proc.exit_status)}"
    elif state == "reaped":
        state = f"reaped by {proc.reaped_by} {_exit_text(proc.exit_status)}"
    return f"{proc.pid} {argv} [{state}]"


def _exit_text(status) -> str:
    import json
    return json.dumps(state_to_text(status)) if status is not None else ""


def render_tree(table, *, include_reaped: bool = False) -> str:
    """pstree-like text of the live and zombie processes under init, states shown."""
    lines = ["1 init"]

    def walk(pid: int, prefix: str) -> None:
        proc = table.get(pid)
        children = [table.get(c) for c in proc.children] if proc else []
        children = [c for c in children if c is not None]
        for i, child in enumerate(children):
            last = i == len(children) - 1
            lines.append(f"{prefix}{'`-- ' if last else '|-- '}{_label(child)}")
            walk(child.pid, prefix + ("    " if last else "|   "))

    walk(1, "")
    if include_reaped:
        reaped = [p for p in table.processes() if p.state == "reaped"]
        for proc in reaped:
            lines.append(f"    (gone) {_label(proc)}")
    return "\n".join(lines)


def _time(ns) -> float | None:
    return None if ns is None else ns / NSEC


def process_record(sp) -> dict:
    """One process of the --json report (SPEC §4)."""
    proc = sp._proc
    status = sp.exit_status
    return {
        "pid": proc.pid, "ppid": proc.ppid, "pgid": proc.pgid, "sid": proc.sid,
        "argv": list(proc.argv), "state": proc.state,
        "exit": state_to_text(status) if status is not None else None,
        "reaped_by": proc.reaped_by,
        "start_time": _time(proc.start_time_ns), "end_time": _time(proc.end_time_ns),
    }


def build_report(host: dict, processes) -> dict:
    return {"host": host, "processes": [process_record(sp) for sp in processes]}
