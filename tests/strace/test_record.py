"""strace/record.py: the record of simulated calls, formatted when read, gives the
lines a standard StraceLog fed the same events writes at once."""
from __future__ import annotations

import struct

from hypothesis import assume, given, settings, strategies as st

from pytest_simproc.strace.format import (MEMORY_FREE_WHEN, TABLE, Call, begin_call,
                                          finish_call, has_exit_part, reads_memory,
                                          result_text)
from pytest_simproc.strace.log import StraceLog
from pytest_simproc.strace.record import CallRecord, recorded_numbers
from pytest_simproc.syscalls import syscall_name, syscall_number

from .conftest import FakeMem

MASK64 = (1 << 64) - 1
WORDS = st.one_of(st.sampled_from([0, 1, 2, 8, 17, 0xFFFFFFFF, MASK64, 0x7FFD00001000,
                                   0x7FFD00002000, 0x1000, (1 << 63)]),
                  st.integers(0, MASK64))
RESULTS = st.one_of(st.integers(-4095, 4096), st.sampled_from([-512, -514, -516]))


class TouchedMem:
    """A memory that notes every read (and serves zeros)."""

    def __init__(self):
        self.reads = []

    def read(self, addr, n):
        self.reads.append(addr)
        return bytes(n)

    def read_cstring(self, addr, limit=4096):
        self.reads.append(addr)
        return b"x"


MEMORY_FREE = sorted(nr for nr, spec in TABLE.items()
                     if not reads_memory(spec) or spec.name in MEMORY_FREE_WHEN)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(MEMORY_FREE), st.tuples(*[WORDS] * 6), RESULTS)
def test_a_call_said_memory_free_never_reads_memory(nr, args, result):
    """Also a call whose registers MEMORY_FREE_WHEN says spare it (fork's clone)."""
    when = MEMORY_FREE_WHEN.get(TABLE[nr].name)
    assume(when is None or when(args))
    mem = TouchedMem()
    call = Call(1000, nr, args, False, 0)
    begin_call(call, mem)
    has_exit_part(call)
    finish_call(call, result, mem)
    result_text(call, result, mem)
    assert mem.reads == [], syscall_name(nr)


def test_the_recorded_calls_are_the_simulated_ones():
    names = {syscall_name(nr) for nr in recorded_numbers()}
    assert {"wait4", "kill", "clock_gettime", "nanosleep", "clone", "execve", "alarm",
            "getppid", "setrlimit", "futex", "rt_sigsuspend", "timer_create"} <= names
    # run natively or not about processes, time or signals; rt_sigreturn: see record.py
    assert not names & {"openat", "read", "write", "mmap", "exit_group", "fcntl",
                        "rt_sigreturn"}
    assert syscall_number("mmap") in recorded_numbers({syscall_number("mmap")})


# Calls of both kinds: decoded from registers alone, and from memory at the stop.
CALLS = ["getppid", "kill", "alarm", "getpid", "setpgid", "clone", "wait4", "nanosleep",
         "clock_gettime", "rt_sigsuspend", "rt_sigprocmask", "execve", "exit",
         "restart_syscall", "setitimer", "rt_sigreturn", "prlimit64"]


def _memory() -> tuple[FakeMem, list[int]]:
    mem = FakeMem()
    pointers = [mem.put(struct.pack("<qq", 3, 500)), mem.put(struct.pack("<Q", 1 << 9)),
                mem.cstr("/bin/true"), mem.strings(["true", "-x"]),
                mem.put(struct.pack("<i", 0x0900))]
    return mem, pointers


