"""Drop-in mode: a child the test forked and never reaped keeps its pid (issue 13).

Every test's host numbers its programs from 1000. pexpect's spawn forks its child on a
pty and, when collected, kills and reaps it by number (``__del__``: kill, waitpid);
collected during a later test, it killed and reaped that test's pid 1000 (pexpect's
test_stacktraceMunging failed 2 runs in 6). On a machine the number stays the
parent's zombie until it reaps it (wait(2)), and no other process gets it meanwhile.

The later test's program runs until the test kills it: natively, where the inner suite
runs in the outer test's process, collecting its garbage and a real second's sleep
could outlast a short program on a loaded machine.
"""
from __future__ import annotations

import re

import pytest

from .test_dropin import MODES
from .test_dropin_pipes import run_checked

pytest_plugins = ["pytester"]

SUITE = """
    import gc
    import os
    import pty
    import signal
    import subprocess
    import time

    class Spawn:
        # pexpect's shape: a child forked on a pty, killed and reaped when collected
        def __init__(self, argv):
            self.pid, self.fd = pty.fork()
            if self.pid == 0:
                os.execvp(argv[0], argv)
            self.me = self   # in a cycle: the garbage collector finds it, some time later

        def __del__(self):
            os.close(self.fd)
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass

    def test_first_leaves_a_spawn_behind():
        gc.disable()   # collected in the next test, whatever the allocations
        child = Spawn(["sleep", "60"])
        host_check(child.pid)

    def test_second_runs_its_own_program():
        try:
            p = subprocess.Popen(["sleep", "60"])
            gc.collect()   # the first test's spawn is finalized now
        finally:
            gc.enable()
        time.sleep(1)
        assert p.poll() is None   # not the spawn's: killed and reaped by nobody
        p.kill()
        assert p.wait() == -signal.SIGKILL
        host_check(p.pid)
"""


@pytest.mark.parametrize("args", MODES)
def test_a_finalizer_of_an_earlier_test_leaves_the_later_tests_program_alone(pytester, args):
    result = run_checked(pytester, SUITE, args, passed=2)
    if args:   # 1000 is the first test's zombie until its finalizer reaped it
        assert re.findall(r"host-check time=\d+ pid=(\d+)", result.stdout.str()) == [
            "1000", "1001"]
