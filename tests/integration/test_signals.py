"""Signals: masks and pending sets, dispositions, stop/continue, SIGCHLD's siginfo,
auto-reaping, exec, PR_SET_PDEATHSIG, orphaned process groups, kill(-1), and a
signal-heavy ping-pong (tests/programs/sig_*.c).

Each program prints its observations symbolically ("child#1", "parent", "self", signal
and errno names), so the native run and the in-host run are compared byte for byte with
the same expected text: the native half proves the expectation is Linux's. The programs
synchronise through signals, sigsuspend and waits only (never pipes).
"""
from __future__ import annotations

import signal
import subprocess
import time

import pytest

from pytest_simproc import Exited, Signaled, SimHost

from .conftest import same_as_native

START = 946684800


def run_in_host(prog_argv, **host_options):
    """Run one program in a fresh host until everything ended; return (proc, kids, now)
    where kids maps pid -> SimProcess for every other process of the host."""
    with SimHost(**host_options) as host:
        p = host.spawn([str(a) for a in prog_argv])
        host.run()
        kids = {q.pid: q for q in host.processes() if q.pid != p.pid}
        assert not host.unsupported_syscalls, host.unsupported_syscalls
        return p, kids, host.now


def check_native(native, argv, expected: bytes, returncode: int = 0):
    res = native([str(a) for a in argv])
    assert res.stderr == b""
    assert res.stdout.decode() == expected.decode()
    assert res.returncode == returncode
    return res


# ---------------------------------------------------------------------------------------
# (1) mask, pending set, unblock order

SIG_ORDER_EXPECTED = b"""\
raised SIGUSR2 SIGRTMIN+1(7) SIGUSR1 SIGRTMIN(1) SIGURG SIGRTMIN(2) SIGUSR2 SIGUSR1(99) SIGRTMIN+1(8) SIGHUP SIGRTMIN(3)
handled_while_blocked 0
pending SIGHUP SIGUSR1 SIGUSR2 SIGURG SIGRTMIN SIGRTMIN+1
delivered 1 SIGHUP code=SI_USER pid=self
delivered 2 SIGUSR1 code=SI_USER pid=self
delivered 3 SIGUSR2 code=SI_USER pid=self
delivered 4 SIGRTMIN code=SI_QUEUE pid=self value=1
delivered 5 SIGRTMIN code=SI_QUEUE pid=self value=2
delivered 6 SIGRTMIN code=SI_QUEUE pid=self value=3
delivered 7 SIGRTMIN+1 code=SI_QUEUE pid=self value=7
delivered 8 SIGRTMIN+1 code=SI_QUEUE pid=self value=8
pending_after 0
done
"""


def test_sig_order_native(build, native):
    check_native(native, [build("sig_order")], SIG_ORDER_EXPECTED)


def test_sig_order_in_host(build):
    p, _, _ = run_in_host([build("sig_order")])
    assert p.stdout.decode() == SIG_ORDER_EXPECTED.decode()
    assert p.exit_status == Exited(0)


# ---------------------------------------------------------------------------------------
# (2) default action, SIG_IGN, handler, SA_RESETHAND, SA_SIGINFO

SIG_DISPOSITION_EXPECTED = b"""\
sig_dfl child#1 signaled SIGTERM
sig_ign child#2 exited 2
handler child#3 ran 1
handler child#3 exited 3
resethand child#4 ran 1 now SIG_DFL
resethand child#4 signaled SIGTERM
child#5 siginfo SIGTERM code=SI_USER pid=parent
child#5 siginfo SIGUSR2 code=SI_QUEUE pid=parent value=77
siginfo child#5 exited 5
kill 0 self siginfo SIGUSR2 code=SI_USER pid=self
tgkill 0 self siginfo SIGUSR2 code=SI_TKILL pid=self
raise 0 self siginfo SIGUSR2 code=SI_TKILL pid=self
sigqueue 0 self siginfo SIGUSR2 code=SI_QUEUE pid=self value=42
done
"""


def test_sig_disposition_native(build, native):
    check_native(native, [build("sig_disposition")], SIG_DISPOSITION_EXPECTED)


def test_sig_disposition_in_host(build):
    p, kids, _ = run_in_host([build("sig_disposition")])
    assert p.stdout.decode() == SIG_DISPOSITION_EXPECTED.decode()
    assert p.exit_status == Exited(0)
    assert {pid: q.exit_status for pid, q in kids.items()} == {
        1001: Signaled(signal.SIGTERM),
        1002: Exited(2),
        1003: Exited(3),
        1004: Signaled(signal.SIGTERM),
        1005: Exited(5),
    }
    assert all(q.reaped_by == 1000 for q in kids.values())


