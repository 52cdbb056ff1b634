"""StraceLog: files, merged format, unfinished/resumed lines, signals, exits, modes."""
from __future__ import annotations

import os
import random
import re
import struct

import pytest

from pytest_simproc.strace import StraceLog
from pytest_simproc.strace.format import aligned

from .conftest import START_NS, FakeMem, nr, run

SEC = 1_000_000_000
AT_FDCWD = (-100) & 0xFFFFFFFFFFFFFFFF


def args6(*a):
    return tuple(a) + (0,) * (6 - len(a))


@pytest.fixture
def log(tmp_path):
    log = StraceLog(mode="standard", directory=tmp_path, hostname="simhost", start_ns=START_NS)
    yield log
    log.close()


@pytest.fixture
def dlog(tmp_path):
    log = StraceLog(mode="deterministic", directory=tmp_path, hostname="simhost",
                    start_ns=START_NS)
    yield log
    log.close()


# --------------------------------------------------------------------- files
def test_files_are_named_by_host_exe_and_pid(tmp_path, log, mem):
    log.process_started(1000, "sh")
    path = mem.cstr("/bin/echo")
    argv = mem.strings(["echo", "hi"])
    call = log.syscall_entry(1000, nr("execve"), args6(path, argv, 0), mem, START_NS)
    log.syscall_exit(call, 0, mem, START_NS)
    run(log, 1000, "getpid", (), 1000, mem)
    log.process_started(1001, "worker")
    log.close()
    names = sorted(os.listdir(tmp_path))
    # the exec does not rename the file; a process with no line still has one
    assert names == ["simhost.sh.1000.strace", "simhost.strace", "simhost.worker.1001.strace"]
    assert (tmp_path / "simhost.sh.1000.strace").read_text().splitlines() == [
        'execve("/bin/echo", ["echo", "hi"], NULL) = 0',
        "getpid()                                = 1000",
    ]
    assert (tmp_path / "simhost.worker.1001.strace").read_text() == ""
    assert log.lines(1000) == (tmp_path / "simhost.sh.1000.strace").read_text().splitlines()
    assert log.lines(4242) == []


def test_merged_lines_carry_the_pid_like_strace_f(log, mem):
    log.process_started(1000, "a")
    log.process_started(24091, "b")
    run(log, 1000, "getpid", (), 1000, mem)
    run(log, 24091, "getpid", (), 24091, mem)
    buf = mem.put(b"hi\n")
    run(log, 1000, "write", (1, buf, 3), 3, mem)
    assert log.merged_lines() == [
        # strace: "%-5u " then the line; the column counts the prefix
        "1000  getpid()                          = 1000",
        "24091 getpid()                          = 24091",
        '1000  write(1, "hi\\n", 3)               = 3',
    ]
    assert log.lines(1000) == [
        "getpid()                                = 1000",
        'write(1, "hi\\n", 3)                     = 3',
    ]


def test_alignment_matches_strace(log, mem):
    """Lines copied from strace 6.1 output (-ff files have no prefix)."""
    log.process_started(8840, "u")
    run(log, 8840, "set_robust_list", (0x7F0B5F3A5A20, 24), 0, mem)
    ts = mem.put(struct.pack("<qq", 0, 100000000))
    run(log, 8840, "clock_nanosleep", (0, 0, ts, 0), 0, mem)
    call = log.syscall_entry(8840, nr("exit_group"), args6(3), mem, START_NS)
    log.syscall_noreturn(call, START_NS)
    log.exited(8840, 3, False, False, START_NS)
    assert log.lines(8840) == [
        "set_robust_list(0x7f0b5f3a5a20, 24)     = 0",
        "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=100000000}, NULL) = 0",
        "exit_group(3)                           = ?",
        "+++ exited with 3 +++",
    ]
    assert log.merged_lines()[2:] == [
        "8840  exit_group(3)                     = ?",
        "8840  +++ exited with 3 +++",
    ]
    assert aligned("x" * 39, "0") == "x" * 39 + " = 0"
    assert aligned("x" * 38, "0") == "x" * 38 + "  = 0"


# --------------------------------------------------------------------- interleaving
def test_blocked_call_with_nothing_in_between_is_one_line(log, mem):
    log.process_started(1000, "p")
    status = mem.put(struct.pack("<i", 3 << 8))
    call = log.syscall_entry(1000, nr("wait4"), args6(2 ** 64 - 1, status), mem, START_NS)
    log.syscall_unfinished(call, START_NS)
    log.syscall_exit(call, 1001, mem, START_NS + SEC)
    assert log.merged_lines() == [
        "1000  wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 1001"]


