"""Drop-in mode: a test's own ``freezegun.freeze_time`` over its session's clock.

The test's freezer freezes what the test reads; its programs are other processes and
read their host's clock, as natively they read the machine's, and leaving the freezer
gives the test its host's clock again (host_check's time). The host's watchdog reads
CLOCK_MONOTONIC itself: read through time.monotonic, the test's freezer froze it, and
it took every program started while frozen for one stuck since 2012 and killed it.

What natively is the machine's clock under the freezer is the host's: a ``tick=True``
freezer counts the test's sleeps, ``time.clock_gettime``, which freezegun leaves
alone, reads what the test's programs read, and so do the modules the freezer ignores.
"""
from __future__ import annotations

import pytest

from .test_dropin import MODES
from .test_dropin_pipes import run_checked

pytest_plugins = ["pytester"]

# the inner suites' helper: a program that prints its pid and its clock
PROGRAM = """
    import subprocess
    import sys

    PROGRAM = "import os, time; print(os.getpid(), time.time())"

    def program():
        pid, now = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True,
                                  text=True, check=True).stdout.split()
        return int(pid), float(now)
"""

PROGRAMS_WHILE_FROZEN = PROGRAM + """
    import datetime
    import time

    import freezegun

    @freezegun.freeze_time("2012-01-14 12:00:00")
    def programs_frozen():
        for _ in range(4):
            pid, now = program()
            assert abs(now - 1326542400) > 86400   # theirs is not frozen
            assert time.time() == 1326542400.0
        return pid, now

    def test_programs_under_the_decorator():
        pid, now = programs_frozen()
        assert abs(time.time() - now) < 60
        host_check(pid)

    def test_programs_under_the_context_manager():
        with freezegun.freeze_time("2012-01-14 12:00:00") as frozen:
            for _ in range(4):
                pid, now = program()
                frozen.tick(1)
            assert datetime.datetime.now() == datetime.datetime(2012, 1, 14, 12, 0, 4)
        assert abs(time.time() - now) < 60
        host_check(pid)
"""


@pytest.mark.parametrize("args", MODES)
def test_programs_started_while_the_test_is_frozen(pytester, args):
    run_checked(pytester, PROGRAMS_WHILE_FROZEN, args, passed=2)


TICKING = PROGRAM + """
    import time

    import freezegun

    def test_a_ticking_freezer_counts_the_sleeps():
        before = time.time()
        with freezegun.freeze_time("2012-01-14 12:00:00", tick=True):
            start = time.time()
            time.sleep(2)
            elapsed = time.time() - start
            pid, theirs = program()
            mine = time.clock_gettime(time.CLOCK_REALTIME)   # not frozen
        assert 2 <= elapsed < 10
        assert abs(mine - theirs) < 10
        assert before + 2 <= time.time() < before + 60
        host_check(pid)

    def test_clock_gettime_under_a_frozen_clock_is_the_programs():
        with freezegun.freeze_time("2012-01-14 12:00:00") as frozen:
            pid, theirs = program()
            frozen.move_to("2013-01-01")
            mine = time.clock_gettime(time.CLOCK_REALTIME)
            assert time.time() == 1356998400.0
        assert abs(mine - theirs) < 10
        host_check(pid)
"""


@pytest.mark.parametrize("args", MODES)
def test_the_real_clock_under_the_tests_freezer_is_the_hosts(pytester, args):
    run_checked(pytester, TICKING, args, passed=2)


ZONES = """
    import datetime
    import subprocess
    import sys
    import time

    import pytest

    PROGRAM = "import datetime, os; print(os.getpid(), datetime.datetime.now().hour)"

    @pytest.fixture
    def new_york(monkeypatch):
        monkeypatch.setenv("TZ", "EST5EDT,M3.2.0,M11.1.0")   # POSIX rules: no tzdata
        time.tzset()
        yield
        monkeypatch.undo()
        time.tzset()

    def test_naive_times_in_the_zone_the_test_set(new_york):
        july = datetime.datetime(2000, 7, 1)
        assert july.timestamp() == 962424000.0   # EDT, whatever the date now
        assert datetime.datetime(2000, 1, 1).timestamp() == 946702800.0   # EST
        pid, hour = map(int, subprocess.run([sys.executable, "-c", PROGRAM],
                                            capture_output=True, text=True,
                                            check=True).stdout.split())
        assert datetime.datetime.now().hour == hour
        assert time.localtime().tm_hour == hour
        host_check(pid)

    def test_struct_times_and_aware_now_read_as_natively(new_york):
        pid = int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True,
                                 check=True).stdout)
        assert time.localtime().tm_isdst in (0, 1) and time.gmtime().tm_isdst == 0
        assert time.strftime("%Z") in ("EST", "EDT")
        utc = datetime.datetime.now(datetime.timezone.utc).timestamp()
        assert abs(utc - time.time()) < 5
        assert abs(time.time_ns() / 1e9 - time.time()) < 5
        host_check(pid)
"""


@pytest.mark.parametrize("args", MODES)
def test_the_zone_the_test_sets(pytester, args):
    run_checked(pytester, ZONES, args, passed=2)


