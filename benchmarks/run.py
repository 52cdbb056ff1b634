#!/usr/bin/env python3
"""Benchmarks of pytest-simproc: each workload natively, under ``strace -f`` and under
``simproc run``; prints a Markdown table of marginal per-iteration costs and ratios.

    .venv/bin/python benchmarks/run.py            # full run, ~4-5 minutes
    .venv/bin/python benchmarks/run.py --quick    # smaller sizes, fewer repetitions
    .venv/bin/python benchmarks/run.py --only a,c,g

See benchmarks/README.md for what each workload measures and how to read the table.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
# The interpreter running this script has pytest_simproc installed (the venv's python,
# not its realpath, so that the venv's site-packages are used).
SIMPROC = [sys.executable, "-m", "pytest_simproc", "run", "--stop-time", "1000000", "--"]
STRACE = ["strace", "-f", "-o", "/dev/null"]
# The workload (d) runs the real interpreter, never a shim such as pyenv's bash script.
REAL_PYTHON = os.path.realpath(sys.executable)
RUN_TIMEOUT = 180.0  # seconds of wall time for a single run before it is killed

BASE_MODES = ("native", "strace", "simproc")
MODES = BASE_MODES + ("floor",)
# The floor: benchmarks/programs/ptrace_floor.c, a C tracer with simproc's seccomp filter
# and CPU pinning that resumes every stop at once (no emulation). Its cost over native is
# that of the stops alone; simproc's over it, that of simulating.
FLOOR = None  # path of the compiled ptrace_floor, set in main()


# --------------------------------------------------------------------------- running

@dataclass
class Run:
    wall: float
    rc: int
    maxrss_kb: int
    cpu: float  # user + system seconds of the program and its reaped descendants
    stdout: str
    stderr: str
    timed_out: bool = False


@dataclass
class Failure:
    workload: str
    mode: str
    argv: list
    run: Run


WRAPPER = None  # path of the compiled rusage_wrap, set in main()
CHILD_ENV = None  # the runs' environment (None: this one's), set in main()
# the runs' working directory, an empty one of their own, set in main(): `python -m`
# puts it first on sys.path, and an import looks in it first. A busy one (/tmp here:
# thousands of entries that other processes change) is listed again at every import
# after a change, which made p2's instruction count vary by ~10^8 between runs.
RUN_DIR = None


def child_environment(cache_dir: str | None) -> dict:
    """This process's environment for the runs, with Python's byte code cached in
    ``cache_dir`` (never beside the sources), as for any installed or once-run
    project: under PYTHONDONTWRITEBYTECODE every run of a Python workload compiled
    pytest_simproc (and the generated test files) anew. ``None``: unchanged."""
    env = dict(os.environ)
    if env.get("PYTHONPATH"):   # the runs' working directory is RUN_DIR
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) if p else p
                                            for p in env["PYTHONPATH"].split(os.pathsep))
    if cache_dir is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


def run_once(argv: list[str]) -> Run:
    """Run argv under rusage_wrap; return its wall time, max RSS and CPU time.

    The max RSS is that of the program and of the descendants it reaped: for
    ``simproc run`` the tracer (Python) is far larger than the C tracees, so it is the
    tracer's peak. The wrapper (one fork + exec, well under a millisecond) is there
    because a process forked from this script inherits the script's high-water mark.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as usage_file:
        start = time.perf_counter()
        proc = subprocess.Popen([WRAPPER, usage_file.name] + argv, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, start_new_session=True, env=CHILD_ENV,
                                cwd=RUN_DIR)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(RUN_TIMEOUT, kill)
        timer.start()
        try:
            proc.wait()
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        fields = usage_file.read().split()
        maxrss, cpu = (int(fields[0]), float(fields[1]) + float(fields[2])) if fields else (0, 0.0)
        out.seek(0)
        err.seek(0)
        return Run(wall, proc.returncode, maxrss, cpu,
                   out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                   timed_out.is_set())


# ------------------------------------------------------------------------- workloads

@dataclass
class Workload:
    key: str                      # "a", "b1", ...
    label: str
    argv: object                  # function: size -> argv (without the mode prefix)
    sizes: dict                   # mode -> (small, large); modes absent are not run
    unit: str = "it"              # what one iteration is
    target: tuple | None = None   # ("strace", 0.5) | ("native", 1.1)
    check: object = None          # function: (Run, size) -> error text or None
    reps: int | None = None       # fewer repetitions than the default for slow cells
    floor_traps: tuple | None = None  # syscall names the floor tracer traps; None: no floor
    mode_args: dict | None = None  # a pytest suite: mode -> extra arguments, no prefix
    note: str = ""
    samples: dict = field(default_factory=dict)   # (mode, size) -> [Run]