def test_unfinished_and_resumed_when_another_process_logs(log, mem):
    log.process_started(1000, "parent")
    log.process_started(1001, "child")
    status = mem.put(struct.pack("<i", 3 << 8))
    wait = log.syscall_entry(1000, nr("wait4"), args6(2 ** 64 - 1, status), mem, START_NS)
    log.syscall_unfinished(wait, START_NS)
    ts = mem.put(struct.pack("<qq", 0, 1000000))
    sleep = log.syscall_entry(1001, nr("clock_nanosleep"), args6(0, 0, ts, 0), mem, START_NS)
    log.syscall_unfinished(sleep, START_NS)
    log.syscall_exit(sleep, 0, mem, START_NS + SEC)
    exit_ = log.syscall_entry(1001, nr("exit_group"), args6(3), mem, START_NS + SEC)
    log.syscall_noreturn(exit_, START_NS + SEC)
    log.exited(1001, 3, False, False, START_NS + SEC)
    log.syscall_exit(wait, 1001, mem, START_NS + SEC)
    chld = struct.pack("<iiiiiiiqq", 17, 0, 1, 0, 1001, 0, 3, 0, 0)
    log.signal(1000, chld, START_NS + SEC)
    assert log.merged_lines() == [
        "1000  wait4(-1,  <unfinished ...>",
        "1001  clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=0, tv_nsec=1000000}, NULL) = 0",
        "1001  exit_group(3)                     = ?",
        "1001  +++ exited with 3 +++",
        "1000  <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 1001",
        "1000  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=1001, si_uid=0, "
        "si_status=3} ---",
    ]
    # its own file (strace -ff) has the plain line
    assert log.lines(1000) == [
        "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 1001",
        "--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=1001, si_uid=0, "
        "si_status=3} ---",
    ]


def test_two_blocked_calls_cross(log, mem):
    log.process_started(1000, "a")
    log.process_started(1001, "b")
    a = log.syscall_entry(1000, nr("pause"), args6(), mem, START_NS)
    log.syscall_unfinished(a, START_NS)
    b = log.syscall_entry(1001, nr("set_robust_list"), args6(0x7F0000001000, 24), mem,
                          START_NS)
    log.syscall_unfinished(b, START_NS)
    log.syscall_exit(a, -514, mem, START_NS)
    log.syscall_exit(b, 0, mem, START_NS)
    assert log.merged_lines() == [
        "1000  pause( <unfinished ...>",
        "1001  set_robust_list(0x7f0000001000, 24 <unfinished ...>",
        "1000  <... pause resumed>)              = ? ERESTARTNOHAND (To be restarted if no "
        "handler)",
        "1001  <... set_robust_list resumed>)    = 0",
    ]


def test_clone_resumes_with_its_exit_arguments(log, mem):
    log.process_started(8552, "p")
    log.process_started(8599, "c")
    clone = log.syscall_entry(8552, nr("clone"), args6(0x01200011, 0, 0, 0x7F6E4B4D6A10),
                              mem, START_NS)
    run(log, 8599, "set_robust_list", (0x7F6E4B4D6A20, 24), 0, mem)
    log.syscall_exit(clone, 8599, mem, START_NS)
    assert log.merged_lines() == [
        "8552  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
        " <unfinished ...>",
        "8599  set_robust_list(0x7f6e4b4d6a20, 24) = 0",
        "8552  <... clone resumed>, child_tidptr=0x7f6e4b4d6a10) = 8599",
    ]


def test_killed_inside_a_call(log, mem):
    log.process_started(8600, "c")
    log.process_started(8552, "p")
    pause = log.syscall_entry(8600, nr("pause"), args6(), mem, START_NS)
    log.syscall_unfinished(pause, START_NS)
    run(log, 8552, "kill", (8600, 9), 0, mem)
    log.syscall_noreturn(pause, START_NS)
    log.exited(8600, 9, True, False, START_NS)
    status = mem.put(struct.pack("<i", 0))
    wait = log.syscall_entry(8600, nr("wait4"), args6(2 ** 64 - 1, status), mem, START_NS)
    log.syscall_noreturn(wait, START_NS)
    assert log.merged_lines() == [
        "8600  pause( <unfinished ...>",
        "8552  kill(8600, SIGKILL)               = 0",
        "8600  <... pause resumed>)              = ?",
        "8600  +++ killed by SIGKILL +++",
        # a call with exit-time arguments cut by death (strace's print_event_exit)
        "8600  wait4(-1,  <unfinished ...>)      = ?",
    ]


