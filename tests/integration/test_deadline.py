"""SCHED_DEADLINE in a host: the host pins each program to one CPU natively, which the
kernel's admission test refused (sched_setattr(2): EPERM, LTP sched_setattr01 and
sched_getattr01); a program that did not narrow its own affinity is unpinned for it,
and one that did is refused as natively."""
from __future__ import annotations

import os

import pytest

from .conftest import same_as_native

EXPECTED = b"""\
sched_setattr(DEADLINE) = 0 
sched_getattr = 0: policy 6 runtime 10000000 deadline 30000000 period 30000000
sched_setattr(OTHER) = 0, policy now 0
one CPU: sched_setattr(DEADLINE) = -1 EPERM
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_DEADLINE needs CAP_SYS_NICE")
def test_deadline_admitted_unless_the_program_narrowed_its_cpus(build):
    same_as_native([build("deadline")], EXPECTED)
