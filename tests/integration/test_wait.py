"""wait4 / waitid semantics (tests/programs/waitflags.c).

The program prints pids symbolically, so the native run and the in-host run must both
produce exactly WAITFLAGS_EXPECTED: the native half proves the expectation is Linux's.
"""
from __future__ import annotations

import signal

import pytest

from pytest_simproc import Exited, Signaled, SimHost

WAITFLAGS_EXPECTED = b"""\
wait4_any_nochild -1 ECHILD
wait4_wnohang_nochild -1 ECHILD
waitid_all_nochild -1 ECHILD
wait4_wnohang_running 0
wait4_any_wnohang_running 0
waitid_wnohang_running 0 pid=0
wait4_badflags -1 EINVAL
waitid_no_event_flags -1 EINVAL
waitid_bad_idtype -1 EINVAL
wait4_not_a_child -1 ECHILD
waitid_stopped_nowait 0 signo=SIGCHLD pid=child#1 code=CLD_STOPPED status=SIGSTOP
wait4_stopped_no_wuntraced 0
wait4_stopped child#1 stopped SIGSTOP
wait4_stopped_again 0
waitid_continued_nowait 0 signo=SIGCHLD pid=child#1 code=CLD_CONTINUED status=SIGCONT
wait4_continued child#1 continued
wait4_continued_again 0
waitid_nowait 0 signo=SIGCHLD pid=child#1 code=CLD_EXITED status=11
waitid_nowait_again 0 signo=SIGCHLD pid=child#1 code=CLD_EXITED status=11
wait4_after_nowait child#1 exited 11
wait4_after_reap -1 ECHILD
setpgid_child2 0
getpgid_child2 child#2
getpgid_child3 same-as-parent
waitid_nowait_child2 0 signo=SIGCHLD pid=child#2 code=CLD_EXITED status=12
wait4_0_wnohang 0
waitid_pgid0_wnohang 0 pid=0
waitid_pgid_child2_nowait 0 signo=SIGCHLD pid=child#2 code=CLD_EXITED status=12
wait4_0 child#3 exited 13
wait4_0_again -1 ECHILD
wait4_minus_pgid child#2 exited 12
wait4_minus_pgid_again -1 ECHILD
waitid_signaled_nowait 0 signo=SIGCHLD pid=child#4 code=CLD_KILLED status=SIGUSR1
wait4_signaled child#4 signaled SIGUSR1
wait4_end -1 ECHILD
done
"""


def test_waitflags_native(build, native):
    res = native([build("waitflags")])
    assert res.stderr == b""
    assert res.stdout.decode() == WAITFLAGS_EXPECTED.decode()
    assert res.returncode == 0


def test_waitflags_in_host(build):
    with SimHost() as host:
        p = host.spawn([build("waitflags")])
        host.run()
        assert p.stdout.decode() == WAITFLAGS_EXPECTED.decode()
        assert p.exit_status == Exited(0)
        kids = {q.pid: q for q in host.processes() if q.pid > 1000}
        assert sorted(kids) == [1001, 1002, 1003, 1004]
        assert kids[1001].exit_status == Exited(11)
        assert kids[1002].exit_status == Exited(12)
        assert kids[1002].pgid == 1002            # led its own group
        assert kids[1003].exit_status == Exited(13)
        assert kids[1003].pgid == 1               # stayed in the parent's group
        assert kids[1004].exit_status == Signaled(signal.SIGUSR1)
        assert kids[1004].returncode == -signal.SIGUSR1
        for q in kids.values():
            assert q.state == "reaped" and q.reaped_by == 1000, (q.pid, q.state, q.reaped_by)
        assert not host.zombies()
        # The only sleeps: 100 ms before each of the 4 releases (virtual time).
        assert host.now == pytest.approx(946684800.4, abs=1e-6)
