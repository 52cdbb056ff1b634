"""The pytest plugin as users meet it: fixture, marker, expected_final_state."""
from __future__ import annotations

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
            assert simhost.now == 946684830
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_failing_expected_state_has_shadows_message(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.simproc(expected_final_state={"exited": 0})
        def test_segv(simhost):
            simhost.spawn(["sh", "-c", "kill -SEGV $$"])
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*process 'simhost.sh.1000' exited with status {\"signaled\": \"SIGSEGV\"}; "
        "expected end state was {\"exited\": 0} but was {\"signaled\": \"SIGSEGV\"}*",
    ])


def test_running_at_stop_time(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.simproc(stop_time=60, expected_final_state="running")
        def test_daemon(simhost):
            simhost.spawn(["sleep", "1000"])
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_unknown_marker_argument_is_a_usage_error(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.simproc(stop_tme=10)
        def test_x(simhost):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 4  # pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown simproc marker argument 'stop_tme'*"])


def test_bad_expected_state_is_a_usage_error(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.simproc(expected_final_state={"exitted": 0})
        def test_x(simhost):
            pass
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*expected_final_state*exitted*"])


def test_marker_and_fixture_are_documented(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.simproc(*expected_final_state*"])
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(["simhost*", "*fresh simulated host*"])
