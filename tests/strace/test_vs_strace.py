"""The real strace and ours, line by line, for the same calls and the same values.

A tiny C program runs under ``strace -ff`` (per-process files, plain lines) and
``strace -f`` (one file, pid prefixes); its calls are then fed by hand, with the
values strace saw, into our formatter. Skipped when strace or a C compiler is absent.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess

import pytest

from pytest_simproc.strace import StraceLog, format as fmt

from .conftest import FakeMem, nr

CC = shutil.which("cc") or shutil.which("gcc")
STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(not (CC and STRACE), reason="needs strace and a C compiler")

PROGRAM = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void handler(int sig) { (void)sig; }

int main(void)
{
    getpid();
    write(1, "hi\n", 3);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    open("/nonexistent/simproc", O_RDONLY);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    struct rlimit rl = {1024, 4096};
    setrlimit(RLIMIT_NOFILE, &rl);
    pid_t child = fork();
    if (child == 0)
        _exit(3);
    int status;
    waitpid(child, &status, 0);
    return 0;
}
"""
ENV = {"SIMPROC_A": "1", "SIMPROC_B": "2", "SIMPROC_C": "3"}


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """Run the program under strace -ff and strace -f; return the parsed outputs."""
    d = tmp_path_factory.mktemp("vs_strace")
    src = d / "prog.c"
    src.write_text(PROGRAM)
    exe = d / "prog"
    subprocess.run([CC, "-O0", "-o", str(exe), str(src)], check=True)
    ff = subprocess.run([STRACE, "-ff", "-s", "32", "-o", str(d / "ff"), str(exe)], env=ENV,
                        capture_output=True)
    f = subprocess.run([STRACE, "-f", "-o", str(d / "f.txt"), str(exe)], env=ENV,
                       capture_output=True)
    if ff.returncode or f.returncode:
        pytest.skip("strace cannot trace here: %s" % (ff.stderr or f.stderr).decode()[-200:])
    files = {}
    for name in os.listdir(d):
        if name.startswith("ff."):
            files[int(name[3:])] = (d / name).read_text().splitlines()
    parent = next(pid for pid, lines in files.items() if lines and lines[0].startswith("execve"))
    child = next(pid for pid in files if pid != parent)
    merged = (d / "f.txt").read_text().splitlines()
    return {"exe": str(exe), "parent": parent, "child": child, "files": files,
            "merged": merged}


def find(lines, prefix):
    for line in lines:
        if line.startswith(prefix):
            return line
    raise AssertionError("no line starts with %r in:\n%s" % (prefix, "\n".join(lines)))


def ours(name, args, result, mem):
    return fmt.format_line(name, tuple(args) + (0,) * (6 - len(args)), result, mem)


def test_plain_lines(traced):
    parent, lines = traced["parent"], traced["files"][traced["parent"]]
    mem = FakeMem()
    assert find(lines, "getpid(") == ours("getpid", (), parent, mem)
    buf = mem.put(b"hi\n")
    assert find(lines, "write(1,") == ours("write", (1, buf, 3), 3, mem)
    ts = mem.put(struct.pack("<qq", 0, 1000000))
    real = find(lines, "clock_nanosleep(CLOCK_REALTIME") if any(
        x.startswith("clock_nanosleep(CLOCK_REALTIME") for x in lines) else find(lines, "nanosleep(")
    if real.startswith("clock_nanosleep"):
        assert real == ours("clock_nanosleep", (0, 0, ts, 0), 0, mem)
    else:
        assert real == ours("nanosleep", (ts, 0), 0, mem)
    assert find(lines, "clock_nanosleep(CLOCK_MONOTONIC") == \
        ours("clock_nanosleep", (1, 0, ts, 0), 0, mem)
    path = mem.cstr("/nonexistent/simproc")
    assert find(lines, 'openat(AT_FDCWD, "/nonexistent') == \
        ours("openat", ((-100) & (2 ** 64 - 1), path, 0), -2, mem)
    sset = mem.put(struct.pack("<Q", (1 << 16) | (1 << 9)))
    assert find(lines, "rt_sigprocmask(SIG_BLOCK, [USR1") == \
        ours("rt_sigprocmask", (0, sset, 0, 8), 0, mem)
    assert find(lines, "rt_sigprocmask(SIG_UNBLOCK, [USR1") == \
        ours("rt_sigprocmask", (1, sset, 0, 8), 0, mem)
    rl = mem.put(struct.pack("<QQ", 1024, 4096))
    if any(x.startswith("setrlimit(") for x in lines):      # older glibc
        real = find(lines, "setrlimit(RLIMIT_NOFILE")
        assert real == ours("setrlimit", (7, rl), 0, mem)
    else:
        real = find(lines, "prlimit64(0, RLIMIT_NOFILE, {")
        assert real == ours("prlimit64", (0, 7, rl, 0), 0, mem)
    assert "rlim_max=4*1024" in real


