"""Determinism: the same program on the same seed gives the same bytes and the same
report; another seed changes what the program sees as randomness."""
from __future__ import annotations

import json

from pytest_simproc import Exited, SimHost

RANDOM_CODE = "import random; print(random.random())"


def run_once(argv, *, seed=0, env=None):
    """(stdout, exit_status, canonical JSON of host.report()) of one run."""
    with SimHost(seed=seed) as host:
        p = host.spawn([str(a) for a in argv], env=env)
        host.run()
        return p.stdout, p.exit_status, json.dumps(host.report(), sort_keys=True)


def test_python_random_native_is_not_deterministic(tool, native, clean_env):
    python3 = tool("python3")
    a = native([python3, "-c", RANDOM_CODE], env=clean_env)
    b = native([python3, "-c", RANDOM_CODE], env=clean_env)
    assert a.returncode == b.returncode == 0
    assert 0 <= float(a.stdout) < 1
    assert a.stdout != b.stdout   # natively, seeded from the OS: differs run to run


def test_python_random_follows_the_seed(tool, clean_env):
    python3 = tool("python3")
    argv = [python3, "-c", RANDOM_CODE]
    first, status, _ = run_once(argv, seed=0, env=clean_env)
    assert status == Exited(0)
    assert 0 <= float(first) < 1
    second, _, _ = run_once(argv, seed=0, env=clean_env)
    other, status1, _ = run_once(argv, seed=1, env=clean_env)
    assert status1 == Exited(0)
    assert first == second
    assert other != first


def test_randbytes_native_differ(build, native):
    prog = build("randbytes")
    a, b = native([prog]), native([prog])
    assert a.returncode == b.returncode == 0
    a_lines, b_lines = a.stdout.splitlines(), b.stdout.splitlines()
    assert [line.split()[0] for line in a_lines] == [b"at_random", b"getrandom",
                                                     b"urandom", b"random"]
    assert all(x != y for x, y in zip(a_lines, b_lines))


def test_randbytes_follow_the_seed(build):
    prog = build("randbytes")
    first, status, _ = run_once([prog], seed=0)
    assert status == Exited(0)
    second, _, _ = run_once([prog], seed=0)
    other, _, _ = run_once([prog], seed=1)
    assert first == second
    f_lines, o_lines = first.splitlines(), other.splitlines()
    assert [line.split()[0] for line in f_lines] == [b"at_random", b"getrandom",
                                                     b"urandom", b"random"]
    # AT_RANDOM, getrandom(2), /dev/urandom (open) and /dev/random (openat) from the seed
    assert all(f != o for f, o in zip(f_lines, o_lines))
    assert len({line.split()[1] for line in f_lines}) == 4


def test_same_program_same_bytes_and_report(build, forktree_checker):
    prog = build("forktree")
    out1, status1, report1 = run_once([prog])
    out2, status2, report2 = run_once([prog])
    assert status1 == status2 == Exited(0)
    forktree_checker(out1, root_ppid=1)
    assert out1 == out2
    assert report1 == report2
    report = json.loads(report1)
    assert sorted(p["pid"] for p in report["processes"]) == list(range(1000, 1011))


def test_same_program_same_report_with_time(build):
    prog = build("subreaper")
    out1, _, report1 = run_once([prog])
    out2, _, report2 = run_once([prog])
    assert out1 == out2
    assert report1 == report2
    by_pid = {p["pid"]: p for p in json.loads(report1)["processes"]}
    assert by_pid[1002]["end_time"] - by_pid[1002]["start_time"] == 1


def test_logging_every_call_leaves_the_schedule_as_it_is(c_programs):
    """strace="standard" and "deterministic" stop at every call, "off" only at the
    simulated ones: the extra stops must not count toward a task's quantum, or the
    threads of a program take turns differently with logging on (the examples'
    producer/consumer split its items the other way under --simproc-verify)."""
    from pathlib import Path
    examples = Path(__file__).resolve().parents[2] / "examples"
    prodcons = c_programs(examples, "examples-det", {"prodcons": ["-pthread"]})("prodcons")
    outputs = {}
    for mode in ("off", "standard", "deterministic"):
        with SimHost(strace=mode) as host:
            p = host.spawn([prodcons])
            host.run()
            outputs[mode] = (p.exit_status, p.stdout, host.now)
    assert outputs["off"] == outputs["standard"] == outputs["deterministic"], outputs
