"""Waits for file locks (syscalls/locks.py): flock(2), fcntl(2) F_SETLKW and
F_OFD_SETLKW blocked natively, where the holder (another process of the host) never
ran to release the lock and the watchdog killed the waiter. They now wait in the host
until the holder unlocks, closes or exits, a handler interrupts them (EINTR, or a
restart after SA_RESTART), or F_SETLKW's deadlock check fails them (EDEADLK, printed
E#35); in virtual time, and in the strace log as one call "<unfinished ...>" then
"<... resumed>", as strace shows a call that waited. F_GETLK names the holder by its
pid in the host (it gave the native pid: LTP's fcntl14 and fcntl17)."""
from __future__ import annotations

import os
import re
import struct
from types import SimpleNamespace

from pytest_simproc import Exited, SimHost
from pytest_simproc.syscalls import locks
from pytest_simproc.syscalls.outcome import Block, Native

from .conftest import same_as_native

EXPECTED = b"""\
flock(LOCK_EX|LOCK_NB) while held = -1 EAGAIN
flock(LOCK_EX), the holder unlocks = 0, waited about 1 s: 1
child: exited 0
flock(LOCK_EX|LOCK_NB) while held = -1 EAGAIN
flock(LOCK_EX), the holder closes = 0, waited about 1 s: 1
child: exited 0
flock(LOCK_EX|LOCK_NB) while held = -1 EAGAIN
flock(LOCK_EX), the holder exits = 0, waited about 1 s: 1
child: exited 0
flock(LOCK_SH) beside a shared holder = 0, at once: 1
child: exited 0
F_SETLK(10-19) beside 0-9 = 0
F_SETLK(5-14) = -1 EAGAIN
F_GETLK(5-14): a write lock of 0-9 held by the child: 1
F_SETLKW(5-14), a handler runs = -1 EINTR, waited about 1 s: 1
F_SETLKW(5-14), an SA_RESTART handler runs = 0, waited about 3 s: 1
child: exited 0
F_SETLKW(byte 1) held by a waiter for mine = -1 E#35
child: F_SETLKW(byte 0) = 0
child: exited 0
F_OFD_SETLKW(whole file), the holder closes = 0, waited about 1 s: 1
child: exited 0
"""


def test_file_lock_waits_as_natively(build):
    report = same_as_native([build("filelocks")], EXPECTED)
    assert report["host"]["unsupported_syscalls"] == []


RELEASES = ("flock LOCK_UN", "flock LOCK_SH|LOCK_NB, from LOCK_EX",
            "close, flock's last descriptor", "F_SETLK F_UNLCK",
            "F_SETLK F_RDLCK, from F_WRLCK", "close of another descriptor, POSIX",
            "F_OFD_SETLK F_UNLCK", "close, OFD's last descriptor", "the holder killed")


def test_a_release_the_host_does_not_trap_wakes_the_waiter(build):
    """Each way of freeing a lock that runs natively without a stop (an unlock or
    downgrade through the non-waiting commands, close(2), the holder's death) wakes
    the parked waiter at the releaser's next stop: the waiter has the lock while the
    releaser still runs (it yields, never blocks), as natively. Before, the waiter
    slept until every process of the host waited (2 virtual seconds of yields)."""
    lines = [f"{release}: the waiter has the lock while the releaser runs: 1\nchild: exited 0\n"
             + ("child: signaled SIGKILL\n" if release == "the holder killed" else "")
             for release in RELEASES]
    expected = "".join(lines) + ("the holder's exit: the waiter has the lock while the "
                                 "releaser runs: 1\nchild: exited 0\nchild: exited 0\n")
    same_as_native([build("lockwake")], expected.encode())


def test_a_lock_wait_is_one_call_in_the_strace_log(build):
    with SimHost(strace="standard") as host:
        p = host.spawn([build("filelocks")])
        host.run()
        lines = host.strace_lines()
    assert p.exit_status == Exited(0)
    waits = [line for line in lines if re.match(r"\d+ +flock\(\d+, LOCK_EX <unfinished", line)]
    resumed = [line for line in lines if re.match(r"\d+ +<\.\.\. flock resumed>\) += 0$", line)]
    # the three waits of LOCK_EX, each begun once and resumed once; the program's own
    # LOCK_NB calls fail at once, as natively (the host's LOCK_NB is not in the log)
    assert len(waits) == len(resumed) == 3, lines
    assert sum("LOCK_EX|LOCK_NB) = -1 EAGAIN" in " ".join(line.split()) for line in lines) == 3
    # the deadlock is found at once, with the host's F_SETLK's result turned EDEADLK
    assert any(re.search(r"F_SETLKW, \{l_type=F_WRLCK, l_whence=SEEK_SET, l_start=1, "
                         r"l_len=1\}\) += -1 EDEADLK", line) for line in lines), lines
    # the F_SETLK and LOCK_NB calls the host made in their place are not the program's:
    # the log has the program's 8 F_SETLK calls, as strace -f shows natively
    assert sum("F_SETLK," in line for line in lines) == 8, lines