def test_a_signal_cuts_the_own_file_too(log, mem):
    log.process_started(1000, "p")
    call = log.syscall_entry(1000, nr("rt_sigsuspend"), args6(mem.put(bytes(8)), 8), mem,
                             START_NS)
    log.signal(1000, struct.pack("<iiii", 14, 0, 0x80, 0), START_NS)
    log.syscall_exit(call, -514, mem, START_NS)
    assert log.lines(1000) == [
        "rt_sigsuspend([], 8 <unfinished ...>",
        "--- SIGALRM {si_signo=SIGALRM, si_code=SI_KERNEL} ---",
        "<... rt_sigsuspend resumed>)            = ? ERESTARTNOHAND (To be restarted if no "
        "handler)",
    ]


def test_exit_lines(log, mem):
    for pid in (1, 2, 3, 4):
        log.process_started(pid, "x")
    log.exited(1, 0, False, False, START_NS)
    log.exited(2, 9, True, False, START_NS)
    log.exited(3, 11, True, True, START_NS)
    log.stopped(4, 19, START_NS)
    assert [line.split(None, 1)[1] for line in log.merged_lines()] == [
        "+++ exited with 0 +++",
        "+++ killed by SIGKILL +++",
        "+++ killed by SIGSEGV (core dumped) +++",
        "--- stopped by SIGSTOP ---",
    ]


def test_restart_syscall_names_the_interrupted_call(log, mem):
    log.process_started(1000, "p")
    ts = mem.put(struct.pack("<qq", 5, 0))
    rem = mem.put(struct.pack("<qq", 4, 126679))
    run(log, 1000, "clock_nanosleep", (0, 0, ts, rem), -516, mem)
    log.signal(1000, struct.pack("<iiii", 14, 0, 0x80, 0), START_NS)
    run(log, 1000, "rt_sigreturn", (), 0, mem)
    run(log, 1000, "restart_syscall", (), 0, mem)
    assert log.lines(1000)[0] == (
        "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=5, tv_nsec=0}, {tv_sec=4, "
        "tv_nsec=126679}) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)")
    assert log.lines(1000)[-1] == \
        "restart_syscall(<... resuming interrupted clock_nanosleep ...>) = 0"


def test_rt_sigreturn_mask_needs_the_stack_pointer(log, mem):
    log.process_started(1000, "p")
    frame = mem.put(bytes(296) + struct.pack("<Q", 1 << 9))
    call = log.syscall_entry(1000, nr("rt_sigreturn"), args6(), mem, START_NS, sp=frame)
    log.syscall_exit(call, 0, mem, START_NS)
    run(log, 1000, "rt_sigreturn", (), 0, mem)
    assert log.lines(1000) == [
        "rt_sigreturn({mask=[USR1]})             = 0",
        "rt_sigreturn({mask=?})                  = 0",
    ]


def test_close_cuts_pending_calls_and_keeps_the_files_readable(tmp_path, mem):
    log = StraceLog(mode="standard", directory=tmp_path, hostname="h")
    log.process_started(1000, "p")
    log.syscall_entry(1000, nr("pause"), args6(), mem, START_NS)
    log.close()
    log.close()
    assert log.merged_lines() == ["1000  pause( <unfinished ...>"]
    assert log.lines(1000) == ["pause( <unfinished ...>"]


def test_lines_are_written_incrementally(tmp_path, mem):
    log = StraceLog(mode="standard", directory=tmp_path, hostname="h")
    log.process_started(1000, "p")
    for _ in range(5000):
        run(log, 1000, "getpid", (), 1000, mem)
    own = tmp_path / "h.p.1000.strace"
    assert own.stat().st_size > 100_000          # flushed before close
    assert log._streams[1000].size < 64 * 1024   # bounded buffer
    assert len(log.lines(1000)) == 5000
    log.close()
    assert len((tmp_path / "h.strace").read_text().splitlines()) == 5000