def _prefix(mode: str, w: Workload) -> list[str]:
    if w.mode_args is not None:
        return []   # pytest itself, with or without --simproc (see _argv)
    if mode == "floor":
        numbers = ",".join(str(syscall_number(name)) for name in w.floor_traps)
        return [FLOOR, numbers or "-"]
    return {"native": [], "strace": STRACE, "simproc": SIMPROC}[mode]


def syscall_number(name: str) -> int:
    from ptrace.syscall import SYSCALL_NAMES  # python-ptrace, a dependency of simproc
    return next(nr for nr, n in SYSCALL_NAMES.items() if n == name and nr < 512)


def expect_line(text: str):
    def check(run: Run, size) -> str | None:
        return None if text.format(size=size) in run.stdout else f"expected {text.format(size=size)!r} in stdout"
    return check


def simproc_traps(name: str) -> bool:
    """Whether the installed simulator's seccomp filter traps the named system call."""
    try:
        from pytest_simproc.syscalls.registry import intercepted_numbers, syscall_number
        import pytest_simproc.syscalls  # noqa: F401  (registers the handlers)
        return syscall_number(name) in intercepted_numbers()
    except Exception:  # an internal layout this script does not know: assume not
        return False


def build_workloads(bindir: str, quick: bool) -> list[Workload]:
    def prog(name):
        return os.path.join(bindir, name)

    q = quick
    shell_loop = ("for ((i = 0; i < $1; i++)); do {py} -c pass || exit 1; done"
                  .format(py=REAL_PYTHON))
    read_trapped = simproc_traps("read")
    ps_loop = ("for ((i = 0; i < $1; i++)); do {ps} -e > /dev/null || exit 1; done"
               .format(ps=shutil.which("ps") or "ps"))
    wl = [
        Workload("a", "(a) emulated call: getppid()", lambda n: [prog("getppid_loop"), str(n)],
                 {"native": (1_000_000, 5_000_000) if not q else (200_000, 1_000_000),
                  "strace": (20_000, 100_000) if not q else (5_000, 25_000),
                  "simproc": (20_000, 100_000) if not q else (5_000, 25_000)},
                 "call", ("strace", 0.5), reps=3, floor_traps=("getppid",)),
        Workload("b1", "(b) call the simulator does not need: getuid()", lambda n: [prog("getuid_loop"), str(n)],
                 {"native": (1_000_000, 5_000_000) if not q else (500_000, 2_500_000),
                  "strace": (5_000, 25_000) if not q else (2_000, 10_000),
                  "simproc": (1_000_000, 5_000_000) if not q else (500_000, 2_500_000)},
                 "call", ("native", 1.1), floor_traps=()),
        Workload("b2", "(b) read(/dev/zero, 4 KiB)",
                 lambda n: [prog("devzero_loop"), str(n)],
                 {"native": (200_000, 1_000_000) if not q else (100_000, 500_000),
                  "strace": (5_000, 25_000) if not q else (2_000, 10_000),
                  # a trapped read costs a ptrace stop: then strace-like sizes
                  "simproc": ((5_000, 25_000) if read_trapped else (200_000, 1_000_000))
                  if not q else ((2_000, 10_000) if read_trapped else (100_000, 500_000))},
                 "read", ("native", 1.1), floor_traps=(),
                 note="read(2) is trapped by this simproc" if read_trapped else ""),
        Workload("c", "(c) fork + _exit + wait4", lambda n: [prog("fork_reap"), str(n)],
                 {m: (1_000, 2_000) if not q else (300, 600) for m in BASE_MODES},
                 "child", ("strace", 0.5),
                 floor_traps=("clone", "clone3", "fork", "vfork", "wait4")),
        Workload("d", "(d) bash `for` loop of `python -c pass`",
                 lambda n: ["bash", "-c", shell_loop, "bench", str(n)],
                 {m: (10, 20) if not q else (4, 8) for m in BASE_MODES},
                 "python", ("native", 3.0), reps=3),
        # /proc inside a host: ps reads the host's listing and each process's rendered
        # stat and status (natively it lists the whole machine: no target)
        Workload("i", "(i) bash `for` loop of `ps -e`",
                 lambda n: ["bash", "-c", ps_loop, "bench", str(n)],
                 {m: (10, 20) if not q else (4, 8) for m in BASE_MODES},
                 "ps", None, reps=3),
        Workload("f", "(f) SIGUSR1/SIGUSR2 ping-pong (sigsuspend)",
                 lambda n: [prog("sig_pingpong"), str(n)],
                 {m: (10_000, 20_000) if not q else (2_000, 4_000) for m in BASE_MODES},
                 "round trip", ("strace", 0.5), reps=3,
                 floor_traps=("kill", "rt_sigsuspend", "rt_sigprocmask", "rt_sigreturn")),
        # natively and under strace -f the machine's vDSO answers without a system call;
        # in a host the host's vDSO does (pytest_simproc/trace/vdso.py)
        Workload("j", "(j) clock read: clock_gettime(CLOCK_MONOTONIC) through libc",
                 lambda n: [prog("clock_loop"), str(n)],
                 {m: (1_000_000, 5_000_000) if not q else (200_000, 1_000_000)
                  for m in BASE_MODES},
                 "call", ("native", 10.0), floor_traps=()),
    ]
    # (l) a line's write(2) stops in a host: the host lets it run when it surely cannot
    # block (a pipe's, a raw pty's), or writes it itself at the stop when only the write
    # can tell (a cooked pty's), and resumes it there (engine/quickcalls.py,
    # syscalls/io.py quick_write). The child reads 64 KiB at once.
    for key, target, na, sim, limit in (("l1", "pipe", 200_000, 20_000, 1.0),
                                        ("l2", "pty", 50_000, 10_000, 1.0),
                                        ("l3", "tty", 50_000, 10_000, 1.0)):
        na, sim = (na // 2, sim // 4) if q else (na, sim)
        wl.append(Workload(
            key, f"(l) write(2) of a 64-byte line to a {'raw pty' if target == 'pty' else 'cooked pty' if target == 'tty' else target} a child drains",
            (lambda target: lambda n: [prog("write_lines"), str(n), target])(target),
            {"native": (na, 5 * na), "strace": (sim, 5 * sim), "simproc": (sim, 5 * sim)},
            "write", ("strace", limit), expect_line("lines={size}"), reps=3,
            floor_traps=("write", "read")))
    for w in wl:
        if w.floor_traps is not None:
            # trapping nothing, the floor runs at native speed; otherwise at simproc's
            w.sizes["floor"] = w.sizes["simproc" if w.floor_traps else "native"]
    for n in (10, 100, 1000):
        wl.append(Workload(
            f"g{n}", f"(g) fork + _exit + wait4, {n:,} sleepers alive",
            (lambda n: lambda m: [prog("fork_with_sleepers"), str(n), str(m)])(n),
            {mode: (500, 1_500) if not q else (200, 600) for mode in BASE_MODES},
            "child", None,
            (lambda n: lambda run, m: None if f"sleepers={n} cycles={m} " in run.stdout
             else "expected the sleepers= line in stdout")(n)))
    # Single-size, wall-clock workloads: sizes hold one argv-tag, not iteration counts.
    wl.append(Workload("e1", "(e) sleep 3600 s: one nanosleep(3600 s)",
                       lambda n: [prog("sleeper"), "3600", "3600"], {"simproc": (1, 1)},
                       "run", None, expect_line("slept 3600 s")))
    wl.append(Workload("e2", "(e) sleep 3600 s: 3,600 × nanosleep(1 s)",
                       lambda n: [prog("sleeper"), "3600", "1"], {"simproc": (1, 1)},
                       "run", None, expect_line("slept 3600 s")))
    # (p) drop-in suites: pytest: pytest on N generated tests, natively and with --simproc
    suites = {   # kind: (imports, body of test_it(i))
        "spawn": ("import subprocess", "subprocess.run([{true!r}], check=True)"),
        "empty": ("", "assert i >= 0"),
        "sleep": ("import time", "time.sleep(0.5)"),
        # pexpect's PopenSpawn: a reader thread on the program's stdout, and the test
        # looking at what it read between sleeps of 0.1 ms, 500 times
        "poll": ("import queue\nimport subprocess\nimport threading\nimport time\n\n\n"
                 "def poll(n):\n"
                 "    proc = subprocess.Popen(['cat'], stdin=subprocess.PIPE,\n"
                 "                            stdout=subprocess.PIPE)\n"
                 "    got = queue.Queue()\n"
                 "    reader = threading.Thread(target=lambda: got.put(proc.stdout.read()))\n"
                 "    reader.start()\n"
                 "    polls = 0\n"
                 "    while polls < n and got.empty():\n"
                 "        polls += 1\n"
                 "        time.sleep(0.0001)\n"
                 "    proc.stdin.close()\n"
                 "    assert proc.wait() == 0 and polls == n\n"
                 "    reader.join()\n",
                 "poll(500)"),
    }
    true_path = shutil.which("true") or "/bin/true"
    for key, kind, label, sizes, limit in (
            ("p1", "spawn", "(p) drop-in suite: tests that each run `true`", (10, 50), 1.5),
            ("p2", "empty", "(p) drop-in suite: tests that start no process", (300, 1500), 1.05),
            ("p3", "sleep", "(p) drop-in suite: tests that each sleep 0.5 s", (4, 8), 0.1),
            ("p4", "poll", "(p) drop-in suite: tests that each poll a pipe 500 times between "
             "0.1 ms sleeps", (5, 15), 1.0)):
        for n in sizes:
            with open(os.path.join(bindir, f"test_{kind}_{n}.py"), "w") as f:
                imports, body = suites[kind]
                f.write(f"import pytest\n{imports}\n\n\n"
                        f"@pytest.mark.parametrize('i', range({n}))\n"
                        f"def test_it(i):\n    {body.format(true=true_path)}\n")
        wl.append(Workload(
            key, label,
            (lambda kind: lambda n: [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                     os.path.join(bindir, f"test_{kind}_{n}.py")])(kind),
            {"native": sizes, "simproc": sizes}, "test", ("native", limit),
            (lambda n_label: lambda run, n: None if f"{n} passed" in run.stdout
             else f"expected '{n} passed'")(kind), mode_args={"simproc": ["--simproc"]}))
    wl.append(Workload("k", "(k) Go-like GC bursts: 60 × (40,000 clock reads, sleep 60 s)",
                       lambda n: [prog("gc_burst"), "60", "40000", "60"], {"simproc": (1, 1)},
                       "run", None, expect_line("rounds=60 reads=2400000 elapsed=3600 s")))
    true = shutil.which("true") or "/bin/true"
    wl.append(Workload("h", "(h) `simproc run true`, end to end", lambda n: [true],
                       {"native": (1, 1), "strace": (1, 1), "simproc": (1, 1)}, "run"))
    return wl


# --------------------------------------------------------- instructions (callgrind)

# p2 counted in instructions: tests per run (the per-test cost is the difference / 200)
INSTRUCTION_SIZES = (50, 250)
INSTRUCTION_TIMEOUT = 900  # seconds: valgrind runs Python ~50x slower


def count_instructions(argv: list[str]) -> int | None:
    """User-space instructions the process executes (valgrind's callgrind: simulated,
    so the same count on a loaded machine as on an idle one), or None if it failed."""
    env = dict(CHILD_ENV or os.environ, PYTHONHASHSEED="0")  # same dicts, same work
    try:
        res = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                              *argv], capture_output=True, text=True, env=env,
                             stdin=subprocess.DEVNULL, timeout=INSTRUCTION_TIMEOUT,
                             cwd=RUN_DIR)
    except subprocess.TimeoutExpired:
        return None
    return parse_callgrind(res.stderr) if res.returncode == 0 else None


