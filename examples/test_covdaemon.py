"""covdaemon.py tested in a simulated host; with coverage measuring subprocesses these
tests cover every line of it (README, "Coverage of the programs in a host"):

    pytest examples/test_covdaemon.py --cov=examples --cov-report=term-missing

(with ``[run] patch = subprocess`` in the coverage configuration). The interpreter is
this session's own ``sys.executable``, whose site-packages hold coverage's .pth file.
"""
from __future__ import annotations

import signal
import sys
from pathlib import Path

from pytest_simproc import Exited, Signaled

EXAMPLES = Path(__file__).resolve().parent


def spawn(host, *args):
    return host.spawn([sys.executable, "covdaemon.py", *args], cwd=str(EXAMPLES))


def test_jobs_then_idle_until_sigterm(simhost):
    daemon = spawn(simhost)
    simhost.run_for(125)
    daemon.terminate()
    daemon.wait()
    assert daemon.exit_status == Exited(0)
    assert daemon.stdout.decode().splitlines() == [
        "worker 1001 job 0 result 0", "job 0 worker 1001 exit 0",
        "worker 1002 job 1 result 1", "job 1 worker 1002 exit 1",
        "idle", "idle", "bye"]


def test_killed_daemon_ran_its_jobs(simhost):
    daemon = spawn(simhost, "3")
    simhost.run_for(1)
    daemon.send_signal(signal.SIGKILL)
    daemon.wait()
    assert daemon.exit_status == Signaled(signal.SIGKILL)
    assert daemon.stdout.decode().splitlines()[-1] == "job 2 worker 1003 exit 0"
