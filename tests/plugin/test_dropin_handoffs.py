"""A drop-in test that runs one short program hands its host's tracer thread three
pieces of work: making the host's engine, the spawn, and the run its wait makes. Its
reap of the child (the wait's end) and the host's close at teardown are done on the
test's own thread while the tracer is idle (threads.call_idle, simhost._end_quietly):
each hand-off is two context switches, which a loaded machine makes slow (README,
"What a host and a spawn cost").

The inner suite is plain subprocess code, run with ``--simproc`` and natively; under
``--simproc`` the outer test counts the hand-offs.
"""
from __future__ import annotations

import pytest

from pytest_simproc.host.threads import _TracerThread

from .test_dropin import MODES
from .test_dropin_pipes import run_checked

pytest_plugins = ["pytester"]

TESTS = 3

RUN_TRUE = """
    import subprocess
    import pytest

    @pytest.mark.parametrize("i", range(%d))
    def test_true(i):
        p = subprocess.run(["true"], check=True)
        assert p.returncode == 0
        proc = subprocess.Popen(["true"])
        assert proc.wait() == 0
        host_check(proc.pid)
""" % TESTS


@pytest.fixture
def handed(monkeypatch) -> list:
    """What the test's thread handed to a tracer thread (``_TracerThread.call``)."""
    handed = []
    real_call = _TracerThread.call

    def counted(self, func, *args):
        handed.append(getattr(func, "__qualname__", repr(func)))
        return real_call(self, func, *args)

    monkeypatch.setattr(_TracerThread, "call", counted)
    return handed


@pytest.mark.parametrize("args", MODES)
def test_a_test_running_programs_hands_its_tracer_the_engine_spawns_and_runs(
        pytester, handed, args):
    run_checked(pytester, RUN_TRUE, args, passed=TESTS)
    if args:
        # per test: its host's engine, then a spawn and a run for each program
        assert len(handed) == TESTS * 5, handed
        assert sorted(set(handed)) == ["Lifecycle.spawn", "SimHost.__init__.<locals>.<lambda>",
                                       "StopLoop.run"], handed
