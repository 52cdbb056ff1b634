"""Finding bugs on purpose from pytest: chaos schedules with a rerun command and the
deciding decision, --simproc-inject for every host, --simproc-verify."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PROGRAMS_DIR = Path(__file__).resolve().parent.parent / "programs"


@pytest.fixture(scope="module")
def race_pidfile(c_programs):
    return c_programs(PROGRAMS_DIR, "explore-programs")("race_pidfile")


RACE_TEST = """
    def test_race(simhost, tmp_path):
        p = simhost.spawn([{program!r}], cwd=str(tmp_path))
        simhost.run()
        assert p.stdout.startswith(b"pidfile ok")
"""


def _failing_seeds(result) -> list[int]:
    return sorted(int(line.split("seed=")[1].split("]")[0])
                  for line in result.outlines if line.startswith("FAILED"))


def test_a_failing_chaos_case_names_its_seed_and_the_command_that_reruns_it(
        pytester, race_pidfile):
    pytester.makepyfile(RACE_TEST.format(program=race_pidfile))
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc-chaos=10", "-rf")
    seeds = _failing_seeds(result)
    outcomes = result.parseoutcomes()
    assert seeds and outcomes.get("passed", 0) >= 1, result.outlines
    seed = seeds[0]
    nodeid = f"test_a_failing_chaos_case_names_its_seed_and_the_command_that_reruns_it.py::test_race"
    result.stdout.fnmatch_lines([
        f"*simproc chaos (seed={seed})*",
        f"chaos schedule seed={seed} failed*",
        f"  pytest '{nodeid}[[]seed={seed}[]]' --simproc-chaos=10",
        f"  pytest {nodeid} --simproc-chaos=1 --simproc-seed={seed}"])
    # both commands run only that case, and it fails the same way
    for args in ([f"{nodeid}[seed={seed}]", "--simproc-chaos=10"],
                 [nodeid, "--simproc-chaos=1", f"--simproc-seed={seed}"]):
        again = pytester.runpytest("-p", "no:cacheprovider", *args)
        again.assert_outcomes(failed=1)
        again.stdout.fnmatch_lines([f"*AssertionError*", "*pidfile missing*"])
        assert _failing_seeds(again) == [seed]
    # the default schedule reads the pidfile first: no decision to blame
    result.stdout.fnmatch_lines(["shrinking: the default schedule of this seed *fails too*"])


def test_shrinking_names_the_decision_that_decides_the_failure(pytester, race_pidfile):
    """Here the test fails when the child writes its pidfile first: the reruns find the
    one scheduling decision that lets it run before the parent opens the file."""
    pytester.makepyfile(RACE_TEST.format(program=race_pidfile).replace(
        "pidfile ok", "pidfile missing"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc-chaos=10")
    assert _failing_seeds(result), result.outlines
    result.stdout.fnmatch_lines([
        "shrunk in * reruns: the first * of * scheduling decisions fail, the first * pass*",
        "Deciding decision #*: 1001 * ran before 1000 *"])
    assert "fails too" not in result.stdout.str()
    decided = [line for line in result.outlines if line.startswith("Deciding decision")]
    assert all("clone(" in line or 'openat(AT_FDCWD, "race.pid"' in line
               for line in decided), decided


INJECTED_TEST = """
    import pytest

    @pytest.mark.simproc(inject=["getpid:retval=7"])
    def test_injected(simhost):
        p = simhost.spawn(["sh", "-c", "echo one; echo $$"])
        simhost.run()
        # write:error=ENOSPC:when=1 from the command line: the first write never ran;
        # the marker's rule still holds
        assert p.stdout == b"7\\n"
        assert b"error" in p.stderr
        assert [(i["syscall"], i["invocation"]) for i in simhost.injections()] == [
            ("getpid", 1), ("write", 1)]
