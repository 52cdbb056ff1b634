"""Engine.idle_leap: a run that could only move the clock is a move of the clock,
made by the caller's thread (a drop-in test's polling loop sleeps 100 us at a time);
where a run would do more, it changes nothing and says so."""
from __future__ import annotations

import os

from pytest_simproc import Exited, SimHost

US = 1_000


def test_a_leap_moves_the_clock_only_where_a_run_would_do_nothing_else():
    read_end, write_end = os.pipe()
    try:
        with SimHost() as host:
            proc = host.spawn(["sh", "-c", 'read line; sleep 10; echo "got $line"'],
                              stdin=read_end)
            host.run_for(1)  # sh is parked on the read of the empty pipe
            engine = host._engine
            start = engine.clock.now_ns
            assert engine.idle_leap(start + 100 * US)
            assert engine.clock.now_ns == start + 100 * US
            assert engine.idle_leap(start + 100 * US)  # a run to now: nothing to do
            assert not engine.idle_leap(start)  # not back
            assert engine.clock.now_ns == start + 100 * US

            os.write(write_end, b"hi\n")  # the parked read can end: a run would run sh
            assert not engine.idle_leap(start + 200 * US)
            assert engine.clock.now_ns == start + 100 * US

            host.run_for(1)  # sh read the line, and its sleep sleeps 10 s from within that second
            asleep = engine.clock.now_ns
            assert engine.idle_leap(asleep + 5_000_000 * US)
            # the sleep ends within the move: a run would wake it there
            assert not engine.idle_leap(asleep + 10_000_000 * US)
            assert engine.clock.now_ns == asleep + 5_000_000 * US

            host.run_for(10)
            assert proc.exit_status == Exited(0)
            assert proc.stdout == b"got hi\n"
    finally:
        os.close(read_end)
        os.close(write_end)
