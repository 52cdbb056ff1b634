#!/usr/bin/env python3
"""The cost of measuring, per Python process start: a bash loop of ``python -c pass``
(5 and 15 starts; the difference over 10, so that the tracer's own start-up does not
count) natively, natively under coverage's subprocess measurement, under ``simproc
run`` and under ``simproc run --cov``. Medians of REPS runs (default 3).

    .venv/bin/python benchmarks/coverage_start.py [REPS]
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

PY = sys.executable  # the venv's interpreter: its site-packages hold coverage's .pth
SIZES = (5, 15)


def loop(n: int) -> list[str]:
    return ["bash", "-c", f"for i in $(seq {n}); do {PY} -c pass; done"]


def wall(argv, cwd, env=None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    from pytest_simproc.host.measure import CONFIG_VARIABLE, run_configuration
    with tempfile.TemporaryDirectory() as cwd:
        with open(os.path.join(cwd, ".coveragerc"), "w") as f:
            f.write("[run]\npatch = subprocess\n")
        here = os.getcwd()
        os.chdir(cwd)
        try:
            measured = {**os.environ, CONFIG_VARIABLE: run_configuration()}
        finally:
            os.chdir(here)
        sim = [PY, "-m", "pytest_simproc", "run", "--stop-time", "1000000"]
        modes = {"native": (loop, None), "native, coverage": (loop, measured),
                 "simproc run": (lambda n: sim + ["--"] + loop(n), None),
                 "simproc run --cov": (lambda n: sim + ["--cov", "--"] + loop(n), None)}
        times = {(mode, n): [] for mode in modes for n in SIZES}
        for _ in range(reps):  # repetitions outermost: noise hits every cell a little
            for mode, (argv, env) in modes.items():
                for n in SIZES:
                    times[mode, n].append(wall(argv(n), cwd, env))
    print("| mode | ms per python start |\n|---|---:|")
    for mode in modes:
        small, large = (statistics.median(times[mode, n]) for n in SIZES)
        print(f"| {mode} | {(large - small) / (SIZES[1] - SIZES[0]) * 1000:.1f} |")


if __name__ == "__main__":
    main()
