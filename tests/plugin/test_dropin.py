"""Drop-in mode, ``pytest --simproc``: unmodified subprocess tests run in a simulated host.

Every inner suite below is an ordinary test file. It runs twice where that is cheap:
with ``--simproc`` (programs in the simulated host, time virtual) and natively (no
flag: nothing patched, real programs, real time), and must pass both ways. Tests that
would take real time natively are marked ``natively_slow``; tests asserting exact
virtual times are marked ``virtual_time``; both are skipped in the native run.
"""
from __future__ import annotations

import datetime
import os
import subprocess
import time

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest

def pytest_configure(config):
    config.addinivalue_line("markers", "natively_slow: takes real seconds natively")
    config.addinivalue_line("markers", "virtual_time: asserts exact virtual times")

def pytest_collection_modifyitems(config, items):
    if config.getoption("simproc", None):
        return
    for item in items:
        for name in ("natively_slow", "virtual_time"):
            if item.get_closest_marker(name):
                item.add_marker(pytest.mark.skip(reason=name))
"""

MODES = [pytest.param(["--simproc"], id="simproc"), pytest.param([], id="native")]


def run_inner(pytester, source: str, args, **outcomes):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(source)
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    if not args:  # native: the virtual-time-only tests are skipped
        skipped = outcomes.pop("skipped_natively", 0)
        if skipped:
            outcomes["skipped"] = outcomes.get("skipped", 0) + skipped
            outcomes["passed"] = outcomes.get("passed", 0) - skipped
    else:
        outcomes.pop("skipped_natively", None)
    result.assert_outcomes(**outcomes)
    return result


def phase_durations(result, name: str) -> float:
    reports = [r for r in result.reprec.getreports("pytest_runtest_logreport")
               if r.nodeid.endswith("::" + name)]
    assert reports, name
    for r in reports:
        assert 0 <= r.duration < 60, (r.when, r.duration)  # pytest's timing is real
    return sum(r.duration for r in reports)


def test_must_show_sleep_30_passes_in_well_under_a_second(pytester):
    """The issue's must-show: an unmodified test of a 30 s program runs in virtual
    time (under a second on an idle machine: `pytest --durations`). The bounds are the
    program's own 30 s, which a real sleep could not beat and a loaded machine does not
    reach."""
    pytester.makepyfile("""
        import subprocess
        import time

        def test_sleeper():
            p = subprocess.Popen(["sleep", "30"])
            time.sleep(31)
            assert p.poll() == 0
    """)
    started = time.perf_counter()
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc")
    wall = time.perf_counter() - started
    result.assert_outcomes(passed=1)
    assert phase_durations(result, "test_sleeper") < 30  # setup + call + teardown
    assert wall < 30  # the whole in-process pytest run, collection included


@pytest.mark.parametrize("args", MODES)
def test_communicate_check_output_and_run(pytester, args):
    run_inner(pytester, """
        import subprocess
        from subprocess import PIPE, Popen
        import pytest

        def test_communicate_text():
            p = Popen(["sh", "-c", "echo out; echo err >&2; exit 3"],
                      stdout=PIPE, stderr=PIPE, text=True)
            out, err = p.communicate(timeout=10)
            assert (out, err, p.returncode) == ("out\\n", "err\\n", 3)
            assert isinstance(p, subprocess.Popen)

        def test_communicate_input():
            p = Popen(["cat"], stdin=PIPE, stdout=PIPE)
            assert p.communicate(b"fed through stdin") == (b"fed through stdin", None)
            r = subprocess.run(["cat"], input="text in", capture_output=True, text=True)
            assert r.stdout == "text in" and r.returncode == 0

        def test_check_output():
            assert subprocess.check_output(["echo", "hello"]) == b"hello\\n"
            assert subprocess.check_output("echo $0 $X", shell=True, text=True,
                                           env={"X": "x", "PATH": "/usr/bin:/bin"}) == "/bin/sh x\\n"
            assert subprocess.call(["false"]) == 1
            assert subprocess.check_call(["true"]) == 0

        def test_run_check_raises(tmp_path):
            with pytest.raises(subprocess.CalledProcessError) as info:
                subprocess.run(["sh", "-c", "pwd; echo bad >&2; exit 2"], check=True,
                               capture_output=True, cwd=tmp_path)
            assert info.value.returncode == 2
            assert info.value.stdout == f"{tmp_path}\\n".encode()
            assert info.value.stderr == b"bad\\n"

        def test_stderr_to_stdout_and_files(tmp_path):
            out = subprocess.run(["sh", "-c", "echo a; echo b >&2; echo c"],
                                 stdout=PIPE, stderr=subprocess.STDOUT).stdout
            assert out == b"a\\nb\\nc\\n"
            assert subprocess.getstatusoutput("echo x; exit 4") == (4, "x")
            with open(tmp_path / "log", "w") as f:
                p = Popen(["sh", "-c", "echo to-file"], stdout=f)
            assert p.wait() == 0
            assert (tmp_path / "log").read_text() == "to-file\\n"

        def test_missing_program():
            with pytest.raises(FileNotFoundError):
                Popen(["no-such-program-simproc"])
    """, args, passed=6)


@pytest.mark.parametrize("args", MODES)
def test_wait_timeout_then_success(pytester, args):
    run_inner(pytester, """
        import subprocess
        import time
        import pytest

        def test_wait_timeout():
            t0 = time.monotonic()
            p = subprocess.Popen(["sleep", "0.5"])
            with pytest.raises(subprocess.TimeoutExpired) as info:
                p.wait(timeout=0.1)
            assert "timed out after 0.1 seconds" in str(info.value)
            assert p.returncode is None and p.poll() is None
            assert p.wait(timeout=10) == 0
            assert p.returncode == 0
            assert time.monotonic() - t0 >= 0.5

        @pytest.mark.virtual_time
        def test_wait_timeout_is_virtual():
            t0 = time.monotonic()
            p = subprocess.Popen(["sleep", "300"])
            with pytest.raises(subprocess.TimeoutExpired):
                p.wait(timeout=120)
            assert time.monotonic() - t0 == pytest.approx(120, abs=1e-3)  # and the reads
            assert p.wait() == 0
            assert time.monotonic() - t0 == pytest.approx(300, abs=1e-3)

        @pytest.mark.virtual_time
        def test_run_timeout_kills():
            with pytest.raises(subprocess.TimeoutExpired):
                subprocess.run(["sleep", "3600"], timeout=5)
            assert time.time() == pytest.approx(946684805, abs=1e-3)
    """, args, passed=3, skipped_natively=2)


@pytest.mark.parametrize("args", MODES)
def test_signals_kill_and_waitpid(pytester, args):
    run_inner(pytester, """
        import os
        import signal
        import subprocess
        import time
        import pytest

        def test_send_signal():
            p = subprocess.Popen(["sleep", "30"])
            p.send_signal(signal.SIGTERM)
            assert p.wait(timeout=10) == -15
            p.kill()  # already ended: nothing happens

        def test_terminate_and_kill():
            with subprocess.Popen(["sleep", "30"]) as p:
                p.terminate()
            assert p.returncode == -signal.SIGTERM
            q = subprocess.Popen(["sleep", "30"])
            q.kill()
            assert q.wait() == -9

        def test_os_kill_and_waitpid():
            p = subprocess.Popen(["sleep", "30"])
            os.kill(p.pid, 0)  # it exists
            os.kill(p.pid, signal.SIGKILL)
            pid, status = os.waitpid(p.pid, 0)
            assert pid == p.pid
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            with pytest.raises(ChildProcessError):
                os.waitpid(p.pid, 0)

        def test_waitpid_wnohang():
            p = subprocess.Popen(["sh", "-c", "sleep 0.3; exit 7"])
            assert os.waitpid(p.pid, os.WNOHANG) == (0, 0)
            time.sleep(1)
            pid, status = os.waitpid(p.pid, os.WNOHANG)
            assert pid == p.pid and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 7

        def test_new_session_and_killpg():
            p = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30"], start_new_session=True)
            time.sleep(0.2)
            assert os.getpgid(p.pid) == p.pid == os.getsid(p.pid)
            os.kill(-p.pid, 0)  # the group exists
            os.killpg(p.pid, signal.SIGTERM)
            assert p.wait(timeout=10) == -signal.SIGTERM

        @pytest.mark.virtual_time
        def test_virtual_pids():
            a, b = subprocess.Popen(["true"]), subprocess.Popen(["true"])
            assert (a.pid, b.pid) == (1000, 1001)
            assert os.waitpid(b.pid, 0) == (1001, 0)
            assert a.wait() == 0
    """, args, passed=6, skipped_natively=1)


def test_time_follows_the_virtual_clock(pytester):
    run_inner(pytester, """
        import datetime
        import subprocess
        import time
        from time import sleep
        import pytest

        UTC = datetime.timezone.utc

        US = datetime.timedelta(microseconds=1)  # what a read of the clock costs

        @pytest.mark.virtual_time
        def test_clock():
            assert time.time() == 946684800
            assert datetime.datetime.now(UTC) == datetime.datetime(2000, 1, 1, tzinfo=UTC) + US
            t0 = time.monotonic()
            sleep(90)  # `from time import sleep` is patched too
            assert time.monotonic() - t0 == pytest.approx(90 + 1e-6, abs=5e-7)
            assert (datetime.datetime.now(UTC)
                    == datetime.datetime(2000, 1, 1, 0, 1, 30, tzinfo=UTC) + 4 * US)
            assert datetime.datetime.now() == datetime.datetime.fromtimestamp(time.time()) - US
            # the programs and the test read the same clock
            assert subprocess.check_output(["date", "+%s"]) == b"946684890\\n"
            p = subprocess.Popen(["sleep", "10"])
            p.wait()
            assert time.time() == pytest.approx(946684900, abs=1e-3)
            time.sleep(5)  # nothing runs any more: the clock still moves
            assert time.time() == pytest.approx(946684905, abs=1e-3)

        @pytest.mark.virtual_time
        def test_each_test_has_its_own_host():
            assert time.time() == 946684800
            assert subprocess.Popen(["true"]).pid == 1000

        @pytest.mark.virtual_time
        @pytest.mark.simproc(start_time=1700000000, seed=3)
        def test_marker_configures_the_host():
            assert time.time() == 1700000000
            assert subprocess.check_output(["date", "+%s"]) == b"1700000000\\n"
    """, ["--simproc"], passed=3)


def test_clock_names_imported_before_the_tests_and_freezegun_inside_them(pytester):
    """A module's `from time import monotonic` and `from datetime import datetime` (made
    at collection) read the host's clock in every test, a test's own freeze_time
    nests above it, and after the run every name, freezegun's own included, is real."""
    import freezegun.api
    fakes = (freezegun.api.fake_time, freezegun.api.fake_monotonic, freezegun.api.FakeDatetime)
    pytester.makepyfile(helper="""
        from time import monotonic, time as now
        from datetime import datetime
    """)
    run_inner(pytester, """
        import datetime as dt
        import time
        from time import monotonic, perf_counter
        from datetime import datetime
        import freezegun
        import helper
        import pytest
        SEEN = []

        US = 1e-6  # a read of the clock costs a microsecond of virtual time

        def test_names_read_the_host_clock():
            SEEN.append(helper)
            assert helper.now() == 946684800 and time.time() == 946684800 + US
            assert datetime.now(dt.timezone.utc).year == helper.datetime.now().year == 2000
            t0, p0 = monotonic(), perf_counter()
            time.sleep(90)
            assert helper.monotonic() - t0 == pytest.approx(90 + 2 * US, abs=US / 2)
            assert perf_counter() - p0 == pytest.approx(90 + 2 * US, abs=US / 2)

        def test_freezegun_in_a_test():
            with freezegun.freeze_time("2010-06-01 12:00:00"):
                assert datetime.now().year == 2010 and time.time() == 1275393600
            t = time.time()
            assert 946684800 <= t < 946684800.001
            assert helper.now() == pytest.approx(t + US, abs=US / 2)
            time.sleep(1)
            assert helper.now() == pytest.approx(t + 1 + 2 * US, abs=US / 2)

        def test_every_test_starts_at_the_start_time():
            assert helper.now() == 946684800
            assert helper.monotonic() == pytest.approx(monotonic() - US, abs=US / 2)
    """, ["--simproc"], passed=3)
    assert time.time is freezegun.api.real_time and time.monotonic is freezegun.api.real_monotonic
    assert datetime.datetime is freezegun.api.real_datetime
    assert (freezegun.api.fake_time, freezegun.api.fake_monotonic,
            freezegun.api.FakeDatetime) == fakes
    assert not freezegun.api.freeze_factories
    run_inner(pytester, """
        import time
        import helper

        def test_native():
            assert helper.now() > 1.6e9 and helper.monotonic is time.monotonic
    """, [], passed=1)