def test_addresses_in_standard_mode(traced):
    lines = traced["files"][traced["parent"]]
    mem = FakeMem()
    real = find(lines, "rt_sigaction(SIGUSR1,")
    handler, restorer = (int(x, 16) for x in re.findall(r"=(0x[0-9a-f]+)", real))
    act = mem.put(struct.pack("<QQQQ", handler, 0x14000000, restorer, 0))
    assert real == ours("rt_sigaction", (10, act, 0, 8), 0, mem)
    real = find(lines, "execve(")
    envp_addr = int(re.search(r"\], (0x[0-9a-f]+) /\*", real).group(1), 16)
    path = mem.cstr(traced["exe"])
    argv = mem.strings([traced["exe"]])
    envp = mem.strings(["%s=%s" % kv for kv in ENV.items()])
    mem.regions[envp_addr] = mem.regions.pop(envp)
    assert real == ours("execve", (path, argv, envp_addr), 0, mem)
    assert "/* 3 vars */" in real


def test_child_wait_status_exit_and_sigchld(traced, monkeypatch):
    parent, child = traced["parent"], traced["child"]
    lines, clines = traced["files"][parent], traced["files"][child]
    mem = FakeMem()
    status = mem.put(struct.pack("<i", 3 << 8))
    assert find(lines, "wait4(") == ours("wait4", (child, status, 0, 0), child, mem)
    assert find(clines, "exit_group(") == _noreturn_line("exit_group", (3,), mem)
    assert clines[-1] == "+++ exited with 3 +++"
    assert find(lines, "exit_group(") == _noreturn_line("exit_group", (0,), mem)
    assert lines[-1] == "+++ exited with 0 +++"
    # strace also prints si_utime/si_stime; the format leaves them out
    real = find(lines, "--- SIGCHLD")
    utime, stime = (int(x) for x in re.search(r"si_utime=(\d+), si_stime=(\d+)", real).groups())
    info = struct.pack("<iiiiiIiiqq", 17, 0, 1, 0, child, os.getuid(), 3, 0, utime, stime)
    monkeypatch.setattr(fmt, "SIGCHLD_TIMES", True)
    assert real == fmt.signal_line(info, False)
    monkeypatch.setattr(fmt, "SIGCHLD_TIMES", False)
    assert fmt.signal_line(info, False) == re.sub(r", si_utime=\d+, si_stime=\d+", "", real)


def _noreturn_line(name, args, mem):
    c = fmt.Call(0, nr(name), tuple(args) + (0,) * 5, False, 0)
    fmt.begin_call(c, mem)
    return fmt.aligned(name + "(" + c.head + fmt.noreturn_tail(c) + ")", "?")


def test_merged_file_prefix_and_alignment(traced, tmp_path):
    parent, child = traced["parent"], traced["child"]
    merged = traced["merged"]
    real_parent = int(merged[0].split()[0])
    mem = FakeMem()
    log = StraceLog(mode="standard", directory=tmp_path, hostname="h")
    log.process_started(real_parent, "prog")
    call = log.syscall_entry(real_parent, nr("getpid"), (0,) * 6, mem, 0)
    log.syscall_exit(call, real_parent, mem, 0)
    buf = mem.put(b"hi\n")
    call = log.syscall_entry(real_parent, nr("write"), (1, buf, 3, 0, 0, 0), mem, 0)
    log.syscall_exit(call, 3, mem, 0)
    log.exited(real_parent, 0, False, False, 0)
    log.close()
    ours_lines = log.merged_lines()
    assert ours_lines[0] == find(merged, "%-5d getpid(" % real_parent)
    assert ours_lines[1] == find(merged, "%-5d write(1," % real_parent)
    assert ours_lines[2] == merged[-1]
    assert {parent, child} == set(traced["files"])
