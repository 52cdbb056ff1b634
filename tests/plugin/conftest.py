"""Helpers of the pytester suites here."""
from __future__ import annotations

import json

import pytest


@pytest.fixture
def observed(pytester):
    """Run an inner suite in a pytest process of its own and give the JSON payloads
    its tests printed after "OBSERVED " (one line each), checking it passed."""
    def run(source: str, args, passed: int) -> list:
        pytester.makepyfile(source)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", *args,
                                               timeout=120)
        result.assert_outcomes(passed=passed)
        return [json.loads(line.split("OBSERVED ", 1)[1])  # after pytest's progress
                for line in result.outlines if "OBSERVED " in line]
    return run
