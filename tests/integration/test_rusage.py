"""What getrusage(2), times(2) and a wait's rusage report (kernel/rusage.py): ru_maxrss
from the native processes, CPU time split between user and system as the kernel
splits it (tests/programs/rusage_*.c), natively and in a host."""
from __future__ import annotations

from pytest_simproc import Exited, SimHost

from .conftest import same_as_native

MAXRSS_EXPECTED = b"".join(b"%s yes\n" % rule for rule in (
    b"fork_self", b"fork_children", b"wait4", b"zombie", b"reaped", b"grandchild",
    b"ignored", b"exec"))


def test_maxrss_follows_the_native_processes(build):
    same_as_native([build("rusage_maxrss")], MAXRSS_EXPECTED)


def test_user_and_system_time_split_as_the_kernel_splits_them(build):
    # a spin is user time, calls are system time; times, getrusage and the CPU clock
    # agree (LTP's times03 saw system time stay 0 in a host)
    same_as_native([build("rusage_cpu")],
                   b"utime yes\nstime yes\ntimes yes\ncputime yes\ncutime yes\nchildren yes\n")


def test_a_loop_of_calls_gathers_user_time_too(tool):
    # half of a call's cost is the user code around it: LTP's clock_gettime01 reads
    # /proc/self/stat until its utime field moves (a loop that never ended when the
    # calls were all system time)
    script = ("n=0; while :; do read -r _ _ _ _ _ _ _ _ _ _ _ _ _ u s _ < /proc/self/stat; "
              "n=$((n+1)); [ \"$u\" -gt 0 ] && break; done; echo $n $u $s")
    with SimHost() as host:
        p = host.spawn([tool("bash"), "-c", script])
        host.run()
        assert p.exit_status == Exited(0)
        n, utime, stime = map(int, p.stdout.split())
        assert utime == 1 and stime in (0, 1) and n > 100