def parse_callgrind(stderr: str) -> int | None:
    """The total of callgrind's summary line ("==PID== Collected : N")."""
    match = re.search(r"Collected\s*:\s*([\d,]+)", stderr)
    return int(match.group(1).replace(",", "")) if match else None


def measure_instructions(bindir: str, log) -> dict:
    """(mode, tests) -> instructions of a pytest run of that many empty tests, once
    each (the count does not vary: one run is its median). Each runs once untimed
    first, for pytest's cache of the rewritten test file."""
    counts = {}
    for n in INSTRUCTION_SIZES:
        path = os.path.join(bindir, f"test_counted_{n}.py")
        with open(path, "w") as f:
            f.write(f"import pytest\n\n\n@pytest.mark.parametrize('i', range({n}))\n"
                    f"def test_it(i):\n    assert i >= 0\n")
        for mode, extra in (("native", []), ("simproc", ["--simproc"])):
            argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path, *extra]
            run_once(argv)
            counts[mode, n] = count_instructions(argv)
            log(f"  instructions p2 {mode:<7} tests={n:<4} {counts[mode, n]}")
    return counts


def instruction_table(counts: dict) -> list[str]:
    """p2 in instructions: per test ((count at the large size - at the small) / the
    difference), natively and with --simproc, their ratio and the verdict; then each
    whole run's counts and ratio (start-up included)."""
    small, large = INSTRUCTION_SIZES

    def row(label, na, sim, target):
        ratio = sim / na if na and sim is not None else None
        result = ("—" if not target or na is None else "**MISS**" if ratio is None
                  else verdict(ratio <= 1.05))
        return (f"| {label} | {'—' if na is None else f'{na:,.0f}'} | "
                f"{'FAILED' if sim is None else f'{sim:,.0f}'} | {fmt_ratio(ratio)} | "
                f"{'simproc ≤ 1.05 × native' if target else ''} | {result} |")

    per_test = {}
    for mode in ("native", "simproc"):
        a, b = counts.get((mode, small)), counts.get((mode, large))
        per_test[mode] = None if a is None or b is None else (b - a) / (large - small)
    return ["| p2 | native instructions | simproc instructions | simproc/native | target "
            "| result |", "|---|---:|---:|---:|---|---|",
            row(f"per test ({small} / {large} tests)", per_test["native"],
                per_test["simproc"], True),
            *(row(f"whole run of {n} tests", counts.get(("native", n)),
                  counts.get(("simproc", n)), False) for n in INSTRUCTION_SIZES)]


