"""Fork, exit, zombies, reaping, reparenting (tests/programs/forktree.c, zombie.c,
subreaper.c, vfork_exec.c)."""
from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from pytest_simproc import Exited, SimHost
from pytest_simproc.errors import SimTimeoutExpired

from .conftest import same_as_native

START = 946684800


def run_in_host(argv, **host_kwargs):
    """Run one program to completion; return (stdout, exit_status, table, zombie pids),
    all read before the host is torn down."""
    with SimHost(**host_kwargs) as host:
        p = host.spawn([str(a) for a in argv])
        host.run()
        table = {q.pid: (q.ppid, q.state, q.exit_status, q.reaped_by)
                 for q in host.processes() if q.pid != 1}
        zombies = [z.pid for z in host.zombies()]
        return p.stdout, p.exit_status, table, zombies


# --------------------------------------------------------------------------- forktree

def test_forktree_native(build, native, forktree_checker):
    res = native([build("forktree")])
    assert res.returncode == 0, res.stderr
    procs = forktree_checker(res.stdout, root_ppid=os.getpid())
    assert res.pid in procs and procs[res.pid][1] == 0


def test_forktree_in_host_is_deterministic(build, forktree_checker):
    prog = build("forktree")
    outputs = []
    for _ in range(3):
        stdout, status, table, zombies = run_in_host([prog], seed=0)
        assert status == Exited(0)
        outputs.append(stdout)
        procs = forktree_checker(stdout, root_ppid=1)
        assert sorted(procs) == list(range(1000, 1011))
        assert procs[1000] == (1, 0)
        assert sorted(table) == list(range(1000, 1011))
        for pid, (ppid, depth) in procs.items():
            t_ppid, state, status, reaped_by = table[pid]
            assert state == "reaped", (pid, table[pid])
            assert status == Exited(0 if depth == 0 else 10 + depth), (pid, table[pid])
            assert reaped_by == ppid, (pid, table[pid])   # the parent waited for it
        assert zombies == []
    assert outputs[0] == outputs[1] == outputs[2]


@pytest.mark.parametrize("seed", [1, 2])
def test_forktree_in_host_other_seeds(build, forktree_checker, seed):
    stdout, status, table, zombies = run_in_host([build("forktree")], seed=seed)
    assert status == Exited(0)
    procs = forktree_checker(stdout, root_ppid=1)
    assert sorted(procs) == list(range(1000, 1011))
    assert zombies == []
    assert all(state == "reaped" for _, state, _, _ in table.values())


# ----------------------------------------------------------------------------- zombie

