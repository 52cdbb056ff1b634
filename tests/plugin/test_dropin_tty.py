"""Drop-in mode: a child the test makes with pty.fork() leads a session whose
controlling terminal is the pty, in the host as natively (kernel/tty.py), the way
dumb-init's tty tests use it: a shell under it has job control, and the leader's
TIOCNOTTY sends its foreground group SIGHUP and SIGCONT; ^C written to the master
interrupts the foreground group once; closing the master hangs up the session leader. No simproc API in the inner
suite; it passes natively and under ``--simproc``, and under ``--simproc`` the children
were the host's (virtual pids).
"""
from __future__ import annotations

import shutil

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import fcntl
import json
import os
import pty
import re
import signal
import termios


def readall(fd):
    data = b""
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # EIO: no slave side left
            return data
        if not chunk:
            return data
        data += chunk


def raw(fd):
    attrs = termios.tcgetattr(fd)
    attrs[1] &= ~termios.OPOST
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def test_a_shell_on_the_pty_has_job_control():
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(BASH, [BASH, "--norc", "--noprofile", "-m"], {"PATH": "/usr/bin:/bin"})
    raw(fd)
    os.write(fd, b'echo "flags [[$-]] $$ $(ps -o tpgid= -p $$)"\nexit 0\n')
    output = readall(fd)
    assert os.waitpid(pid, 0) == (pid, 0), output
    m = re.search(rb"flags \[\[([a-zA-Z]+)\]\] (\d+) +(\d+)", output)
    assert m, output
    assert b"m" in m.group(1)
    shell, tpgid = int(m.group(2)), int(m.group(3))
    assert shell == pid and tpgid == pid  # bash took the terminal for its own group
    print("OBSERVED", json.dumps(["shell", shell]))


def test_the_leader_s_tiocnotty_hangs_up_its_foreground_group():
    pid, fd = pty.fork()
    if pid == 0:
        got = []
        for sig in (signal.SIGHUP, signal.SIGCONT):
            signal.signal(sig, lambda s, frame: got.append(signal.Signals(s).name))
        before = [os.getsid(0) == os.getpid(), os.tcgetpgrp(0) == os.getpgrp()]
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP, signal.SIGCONT})
        fcntl.ioctl(0, termios.TIOCNOTTY)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP, signal.SIGCONT})
        try:
            os.tcgetpgrp(0)
            after = "still"
        except OSError as exc:
            after = exc.errno
        os.write(1, json.dumps([os.getpid(), before, sorted(got), after]).encode())
        os._exit(0)
    raw(fd)
    child, before, got, after = json.loads(readall(fd))
    assert os.waitpid(pid, 0) == (pid, 0)
    assert child == pid and before == [True, True]
    assert got == ["SIGCONT", "SIGHUP"]
    assert after == 25  # ENOTTY: no controlling terminal any more
    print("OBSERVED", json.dumps(["tiocnotty", child]))


def test_ctrl_c_on_the_master_interrupts_the_foreground_group_once():
    pid, fd = pty.fork()
    if pid == 0:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        grandchild = os.fork()
        who = "grandchild" if grandchild == 0 else "child"
        os.write(1, b"ready\n")
        info = signal.sigwaitinfo({signal.SIGINT})
        again = signal.sigtimedwait({signal.SIGINT}, 0.5)  # only one comes
        os.write(1, f"{who} {info.si_code} {again}\n".encode())
        if grandchild:
            os.waitpid(grandchild, 0)
        os._exit(0)
    raw(fd)
    output = b""
    while output.count(b"ready") < 2:
        output += os.read(fd, 1024)
    os.write(fd, b"\x03")
    output += readall(fd)
    assert os.waitpid(pid, 0) == (pid, 0)
    lines = sorted(output.decode().split("\n")[2:-1])
    assert lines == ["child 128 None", "grandchild 128 None"], output  # SI_KERNEL
    print("OBSERVED", json.dumps(["ctrl-c", pid]))


def test_closing_the_master_hangs_up_the_session_leader():
    r, w = os.pipe()
    pid, fd = pty.fork()
    if pid == 0:
        os.close(r)
        hangup = {signal.SIGHUP, signal.SIGCONT}
        signal.pthread_sigmask(signal.SIG_BLOCK, hangup)
        grandchild = os.fork()
        who = "grandchild" if grandchild == 0 else "child"
        os.write(1, b"ready\n")
        got = []
        while info := signal.sigtimedwait(hangup, 1 if got or grandchild == 0 else 30):
            got.append([signal.Signals(info.si_signo).name, info.si_code])
        os.write(w, (json.dumps([who, got]) + "\n").encode())
        if grandchild:
            os.waitpid(grandchild, 0)
        os._exit(0)
    os.close(w)
    output = b""
    while output.count(b"ready") < 2:
        output += os.read(fd, 1024)
    os.close(fd)
    seen = sorted(json.loads(line) for line in os.fdopen(r).read().splitlines())
    assert os.waitpid(pid, 0) == (pid, 0)
    # only the leader, with SI_KERNEL; its foreground group gets them at its exit
    assert seen == [["child", [["SIGHUP", 128], ["SIGCONT", 128]]], ["grandchild", []]]
    print("OBSERVED", json.dumps(["hang-up", pid]))
"""


def _run(observed, *args):
    bash = shutil.which("bash", path="/usr/bin:/bin")
    if bash is None:
        pytest.skip("no bash")
    return dict(observed(f"BASH = {bash!r}\n" + INNER, args, passed=4, timeout=600))


def test_the_tty_suite_passes_natively(observed):
    assert set(_run(observed)) == {"shell", "tiocnotty", "ctrl-c", "hang-up"}


def test_under_simproc_the_tty_suite_passes_in_the_host(observed):
    seen = _run(observed, "--simproc")
    assert set(seen) == {"shell", "tiocnotty", "ctrl-c", "hang-up"}
    assert all(1000 <= pid < 1100 for pid in seen.values()), seen
