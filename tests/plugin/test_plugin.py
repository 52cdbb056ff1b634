"""The pytest plugin as users meet it: fixture, marker, expected_final_state."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def test_simhost_fixture_and_passing_expected_state(pytester):
    pytester.makepyfile("""
        import pytest
        from pytest_simproc import Exited

        @pytest.mark.simproc(expected_final_state=Exited(0))
        def test_ok(simhost):
            p = simhost.spawn(["sh", "-c", "sleep 30; echo $$"])
            simhost.run()
            assert p.stdout == b"1000\\n"
            # 30 s after sleep's fork and exec (README "The CPU model")
            assert 946684830 < simhost.now < 946684830.01
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_failing_expected_state_has_shadows_message(pytester):
    """A mismatch fails the test in its call phase (not a teardown error), with the
    tree of the finished processes."""
    pytester.makepyfile("""
        import pytest

        @pytest.mark.simproc(expected_final_state={"exited": 0})
        def test_segv(simhost):
            simhost.spawn(["sh", "-c", "kill -SEGV $$"])
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rf")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*process 'simhost.sh.1000' exited with status {\"signaled\": \"SIGSEGV\"}; "
        "expected end state was {\"exited\": 0} but was {\"signaled\": \"SIGSEGV\"}*",
        "process tree:",
        "1 init",
        "    (gone) 1000 sh -c kill -SEGV $$ [reaped by 1 {\"signaled\": \"SIGSEGV\"}]",
        "*FAILED test_failing_expected_state_has_shadows_message.py::test_segv*",
    ])
    assert "ERROR" not in result.stdout.str()


def test_expected_state_is_checked_after_the_test_and_before_teardown(pytester):
    """The check runs the host to its end once the function returned: a fixture that
    would stop the process at teardown comes too late, and a failing test is reported
    for its own failure only."""
    pytester.makepyfile("""
        import pytest

        @pytest.fixture
        def server(simhost):
            p = simhost.spawn(["sleep", "100"])
            yield p
            if p.state == "running":
                p.terminate()

        @pytest.mark.simproc(stop_time=10, expected_final_state={"exited": 0})
        def test_still_running(server):
            pass

        @pytest.mark.simproc(expected_final_state={"exited": 0})
        def test_own_failure(simhost):
            simhost.spawn(["sh", "-c", "exit 3"])
            assert False, "own failure"
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert 'expected end state was {"exited": 0} but was "running"' in out, out
    assert "own failure" in out and "exited with status {\"exited\": 3}" not in out, out


def test_running_at_stop_time(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.simproc(stop_time=60, expected_final_state="running")
        def test_daemon(simhost):
            simhost.spawn(["sleep", "1000"])
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_marker_typo_fails_that_test_alone_with_the_near_name(pytester):
    """The others run, module fixtures around it included (the test after it is in
    another module)."""
    pytester.makepyfile(test_a="""
        import pytest

        @pytest.fixture(scope="module")
        def shared():
            yield
            open("shared-torn-down", "w").close()

        def test_before(shared):
            pass

        @pytest.mark.simproc(stop_tme=10)
        def test_typo(simhost, shared):
            open("ran", "w").close()
    """, test_b="""
        def test_other():
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=2)
    assert (pytester.path / "shared-torn-down").exists()
    result.stdout.fnmatch_lines([
        "*test_typo*: @pytest.mark.simproc has a bad argument:",
        "*unknown argument 'stop_tme'; did you mean 'stop_time'?",
    ])
    assert not (pytester.path / "ran").exists()
    # deselected, it does not matter at all
    pytester.runpytest("-p", "no:cacheprovider", "-k", "other").assert_outcomes(passed=1)
    pytester.runpytest("-p", "no:cacheprovider", "-m", "simproc").assert_outcomes(failed=1)


def test_every_bad_marker_argument_is_reported(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.simproc(5, stop_tme=10, seed="x", expected_final_state={"exitted": 0},
                             hostname="ok", strac="deterministic", zzzzzz=1)
        def test_bad(simhost):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*@pytest.mark.simproc has 6 bad arguments:",
    ])
    out = result.stdout.str()
    for text in ("positional arguments (5,)", "'stop_tme'; did you mean 'stop_time'?",
                 "seed: seed must be an int", "expected_final_state: ",
                 "'strac'; did you mean 'strace'?", "unknown argument 'zzzzzz'; known: "):
        assert text in out, (text, out)
    assert "hostname" not in out.split("known: ")[0]  # a good argument is not blamed


def test_bad_expected_state_fails_the_test(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.simproc(expected_final_state={"exitted": 0})
        def test_x(simhost):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected_final_state*exitted*"])


def test_marker_help_lists_every_option(pytester):
    from pytest_simproc.plugin import _MARKER_OPTIONS
    result = pytester.runpytest("--markers")
    text = " ".join(line for line in result.stdout.lines if "simproc" in line or line.startswith(" "))
    for name in sorted(_MARKER_OPTIONS) + ["strace", "data_dir", "cpu_time_per_syscall"]:
        assert name in text, name


def test_marker_and_fixture_are_documented(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.simproc(*expected_final_state*"])
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(["simhost*", "*fresh simulated host*"])


@pytest.mark.parametrize("workers", [[], ["-n", "1"]], ids=["in-process", "xdist"])
def test_kept_data_dirs_are_in_the_terminal_summary(pytester, workers):
    pytester.makepyfile("""
        import subprocess

        def test_fixture(simhost):
            simhost.spawn(["sh", "-c", "echo kept"])
            simhost.run()

        def test_dropin():
            subprocess.run(["true"])
    """)
    # No -s: the summary does not depend on output capture.
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc",
                                           "--simproc-keep", *workers)
    result.assert_outcomes(passed=2)
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if "simproc: kept data dirs" in line)
    kept = [line.split(": ", 1)[1] for line in lines[start + 1:start + 3]]
    try:
        assert all(line.startswith("simhost: ") for line in lines[start + 1:start + 3])
        outputs = [p for d in kept for p in Path(d).glob("simhost.sh.1000.stdout")]
        assert [p.read_bytes() for p in outputs] == [b"kept\n"]
        assert all(Path(d).is_dir() for d in kept)
    finally:
        for d in kept:
            shutil.rmtree(d, ignore_errors=True)


def test_start_time_now_puts_files_written_before_in_the_past(pytester):
    """By default the host's clock is in 2000, before the files on the machine (make's
    clock skew); start_time="now" starts it at the next whole second when the test's
    host options are read (set up), after files written until then (here: at
    collection)."""
    pytester.makepyfile("""
        import subprocess
        import pytest

        open("written", "w").close()
        NEWER = ["sh", "-c", 'test "$(date +%s)" -ge "$(stat -c %Y written)"']

        @pytest.mark.simproc(start_time="now")
        def test_fixture(simhost):
            p = simhost.spawn(NEWER)
            simhost.run()
            assert p.returncode == 0
            assert simhost.start_time > 946684800

        def test_default(simhost):
            p = simhost.spawn(NEWER)
            simhost.run()
            assert p.returncode == 1

        @pytest.mark.simproc(start_time="now")
        def test_dropin():
            assert subprocess.run(NEWER).returncode == 0
    """)
    pytester.runpytest("-p", "no:cacheprovider", "-k", "not dropin").assert_outcomes(passed=2)
    pytester.runpytest("-p", "no:cacheprovider", "--simproc", "-k", "dropin").assert_outcomes(
        passed=1)


def test_start_time_other_words_are_refused(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.simproc(start_time="today")
        def test_x(simhost):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*start_time must be a number of seconds or 'now', not 'today'"])


def test_start_time_option_for_a_whole_run(pytester, monkeypatch):
    """--simproc-start-time (or the ini option simproc_start_time) starts every host of
    the run there, for a suite that compares the clock with real dates; the marker's
    start_time still wins. "now" is each test's own now."""
    pytester.makepyfile("""
        import datetime
        import os
        import subprocess
        import time
        import pytest

        RELEASED = datetime.date(2024, 1, 1)   # a suite that knows its library's age

        def test_after_release():
            assert datetime.date.today() > RELEASED
            out = subprocess.run(["date", "+%s"], capture_output=True, text=True).stdout
            assert abs(int(out) - time.time()) < 5    # the program's clock is the test's
            print("PIDS", os.getpid(), subprocess.Popen(["true"]).pid)

        @pytest.mark.simproc(start_time=0)
        def test_marker_wins():
            if os.environ.get("SIMPROC_EXPECTED"):
                assert time.time() < 60
    """)
    native = pytester.runpytest("-p", "no:cacheprovider", "-s")
    native.assert_outcomes(passed=2)
    default = pytester.runpytest("-p", "no:cacheprovider", "--simproc")
    default.assert_outcomes(passed=1, failed=1)   # the host starts in 2000
    now = pytester.runpytest("-p", "no:cacheprovider", "--simproc", "-s",
                             "--simproc-start-time=now")
    now.assert_outcomes(passed=2)
    pids = [line.split("PIDS ")[1].split()[:2] for line in now.outlines if "PIDS " in line]
    assert [pid for _, pid in pids] == ["1001"]   # ran in the host (date was 1000)
    assert pids[0][0] != "1"   # the test's own pid

    pytester.makeini("[pytest]\nsimproc_start_time = 1800000000.5\n")
    monkeypatch.setenv("SIMPROC_EXPECTED", "1")
    pytester.runpytest("-p", "no:cacheprovider", "--simproc").assert_outcomes(passed=2)


@pytest.mark.parametrize("args, ini, message", [
    (["--simproc-start-time=today"], None,
     "*--simproc-start-time=today: start_time must be a number of seconds*"),
    (["--simproc-start-time=-5"], None,
     "*--simproc-start-time=-5: start_time must be a non-negative number of seconds*"),
    ([], "simproc_start_time = soon",
     "*ini option simproc_start_time=soon: start_time must be a number of seconds*"),
])
def test_start_time_option_refuses_bad_values(pytester, args, ini, message):
    pytester.makepyfile("def test_x():\n    pass\n")
    if ini:
        pytester.makeini(f"[pytest]\n{ini}\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