def select(workloads, only):
    if not only:
        return workloads
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    return [w for w in workloads if w.key in wanted or w.key[0] in wanted]


# ------------------------------------------------------------------------ measuring

def measure(workloads, reps, failures, log):
    """Repetitions outermost, so that a burst of machine noise hits every cell a little
    rather than one cell a lot; within a repetition sizes and modes alternate."""
    broken = set()  # (key, mode) that failed once: not run again
    for rep in range(reps):
        for w in workloads:
            if w.reps is not None and rep >= w.reps:
                continue
            for mode in MODES:
                if mode not in w.sizes or (w.key, mode) in broken:
                    continue
                for size in dict.fromkeys(w.sizes[mode]):
                    argv = _prefix(mode, w) + w.argv(size) + (w.mode_args or {}).get(mode, [])
                    run = run_once(argv)
                    problem = None
                    if run.timed_out:
                        problem = f"killed after {RUN_TIMEOUT:.0f} s"
                    elif run.rc != 0:
                        problem = f"exit status {run.rc}"
                    elif w.check is not None:
                        problem = w.check(run, size)
                    if problem:
                        failures.append(Failure(w.key, mode, argv, run))
                        broken.add((w.key, mode))
                        log(f"  FAILED {w.key} {mode} size={size}: {problem}")
                        break
                    w.samples.setdefault((mode, size), []).append(run)
                    log(f"  rep {rep + 1}/{min(reps, w.reps or reps)} {w.key:<5} {mode:<7} size={size:<9} "
                        f"{run.wall:8.3f} s  cpu={run.cpu:7.3f} s  maxrss={run.maxrss_kb / 1024:6.1f} MB")


