"""Hostile /proc paths (syscalls/procfs.py's resolve): any string a program passes is
read lexically as the kernel's path walk would (each component looked up where it stands),
names only the host's pids, and never raises. No tracee: the
caller and the host are stand-ins with the fields the resolver reads."""
from __future__ import annotations

import errno
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_simproc.kernel import ProcessTable
from pytest_simproc.procview import ProcView
from pytest_simproc.syscalls.procfs import Target, resolve

# the caller is 1000 (native 50000), its child 1001 (native 50001) with thread 1002
# (native 50002); 777 is nobody's
NAMES = [b"proc", b"self", b"thread-self", b"..", b".", b"", b"1000", b"1001", b"1002",
         b"777", b"50001", b"task", b"stat", b"0", b"01001", b"+1001", b"x" * 300]


def _ctx():
    table = ProcessTable()
    me = table.spawn(["me"], "me", 0)
    kid = table.fork(me.pid, 0)
    thread_tid = table.allocate_tid()
    def task(tid, native, proc, tgid):
        return SimpleNamespace(tid=tid, native=native, tgid_native=tgid, proc=proc,
                               exiting=False, gone=False, block=None, native_parked=False)
    t_me = task(me.pid, 50000, me, 50000)
    t_kid = task(kid.pid, 50001, kid, 50001)
    t_thread = task(thread_tid, 50002, kid, 50001)
    by_tid = {t.tid: t for t in (t_me, t_kid, t_thread)}
    natives = {me.pid: 50000, kid.pid: 50001}
    engine = SimpleNamespace(
        table=table, tasks_by_tid=by_tid, tasks={t.native: t for t in by_tid.values()},
        info={me.pid: SimpleNamespace(tasks=[t_me], native=50000),
              kid.pid: SimpleNamespace(tasks=[t_kid, t_thread], native=50001)},
        native_pid_of=natives.get, start_time_ns=0)
    engine.procview = ProcView(engine)
    return SimpleNamespace(engine=engine, table=table, task=t_me, proc=me)


CTX = _ctx()


def _is_pid(name: bytes) -> bool:
    return name.isdigit() and name[:1] != b"0"


# a thread's own directory lists its whole group, as the leader's
TIDS = {1: [1], 1000: [1000], 1001: [1001, 1002], 1002: [1001, 1002]}
NATIVE = {50001: 1001, 50002: 1002}


def _expected(path: bytes):
    """The kernel's walk, for a path without self and thread-self: each component
    looked up where it stands (an unknown pid is ENOENT even if ".." leaves it next)."""
    stack = []
    for name in path.split(b"/"):
        if name == b"..":
            stack = stack[:-1]
            continue
        if name in (b"", b"."):
            continue
        if stack == [b"proc"] and _is_pid(name):
            n = NATIVE.get(int(name), int(name))
            if n not in TIDS:
                return -errno.ENOENT
            name = b"%d" % n
        elif (len(stack) == 3 and stack[0] == b"proc" and _is_pid(stack[1])
              and stack[2] == b"task" and _is_pid(name)):
            n = NATIVE.get(int(name), int(name))
            if n not in TIDS[int(stack[1])]:
                return -errno.ENOENT
            name = b"%d" % n
        stack.append(name)
    return stack if stack[:1] == [b"proc"] else None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(NAMES), max_size=8))
def test_absolute_paths_resolve_lexically_to_host_pids(names):
    path = b"/" + b"/".join(names)
    got = resolve(CTX, path, None)
    if b"proc" not in path:
        assert got is None
        return
    if b"self" in names or b"thread-self" in names or b"0" in names:
        # self names the caller; checked only for what it may give
        assert got is None or got == -errno.ENOENT or isinstance(got, Target)
        return
    expected = _expected(path)
    if isinstance(got, Target):
        got = got.comps
    assert got == expected, (path, got)


@given(st.binary(max_size=200))
def test_any_bytes_resolve_without_raising(path):
    got = resolve(CTX, b"/" + path, None)
    assert got is None or got == -errno.ENOENT or isinstance(got, Target)
    if isinstance(got, Target):
        assert got.comps[0] == b"proc"
        assert not {b"", b".", b".."} & set(got.comps)


def test_self_and_thread_self_are_the_callers():
    assert resolve(CTX, b"/proc/self/stat", None).comps == [b"proc", b"1000", b"stat"]
    got = resolve(CTX, b"/proc/thread-self", None)
    assert got.comps == [b"proc", b"1000", b"task", b"1000"] and got.link
    assert resolve(CTX, b"/proc/self/../1001/task/1002", None).comps == [
        b"proc", b"1001", b"task", b"1002"]
    assert resolve(CTX, b"/proc/1000/task/1002", None) == -errno.ENOENT
