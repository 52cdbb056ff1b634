"""The host's outsider (ProcessTable.add_outsider): drop-in mode's test process, a
non-init parent outside the traced set, under its own pid. Its programs are its
children, it reaps them itself, orphans go to init, its pid is never handed out."""

import errno

import pytest

from pytest_simproc.kernel import Exited, KernelError, ProcessTable
from pytest_simproc.kernel.exits import exit_signals
from pytest_simproc.kernel.sigstate import kill_targets


@pytest.fixture
def table():
    t = ProcessTable()
    t.add_outsider(4242, ["python", "-m", "pytest"], "python", 0)
    return t


def test_the_outsider_is_inits_child_in_its_group(table):
    me = table.outsider
    assert (me.pid, me.ppid, me.pgid, me.sid) == (4242, 1, 1, 1)
    assert table.init.children == [4242] and table.is_outsider(4242)
    assert not table.is_outsider(1) and not ProcessTable().is_outsider(4242)
    # neither run by the host nor counted as its processes
    assert table.live() == [] and table.processes() == [] and table.process_count() == 0
    assert table.get(4242) is me and table.lookup_any(4242) is me


def test_spawned_programs_are_the_outsiders_children(table):
    p = table.spawn(["sleep", "1"], "sleep", 5)
    assert (p.pid, p.ppid, p.pgid, p.sid) == (1000, 4242, 1, 1)
    assert table.outsider.children == [1000] and table.init.children == [4242]
    child = table.fork(p.pid, 6)
    assert child.ppid == 1000
    table.forget_spawn(table.spawn(["x"], "x", 7).pid)   # a spawn that failed
    assert table.outsider.children == [1000]


def test_the_outsiders_child_is_its_zombie_until_it_reaps_it(table):
    p = table.spawn(["true"], "true", 0)
    result = table.exit(p.pid, Exited(0), 1)
    # not init's to reap: a zombie of the outsider, whose exit signal is for it
    assert p.state == "zombie" and result.reaped_by_init == [] and table.zombies() == [p]
    assert result.parent_pid == 4242 and table.outsider.children == [p.pid]
    assert [s.pid for s in exit_signals(table, result, Exited(0), 17)] == [4242]
    assert 1000 in table and table.spawn(["b"], "b", 2).pid == 1001
    table.reap(p.pid, 4242)
    assert p.state == "reaped" and p.reaped_by == 4242 and table.outsider.children == [1001]


def test_orphans_go_to_init(table):
    p = table.spawn(["sh"], "sh", 0)
    grandchild = table.fork(p.pid, 1)
    result = table.exit(p.pid, Exited(0), 2)
    assert grandchild.ppid == 1 and result.new_parent_of == {grandchild.pid: 1}
    assert grandchild.pid in table.init.children


def test_the_outsiders_pid_is_never_handed_out():
    t = ProcessTable(first_pid=1000)
    t.add_outsider(1001, ["python"], "python", 0)
    assert [t.spawn(["a"], "a", 0).pid for _ in range(3)] == [1000, 1002, 1003]


def test_the_outsider_neither_ends_nor_stops_nor_is_reaped(table):
    with pytest.raises(KernelError) as err:
        table.exit(4242, Exited(0), 1)
    assert err.value.errno == errno.EPERM
    with pytest.raises(KernelError):
        table.reap(4242, 1)
    assert table.stop(4242, 19) is False


@pytest.mark.parametrize("pid", [1, 1000, 0])
def test_a_pid_the_outsider_cannot_have(pid):
    t = ProcessTable()
    t.spawn(["a"], "a", 0)
    with pytest.raises(KernelError) as err:
        t.add_outsider(pid, ["python"], "python", 0)
    assert err.value.errno == errno.EINVAL and t.outsider is None


def test_kill_reaches_the_outsider_in_its_group_not_all(table):
    p = table.spawn(["sh"], "sh", 0)
    assert kill_targets(table, p.pid, 4242) == [table.outsider]
    assert table.outsider in kill_targets(table, p.pid, 0)        # group 1
    assert kill_targets(table, p.pid, -1) == []                   # all but init, me