@pytest.mark.parametrize("args", MODES)
def test_readline_of_a_program_that_sleeps_between_lines(pytester, args):
    run_inner(pytester, """
        import subprocess
        import time
        import pytest

        PROGRAM = ["sh", "-c", "echo one; sleep 1; echo two; sleep 1; echo three"]

        def test_readline():
            t0 = time.monotonic()   # before the start: "sleep 1" begins after it
            p = subprocess.Popen(PROGRAM, stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline() == "one\\n"
            assert p.stdout.readline() == "two\\n"
            assert time.monotonic() - t0 >= 0.9
            assert [line for line in p.stdout] == ["three\\n"]
            assert p.stdout.readline() == ""
            assert p.wait() == 0

        @pytest.mark.virtual_time
        def test_readline_times_are_virtual():
            p = subprocess.Popen(PROGRAM, stdout=subprocess.PIPE)
            seen = [(line, time.time() - 946684800) for line in p.stdout]
            assert [(line, round(t, 2)) for line, t in seen] == [
                (b"one\\n", 0), (b"two\\n", 1), (b"three\\n", 2)]
            # each sleep starts after its fork and exec (README "The CPU model")
            assert 0 < seen[1][1] - 1 < seen[2][1] - 2 < 0.01
            assert p.wait() == 0
    """, args, passed=2, skipped_natively=1)


