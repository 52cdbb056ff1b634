"""timerfd and signalfd: descriptors fed by the host's virtual timers and signals."""
import os
import re

import pytest

from pytest_simproc import Exited, SimHost

from .conftest import same_as_native

EXPECTED = (b"expired 1 at +2\nexpired 3 at +5\nnext in 1 s\n"
            b"signal 10 from child code 0 status 0 at +6\n"
            b"signal 17 from child code 1 status 4 at +6\npoll 0\n")

SHAPE = re.compile(rb"expired (\d+) at \+(\d+)\nexpired (\d+) at \+(\d+)\nnext in [01] s\n"
                   rb"signal 10 from child code 0 status 0 at \+(\d+)\n"
                   rb"signal 17 from child code 1 status 4 at \+(\d+)\npoll 0\n")


def check_shape(stdout: bytes) -> None:
    """What a real run guarantees however loaded the machine: the same events in the
    same order, timers never early (timerfd_create(2): the first expiry at 2 s, then
    one a second, at least three during the 3 s sleep), times never going back. The
    program's seconds come from time(2), whose clock may lag a tick (a second less
    than the real span is possible at a boundary). How late each event came (the count
    of the first read, the rounding of the next expiry) depends on the machine."""
    match = SHAPE.fullmatch(stdout)
    assert match, stdout
    first, t_first, second, t_second, t_usr1, t_chld = map(int, match.groups())
    assert first >= 1 and second >= 3, stdout
    assert t_first >= 1 and t_second >= max(4, t_first + 2), stdout
    assert t_chld >= t_usr1 >= max(5, t_second), stdout


def test_fdobjects_native(build, native):
    """Natively, the shape: exact times are the host's (load only delays a real run)."""
    check_shape(EXPECTED)
    res = native([build("fdobjects")], timeout=60)
    check_shape(res.stdout)


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


FD_TABLES = (b"after close: settime EINVAL, gettime EINVAL, read 1 'c'\n"
             b"after dup2: settime EINVAL, gettime EINVAL, read 1 'd'\n"
             b"dup: gettime through the original 0, armed yes\n"
             b"dup: read the original 8 count 1\n"
             b"dup: original closed, read the copy 8 count 1\n"
             b"dup: gettime through the copy 0\n"
             b"settime after an expiry, then read: EAGAIN\n"
             b"signalfd dup: read 128 signal SIGUSR1\n"
             b"pidfd closed, a pipe there: send EBADF\n"
             b"pidfd dup: send 0\n"
             b"pidfd dup: waitid 0 child 1 SIGTERM\n"
             b"after exec: settime EINVAL, gettime EINVAL, read 1 'e'\n")


def test_fd_objects_follow_the_open_file_description(build):
    """The timerfd and pidfd tables were keyed by number only: a closed, replaced or
    exec-closed timerfd's number still armed the old timer (0, not EINVAL), and a dup of
    a timerfd or pidfd was not one (EINVAL, EBADF); a signalfd's dup read as an eventfd;
    timerfd_settime kept the expirations counted before it."""
    same_as_native([build("fd_tables")], FD_TABLES)


def test_a_closed_timerfd_stops_and_is_forgotten(build):
    """After its last descriptor is closed (the first through a dup the host never saw
    used), a periodic timerfd's timer is disarmed at its next expiry and the host's
    duplicate closed, instead of firing every millisecond for the rest of the run."""
    with SimHost() as host:
        p = host.spawn([build("fd_tables"), "closed"])
        host.run_for(5)
        engine = host._engine
        assert p.stdout == b"read the copy 8, expired yes\n"
        assert engine.timerfds == {}
        assert all(not objects for objects in engine._fd_objects.values())
        host.run()
        assert p.stdout.endswith(b"slept\n") and p.exit_status == Exited(0)


def test_timerfd_and_signalfd_calls_tell_a_closed_descriptor_from_another_kind(build):
    """timerfd_gettime, timerfd_settime and signalfd answered EINVAL for every
    descriptor that was not one of the host's: a closed one is EBADF (LTP's
    timerfd_gettime01, timerfd_settime01, signalfd02)."""
    same_as_native([build("fd_kind_errors")],
                   b"closed: gettime -1 EBADF\nclosed: settime -1 EBADF\n"
                   b"closed: signalfd -1 EBADF\nminus1: gettime -1 EBADF\n"
                   b"minus1: settime -1 EBADF\npipe: gettime -1 EINVAL\n"
                   b"pipe: settime -1 EINVAL\npipe: signalfd -1 EINVAL\n"
                   b"timerfd gettime 0 \nsignalfd again 0 \n")


def test_clone3_checks_its_exit_signal(build):
    """The native clone3 is given no exit signal, so the host never checked the
    program's: 256, 65 and a signal with CLONE_PARENT started children (LTP's
    clone302)."""
    same_as_native([build("clone3_pidfd"), "args"],
                   b"exit_signal 256 flags 0: -1 EINVAL\nexit_signal 65 flags 0: -1 EINVAL\n"
                   b"exit_signal 17 flags 0x8000: -1 EINVAL\n"
                   b"extra byte set, exit_signal 256: -1 E2BIG\n")


CLONE_PIDFD_CHILD = (b"child got SIGUSR1 value %d\nsend with another si_signo -1 EINVAL\n"
                     b"send 0\nwaitid 0 code 1 status 0\n")


def test_clone_pidfd_names_the_child(build):
    """The pidfd a CLONE_PIDFD clone or clone3 writes was not known as one: sending
    through it failed (EBADF), waitid(P_PIDFD) too; a siginfo naming another signal
    than the one sent was queued as the one sent (pidfd_send_signal(2): EINVAL). LTP's
    clone301, pidfd_send_signal02."""
    same_as_native([build("clone3_pidfd")],
                   CLONE_PIDFD_CHILD % 777 + b"parent got SIGUSR2\n" + CLONE_PIDFD_CHILD % 42)


def test_nonblocking_pidfd_waitid_fails_with_eagain(build):
    """waitid(P_PIDFD) on a PIDFD_NONBLOCK pidfd blocked until the child ended
    (waitid(2): EAGAIN; LTP's pidfd_open04)."""
    same_as_native([build("pidfd_checks")],
                   b"running, waitid -1 EAGAIN\nrunning, WNOHANG: waitid 0 si_pid 0\n"
                   b"poll 1\nended, waitid 0 child 1 status 3\n")


def test_init_cannot_be_signaled_by_another_user(build):
    """The host's init (no native process; its /proc status shows the machine test
    process's ids) took any user's signal, and a descriptor of its rendered /proc/1
    was no process's (EBADF): both are kill(2)'s EPERM for a user without CAP_KILL
    (LTP's pidfd_send_signal02)."""
    if os.geteuid() != 0:
        pytest.skip("the program needs root to take another user id")
    same_as_native([build("pidfd_checks"), "init"],
                   b"kill -1 EPERM\npidfd_send_signal -1 EPERM\n")
