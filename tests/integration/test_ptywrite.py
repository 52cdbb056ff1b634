"""The writes to a pty that the host still decides, now that the others are decided
on one look (syscalls/io.py quick_write): a writer the terminal makes wait and the
writes to a hung-up terminal, natively and in a host (tests/programs/ptywrite.c).
A background writer's SIGTTOU with TOSTOP is test_jobctl's (calls, ttou, orphan)."""
import pytest

from .conftest import same_as_native

EXPECTED = {
    ("blocked", "cooked"):
        b"writer: every write whole, reader: 65000 bytes, lines whole and in order\n",
    ("blocked", "raw"):
        b"writer: every write whole, reader: 64000 bytes, lines whole and in order\n",
    ("hungup",): b"leader: SIGHUP 1, write EIO\ndriver: write EIO, leader exited 0\n",
}


@pytest.mark.parametrize("mode", sorted(EXPECTED), ids=" ".join)
def test_ptywrite_same_as_native(build, mode):
    report = same_as_native([build("ptywrite"), *mode], EXPECTED[mode])
    assert not report["host"]["refused"], report["host"]