@pytest.mark.parametrize("args", MODES)
def test_reader_threads(pytester, args):
    """A thread reading a pipe sees what the program wrote while the test's thread ran
    the host; when the test's thread waits natively (join), the reader drives."""
    run_inner(pytester, """
        import subprocess
        import threading
        import time

        PROGRAM = ["sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.1; done"]

        def collect(p, into):
            for line in p.stdout:
                into.append(line)

        def test_reader_while_the_test_sleeps():
            p = subprocess.Popen(PROGRAM, stdout=subprocess.PIPE, text=True)
            lines = []
            t = threading.Thread(target=collect, args=(p, lines))
            t.start()
            time.sleep(1)
            t.join(timeout=30)
            assert lines == ["1\\n", "2\\n", "3\\n"]
            assert p.wait() == 0

        def test_reader_while_the_test_joins():
            p = subprocess.Popen(PROGRAM, stdout=subprocess.PIPE, text=True)
            lines = []
            t = threading.Thread(target=collect, args=(p, lines))
            t.start()
            t.join(timeout=30)
            assert lines == ["1\\n", "2\\n", "3\\n"]
            assert p.wait() == 0
    """, args, passed=2)


def test_fixtures_spawn_in_the_tests_host(pytester):
    """The host exists from before fixture setup to after fixture teardown."""
    run_inner(pytester, """
        import signal
        import subprocess
        import time
        import pytest

        @pytest.fixture
        def daemon():
            p = subprocess.Popen(["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"])
            yield p
            p.terminate()
            assert p.wait(timeout=5) == 0

        @pytest.mark.natively_slow
        def test_daemon_keeps_running(daemon):
            time.sleep(60)
            assert daemon.poll() is None
            assert daemon.pid == 1000
    """, ["--simproc"], passed=1)


