"""A coverage configuration the test sets itself, for the programs it starts.

Coverage's own suite (tests/test_process.py, ProcessStartupTest) sets
COVERAGE_PROCESS_START to a config file of the test's and reads the data file its child
python wrote. The host took every such configuration for the test run's measurement
(host/measure.py): the data went into the host's private directory, forced parallel,
and was moved beside the configured file only when the host closed, after the test had
looked (``assert 100 == 3``, "File '.coverage' should exist": 10 of its tests). Only
the run's own configuration (in the environment before the test's fixtures) is
redirected now. The inner suite passes natively and under ``--simproc``.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import os
import subprocess
import sys

import coverage
import pytest
from dropin_helpers import observed

SUB = "import os\nprint(os.getpid())\n"


@pytest.fixture
def measured(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub.py").write_text(SUB)
    (tmp_path / "cov.ini").write_text("[run]\ndata_file = .mycovdata\n")
    monkeypatch.delenv("COVERAGE_PROCESS_CONFIG", raising=False)
    monkeypatch.setenv("COVERAGE_PROCESS_START", "cov.ini")
    return tmp_path / "sub.py"


def lines_of(path):
    data = coverage.CoverageData(".mycovdata")
    data.read()
    return data.lines(str(path))


def test_a_popen_child(measured):
    out = subprocess.check_output([sys.executable, "sub.py"])
    assert lines_of(measured) == [1, 2]
    observed("popen", [int(out)])


def test_an_os_system_child(measured):
    assert os.system(f"{sys.executable} sub.py > out.txt") == 0
    assert lines_of(measured) == [1, 2]
    with open("out.txt") as f:
        observed("system", [int(f.read())])
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_the_tests_own_coverage_config_measures_as_natively(observe, args):
    seen = observe(INNER, ["--timeout", "120", *args], passed=2)
    if args:  # in the host: its pids, its virtual clock
        assert seen["popen"][0][0] >= 1000 and seen["system"][0][0] >= 1000
        assert all(946684800 <= now < 946684800 + 60 for _, _, now in seen.values())
