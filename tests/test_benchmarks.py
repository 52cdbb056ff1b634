"""The benchmark script's own parts (benchmarks/run.py, benchmarks/programs/ptrace_floor.c):
the floor tracer runs programs faithfully, and the table computes marginal costs, ratios
and verdicts from the samples it is given. Nothing here times anything."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _script(name: str, filename: str):
    """A benchmarks/ script loaded as a module, registered while the tests use it."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / filename)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.fixture(scope="module")
def bench():
    yield from _script("simproc_bench_run", "run.py")


@pytest.fixture(scope="module")
def floor(c_programs):
    return c_programs(BENCHMARKS / "programs", "bench-programs")("ptrace_floor")


def run_floor(floor, traps, *argv):
    return subprocess.run([floor, traps, *argv], capture_output=True, text=True, timeout=60)


def test_floor_tracer_passes_the_exit_status_through(floor):
    assert run_floor(floor, "-", "sh", "-c", "exit 3").returncode == 3
    assert run_floor(floor, "110", "sh", "-c", "exit 0").returncode == 0


def test_floor_tracer_reports_a_fatal_signal_as_128_plus_it(floor):
    assert run_floor(floor, "-", "sh", "-c", "kill -TERM $$").returncode == 128 + 15


def test_floor_tracer_follows_forks_and_trapped_calls_still_work(bench, floor):
    traps = ",".join(str(bench.syscall_number(name))
                     for name in ("clone", "clone3", "fork", "vfork", "wait4", "getppid"))
    script = "for i in 1 2 3; do sh -c 'echo $PPID' >/dev/null; done; echo done $(echo x)"
    res = run_floor(floor, traps, "sh", "-c", script)
    assert (res.returncode, res.stdout, res.stderr) == (0, "done x\n", "")


def test_floor_tracer_delivers_signals(floor):
    # trap and handler: the shell's own SIGUSR1 must reach it through the tracer
    script = "trap 'echo got; exit 7' USR1; kill -USR1 $$; sleep 5"
    res = run_floor(floor, "62", "sh", "-c", script)
    assert (res.returncode, res.stdout) == (7, "got\n")