def _handled(cmd, kind, fd=3, dup=None, engine=None):
    """locks.setlkw at an entry stop, for a struct flock of ``kind`` over the whole file;
    ``dup``: the host's duplicate of the program's descriptor (a bad one: EBADF);
    ``engine``: its round of looks at parked waits (look_round)."""
    flock = struct.Struct("<hh4xqqi4x")

    def duplicate(_task, _fd):
        if dup is None:
            raise OSError(9, "no such descriptor")
        return os.dup(dup)
    engine = engine or SimpleNamespace(look_round=0)
    engine.dup_tracee_fd = duplicate
    ctx = SimpleNamespace(task=object(), engine=engine,
                          mem=SimpleNamespace(
                              read=lambda addr, size: flock.pack(kind, 0, 0, 0, 0)[:size]))
    return locks.setlkw(ctx, fd, cmd, 0x1000)


def test_an_unlock_through_the_waiting_commands_costs_no_exit_stop():
    """F_UNLCK never waits: F_SETLKW asking for it runs natively as it is, with no exit
    stop to look at the result; a lock still runs as F_SETLK, its result seen at the
    exit stop. (F_OFD_SETLKW is the host's, below; with a descriptor the host cannot
    take, the kernel answers it the same way.)"""
    for cmd, nonblocking in ((locks.F_SETLKW, locks.F_SETLK),
                             (locks.F_OFD_SETLKW, locks.F_OFD_SETLK)):
        unlock = _handled(cmd, locks.F_UNLCK)
        assert isinstance(unlock, Native) and unlock.on_exit is None and not unlock.regs
        lock = _handled(cmd, locks.F_WRLCK)
        assert lock.regs == {"rsi": nonblocking} and lock.on_exit is not None


def test_an_ofd_lock_is_taken_by_the_host_at_the_entry_stop(tmp_path):
    """F_OFD_SETLKW is answered at its entry stop by the host's F_OFD_SETLK on a
    duplicate of the descriptor, which shares the open file description that owns the
    lock: one stop a call and no native run (LTP's fcntl36 locks and unlocks so at
    every turn of its threads' loops). The lock is the description's: another
    description conflicts until it is unlocked, and the waiter parks (Block)."""
    path = tmp_path / "f"
    path.write_bytes(b"x")
    mine, other = os.open(path, os.O_RDWR), os.open(path, os.O_RDWR)
    try:
        assert _handled(locks.F_OFD_SETLKW, locks.F_WRLCK, dup=mine) == 0
        st = os.fstat(mine)
        where = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        assert [(kind, type_, pid) for kind, type_, pid, *_ in locks.lines_of(where)] == [
            ("OFDLCK", "WRITE", -1)]
        engine = SimpleNamespace(look_round=1)
        waits = _handled(locks.F_OFD_SETLKW, locks.F_WRLCK, dup=other, engine=engine)
        assert isinstance(waits, Block) and waits.ready_each_step and not waits.ready()
        assert _handled(locks.F_OFD_SETLKW, locks.F_UNLCK, dup=mine) == 0
        assert not waits.ready()   # /proc/locks is read once a round of the engine's looks
        engine.look_round += 1
        assert waits.ready() and locks.lines_of(where) == []
    finally:
        os.close(mine)
        os.close(other)


def test_a_posix_lock_nothing_conflicts_with_runs_as_it_is(tmp_path):
    """F_SETLKW that no lock conflicts with cannot wait: it runs natively as it is,
    with no exit stop. The host's F_GETLK and F_OFD_GETLK on its duplicate of the
    descriptor must both find nothing: an OFD lock of another description, or a POSIX
    lock of the host's own process (the test's, in drop-in mode, which its F_GETLK
    does not see), send the call the way that may wait (F_SETLK, its result looked at
    in the exit stop)."""
    import fcntl
    path = tmp_path / "f"
    path.write_bytes(b"x")
    mine, other = os.open(path, os.O_RDWR), os.open(path, os.O_RDWR)
    flock = struct.Struct("<hh4xqqi4x")
    try:
        free = _handled(locks.F_SETLKW, locks.F_WRLCK, dup=mine)
        assert isinstance(free, Native) and not free.regs and free.on_exit is None
        for take, drop in ((locks.F_OFD_SETLK, locks.F_OFD_SETLK), (fcntl.F_SETLK, fcntl.F_SETLK)):
            fcntl.fcntl(other, take, flock.pack(locks.F_RDLCK, 0, 0, 0, 0))
            held = _handled(locks.F_SETLKW, locks.F_WRLCK, dup=mine)
            assert held.regs == {"rsi": locks.F_SETLK} and held.on_exit is not None
            fcntl.fcntl(other, drop, flock.pack(locks.F_UNLCK, 0, 0, 0, 0))
    finally:
        os.close(mine)
        os.close(other)
