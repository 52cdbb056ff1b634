"""Job control of a terminal's background groups and what the holder of a pty's master
sends (kernel/tty.py, syscalls/tty.py): tests/programs/jobctl.c forkpty(3)s a session
leader that runs jobs, natively and in a host, and both must print the same lines.
Natively the real line discipline stops and signals them; in a host no program leads a
session natively, so every line here is the model's: SIGTTIN for a background read,
SIGTTOU for a write with TOSTOP and for the termios-changing ioctls (EINTR after a
handler without SA_RESTART, EIO when blocked, ignored or orphaned), TIOCSIG, the
ISIG characters written to the master and TIOCSWINSZ's SIGWINCH, and the hang-up when
the master is closed."""
import re

import pytest

from .conftest import run_native, same_as_native

EXPECTED = {
    "calls": b"""\
job (TOSTOP off, handlers without SA_RESTART):
  tcgetattr: ok, handler -
  tcsetattr TCSANOW: EINTR, handler SIGTTOU
  tcsetattr TCSADRAIN: EINTR, handler SIGTTOU
  tcsetattr TCSAFLUSH: EINTR, handler SIGTTOU
  TIOCSWINSZ: ok, handler -
  TIOCSWINSZ NULL: EFAULT, handler -
  TCSETS NULL: EINTR, handler SIGTTOU
  tcflush: EINTR, handler SIGTTOU
  tcdrain: EINTR, handler SIGTTOU
  tcflow: EINTR, handler SIGTTOU
  tcsendbreak: EINTR, handler SIGTTOU
  write: ok, handler -
  read: EINTR, handler SIGTTIN
job (TOSTOP on):
  write: EINTR, handler SIGTTOU
  writev: EINTR, handler SIGTTOU
job (both blocked):
  tcsetattr: ok, handler -
  write: ok, handler -
  read: EIO, handler -
job (both ignored):
  tcsetattr: ok, handler -
  write: ok, handler -
  read: EIO, handler -
job (non-blocking):
  read: EINTR, handler SIGTTIN
leader: job exited 0
driver: leader exited 0
""",
    "hangup": b"""\
leader: tcsetpgrp to the job: ok
leader: SIGHUP SI_KERNEL, SIGCONT SI_KERNEL
job: SIGHUP code=SI_KERNEL
driver: leader exited 0
""",
    "hangup-read": b"""\
leader: read EIO, handler SIGHUP
leader: read 0 bytes
driver: leader exited 0
""",
    "isig": b"""\
leader: tcsetpgrp to the job: ok
job: SIGINT code=SI_KERNEL, SIGWINCH 0
job: SIGQUIT code=SI_KERNEL, SIGWINCH 0
job: read 2 bytes
job: read 2 bytes
leader: job stopped SIGTSTP
leader: job signaled SIGKILL
driver: leader exited 0
""",
    "orphan": b"""\
leader: job exited 0
orphan: read EIO, write EIO, tcsetattr EIO, tcsetpgrp ENOTTY
driver: leader exited 0
""",
    "tiocsig": b"""\
leader: tcsetpgrp to the job: ok
job: SIGINT code=SI_KERNEL, SIGWINCH 0
job: SIGQUIT code=SI_KERNEL, SIGWINCH 0
job: read 2 bytes
driver: TIOCSIG SIGINT: ok
driver: TIOCSIG SIGTERM: EINVAL
driver: TIOCSIG SIGQUIT: ok
leader: job stopped SIGTSTP
leader: job signaled SIGKILL
driver: leader exited 0
""",
    "ttin": b"""\
leader: job stopped SIGTTIN
  tcsetpgrp to the job: ok
job: read 6 bytes
leader: job exited 0
driver: leader exited 0
""",
    "ttou": b"""\
leader: job stopped SIGTTOU
  tcsetpgrp to the job: ok
job: write ok, handler -
leader: job exited 0
driver: leader exited 0
""",
    "winch": b"""\
leader: tcsetpgrp to the job: ok
job: SIGWINCH code=SI_KERNEL, SIGWINCH 1
job: SIGINT code=SI_KERNEL, SIGWINCH 1
job: SIGWINCH code=SI_KERNEL, SIGWINCH 2
leader: job stopped SIGTSTP
leader: job signaled SIGKILL
driver: leader exited 0
""",
}


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_jobctl_same_as_native(build, mode):
    report = same_as_native([build("jobctl"), mode], EXPECTED[mode])
    assert not report["host"]["refused"], report["host"]


# bash's job control through a terminal a program of the host holds: a background
# job stopped by SIGTTIN (the subshell reads 0.2 s after `&`, jobs looks a second
# after it), fg, ^D, ^Z; at the exit, the stopped cat's group is orphaned (SIGHUP).
# The fg job ends with ^D, not ^C: on a loaded machine native bash often never
# prompts again after that job dies of the ^C's SIGINT (30 of 30 runs with two CPU
# hogs), and a host run did so once in a fresh-clone CI run (16 of 16 under the same
# hogs passed; not pinned down); with ^D every run passed. ^C, ^\ and ^Z written to
# a master are jobctl.c's isig mode, native = host.
BASH_STEPS = ["sleep 100 &\n\t@> ", "(sleep 0.2; cat) &\n\t@> ", "~jobs\n\t@> ",
              "fg %2\n\tcat )\n", "hello\n\thello\nhello\n", "\x04\t@> ", "jobs\n\t@> ",
              "cat\n\tcat\n", "~\x1a\t@> ", "kill %1; wait %1\n\t@> ", "jobs\n\t@> ",
              "exit\n\texit\n"]
BASH_TRANSCRIPT = b"""\
@> sleep 100 &
[1] PID
@> (sleep 0.2; cat) &
[2] PID
@> jobs
[1]-  Running                 sleep 100 &
[2]+  Stopped                 ( sleep 0.2; cat )
@> fg %2
( sleep 0.2; cat )
hello
hello
@> jobs
[1]+  Running                 sleep 100 &
@> cat
^Z
[2]+  Stopped                 cat
@> kill %1; wait %1
[1]-  Terminated              sleep 100
@> jobs
[2]+  Stopped                 cat
@> exit
exit

driver: shell exited 0
"""


def _without_pids(transcript: bytes) -> bytes:
    return re.sub(rb"(?m)^\[(\d)\] \d+$", rb"[\1] PID", transcript)


def test_bash_job_control_same_as_native(build, tool, clean_env):
    from pytest_simproc import Exited, SimHost
    argv = [str(build("ptydrive")), tool("bash"), *BASH_STEPS]
    native = run_native(argv, env=clean_env, timeout=60)
    # The transcript is the native one (15-20 identical runs on an idle machine). On a
    # loaded one native bash misses the ^C: with two CPU hogs and six drivers at once,
    # 30 of 30 runs waited 20 s for the prompt after it (exit 100), so a native run
    # that did not finish is no reference; one that finished must match.
    if native.returncode == 0:
        assert _without_pids(native.stdout) == BASH_TRANSCRIPT
    with SimHost() as host:
        p = host.spawn(argv, env=clean_env)
        host.run()
        assert p.exit_status == Exited(0), p.stdout
        assert _without_pids(p.stdout) == BASH_TRANSCRIPT
