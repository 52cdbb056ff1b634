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

from .conftest import FakeMem, collapse, nr

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


# ------------------------------------------------------------------------------ threads
THREADS_PROGRAM = r"""
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static void *writer(void *arg) { (void)arg; write(1, "worker\n", 7); return NULL; }
static void *sleeper(void *arg) { (void)arg; for (;;) pause(); return NULL; }

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    pthread_join(t, NULL);
    write(1, "main\n", 5);
    pthread_create(&t, NULL, sleeper, NULL);
    kill(getpid(), SIGTERM);
    for (;;)
        pause();
}
"""
# Hex numbers this long are addresses (ASLR natively, fixed in the host).
ADDRESS = re.compile(r"0x[0-9a-f]{9,}")


def _same_stack_limit():
    # glibc sizes thread stacks from RLIMIT_STACK, which the host sets to 8 MiB
    import resource
    resource.setrlimit(resource.RLIMIT_STACK, (8 << 20, resource.RLIM_INFINITY))


@pytest.fixture(scope="module")
def threads_traced(tmp_path_factory):
    """The threads program under strace -ff and strace -f, and in a host; each side's
    per-thread files ({tid: lines}), merged log and [main, writer, sleeper] tids."""
    from pytest_simproc import SimHost, Signaled

    d = tmp_path_factory.mktemp("vs_strace_threads")
    src = d / "threads.c"
    src.write_text(THREADS_PROGRAM)
    exe = d / "threads"
    subprocess.run([CC, "-O0", "-pthread", "-o", str(exe), str(src)], check=True)
    runs = [subprocess.run([STRACE, *how, "-o", str(d / out), str(exe)],
                           capture_output=True, preexec_fn=_same_stack_limit)
            for how, out in ((["-ff"], "ff"), (["-f"], "f.txt"))]
    if any(b"ptrace" in r.stderr for r in runs):
        pytest.skip("strace cannot trace here: %s" % runs[0].stderr.decode()[-200:])
    real_files = {int(name[3:]): (d / name).read_text().splitlines()
                  for name in os.listdir(d) if name.startswith("ff.")}
    host_dir = d / "host"
    with SimHost(strace="standard", data_dir=str(host_dir)) as host:
        proc = host.spawn([str(exe)])
        host.run()
        assert proc.exit_status == Signaled(15)
        our_merged = host.strace_lines()
        our_files = {int(name.split(".")[-2]): (host_dir / name).read_text().splitlines()
                     for name in os.listdir(host_dir) if name.startswith("simhost.threads.")
                     and name.endswith(".strace")}
    real_merged = (d / "f.txt").read_text().splitlines()
    return {"real": (real_files, real_merged, _tids(real_files), _merged_tids(real_merged)),
            "ours": (our_files, our_merged, _tids(our_files), _merged_tids(our_merged))}


def _tids(files):
    """[main, writer, sleeper]: the main thread's file starts with execve; its clone3
    calls return the others' tids in creation order."""
    main = next(tid for tid, lines in files.items() if lines[0].startswith("execve("))
    return [main] + _created(files[main])


def _merged_tids(merged):
    """[main, writer, sleeper] of a merged log (another run's tids natively)."""
    main = int(merged[0].split()[0])
    return [main] + _created(line.split(None, 1)[1] for line in merged
                             if int(line.split()[0]) == main)


def _created(lines):
    """The tids clone3 returned (strace shows "=> {parent_tid=[TID]}" at its exit)."""
    return [int(m[1]) for line in lines
            if (m := re.search(r"=> \{parent_tid=\[(\d+)\]\}", line))]


def _normal(lines, tids):
    """Lines with addresses and the three tids made run-independent (and so the
    alignment padding that depends on their width)."""
    names = dict(zip(tids, ("MAIN", "WRITER", "SLEEPER")))
    out = []
    for line in lines:
        line = ADDRESS.sub("ADDR", line)
        out.append(collapse(re.sub(r"\b\d{3,}\b", lambda m: names.get(int(m[0]), m[0]),
                                   line)))
    return out


def test_each_thread_has_its_own_file_like_strace_ff(threads_traced):
    for side in ("real", "ours"):
        files, _, tids, _ = threads_traced[side]
        assert sorted(files) == sorted(tids), side
    real_files, _, real_tids, _ = threads_traced["real"]
    our_files, _, our_tids, _ = threads_traced["ours"]
    # the writer's whole life, call for call
    assert _normal(our_files[our_tids[1]], our_tids) == \
        _normal(real_files[real_tids[1]], real_tids)
    assert real_files[real_tids[1]][-2:] == ["exit(0)                                 = ?",
                                             "+++ exited with 0 +++"]

    def main_from_first_clone_to_kill(files, tids):
        lines = files[tids[0]]
        start = next(i for i, line in enumerate(lines) if line.startswith("clone3("))
        end = next(i for i, line in enumerate(lines) if line.startswith("kill("))
        # Natively racy, so left out: pthread_join waits on a futex only if the writer
        # has not ended yet; after kill(), the sleeper may take the SIGTERM while the
        # main thread goes on into pause().
        return [line for line in _normal(lines[start:end + 1], tids)
                if not line.startswith("futex(")]

    assert main_from_first_clone_to_kill(our_files, our_tids) == \
        main_from_first_clone_to_kill(real_files, real_tids)
    assert real_files[real_tids[0]][-1] == "+++ killed by SIGTERM +++"
    # the sleeper was killed with its process, wherever it was
    for side in ("real", "ours"):
        files, _, tids, _ = threads_traced[side]
        assert files[tids[2]][-1] == "+++ killed by SIGTERM +++", side


def test_merged_log_prefixes_each_line_with_its_tid_like_strace_f(threads_traced):
    for side in ("real", "ours"):
        _, merged, _, tids = threads_traced[side]
        main, writer, sleeper = tids
        by_tid = {}
        for line in merged:
            tid, text = line.split(None, 1)
            by_tid.setdefault(int(tid), []).append(text)
        assert set(by_tid) == set(tids), side
        # (natively, another thread's line may cut it: only the entry part is sure)
        assert any(t.startswith('write(1, "worker\\n", 7') for t in by_tid[writer]), side
        assert by_tid[writer][-1] == "+++ exited with 0 +++", side
        # one thread (natively any that does not block it) takes the SIGTERM
        assert sum(t.startswith("--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER")
                   for t in by_tid[main] + by_tid[sleeper]) == 1, side
        # every thread ends with its process, the main thread last (the leader's end
        # is reported once the others are gone)
        ends = [line.split(None, 1) for line in merged if "+++ killed by" in line]
        assert ends == [[str(sleeper), "+++ killed by SIGTERM +++"],
                        [str(main), "+++ killed by SIGTERM +++"]], side
        assert merged[-1] == "%-5d +++ killed by SIGTERM +++" % main, side
