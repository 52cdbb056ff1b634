"""/proc/PID/stat of a process signalled in pause(2) shows it running (R) until it has
run its handler and sleeps again, as natively: kill(2) wakes it before returning. LTP
waits for its children that way (TST_PROCESS_STATE_WAIT, shmctl01). In a host the
state stayed S until the host saw the child leave pause, when it next ran: the parent
went on before the child had acted (tests/programs/pause_wake_state.c)."""
from __future__ import annotations

from .conftest import same_as_native

EXPECTED = b"each signal counted before the child sleeps again: 1\n"


def test_a_signalled_pauser_runs_until_it_sleeps_again(build):
    report = same_as_native([build("pause_wake_state")], EXPECTED)
    assert report["host"]["unsupported_syscalls"] == []