IGNORED_MODULE = """
    import time
    from time import monotonic, time as now

    def stamp():
        return now()

    def since(start):
        return monotonic() - start

    def today():
        return time.strftime("%Y"), time.localtime().tm_year
"""

IGNORED = PROGRAM + """
    import email.utils
    import time

    import freezegun

    import stampreader

    def test_modules_the_freezer_ignores_read_the_real_clock():
        before, start = time.time(), time.monotonic()
        with freezegun.freeze_time("2012-01-14", ignore=["stampreader", "email"]):
            theirs = stampreader.stamp()
            assert time.time() == 1326499200.0
            header = email.utils.formatdate()
            time.sleep(3)
            pid, programs = program()
            waited = stampreader.since(start)
            year = stampreader.today()
        after = time.time()
        assert before <= theirs <= after
        assert abs(programs - theirs) < 60
        assert before - 1 <= email.utils.parsedate_to_datetime(header).timestamp() <= after
        assert 3 <= waited < 60
        assert year == (str(time.localtime(theirs).tm_year), time.localtime(theirs).tm_year)
        host_check(pid)

    def test_an_ignored_read_comes_between_the_tests_reads():
        pid = int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True,
                                 check=True).stdout)
        before = time.time()
        with freezegun.freeze_time("2012-01-14", ignore=["stampreader"]):
            theirs = stampreader.stamp()
        assert before < theirs < time.time()
        host_check(pid)
"""


@pytest.mark.parametrize("args", MODES)
def test_modules_the_tests_freezer_ignores(pytester, args):
    """A module on the freezer's ignore list reads the host's clock, as natively the
    machine's: freezegun's fakes call its real_* functions for it, which read the
    machine's clock (2026 beside the host's 2000)."""
    pytester.makepyfile(stampreader=IGNORED_MODULE)
    run_checked(pytester, IGNORED, args, passed=2)


FIRST_FREEZER = """
    import datetime
    import subprocess
    import sys
    import types
    import uuid

    import freezegun

    def uuid_time(value):
        return datetime.datetime(1582, 10, 15) + datetime.timedelta(microseconds=value.time // 10)

    def test_uuid1_follows_each_freezer():
        with freezegun.freeze_time("2056-02-06 14:03:21"):
            assert uuid_time(uuid.uuid1()) == datetime.datetime(2056, 2, 6, 14, 3, 21)
        with freezegun.freeze_time("1978-07-06 23:06:31"):
            assert uuid_time(uuid.uuid1()) == datetime.datetime(1978, 7, 6, 23, 6, 31)
        pid = int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True,
                                 check=True).stdout)
        assert uuid_time(uuid.uuid1()).year == datetime.datetime.now(datetime.timezone.utc).year
        host_check(pid)

    class LazyModule(types.ModuleType):
        looked = False

        def __dir__(self):
            type(self).looked = True
            raise ImportError("not yet")

    def test_the_freezer_looks_at_the_imported_modules():
        sys.modules["lazy_module"] = LazyModule("lazy_module")
        try:
            with freezegun.freeze_time("2012-01-14"):
                assert datetime.date.today() == datetime.date(2012, 1, 14)
        finally:
            del sys.modules["lazy_module"]
        assert LazyModule.looked
        pid = int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True,
                                 check=True).stdout)
        host_check(pid)
"""


@pytest.mark.parametrize("args", MODES)
def test_the_tests_first_freezer_starts_as_freezeguns_first(pytester, args):
    """The test's first freezer does what freezegun's first start and last stop do, not
    a nested freezer's push and pop: uuid1 forgets its last timestamp (a freezer in the
    past after one in the future got the future's plus one) and the start looks at
    every imported module (freezegun's own suite checks that a lazy module's errors do
    not escape it)."""
    run_checked(pytester, FIRST_FREEZER, args, passed=2)


RELOADED = """
import datetime
import subprocess
import time
from importlib import reload

import freezegun
from freezegun import api

from dropin_helpers import observed


def program_pid():
    return int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True,
                              check=True).stdout)


def test_reload_freezegun():
    reload(api)
    with freezegun.freeze_time("2012-01-14"):
        assert datetime.date.today() == datetime.date(2012, 1, 14)
        assert time.time() == 1326499200.0
    start = time.time()
    time.sleep(1)
    assert 1 <= time.time() - start < 60
    observed("reloaded", [program_pid()])


def test_the_next_test_freezes_too():
    with freezegun.freeze_time("2013-01-01"):
        assert datetime.datetime.now() == datetime.datetime(2013, 1, 1)
    assert datetime.datetime.now().year != 2013
    observed("next", [program_pid()])
"""


@pytest.mark.parametrize("args", MODES)
def test_a_reload_of_freezegun(observe, args):
    """freezegun's own suite reloads its api module: under the session's clock the
    module took the session's fakes for its real functions and classes (a metaclass
    conflict, a recursion) and lost the session's clock from its new stacks."""
    seen = observe(RELOADED, args, passed=2)
    for name in ("reloaded", "next"):
        (pid,), _, when = seen[name]
        if args:
            assert pid >= 1000 and 946684800 <= when < 946684800 + 60
