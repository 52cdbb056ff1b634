"""Drop-in mode: a test's threads are its own, not the threads its host runs on.

Under ``--simproc`` the test process traces its programs from threads of its own (the
tracer, the watchdog) that its first program starts and that stay for the rest of the
run. watchdog's suite counts threads around each test (an autouse fixture, as below) and
its first test that ran a program failed at teardown under --simproc (``assert 4 == 2``).
The inner suite runs in a fresh process, natively and under --simproc, where its
programs have the host's pids and its clock is the host's.
"""
from __future__ import annotations

import re
import textwrap

import pytest

from .test_dropin import CONFTEST, MODES
from .test_dropin_pipes import HOST_CHECK, SIM_START

pytest_plugins = ["pytester"]

SUITE = """
    import subprocess
    import threading

    import pytest

    @pytest.fixture(autouse=True)
    def no_thread_leaks():
        before = threading.active_count()
        yield
        assert threading.active_count() == before

    def test_a_program_and_a_thread_of_its_own():
        worker = threading.Thread(target=lambda: None)
        worker.start()
        worker.join()
        p = subprocess.run(["sh", "-c", "sleep 0.1; echo $$"], capture_output=True,
                           text=True, check=True)
        host_check(int(p.stdout))

    def test_every_other_thread_can_be_joined():
        p = subprocess.Popen(["sleep", "0.1"])
        p.wait()
        others = [t for t in threading.enumerate() if t is not threading.current_thread()]
        for thread in others:
            thread.join(timeout=2)
        assert not [t.name for t in others if t.is_alive()]
        assert threading.active_count() == 1
        host_check(p.pid)
"""


@pytest.mark.parametrize("args", MODES)
def test_the_hosts_threads_are_not_the_tests(pytester, args):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(HOST_CHECK + textwrap.dedent(SUITE))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", *args,
                                           timeout=120)
    result.assert_outcomes(passed=2)
    checks = re.findall(r"host-check time=(\d+) pid=(\d+)", result.stdout.str())
    assert len(checks) == 2, result.stdout.str()
    for when, pid in checks:
        if args:
            assert SIM_START <= int(when) < SIM_START + 3600 and int(pid) >= 1000
        else:
            assert int(when) > 1_600_000_000
