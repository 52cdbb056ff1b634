"""Nice values of the host's processes (kernel/nice.py): which processes a
getpriority(2)/setpriority(2) names, and what it may do to them."""
import errno

import pytest

from pytest_simproc.kernel import KernelError, ProcessTable
from pytest_simproc.kernel import nice
from pytest_simproc.kernel.nice import PRIO_PGRP, PRIO_PROCESS, PRIO_USER
from pytest_simproc.kernel.rlimits import RLIMIT_NICE

ROOT, USER = (0, 0), (1000, 1000)


def host():
    """init (root's), a program 1000 of USER's and its children 1001 (own group) and
    1002; ``owners``: pid -> (uid, euid)."""
    table = ProcessTable()
    first = table.spawn(["sh"], "sh", 0)
    a = table.fork(first.pid, 0)
    table.setpgid(a.pid, a.pid, a.pid)
    b = table.fork(first.pid, 0)
    owners = {1: ROOT, first.pid: USER, a.pid: USER, b.pid: USER}
    return table, (first, a, b), lambda p: owners.get(p.pid)


def names(table, caller, which, who, owner):
    return [p.pid for p in nice.targets(table, caller, which, who, owner)]


def test_targets():
    table, (first, a, b), owner = host()
    assert names(table, first, PRIO_PROCESS, 0, owner) == [1000]
    assert names(table, first, PRIO_PROCESS, 1001, owner) == [1001]
    assert names(table, first, PRIO_PROCESS, -1, owner) == []
    assert names(table, first, PRIO_PGRP, 0, owner) == [1, 1000, 1002]  # init's group
    assert names(table, first, PRIO_PGRP, 1001, owner) == [1001]
    assert names(table, first, PRIO_PGRP, -1, owner) == []
    assert names(table, first, PRIO_USER, 0, owner) == [1000, 1001, 1002]
    assert names(table, first, PRIO_USER, 0x100000000, owner) == [1]   # uid 0
    assert names(table, first, PRIO_USER, -1, owner) == []
    with pytest.raises(KernelError) as err:
        nice.targets(table, first, 3, 0, owner)
    assert err.value.errno == errno.EINVAL


def test_fork_inherits_and_get_gives_the_lowest():
    table, (first, a, b), owner = host()
    first.nice = 4
    c = table.fork(first.pid, 0)
    assert c.nice == 4
    a.nice = -3
    assert nice.get_priority([first, a, b]) == 23      # 20 - (-3)
    with pytest.raises(KernelError) as err:
        nice.get_priority([])
    assert err.value.errno == errno.ESRCH


def test_set_checks_each_target():
    table, (first, a, b), owner = host()
    nice.set_priority([first, a], 30, USER, False, owner)
    assert (first.nice, a.nice) == (19, 19)            # clamped
    # lowering needs RLIMIT_NICE's 20 - nice, or CAP_SYS_NICE
    with pytest.raises(KernelError) as err:
        nice.set_priority([a], 10, USER, False, owner)
    assert err.value.errno == errno.EACCES and a.nice == 19
    a.rlimits[RLIMIT_NICE] = (10, 10)
    nice.set_priority([a], 10, USER, False, owner)
    assert a.nice == 10
    with pytest.raises(KernelError) as err:
        nice.set_priority([a], 9, USER, False, owner)
    assert err.value.errno == errno.EACCES
    nice.set_priority([a], -20, ROOT, True, owner)
    assert a.nice == -20
    # another user's process: EPERM, the others are still set, the last error is given
    init = table.init
    with pytest.raises(KernelError) as err:
        nice.set_priority([init, b], 5, USER, False, owner)
    assert err.value.errno == errno.EPERM and (init.nice, b.nice) == (0, 5)
    with pytest.raises(KernelError) as err:
        nice.set_priority([b, init], 6, USER, False, owner)
    assert err.value.errno == errno.EPERM and b.nice == 6
    nice.set_priority([init], 3, USER, True, owner)    # CAP_SYS_NICE
    assert init.nice == 3
    with pytest.raises(KernelError) as err:
        nice.set_priority([], 0, ROOT, True, owner)
    assert err.value.errno == errno.ESRCH


def test_effective_uid_matches_either_id():
    table, (first, a, b), _ = host()
    owners = {a.pid: (1000, 2000)}
    nice.set_priority([a], 5, (3000, 2000), False, lambda p: owners.get(p.pid))
    assert a.nice == 5
