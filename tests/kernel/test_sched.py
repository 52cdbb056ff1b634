"""kernel/sched.py: the host's init as the scheduling calls' target (sched(7))."""
import errno

import pytest

from pytest_simproc.kernel import sched as s


@pytest.mark.parametrize("policy, priority, error", [
    (s.SCHED_OTHER, 0, 0), (s.SCHED_BATCH, 0, 0), (s.SCHED_IDLE, 0, 0),
    (s.SCHED_FIFO, 1, 0), (s.SCHED_RR, 99, 0),
    (s.SCHED_OTHER | s.SCHED_RESET_ON_FORK, 0, 0),
    (s.SCHED_OTHER, 1, errno.EINVAL), (s.SCHED_FIFO, 0, errno.EINVAL),
    (s.SCHED_RR, 100, errno.EINVAL), (99, 0, errno.EINVAL), (4, 0, errno.EINVAL),
    (s.SCHED_DEADLINE, 0, errno.EINVAL),
])
def test_setscheduler_values(policy, priority, error):
    assert s.setscheduler_error(policy, priority) == error


def test_only_root_ids_or_cap_sys_ptrace_read_init():
    assert s.may_read_init((0, 0, 0), (0, 0, 0), False)
    assert not s.may_read_init((1, 1, 1), (0, 0, 0), False)
    assert not s.may_read_init((0, 0, 0), (1, 1, 1), False)
    assert s.may_read_init((1, 1, 1), (1, 1, 1), True)
