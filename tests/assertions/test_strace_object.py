"""Strace: the log object of one process, and what its patterns mean."""
from __future__ import annotations

import re

import pytest

from pytest_simproc.assertions import Strace

DET = [
    "00:00:00.000000 execve(\"/bin/sh\", [\"sh\"], 0x0 /* 3 vars */) = 0",
    "00:00:00.000001 getpid() = 1000",
    "00:00:00.000002 kill(1001, SIGTERM) = 0",
    "00:00:05.000000 wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 1001",
    "00:00:05.000000 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=1001, "
    "si_uid=0, si_status=3} ---",
    "00:00:05.000001 getpid() = 1000",
    "00:00:05.000002 +++ exited with 0 +++",
]


@pytest.fixture
def log():
    return Strace(DET, deterministic=True)


def test_lines_and_calls(log):
    assert log.lines == DET
    assert log.calls[1] == "getpid() = 1000"
    assert log.calls[-1] == "+++ exited with 0 +++"
    assert log.deterministic
    log.lines.append("x")           # copies: the log cannot be changed from outside
    assert len(log) == 7 and list(log) == DET and log[0] == DET[0] and log[-2:] == DET[-2:]
    assert str(log) == "\n".join(DET)
    assert repr(log) == "<Strace 7 lines, deterministic>"


def test_text_and_trailing_newlines_are_accepted():
    log = Strace("getpid() = 1000\r\nexit_group(0) = ?\n")
    assert log.lines == ["getpid() = 1000", "exit_group(0) = ?"]
    assert not log.deterministic
    assert Strace([]).lines == [] and len(Strace()) == 0 and str(Strace()) == ""
    with pytest.raises(TypeError):
        Strace([b"getpid() = 1000"])


@pytest.mark.parametrize("prefix", ["", "00:00:05.000000 ", "12:34:56 ", "12:34:56.123456 ",
                                    "946684805.000000 ", "     0.000123 "])
def test_time_prefixes_are_stripped_for_matching(prefix):
    log = Strace([prefix + "getpid() = 1000"])
    assert log.calls == ["getpid() = 1000"]
    assert log.contains("re:^getpid\\(\\)")


def test_a_thread_prefix_is_stripped_for_matching_but_kept_in_lines():
    thread_line = '[pid  1001] 00:00:01.000000 write(1, "hi\\n", 3) = 3'
    log = Strace(["00:00:00.000000 getpid() = 1000", thread_line,
                  "[pid  1001] +++ exited with 0 +++"], deterministic=True)
    assert log.calls == ["getpid() = 1000", 'write(1, "hi\\n", 3) = 3',
                         "+++ exited with 0 +++"]
    assert log.contains("re:^write\\(1, ")         # ^ anchors at the call
    assert log.matching("write(") == [thread_line]
    assert log.sequence(["getpid()", "write(1", "+++ exited"])
    assert not log.contains("[pid")


def test_plain_string_is_a_case_sensitive_substring(log):
    assert log.contains("getpid()")
    assert log.contains("WEXITSTATUS(s) == 3")
    assert not log.contains("GETPID")
    assert not log.contains("00:00:05")    # the time prefix is not part of the call
    assert log.contains("si_pid=1001, si_uid=0")
    assert "kill(1001, SIGTERM)" in log     # `in` is contains(), not line equality
    assert "nope" not in log


def test_re_prefix_and_compiled_patterns_are_searched(log):
    assert log.contains("re:^kill\\(100\\d, SIGTERM\\)")
    assert not log.contains("re:^SIGTERM")       # ^ anchors at the call, not mid-line
    assert log.contains(re.compile(r"wait4\(-1, .* = 1001$"))
    assert log.contains(re.compile("getpid", re.IGNORECASE))
    assert log.count(re.compile("GETPID", re.IGNORECASE)) == 2
    # a literal "re:" needs an escaped regex
    assert Strace(["write(1, \"re:x\", 4) = 4"]).contains(re.compile(re.escape("\"re:x\"")))


def test_count_counts_lines(log):
    assert log.count("getpid()") == 2
    assert log.count("1001") == 3          # kill, wait4, SIGCHLD: lines, not occurrences
    assert log.count("re:1001.*1001") == 0
    assert log.count("nope") == 0
    assert log.matching("getpid") == [DET[1], DET[5]]


def test_sequence_is_ordered_not_adjacent(log):
    assert log.sequence(["execve(", "kill(", "--- SIGCHLD", "+++ exited with 0"])
    assert log.sequence(["getpid", "getpid"])            # two different lines
    assert not log.sequence(["getpid", "getpid", "getpid"])
    assert not log.sequence(["+++ exited", "execve("])    # wrong order
    assert log.sequence(["re:^kill", re.compile("WEXITSTATUS")])
    assert log.sequence([])


def test_sequence_finds_a_match_whenever_one_exists():
    log = Strace(["a1", "b", "a2", "c"])
    assert log.sequence(["a", "b", "a", "c"])
    assert log.sequence(["a", "c"]) and not log.sequence(["c", "a"])


def test_tail(log):
    assert log.tail(2) == DET[-2:]
    assert log.tail() == DET                 # 20 by default
    assert log.tail(0) == [] and log.tail(-3) == []
    with pytest.raises(TypeError):
        log.tail("2")


@pytest.mark.parametrize("bad, exc", [("", ValueError), ("re:", ValueError),
                                      ("re:(", ValueError), (b"x", TypeError),
                                      (re.compile(b"x"), TypeError), (None, TypeError),
                                      (3, TypeError)])
def test_bad_patterns_are_refused(log, bad, exc):
    with pytest.raises(exc):
        log.contains(bad)
    with pytest.raises(exc):
        log.sequence(["getpid", bad])


def test_sequence_wants_a_list(log):
    with pytest.raises(TypeError):
        log.sequence("getpid")
