"""adjtimex(2) and clock_adjtime(2) on the host's clock (kernel/ntp.py): they were
ENOSYS in a host. The refusals are compared with a native run (nothing there can
change the machine's clock); leap seconds are run in a host only, against what
adjtimex(2) says: a native run would insert a real one."""
from __future__ import annotations

import os

import pytest

from pytest_simproc import Exited, SimHost

from .conftest import same_as_native

ERRORS = b"""\
read: state valid 1, precision 1, tolerance 32768000, time is the realtime 1
state says unsynchronized: 1
clock_adjtime(REALTIME) read: ok
clock_adjtime(MONOTONIC): EOPNOTSUPP
clock_adjtime(BOOTTIME): EOPNOTSUPP
clock_adjtime(TAI): EOPNOTSUPP
clock_adjtime(PROCESS_CPUTIME_ID): EOPNOTSUPP
clock_adjtime(10): EINVAL
clock_adjtime(12): EINVAL
clock_adjtime(MONOTONIC, NULL): EFAULT
clock_adjtime(10, NULL): EFAULT
clock_adjtime(REALTIME, NULL): EFAULT
adjtimex(NULL): EFAULT
adjtimex(read-only): EFAULT
ADJ_TICK 5000: EINVAL
ADJ_TICK 12000: EINVAL
ADJ_SETOFFSET usec -1: EINVAL
ADJ_SETOFFSET usec 1000000: EINVAL
ADJ_SETOFFSET|ADJ_NANO nsec 1e9: EINVAL
ADJ_FREQUENCY LLONG_MAX: EINVAL
ADJ_ADJTIME alone: EINVAL, tai left 0
ADJ_ADJTIME|ADJ_OFFSET_READONLY: EINVAL
nobody: read ok
nobody: ADJ_OFFSET_SS_READ ok
nobody: ADJ_STATUS EPERM
nobody: ADJ_OFFSET_SINGLESHOT EPERM
nobody: ADJ_SETOFFSET EPERM
nobody: ADJ_TAI EPERM
nobody: adjtime(3) EPERM
nobody: bad ADJ_TICK EPERM
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the unprivileged half needs setresuid")
def test_reads_and_refusals_as_natively(build):
    report = same_as_native([build("adjtimex"), "errors"], ERRORS)
    assert report["host"]["unsupported_syscalls"] == []


# adjtimex(2): a fresh kernel's clock is unsynchronized (STA_UNSYNC: TIME_ERROR) with
# the maximum error at its limit, which each second's tick passes again; STA_INS and
# STA_DEL arm a leap second at the next UTC midnight from the next tick on (TIME_INS,
# TIME_DEL): 23:59:59 repeats (TIME_OOP, TAI one second further from UTC) or is
# skipped, then TIME_WAIT until the bit is cleared and a tick passes; an absolute
# realtime sleep to midnight ends at the midnight after the repeated second, while
# CLOCK_TAI runs on without a repeat (its sleeps and timers last what they said).
LEAP = b"""\
at start               00:00:00.000 TIME_ERROR tai 0 (CLOCK_TAI +0 s) status 0x40
PLL reset              23:59:58.500 TIME_OK   tai 0 (CLOCK_TAI +0 s) status 0
STA_INS armed          23:59:58.500 TIME_OK   tai 0 (CLOCK_TAI +0 s) status 0x10
one second on          23:59:59.500 TIME_ERROR tai 0 (CLOCK_TAI +0 s) status 0x50
one second on          23:59:59.500 TIME_ERROR tai 1 (CLOCK_TAI +1 s) status 0x50
one second on          00:00:00.500 TIME_ERROR tai 1 (CLOCK_TAI +1 s) status 0x50
one second on          00:00:01.500 TIME_ERROR tai 1 (CLOCK_TAI +1 s) status 0x50
STA_INS cleared        00:00:01.500 TIME_WAIT tai 1 (CLOCK_TAI +1 s) status 0
one second on          00:00:02.500 TIME_ERROR tai 1 (CLOCK_TAI +1 s) status 0x40
sleep to midnight across the leap: 0 after 3000 ms
woken                  00:00:00.000 TIME_ERROR tai 2 (CLOCK_TAI +2 s) status 0x50
cleared, one second on 00:00:01.000 TIME_ERROR tai 2 (CLOCK_TAI +2 s) status 0x40
TAI sleep 3 s across the leap: 0 after 3000 ms, TAI timer 4 s on due at 4000 ms
woken                  00:00:00.000 TIME_ERROR tai 3 (CLOCK_TAI +3 s) status 0x50
ADJ_SETOFFSET -3599.75 s: ok
stepped                23:00:01.250 TIME_ERROR tai 3 (CLOCK_TAI +3 s) status 0x2040
STA_DEL armed          23:59:57.500 TIME_OK   tai 3 (CLOCK_TAI +3 s) status 0x20
one second on          23:59:58.500 TIME_ERROR tai 3 (CLOCK_TAI +3 s) status 0x60
one second on          00:00:00.500 TIME_ERROR tai 2 (CLOCK_TAI +2 s) status 0x60
one second on          00:00:01.500 TIME_ERROR tai 2 (CLOCK_TAI +2 s) status 0x60
cleared, one second on 00:00:02.500 TIME_ERROR tai 2 (CLOCK_TAI +2 s) status 0x40
"""


def _in_host(build, mode: str, expected: bytes) -> None:
    with SimHost() as host:
        p = host.spawn([build("adjtimex"), mode])
        host.run()
        assert (p.exit_status, p.stderr) == (Exited(0), b"")
        assert p.stdout == expected


def test_leap_seconds_on_the_hosts_clock(build):
    """Never run natively: it sets the clock and inserts a leap second."""
    _in_host(build, "leap", LEAP)


# adjtime(3) slews the clock 500 us each second from the next whole second on
# (adjtimex(2) ADJ_OFFSET_SINGLESHOT), the last remainder at once; the PLL a part of its
# offset each second (1/64 with the constant 0 given in microseconds); ADJ_FREQUENCY at
# once. Sleeps last what they say on CLOCK_MONOTONIC and CLOCK_REALTIME, which the
# slew moves together: it shows against CLOCK_MONOTONIC_RAW, alike through the vDSO
# and the system call. A set of the clock drops what was left to slew.
SLEW = b"""\
at start                     realtime - raw +0 us (vDSO = syscall), adjtime left 0 us, offset 0 us, freq 0
adjtime +1 s                 realtime - raw +0 us (vDSO = syscall), adjtime left 1000000 us, offset 0 us, freq 0
10 s on                      realtime - raw +4497 us (vDSO = syscall), adjtime left 995000 us, offset 0 us, freq 0
  a 10 s sleep took 10000 ms of CLOCK_MONOTONIC and of CLOCK_REALTIME 10000 ms
