"""Fixtures of the plugin tests: inner suites run in a pytest process of their own,
whose tests print what they saw as JSON after "OBSERVED "."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

HELPERS = Path(__file__).with_name("dropin_helpers.py")


def _payloads(pytester, source: str, args, *, passed: int, skipped: int = 0,
              timeout: float) -> list:
    pytester.makepyfile(source)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", *args,
                                           timeout=timeout)
    result.assert_outcomes(passed=passed, skipped=skipped)
    return [json.loads(line.split("OBSERVED ", 1)[1])  # after pytest's progress
            for line in result.outlines if "OBSERVED " in line]


@pytest.fixture
def observed(pytester):
    """``observed(source, args, passed)``: the JSON payloads the inner suite printed,
    one per line, checking it passed."""
    def run(source: str, args, passed: int) -> list:
        return _payloads(pytester, source, args, passed=passed, timeout=120)
    return run


@pytest.fixture
def observe(pytester):
    """``observe(inner, args, passed=N)`` runs the inner suite ``inner`` beside
    dropin_helpers.py, checks its outcomes, and returns what each test printed with
    ``observed``: name -> (pids, elapsed, time)."""
    def run(inner: str, args, *, passed: int, skipped: int = 0, conftest: str | None = None):
        shutil.copy(HELPERS, pytester.path)
        if conftest is not None:
            pytester.makeconftest(conftest)
        payloads = _payloads(pytester, inner, args, passed=passed, skipped=skipped,
                             timeout=240)
        seen = {name: (pids, elapsed, now) for name, pids, elapsed, now in payloads}
        assert len(seen) == passed, payloads
        return seen
    return run
