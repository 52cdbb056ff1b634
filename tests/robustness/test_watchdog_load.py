"""The watchdog judges a spin by the CPU it used, not by real time: on a loaded
machine (CI runners, pytest -n, two CPU hogs) a program starting up gets a fraction of
a CPU, and ten real seconds of that is no spin. Driven with a fake clock, CPU meter
and scheduler state, so that the decisions are checked without loading the machine."""
from __future__ import annotations

import pytest

from pytest_simproc.engine.records import WatchdogState
from pytest_simproc.host import threads


class _Proc:
    pid, argv = 1000, ["prog"]


class _Task:
    native = tgid_native = 424242
    proc = _Proc()
    last_syscall = None


class _Engine:
    preempt_after_ns = 10 ** 9 * 1000   # no preemption requests in these tests

    def __init__(self):
        self.watch = WatchdogState()


@pytest.fixture
def machine(monkeypatch):
    """A fake machine: real time, the task's CPU time and its scheduler state, set by
    the test; SIGKILLs recorded instead of sent."""
    state = {"now": 100.0, "cpu": 0, "letter": "R", "killed": []}
    monkeypatch.setattr(threads, "_monotonic", lambda: state["now"])
    monkeypatch.setattr(threads, "_process_cpu_ns", lambda tgid: state["cpu"])
    monkeypatch.setattr(threads, "_native_state", lambda native: state["letter"])
    monkeypatch.setattr(threads, "_native_activity", lambda native: "spun in user code")
    monkeypatch.setattr(threads.os, "kill", lambda pid, sig: state["killed"].append(pid))
    engine = _Engine()
    dog = threads._Watchdog.__new__(threads._Watchdog)   # not registered with the thread
    dog._engine, dog._timeout, dog._timeout_ns = engine, 10.0, 10 * 10 ** 9
    dog._interval = 0.5
    dog._slice_key = dog._slice_start = dog._spin_key = dog._asleep = None
    dog._spin_cpu, dog._last_cpu, dog._last_look = 0, 0, 0.0
    task = _Task()
    engine.watch.task, engine.watch.since = task, state["now"]

    def run(seconds: float, cpu_share: float, letter: str = "R", step: float = 0.05):
        state["letter"] = letter
        for _ in range(int(seconds / step)):
            state["now"] += step
            state["cpu"] += int(step * cpu_share * 1e9)
            dog._look()
            if engine.watch.fired:
                break   # the tracer sees the death and stops waiting for the task
        return engine.watch.fired

    return run, state, engine


def test_a_starved_start_up_is_not_a_spin(machine):
    run, state, engine = machine
    assert run(30.0, cpu_share=0.15) is None   # 30 real seconds, 4.5 s of CPU
    assert state["killed"] == []


def test_a_spin_is_killed_after_the_timeout_in_cpu_time(machine):
    run, state, engine = machine
    assert run(9.9, cpu_share=1.0) is None
    message = run(0.2, cpu_share=1.0)
    assert message and "spun in user code" in message and "CPU" in message
    assert state["killed"] == [_Task.tgid_native]


def test_a_spin_at_a_fraction_of_a_cpu_is_killed_when_its_cpu_adds_up(machine):
    run, state, engine = machine
    assert run(60.0, cpu_share=0.16) is None      # 9.6 s of CPU
    assert run(5.0, cpu_share=0.16) is not None   # past 10 s of CPU


def test_a_native_sleep_is_reported_after_its_grace(machine):
    run, state, engine = machine
    assert run(1.9, cpu_share=0.0, letter="S") is None
    assert run(0.3, cpu_share=0.0, letter="S") is not None


def test_a_sleep_that_keeps_waking_is_not_a_sleep_streak(machine):
    """A task that sleeps and wakes (CPU moving between looks) starts its streak again."""
    run, state, engine = machine
    for _ in range(10):
        assert run(1.0, cpu_share=0.0, letter="S") is None
        assert run(0.05, cpu_share=0.5, letter="R") is None


def test_a_task_that_neither_sleeps_nor_runs_is_reported_at_last(machine):
    run, state, engine = machine
    assert run(99.0, cpu_share=0.0, letter="D") is None
    assert run(1.1, cpu_share=0.0, letter="D") is not None


def test_a_new_wait_starts_a_new_count_and_a_carried_one_goes_on(machine):
    """The tracer back-dates ``since`` to carry a spin over a preemption for something
    elsewhere in the host (engine/trap.py); a wait after a real stop starts at 0."""
    run, state, engine = machine
    assert run(8.0, cpu_share=1.0) is None
    engine.watch.since = state["now"] + 0.01          # a fresh wait
    assert run(8.0, cpu_share=1.0) is None
    engine.watch.since = state["now"] - 8.0           # carried: 8 s already spun
    assert run(3.0, cpu_share=1.0) is not None


def test_a_look_at_a_wait_just_begun_reads_no_state(machine, monkeypatch):
    """A busy host waits anew between almost every two looks: those looks leave the
    thread's state (a read of /proc/PID/stat, ~90 us) unread; a sleep's streak still
    dates from the first look at its wait (the grace test above)."""
    run, state, engine = machine
    reads = []
    monkeypatch.setattr(threads, "_native_state", lambda native: reads.append(native) or "S")
    for _ in range(100):
        engine.watch.since = state["now"]   # the tracer's next wait
        run(0.05, cpu_share=0.5)
    assert reads == [] and engine.watch.fired is None
    run(0.05, cpu_share=0.0)   # the same wait, looked at again
    assert reads == [_Task.native]
