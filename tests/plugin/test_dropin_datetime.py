"""Drop-in mode: compiled code that looks up ``datetime.datetime`` gets the real class.

freezegun puts its FakeDatetime in the ``datetime`` module while a test's clock is
virtual. cryptography's Rust bindings look the class up there at their first use and
keep it: made first inside a drop-in test (anyio's session-wide trustme CA), they kept
FakeDatetime and rejected every real datetime for the rest of the run, trustme's own
made at its import (``'datetime' object is not an instance of 'FakeDatetime'``). The
inner suite's library does the same through the C API (ctypes), and its test spawns
a program and reads the clock the Python way, which stays the host's.

Those datetimes keep ``fold`` as real ones do (a scheduler's walk over a DST fall-back).
"""
from __future__ import annotations

import datetime

import pytest

from .test_dropin import MODES
from .test_dropin_pipes import run_checked

pytest_plugins = ["pytester"]

LIBRARY_AND_TEST = """
    import ctypes
    import datetime
    import subprocess

    # -- a library with compiled parts: a constant made at its import, and the class
    # looked up from compiled code at the first use, then kept
    NOT_BEFORE = datetime.datetime(2000, 1, 1)
    _kept = []

    def _compiled_lookup(module, name):
        getattr_ = ctypes.pythonapi.PyObject_GetAttrString
        getattr_.restype = ctypes.py_object
        getattr_.argtypes = [ctypes.py_object, ctypes.c_char_p]
        return getattr_(module, name.encode())

    def sign(when=NOT_BEFORE):
        if not _kept:
            _kept.append(_compiled_lookup(datetime, "datetime"))
        if _kept[0] not in type(when).__mro__:   # a C type check (PyObject_TypeCheck)
            raise TypeError(f"{type(when).__name__!r} object is not an instance of "
                            f"{_kept[0].__name__!r}")
        return when.isoformat()

    # -- the suite
    def test_sign_with_the_librarys_date_and_a_new_one():
        p = subprocess.run(["date", "+%Y"], capture_output=True, text=True, check=True)
        now = datetime.datetime.now()
        assert sign() == "2000-01-01T00:00:00"
        assert sign(datetime.datetime(2001, 2, 3)) == "2001-02-03T00:00:00"
        assert sign(now) == now.isoformat()
        assert str(now.year) == p.stdout.strip()   # the test's clock is its programs'
        host_check(1000 if now.year == 2000 else 0)
"""


@pytest.mark.parametrize("args", MODES)
def test_compiled_code_keeps_the_real_datetime_class(pytester, args):
    run_checked(pytester, LIBRARY_AND_TEST, args, passed=1)


def test_the_module_is_plain_again_after_the_run(pytester):
    run_checked(pytester, LIBRARY_AND_TEST, ["--simproc"], passed=1)
    assert type(datetime).__name__ == "module"
    assert datetime.datetime is datetime.__dict__["datetime"]


NOW_ARGUMENTS = """
    import datetime as dt
    import subprocess
    import time

    import pytest

    def test_now_refuses_wrong_arguments_with_the_real_texts():
        with pytest.raises(TypeError) as excinfo:
            dt.datetime.now(dt.timezone.utc, "extra")
        assert excinfo.value.args == ("now() takes at most 1 argument (2 given)",)
        with pytest.raises(TypeError) as excinfo:
            dt.datetime.now(dt.timezone.utc, tz=dt.timezone.utc)
        assert excinfo.value.args == ("now() takes at most 1 argument (2 given)",)
        with pytest.raises(TypeError, match="'bad'"):
            dt.datetime.now(bad=dt.timezone.utc)
        with pytest.raises(TypeError, match="tzinfo argument must be None or of a tzinfo"):
            dt.datetime.now("UTC")
        pid = int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True,
                                 check=True).stdout)
        assert abs(dt.datetime.now(tz=dt.timezone.utc).timestamp() - time.time()) < 60
        host_check(pid)
"""