def test_floor_tracer_usage_error(floor):
    res = subprocess.run([floor], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "usage: ptrace_floor" in res.stderr


def test_floor_tracer_names_a_missing_program(floor):
    res = run_floor(floor, "-", "/nonexistent-simproc-bench")
    assert res.returncode == 127 and "/nonexistent-simproc-bench" in res.stderr


def _sample(bench, wall, cpu=None):
    return bench.Run(wall=wall, rc=0, maxrss_kb=1024, cpu=wall if cpu is None else cpu,
                     stdout="", stderr="")


def test_table_marginal_costs_ratios_and_floor(bench):
    w = bench.Workload("c", "(c) fork", lambda n: [], {m: (1000, 2000) for m in bench.MODES},
                       "child", ("strace", 0.5), floor_traps=("wait4",))
    # seconds at 1000 and 2000 iterations: marginal µs = (t2 - t1) / 1000 * 1e6
    walls = {"native": (0.2, 0.35), "strace": (0.5, 0.85), "simproc": (0.6, 0.87),
             "floor": (0.3, 0.45)}
    for mode, (t1, t2) in walls.items():
        w.samples[(mode, 1000)] = [_sample(bench, t1 + d) for d in (-0.01, 0, 0.05)]
        w.samples[(mode, 2000)] = [_sample(bench, t2 + d) for d in (-0.01, 0, 0.05)]
    assert bench.marginal_us(w, "simproc") == pytest.approx(270.0)
    assert bench.marginal_us(w, "floor") == pytest.approx(150.0)
    (row,) = [line for line in bench.summary_table([w], set(), "wall") if "(c) fork" in line]
    cells = [c.strip() for c in row.strip("|").split("|")]
    # workload, sizes, native, strace, simproc, sim/strace, sim/native, target, result,
    # floor, floor ratio
    assert cells[2:5] == ["150", "350", "270"]
    assert cells[5:7] == ["0.77×", "1.80×"]
    assert cells[8] == "**MISS**"
    assert cells[9:] == ["150", "0.43×"]


def test_suite_table_gives_whole_runs_and_their_ratios(bench):
    w = bench.Workload("p2", "(p) empty", lambda n: [], {"native": (300, 1500),
                       "simproc": (300, 1500)}, "test", ("native", 1.05),
                       mode_args={"simproc": ["--simproc"]})
    for mode, size, wall, cpu in (("native", 300, 1.0, 0.8), ("native", 1500, 2.0, 1.6),
                                  ("simproc", 300, 1.1, 0.92), ("simproc", 1500, 2.5, 2.0)):
        w.samples[(mode, size)] = [_sample(bench, wall + d, cpu + d) for d in (0.3, 0, -0.1)]
    other = bench.Workload("a", "(a) getppid", lambda n: [], {"native": (1, 2)})
    other.samples[("native", 1)] = other.samples[("native", 2)] = [_sample(bench, 1.0)]
    header, rule, *rows = bench.suite_table([other, w])
    assert header.startswith("| suite | tests |") and len(rows) == 2
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert cells[0] == ["p2", "300", "1.000", "1.100", "1.10×", "0.800", "0.920", "1.15×"]
    assert cells[1] == ["p2", "1,500", "2.000", "2.500", "1.25×", "1.600", "2.000", "1.25×"]
    assert bench.suite_table([other]) == []


def test_runs_cache_byte_code_outside_the_sources(bench, monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = bench.child_environment("/tmp/cache-dir")
    assert "PYTHONDONTWRITEBYTECODE" not in env and env["PYTHONPYCACHEPREFIX"] == "/tmp/cache-dir"
    assert bench.child_environment(None)["PYTHONDONTWRITEBYTECODE"] == "1"


def test_table_marks_a_failed_simproc_cell_as_a_miss(bench):
    w = bench.Workload("a", "(a) getppid", lambda n: [], {m: (10, 20) for m in bench.BASE_MODES},
                       "call", ("strace", 0.5))
    for mode in bench.BASE_MODES:
        w.samples[(mode, 10)] = [_sample(bench, 1.0)]
        w.samples[(mode, 20)] = [_sample(bench, 1.0 + (0.1 if mode == "simproc" else 1.0))]
    rows = bench.summary_table([w], set(), "wall")
    assert "| PASS | — | — |" in rows[-1]
    rows = bench.summary_table([w], {("a", "simproc")}, "wall")
    assert "FAILED" in rows[-1] and "**MISS**" in rows[-1]


def test_table_row_without_a_target(bench):
    """(i) ps -e has no target (natively ps lists the whole machine): ratios, no verdict."""
    w = bench.Workload("i", "(i) ps", lambda n: [], {m: (10, 20) for m in bench.BASE_MODES},
                       "ps", None)
    for mode in bench.BASE_MODES:
        w.samples[(mode, 10)] = [_sample(bench, 1.0)]
        w.samples[(mode, 20)] = [_sample(bench, 1.1 if mode == "native" else 1.3)]
    (row,) = bench.summary_table([w], set(), "wall")[-1:]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:] == ["10,000", "30,000", "30,000", "1.00×", "3.00×", "—", "—", "—", "—"]


def test_prefix_of_each_mode(bench):
    w = bench.Workload("b1", "b", lambda n: [], {}, floor_traps=())
    assert bench._prefix("native", w) == []
    assert bench._prefix("strace", w) == bench.STRACE
    assert bench._prefix("floor", w)[1] == "-"
    w.floor_traps = ("getppid", "wait4")
    assert bench._prefix("floor", w)[1] == "110,61"


@pytest.fixture(scope="module")
def python_floor():
    yield from _script("simproc_bench_pyfloor", "python_floor.py")


@pytest.mark.parametrize("with_registers", [False, True])
def test_python_floor_follows_every_child_and_checks_the_status(python_floor, c_programs,
                                                                 with_registers):
    fork_reap = c_programs(BENCHMARKS / "programs", "bench-programs")("fork_reap")
    wall, cpu = python_floor.python_floor(str(fork_reap), 20, with_registers)
    assert wall > 0 and cpu > 0
    with pytest.raises(RuntimeError, match="failed under the floor tracer"):
        python_floor.python_floor("/bin/false", 1, with_registers)


def test_instruction_table_gives_p2_per_test_and_whole_runs(bench):
    small, large = bench.INSTRUCTION_SIZES
    counts = {("native", small): 2_000_000, ("native", large): 2_000_000 + (large - small) * 1000,
              ("simproc", small): 2_300_000,
              ("simproc", large): 2_300_000 + (large - small) * 1040}
    header, rule, per_test, *runs = bench.instruction_table(counts)
    cells = [c.strip() for c in per_test.strip("|").split("|")]
    assert cells == [f"per test ({small} / {large} tests)", "1,000", "1,040", "1.04×",
                     "simproc ≤ 1.05 × native", "PASS"]
    assert [c.strip() for c in runs[0].strip("|").split("|")][:4] == [
        f"whole run of {small} tests", "2,000,000", "2,300,000", "1.15×"]
    counts["simproc", large] = 2_300_000 + (large - small) * 1060
    assert bench.instruction_table(counts)[2].rstrip(" |").endswith("**MISS**")
    counts["simproc", large] = None  # valgrind failed on that run
    cells = [c.strip() for c in bench.instruction_table(counts)[2].strip("|").split("|")]
    assert cells[2:] == ["FAILED", "—", "simproc ≤ 1.05 × native", "**MISS**"]


def test_callgrind_summary_is_parsed(bench):
    assert bench.parse_callgrind("==41== Events    : Ir\n==41== Collected : 2,264,505,345\n"
                                 "==41==\n==41== I   refs:      2,264,505,345\n") == 2264505345
    assert bench.parse_callgrind("valgrind: no such file\n") is None


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_instructions_are_counted_the_same_each_run(bench):
    true = shutil.which("true")
    first, second = bench.count_instructions([true]), bench.count_instructions([true])
    assert first and first == second
    assert bench.count_instructions([true, "--version"]) != first
    assert bench.count_instructions(["false"]) is None  # a failed run counts nothing
