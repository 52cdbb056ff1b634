"""assert_strace: contains / sequence / count, their failure messages, strace off."""
from __future__ import annotations

import re

import pytest

from pytest_simproc import Exited, SimHost
from pytest_simproc.assertions import StraceUnavailableError, assert_strace

LINES = [
    "00:00:00.000000 getpid() = 1000",
    "00:00:00.000001 kill(1001, SIGTERM) = 0",
    "00:00:05.000000 wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGTERM}], 0, NULL) = 1001",
    "00:00:05.000001 +++ exited with 0 +++",
]
TREE = "1 init"


@pytest.fixture
def proc(fake_host, fake_proc):
    return fake_proc(fake_host(tree=TREE), 1000, ["sup"], exit_status=Exited(0),
                     lines=LINES)


def failure(**kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        assert_strace(**kwargs)
    return str(info.value)


def test_passing_checks(proc):
    assert_strace(proc, contains="kill(1001, SIGTERM)")
    assert_strace(proc, contains=["getpid()", re.compile(r"WTERMSIG\(s\) == SIGTERM")])
    assert_strace(proc, sequence=["kill(1001", "re:^wait4\\(-1", "+++ exited with 0"])
    assert_strace(proc, count=("re:^(kill|wait4)\\(", 2))
    assert_strace(proc, count={"getpid()": 1, "SIGKILL": 0})
    assert_strace(proc, count=[("getpid()", 1), ("1001", 2)])
    assert_strace(proc, contains="getpid", sequence=["getpid", "kill"], count=("kill", 1))


def test_contains_failure_message(proc):
    tail = ("strace tail of 1000 (simhost.sup.1000):\n"
            + "\n".join("  " + line for line in LINES))
    assert failure(proc=proc, contains="SIGKILL") == (
        "strace of process 'simhost.sup.1000' (4 lines): no line matches 'SIGKILL'\n"
        "\n"
        "process tree:\n"
        "  1 init\n"
        "      (gone) 1000 sup [reaped by 1 {\"exited\": 0}]\n"
        "\n" + tail)


def test_sequence_failure_says_where_it_broke(proc):
    assert failure(proc=proc, sequence=["wait4(", "kill("]).splitlines()[0] == (
        "strace of process 'simhost.sup.1000' (4 lines): no line after line 3 matches "
        "sequence step 2 of 2, 'kill(' (step 1, 'wait4(', matched line 3: "
        "'wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGTERM}], 0, NULL) = 1001')")
    assert failure(proc=proc, sequence=[re.compile("SIGKILL"), "x"]).splitlines()[0] == (
        "strace of process 'simhost.sup.1000' (4 lines): no line matches sequence step "
        "1 of 2, 're:SIGKILL'")


def test_count_failure_and_every_problem_on_the_first_line(proc):
    assert failure(proc=proc, count=("1001", 1)).splitlines()[0] == (
        "strace of process 'simhost.sup.1000' (4 lines): 2 lines match '1001', expected 1")
    assert failure(proc=proc, contains=["nope", "getpid"], count={"getpid": 0, "kill": 1}
                   ).splitlines()[0] == (
        "strace of process 'simhost.sup.1000' (4 lines): no line matches 'nope'; "
        "1 line matches 'getpid', expected 0")


@pytest.mark.parametrize("kwargs, exc", [
    ({}, TypeError),
    ({"contains": ""}, ValueError),
    ({"contains": 3}, TypeError),
    ({"contains": {"a": 1}}, TypeError),
    ({"sequence": "getpid"}, TypeError),
    ({"sequence": ["re:("]}, ValueError),
    ({"count": ("getpid", -1)}, TypeError),
    ({"count": ("getpid", True)}, TypeError),
    ({"count": "getpid"}, TypeError),
    ({"count": [("getpid",)]}, TypeError),
])
def test_usage_errors_are_not_assertion_errors(proc, kwargs, exc):
    with pytest.raises(exc):
        assert_strace(proc, **kwargs)


def test_strace_off_is_an_error_not_a_failed_assertion(fake_host, fake_proc):
    p = fake_proc(fake_host(strace_mode="off"), 1000, ["a"])
    with pytest.raises(StraceUnavailableError, match="strace logging is off"):
        assert_strace(p, contains="getpid")


def test_strace_off_on_a_real_host_checks_only_the_recorded_calls():
    with SimHost() as host:
        p = host.spawn(["true"])
        host.run()
        assert_strace(p, contains="execve(")   # the record of the simulated calls
        with pytest.raises(StraceUnavailableError) as info:
            assert_strace(p, contains="exit_group")   # run natively: never recorded
        assert str(info.value) == (
            "strace pattern 'exit_group' names exit_group, which this log does not "
            "record: with strace logging off, a host records only the calls it "
            "simulates. Log every call with the marker's strace='deterministic' (or "
            "'standard'), --simproc-strace=deterministic or "
            "SimHost(strace='deterministic')")