def median_of(w, mode, size, metric="wall"):
    """Median wall (or CPU, user + system) seconds of one (mode, size) cell."""
    runs = w.samples.get((mode, size))
    return statistics.median(getattr(r, metric) for r in runs) if runs else None


def marginal_us(w, mode, metric="wall"):
    """(median at the large size - median at the small size) / difference in size, in µs."""
    if mode not in w.sizes:
        return None
    small, large = w.sizes[mode]
    t1, t2 = median_of(w, mode, small, metric), median_of(w, mode, large, metric)
    if t1 is None or t2 is None or large == small:
        return None
    return (t2 - t1) / (large - small) * 1e6


# ------------------------------------------------------------------------- reporting

def fmt_us(x):
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def fmt_ratio(x):
    return "—" if x is None else f"{x:.2f}×"


def fmt_sizes(w):
    pairs = {m: w.sizes[m] for m in MODES if m in w.sizes}
    distinct = set(pairs.values())
    def one(p):
        return f"{p[0]:,} / {p[1]:,}"
    if len(distinct) == 1:
        return one(next(iter(distinct)))
    return "; ".join(f"{m[:2] if m != 'simproc' else 'sim'} {one(p)}" for m, p in pairs.items())


def verdict(ok):
    return "—" if ok is None else ("PASS" if ok else "**MISS**")