def test_unannounced_pid_still_gets_a_file(tmp_path, mem):
    log = StraceLog(mode="standard", directory=tmp_path, hostname="h")
    run(log, 77, "getpid", (), 77, mem)
    log.close()
    assert (tmp_path / "h.unknown.77.strace").exists()


def test_bad_mode():
    with pytest.raises(ValueError):
        StraceLog(mode="verbose", directory=".")


# --------------------------------------------------------------------- deterministic
def test_deterministic_time_prefix(dlog, mem):
    dlog.process_started(1000, "p")
    run(dlog, 1000, "getpid", (), 1000, mem, now_ns=START_NS + 5 * SEC)
    run(dlog, 1000, "getpid", (), 1000, mem, now_ns=START_NS + 3725 * SEC + 1_234_567)
    run(dlog, 1000, "getpid", (), 1000, mem, now_ns=START_NS + 86400 * SEC + 999_999_999)
    dlog.exited(1000, 0, False, False, START_NS + 90061 * SEC)
    assert dlog.lines(1000) == [
        "00:00:05.000000 getpid()                = 1000",
        "01:02:05.001234 getpid()                = 1000",
        "00:00:00.999999 getpid()                = 1000",
        "01:01:01.000000 +++ exited with 0 +++",
    ]
    # strace -f -tt: "PID  HH:MM:SS.uuuuuu " and the column counts both
    assert dlog.merged_lines()[0] == "1000  00:00:05.000000 getpid()          = 1000"


def test_deterministic_unfinished_lines_keep_their_own_times(dlog, mem):
    dlog.process_started(1000, "a")
    dlog.process_started(1001, "b")
    call = dlog.syscall_entry(1000, nr("pause"), args6(), mem, START_NS + SEC)
    dlog.exited(1001, 0, False, False, START_NS + 2 * SEC)
    dlog.syscall_exit(call, -514, mem, START_NS + 3 * SEC)
    assert dlog.merged_lines() == [
        "1000  00:00:01.000000 pause( <unfinished ...>",
        "1001  00:00:02.000000 +++ exited with 0 +++",
        "1000  00:00:03.000000 <... pause resumed>) = ? ERESTARTNOHAND (To be restarted if "
        "no handler)",
    ]


class Layout:
    """Addresses for one run: a different base each time, as ASLR gives."""

    def __init__(self, seed: int):
        self.rnd = random.Random(seed)
        self.mem = FakeMem()
        self.mem._next = self.rnd.choice([0x7FFD, 0x7F12, 0x5555, 0x7FFF]) << 32 | \
            self.rnd.randrange(1 << 20) << 12

        self.given: list[int] = []

    def addr(self) -> int:
        """A code/heap/stack address not backed by memory."""
        a = self.rnd.choice([0x55, 0x56, 0x7F]) << 40 | self.rnd.randrange(1 << 36) << 4
        self.given.append(a)
        return a

    def all_addresses(self) -> list[int]:
        return self.given + list(self.mem.regions)


