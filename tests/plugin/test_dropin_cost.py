"""Drop-in mode's cost to a test that starts no process (issue 13 item 9): what such a
test never needs is never made, and what it may need still holds from its start.
benchmarks/run.py's p2 rows measure the cost itself."""
from __future__ import annotations

import asyncio
import time

import pytest

from pytest_simproc.dropin import DropinSession

pytest_plugins = ["pytester"]


def test_a_session_without_a_host_makes_no_lock_pidfds_or_loop_policy():
    before = asyncio.get_event_loop_policy()
    with DropinSession() as session:
        assert asyncio.events._event_loop_policy is None  # made if the test asks
        assert time.time() == 946684800
        made = set(vars(session))
    assert not made & {"_lock", "_cond", "_pidfds"}
    assert asyncio.events._event_loop_policy is before


def test_what_a_test_asks_for_is_made_at_its_first_use():
    from pytest_simproc.dropin.aio import SimEventLoopPolicy
    with DropinSession() as session:
        assert isinstance(asyncio.get_event_loop_policy(), SimEventLoopPolicy)
        session.sleep(5)  # no host: the clock moves, under the session's lock
        assert time.time() == 946684805
        assert session._cond._lock is session._lock
        assert session._pidfds.get(0) is None
    assert not isinstance(asyncio.get_event_loop_policy(), SimEventLoopPolicy)


def test_a_marker_a_conftest_hook_adds_configures_the_host(pytester):
    # the plugin reads which tests have no simproc marker once, at collection: after
    # the hooks of conftest files and plugins that add markers there
    pytester.makeconftest("""
        import pytest

        def pytest_collection_modifyitems(items):
            for item in items:
                if item.name.startswith("test_marked"):
                    item.add_marker(pytest.mark.simproc(start_time=1700000000))
    """)
    pytester.makepyfile("""
        import time

        def test_marked_by_the_conftest():
            assert time.time() == 1700000000

        def test_plain():
            assert time.time() == 946684800
            time.sleep(60)
            assert int(time.time()) == 946684860  # (and the first read's microsecond)

        def test_plain_again_starts_at_the_start_time():
            assert time.time() == 946684800
    """)
    pytester.runpytest("-p", "no:cacheprovider", "--simproc").assert_outcomes(passed=3)


def test_the_fakes_stay_in_between_tests_and_answer_as_the_machine(pytester):
    # a test's session sets only its view: the /proc fakes, put in at the first test,
    # stay until the run's end, and between tests give the machine's answers
    pytester.makeconftest("""
        import builtins, datetime, os
        from pytest_simproc.dropin import procfs

        def machine_init():
            with procfs._real_open("/proc/1/comm") as f:
                return f.read()

        def pytest_runtest_logfinish(nodeid):
            with open("/proc/1/comm") as f:
                comm = f.read()
            print("BETWEEN", builtins.open is procfs._sim_open, comm == machine_init(),
                  type(datetime.datetime.__dict__["now"]).__name__)
    """)
    pytester.makepyfile("""
        from conftest import machine_init

        def test_one():
            with open("/proc/1/comm") as f:
                assert f.read() != machine_init()   # the host's init

        def test_two():
            test_one()
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--simproc", "-s")
    result.assert_outcomes(passed=2)
    assert result.stdout.str().count("BETWEEN True True classmethod") == 2
