"""Arguments the kernel gets as the program passed them, in memory the program cannot
write: the host survives them and answers as the kernel, natively and in a host the
same (each program runs once natively, once in a host, and the outputs must match).
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_simproc import Exited, SimHost

PROGRAMS_DIR = Path(__file__).resolve().parents[1] / "programs"


@pytest.fixture(scope="module")
def build(c_programs):
    return c_programs(PROGRAMS_DIR, "fuzz-programs")


def run_both(path: str, lines: list[str], tmp: Path) -> tuple[list[str], list[str]]:
    """The batch natively (stdin and stdout regular files, as in a host) and in a host."""
    script = ("\n".join(lines) + "\n").encode()
    (tmp / "in").write_bytes(script)
    with open(tmp / "in", "rb") as stdin, open(tmp / "out", "wb") as stdout:
        res = subprocess.run([path], stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                             timeout=60)
    assert (res.returncode, res.stderr) == (0, b""), "native run"
    native = (tmp / "out").read_text().splitlines()
    with SimHost(hostname="fuzz", watchdog_timeout=20) as host:
        proc = host.spawn([path], stdin=script)
        host.run()
        assert (proc.exit_status, proc.stderr) == (Exited(0), b""), "in host"
        simulated = proc.stdout.decode().splitlines()
    return native, simulated


READONLY_ARGS = """\
F_SETOWN_EX 0 0
owner is self 1
FIOSETOWN 0 0
owner is self 1
capset 0 0
clone3 1 0
clone3 reaped 1 exit 3
clone 1 0
clone reaped 1 exit 4
parent word 0
""".splitlines()


def test_read_only_arguments_the_host_rewrites(build, tmp_path):
    """The structures the host changes for the native call (an owner's pid, capset's
    pid, clone3's flags) in read-only memory: the kernel only reads them, so the calls
    work; clone's tid pointers at a read-only word are skipped, as by the kernel."""
    native, simulated = run_both(build("readonly_args"), [], tmp_path)
    assert native == READONLY_ARGS
    assert simulated == READONLY_ARGS
