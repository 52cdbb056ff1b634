"""Running one test more than once: the plugin's search for bugs on purpose.

A host is deterministic, so a test's run can be repeated and compared. Under
``--simproc-chaos`` a failing case is rerun with prefixes of its schedule's decisions
(``SimHost(_replay=...)``) to find the one decision that decides the failure; under
``--simproc-verify`` every simproc test runs twice and what its programs did is compared,
so that nondeterminism the host cannot remove (real time, native /proc fields) shows.
The reruns go through pytest's own protocol (the test's fixtures set up and torn down
again, wider ones kept for all the runs); only the first run's reports are logged.
"""
from __future__ import annotations

import shlex
from itertools import zip_longest

import pytest
from _pytest.runner import CallInfo, runtestprotocol

from .snapshots import _without_chaos_id, chaos_seed
from .kernel.states import format_state

SHRINK_RUNS = 12  # reruns the search for the deciding decision may take


def run_explored(item, nextitem, verify: bool) -> list:
    """Run ``item``; rerun it as --simproc-verify and --simproc-chaos ask. Returns the
    reports to log (the first run's, with sections and failures added)."""
    from .plugin import _HOSTS, VERIFIED
    reports = rerun(item)
    hosts = [host for host, _ in item.stash.get(_HOSTS, ())]
    if verify and hosts:
        _verify(item, reports)
        for report in reports:
            report.user_properties.append((VERIFIED, item.nodeid))
    seed = chaos_seed(item)
    if seed is not None and _failed(reports):
        text = chaos_section(item, seed) + "\n" + shrink(item, hosts)
        _failure(reports).sections.append((f"simproc chaos (seed={seed})", text))
    # the wider fixtures the runs kept go now, as after any test (their errors are
    # the test's teardown errors)
    call = CallInfo.from_call(lambda: item.session._setupstate.teardown_exact(nextitem),
                              when="teardown", reraise=(pytest.exit.Exception,
                                                        KeyboardInterrupt))
    if call.excinfo is not None:
        reports.append(item.ihook.pytest_runtest_makereport(item=item, call=call))
    return reports


def rerun(item, replay=None) -> list:
    """One run of ``item`` through pytest's protocol, unlogged, its function-scoped
    fixtures torn down after it (wider ones kept); ``replay`` is the decision prefix its
    chaos host makes again."""
    from .plugin import _HOSTS, _PATHS, _RECORDS, _REPLAY
    item.stash[_HOSTS] = []
    item.stash[_PATHS] = []
    item.stash[_RECORDS] = []
    if replay is None:
        if _REPLAY in item.stash:
            del item.stash[_REPLAY]
    else:
        item.stash[_REPLAY] = list(replay)
    return runtestprotocol(item, log=False, nextitem=item.parent)


def _failed(reports) -> bool:
    return any(r.failed for r in reports)


def _failure(reports):
    return next(r for r in reports if r.failed)


# ------------------------------------------------------------------ chaos
def chaos_section(item, seed: int) -> str:
    config = item.config
    n = config.getoption("simproc_chaos")
    first = config.getoption("simproc_seed")
    extra = "".join(f" --simproc-inject={shlex.quote(spec)}"
                    for spec in config.getoption("simproc_inject") or ())
    again = f" --simproc-seed={first}" if first else ""
    alone = _without_chaos_id(item.nodeid, seed)
    return (f"chaos schedule seed={seed} failed; it fails the same way on every run.\n"
            f"Rerun this case alone:\n"
            f"  pytest {shlex.quote(item.nodeid)} --simproc-chaos={n}{again}{extra}\n"
            f"  pytest {shlex.quote(alone)} --simproc-chaos=1 --simproc-seed={seed}{extra}")


