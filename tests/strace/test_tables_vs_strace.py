"""The tables format.py takes from the errno, signal, python-ptrace and termios modules,
checked against the real strace: the names it prints for every errno, signal and x86_64
system call number, each call's argument count, and the ioctl requests it decodes.

One C program makes the calls under a seccomp filter that fails every one of them with
an errno of the program's choosing (seccomp(2): SECCOMP_RET_ERRNO), so nothing it asks
for runs; strace still decodes each call at entry. The ioctl(2) requests format.py
classifies (an int in, an int out, no argument, an integer or a named argument, a
winsize) are made the same way. Skipped when strace or a C compiler is absent, or strace
cannot trace here.
"""
from __future__ import annotations

import re
import shutil
import struct
import subprocess

import pytest

from pytest_simproc.strace import format as fmt

from .conftest import FakeMem

CC = shutil.which("cc") or shutil.which("gcc")
STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(not (CC and STRACE), reason="needs strace and a C compiler")

ERRNOS = list(range(1, 134)) + list(range(512, 531))
SIGNALS = range(0, 66)
NO_KILL_PID = 0x7FFFFFFF        # kill(2) to no process: ESRCH, nothing is delivered
# Calls the kernel lets past a seccomp filter (uretprobe, uprobe): never made.
UNFILTERED = {335, 336}
SWEEP = [n for n in range(0, 480) if n not in UNFILTERED and n != 231]
WINSIZE = (24, 80, 640, 480)
# every request format.py decodes, with a pointer to WINSIZE as its argument ...
IOCTL_POINTER = ["TIOCSPGRP", "FIONBIO", "TIOCSPTLCK", "FIOASYNC", "TIOCGPGRP", "FIONREAD",
                 "TIOCOUTQ", "TIOCGSID", "TIOCGPTN", "TIOCGWINSZ", "TIOCSWINSZ", "FIONCLEX",
                 "FIOCLEX", "TIOCNOTTY", "TCGETS"]
# ... and those whose argument is a value, with each of these
IOCTL_VALUE = [(name, value) for name in ("TIOCSCTTY", "TCSBRK", "TCXONC", "TCFLSH")
               for value in (0, 1, 2, 3, 7, -5 & (2 ** 64 - 1), 2 ** 32 + 1)]

PROGRAM = r"""
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned short winsize[4] = {WINSIZE};

/* exit_group runs; sched_yield fails with its first argument as the errno; every other
   call fails with ENOSYS before it runs. */
static struct sock_filter code[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_exit_group, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sched_yield, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
    BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
    BPF_STMT(BPF_RET | BPF_A, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 38),
};

int main(void)
{
    static const int errnos[] = {ERRNOS};
    static const int sweep[] = {SWEEP};
    static const unsigned long ioctl_pointer[] = {IOCTL_POINTER};
    static const unsigned long ioctl_value[][2] = {IOCTL_VALUE};
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    printf("%lu\n", (unsigned long)winsize);
    fflush(stdout);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
        return 1;
    for (unsigned i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
        syscall(SYS_sched_yield, errnos[i]);
    for (int sig = FIRST_SIG; sig <= LAST_SIG; sig++)
        syscall(SYS_kill, NO_KILL_PID, sig);
    for (unsigned i = 0; i < sizeof sweep / sizeof sweep[0]; i++)
        syscall(sweep[i], 1, 2, 3, 4, 5, 6);
    for (unsigned i = 0; i < sizeof ioctl_pointer / sizeof ioctl_pointer[0]; i++)
        syscall(SYS_ioctl, 3, ioctl_pointer[i], winsize);
    for (unsigned i = 0; i < sizeof ioctl_value / sizeof ioctl_value[0]; i++)
        syscall(SYS_ioctl, 3, ioctl_value[i][0], ioctl_value[i][1]);
    syscall(SYS_exit_group, 0);
    return 0;
}
"""


def _run(d, exe, *options):
    out = d / ("raw.txt" if options else "plain.txt")
    done = subprocess.run([STRACE, "-qq", "-o", str(out), *options, str(exe)],
                          capture_output=True)
    if done.returncode:
        pytest.skip("strace cannot trace here: %s" % done.stderr.decode()[-200:])
    lines = out.read_text().splitlines()
    # the program's own calls start after the filter is in place
    start = next(i for i, line in enumerate(lines) if line.startswith("prctl(PR_SET_SECCOMP")
                 or line.startswith("prctl(0x16,"))
    return lines[start + 1:], int(done.stdout)


