"""timerfd and signalfd: descriptors fed by the host's virtual timers and signals."""
from pytest_simproc import Exited, SimHost

EXPECTED = (b"expired 1 at +2\nexpired 3 at +5\nnext in 1 s\n"
            b"signal 10 from child code 0 status 0 at +6\n"
            b"signal 17 from child code 1 status 4 at +6\npoll 0\n")


def test_fdobjects_native(build, native):
    res = native([build("fdobjects")], timeout=30)
    assert res.stdout == EXPECTED


def test_fdobjects_in_host_exact_and_instant(build):
    with SimHost() as host:
        p = host.spawn([build("fdobjects")])
        host.run()
        assert p.stdout == EXPECTED
        assert p.exit_status == Exited(0)
        assert host.now == 946684806
        assert host.unsupported_syscalls == []


PIDFD_EXPECTED = (b"poll before 0\nsend 0\npoll after 1\nwaitid 0 child 1 code 2 status 15\n"
                  b"outside -1 ESRCH\n")


def test_pidfd_native(build, native):
    assert native([build("pidfd")]).stdout == PIDFD_EXPECTED


def test_pidfd_in_host(build):
    with SimHost() as host:
        p = host.spawn([build("pidfd")])
        host.run()
        assert p.stdout == PIDFD_EXPECTED
        assert host.unsupported_syscalls == []
