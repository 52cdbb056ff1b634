"""Time namespaces in a host (time_namespaces(7), kernel/timens.py): made with
unshare(2), entered by fork, exec and setns(2), their offsets written through
/proc/PID/timens_offsets and seen by every monotonic and boottime clock (the vDSO's
and the system call's), absolute sleeps and timers, and /proc/uptime."""
from __future__ import annotations

import pytest

from pytest_simproc import Exited, SimHost

from .conftest import run_native


def _native_or_skip(argv):
    res = run_native(argv)
    if res.returncode != 0 and b"unshare" in res.stdout:
        pytest.skip(f"time namespaces need CAP_SYS_ADMIN here: {res.stdout!r}")
    assert (res.returncode, res.stderr) == (0, b""), res.stdout
    return res.stdout


def _host_as_native(argv, expected: bytes) -> None:
    """The program prints in a host what it printed natively, and nothing is refused."""
    with SimHost() as host:
        p = host.spawn(argv)
        host.run()
        assert (p.exit_status, p.stderr) == (Exited(0), b"")
        assert p.stdout == expected
        assert host.report()["host"]["refused"] == []


def test_namespace_offsets_apply_as_natively(build):
    """unshare(CLONE_NEWTIME) was refused in a host. Now the offsets written take
    effect for the children and an exec'd program, with the kernel's errors (EINVAL,
    ERANGE, EACCES once a process entered, EACCES in the first namespace), and a
    child reads its namespace's time through the vDSO and the system call alike,
    sleeps and arms timers in its terms, and setns(2) takes it back; clone3's
    CLONE_NEWTIME makes a child a namespace of its own; without CAP_SYS_ADMIN,
    EPERM."""
    argv = [build("timens_apply")]
    expected = _native_or_skip(argv)
    assert b"child: MONOTONIC +1000 BOOTTIME +2000 RAW +1000 COARSE +1000\n" in expected
    _host_as_native(argv, expected)


def test_writes_are_looked_at_only_once_timens_offsets_is_opened(tool):
    """Every write(2) of a host paid a readlink of its descriptor once /proc/1 (init's
    rendered directory, timens_offsets among its files) had been read, as by `ps`;
    only a program's open of a timens_offsets turns the check on."""
    with SimHost() as host:
        host.spawn([tool("bash"), "-c", "cat /proc/1/stat /proc/1/status > /dev/null"])
        host.run()
        assert host._engine.timens.files_open is False
        p = host.spawn([tool("bash"), "-c", "cat /proc/self/timens_offsets"])
        host.run()
        assert p.stdout.startswith(b"monotonic ")
        assert host._engine.timens.files_open is True


def test_every_write_call_on_timens_offsets_as_natively(build):
    """The file took write(2) only: writev(2) wrote the rendered copy (every segment
    in one, nothing applied), pwrite(2), pwritev(2) and pwritev2(2) too, where the
    kernel refuses a seq_file's pwrite with ESPIPE and hands writev's segments to the
    file's write one by one; a write after the file was rendered again (by another
    open) was not recognized, nor a read-only descriptor refused (EBADF)."""
    argv = [build("timens_writes")]
    expected = _native_or_skip(argv)
    assert b"writev of two lines: 27 -> monotonic 1 0;boottime 2 500;" in expected
    _host_as_native(argv, expected)
