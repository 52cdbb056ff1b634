"""Failure reports, strace logging, snapshots, chaos seeds, extension hooks, xdist."""
from __future__ import annotations

import re

import pytest

pytest_plugins = ["pytester"]

FORKER = """
    import pytest
    from pytest_simproc import Exited

    @pytest.mark.simproc(strace="deterministic")
    def test_fork(simhost):
        p = simhost.spawn(["sh", "-c", "sleep 3 & wait; exit 3"])
        simhost.run()
        assert p.exit_status == Exited(0)
"""


def test_failing_test_report_has_tree_and_strace_tail(pytester):
    pytester.makepyfile(FORKER)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*simproc process tree (simhost)*",
        "1 init",
        "*(gone) 1000 sh -c sleep 3 & wait; exit 3 [[]reaped by 1 {\"exited\": 3}[]]*",
        "*simproc strace tail of simhost.sh.1000*",
        "*wait4(-1, *",
        "*+++ exited with 3 +++*",
    ])


def test_report_says_when_strace_is_off(pytester):
    pytester.makepyfile("""
        def test_x(simhost):
            p = simhost.spawn(["sh", "-c", "exit 1"])
            simhost.run()
            assert p.returncode == 0
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*strace logging is off: run with --simproc-strace*"])


def _strace_of(pytester, *args):
    pytester.makepyfile("""
        def test_log(simhost):
            p = simhost.spawn(["sh", "-c", "sleep 2; echo hi"])
            simhost.run()
            print("BEGIN")
            print("\\n".join(p.strace().lines))
            print("END")
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-s", *args)
    result.assert_outcomes(passed=1)
    out = result.stdout.str()
    return out[out.index("BEGIN") + 6:out.index("END")]


def test_deterministic_strace_is_byte_identical_across_runs(pytester):
    runs = {_strace_of(pytester, "--simproc-strace=deterministic") for _ in range(2)}
    assert len(runs) == 1
    log = runs.pop()
    assert not re.search(r"0x[0-9a-f]{9,}", log)  # no addresses (file offsets may show)
    assert re.search(r"^00:00:00\.000000 .*execve\(", log, re.M)
    # 2 s and sleep's start-up (README "The CPU model": its exec's 565 us at least)
    assert re.search(r"^00:00:02\.000[5-9]\d\d .*write\(1, \"hi\\n\", 3\) += 3", log, re.M)
    assert log.rstrip().endswith("+++ exited with 0 +++")


def test_standard_strace_shows_real_values(pytester):
    log = _strace_of(pytester, "--simproc-strace=standard")
    assert re.search(r"0x[0-9a-f]{6,}", log)          # real addresses
    assert not re.search(r"^\d\d:\d\d:\d\d\.", log, re.M)  # no virtual time prefix
    assert "getpid() = 1000" in log or "execve(" in log


def test_ini_option_sets_strace_mode(pytester):
    pytester.makeini("[pytest]\nsimproc_strace = deterministic\n")
    pytester.makepyfile("""
        def test_x(simhost):
            assert simhost.strace_mode == "deterministic"
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


SNAPSHOT_TEST = """
    import pytest

    @pytest.mark.simproc(strace="deterministic")
    def test_snap(simhost, strace_snapshot):
        p = simhost.spawn(["sh", "-c", "sleep %d; exit 0"])
        simhost.run()
        strace_snapshot(p)
"""


def test_snapshot_written_then_matched_then_diffed(pytester):
    pytester.makepyfile(test_snap=SNAPSHOT_TEST % 1)
    missing = pytester.runpytest("-p", "no:cacheprovider")
    missing.assert_outcomes(failed=1)
    missing.stdout.fnmatch_lines(["*--simproc-update-snapshots*"])
    pytester.runpytest("-p", "no:cacheprovider", "--simproc-update-snapshots"
                       ).assert_outcomes(passed=1)
    snapshots = list(pytester.path.rglob("*.strace"))
    assert len(snapshots) == 1 and "__snapshots__" in str(snapshots[0])
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    pytester.makepyfile(test_snap=SNAPSHOT_TEST % 2)   # the program changed
    changed = pytester.runpytest("-p", "no:cacheprovider")
    changed.assert_outcomes(failed=1)
    changed.stdout.fnmatch_lines(["*--- snapshot*", "*+++ actual*",
                                  "*-00:00:00.000000 execve(*sleep 1; exit 0*",
                                  "*+00:00:00.000000 execve(*sleep 2; exit 0*",
                                  # after sleep's start-up (README "The CPU model")
                                  "*-00:00:01.000* +++ exited with 0 +++*",
                                  "*+00:00:02.000* +++ exited with 0 +++*",
                                  "*--simproc-update-snapshots*"])


def test_chaos_runs_each_seed_and_names_the_failing_one(pytester):
    pytester.makepyfile("""
        def test_race(simhost):
            # two children are runnable at the same virtual instant: which prints
            # first is the schedule's choice
            p = simhost.spawn(["sh", "-c", "(echo a) & (echo b) & wait"])
            simhost.run()
            assert p.stdout == b"a\\nb\\n"
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc-chaos=8", "-q")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 8
    assert outcomes.get("failed", 0) >= 1
    result.stdout.fnmatch_lines(["FAILED *test_race[[]seed=*[]]*"])


def test_extension_hooks_emulate_a_syscall_and_observe_exits(pytester):
    pytester.makeconftest("""
        ENDS = []

        def pytest_simproc_syscalls():
            return ["getcpu"]

        def pytest_simproc_syscall(call):
            if call.name == "getcpu":
                call.write(call.args[0], (7).to_bytes(4, "little"))
                return 0

        def pytest_simproc_process_exit(host, process, state):
            ENDS.append((process.pid, str(state)))
    """)
    pytester.makepyfile("""
        import os, sys
        import conftest

        def test_hooks(simhost):
            p = simhost.spawn([os.path.realpath(sys.executable), "-c",
                               "import os; print(os.sched_getaffinity(0), end=' ');"
                               "import ctypes; c = ctypes.c_uint(); "
                               "ctypes.CDLL(None).getcpu(ctypes.byref(c), None); print(c.value)"])
            simhost.run()
            # the machine's CPUs (the test's own mask), and the hook's CPU
            assert p.stdout == b"%s 7\\n" % str(os.sched_getaffinity(0)).encode()
            assert conftest.ENDS == [(1000, "Exited(0)")]
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_xdist_gives_the_same_results_and_strace_bytes(pytester):
    pytest.importorskip("xdist")
    pytester.makepyfile(f"""
        import pathlib
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_log(simhost, n):
            p = simhost.spawn(["sh", "-c", f"sleep {{n}}; (exit {{n}})"])
            simhost.run()
            out = pathlib.Path({str(pytester.path)!r}) / f"log{{n}}.txt"
            out.write_text("\\n".join(p.strace().lines) + repr(p.exit_status))
    """)
    logs = {}
    for args in ((), ("-n", "2")):
        base = pytester.path / f"base{len(args)}"
        result = pytester.runpytest("-p", "no:cacheprovider", "--simproc-strace=deterministic",
                                    f"--basetemp={base}", *args)
        result.assert_outcomes(passed=4)
        logs[args] = {p.name: p.read_text() for p in pytester.path.glob("log*.txt")}
        for p in pytester.path.glob("log*.txt"):
            p.unlink()
    assert len(logs[()]) == 4
    assert logs[()] == logs[("-n", "2")]


SNAPSHOT_PATHS_TEST = """
import os
import pytest

@pytest.mark.simproc(strace="deterministic")
def test_paths(simhost, tmp_path, strace_snapshot):
    (tmp_path / "in.txt").write_text("hi\\n")
    with open("cwd.txt", "w") as f:
        f.write("here\\n")
    p = simhost.spawn(["cat", str(tmp_path / "in.txt"), os.path.join(os.getcwd(), "cwd.txt"),
                       os.path.join(simhost.data_dir, "none")])
    simhost.run()
    strace_snapshot(p)
"""


def test_snapshot_writes_run_dependent_paths_as_placeholders(pytester, monkeypatch):
    """tmp_path, the host's data dir and the working directory differ between these
    two runs; the snapshot written by the first matches the second. (A length that
    follows a path's, such as cat's error message naming it, still differs: the files
    are there, but for the data dir's, whose length never changes.)"""
    test_file = pytester.makepyfile(test_snap=SNAPSHOT_PATHS_TEST)
    pytester.runpytest("-p", "no:cacheprovider", "--simproc-update-snapshots",
                       "--basetemp", str(pytester.path / "bt1")).assert_outcomes(passed=1)
    snapshot = (pytester.path / "__snapshots__" / "test_snap" / "test_paths.strace").read_text()
    for placeholder in ('"<tmp_path>/in.txt"', '"<cwd>/cwd.txt"', '"<data_dir>/none"'):
        assert placeholder in snapshot, snapshot
    assert str(pytester.path) not in snapshot and "/tmp/" not in snapshot, snapshot
    other = pytester.mkdir("elsewhere")
    monkeypatch.chdir(other)
    result = pytester.runpytest(str(test_file), "-p", "no:cacheprovider",
                                "--rootdir", str(pytester.path),
                                "--basetemp", str(pytester.path / "bt2"))
    result.assert_outcomes(passed=1)


def test_snapshots_under_chaos_are_not_compared_and_say_so(pytester):
    """Under --simproc-chaos each seed runs another schedule: the test's one snapshot
    is neither looked for per seed nor written, and a warning says why."""
    pytester.makepyfile(test_snap=SNAPSHOT_PATHS_TEST)
    for update in ([], ["--simproc-update-snapshots"]):
        result = pytester.runpytest("-p", "no:cacheprovider", "--simproc-chaos=2", *update)
        result.assert_outcomes(passed=2, warnings=2)
        result.stdout.fnmatch_lines([
            "*SnapshotNotCompared: strace snapshot test_paths.strace not compared under "
            "--simproc-chaos (schedule seed 0)*"])
        assert not (pytester.path / "__snapshots__").exists()
