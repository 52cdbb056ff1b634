"""CLOCK_MONOTONIC and CLOCK_BOOTTIME count from the host's boot, a minute before its
start, as on a machine they count from the machine's: programs mix them with
/proc/uptime and /proc/stat's btime, and sleep, arm timers and wait on condition
variables until times of them (tests/programs/boot_clocks.c)."""
from __future__ import annotations

import os

from pytest_simproc import Exited, SimHost

from .conftest import same_as_native

RELATIONS = (b"uptime: yes\nmonotonic: yes\nboottime: yes\nrealtime: yes\nbtime: yes\n"
             b"abs sleep: yes\ntimerfd: yes\ntimer: yes\ncond: yes\n"
             + (b"timens: yes\n" if os.geteuid() == 0 else b"timens: skipped\n"))


def test_boot_clocks_relate_as_natively(build):
    # in a host every clock read the epoch's time: the monotonic ones were far from
    # /proc/uptime, a sleep until uptime + 0.2 s on CLOCK_BOOTTIME ended at once, and
    # a condition variable's monotonic deadline was taken for the epoch's; a time
    # namespace took an offset that put its CLOCK_MONOTONIC before the boot
    same_as_native([build("boot_clocks")], RELATIONS)


def test_boot_clocks_values_in_a_host(build):
    """The exact values: the host's first instant is 60 s after its boot; the sleeps,
    the timerfd and the condition variable end at their times exactly."""
    with SimHost(start_time=1_700_000_000) as host:
        p = host.spawn([build("boot_clocks"), "-v"])
        host.run()
    assert p.exit_status == Exited(0), p.stderr
    lines = p.stdout.decode().splitlines()
    values = dict(line.strip().rsplit(" ", 1) for line in lines if line.startswith("  "))
    assert values["uptime"] == "60.000000000"
    assert values["monotonic"] == values["boottime"] == values["monotonic_raw"]
    up = float(values["monotonic"])
    assert 60.0 <= up < 60.01
    assert float(values["realtime"]) - up == 1_700_000_000 - 60
    assert values["btime"] == "1699999940.000000000"
    assert values["abs sleep took"].startswith("0.2")   # to /proc/uptime's centisecond
    assert values["timerfd left"] == "0.100000000" and values["timerfd late by"] == "0.000000000"
    assert values["timer left"].startswith("0.99") or values["timer left"] == "1.000000000"
    assert values["cond late by"] == "0.000000000"
    assert b"".join(line.encode() + b"\n" for line in lines if not line.startswith("  ")) \
        == RELATIONS