# A signal that arrives while blocked must end the next sigsuspend, whether it came
# before the call or during it (the ready/release pattern all these programs rely on).
SIG_WAKEUP_EXPECTED = b"rounds 50 handled 50\n"


def test_sig_wakeup_native(build, native):
    check_native(native, [build("sig_wakeup")], SIG_WAKEUP_EXPECTED)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_sig_wakeup_in_host(build, seed):
    p, kids, _ = run_in_host([build("sig_wakeup")], seed=seed, stop_time=60)
    assert p.stdout == SIG_WAKEUP_EXPECTED, p.stdout
    assert p.exit_status == Exited(0)
    assert len(kids) == 50 and all(q.exit_status == Exited(0) for q in kids.values())


# ---------------------------------------------------------------------------------------
# (3) SIGSTOP / SIGCONT through waitpid and waitid

SIG_STOPCONT_EXPECTED = b"""\
waitpid_cont_running 0
waitpid_wuntraced child#1 WIFSTOPPED WSTOPSIG=SIGSTOP
waitpid_wuntraced_again 0
waitpid_wcontinued child#1 WIFCONTINUED
waitpid_wcontinued_again 0
waitid_wstopped signo=SIGCHLD pid=child#1 code=CLD_STOPPED status=SIGSTOP
waitid_wstopped_again 0 pid=0
waitid_wcontinued signo=SIGCHLD pid=child#1 code=CLD_CONTINUED status=SIGCONT
waitid_wcontinued_again 0 pid=0
waitpid_tstp child#1 WIFSTOPPED WSTOPSIG=SIGTSTP
waitpid_term_while_stopped 0
waitpid_term_after_cont child#1 WIFSIGNALED WTERMSIG=SIGTERM
waitpid_after -1 ECHILD
done
"""


def test_sig_stopcont_native(build, native):
    check_native(native, [build("sig_stopcont")], SIG_STOPCONT_EXPECTED)


def test_sig_stopcont_in_host(build):
    p, kids, now = run_in_host([build("sig_stopcont")])
    assert p.stdout.decode() == SIG_STOPCONT_EXPECTED.decode()
    assert p.exit_status == Exited(0)
    assert kids[1001].exit_status == Signaled(signal.SIGTERM)
    assert kids[1001].reaped_by == 1000
    assert now == START


# ---------------------------------------------------------------------------------------
# (4) SIGCHLD's siginfo in an SA_SIGINFO handler

SIG_CHLDINFO_EXPECTED = b"""\
exit signo=SIGCHLD code=CLD_EXITED pid=child#1 status=7
wait child#1 exited
killed signo=SIGCHLD code=CLD_KILLED pid=child#2 status=SIGTERM
wait child#2 signaled
stop signo=SIGCHLD code=CLD_STOPPED pid=child#3 status=SIGSTOP
wait child#3 stopped
cont signo=SIGCHLD code=CLD_CONTINUED pid=child#3 status=SIGCONT
kill signo=SIGCHLD code=CLD_KILLED pid=child#3 status=SIGKILL
wait child#3 signaled
nocldstop_wait child#4 stopped
nocldstop_pending_after_stop none
nocldstop_kill signo=SIGCHLD code=CLD_KILLED pid=child#4 status=SIGKILL
wait child#4 signaled
sigchld_total 6
done
"""


def test_sig_chldinfo_native(build, native):
    check_native(native, [build("sig_chldinfo")], SIG_CHLDINFO_EXPECTED)


def test_sig_chldinfo_in_host(build):
    p, kids, _ = run_in_host([build("sig_chldinfo")])
    assert p.stdout.decode() == SIG_CHLDINFO_EXPECTED.decode()
    assert p.exit_status == Exited(0)
    assert {pid: q.exit_status for pid, q in kids.items()} == {
        1001: Exited(7),
        1002: Signaled(signal.SIGTERM),
        1003: Signaled(signal.SIGKILL),
        1004: Signaled(signal.SIGKILL),
    }


# ---------------------------------------------------------------------------------------
# (5) SA_NOCLDWAIT and SIGCHLD at SIG_IGN reap automatically: wait() fails with ECHILD
# once the children have ended

AUTOREAP_TAIL = b"""\
wait -1 ECHILD
waited_until_children_ended yes
kill0 child#1 ESRCH
kill0 child#2 ESRCH
kill0 child#3 ESRCH
waitid_after ECHILD
done
"""
SIG_NOCLDWAIT_EXPECTED = {
    "nocldwait": b"mode nocldwait\n" + AUTOREAP_TAIL,
    "ignore": b"mode ignore\n" + AUTOREAP_TAIL,
    "default": b"mode default\nwait child#1 exited 1\nwait child#2 exited 2\n"
               b"wait child#3 exited 3\n" + AUTOREAP_TAIL,
}


