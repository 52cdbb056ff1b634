"""Calls interrupted by a handler: what the program gets, and what the strace log
shows. The program gets EINTR, or the call goes on after an SA_RESTART handler where
signal(7) says it restarts: a FUTEX_WAIT without a timeout among them (it returned
EINTR in a host). The log shows what the kernel's call returned before the handler
ran, as strace does: "? ERESTARTSYS" for a call SA_RESTART restarts,
"? ERESTARTNOHAND" and "? ERESTART_RESTARTBLOCK" for others, "-1 EINTR" only where
the kernel returns EINTR itself (epoll_wait, semop); the log said "-1 EINTR" for
every one of them."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from pytest_simproc import Exited, SimHost

from .conftest import same_as_native

EXPECTED = b"""\
read = -1 EINTR
nanosleep = -1 EINTR
clock_nanosleep absolute = -1 EINTR
pause = -1 EINTR
poll = -1 EINTR
poll forever = -1 EINTR
select = -1 EINTR
epoll_wait = -1 EINTR
futex = -1 EINTR
futex with a timeout = -1 EINTR
msgrcv = -1 EINTR
semop = -1 EINTR
wait4 = -1 EINTR
read, SA_RESTART = 1 
futex, SA_RESTART = 0 
wait4, SA_RESTART = 1 
nanosleep, SA_RESTART = -1 EINTR
"""

SYS = "? ERESTARTSYS (To be restarted if SA_RESTART is set)"
NOHAND = "? ERESTARTNOHAND (To be restarted if no handler)"
BLOCK = "? ERESTART_RESTARTBLOCK (Interrupted by signal)"
EINTR = "-1 EINTR (Interrupted system call)"
# each interrupted call of the program, in order, and its result as strace -f shows it
# natively (Linux 6.x)
SHOWN = [("read", SYS), ("clock_nanosleep", BLOCK), ("clock_nanosleep", NOHAND),
         ("pause", NOHAND), ("poll", BLOCK), ("poll", BLOCK), ("pselect6", NOHAND),
         ("epoll_wait", EINTR), ("futex", SYS), ("futex", BLOCK), ("msgrcv", NOHAND),
         ("semtimedop", EINTR), ("wait4", SYS), ("read", SYS), ("futex", SYS),
         ("wait4", SYS), ("clock_nanosleep", BLOCK)]


def test_interrupted_calls_return_as_natively(build):
    same_as_native([build("interrupted")], EXPECTED)


def test_the_log_shows_the_kernels_return_before_the_handler(build):
    with SimHost(strace="standard") as host:
        p = host.spawn([build("interrupted")])
        host.run()
        lines = [line for line in host.strace_lines() if line.startswith("1000 ")]
    assert p.exit_status == Exited(0)
    assert _interruptions(lines) == SHOWN


def _interruptions(lines) -> list:
    """(call, result) of each call whose line comes right before a SIGALRM's."""
    shown = []
    for i, line in enumerate(lines):
        if "--- SIGALRM" not in line:
            continue
        before = lines[i - 1].split(None, 1)[1] if lines[i - 1][:1].isdigit() else lines[i - 1]
        name = before[5:].split(" ")[0] if before.startswith("<... ") else before.split("(")[0]
        shown.append((name, re.split(r"\) += ", before)[-1]))
    return shown


def test_the_list_is_what_strace_shows_natively(build, tmp_path):
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    log = tmp_path / "log"
    res = subprocess.run([strace, "-o", str(log), build("interrupted")], capture_output=True,
                         timeout=60)
    if res.returncode != 0 and b"PTRACE_TRACEME" in res.stderr + log.read_bytes():
        pytest.skip("strace cannot trace here")
    assert res.stdout == EXPECTED
    # the calls before the SA_RESTART part wait for nothing but the alarm; in that
    # part a child's event 0.15 s after it may come first on a loaded machine
    assert _interruptions(log.read_text().splitlines())[:13] == SHOWN[:13]
