"""sysinfo(2) in a host: its uptime, loads and task count are the host's, as its
/proc/uptime and /proc/loadavg say; memory and swap are the machine's, as /proc/meminfo
(tests/programs/sysinfo.c)."""
from __future__ import annotations

from pytest_simproc import Exited, SimHost

from .conftest import same_as_native


def test_sysinfo_agrees_with_proc(build):
    # the uptime was the machine's (since its boot) while /proc/uptime was the host's
    same_as_native([build("sysinfo")], b"uptime as /proc/uptime: yes\n"
                   b"ram as /proc/meminfo: yes\nswap as /proc/meminfo: yes\n")


def test_sysinfo_uptime_load_and_tasks_are_the_hosts(build):
    with SimHost() as host:
        p = host.spawn([build("sysinfo"), "exact"])
        host.run()
        assert p.exit_status == Exited(0)
        # 2.5 virtual seconds since the host's boot, a minute before its start,
        # rounded up; init, the program and its child; a time namespace's
        # CLOCK_BOOTTIME offset moves the uptime of the processes inside
        assert p.stdout == (b"uptime 63 loads 0 0 0 procs 3\n"
                            b"in namespace uptime 163\n"
                            b"uptime 63 procs 2\n")
