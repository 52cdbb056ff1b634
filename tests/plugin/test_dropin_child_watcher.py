"""Drop-in mode and asyncio's FastChildWatcher, as CPython's test_asyncio runs every
subprocess test under it (test_kill_issue43884: a shell killed between its two
commands). Its SIGCHLD handler reaps with ``waitpid(-1, WNOHANG)``: a wait of the
whole process, which took the ptrace stops of the host's programs from its tracer
thread (the shell's fork event), so the shell stayed stopped in clone until the
watchdog killed it. The inner suite passes natively and under ``--simproc``, where the
shell is the host's (pid 1000) and its sleeps virtual.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = r'''
import asyncio
import signal
import time

import pytest
from dropin_helpers import observed, watched_loop

pytestmark = pytest.mark.skipif(not hasattr(asyncio, "FastChildWatcher"),
                                reason="asyncio's child watchers are gone (3.14)")


@pytest.fixture
def loop():
    with watched_loop(asyncio.get_event_loop_policy(), asyncio.FastChildWatcher) as loop:
        yield loop


def test_kill_a_shell_between_its_commands(loop):
    t0 = time.monotonic()
    proc = loop.run_until_complete(asyncio.create_subprocess_shell(
        "sleep 1; sleep 1", stdout=asyncio.subprocess.PIPE))
    loop.run_until_complete(asyncio.sleep(1.5))  # the shell runs its second sleep
    proc.kill()
    assert loop.run_until_complete(proc.wait()) == -signal.SIGKILL
    observed("shell", [proc.pid], time.monotonic() - t0)
'''


def test_natively(observe):
    seen = observe(INNER, [], passed=1)
    assert 1000 not in seen["shell"][0]


def test_under_simproc(observe, virtual):
    seen = observe(INNER, ["--simproc"], passed=1)
    assert virtual(seen) == {"shell": ([1000], [1.5])}