def summary_table(workloads, failed, metric):
    """The main table: marginal costs from `metric` ("wall" or "cpu") medians."""
    by = {w.key: w for w in workloads}
    lines = []
    out = lines.append
    out("| workload | sizes | native µs | strace -f µs | simproc µs | simproc/strace | "
        "simproc/native | target | result | floor µs | floor ratio |")
    out("|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|")

    def marg(w, mode):
        return marginal_us(w, mode, metric)

    def target_text(base, limit):
        if limit is None:
            return "—"
        return f"simproc ≤ {limit:g} × {'strace -f' if base == 'strace' else 'native'}"

    def cell(w, mode):
        return "FAILED" if (w.key, mode) in failed else fmt_us(marg(w, mode))

    def ratio(a, b):
        return a / b if a is not None and b else None

    for key in ("a", "b1", "b2", "c", "d", "i", "f", "j", "l1", "l2", "l3", "p1", "p2", "p3",
                "p4"):
        w = by.get(key)
        if w is None:
            continue
        na, st, sim, floor = (marg(w, m) for m in MODES)
        base, limit = w.target or ("native", None)
        r = ratio(sim, st) if base == "strace" else ratio(sim, na)
        floor_r = ratio(floor, st) if base == "strace" else ratio(floor, na)
        # a negative marginal cost is noise larger than the cost: no verdict
        ok = None if r is None or limit is None or r <= 0 else r <= limit
        if (w.key, "simproc") in failed:
            ok = False
        note = f" ({w.note})" if w.note else ""
        out(f"| {w.label} (per {w.unit}){note} | {fmt_sizes(w)} | {cell(w, 'native')} | "
            f"{cell(w, 'strace')} | {cell(w, 'simproc')} | {fmt_ratio(ratio(sim, st))} | "
            f"{fmt_ratio(ratio(sim, na))} | "
            f"{target_text(base, limit)} | {verdict(ok)} | "
            f"{cell(w, 'floor') if 'floor' in w.sizes else '—'} | {fmt_ratio(floor_r)} |")

    g = [by.get(f"g{n}") for n in (10, 100, 1000)]
    for w in g:
        if w is None:
            continue
        na, st, sim, _ = (marg(w, m) for m in MODES)
        out(f"| {w.label} (per {w.unit}) | {fmt_sizes(w)} | {cell(w, 'native')} | "
            f"{cell(w, 'strace')} | {cell(w, 'simproc')} | {fmt_ratio(ratio(sim, st))} | "
            f"{fmt_ratio(ratio(sim, na))} | (see flatness) | — | | |")
    if g[0] is not None and g[2] is not None:
        cols = [fmt_ratio(ratio(marg(g[2], m), marg(g[0], m))) for m in MODES[:3]]
        r = ratio(marg(g[2], "simproc"), marg(g[0], "simproc"))
        ok = None if r is None else r <= 1.5
        if ("g10", "simproc") in failed or ("g1000", "simproc") in failed:
            ok = False
        out(f"| (g) flatness: cost at 1,000 sleepers / at 10 | | {cols[0]} | {cols[1]} | "
            f"{cols[2]} | | | simproc ≤ 1.5× | {verdict(ok)} | | |")
    if g[2] is not None:
        runs = [r for (m, _), rs in g[2].samples.items() if m == "simproc" for r in rs]
        rss = max((r.maxrss_kb for r in runs), default=None)
        ok = None if rss is None else rss / 1024 < 100
        if ("g1000", "simproc") in failed:
            ok = False
        out(f"| (g) tracer max RSS, 1,000 sleepers alive | | | | "
            f"{'—' if rss is None else f'{rss / 1024:.1f} MB'} | | | < 100 MB | {verdict(ok)} | | |")

    unit = "wall" if metric == "wall" else "CPU"
    for key, goal in (("e1", 0.5), ("e2", 0.5), ("k", 1.0)):
        w = by.get(key)
        if w is None:
            continue
        t = median_of(w, "simproc", 1, metric)
        ok = None if t is None else t < goal
        if (key, "simproc") in failed:
            ok = False
        shown = "FAILED" if (key, "simproc") in failed else ("—" if t is None else f"{t:.3f} s")
        out(f"| {w.label}, {unit} per run | 1 run | 3,600 s (not run) | 3,600 s (not run) | "
            f"{shown} | | | < {goal:g} s | {verdict(ok)} | | |")
    w = by.get("h")
    if w is not None:
        t = {m: median_of(w, m, 1, metric) for m in MODES}
        ok = None if t["simproc"] is None else t["simproc"] < 0.3
        if ("h", "simproc") in failed:
            ok = False

        def sec(x):
            return "—" if x is None else f"{x:.3f} s"
        out(f"| {w.label}, {unit} per run | 1 run | {sec(t['native'])} | {sec(t['strace'])} | "
            f"{sec(t['simproc'])} | | | < 0.3 s | {verdict(ok)} | | |")
    return lines