@pytest.mark.parametrize("args", MODES)
def test_now_refuses_wrong_arguments_as_the_real_one(pytester, args):
    """time-machine's suite checks datetime.now's TypeError texts (in a travel): under
    the session's clock they were those of a Python function
    ("_host_reads.<locals>.now() takes from 1 to 2 positional arguments...")."""
    run_checked(pytester, NOW_ARGUMENTS, args, passed=1)


THE_REAL_CLASS_UNTIL_A_FREEZER = """
    import datetime
    import pickle
    import subprocess
    import time
    from datetime import datetime as imported_before

    from freezegun import freeze_time
    from freezegun.api import FakeDatetime

    def test_the_class_is_the_real_one_until_the_tests_own_freezer():
        pid = int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True,
                                 check=True).stdout)
        real = datetime.datetime
        now = imported_before.now()
        assert now.__class__ is real and real is not FakeDatetime
        assert imported_before is real
        assert type(pickle.loads(pickle.dumps(now))) is real
        assert datetime.datetime.min.__class__ is real
        assert abs(now.timestamp() - time.time()) < 60   # the test's clock
        assert datetime.datetime.utcnow().year == now.year
        freezer = freeze_time("2012-01-14")
        freezer.start()
        assert datetime.datetime.min.__class__ is FakeDatetime
        assert datetime.datetime.now() == datetime.datetime(2012, 1, 14)
        freezer.stop()
        assert datetime.datetime is real and datetime.datetime.max.__class__ is real
        assert abs(real.now().timestamp() - time.time()) < 60
        host_check(pid)

    class Y2K(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2000, 1, 1, tzinfo=tz)

    def test_a_monkeypatched_class_is_seen(monkeypatch):
        pid = int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True,
                                 check=True).stdout)
        monkeypatch.setattr(datetime, "datetime", Y2K)
        assert datetime.datetime is Y2K and datetime.datetime.now().year == 2000
        monkeypatch.undo()
        assert datetime.datetime.now().__class__ is datetime.datetime
        host_check(pid)
"""


FALL_BACK = """
    import datetime as dt
    import subprocess
    from zoneinfo import ZoneInfo

    HELSINKI = ZoneInfo("Europe/Helsinki")
    HOUR = dt.timedelta(hours=1)

    def next_run(after):
        # a scheduler's walk: one hour on in UTC, shown in the job's zone
        return (after.astimezone(dt.timezone.utc) + HOUR).astimezone(HELSINKI)

    def test_hourly_runs_through_the_fall_back_repeat_the_hour():
        pid = int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True,
                                 check=True).stdout)
        first = dt.datetime(2017, 10, 29, 3, 30, tzinfo=HELSINKI)
        second = next_run(first)
        assert (second.hour, second.fold, second.utcoffset()) == (3, 1, 2 * HOUR)
        assert str(next_run(second)) == "2017-10-29 04:30:00+02:00"
        assert second.timestamp() - first.timestamp() == 3600
        host_check(pid)
"""


@pytest.mark.parametrize("args", MODES)
def test_the_class_is_freezeguns_only_under_the_tests_own_freezer(pytester, args):
    """freezegun's own suite (test_start_and_stop_works, test_min_and_max): the session's
    clock put FakeDatetime in the ``datetime`` module and in every module that imported
    the class for the whole test; the real class's ``now`` reads the test's clock now."""
    run_checked(pytester, THE_REAL_CLASS_UNTIL_A_FREEZER, args, passed=2)


@pytest.mark.parametrize("args", MODES)
def test_datetimes_keep_the_fold_of_a_repeated_hour(pytester, args):
    """apscheduler's DST tests (test_dst_change_2, test_get_run_times_dst_transition,
    test_interval's test_dst_change): the test's datetimes are freezegun's FakeDatetime
    in a drop-in session, whose astimezone dropped ``fold``, so the second 03:30 of
    Helsinki's fall-back read as the first (UTC+3) and the walk went back an hour."""
    run_checked(pytester, FALL_BACK, args, passed=1)
