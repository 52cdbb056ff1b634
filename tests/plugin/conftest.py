"""Fixtures of the plugin tests."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

HELPERS = Path(__file__).with_name("dropin_helpers.py")


@pytest.fixture
def observe(pytester):
    """``observe(inner, args, passed=N)`` runs the inner suite ``inner`` in a pytest
    process of its own, beside dropin_helpers.py, checks its outcomes, and returns what
    each test printed with ``observed``: name -> (pids, elapsed, time)."""
    def run(inner: str, args, *, passed: int, skipped: int = 0, conftest: str | None = None):
        shutil.copy(HELPERS, pytester.path)
        if conftest is not None:
            pytester.makeconftest(conftest)
        pytester.makepyfile(inner)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", *args,
                                               timeout=240)
        result.assert_outcomes(passed=passed, skipped=skipped)
        seen = {}
        for line in result.outlines:
            if "OBSERVED " in line:  # after pytest's progress characters
                name, pids, elapsed, now = json.loads(line.split("OBSERVED ", 1)[1])
                seen[name] = (pids, elapsed, now)
        assert len(seen) == passed, result.outlines
        return seen
    return run