def suite_table(workloads) -> list[str]:
    """The p workloads' whole runs: native and --simproc medians, wall and CPU."""
    lines = []
    for w in workloads:
        if w.mode_args is None:
            continue
        for size in dict.fromkeys(w.sizes.get("native", ())):
            cells = {(mode, metric): median_of(w, mode, size, metric)
                     for mode in ("native", "simproc") for metric in ("wall", "cpu")}
            if None in cells.values():
                continue
            if not lines:
                lines += ["| suite | tests | native wall s | simproc wall s | wall ratio | "
                          "native CPU s | simproc CPU s | CPU ratio |",
                          "|---|---:|---:|---:|---:|---:|---:|---:|"]
            na, sim = cells["native", "wall"], cells["simproc", "wall"]
            nc, sc = cells["native", "cpu"], cells["simproc", "cpu"]
            lines.append(f"| {w.key} | {size:,} | {na:.3f} | {sim:.3f} | {sim / na:.2f}× | "
                         f"{nc:.3f} | {sc:.3f} | {sc / nc:.2f}× |")
    return lines


def report(workloads, failures, reps, elapsed, quick, instructions=None):
    failed = {(f.workload, f.mode) for f in failures}
    lines = []
    out = lines.append
    out(f"## pytest-simproc benchmarks ({'quick, ' if quick else ''}{reps} repetitions per size "
        f"(a, d, f: {min(reps, 3)}), medians; {os.cpu_count()} CPUs; load average "
        f"{os.getloadavg()[0]:.1f}; {elapsed:.0f} s)")
    out("")
    out("Marginal cost per iteration in µs: (median wall at large size − median at small size)"
        " / (large − small). Sizes: small / large iterations (per mode when they differ: "
        "na = native, st = strace -f, sim = simproc).")
    out("")
    lines += summary_table(workloads, failed, "wall")
    out("")
    out("### The same from CPU time (user + system of the run and all its processes)")
    out("")
    out("Less sensitive to other load on the machine than wall time, but blind to time "
        "spent waiting (scheduling latency between tracer and tracee).")
    out("")
    lines += summary_table(workloads, failed, "cpu")

    suites = suite_table(workloads)
    if suites:
        out("")
        out("### Drop-in suites, whole runs (pytest's start-up included)")
        out("")
        out("Median wall and CPU seconds of each run of pytest, natively and with "
            "`--simproc`, and their ratios (the p rows above are per test, start-up "
            "excluded).")
        out("")
        lines += suites

    if instructions is not None:
        out("")
        out("### A test that starts no process, in instructions (load-proof)")
        out("")
        if instructions:
            out("User-space instructions of a pytest run of empty tests (valgrind's "
                "callgrind, `PYTHONHASHSEED=0`): deterministic, so load cannot move the "
                "verdict; per test: the difference between the two sizes. Blind to what "
                "an instruction costs (cache misses), which the CPU rows see.")
            out("")
            lines += instruction_table(instructions)
        else:
            out("Not counted: valgrind is not installed (or `--no-instructions`).")

    out("")
    out("### Medians per size (wall seconds, min–max in brackets; CPU = user + system seconds "
        "of the run and its children; MB = max RSS of the run)")
    out("")
    out("| workload | mode | size | median s | [min – max] | median CPU s | runs | max RSS MB |")
    out("|---|---|---:|---:|---|---:|---:|---:|")
    for w in workloads:
        for mode in MODES:
            for size in dict.fromkeys(w.sizes.get(mode, ())):
                runs = w.samples.get((mode, size))
                if not runs:
                    continue
                walls = [r.wall for r in runs]
                out(f"| {w.key} | {mode} | {size:,} | {statistics.median(walls):.3f} | "
                    f"[{min(walls):.3f} – {max(walls):.3f}] | "
                    f"{statistics.median(r.cpu for r in runs):.3f} | {len(runs)} | "
                    f"{max(r.maxrss_kb for r in runs) / 1024:.1f} |")

    if failures:
        out("")
        out("### Failures")
        for f in failures:
            out("")
            out(f"- {f.workload} under {f.mode}: exit status {f.run.rc}"
                f"{' (timed out)' if f.run.timed_out else ''}, {f.run.wall:.2f} s")
            out("  ```")
            out("  " + " ".join(_quote(a) for a in f.argv))
            for name, text in (("stdout", f.run.stdout), ("stderr", f.run.stderr)):
                tail = text[-1500:].rstrip()
                if tail:
                    out(f"  --- {name} (tail)")
                    out("\n".join("  " + ln for ln in tail.splitlines()))
            out("  ```")
    return "\n".join(lines)