@pytest.mark.parametrize("args", MODES)
def test_stdin_pipe(pytester, args):
    run_inner(pytester, """
        import subprocess
        from subprocess import PIPE

        def test_interactive():
            p = subprocess.Popen(["cat"], stdin=PIPE, stdout=PIPE, text=True, bufsize=1)
            p.stdin.write("first\\n")
            assert p.stdout.readline() == "first\\n"
            p.stdin.write("second\\n")
            assert p.stdout.readline() == "second\\n"
            p.stdin.close()
            assert p.stdout.read() == ""
            assert p.wait() == 0

        def test_more_than_a_pipe_holds():
            data = bytes(range(256)) * 1024  # 256 KiB: four times a pipe's capacity
            p = subprocess.Popen(["wc", "-c"], stdin=PIPE, stdout=PIPE)
            assert p.communicate(data) == (b"262144\\n", None)

        def test_program_that_does_not_read():
            r = subprocess.run(["true"], input=b"x" * 300000)
            assert r.returncode == 0
    """, args, passed=3)


def test_marker_expected_final_state_in_drop_in_mode(pytester):
    result = run_inner(pytester, """
        import subprocess
        import pytest
        from pytest_simproc import Exited

        @pytest.mark.simproc(expected_final_state=Exited(0))
        def test_exit_3():
            subprocess.Popen(["sh", "-c", "sleep 5; exit 3"])
    """, ["--simproc"], failed=1)
    result.stdout.fnmatch_lines([
        "*process 'simhost.sh.1000' exited with status {\"exited\": 3}; "
        "expected end state was {\"exited\": 0} but was {\"exited\": 3}*"])