def scenario(log: StraceLog, lay: Layout) -> None:
    """A program's life, with every kind of address strace shows."""
    mem, A = lay.mem, lay.addr
    t = START_NS

    def call(pid, name, args, result, *, sp=None, unfinished=False):
        c = log.syscall_entry(pid, nr(name), args6(*args), mem, t, **({"sp": sp} if sp else {}))
        if unfinished:
            log.syscall_unfinished(c, t)
            return c
        log.syscall_exit(c, result, mem, t)
        return c

    log.process_started(1000, "prog")
    call(1000, "execve", (mem.cstr("/bin/prog"), mem.strings(["prog", "-v"]),
                          mem.strings(["PATH=/bin", "HOME=/"])), 0)
    call(1000, "brk", (0,), A())
    call(1000, "mmap", (0, 8192, 3, 0x22, 2 ** 64 - 1, 0), A())
    call(1000, "mmap", (A(), 1400832, 5, 0x812, 3, 0x26000), A())
    call(1000, "openat", (AT_FDCWD, mem.cstr("/etc/ld.so.cache"), 0o2000000), 3)
    st = bytearray(144)
    struct.pack_into("<QQQI", st, 0, lay.rnd.randrange(1 << 20), lay.rnd.randrange(1 << 30),
                     1, 0o100644)
    struct.pack_into("<Qq", st, 40, 0, 34547)
    struct.pack_into("<qq", st, 72, lay.rnd.randrange(1 << 31), lay.rnd.randrange(10 ** 9))
    call(1000, "newfstatat", (3, mem.cstr(""), mem.put(bytes(st)), 0x1000), 0)
    call(1000, "fstat", (1, mem.put(bytes(st))), 0)
    call(1000, "read", (3, mem.put(b"\177ELF" + bytes(828)), 832), 832)
    call(1000, "close", (3,), 0)
    call(1000, "arch_prctl", (0x1002, A()), 0)
    call(1000, "arch_prctl", (0x1003, mem.put(struct.pack("<Q", A()))), 0)
    call(1000, "set_tid_address", (A(),), 1000)
    call(1000, "set_robust_list", (A(), 24), 0)
    call(1000, "rseq", (A(), 0x20, 0, 0x53053053), 0)
    call(1000, "mprotect", (A(), 16384, 1), 0)
    call(1000, "munmap", (A(), 34547), 0)
    call(1000, "getrandom", (mem.put(bytes(range(8))), 8, 1), 8)
    act = mem.put(struct.pack("<QQQQ", A(), 0x14000004, A(), 1 << 11))
    call(1000, "rt_sigaction", (10, act, mem.put(bytes(32)), 8), 0)
    call(1000, "rt_sigaction", (10, act, A(), 8), -14)
    call(1000, "sigaltstack", (mem.put(struct.pack("<Qi4xQ", A(), 0, 16384)), 0), 0)
    call(1000, "rt_sigprocmask", (0, mem.put(struct.pack("<Q", 1 << 16)), A(), 8), 0)
    call(1000, "prlimit64", (0, 3, 0, mem.put(struct.pack("<QQ", 8 << 20, 2 ** 64 - 1))), 0)
    call(1000, "getcwd", (mem.put(b"/tmp\0"), 100), 5)
    call(1000, "ioctl", (1, 0x5401, A()), -25)
    call(1000, "ioctl", (1, 0x5413, A()), -25)
    call(1000, "fcntl", (3, 6, mem.put(struct.pack("<hh4xqqi4x", 1, 0, 0, 0, 0))), 0)
    call(1000, "futex", (A(), 129, 1), 0)
    call(1000, "futex", (A(), 0x189, 2, 0, 0, 0xFFFFFFFF), 0)
    sev = mem.put(struct.pack("<QiiQQ", A(), 0, 2, A(), A()))
    call(1000, "timer_create", (1, sev, mem.put(bytes(4))), 0)
    call(1000, "epoll_ctl", (3, 1, 4, mem.put(struct.pack("<IQ", 1, A()))), 0)
    call(1000, "epoll_wait", (3, mem.put(struct.pack("<IQ", 1, A())), 1, 0), 1)
    iov = mem.put(struct.pack("<QQ", mem.put(b"hi\n"), 3))
    call(1000, "writev", (1, iov, 1), 3)
    msg = mem.put(struct.pack("<QI4xQQQQi4x", 0, 0, iov, 1, A(), 24, 0))
    call(1000, "sendmsg", (5, msg, 0), 3)
    call(1000, "recvmsg", (5, msg, 0), 3)
    call(1000, "getdents64", (3, mem.put(struct.pack("<QqHB", 1, 24, 24, 4) + bytes(5)), 24),
         24)
    call(1000, "poll", (mem.put(struct.pack("<ihh", 0, 1, 1)), 1, 0), 1)
    call(1000, "nanosleep", (mem.put(struct.pack("<qq", 1, 0)), A()), 0)
    ts = mem.put(struct.pack("<qq", 1, 0))
    rem = mem.put(struct.pack("<qq", 0, 5))
    call(1000, "clock_nanosleep", (0, 0, ts, rem), -516)
    call(1000, "restart_syscall", (), 0)
    frame = mem.put(bytes(296) + struct.pack("<Q", 0))
    call(1000, "rt_sigreturn", (), 0, sp=frame)
    log.process_started(1001, "prog")
    clone = call(1000, "clone", (0x3D0F00, A(), A(), A(), A()), 0, unfinished=True)
    call(1001, "set_robust_list", (A(), 24), 0)
    log.syscall_exit(clone, 1001, mem, t)
    cl3 = mem.put(struct.pack("<8Q", 0x1000 | 0x100000 | 17 << 0, A(), A(), A(), 17, A(),
                              0x7FFF80, A()) + bytes(24))
    call(1000, "clone3", (cl3, 88), 1002)
    wait = call(1000, "wait4", (2 ** 64 - 1, A(), 0, A()), 0, unfinished=True)
    log.signal(1001, struct.pack("<iiiiQ", 11, 0, 1, 0, A()), t)
    log.exited(1001, 11, True, True, t)
    log.syscall_exit(wait, -4, mem, t)
    log.signal(1000, struct.pack("<iiiiiiQ", 10, 0, -1, 0, 1000, 0, A()), t)
    log.signal(1000, struct.pack("<iiiiiiiqq", 17, 0, 2, 0, 1001, 0, 11, 0, 0), t)
    call(1000, "execve", (mem.cstr("/bin/true"), mem.strings(["true"]), A()), -14)
    call(1000, "exit_group", (0,), 0, unfinished=True)
    log.exited(1000, 0, False, False, t)


