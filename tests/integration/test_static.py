"""Statically linked programs (no dynamic loader, glibc's static start-up) behave in the
host exactly like their dynamically linked builds."""
from __future__ import annotations

import os
import struct

from pytest_simproc import Exited, SimHost

PT_INTERP = 3


def has_interpreter(path: str) -> bool:
    """True when the ELF file has a PT_INTERP program header (is dynamically linked)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 2, "expected a 64-bit ELF file"
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    return any(struct.unpack_from("<I", data, phoff + i * phentsize)[0] == PT_INTERP
               for i in range(phnum))


def run_once(prog):
    with SimHost() as host:
        p = host.spawn([prog])
        host.run()
        table = sorted((q.pid, q.ppid, q.state, repr(q.exit_status), q.reaped_by)
                       for q in host.processes() if q.pid != 1)
        return p.stdout, p.exit_status, table


def test_static_builds_are_static(build):
    assert has_interpreter(build("ids"))
    assert not has_interpreter(build("ids", static=True))
    assert not has_interpreter(build("forktree", static=True))


def test_static_ids_native(build, native):
    res = native([build("ids", static=True)])
    assert res.returncode == 0
    pid, ppid, _, _, tid = map(int, res.stdout.split())
    assert pid == tid == res.pid


def test_static_forktree_native(build, native, forktree_checker):
    res = native([build("forktree", static=True)])
    assert res.returncode == 0
    forktree_checker(res.stdout, root_ppid=os.getpid())


def test_static_ids_in_host(build):
    stdout, status, table = run_once(build("ids", static=True))
    assert stdout == b"1000 1 1 1 1000\n"
    assert status == Exited(0)
    dyn_stdout, _, dyn_table = run_once(build("ids"))
    assert stdout == dyn_stdout
    assert table == dyn_table


def test_static_forktree_in_host(build, forktree_checker):
    static = build("forktree", static=True)
    out1, status, table = run_once(static)
    assert status == Exited(0)
    procs = forktree_checker(out1, root_ppid=1)
    assert sorted(procs) == list(range(1000, 1011))
    out2, _, table2 = run_once(static)
    assert out1 == out2 and table == table2          # deterministic, static too
    dyn_out, dyn_status, dyn_table = run_once(build("forktree"))
    assert dyn_status == status
    forktree_checker(dyn_out, root_ppid=1)
    # same outcomes as the dynamic build: every process reaped by its parent, with the
    # same multiset of exit statuses
    for pid, ppid, state, _, reaped_by in table:
        assert state == "reaped" and reaped_by == ppid, (pid, ppid, state, reaped_by)
    assert sorted((state, st) for _, _, state, st, _ in table) == \
        sorted((state, st) for _, _, state, st, _ in dyn_table)
    assert len(out1) == len(dyn_out)   # same lines, pids all four digits