def _quote(arg):
    return shlex.quote(arg)


# ------------------------------------------------------------------------------ main

def compile_programs(bindir: str):
    """Every programs/*.c, workloads and the rusage_wrap helper, into bindir."""
    cc = os.environ.get("CC", "cc")
    for name in sorted(os.listdir(PROGRAMS)):
        if not name.endswith(".c"):
            continue
        exe = os.path.join(bindir, name[:-2])
        subprocess.run([cc, "-O2", "-Wall", "-Werror", "-o", exe, os.path.join(PROGRAMS, name)],
                       check=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes and 3 repetitions (about a minute)")
    parser.add_argument("--reps", type=int, help="repetitions per size (5; 3 with --quick)")
    parser.add_argument("--only", metavar="KEYS",
                        help="comma-separated workloads: a,b,...,k (or b1,g1000,...)")
    parser.add_argument("--no-strace", action="store_true", help="skip the strace -f runs")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every run to stderr")
    parser.add_argument("--no-instructions", action="store_true",
                        help="skip counting p2's instructions under valgrind (a few "
                             "minutes; done when p2 runs and valgrind is installed)")
    parser.add_argument("--compile-each-run", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE as it is: with it set, every "
                             "Python run compiles pytest_simproc anew")
    args = parser.parse_args(argv)
    reps = args.reps or (3 if args.quick else 5)
    if not args.no_strace and shutil.which("strace") is None:
        print("strace not found: install it or pass --no-strace", file=sys.stderr)
        return 2

    def log(msg):
        if args.verbose:
            print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="simproc-bench-") as bindir:
        compile_programs(bindir)
        global CHILD_ENV
        CHILD_ENV = child_environment(None if args.compile_each_run
                                      else os.path.join(bindir, "pycache"))
        if not args.compile_each_run:  # the cache filled before the first timed run
            package = os.path.dirname(importlib.util.find_spec("pytest_simproc").origin)
            subprocess.run([sys.executable, "-m", "compileall", "-q", package],
                           env=CHILD_ENV, check=True, stdout=subprocess.DEVNULL)
        global RUN_DIR
        RUN_DIR = os.path.join(bindir, "cwd")
        os.mkdir(RUN_DIR)
        global WRAPPER
        WRAPPER = os.path.join(bindir, "rusage_wrap")
        global FLOOR
        FLOOR = os.path.join(bindir, "ptrace_floor")
        workloads = select(build_workloads(bindir, args.quick), args.only)
        if args.no_strace:
            for w in workloads:
                w.sizes.pop("strace", None)
        failures: list[Failure] = []
        print(f"running {len(workloads)} workloads × {reps} repetitions "
              f"(use -v to follow each run) ...", file=sys.stderr, flush=True)
        for w in workloads:  # untimed: pytest caches each test file's rewritten code
            if w.mode_args is not None:
                for size in dict.fromkeys(w.sizes.get("native", ())):
                    run_once(w.argv(size))
        measure(workloads, reps, failures, log)
        instructions = None
        if any(w.key == "p2" for w in workloads):
            instructions = ({} if args.no_instructions or shutil.which("valgrind") is None
                            else measure_instructions(bindir, log))
        print(report(workloads, failures, reps, time.perf_counter() - started, args.quick,
                     instructions))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
