"""What a set of CLOCK_REALTIME moves: absolute realtime sleeps only, not relative
realtime sleeps nor absolute sleeps on CLOCK_MONOTONIC or CLOCK_BOOTTIME
(clock_settime(2), clock_nanosleep(2); tests/programs/clock_set_sleeps.c). Host only:
natively the program would set the machine's clock."""
from __future__ import annotations

import os

import pytest

from pytest_simproc import Exited, SimHost


@pytest.mark.skipif(os.geteuid() != 0, reason="setting the clock needs CAP_SYS_TIME, "
                    "which the host reads natively")
@pytest.mark.parametrize("delta, realtime_sleep", [(-2, 7), (2, 3), (100, 2)])
def test_a_clock_set_moves_absolute_realtime_sleeps_only(build, delta, realtime_sleep):
    with SimHost() as host:
        p = host.spawn([build("clock_set_sleeps"), str(delta)])
        host.run()
        assert p.exit_status == Exited(0)
        lines = sorted(p.stdout.decode().splitlines())
        assert lines == ["absolute boottime: 0 after 5 s", "absolute monotonic: 0 after 5 s",
                         f"absolute realtime: 0 after {realtime_sleep} s",
                         "relative realtime: 0 after 5 s"]
