"""Resource limits: setrlimit/prlimit errors, RLIMIT_NPROC, RLIMIT_NOFILE, getrusage
(tests/programs/rlimit_*.c).

The host answers for an unprivileged user. Natively the programs that need it drop to
uid/gid 65534 first when they run as root (root may raise hard limits and is exempt
from RLIMIT_NPROC), and do the same in the host, so the outputs compare byte for byte.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys


from pytest_simproc import Exited, Signaled, SimHost

from .conftest import REPO_ROOT


def run_in_host(argv, *, spawn_rlimits=None, **host_options):
    with SimHost(**host_options) as host:
        p = host.spawn([str(a) for a in argv], rlimits=spawn_rlimits)
        host.run()
        kids = {q.pid: q for q in host.processes() if q.pid != p.pid}
        assert not host.unsupported_syscalls, host.unsupported_syscalls
        return p, kids


# ---------------------------------------------------------------------------------------
# (9) error codes

RLIMIT_ERRORS_EXPECTED = b"""\
unprivileged yes
setrlimit_soft_gt_hard -1 EINVAL
setrlimit_lower 0
getrlimit 0 soft=100 hard=200
setrlimit_raise_hard -1 EPERM
setrlimit_soft_gt_hard_again -1 EINVAL
setrlimit_raise_soft_to_hard 0
getrlimit_after 0 soft=200 hard=200
getrlimit_bad_resource -1 EINVAL
setrlimit_bad_resource -1 EINVAL
prlimit_child_read 0 soft=200 hard=200
prlimit_child_set_old 0 soft=200 hard=200
prlimit_child_read_again 0 soft=50 hard=100
prlimit_child_raise_hard -1 EPERM
prlimit_child_soft_gt_hard -1 EINVAL
own_limit_unchanged 0 soft=200 hard=200
child_exit_code 50
prlimit_reaped_child -1 ESRCH
prlimit_parent_read -1 EPERM
done
"""


def test_rlimit_errors_native(build, native):
    res = native([build("rlimit_errors")])
    assert res.returncode == 0 and res.stderr == b""
    expected = RLIMIT_ERRORS_EXPECTED.decode()
    if os.getuid() != 0:
        # Run unprivileged from the start, the parent (pytest) is the same user's.
        expected = expected.replace("prlimit_parent_read -1 EPERM\n", "")
        got = "".join(line for line in res.stdout.decode().splitlines(keepends=True)
                      if not line.startswith("prlimit_parent_read"))
        assert got == expected
    else:
        assert res.stdout.decode() == expected


def test_rlimit_errors_in_host(build):
    # The parent of a spawned program is the host's init: another user's process (EPERM,
    # as for the native parent, which is root's), not a missing one.
    p, kids = run_in_host([build("rlimit_errors")])
    assert p.stdout.decode() == RLIMIT_ERRORS_EXPECTED.decode()
    assert p.exit_status == Exited(0)
    assert kids[1001].exit_status == Exited(50)


# ---------------------------------------------------------------------------------------
# (10) RLIMIT_NPROC: fork fails with EAGAIN.
# In the host the limit counts the user's processes in the host: the program and its
# children (init is not the user's). With {3, 3} two forks succeed, the third fails; a
# zombie still counts, a reaped child does not.

RLIMIT_NPROC_EXPECTED = b"""\
unprivileged yes
nproc soft=3 hard=3
fork#3 -1 EAGAIN
forks_ok 2
fork_with_zombie EAGAIN
fork_after_reap ok
reaped 2
done
"""


def test_rlimit_nproc_native(build, native):
    # Natively the limit counts every process of uid 65534 on the machine, so only the
    # failure itself is checked, not the number of forks before it.
    res = native([build("rlimit_nproc")])
    assert res.returncode == 0 and res.stderr == b""
    lines = res.stdout.decode().splitlines()
    assert lines[:2] == ["unprivileged yes", "nproc soft=3 hard=3"]
    failures = [line for line in lines if line.startswith("fork#")]
    assert len(failures) == 1 and failures[0].endswith(" -1 EAGAIN"), lines
    forks_ok = int(next(line for line in lines if line.startswith("forks_ok")).split()[1])
    assert forks_ok <= 2
    assert lines[-1] == "done"


def check_nproc_in_host(p, kids):
    assert p.stdout.decode() == RLIMIT_NPROC_EXPECTED.decode()
    assert p.exit_status == Exited(0)
    assert sorted(kids) == [1001, 1002, 1003]     # 2 forks, then 1 after the reap
    assert all(q.exit_status == Signaled(signal.SIGKILL) for q in kids.values())
    assert all(q.reaped_by == p.pid for q in kids.values())


def test_rlimit_nproc_in_host(build):
    check_nproc_in_host(*run_in_host([build("rlimit_nproc")]))


def test_rlimit_nproc_from_spawn_in_host(build):
    p, kids = run_in_host([build("rlimit_nproc"), "inherited"],
                          spawn_rlimits={"NPROC": (3, 3)})
    check_nproc_in_host(p, kids)


def test_rlimit_nproc_from_host_in_host(build):
    p, kids = run_in_host([build("rlimit_nproc"), "inherited"], rlimits={"NPROC": (3, 3)})
    check_nproc_in_host(p, kids)


def test_rlimit_nproc_from_cli(build):
    res = subprocess.run(
        [sys.executable, "-m", "pytest_simproc", "run", "--rlimit", "NPROC=3:3",
         "--expect", "exited:0", "--", build("rlimit_nproc"), "inherited"],
        capture_output=True, timeout=120, cwd=REPO_ROOT)
    assert res.stdout.decode() == RLIMIT_NPROC_EXPECTED.decode(), res.stderr.decode()
    assert res.returncode == 0, res.stderr.decode()


# ---------------------------------------------------------------------------------------
# (11) RLIMIT_NOFILE {16, 16}: EMFILE after fds 3..15

RLIMIT_NOFILE_EXPECTED = b"""\
open_fds_at_start 0 1 2
open_failed_after 13 EMFILE
first_fd 3 last_fd 15
reopen_after_close_7 7
fcntl_dupfd_full -1 EMFILE
dup2_to_16 -1 EBADF
setrlimit_soft_below_open 0
open_above_soft -1 EMFILE
setrlimit_soft_back 0
open_again 12
done
"""


def test_rlimit_nofile_native(build, native):
    res = native([build("rlimit_nofile")])
    assert res.returncode == 0 and res.stderr == b""
    assert res.stdout.decode() == RLIMIT_NOFILE_EXPECTED.decode()


def test_rlimit_nofile_in_host(build):
    # Also proves that no descriptor of the tracer leaks into a spawned program.
    p, _ = run_in_host([build("rlimit_nofile")])
    assert p.stdout.decode() == RLIMIT_NOFILE_EXPECTED.decode()
    assert p.exit_status == Exited(0)


# ---------------------------------------------------------------------------------------
# getrusage: deterministic in the host

RUSAGE_FIELDS = ["utime", "stime", "maxrss", "ixrss", "idrss", "isrss", "minflt", "majflt",
                 "nswap", "inblock", "oublock", "msgsnd", "msgrcv", "nsignals", "nvcsw",
                 "nivcsw"]


def parse_rusage(stdout: bytes) -> dict:
    out = {}
    lines = stdout.decode().splitlines()
    assert lines[-2:] == ["getrusage_bad_who -1 EINVAL", "done"], lines
    for line in lines[:-2]:
        label, *fields = line.split()
        pairs = dict(f.split("=", 1) for f in fields)
        assert list(pairs) == RUSAGE_FIELDS, line
        out[label] = pairs
    assert list(out) == ["wait4", "self", "children", "thread"]
    return out


def test_rlimit_getrusage_native(build, native):
    res = native([build("rlimit_getrusage")])
    assert res.returncode == 0 and res.stderr == b""
    r = parse_rusage(res.stdout)
    assert r["wait4"] == r["children"]       # the only child, reaped by that wait4


def test_rlimit_getrusage_in_host_deterministic(build):
    outputs = []
    for _ in range(2):
        p, kids = run_in_host([build("rlimit_getrusage")])
        assert p.exit_status == Exited(0) and kids[1001].exit_status == Exited(0)
        outputs.append(p.stdout)
    assert outputs[0] == outputs[1], outputs
    r = parse_rusage(outputs[0])
    assert r["wait4"] == r["children"]
    # CPU model: 1 us per simulated system call; the child made 1000 getppid calls.
    child = r["children"]
    cpu_us = sum(int(child[k].replace(".", "")) for k in ("utime", "stime"))
    assert cpu_us >= 1000, child


# ---------------------------------------------------------------------------------------
# RLIMIT_FSIZE: partial writes up to the limit, then EFBIG and SIGXFSZ (ignored, caught
# with the process's own virtual pid as sender, blocked and pending for sigpending and
# sigtimedwait, default: killed)

RLIMIT_FSIZE_EXPECTED = b"""\
getrlimit_soft 100
write_60 60
write_60_partial 40
write_at_limit -1 EFBIG
size 100
pwrite_90_20 10
pwrite_at_100 -1 EFBIG
pwrite_far -1 EFBIG
writev_80_60 20
ftruncate_101 -1 EFBIG
ftruncate_100 0
ftruncate_50 0
truncate_200 -1 EFBIG
"""


def test_rlimit_fsize_same_as_native(build, native, tmp_path):
    (tmp_path / "native").mkdir()
    (tmp_path / "host").mkdir()
    res = native([build("rlimit_fsize"), tmp_path / "native"])
    assert res.returncode == 0 and res.stderr == b""
    # the file system decides about fallocate (EOPNOTSUPP on some): compared, not fixed
    assert res.stdout.startswith(RLIMIT_FSIZE_EXPECTED), res.stdout.decode()
    for line in (b"handled_si_pid_is_self 1", b"blocked_pending 1", b"sigtimedwait 25",
                 b"sigtimedwait_from_self 1",
                 b"default_killed_by_sigxfsz 1", b"prlimit_child_wrote 10",
                 b"exec_child_wrote 100", b"done"):
        assert line + b"\n" in res.stdout, res.stdout.decode()
    p, kids = run_in_host([build("rlimit_fsize"), tmp_path / "host"])
    assert p.stdout.decode() == res.stdout.decode()
    assert p.exit_status == Exited(0)
    assert kids[1001].exit_status == Signaled(signal.SIGXFSZ, core=True)
    assert (tmp_path / "host" / "fsize.child").stat().st_size == 100


def test_rlimit_fsize_from_spawn_in_host(tool, tmp_path):
    # The spawn's limit reaches the native process: the shell's redirection stops at 10
    # bytes, and the shell (SIGXFSZ at its default) dies of it.
    bash = tool("bash")
    target = tmp_path / "out"
    with SimHost() as host:
        p = host.spawn([bash, "-c", f"ulimit -f; printf %s 0123456789abcdef > {target}"],
                       rlimits={"FSIZE": 10 * 1024})
        q = host.spawn([bash, "-c", f"printf %020d 0 > {target}.2; echo ok"],
                       rlimits={"FSIZE": 10})
        host.run()
    assert p.stdout == b"10\n" and p.exit_status == Exited(0)
    assert target.read_bytes() == b"0123456789abcdef"
    assert q.exit_status == Signaled(signal.SIGXFSZ, core=True)
    assert (tmp_path / "out.2").read_bytes() == b"0" * 10