EVENTS = st.lists(st.tuples(
    st.sampled_from(["enter", "enter", "exit", "exit", "noreturn", "signal", "stopped",
                     "preempted", "exited", "read"]),
    st.sampled_from([1000, 1001, 1002]),      # 1001 is a thread of 1000
    st.sampled_from(CALLS), st.lists(st.integers(0, 6), min_size=6, max_size=6),
    RESULTS, st.text("(INJECTED)", max_size=1)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(EVENTS)
def test_the_record_reads_as_the_log_wrote(tmp_path_factory, events):
    """The same events, given to a standard StraceLog and to a CallRecord: the
    record's lines, formatted when read (several times, each read playing only the
    events since the last), are the log's lines, per process and merged."""
    mem, pointers = _memory()
    values = [0, 1, 8, 0xFFFFFFFF, MASK64 - 3] + pointers   # 0x... index into this
    log = StraceLog("standard", directory=tmp_path_factory.mktemp("log"))
    record = CallRecord(recorded_numbers() | {syscall_number(n) for n in CALLS
                                              if n != "restart_syscall"} | {219})
    open_calls: dict[int, list] = {}
    for target in (log, record):
        target.process_started(1000, "a")
        target.thread_started(1001, 1000)
        target.process_started(1002, "b")
    alive = {1000, 1001, 1002}

    def compare():
        for pid in (1000, 1002):
            assert record.lines(pid) == log.lines(pid)
        assert record.merged_lines() == log.merged_lines()

    for kind, tid, name, picks, result, note in events:
        if tid not in alive:
            continue
        calls = open_calls.setdefault(tid, [])
        if kind == "enter":
            args = tuple(values[p] for p in picks)
            nr = syscall_number(name) if name != "restart_syscall" else 219
            pair = (log.syscall_entry(tid, nr, args, mem, 0, sp=pointers[0]),
                    record.syscall_entry(tid, nr, args, mem, 0, sp=pointers[0]))
            calls.append(pair)
            if note:
                log.note(pair[0], note)
                record.note(pair[1], note)
        elif kind in ("exit", "noreturn") and calls:
            ours, theirs = calls.pop(0)
            if kind == "exit":
                log.syscall_exit(ours, result, mem, 0)
                record.syscall_exit(theirs, result, mem, 0)
            else:
                log.syscall_noreturn(ours, 0)
                record.syscall_noreturn(theirs, 0)
        elif kind == "signal":
            info = struct.pack("<iii", 17, 0, 1) + bytes(116)
            log.signal(tid, info, 0)
            record.signal(tid, info, 0)
        elif kind == "stopped":
            log.stopped(tid, 19, 0)
            record.stopped(tid, 19, 0)
        elif kind == "preempted":
            log.preempted(tid, 0)
            record.preempted(tid, 0)
        elif kind == "exited":
            log.exited(tid, result & 0xFF, result < 0, result < -100, 0)
            record.exited(tid, result & 0xFF, result < 0, result < -100, 0)
            alive.discard(tid)
            open_calls.pop(tid, None)
        elif kind == "read":
            compare()
    log.close()
    record.close()
    compare()


def test_a_call_decoded_again_shows_what_memory_holds_now(mem):
    """Entry parts are remembered by registers, and reused only when the memory they
    read holds the same bytes: the same pointer to another mask (or to nothing) is
    decoded anew."""
    record = CallRecord(recorded_numbers())
    mask = mem.put(struct.pack("<Q", 1 << 9))
    sigsuspend = syscall_number("rt_sigsuspend")
    for data in (1 << 9, 1 << 9, 1 << 14, None, 1 << 9):
        if data is None:
            del mem.regions[mask]
        else:
            mem.regions[mask] = struct.pack("<Q", data)
        handle = record.syscall_entry(1000, sigsuspend, (mask, 8), mem, 0)
        record.syscall_exit(handle, -514, mem, 0)
    assert [line.split(")")[0] for line in record.lines(1000)] == [
        "rt_sigsuspend([USR1], 8", "rt_sigsuspend([USR1], 8", "rt_sigsuspend([TERM], 8",
        "rt_sigsuspend(%#x, 8" % mask, "rt_sigsuspend([USR1], 8"]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 1 << 31), st.integers(1, 1 << 31), st.integers(0, 0xFFFF),
       st.sampled_from([0, 1, 0x7FFD00002000]))
def test_wait4_shows_its_status_whatever_pid_it_returned(first, second, status, rusage):
    """TAIL_DEPENDS_ON: wait4's exit part is the same for every pid it waits for or
    returns."""
    mem = FakeMem()
    addr = mem.put(struct.pack("<i", status))
    mem.put(bytes(144), 0x7FFD00002000)
    tails = []
    for result in (first, second):
        call = Call(1000, syscall_number("wait4"), (result ^ 5, addr, 1, rusage), False, 0)
        begin_call(call, mem)
        tails.append(finish_call(call, result, mem)[0])
    assert tails[0] == tails[1]
