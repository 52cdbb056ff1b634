"""Errors the host reports instead of silently misbehaving: missing programs, a process
that never makes a system call (watchdog), threads (refused), unsupported system calls."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time

import pytest
from ptrace.syscall.linux.x86_64 import SYSCALL_NAMES

from pytest_simproc import Exited, SimHost
from pytest_simproc.errors import ProgramNotFoundError, SimprocError, WatchdogError
from pytest_simproc.syscalls import UNSUPPORTED

from .conftest import same_as_native

# --------------------------------------------------------------------- missing programs


def test_program_not_found_error_is_a_simproc_error():
    assert issubclass(ProgramNotFoundError, SimprocError)
    assert issubclass(WatchdogError, SimprocError)


def test_missing_program(tmp_path):
    path = str(tmp_path / "no-such-program")
    with SimHost() as host:
        with pytest.raises(ProgramNotFoundError) as excinfo:
            host.spawn([path, "arg"])
            host.run()
    assert path in str(excinfo.value)


def test_non_executable_program(tmp_path):
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    with SimHost() as host:
        with pytest.raises(ProgramNotFoundError) as excinfo:
            host.spawn([str(script)])
            host.run()
    assert str(script) in str(excinfo.value)


# ----------------------------------------------------------------------------- watchdog


def native_pids_running(exe: str) -> list[int]:
    """Native pids of live processes whose executable is ``exe`` (zombies excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/exe") == exe:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def kill_native(exe: str) -> None:
    for pid in native_pids_running(exe):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_spin_native(build):
    proc = subprocess.Popen([build("spin")], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout.readline() == b"spinning\n"
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=0.3)          # spins: never exits by itself
    finally:
        proc.kill()
        proc.wait()


def test_watchdog_kills_a_spinning_process(build):
    spin = os.path.realpath(build("spin"))
    # Safety net if the watchdog does not work: kill the spinner natively so the test
    # fails (no WatchdogError) instead of hanging.
    safety = threading.Timer(30, kill_native, args=(spin,))
    safety.start()
    try:
        t0 = time.monotonic()
        with SimHost(watchdog_timeout=1) as host:
            host.spawn([spin])
            with pytest.raises(WatchdogError) as excinfo:
                host.run()
            elapsed = time.monotonic() - t0
    finally:
        safety.cancel()
    message = str(excinfo.value)
    assert re.search(r"\b1000\b", message), message      # the virtual pid
    assert "spin" in message, message                    # its argv / program
    assert "getpid" in message, message                  # its last system call
    assert 0.9 <= elapsed < 25, elapsed                  # ~1 s of real time, not 30
    # no native process survives the host
    deadline = time.monotonic() + 5
    while native_pids_running(spin) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert native_pids_running(spin) == []


# ------------------------------------------------------------------------------ threads


def test_pthread_native(build, native):
    res = native([build("pthread")])
    assert res.stdout == b"thread ran\npthread_create 0 joined 42\n"
    assert res.returncode == 0


def test_pthread_runs_in_host_like_natively(build):
    with SimHost() as host:
        p = host.spawn([build("pthread")])
        host.run()
        assert p.stdout == b"thread ran\npthread_create 0 joined 42\n"
        assert p.exit_status == Exited(0)
        # a thread is not a process: the table holds the program alone
        assert [q.pid for q in host.processes() if q.pid != 1] == [1000]
        assert host.report()["host"]["refused"] == []


def test_pi_futex_is_refused_clearly(tmp_path):
    source = tmp_path / "pi.c"
    source.write_text(
        "#define _GNU_SOURCE\n#include <errno.h>\n#include <linux/futex.h>\n"
        "#include <stdio.h>\n#include <string.h>\n#include <sys/syscall.h>\n"
        "#include <unistd.h>\n"
        "int main(void){ unsigned word = 0; long r = syscall(SYS_futex, &word,"
        " FUTEX_LOCK_PI, 0, NULL, NULL, 0);"
        " printf(\"%ld %s\\n\", r, r ? strerrorname_np(errno) : \"-\"); return 0;}\n")
    import subprocess
    binary = tmp_path / "pi"
    subprocess.run(["cc", "-o", str(binary), str(source)], check=True)
    with SimHost() as host:
        p = host.spawn([str(binary)])
        host.run()
        assert p.stdout == b"-1 ENOSYS\n"
        refused = host.report()["host"]["refused"]
        assert [r["syscall"] for r in refused] == ["futex"]
        assert "priority-inheritance" in refused[0]["message"]


# ------------------------------------------------------------------ unsupported syscalls

# Harmless with zero arguments and never made by libc start-up: preferred picks.
PREFERRED = ("timer_create", "timer_gettime", "getitimer", "timerfd_gettime", "kcmp",
             "timer_getoverrun", "rt_sigtimedwait", "signalfd4")
NEVER = {"exit", "exit_group", "reboot", "kexec_load", "kexec_file_load", "vhangup",
         "pause", "fork", "vfork", "clone", "clone3", "execve", "execveat"}
NUMBERS = {name: nr for nr, name in SYSCALL_NAMES.items() if nr < 512}


def pick_unsupported() -> tuple[str, int]:
    names = [n for n in PREFERRED if n in UNSUPPORTED and n in NUMBERS]
    names += sorted(n for n in UNSUPPORTED if n in NUMBERS and n not in NEVER)
    if not names:
        pytest.skip("pytest_simproc.syscalls.UNSUPPORTED has no name we can call")
    return names[0], NUMBERS[names[0]]


def test_unsupported_native(build, native):
    prog = build("unsupported")
    res = native([prog, "100000"])                # no such system call
    assert (res.stdout, res.returncode) == (b"ENOSYS\n", 1)
    res = native([prog, str(NUMBERS["getppid"])])
    assert (res.stdout, res.returncode) == (b"OK\n", 0)


def test_unsupported_syscall_in_host(build):
    name, nr = pick_unsupported()
    with SimHost() as host:
        p = host.spawn([build("unsupported"), str(nr)])
        host.run()
        assert p.stdout == b"ENOSYS\n", (name, p.stdout)
        assert p.exit_status == Exited(1)
        entries = [e for e in host.unsupported_syscalls if e["name"] == name]
        assert entries, (name, host.unsupported_syscalls)
        assert entries[0]["pid"] == 1000
        assert entries[0]["count"] >= 1
        if name in PREFERRED:   # only the program makes these calls
            assert entries[0]["count"] == 1
        reported = host.report()["host"]["unsupported_syscalls"]
        assert any(e["name"] == name and e["pid"] == 1000 for e in reported), reported


def test_emulated_syscall_is_not_unsupported(build):
    with SimHost() as host:
        p = host.spawn([build("unsupported"), str(NUMBERS["getppid"])])
        host.run()
        assert p.stdout == b"OK\n"
        assert not [e for e in host.unsupported_syscalls if e["name"] == "getppid"]


def test_forked_main_thread_is_joinable_in_host(build):
    """fork(2)'s CLONE_CHILD_CLEARTID holds for the new process's main thread: its exit
    clears the tid word and wakes a pthread_join waiting on it (it hung)."""
    same_as_native([build("join_main")], b"joined\n", stop_time=60)