def _c_list(values) -> str:
    return "{%s}" % ", ".join("%#xUL" % v if isinstance(v, int) else _c_list(v)
                              for v in values)


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    d = tmp_path_factory.mktemp("tables_vs_strace")
    src = d / "calls.c"
    number = {name: v for v, name in fmt.IOCTLS.names.items()}
    src.write_text(PROGRAM.replace("{ERRNOS}", _c_list(ERRNOS))
                   .replace("{SWEEP}", _c_list(SWEEP))
                   .replace("{WINSIZE}", _c_list(WINSIZE))
                   .replace("{IOCTL_POINTER}", _c_list(number[n] for n in IOCTL_POINTER))
                   .replace("{IOCTL_VALUE}", _c_list((number[n], v) for n, v in IOCTL_VALUE))
                   .replace("FIRST_SIG", str(SIGNALS.start))
                   .replace("LAST_SIG", str(SIGNALS.stop - 1))
                   .replace("NO_KILL_PID", str(NO_KILL_PID)))
    exe = d / "calls"
    subprocess.run([CC, "-O0", "-o", str(exe), str(src)], check=True)
    plain, winsize = _run(d, exe)
    raw = _run(d, exe, "-e", "raw=all")[0]
    cuts = [len(ERRNOS), len(SIGNALS), len(SWEEP), len(IOCTL_POINTER), len(IOCTL_VALUE)]
    parts = {}
    at = 0
    for key, n in zip(("errno", "kill", "sweep", "ioctl_pointer", "ioctl_value"), cuts):
        parts[key] = (raw if key == "sweep" else plain)[at:at + n]
        at += n
    parts["winsize"] = winsize
    return parts


def test_every_errno_as_strace_prints_it(traced):
    """Names (strace's pick among aliases: EAGAIN, EDEADLK, EOPNOTSUPP), the libc's
    messages, the kernel-internal codes and the unnamed numbers 41 and 58."""
    mem = FakeMem()
    assert len(traced["errno"]) == len(ERRNOS)
    for err, real in zip(ERRNOS, traced["errno"]):
        assert real == fmt.format_line("sched_yield", (err, 0, 0, 0, 0, 0), -err, mem)


def test_every_signal_name_as_strace_prints_it(traced):
    """0, SIGHUP..SIGSYS (SIGABRT, SIGCHLD, SIGIO rather than their aliases), SIGRTMIN
    for 32, SIGRT_n above it, decimal past 64."""
    mem = FakeMem()
    assert len(traced["kill"]) == len(SIGNALS)
    for sig, real in zip(SIGNALS, traced["kill"]):
        assert real == fmt.format_line("kill", (NO_KILL_PID, sig), -38, mem)


def test_every_syscall_name_and_argument_count_as_strace_has_them(traced):
    """Each number strace names has our name and as many arguments (strace -e raw=all
    prints them all); numbers newer than this strace print as syscall_0x..."""
    assert len(traced["sweep"]) == len(SWEEP)
    known = 0
    for number, real in zip(SWEEP, traced["sweep"]):
        name, args = re.match(r"(\w+)\((.*)\) += ", real).groups()
        if name.startswith("syscall_0x"):
            continue
        known += 1
        assert (number, name, len(args.split(", ")) if args else 0) == \
            (number,) + fmt.SYSCALLS[number][:2], real
    assert known > 350


def test_ioctl_requests_as_strace_prints_them(traced):
    """The request names (termios's values), which argument is read at entry (an int,
    a winsize), which is left for the exit (an address, as the call failed), which has
    none, and how a value argument prints (TCXONC's and TCFLSH's by name)."""
    mem = FakeMem()
    mem.put(struct.pack("<4H", *WINSIZE), traced["winsize"])
    number = {name: v for v, name in fmt.IOCTLS.names.items()}
    assert len(traced["ioctl_pointer"]) == len(IOCTL_POINTER)
    for name, real in zip(IOCTL_POINTER, traced["ioctl_pointer"]):
        assert real == fmt.format_line("ioctl", (3, number[name], traced["winsize"], 0, 0, 0),
                                       -38, mem)
    assert len(traced["ioctl_value"]) == len(IOCTL_VALUE)
    for (name, value), real in zip(IOCTL_VALUE, traced["ioctl_value"]):
        assert real == fmt.format_line("ioctl", (3, number[name], value, 0, 0, 0), -38, mem)