@pytest.mark.parametrize("mode", ["nocldwait", "ignore", "default"])
def test_sig_nocldwait_native(build, native, mode):
    check_native(native, [build("sig_nocldwait"), mode], SIG_NOCLDWAIT_EXPECTED[mode])


@pytest.mark.parametrize("mode", ["nocldwait", "ignore", "default"])
def test_sig_nocldwait_in_host(build, mode):
    with SimHost() as host:
        p = host.spawn([build("sig_nocldwait"), mode])
        host.run()
        assert p.stdout.decode() == SIG_NOCLDWAIT_EXPECTED[mode].decode()
        assert p.exit_status == Exited(0)
        kids = [q for q in host.processes() if q.pid != p.pid]
        assert [q.exit_status for q in kids] == [Exited(1), Exited(2), Exited(3)]
        assert all(q.state == "reaped" for q in kids)
        if mode == "default":
            assert all(q.reaped_by == p.pid for q in kids)
        assert not host.zombies()
        # wait() blocked until the last child ended, 300 ms in
        assert host.now == pytest.approx(START + 0.3, abs=1e-6)


# ---------------------------------------------------------------------------------------
# (6) execve: handled -> SIG_DFL, ignored stays ignored, mask and pending kept

SIG_EXEC_EXPECTED = b"""\
before SIGHUP SIG_DFL blocked pending
before SIGINT SIG_DFL
before SIGUSR1 handler
before SIGUSR2 SIG_IGN
before SIGTERM handler+SA_SIGINFO
before SIGCHLD SIG_IGN
before SIGRTMIN SIG_DFL blocked
after SIGHUP SIG_DFL blocked pending
after SIGINT SIG_DFL
after SIGUSR1 SIG_DFL
after SIGUSR2 SIG_IGN
after SIGTERM SIG_DFL
after SIGCHLD SIG_IGN
after SIGRTMIN SIG_DFL blocked
done
"""


def sig_exec_expected() -> bytes:
    """SIGINT is the one signal sig_exec leaves alone: it shows the disposition it
    inherited, SIG_IGN when whatever launched the tests ignores SIGINT (nohup, a CI
    runner; kept across fork and execve, signal(7)), natively and in a host alike."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        return SIG_EXEC_EXPECTED.replace(b"SIGINT SIG_DFL", b"SIGINT SIG_IGN")
    return SIG_EXEC_EXPECTED


def test_sig_exec_native(build, native):
    check_native(native, [build("sig_exec")], sig_exec_expected())


def test_sig_exec_in_host(build):
    p, kids, _ = run_in_host([build("sig_exec")])
    assert p.stdout.decode() == sig_exec_expected().decode()
    assert p.exit_status == Exited(0)
    assert p.argv[-1] == "after" and not kids


# ---------------------------------------------------------------------------------------
# (7) PR_SET_PDEATHSIG

SIG_PDEATH_EXPECTED = {
    "handler": b"""\
mode handler
grandchild pdeathsig SIGUSR1 parent=middle
middle exits
grandchild got SIGUSR1 code=SI_USER pid=old-parent ppid_now=subreaper
reaped middle exited 0
reaped grandchild exited 9
no_more_children yes
done
""",
    "default": b"""\
mode default
grandchild pdeathsig SIGTERM parent=middle
middle exits
reaped middle exited 0
reaped grandchild signaled SIGTERM
no_more_children yes
done
""",
}


@pytest.mark.parametrize("mode", ["handler", "default"])
def test_sig_pdeath_native(build, native, mode):
    check_native(native, [build("sig_pdeath"), mode], SIG_PDEATH_EXPECTED[mode])


@pytest.mark.parametrize("mode", ["handler", "default"])
def test_sig_pdeath_in_host(build, mode):
    p, kids, _ = run_in_host([build("sig_pdeath"), mode])
    assert p.stdout.decode() == SIG_PDEATH_EXPECTED[mode].decode()
    assert p.exit_status == Exited(0)
    middle, grandchild = kids[1001], kids[1002]
    assert middle.exit_status == Exited(0)
    assert grandchild.exit_status == (Exited(9) if mode == "handler"
                                      else Signaled(signal.SIGTERM))
    assert grandchild.reaped_by == p.pid     # reparented to the subreaper


# ---------------------------------------------------------------------------------------
# (8) an orphaned process group with a stopped member gets SIGHUP then SIGCONT

SIG_ORPHAN_EXPECTED = {
    "handler": b"""\
