"""Fixtures of the plugin tests: inner suites run in a pytest process of their own,
whose tests print what they saw as JSON after "OBSERVED "."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

HELPERS = Path(__file__).with_name("dropin_helpers.py")

# an inner suite's conftest: its tests named "an_hour" take an hour of real time
# natively, so they run only under --simproc
HOURS_SIMULATED_ONLY = """
import pytest

def pytest_collection_modifyitems(config, items):
    if not config.getoption("simproc", None):
        for item in items:
            if "an_hour" in item.name:
                item.add_marker(pytest.mark.skip(reason="an hour of real time"))
"""


def _payloads(pytester, source, args, *, passed: int, skipped: int = 0,
              timeout: float, lines=(), **outcomes) -> list:
    if isinstance(source, dict):
        pytester.makepyfile(**source)
    else:
        pytester.makepyfile(source)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", *args,
                                           timeout=timeout)
    result.assert_outcomes(passed=passed, skipped=skipped, **outcomes)
    if lines:
        result.stdout.fnmatch_lines(lines)
    return [json.loads(line.split("OBSERVED ", 1)[1])  # after pytest's progress
            for line in result.outlines if "OBSERVED " in line]


@pytest.fixture
def observed(pytester):
    """``observed(source, args, passed)``: the JSON payloads the inner suite (one
    module's source, or module name -> source) printed, one per line, checking it
    passed; other ``outcomes`` it had (failed=N,
    deselected=N) and ``lines`` its output holds (fnmatch patterns) are checked too."""
    def run(source, args, passed: int, timeout: float = 120, lines=(),
            **outcomes) -> list:
        return _payloads(pytester, source, args, passed=passed, timeout=timeout,
                         lines=lines, **outcomes)
    return run


@pytest.fixture
def observe(pytester):
    """``observe(inner, args, passed=N)`` runs the inner suite ``inner`` beside
    dropin_helpers.py, checks its outcomes, and returns what each test printed with
    ``observed``: name -> (pids, elapsed, time); other ``outcomes`` (xfailed=N) are
    checked too. ``hours_simulated``: its tests
    named "an_hour" run only under --simproc (after ``conftest``'s own code)."""
    def run(inner: str, args, *, passed: int, skipped: int = 0, conftest: str | None = None,
            hours_simulated: bool = False, **outcomes):
        if hours_simulated:
            conftest = (conftest or "") + HOURS_SIMULATED_ONLY
        shutil.copy(HELPERS, pytester.path)
        if conftest is not None:
            pytester.makeconftest(conftest)
        payloads = _payloads(pytester, inner, args, passed=passed, skipped=skipped,
                             timeout=240, **outcomes)
        seen = {name: (pids, elapsed, now) for name, pids, elapsed, now in payloads}
        assert len(seen) == passed, payloads
        return seen
    return run


# the host's default start time, where an inner suite's virtual clock begins
START = 946684800


@pytest.fixture
def virtual():
    """``virtual(seen)``: what ``observe`` returned, as name -> (pids, elapsed times to
    the 10 ms), and a check that every test ended within its first hour of virtual
    time, for comparison with the lengths of the waits under ``--simproc``."""
    def rounded(seen) -> dict:
        assert all(START <= now < START + 3601 for _, _, now in seen.values()), seen
        return {name: (pids, [round(e, 2) for e in elapsed])
                for name, (pids, elapsed, _) in seen.items()}
    return rounded
