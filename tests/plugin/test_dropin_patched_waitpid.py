"""Drop-in mode and a test that puts its own ``os.waitpid`` under ``Popen.wait``, as
CPython's test_subprocess does (test_stopped, issue 29335: a mock that reports a
stopped child gives ``returncode`` -3). Natively Popen.wait calls whatever
``subprocess.os.waitpid`` is; under ``--simproc`` the inner test passes too, its
program the host's (pid 1000).
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = r'''
import os
import subprocess
from unittest import mock

from dropin_helpers import observed


def test_wait_takes_the_status_the_patched_waitpid_gives():
    p = subprocess.Popen(["true"])
    os.waitpid(p.pid, 0)  # the test reaps it itself
    stopped = 3 << 8 | 0x7F  # W_STOPCODE(3)
    with mock.patch("subprocess.os.waitpid", return_value=(p.pid, stopped)) as waitpid:
        assert p.wait() == -3
    waitpid.assert_called_once_with(p.pid, 0)
    observed("stopped", [p.pid])
'''


def test_natively(observe):
    seen = observe(INNER, [], passed=1)
    assert 1000 not in seen["stopped"][0]


def test_under_simproc(observe, virtual):
    seen = observe(INNER, ["--simproc"], passed=1)
    assert virtual(seen) == {"stopped": ([1000], [])}
