"""Final-state value objects, their text forms and wait status encoding."""

import copy
import json
import pickle
import signal

import pytest
from hypothesis import given, strategies as st

from pytest_simproc.kernel import (
    Exited,
    Running,
    Signaled,
    encode_wait_status,
    format_state,
    parse_final_state,
    state_to_text,
)


def test_exited_compares_by_value_and_reprs():
    assert Exited(0) == Exited(0)
    assert Exited(0) != Exited(1)
    assert hash(Exited(2)) == hash(Exited(2))
    assert repr(Exited(0)) == "Exited(0)"


def test_exited_is_frozen():
    with pytest.raises(Exception):
        Exited(0).code = 1  # type: ignore[misc]


@pytest.mark.parametrize("bad", [-1, 256, 1000])
def test_exited_rejects_codes_outside_a_byte(bad):
    with pytest.raises(ValueError, match=str(bad)):
        Exited(bad)


@pytest.mark.parametrize("spelling", [15, signal.SIGTERM, "SIGTERM", "TERM", "sigterm"])
def test_signaled_accepts_every_spelling(spelling):
    state = Signaled(spelling)
    assert state.signal is signal.SIGTERM
    assert state == Signaled(signal.SIGTERM)


def test_signaled_core_ignored_by_equality_and_hash():
    assert Signaled("SEGV", core=True) == Signaled("SEGV")
    assert hash(Signaled("SEGV", core=True)) == hash(Signaled("SEGV"))
    assert {Signaled(11, core=True)} == {Signaled(11)}


def test_signaled_repr():
    assert repr(Signaled("TERM")) == "Signaled(SIGTERM)"
    assert repr(Signaled(11, core=True)) == "Signaled(SIGSEGV, core=True)"


def test_realtime_signal_is_stored_as_plain_int():
    state = Signaled("SIGRTMIN+3")
    assert type(state.signal) is int and state.signal == 37
    assert repr(state) == "Signaled(SIGRTMIN+3)"
    assert type(Signaled(signal.SIGRTMIN).signal) is int


def test_signaled_rejects_unknown_signal():
    with pytest.raises(ValueError, match="SIGFOO"):
        Signaled("SIGFOO")


def test_running_is_a_singleton():
    assert repr(Running) == "Running"
    assert copy.copy(Running) is Running
    assert copy.deepcopy(Running) is Running
    assert pickle.loads(pickle.dumps(Running)) is Running
    assert type(Running)() is Running


def test_text_forms():
    assert state_to_text(Exited(0)) == {"exited": 0}
    assert state_to_text(Signaled("TERM")) == {"signaled": "SIGTERM"}
    assert state_to_text(Running) == "running"
    assert format_state(Exited(0)) == '{"exited": 0}'
    assert format_state(Signaled(11, core=True)) == '{"signaled": "SIGSEGV"}'
    assert format_state(Running) == '"running"'


@pytest.mark.parametrize(
    "text, expected",
    [
        ("exited:0", Exited(0)),
        ("exited: 3", Exited(3)),
        ("signaled:SIGKILL", Signaled(9)),
        ("signaled:term", Signaled(15)),
        ("signaled:9", Signaled(9)),
        ("running", Running),
        ("RUNNING", Running),
        ('{"exited": 0}', Exited(0)),
        ('{"signaled": "SIGSEGV"}', Signaled(11)),
        ('"running"', Running),
        ({"exited": 2}, Exited(2)),
        ({"signaled": "SIGTERM"}, Signaled(15)),
        ({"signaled": 15}, Signaled(15)),
    ],
)
def test_parse_final_state_accepts(text, expected):
    assert parse_final_state(text) == expected


def test_parse_final_state_passes_objects_through():
    state = Signaled(6, core=True)
    assert parse_final_state(state) is state
    assert parse_final_state(Running) is Running


@pytest.mark.parametrize(
    "bad",
    ["bogus", "exited:x", "exited:300", "signaled:SIGFOO", "{", "", '"bogus"',
     {"exited": 1, "signaled": 2}, {"died": 1}, 3, None, {"exited": True}],
)
def test_parse_final_state_rejects_with_helpful_message(bad):
    with pytest.raises(ValueError) as info:
        parse_final_state(bad)
    message = str(info.value)
    assert repr(bad) in message
    assert "exited:N" in message and "running" in message


_states = st.one_of(
    st.integers(0, 255).map(Exited),
    st.integers(1, 64).map(Signaled),
    st.just(Running),
)


@given(_states)
def test_format_and_parse_round_trip(state):
    assert parse_final_state(format_state(state)) == state
    assert parse_final_state(state_to_text(state)) == state
    json.loads(format_state(state))


def test_encode_wait_status():
    assert encode_wait_status(Exited(0)) == 0
    assert encode_wait_status(Exited(3)) == 0x300
    assert encode_wait_status(Signaled("KILL")) == 9
    assert encode_wait_status(Signaled("SEGV", core=True)) == 11 | 0x80
    with pytest.raises(ValueError):
        encode_wait_status(Running)