mode handler
member stops in its own group: pgid=self sid=leader
leader sees member stopped SIGSTOP, exits
member SIGHUP
member SIGCONT
member resumed
reaped leader exited 0
reaped member exited 5
done
""",
    "default": b"""\
mode default
member stops in its own group: pgid=self sid=leader
leader sees member stopped SIGSTOP, exits
reaped leader exited 0
reaped member signaled SIGHUP
done
""",
}


@pytest.mark.parametrize("mode", ["handler", "default"])
def test_sig_orphan_native(build, native, mode):
    check_native(native, [build("sig_orphan"), mode], SIG_ORPHAN_EXPECTED[mode])


@pytest.mark.parametrize("mode", ["handler", "default"])
def test_sig_orphan_in_host(build, mode):
    p, kids, _ = run_in_host([build("sig_orphan"), mode])
    assert p.stdout.decode() == SIG_ORPHAN_EXPECTED[mode].decode()
    assert p.exit_status == Exited(0)
    leader, member = kids[1001], kids[1002]
    assert (leader.sid, leader.pgid) == (1001, 1001)
    assert (member.sid, member.pgid) == (1001, 1002)
    assert leader.exit_status == Exited(0)
    assert member.exit_status == (Exited(5) if mode == "handler" else Signaled(signal.SIGHUP))
    assert member.reaped_by == p.pid


# ---------------------------------------------------------------------------------------
# kill(-1, SIGKILL) ends every process of the host but init, and nothing outside it.
# In-host only: natively it would kill every process of the machine (the program
# refuses to send it unless its parent is pid 1).

def test_kill_minus_one_in_host(build):
    prog = build("sig_killall")
    outside = subprocess.Popen(["sleep", "30"])
    try:
        with SimHost() as host:
            tree = host.spawn([prog, "tree"])
            killer = host.spawn([prog, "kill"])
            host.run()
            assert tree.stdout == b"tree built\n"
            assert killer.stdout == b"kill(-1, SIGKILL) = 0\nkiller still alive\n"
            assert killer.stderr == b""
            procs = host.processes()
            assert len(procs) == 5      # tree, its 2 children and 1 grandchild, killer
            for q in procs:
                assert q.exit_status == Signaled(signal.SIGKILL), (q.pid, q.exit_status)
                assert q.state == "reaped"
            assert not host.zombies()
            assert host.now == pytest.approx(START + 1, abs=1e-6)
        assert outside.poll() is None, "kill(-1) inside the host reached a native process"
    finally:
        outside.kill()
        outside.wait()


def test_sig_killall_refuses_natively(build, native):
    res = native([build("sig_killall"), "kill"])
    assert res.returncode == 2
    assert b"refusing" in res.stderr


# ---------------------------------------------------------------------------------------
# A signal-heavy program: 10,000 SIGUSR1/SIGUSR2 round trips, byte-identical 6 times
# (20 runs took ~76 s, the longest test of the suite by far, for 200,000 round trips;
# tests/determinism compares whole hosts twice more)

PINGPONG_ROUNDS = 10000
PINGPONG_RUNS = 3


def pingpong_expected_prefix(rounds: int) -> bytes:
    lines = [f"round {i}" for i in range(1000, rounds + 1, 1000)]
    lines.insert(len(lines) - 1, f"child received {rounds} SIGUSR1")  # before the last reply
    lines += [f"parent received {rounds} SIGUSR2", f"child exited {rounds % 256}"]
    return ("\n".join(lines) + "\n").encode()


def test_sig_pingpong_native(build, native):
    res = native([build("sig_pingpong"), str(PINGPONG_ROUNDS)])
    assert res.returncode == 0 and res.stderr == b""
    head, _, cpu = res.stdout.rpartition(b"cputime ")
    assert head == pingpong_expected_prefix(PINGPONG_ROUNDS)
    assert cpu.endswith(b"\n")


def test_sig_pingpong_in_host_deterministic(build):
    prog = build("sig_pingpong")
    outputs = []
    started = time.monotonic()
    for _ in range(PINGPONG_RUNS):
        with SimHost() as host:
            p = host.spawn([prog, str(PINGPONG_ROUNDS)])
            host.run()
            assert p.exit_status == Exited(0)
            assert host.process(1001).exit_status == Exited(PINGPONG_ROUNDS % 256)
            outputs.append(p.stdout)
    wall = time.monotonic() - started
    assert outputs[0].startswith(pingpong_expected_prefix(PINGPONG_ROUNDS)), outputs[0]
    assert outputs[0].split(b"\n")[-2].startswith(b"cputime ")
    for i, out in enumerate(outputs):
        assert out == outputs[0], f"run {i} differs:\n{out.decode()}\nvs\n{outputs[0].decode()}"
    print(f"{PINGPONG_RUNS} runs of {PINGPONG_ROUNDS} round trips: {wall:.1f} s, "
          f"{wall / PINGPONG_RUNS:.2f} s per run")


# ------------------------------------------------------- a program's own seccomp filter

OWN_SECCOMP = (b"getppid: SIGSYS si_code 1 si_errno 0x42 si_syscall 110\n"
               b"getuid = -1 EPERM\n"
               b"getpid ok\n")


def test_own_seccomp_filter_works_in_host(build):
    """The host's own SIGSYS (calls of other ABIs) is told apart from the program's by
    its tag: the program's reaches its handler, and its ERRNO answer holds."""
    report = same_as_native([build("own_seccomp")], OWN_SECCOMP)
    assert report["host"]["unsupported_syscalls"] == []


