"""A module that stands in sys.modules for another one still reads the test's clock.

python-executor's tests time their waits with humanfriendly's ``Timer``; humanfriendly
puts a ``DeprecationProxy`` (a ModuleType subclass that wraps the module) in
sys.modules in its own place. Drop-in mode replaced ``from time import monotonic`` in
the proxy's namespace only, while the Timer's code reads its globals in the wrapped
module's: it read the machine's clock beside the host's, so ``kill(timeout=1)``
waited for a process's whole virtual minute (test_process_termination_failure). The
inner suite's helper module wraps itself the same way.
"""
from __future__ import annotations

import pytest

from .test_dropin import MODES

pytest_plugins = ["pytester"]

PROXIED = """
import sys
import types
from time import monotonic


def elapsed_since(start):
    return monotonic() - start


class _Proxy(types.ModuleType):
    def __init__(self, module):
        super().__init__(module.__name__)
        self.module = module

    def __getattr__(self, name):
        return getattr(self.module, name)


sys.modules[__name__] = _Proxy(sys.modules[__name__])
"""

INNER = """
import subprocess

import proxied
from dropin_helpers import observed


def test_a_wait_timed_by_a_proxied_module():
    start = proxied.monotonic()
    proc = subprocess.Popen(["sleep", "2"])
    assert proc.wait() == 0
    elapsed = proxied.elapsed_since(start)
    assert elapsed >= 2
    observed("proxied", [proc.pid], elapsed)
"""


@pytest.mark.parametrize("args", MODES)
def test_a_proxied_modules_clock_is_the_tests(observe, virtual, args):
    seen = observe({"proxied": PROXIED, "test_inner": INNER}, args, passed=1)
    if args:  # the host's sleep, its two virtual seconds (and the start-up of sleep)
        ((pid,), (elapsed,)), = virtual(seen).values()
        assert pid >= 1000 and 2 <= elapsed < 2.1
