"""Controlling terminals (kernel/tty.py, syscalls/tty.py): tests/programs/ctty.c runs
natively and in a host and must print the same lines: TIOCSCTTY after setsid and its
refusals, tcgetpgrp/tcgetsid from either side of a pty, /dev/tty, /proc/self/stat's
tty_nr and tpgid, TIOCNOTTY in a member and in the leader, tcsetpgrp from a background
group (SIGTTOU's default stop, ignored, a handler without SA_RESTART), the leader's
exit hanging up the foreground group, and forkpty(3)."""
import pytest

from .conftest import same_as_native

EXPECTED = {
    "take": b"""\
parent: tcgetpgrp(slave) Inappropriate ioctl for device
child:
  TIOCSCTTY before setsid: Operation not permitted
  TIOCSCTTY: ok
  TIOCSCTTY again: ok
  tcgetpgrp self, tcgetsid self
  stat: tty_nr slave, tpgid self
  TIOCSCTTY of a second terminal: Operation not permitted
  tcsetpgrp -1: Invalid argument, 0: No such process, 999999: No such process
  tcsetpgrp of the parent's group: Operation not permitted
  tcsetpgrp of a terminal not ours: Inappropriate ioctl for device
  tcsetpgrp of a pipe: Inappropriate ioctl for device
  open /dev/tty: ok
grandchild: setsid: self
  tcgetpgrp Inappropriate ioctl for device
  open /dev/tty: No such device or address
  TIOCSCTTY of the leader's terminal: Operation not permitted
  stat: tty_nr none, tpgid -1
parent: tcgetpgrp(master) child yes, tcgetsid(master) child yes
parent: tcgetpgrp(slave) Inappropriate ioctl for device
parent: master reads via /dev/tty
parent: child exited 0
""",
    "notty": b"""\
no terminal: TIOCNOTTY Inappropriate ioctl for device
  TIOCSCTTY: ok
  TIOCNOTTY on the master: Inappropriate ioctl for device
member: TIOCNOTTY ok
  tcgetpgrp Inappropriate ioctl for device
  member pending:
leader: tcgetpgrp self
  TIOCNOTTY: ok
  tcgetpgrp Inappropriate ioctl for device
  open /dev/tty: No such device or address
  leader pending: SIGHUP SIGCONT
  leader got SIGHUP code=SI_USER from self
  leader got SIGCONT code=SI_USER from self
  member pending: SIGHUP SIGCONT
  member got SIGHUP code=SI_USER from leader
  member got SIGCONT code=SI_USER from leader
  TIOCSCTTY once more: ok
parent: child exited 0
""",
    "ttou-default": b"""\
  TIOCSCTTY: ok
leader: job stopped SIGTTOU
  tcsetpgrp to the job: ok
job: tcsetpgrp ok, handler ran 0, tcgetpgrp own group
leader: job exited 0
parent: child exited 0
""",
    "ttou-ignore": b"""\
  TIOCSCTTY: ok
job: tcsetpgrp ok, handler ran 0, tcgetpgrp own group
leader: job exited 0
parent: child exited 0
""",
    "ttou-handler": b"""\
  TIOCSCTTY: ok
job: tcsetpgrp Interrupted system call, handler ran 1, tcgetpgrp other
leader: job exited 0
parent: child exited 0
""",
    "exit": b"""\
  TIOCSCTTY: ok
leader: tcsetpgrp to the job: ok
job: SIGHUP code=SI_KERNEL
parent: leader exited 0, then the job ended
""",
    "forkpty": b"""\
child: leader yes, tcgetpgrp self, tcgetsid self
parent: child exited 0
""",
}


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_ctty_same_as_native(build, mode):
    report = same_as_native([build("ctty"), mode], EXPECTED[mode])
    assert not report["host"]["refused"], report["host"]


def test_writes_to_a_slowly_read_pty_return_whole_same_as_native(build):
    """ptyflood.c: 20,000 one-line writes to a pty's slave, read slowly from the master.
    A blocking write to a terminal may sleep half way whatever its size (POLLOUT means
    some room, ONLCR doubles a newline): the host finishes each from its duplicate as
    the reader makes room, instead of the writer blocking natively (the watchdog killed
    it, as pexpect's test_before_across_chunks showed with `nl`)."""
    same_as_native([build("ptyflood")],
                   b"read 240000 bytes, lines in order\nwriter exited 0\n")
