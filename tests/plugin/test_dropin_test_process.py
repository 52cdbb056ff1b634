"""Drop-in mode: what a suite sees of the test process itself stays as natively.

Found by plumbum's own suite (its daemon, nohup and pgrep tests): the programs' parent
has the test's name, a Popen filled in by hand is a real one, and the host keeps no
descriptor open in the test process. Each inner suite passes natively and under
``--simproc``, and shows where it ran (``host_check``: virtual time and pids).
"""
from __future__ import annotations

import pytest

from .test_dropin import MODES
from .test_dropin_pipes import run_checked

pytest_plugins = ["pytester"]


@pytest.mark.parametrize("args", MODES)
def test_the_programs_parent_is_named_as_the_test(pytester, args):
    # In a host the test is its programs' parent under its own pid, with its name
    # and command line, so `pgrep python` finds it, as natively it finds the test.
    run_checked(pytester, """
        import subprocess

        def test_ps_names_the_parent():
            with open("/proc/self/comm") as f:
                comm = f.read().strip()
            p = subprocess.run(["sh", "-c", "ps -o comm= -p $PPID; echo $$"],
                               capture_output=True, text=True)
            parent, pid = p.stdout.split()
            assert parent == comm
            assert subprocess.run(["pgrep", "-x", comm]).returncode == 0
            host_check(int(pid))
    """, args, passed=1)


@pytest.mark.parametrize("args", MODES)
def test_a_popen_filled_in_by_hand(pytester, args):
    # plumbum's daemonic_popen: Popen.__new__(Popen), then pid and friends set by hand
    # for a process the test did not start itself.
    run_checked(pytester, """
        import os
        import signal
        import subprocess

        def test_handle():
            p = subprocess.Popen(["sleep", "30"])
            handle = subprocess.Popen.__new__(subprocess.Popen)
            handle._child_created = False
            handle.returncode = None
            handle.pid = p.pid
            assert handle.pid == p.pid
            os.kill(handle.pid, 0)
            os.kill(handle.pid, signal.SIGTERM)
            assert p.wait() == -signal.SIGTERM
            host_check(p.pid)
    """, args, passed=1)


@pytest.mark.parametrize("args", MODES)
def test_spawning_leaves_no_descriptor_open(pytester, args):
    run_checked(pytester, """
        import subprocess
        import psutil

        def test_num_fds():
            me = psutil.Process()
            before = me.num_fds()
            p = subprocess.Popen(["true"])
            p.wait()
            assert me.num_fds() <= before
            host_check(p.pid)

        def test_num_fds_around_piped_output():
            me = psutil.Process()
            before = me.num_fds()
            p = subprocess.Popen(["echo", "hi"], stdout=subprocess.PIPE)
            assert p.communicate()[0] == b"hi\\n"
            p.stdout.close()
            assert me.num_fds() <= before
            host_check(p.pid)
    """, args, passed=2)