"""


def test_simproc_inject_reaches_every_host_beside_the_markers_rules(pytester):
    pytester.makepyfile(INJECTED_TEST)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(failed=1)
    result = pytester.runpytest("-p", "no:cacheprovider",
                                "--simproc-inject=write:error=ENOSPC:when=1")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("spec, says", [
    ("write:error=ENOSPACE", "*error=ENOSPACE is neither an errno name*"),
    ("wrte:error=ENOSPC", "*unknown syscall 'wrte'*"),
    ("write", "*nothing to inject*"),
])
def test_a_bad_simproc_inject_is_a_usage_error_naming_its_fault(pytester, spec, says):
    pytester.makepyfile("def test_x(simhost): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", f"--simproc-inject={spec}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--simproc-inject: {says}"])


@pytest.fixture(scope="module")
def spin_count(c_programs):
    return c_programs(PROGRAMS_DIR, "explore-programs")("spin_count")


def test_verify_passes_deterministic_tests_simhost_and_drop_in(pytester):
    """Two runs of each test, compared: same output, states and strace (the programs'
    tmp_path differs between the runs and is not a difference)."""
    pytester.makepyfile("""
        import subprocess

        def test_host(simhost, tmp_path):
            p = simhost.spawn(["sh", "-c", "echo $$ $PWD; sleep 3; date +%s; ls"],
                              cwd=str(tmp_path))
            simhost.run()
            assert p.stdout.startswith(b"1000 ")

        def test_dropin(tmp_path):
            out = subprocess.run(["sh", "-c", "sleep 1; date +%s; cat /proc/self/stat"],
                                 capture_output=True, check=True, cwd=tmp_path).stdout
            assert out.startswith(b"946684801\\n")
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc-verify",
                                "--simproc")
    result.assert_outcomes(passed=2)


def test_verify_fails_a_test_whose_program_real_time_leaks_into(pytester, spin_count):
    pytester.makepyfile(f"""
        def test_spin(simhost):
            p = simhost.spawn([{spin_count!r}])
            simhost.run()
            assert p.stdout.endswith(b" iterations\\n")
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc-verify")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "--simproc-verify: two runs with the same seed differ*",
        "first difference at line * of the runs' records*",
        # its count, or, when both runs counted alike, its first read of /proc/stat
        "  run 1: [[]simhost[]] *1000 *",
        "  run 2: [[]simhost[]] *1000 *"])


def test_verify_runs_a_test_marked_nondeterministic_once_and_names_it(pytester, spin_count):
    """A test whose runs differ by design says why (the marker's nondeterministic=):
    --simproc-verify runs it once, and its summary lists it with the reason beside the
    count of the tests it compared, instead of failing it or passing it silently."""
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.simproc(nondeterministic="counts loop iterations until real time passes")
        def test_spin(simhost):
            p = simhost.spawn([{spin_count!r}])
            simhost.run()
            assert p.stdout.endswith(b" iterations\\n")

        def test_echo(simhost):
            p = simhost.spawn(["echo", "same"])
            simhost.run()
            assert p.stdout == b"same\\n"

        @pytest.mark.simproc(nondeterministic=True)
        def test_no_reason(simhost):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc-verify", "-n", "2")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*test_no_reason: @pytest.mark.simproc has a bad argument:",
        "  nondeterministic: expected the reason the test's runs differ, as text, not True",
        "*simproc verify*",
        "compared (ran twice with their seed): 1 tests; marked nondeterministic (ran "
        "once, not compared): 1:",
        "  test_verify_runs_a_test_marked_nondeterministic_once_and_names_it.py::"
        "test_spin: counts loop iterations until real time passes"])


def test_drop_in_tests_run_under_chaos_and_shrink_too(pytester, race_pidfile):
    pytester.makepyfile(f"""
        import subprocess

        def test_race(tmp_path):
            out = subprocess.run([{race_pidfile!r}], cwd=tmp_path,
                                 capture_output=True).stdout
            assert out == b"pidfile missing\\n"
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc", "--simproc-chaos=10")
    seeds = _failing_seeds(result)
    assert seeds and len(seeds) < 10, result.outlines
    result.stdout.fnmatch_lines([f"*simproc chaos (seed={seeds[0]})*",
                                 "Deciding decision #*: 1001 * ran before 1000 *"])


@pytest.mark.parametrize("name, default", [
    ("race_signal", "Exited(0)"),  # the parent sets its handler before the child signals
    ("race_reap", "Exited(0)"),    # the main loop reaps before the SIGCHLD handler
])
def test_shrinking_names_the_deciding_events_of_the_other_races(pytester, c_programs,
                                                                 name, default):
    program = c_programs(PROGRAMS_DIR, "explore-programs")(name)
    pytester.makepyfile(f"""
        from pytest_simproc import Exited

        def test_race(simhost, tmp_path):
            p = simhost.spawn([{program!r}], cwd=str(tmp_path))
            simhost.run()
            assert p.exit_status == {default}
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc-chaos=20")
    seeds = _failing_seeds(result)
    assert seeds and len(seeds) < 20, result.outlines
    decided = [line for line in result.outlines if line.startswith("Deciding decision #")]
    assert len(decided) == len(seeds), result.outlines
    assert all(" ran before 100" in line for line in decided), decided
