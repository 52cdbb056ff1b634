"""Signal names and signal(7) default actions."""

import signal

import pytest
from hypothesis import given, strategies as st

from pytest_simproc.kernel import default_action, parse_signal, signal_name


@pytest.mark.parametrize(
    "number, name",
    [(1, "SIGHUP"), (6, "SIGABRT"), (15, "SIGTERM"), (16, "SIGSTKFLT"), (17, "SIGCHLD"),
     (29, "SIGIO"), (31, "SIGSYS"), (32, "SIG32"), (34, "SIGRTMIN"), (37, "SIGRTMIN+3"),
     (63, "SIGRTMIN+29"), (64, "SIGRTMAX")],
)
def test_signal_name(number, name):
    assert signal_name(number) == name


@pytest.mark.parametrize("bad", [0, 65, -1])
def test_signal_name_out_of_range(bad):
    with pytest.raises(ValueError):
        signal_name(bad)


@pytest.mark.parametrize(
    "spelling, number",
    [(15, 15), (signal.SIGTERM, 15), ("SIGTERM", 15), ("TERM", 15), ("sigterm", 15),
     (" term ", 15), ("SIGRTMIN+2", 36), ("rtmin+2", 36), ("SIGRTMIN", 34),
     ("SIGRTMAX", 64), ("SIGRTMAX-1", 63), ("SIGIOT", 6), ("CLD", 17), ("SIGPOLL", 29),
     ("9", 9), ("SIG33", 33)],
)
def test_parse_signal(spelling, number):
    assert parse_signal(spelling) == number


@pytest.mark.parametrize(
    "bad", ["SIGFOO", "", "SIGRTMIN+31", "SIGRTMAX+1", "SIGRTMIN-1", 0, 65, "0", None, 1.5, True]
)
def test_parse_signal_rejects_naming_input(bad):
    with pytest.raises(ValueError) as info:
        parse_signal(bad)
    if isinstance(bad, str) and bad:
        assert repr(bad) in str(info.value)


def test_unknown_name_message():
    with pytest.raises(ValueError, match=r"unknown signal name 'SIGFOO'"):
        parse_signal("SIGFOO")


@given(st.integers(1, 64))
def test_name_round_trips(number):
    assert parse_signal(signal_name(number)) == number


@pytest.mark.parametrize(
    "sig, action",
    [("HUP", "term"), ("INT", "term"), ("KILL", "term"), ("PIPE", "term"), ("ALRM", "term"),
     ("USR1", "term"), ("QUIT", "core"), ("SEGV", "core"), ("ABRT", "core"), ("SYS", "core"),
     ("XCPU", "core"), ("XFSZ", "core"), ("TRAP", "core"), ("STOP", "stop"), ("TSTP", "stop"),
     ("TTIN", "stop"), ("TTOU", "stop"), ("CONT", "cont"), ("CHLD", "ign"), ("URG", "ign"),
     ("WINCH", "ign"), ("SIGRTMIN+1", "term"), (32, "term"), ("PWR", "term"),
     ("STKFLT", "term")],
)
def test_default_action(sig, action):
    assert default_action(sig) == action


def test_default_action_rejects_bad_signal():
    with pytest.raises(ValueError):
        default_action(0)