def test_without_the_flag_nothing_is_patched(pytester):
    real_popen, real_sleep, real_time = subprocess.Popen, time.sleep, time.time
    source = """
        import datetime, os, subprocess, time
        from pytest_simproc.dropin import SimPopen

        def test_native():
            assert subprocess.Popen.__module__ == "subprocess"
            assert time.sleep.__module__ == "time"
            assert time.time() > 1.6e9
            p = subprocess.Popen(["true"])
            assert type(p) is not SimPopen
            assert p.wait() == 0
            assert os.kill.__module__ == "posix"
    """
    run_inner(pytester, source, [], passed=1)
    pytester.makeini("[pytest]\nsimproc = false\n")
    run_inner(pytester, source, [], passed=1)
    # an in-process --simproc run restores everything afterwards
    pytester.makeini("[pytest]\n")
    run_inner(pytester, """
        import subprocess, time
        def test_simulated():
            assert subprocess.Popen(["true"]).pid == 1000
            assert time.time() == 946684800
    """, ["--simproc"], passed=1)
    assert subprocess.Popen is real_popen and time.sleep is real_sleep
    assert time.time is real_time and time.time() > 1.6e9
    assert datetime.datetime.now().year > 2000
    assert os.kill.__module__ == "posix"


def test_ini_option_enables_drop_in(pytester):
    pytester.makeini("[pytest]\nsimproc = true\n")
    run_inner(pytester, """
        import subprocess, time
        def test_simulated():
            assert subprocess.Popen(["true"]).pid == 1000
            assert time.time() == 946684800
    """, [], passed=1)


def test_simhost_fixture_tests_are_left_alone(pytester):
    run_inner(pytester, """
        import time
        def test_fixture(simhost):
            p = simhost.spawn(["sleep", "30"])
            assert p.wait() is not None and simhost.now == 946684830
            assert time.time() > 1.6e9  # drop-in stays out of a test that has its host
    """, ["--simproc"], passed=1)


def test_failure_shows_program_output_and_the_host_is_closed(pytester):
    result = run_inner(pytester, """
        import subprocess

        def test_fails():
            subprocess.Popen(["sleep", "1000"])  # left running: killed at teardown
            assert subprocess.call(["echo", "printed by the program"]) == 0
            assert False, "boom"
    """, ["--simproc"], failed=1)
    result.stdout.fnmatch_lines(["*Captured stdout call*", "printed by the program"])
