"""A program's start-up costs virtual time and CPU (kernel/rusage.py's FORK_SYSTEM_NS,
EXEC_SYSTEM_NS, EXEC_USER_NS; README "The CPU model"), as on a machine, while a
spawned program still starts at the host's first instant."""
from __future__ import annotations

import os

from pytest_simproc import Exited, SimHost
from pytest_simproc.kernel.rusage import EXEC_SYSTEM_NS, EXEC_USER_NS, FORK_SYSTEM_NS

from .conftest import START, same_as_native

EXEC_NS = EXEC_SYSTEM_NS + EXEC_USER_NS


def test_an_exec_d_program_starts_late_and_has_used_cpu(build):
    same_as_native([build("exec_cost")], b"start_late yes\nstart_cpu yes\n")


def test_a_shell_s_sleep_then_touch_is_late_by_two_start_ups(tool, clean_env, tmp_path):
    # mirakuru's PidExecutor test: `sleep 1 && touch F` with a 1 s timeout; at exactly
    # 1 s the file is not there yet, as natively (issue 13)
    bash, touch = tool("bash"), tool("touch")
    tool("sleep")
    flag = tmp_path / "F"
    with SimHost() as host:
        p = host.spawn([bash, "-c", f"sleep 1 && {touch} {flag}"], env=clean_env)
        host.run_for(1.0)
        assert not flag.exists()
        host.run()
        assert p.exit_status == Exited(0) and flag.exists()
        # sleep's and touch's forks and start-ups, and bash's calls between them
        late_ns = round((host.now - START - 1) * 1e9)
        assert 2 * (FORK_SYSTEM_NS + EXEC_NS) <= late_ns < 2 * (FORK_SYSTEM_NS + EXEC_NS) + 10**6


def test_a_spawned_program_starts_at_the_host_s_first_instant(tool):
    # the spawn's own exec is the harness's: a program reading the clock at once sees
    # start_time exactly (SPEC: a program that mostly sleeps sees exact times)
    with SimHost() as host:
        p = host.spawn([tool("date"), "+%s.%N"])
        host.run()
        assert p.stdout == b"%d.000000000\n" % START
