"""Process groups and sessions: setpgid/setsid/getpgid/getsid and their errors
(tests/programs/pgrp.c). The output is symbolic: native and in-host runs must both
produce exactly PGRP_EXPECTED. The program synchronises with SIGSTOP/SIGCONT and
waitpid(WUNTRACED) only (no pipes, no sleeps), so the host's clock does not move."""
from __future__ import annotations

from pytest_simproc import Exited, SimHost

from .conftest import later_by_startups

PGRP_EXPECTED = b"""\
getpgrp_initial same-as-parent
getsid_initial same-as-parent
getpgid_0 parent-group
setpgid_self 0
leader yes
getpgid_0_after self
setsid_leader -1 EPERM
setpgid_negative -1 EINVAL
setpgid_parent -1 ESRCH
setpgid_self_to_nonexistent_group -1 EPERM
setpgid_child_to_nonexistent_group -1 EPERM
setpgid_child1 0
getpgid_child1 child#1
setpgid_child1_back 0
getpgid_child1_back self
stopped child#2 SIGSTOP
setpgid_after_exec -1 EACCES
getpgid_after_exec self
getpgid_zombie self
reap child#3 exited 0
getpgid_reaped -1 ESRCH
getsid_reaped -1 ESRCH
setpgid_reaped -1 ESRCH
child4_setsid self
child4_getsid self
child4_getpgrp self
child4_setpgid_self -1 EPERM
child4_setsid_again -1 EPERM
stopped child#4 SIGSTOP
getsid_child4 child#4
getpgid_child4 child#4
setpgid_child4_session_leader -1 EPERM
setpgid_child4_to_parent_group -1 EPERM
reap child#4 exited 0
stopped child#1 SIGSTOP
reap child#1 exited 0
reap child#2 exited 0
getsid_end same-as-parent
done
"""


def test_pgrp_native(build, native):
    res = native([build("pgrp")])
    assert res.stderr == b""
    assert res.stdout.decode() == PGRP_EXPECTED.decode()
    assert res.returncode == 0


def test_pgrp_in_host(build):
    prog = build("pgrp")
    with SimHost() as host:
        p = host.spawn([prog])
        host.run()
        assert p.stdout.decode() == PGRP_EXPECTED.decode()
        assert p.exit_status == Exited(0)
        assert (p.pgid, p.sid) == (1000, 1)            # setpgid(0, 0), no new session
        procs = {q.pid: q for q in host.processes() if q.pid > 1000}
        assert sorted(procs) == [1001, 1002, 1003, 1004]
        assert (procs[1001].pgid, procs[1001].sid) == (1000, 1)   # moved back
        assert list(procs[1002].argv)[1] == "stop-then-exit"     # the exec'd child
        assert (procs[1002].pgid, procs[1002].sid) == (1000, 1)   # EACCES: unchanged
        assert (procs[1004].pgid, procs[1004].sid) == (1004, 1004)  # setsid()
        for q in procs.values():
            assert q.exit_status == Exited(0), (q.pid, q.exit_status)
            assert q.state == "reaped" and q.reaped_by == 1000
        assert later_by_startups(host.now, 946684800, 1)   # the exec'd child's
