"""The CPU model: time moves with work (README "The CPU model").

A loop of simulated calls moves the host's clock by the CPU it is charged once a burst
passes its threshold; a task spinning in user code while something is due is preempted
after a real-time slice and virtual time moves by a fixed slice. cpu_spin.c has the
shapes of the LTP tests this fixes; each runs natively and in a host with the same
output (never compared on durations).
"""
from __future__ import annotations

import pytest

from pytest_simproc import Exited, SimHost

from .conftest import START, run_native, same_as_native

SPINS = {
    "alarm": b"spun until SIGALRM\ntms_utime grew yes\n",
    "real": b"spun until SIGALRM\n",
    "prof": b"spun until SIGPROF\n",
    "virtual": b"spun until SIGVTALRM\n",
    "posix-mono": b"spun until SIGALRM\n",
    "posix-cpu": b"spun until SIGALRM\n",
    "xcpu": b"spun until SIGXCPU\n",
    "thread": b"spun until the other thread ran\n",
}


@pytest.mark.parametrize("mode", sorted(SPINS))
def test_a_spin_ends_when_what_it_waits_for_is_due(build, mode):
    """Without preemption each of these spins until the watchdog kills it."""
    report = same_as_native([build("cpu_spin"), mode], SPINS[mode])
    assert report["host"]["preemptions"] >= 1


def test_spin_until_alarm_is_preempted_a_fixed_number_of_times(build):
    """alarm(1) and 10 ms slices: the clock reaches the alarm at the 100th preemption,
    whatever the machine's speed; the standard log marks each one, the deterministic
    log none, and is the same in two runs."""
    logs = []
    for strace in ("standard", "deterministic", "deterministic"):
        with SimHost(strace=strace) as host:
            p = host.spawn([build("cpu_spin"), "alarm"])
            host.run()
            assert p.exit_status == Exited(0)
            assert host.report()["host"]["preemptions"] == 100
            lines = host.strace_lines()
            logs.append(lines)
    standard, det1, det2 = logs
    assert sum(line.endswith("--- preempted ---") for line in standard) == 100
    assert not any("preempted" in line for line in det1)
    assert det1 == det2


def test_a_spin_beside_a_working_thread_gets_no_watchdog(build):
    """One thread spins until another has made 50,000 simulated calls: each preemption
    of the spinner gives the worker a turn about as long in real time, and a spinner
    whose host makes progress is not counted as stuck (LTP's signal06). Before, the
    worker got 64 calls per 10 ms slice and the watchdog killed the spinner."""
    report = same_as_native([build("cpu_spin"), "worker", "50000"],
                            b"spun while the other thread worked\n", watchdog_timeout=5)
    assert report["host"]["preemptions"] >= 1


def test_a_loop_of_calls_sees_time_pass(build):
    """getppid until CLOCK_MONOTONIC moved 20 ms: 20,000 calls charged 1 us each."""
    report = same_as_native([build("cpu_spin"), "burst"],
                            b"20 ms passed while calling getppid\n")
    assert report["host"]["preemptions"] == 0
    assert report["host"]["now"] == START + 0.02


def test_gettimeofday_loop_until_alarm(build):
    """LTP gettimeofday02's shape: alarm(2), then gettimeofday until SIGALRM, never
    going back. At 100 us a call (cpu_time_per_syscall), 20,000 calls take 2 s."""
    same_as_native([build("cpu_spin"), "gtod", "2"],
                   b"gettimeofday never went back until SIGALRM\n2 s passed yes\n",
                   cpu_time_per_syscall=1e-4)


def test_a_fork_loop_sees_time_pass(tool, clean_env):
    """bash runs date(1) until 30 ms have passed: each iteration forks and execs, and
    the clock moves by what those calls cost (before, it never moved: a hang)."""
    bash = tool("bash")
    script = ("s=$(date +%s%N); while [ $(( $(date +%s%N) - s )) -lt 30000000 ]; do :; "
              "done; echo done")
    res = run_native([bash, "-c", script], env=clean_env)
    assert (res.returncode, res.stdout, res.stderr) == (0, b"done\n", b"")
    with SimHost() as host:
        p = host.spawn([bash, "-c", script], env=clean_env)
        host.run()
        assert (p.exit_status, p.stdout, p.stderr) == (Exited(0), b"done\n", b"")
        assert host.now >= START + 0.03
        assert host.report()["host"]["preemptions"] == 0


def test_a_pipeline_that_never_blocks_for_long_lets_time_pass(tool, clean_env):
    """`yes | tail` runs for ever: run_for still ends, at exactly its virtual end."""
    sh = tool("sh")
    with SimHost() as host:
        p = host.spawn([sh, "-c", "yes | tail -c 1"], env=clean_env)
        host.run_for(0.05)
        assert host.now == START + 0.05
        assert p.exit_status is None
        assert host.report()["host"]["preemptions"] == 0


def test_a_spin_with_nothing_due_still_meets_the_watchdog(build):
    from pytest_simproc.errors import WatchdogError
    with SimHost(watchdog_timeout=1) as host:
        host.spawn([build("spin")])
        with pytest.raises(WatchdogError):
            host.run()
        assert host.report()["host"]["preemptions"] == 0
        assert host.now == START


def test_a_spin_that_only_another_process_s_timeout_preempts_meets_the_watchdog(
        build, tool, clean_env):
    """A sleeper's far deadline makes the spinner's preemptions move time, but they do
    not reset the watchdog's count: it is killed after watchdog_timeout real seconds,
    not run until stop_time at the speed of real time."""
    from pytest_simproc.errors import WatchdogError
    with SimHost(watchdog_timeout=1) as host:
        host.spawn([tool("sleep"), "3600"], env=clean_env)
        host.spawn([build("spin")])
        with pytest.raises(WatchdogError, match="spin"):
            host.run()


def test_a_spin_with_only_the_run_s_end_due_lets_the_run_end_there(build):
    """Nothing in the host is due but the end of a run_for (a drop-in test's sleep or
    timed wait): natively the spinner has a core of its own while the caller waits, so
    it is preempted and time moves in slices to the run's end, where the run returns
    (before: the run waited for the spinner until the watchdog killed it)."""
    with SimHost(watchdog_timeout=5) as host:
        p = host.spawn([build("spin")])
        host.run_for(0.2)
        assert host.now == START + 0.2
        assert p.exit_status is None
        assert host.report()["host"]["preemptions"] > 0
        host.run_for(0)  # a look at the current instant ends too
        assert host.now == START + 0.2
        p.kill()
        host.run()
        assert p.exit_status is not None


def test_a_spinner_does_not_keep_outside_input_from_a_parked_reader(build, tool, clean_env):
    """A reader parked on a pipe the caller writes to wakes when the host looks at
    parked descriptors: when nothing can run, and, since a spinner never lets the host
    be idle, at its preemptions (before: head waited for the spinner's end)."""
    import os
    r, w = os.pipe()
    try:
        with SimHost(watchdog_timeout=5) as host:
            host.spawn([build("spin")])
            reader = host.spawn([tool("head"), "-c", "1"], stdin=r, env=clean_env)
            host.run_for(0.05)  # head parks on the empty pipe
            assert reader.exit_status is None
            os.write(w, b"x")
            host.run_for(0.2)
            assert reader.exit_status == Exited(0)
    finally:
        os.close(r)
        os.close(w)