adjtime -1 ms, 1.5 s on      realtime - raw +4747 us (vDSO = syscall), adjtime left -500 us, offset 0 us, freq 0
1 s on                       realtime - raw +4247 us (vDSO = syscall), adjtime left 0 us, offset 0 us, freq 0
1 s on                       realtime - raw +3997 us (vDSO = syscall), adjtime left 0 us, offset 0 us, freq 0
ADJ_OFFSET 2 ms: ok
PLL offset 2 ms              realtime - raw +3997 us (vDSO = syscall), adjtime left 0 us, offset 2000 us, freq 0
1 s on                       realtime - raw +4012 us (vDSO = syscall), adjtime left 0 us, offset 1968 us, freq 0
1 s on                       realtime - raw +4043 us (vDSO = syscall), adjtime left 0 us, offset 1937 us, freq 0
1 s on                       realtime - raw +4074 us (vDSO = syscall), adjtime left 0 us, offset 1907 us, freq 0
ADJ_FREQUENCY +100 ppm       realtime - raw +4074 us (vDSO = syscall), adjtime left 0 us, offset 1907 us, freq 6553600
10 s on                      realtime - raw +5354 us (vDSO = syscall), adjtime left 0 us, offset 1629 us, freq 6553600
adjtime +2 s, 2 s on, set    realtime - raw +0 us (vDSO = syscall), adjtime left 0 us, offset 0 us, freq 0
1 s on                       realtime - raw +0 us (vDSO = syscall), adjtime left 0 us, offset 0 us, freq 0
"""


def test_slewing_on_the_hosts_clock(build):
    """Never run natively: it slews the clock."""
    _in_host(build, "slew", SLEW)


# ADJ_TAI moves CLOCK_TAI (the kernel's clock_was_set on its timer base): a timer or a
# sleep until a TAI time, and a relative one on CLOCK_TAI (only a relative
# CLOCK_REALTIME one is on CLOCK_MONOTONIC), come that much sooner or later; realtime
# timers stay. +3 s after 1 s, -1 s after 2 s: 10 s become 8.
TAI = b"""\
ADJ_TAI 10: CLOCK_TAI - CLOCK_REALTIME 10 s (vDSO), 10 s (syscall)
1 s on, ADJ_TAI 13: TAI timer due in 6000 ms, realtime timer 9000 ms, relative TAI timer 6000 ms
1 s on, ADJ_TAI 12: TAI timer due in 6000 ms, realtime timer 8000 ms, relative TAI timer 6000 ms
child: relative TAI sleep 10 s on: 0 after 8000 ms
child: absolute TAI sleep 10 s on: 0 after 8000 ms
ADJ_TAI -1 ignored: tai 12
"""


def test_the_tai_offset_moves_tai_timers_and_sleeps(build):
    """Never run natively: it sets the machine's TAI offset."""
    _in_host(build, "tai", TAI)