def test_deterministic_mode_is_the_same_on_every_layout(tmp_path):
    outputs = []
    for seed in (1, 2, 3):
        log = StraceLog(mode="deterministic", directory=tmp_path / str(seed), hostname="h",
                        start_ns=START_NS)
        lay = Layout(seed)
        scenario(log, lay)
        log.close()
        merged = log.merged_lines()
        files = {name: (tmp_path / str(seed) / name).read_bytes()
                 for name in sorted(os.listdir(tmp_path / str(seed)))}
        outputs.append((merged, files))
        text = "\n".join(merged)
        # no address-sized hex number at all (user addresses are 0x55.../0x7f...)...
        assert not re.search(r"0x[0-9a-f]{9,}", text), re.findall(r".*0x[0-9a-f]{9,}.*", text)
        # ...and none of this run's addresses in any form
        for a in lay.all_addresses():
            assert "%x" % a not in text and str(a) not in text, hex(a)
        assert "<pointer>" in text and "st_ino" not in text
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0][0]) > 50


def test_standard_mode_shows_the_addresses(tmp_path):
    outputs = []
    for seed in (1, 2):
        log = StraceLog(mode="standard", directory=tmp_path / str(seed), hostname="h")
        scenario(log, Layout(seed))
        log.close()
        outputs.append(log.merged_lines())
        assert "<pointer>" not in "\n".join(outputs[-1])
    assert outputs[0] != outputs[1]
    assert len(outputs[0]) == len(outputs[1])


def test_exit_ends_calls_still_in_progress(log, mem):
    log.process_started(1000, "a")
    log.process_started(1001, "b")
    pause = log.syscall_entry(1000, nr("pause"), args6(), mem, START_NS)
    run(log, 1001, "getpid", (), 1001, mem)
    log.exited(1000, 9, True, False, START_NS)
    log.syscall_exit(pause, 0, mem, START_NS)      # too late: ignored
    assert log.merged_lines() == [
        "1000  pause( <unfinished ...>",
        "1001  getpid()                          = 1001",
        "1000  <... pause resumed>)              = ?",
        "1000  +++ killed by SIGKILL +++",
    ]
    assert log.lines(1000) == ["pause()                                 = ?",
                               "+++ killed by SIGKILL +++"]


def thread_scenario(log, mem):
    """Main thread 1000 joins thread 1001 (strace -f of a pthread_join, tids virtual)."""
    log.process_started(1000, "t")
    run(log, 1000, "getpid", (), 1000, mem)
    log.thread_started(1001, 1000)
    join = log.syscall_entry(1000, nr("futex"), args6(0x7F0000001000, 0, 1001), mem,
                             START_NS)
    log.syscall_unfinished(join, START_NS)
    buf = mem.put(b"hi\n")
    run(log, 1001, "write", (1, buf, 3), 3, mem)
    exit_ = log.syscall_entry(1001, nr("exit"), args6(0), mem, START_NS)
    log.syscall_noreturn(exit_, START_NS)
    log.exited(1001, 0, False, False, START_NS)
    log.syscall_exit(join, 0, mem, START_NS)
    exit_ = log.syscall_entry(1000, nr("exit_group"), args6(0), mem, START_NS)
    log.syscall_noreturn(exit_, START_NS)
    log.exited(1000, 0, False, False, START_NS)


