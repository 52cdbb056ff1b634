"""vhangup(2) without a controlling terminal does nothing but check its capability:
the host refused it outright as a change of the machine (EPERM for root too, LTP
vhangup02); with a terminal of the host it is still refused (syscalls/machine.py)."""
from __future__ import annotations

import os

import pytest

from .conftest import same_as_native

EXPECTED = b"""\
root: vhangup() = 0 
nobody: vhangup() = -1 EPERM
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the privileged half needs root")
def test_vhangup_without_a_terminal_as_natively(build):
    report = same_as_native([build("vhangup")], EXPECTED)
    assert report["host"]["refused"] == []
