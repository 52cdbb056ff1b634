"""Hostile arguments to the patched waits (select.select, poll, epoll) on a pipe of a
host program get what the real calls give them: the same exception type and message,
or an answer (empty: the program never writes) -- never a hang or an error from inside
the simulation. The real calls are made on a descriptor that is always readable, so
they check their arguments and return at once."""
from __future__ import annotations

import os
import select
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_simproc.dropin import DropinSession

# the real functions, out of reach of the session's patching of module attributes
REAL = {"select": select.select, "poll": select.poll, "epoll": select.epoll}

# Valid timeouts stay far below the host's stop_time (10 years: a longer wait fails
# there, as it should); the others are beyond what the kernel's clocks hold, or no number.
TIMEOUTS = st.one_of(
    st.floats(min_value=-1e4, max_value=1e4),        # virtual seconds the host runs
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not -1e10 <= x <= 1e10),
    st.integers(min_value=-2**80, max_value=2**80).filter(lambda x: not -2**63 <= x <= 2**63),
    st.integers(min_value=-3, max_value=3), st.booleans(),
    st.text(max_size=3), st.lists(st.integers(), max_size=2), st.just(1j))
HOSTILE = settings(max_examples=60, deadline=None,
                   suppress_health_check=list(HealthCheck))


def _outcome(call):
    try:
        result = call()
    except Exception as exc:  # what the caller sees
        return type(exc), str(exc)
    return "answer", bool(result) if not isinstance(result, tuple) else any(result)


@pytest.fixture(scope="module")
def waits():
    """A session whose host runs a program that holds its stdout for years, and a
    real pipe that is always readable."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"x")
    session = DropinSession().start()
    try:
        p = subprocess.Popen(["sleep", "100000000"], stdout=subprocess.PIPE)
        yield p, read_end
    finally:
        session.stop()
        os.close(read_end)
        os.close(write_end)


@HOSTILE
@given(timeout=TIMEOUTS)
def test_select(waits, timeout):
    p, ready = waits
    real = _outcome(lambda: REAL["select"]([ready], [], [], timeout))
    simulated = _outcome(lambda: select.select([p.stdout], [], [], timeout))
    assert simulated[0] == real[0] and (simulated == real or real[0] == "answer")
    if real[0] == "answer":
        assert simulated == ("answer", False)


# poll and epoll wait without a limit for a negative timeout: until the program ends
WAITING = TIMEOUTS.filter(lambda t: not isinstance(t, (int, float)) or t >= 0 or t != t
                          or t < -2**63)


@HOSTILE
@given(timeout=WAITING)
def test_poll(waits, timeout):
    p, ready = waits
    real_poll = REAL["poll"]()
    real_poll.register(ready, select.POLLIN)
    poller = select.poll()
    poller.register(p.stdout, select.POLLIN)
    real = _outcome(lambda: real_poll.poll(timeout))
    simulated = _outcome(lambda: poller.poll(timeout))
    assert simulated[0] == real[0] and (simulated == real or real[0] == "answer")


@HOSTILE
@given(timeout=WAITING,
       maxevents=st.one_of(st.integers(min_value=-2, max_value=3),
                           st.integers(min_value=2**31, max_value=2**70), st.text(max_size=1)))
def test_epoll(waits, timeout, maxevents):
    p, ready = waits
    with REAL["epoll"]() as real_epoll, select.epoll() as epoll:
        real_epoll.register(ready, select.EPOLLIN)
        epoll.register(p.stdout.fileno(), select.EPOLLIN)
        real = _outcome(lambda: real_epoll.poll(timeout, maxevents))
        simulated = _outcome(lambda: epoll.poll(timeout, maxevents))
    assert simulated[0] == real[0] and (simulated == real or real[0] == "answer")