def shrink(item, hosts, budget: int = SHRINK_RUNS) -> str:
    """Search the shortest prefix of the failing run's decisions that still fails (the
    rest made by the default policy): its last decision decides the failure."""
    from .plugin import _HOSTS
    if len(hosts) != 1:
        return (f"not shrunk: the test made {len(hosts)} hosts; shrinking follows the "
                f"schedule of one")
    decisions = hosts[0].schedule_decisions()
    runs = 0
    failing_host = None

    def fails(k: int) -> bool:
        nonlocal runs, failing_host
        runs += 1
        bad = _failed(rerun(item, decisions[:k]))
        made = [host for host, _ in item.stash.get(_HOSTS, ())]
        if bad and made:
            failing_host = made[0]
        return bad

    if fails(0):
        return ("shrinking: the default schedule of this seed (none of the chaos "
                "decisions) fails too: the failure does not depend on the interleaving")
    lo, hi = 0, len(decisions)
    while hi - lo > 1 and runs < budget - 1:
        mid = (lo + hi) // 2
        if fails(mid):
            hi = mid
        else:
            lo = mid
    if hi == 0 or (failing_host is None and not fails(hi)):
        return (f"shrinking: replaying the failing run's {len(decisions)} decisions "
                    f"passed: the failure did not reproduce")
    chosen, others = failing_host.schedule_explanations()[hi - 1]
    exact = "" if hi - lo == 1 else (
        f" (search stopped after {runs} reruns: the deciding decision is one of "
        f"{lo + 1}..{hi})")
    return (f"shrunk in {runs} reruns: the first {hi} of {len(decisions)} scheduling "
            f"decisions fail, the first {lo} (the rest by the default policy) pass"
            f"{exact}.\nDeciding decision #{hi}: {chosen} ran before "
            + " and ".join(others))


# ------------------------------------------------------------------ verify
def _verify(item, reports) -> None:
    from .plugin import _RECORDS
    first = item.stash.get(_RECORDS, [])
    second_reports = rerun(item)
    second = item.stash.get(_RECORDS, [])
    difference = first_difference(first, second)
    if _failed(reports):
        if difference:
            _failure(reports).sections.append(("simproc verify", difference))
        return
    message = None
    if _failed(second_reports):
        message = ("--simproc-verify: the second run of this test failed where the first "
                   "passed:\n" + str(_failure(second_reports).longrepr))
    elif difference:
        message = ("--simproc-verify: two runs with the same seed differ (a source of "
                   "nondeterminism the host does not control):\n" + difference)
    if message:
        report = next((r for r in reports if r.when == "call"), reports[0])
        report.outcome = "failed"
        report.longrepr = message


def record(hosts, paths=()) -> list[str]:
    """What the programs of ``hosts`` did, one line per fact: every process's state,
    the spawned processes' stdout and stderr, and the deterministic strace."""
    lines: list[str] = []
    for host in hosts:
        name = host.hostname
        for proc in host.processes():
            state = proc.exit_status
            lines.append(f"[{name}] process {proc.pid} {proc.name}: "
                         f"{proc.state if state is None else format_state(state)}")
        for proc in host.spawned():
            for stream in ("stdout", "stderr"):
                for line in getattr(proc, stream).decode(errors="replace").splitlines():
                    lines.append(f"[{name}] {proc.pid} {stream}: {line}")
        if host.strace_mode == "deterministic":  # each process's log (kept once closed)
            for proc in host.processes():
                lines.extend(f"[{name}] strace: {proc.pid} {line}"
                             for line in proc.strace().lines)
        lines = [_placeholders(line, [(host.data_dir, "<data_dir>")]) for line in lines]
    return [_placeholders(line, [(p, "<tmp_path>") for p in paths]) for line in lines]


def _placeholders(line: str, pairs) -> str:
    for path, name in pairs:
        line = line.replace(path, name)
    return line


def first_difference(first: list[str], second: list[str]) -> str:
    """The first line where two records differ, with its number; '' when equal."""
    for number, (a, b) in enumerate(zip_longest(first, second), 1):
        if a != b:
            return (f"first difference at line {number} of the runs' records "
                    f"(final states, output, deterministic strace):\n"
                    f"  run 1: {a if a is not None else '(nothing: the record ended)'}\n"
                    f"  run 2: {b if b is not None else '(nothing: the record ended)'}")
    return ""