def _proc_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def test_zombie_native(build):
    proc = subprocess.Popen([build("zombie"), "0.3"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        first = proc.stdout.readline()
        m = re.fullmatch(rb"child (\d+)\n", first)
        assert m, first
        child = int(m.group(1))
        # the child exits at once and its parent does not wait: it must become a zombie
        deadline = time.monotonic() + 5
        state = _proc_state(child)
        while state != "Z" and time.monotonic() < deadline:
            time.sleep(0.005)
            state = _proc_state(child)
        assert state == "Z"
        assert proc.poll() is None  # the parent is still sleeping
        rest = proc.stdout.read()
        assert proc.wait(timeout=10) == 0
        assert rest == f"parent {proc.pid} slept\n".encode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_zombie_in_host(build):
    with SimHost() as host:
        parent = host.spawn([build("zombie"), "10"])
        host.run_for(5)
        assert host.now == START + 5
        assert parent.state == "running"
        assert [z.pid for z in host.zombies()] == [1001]
        child = host.process(1001)
        assert child.state == "zombie"
        assert child.ppid == 1000
        assert child.exit_status == Exited(7)
        assert child.returncode == 7
        assert child.reaped_by is None
        assert [c.pid for c in parent.children()] == [1001]
        with pytest.raises(SimTimeoutExpired):
            parent.wait(timeout=1)
        assert host.now == START + 6
        assert child.state == "zombie"
        assert parent.wait() == Exited(0)
        host.run()
        assert host.now == START + 10
        assert parent.stdout == b"child 1001\nparent 1000 slept\n"
        assert parent.reaped_by == 1
        # orphaned zombie: reparented to init, which reaps it
        assert child.state == "reaped"
        assert child.reaped_by == 1
        assert child.exit_status == Exited(7)
        assert not host.zombies()


# -------------------------------------------------------------------------- subreaper

SUBREAPER_RE = re.compile(
    rb"set_child_subreaper 0\n"
    rb"get_child_subreaper 1\n"
    rb"subreaper (?P<sub>\d+)\n"
    rb"middle (?P<mid>\d+) ppid (?P=sub) grandchild (?P<gc>\d+)\n"
    rb"reaped (?P=mid) exited 5\n"
    rb"grandchild (?P=gc) ppid (?P<gcppid>\d+)\n"
    rb"reaped (?P=gc) exited 3\n"
    rb"wait4 ECHILD\n")


def test_subreaper_native(build, native):
    res = native([build("subreaper"), "0.2"])
    assert res.returncode == 0, res.stderr
    m = SUBREAPER_RE.fullmatch(res.stdout)
    assert m, res.stdout.decode()
    assert int(m["sub"]) == res.pid
    # the orphaned grandchild was reparented to the subreaper, not to init
    assert int(m["gcppid"]) == int(m["sub"])


def test_subreaper_in_host(build):
    with SimHost() as host:
        p = host.spawn([build("subreaper")])
        host.run()
        assert p.exit_status == Exited(0)
        assert p.stdout == (b"set_child_subreaper 0\n"
                            b"get_child_subreaper 1\n"
                            b"subreaper 1000\n"
                            b"middle 1001 ppid 1000 grandchild 1002\n"
                            b"reaped 1001 exited 5\n"
                            b"grandchild 1002 ppid 1000\n"
                            b"reaped 1002 exited 3\n"
                            b"wait4 ECHILD\n")
        assert host.now == START + 1
        middle, grandchild = host.process(1001), host.process(1002)
        assert middle.exit_status == Exited(5) and middle.reaped_by == 1000
        assert grandchild.exit_status == Exited(3) and grandchild.reaped_by == 1000
        assert grandchild.ppid == 1000
        assert middle.state == grandchild.state == p.state == "reaped"
        assert p.reaped_by == 1


# ----------------------------------------------------------------- vfork, posix_spawn

VFORK_EXPECTED = (b"vfork_exec_true exited 0 same-pid\n"
                  b"vfork_exec_missing exited 127 same-pid\n"
                  b"spawned\n"
                  b"posix_spawn_echo 0 exited 0 same-pid\n"
                  b"posix_spawn_missing ENOENT\n")


def _need_bins():
    for path in ("/bin/true", "/bin/echo"):
        if not os.access(path, os.X_OK):
            pytest.skip(f"{path} is not available")


def test_vfork_exec_native(build, native):
    _need_bins()
    res = native([build("vfork_exec")])
    assert res.returncode == 0, res.stderr
    assert res.stdout == VFORK_EXPECTED


def test_vfork_exec_in_host(build):
    _need_bins()
    with SimHost() as host:
        p = host.spawn([build("vfork_exec")])
        host.run()
        assert p.exit_status == Exited(0)
        assert p.stdout == VFORK_EXPECTED
        kids = {q.pid: q for q in host.processes() if q.pid > 1000}
        assert sorted(kids) == [1001, 1002, 1003, 1004]
        assert list(kids[1001].argv) == ["true"]
        assert kids[1001].exit_status == Exited(0)
        assert kids[1002].exit_status == Exited(127)       # execve failed, _exit(127)
        assert list(kids[1003].argv) == ["echo", "spawned"]
        assert kids[1003].exit_status == Exited(0)
        assert kids[1004].exit_status == Exited(127)       # posix_spawn's failed child
        for q in kids.values():
            assert q.state == "reaped" and q.reaped_by == 1000, (q.pid, q.state, q.reaped_by)


FORK_REGS = b"fork child: kept\nfork parent: kept\nclone child: kept\nclone parent: kept\n"


def test_fork_keeps_argument_registers_on_both_sides(build):
    """The native clone runs with other flags (and fork as clone); the program's
    argument registers are back in the parent at the exit stop and in the child at its
    first stop, which are set without being read (the parent's, with 0 in rax)."""
    same_as_native([build("fork_regs")], FORK_REGS)


CLONE_SETTID = (b"child: CLONE_CHILD_SETTID word == getpid()\n"
                b"parent: CLONE_PARENT_SETTID word == clone's return\n")


def test_clone_settid_words_hold_virtual_ids(build):
    same_as_native([build("clone_settid")], CLONE_SETTID)


def test_fork_exit_and_wait_leave_no_garbage_cycles(build):
    """A tree of forks, exits and blocking waits leaves nothing that only the garbage
    collector frees (a blocking wait's retry was a closure naming itself, one cycle per
    wait), and keeps no dead task: the collections they caused cost a fork + exit +
    reap loop ~15 % of the tracer's CPU (benchmarks (c))."""
    import gc
    prog = build("forktree")
    with SimHost() as host:
        host.spawn([prog])
        gc.collect()
        gc.disable()
        try:
            host.run()
            found = gc.collect()
        finally:
            gc.enable()
        assert found == 0
        # and the records of the ended processes no longer hold their native tasks,
        # nor does anything else but the watchdog, which keeps the last one it watched
        # (host/threads.py); other tests' hosts may still have theirs
        from pytest_simproc.engine.records import Task
        records = host._engine.info.values()
        assert [info.tasks for info in records] == [[]] * len(records)
        natives = {info.native for info in records}
        assert len([o for o in gc.get_objects() if type(o) is Task and o.native in natives]) <= 1