def test_a_thread_logs_under_its_tid_in_the_merged_log(log, mem):
    thread_scenario(log, mem)
    assert log.merged_lines() == [
        "1000  getpid()                          = 1000",
        "1000  futex(0x7f0000001000, FUTEX_WAIT, 1001, NULL <unfinished ...>",
        '1001  write(1, "hi\\n", 3)               = 3',
        "1001  exit(0)                           = ?",
        "1001  +++ exited with 0 +++",
        "1000  <... futex resumed>)              = 0",
        "1000  exit_group(0)                     = ?",
        "1000  +++ exited with 0 +++",
    ]


def test_a_thread_has_its_own_file_like_strace_ff(tmp_path, log, mem):
    thread_scenario(log, mem)
    log.close()
    assert sorted(os.listdir(tmp_path)) == [
        "simhost.strace", "simhost.t.1000.strace", "simhost.t.1001.strace"]
    assert log.process_file(1000) == str(tmp_path / "simhost.t.1000.strace")
    assert log.thread_file(1001) == str(tmp_path / "simhost.t.1001.strace")
    # the other thread's lines are elsewhere: the join is one line, as in strace -ff
    assert (tmp_path / "simhost.t.1000.strace").read_text().splitlines() == [
        "getpid()                                = 1000",
        "futex(0x7f0000001000, FUTEX_WAIT, 1001, NULL) = 0",
        "exit_group(0)                           = ?",
        "+++ exited with 0 +++",
    ]
    assert (tmp_path / "simhost.t.1001.strace").read_text().splitlines() == [
        'write(1, "hi\\n", 3)                     = 3',
        "exit(0)                                 = ?",
        "+++ exited with 0 +++",
    ]


def test_a_process_lines_hold_its_threads_lines_in_order(log, mem):
    thread_scenario(log, mem)
    # whole lines, in the order written; a thread's with strace -f's terminal prefix,
    # the result column counting it
    assert log.lines(1000) == [
        "getpid()                                = 1000",
        '[pid  1001] write(1, "hi\\n", 3)         = 3',
        "[pid  1001] exit(0)                     = ?",
        "[pid  1001] +++ exited with 0 +++",
        "futex(0x7f0000001000, FUTEX_WAIT, 1001, NULL) = 0",
        "exit_group(0)                           = ?",
        "+++ exited with 0 +++",
    ]
    assert log.lines(1001) == []   # a thread is not a process


def test_a_process_lines_with_threads_in_deterministic_mode(dlog, mem):
    thread_scenario(dlog, mem)
    lines = dlog.lines(1000)
    assert lines[1] == '[pid  1001] 00:00:00.000000 write(1, "hi\\n", 3) = 3'
    assert lines[-1] == "00:00:00.000000 +++ exited with 0 +++"
    assert dlog.merged_lines()[2] == '1001  00:00:00.000000 write(1, "hi\\n", 3) = 3'


def test_a_reused_tid_file_shows_only_the_new_thread(tmp_path, log, mem):
    log.process_started(1000, "t")
    log.thread_started(1001, 1000)
    run(log, 1001, "getpid", (), 1000, mem)
    log.exited(1001, 0, False, False, START_NS)
    log.exited(1000, 0, False, False, START_NS)
    log.process_started(1002, "t")
    log.thread_started(1001, 1002)     # the tid counter wrapped: the same file again
    run(log, 1001, "gettid", (), 1001, mem)
    assert log.lines(1002) == ["[pid  1001] gettid()                    = 1001"]
    assert log.lines(1000) == ["[pid  1001] getpid()                    = 1000",
                               "[pid  1001] +++ exited with 0 +++",
                               "+++ exited with 0 +++"]
    assert len((tmp_path / "simhost.t.1001.strace").read_text().splitlines()) == 3


def test_an_execve_whose_exit_was_not_logged_ends_at_the_next_call(log, mem):
    log.process_started(1000, "sh")
    log.process_started(1001, "other")
    path = mem.cstr("/bin/echo")
    log.syscall_entry(1000, nr("execve"), args6(path, mem.strings(["echo"]), 0), mem,
                      START_NS)
    run(log, 1001, "getpid", (), 1001, mem)
    run(log, 1000, "brk", (0,), 0x555555560000, mem)
    assert log.merged_lines() == [
        '1000  execve("/bin/echo", ["echo"], NULL <unfinished ...>',
        "1001  getpid()                          = 1001",
        "1000  <... execve resumed>)             = 0",
        "1000  brk(NULL)                         = 0x555555560000",
    ]
    assert log.lines(1000)[0] == 'execve("/bin/echo", ["echo"], NULL)     = 0'
