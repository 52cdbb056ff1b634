"""The map between the machine's file times and the host's clock (kernel/filetimes.py)."""
from __future__ import annotations

import os

from hypothesis import given, settings, strategies as st

from pytest_simproc.kernel.clock import VirtualClock
from pytest_simproc.kernel.filetimes import JUMP_NS, FileClock, real_now_ns

START = 946684800 * 10**9


def stamp(path) -> int:
    """A time the machine's kernel stamps: a write's mtime."""
    with open(path, "w") as f:
        f.write("x")
    return os.stat(path).st_mtime_ns


def test_a_stamp_reads_as_the_host_time_then(tmp_path):
    before = real_now_ns() - 10**9   # a file from before the host: the machine's time
    clock = VirtualClock(START)
    clock.files = files = FileClock(START)
    assert files.shown(before) == before
    written = stamp(tmp_path / "before")
    clock.advance_by(5 * 10**9)      # a sleep: five host seconds in no real time
    after = stamp(tmp_path / "after")    # in the same tick of the coarse clock, likely
    assert files.shown(written) == START
    assert files.shown(after) == START + 5 * 10**9
    # a stamp ahead of the machine's now: as far ahead of the host's
    ahead = files.shown(real_now_ns() + 3600 * 10**9)
    assert 3600 * 10**9 - 10**9 < ahead - (START + 5 * 10**9) <= 3600 * 10**9


def test_stamps_after_a_jump_are_after_its_instant(tmp_path):
    files = FileClock(START)
    for n in range(50):
        files.note(START + (n + 1) * JUMP_NS)
        assert stamp(tmp_path / "f") >= files._reals[-1]


@settings(max_examples=50, deadline=None)
@given(steps=st.lists(st.integers(0, JUMP_NS - 1), max_size=20),
       written=st.lists(st.integers(-10**18, 10**18), max_size=10))
def test_explicit_times_read_back_exactly(steps, written):
    clock = VirtualClock(START)
    clock.files = files = FileClock(START)
    for step in steps:
        clock.advance_by(step)
    values = [START + offset for offset in written] + [START + sum(steps) // 2]
    stored = [files.stored(value) for value in values]
    for value, real in zip(values, stored):
        assert files.shown(real) == value
    # the host's now, noted, is stamped as it
    files.note(clock.realtime_ns, force=True)
    assert files.shown(real_now_ns()) == clock.realtime_ns
