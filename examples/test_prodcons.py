"""A pthreads producer/consumer program (prodcons.c) in a simulated host.

Six threads share a mutex, two condition variables and a pipe; the host runs one
thread at a time in an order fixed by its seed, and the futex waits, the
pthread_cond_timedwait deadlines and the blocking pipe reads all happen in virtual
time. Natively the program takes 10.75 s; here, milliseconds.
"""
from __future__ import annotations


import pytest

from pytest_simproc import Exited, SimHost

START = 946684800

# What no interleaving can change: every item is produced and consumed once, the
# waits that expire are the same in number (the gaps between items are fixed), the
# pipe's records come in order the instant they are written, and the run ends when
# the last item (B's at +10) has had its 0.75 s of work.
TOTALS = [
    "produced A 8 B 4, producer waits for room 1",
    "consumed 12 items, sum 1634 (expected 1634), 3 timeouts",
    "pipe: 5 records in order, first at +2.000, last at +10.000, total delay 0 ms",
    f"ok at {START + 10}.750 (+10.750)",
]

# Seed 0's interleaving (which consumer gets which item).
SEED0 = b"""\
prodcons 1000 started at 946684800
produced A 8 B 4, producer waits for room 1
consumer 1: 5 items, sum 711, last at +10.000, 2 timeouts
consumer 2: 7 items, sum 923, last at +7.500, 1 timeouts
consumed 12 items, sum 1634 (expected 1634), 3 timeouts
pipe: 5 records in order, first at +2.000, last at +10.000, total delay 0 ms
ok at 946684810.750 (+10.750)
"""


def run(program, seed=0):
    """One fresh host: (stdout, exit status, virtual duration, report)."""
    with SimHost(seed=seed) as host:
        p = host.spawn([program])
        host.run()
        assert p.stderr == b""
        return p.stdout, p.exit_status, host.now - START, host.report()


def per_consumer(out: bytes) -> list[str]:
    return [l for l in out.decode().splitlines() if l.startswith("consumer ")]


def totals(out: bytes) -> list[str]:
    return [l for l in out.decode().splitlines()[1:] if not l.startswith("consumer ")]


@pytest.mark.simproc(expected_final_state=Exited(0))
def test_output_and_duration_are_exact(simhost, programs):
    p = simhost.spawn([programs["prodcons"]])
    assert p.wait() == Exited(0)
    assert p.stdout == SEED0
    assert simhost.now == START + 10.75
    # threads are not processes: the table holds the one process, ended and reaped
    assert [(q.pid, q.state) for q in simhost.processes()] == [(1000, "reaped")]
    assert simhost.unsupported_syscalls == []
    assert simhost.report()["host"]["refused"] == []


def test_same_seed_same_run(programs):
    runs = [run(programs["prodcons"]) for _ in range(5)]
    assert all(r == runs[0] for r in runs[1:])
    assert runs[0][0] == SEED0


def test_other_seeds_change_only_who_takes_what(programs):
    """The split between the consumers (items, sums, each one's timeouts) depends on
    the interleaving, the totals do not (checked over seeds 0..11: eight splits)."""
    outs = {seed: run(programs["prodcons"], seed) for seed in range(6)}
    for seed, (out, status, duration, report) in outs.items():
        assert status == Exited(0), seed
        assert duration == 10.75, seed
        assert totals(out) == TOTALS, seed
        lines = per_consumer(out)
        items = [int(l.split()[2]) for l in lines]
        timeouts = [int(l.split()[-2]) for l in lines]
        assert sum(items) == 12 and sum(timeouts) == 3, (seed, lines)
        assert report["host"]["seed"] == seed
        assert [p["end_time"] for p in report["processes"]] == [START + 10.75]
    splits = {tuple(per_consumer(out)) for out, *_ in outs.values()}
    assert len(splits) > 1, splits         # seeds 0..5 give four different splits
    # and a seed is a seed: the same one again gives the same split
    assert run(programs["prodcons"], 3)[0] == outs[3][0]
    assert outs[1][0] != outs[0][0]