# ------------------------------------------------ the owner of signal-driven I/O

IO_OWNER = (b"F_SETOWN(getpid()) = 0, F_GETOWN is getpid(): 1\n"
            b"F_SETOWN_EX(TID, gettid()) = 0, F_GETOWN_EX: TID 1, is gettid(): 1\n"
            b"FIOSETOWN(getpid()) = 0, FIOGETOWN is getpid(): 1\n"
            b"O_ASYNC write: SIGIO 1, si_code SI_KERNEL 1\n"
            b"F_SETSIG(SIGRTMIN): SIGRTMIN 1, si_code POLL_IN 1, si_fd 1\n"
            b"F_SETOWN(child) = 0, F_GETOWN is child: 1\n")


def test_io_owner_is_set_and_read_by_virtual_pid_and_signalled(build):
    """F_SETOWN & co. translate host pids both ways; the kernel's SIGIO and F_SETSIG
    signals reach the owner's handler with their siginfo (they are not dropped as
    signals from outside)."""
    same_as_native([build("io_owner")], IO_OWNER)


def test_io_owner_sigio_ends_a_sigsuspend_in_the_host(build):
    """SIGIO from the kernel while the owner sleeps natively in sigsuspend: the
    simulated kernel takes it over and ends the wait; the program's next calls are
    still simulated (passed through natively, the host lost track of it)."""
    same_as_native([build("io_owner"), "suspend"],
                   b"sigsuspend = -1, woken by SIGIO: 1\ngetppid() after it unchanged: 1\n")


def test_io_owner_signal_held_pending_ends_a_sigtimedwait(build):
    """F_SETSIG's signal, blocked, stays pending in the real kernel: the owner's
    sigtimedwait in the host takes it (it timed out: the host looked only at its own
    pending signals; LTP's fcntl31)."""
    same_as_native([build("io_owner"), "sigwait"],
                   b"sigtimedwait = SIGUSR1: 1, si_code POLL_IN: 1\n")


def test_a_dnotify_signal_runs_its_handler_at_once(build):
    """A signal the kernel sends an owner during the program's own call (dnotify's,
    for a file it creates) runs its handler before the program's next instruction;
    the host ran it only at the program's next system call (LTP's fcntl38, fcntl39)."""
    same_as_native([build("io_owner"), "dnotify"],
                   b"a file made: the handler ran at once: 1, si_fd the directory: 1\n")


def test_io_owner_sigio_default_action_kills(build, native):
    assert native([build("io_owner"), "default"]).returncode == -signal.SIGIO
    with SimHost() as host:
        p = host.spawn([build("io_owner"), "default"])
        host.run()
        assert p.exit_status == Signaled(signal.SIGIO)


def test_io_owner_process_group_is_refused_and_reported(build):
    with SimHost() as host:
        p = host.spawn([build("io_owner"), "group"])
        host.run()
        assert p.stdout == b"F_SETOWN(-pgrp) = -1\n"
        refused = host.report()["host"]["refused"]
        assert [(r["pid"], r["syscall"]) for r in refused] == [(p.pid, "fcntl")]
        assert "process group" in refused[0]["message"]


def test_a_woken_wait_reaps_before_the_sigchld_handler_runs(build):
    # The parent sleeps in waitpid when its child exits: the wait takes the child, the
    # SA_RESTART handler runs after and finds nothing. The host used to interrupt the
    # woken wait with the handler, whose waitpid then took the child (main: ECHILD).
    same_as_native([build("sig_reap_first")],
                   b"main reaped exited 7; handler ran 1 time(s), reaped 0\n")
