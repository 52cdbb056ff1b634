"""Chaos schedules find races on purpose: each seed a different legal interleaving, and
a seed that fails fails the same way every time.

Each program below has a race that natively goes one way or the other depending on
the machine's scheduling; run under 20 chaos seeds, both outcomes must show."""
import signal

import pytest

from pytest_simproc import Exited, Signaled, SimHost

SEEDS = range(20)
RACES = {
    # program: (the outcome when the race goes well, when it goes badly)
    "race_pidfile": (Exited(0), Exited(1)),     # parent read the pidfile after / before
    "race_signal": (Exited(0), Signaled(signal.SIGUSR1)),  # handler set before / after
    "race_reap": (Exited(0), Exited(1)),        # main loop reaped / the handler did
}


def _run(program, tmp_path, seed, chaos=True):
    workdir = tmp_path / f"seed{seed}"
    workdir.mkdir(exist_ok=True)
    with SimHost(seed=seed, chaos=chaos, stop_time=60) as host:
        proc = host.spawn([program], cwd=str(workdir))
        host.run()
        return proc.exit_status, proc.stdout, host.schedule_decisions()


@pytest.mark.parametrize("name", sorted(RACES))
def test_twenty_chaos_seeds_give_both_outcomes(build, tmp_path, name):
    outcomes = {_run(build(name), tmp_path, seed)[0] for seed in SEEDS}
    assert outcomes == set(RACES[name])


@pytest.mark.parametrize("name", sorted(RACES))
def test_a_failing_seed_fails_the_same_way_five_times_of_five(build, tmp_path, name):
    good, bad = RACES[name]
    seed = next(s for s in SEEDS if _run(build(name), tmp_path, s)[0] == bad)
    first = _run(build(name), tmp_path, seed)
    for _ in range(5):
        assert _run(build(name), tmp_path, seed) == first


def test_without_chaos_one_schedule_per_seed(build, tmp_path):
    # The default run is unchanged: the same seed gives the same outcome every time.
    runs = {_run(build("race_pidfile"), tmp_path, 3, chaos=False)[:2] for _ in range(3)}
    assert len(runs) == 1


def test_chaos_draws_short_reads_and_writes_where_they_are_legal(build, native, tmp_path):
    """A read of a pipe holding 20 bytes and a non-blocking 10,000-byte write to a
    stream socket move everything natively on a quiet machine and in a default host;
    chaos seeds make some of them short (read(2), pipe(7)), never losing a byte."""
    program = build("short_transfers")
    whole = b"read 20\nwrite 10000\nreceived all\n"
    assert native([program]).stdout == whole
    assert _run(program, tmp_path, 0, chaos=False)[1] == whole
    outputs = {_run(program, tmp_path, seed)[1] for seed in SEEDS}
    assert whole in outputs and len(outputs) > 2, outputs
    for out in outputs:
        read, write, received = out.decode().split("\n")[:3]
        assert 1 <= int(read.split()[1]) <= 20 and 1 <= int(write.split()[1]) <= 10000
        assert received == "received all"
    assert _run(program, tmp_path, 7)[1] == _run(program, tmp_path, 7)[1]
