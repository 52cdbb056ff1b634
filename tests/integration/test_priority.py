"""Nice values (getpriority(2), setpriority(2)) by process, group and user, the host's
(kernel/nice.py), against the same program run natively (tests/programs/priority.c)."""
from __future__ import annotations

import os

import pytest

from pytest_simproc import Exited, SimHost

from .conftest import same_as_native

PRIORITY_EXPECTED = b"""\
inherited yes
group 7 0
A 7
B 7
group 7
B 3 0
group lowest 3
raw group 17
stat priority 23 nice 3
B -25 0
B clamped -20
B 40 0
B clamped 19
stat priority 39 nice 19
sched_getattr 0
sched_getattr policy 0 nice 19
no process -1 ESRCH
no group -1 ESRCH
no group -1 ESRCH
no user -1 ESRCH
no user -1 ESRCH
which 3 -1 EINVAL
which -1 -1 EINVAL
user raise to 10 0
user raise to 11 0
user lower to 10 -1 EACCES
user own 11
user parent -1 EPERM
user init -1 EPERM
user root group -1 EPERM
user own user 12 0
D inherited 12
user own user 13 0
user D 13
user D 14 0
user own user 13
C exited 0
A exited 0
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the program sets nice values below 0 "
                    "and takes another uid: root only")
def test_priority_by_process_group_and_user(build):
    # PRIO_PGRP and PRIO_USER were refused with EPERM, and PRIO_PROCESS set the native
    # process's value, which the machine's RLIMIT_NICE and CAP_SYS_NICE judged
    same_as_native([build("priority")], PRIORITY_EXPECTED)


def test_renice_and_nice_show_in_ps(tool):
    # ps reads /proc/N/stat's nice field, the host's value
    sh, renice, nice, ps = (tool(name) for name in ("sh", "renice", "nice", "ps"))
    with SimHost() as host:
        p = host.spawn([sh, "-c", f"sleep 5 & {renice} -n 7 -p $! >/dev/null; "
                        f"{nice} -n 3 {ps} -o pid=,ni=,comm=; kill $!"])
        host.run()
        assert p.exit_status == Exited(0)
        rows = [line.split() for line in p.stdout.decode().splitlines()]
        assert ["1001", "7", "sleep"] in rows and ["1003", "3", "ps"] in rows, rows
