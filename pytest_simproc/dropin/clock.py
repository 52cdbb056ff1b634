"""The test process's clocks follow the host's virtual clock.

freezegun freezes ``time.time``, ``time.monotonic``, ``datetime.now``... at the host's
start time, and the session moves the freezer to ``host.now`` after every host run.
"""
from __future__ import annotations

import datetime as _datetime

from .routing import _real_localtime

_real_datetime = _datetime.datetime
_UTC = _datetime.timezone.utc
_EPOCH = _real_datetime(1970, 1, 1)
# freezegun: never fake time for the host's machinery or pytest's own timing.
_FREEZEGUN_IGNORE = ["pytest_simproc", "_pytest.timing", "_pytest.runner",
                     "_pytest.terminal", "_pytest.junitxml"]


class _Dormant:
    """A freezer started once and left at the bottom of freezegun's stack.

    freezegun's ``start`` walks every imported module (~10 ms with pytest's plugins
    loaded) only when no freezer runs yet; a nested ``start`` just pushes a factory.
    So one freezer stays underneath the tests' own while ``persist`` is on: a ticking
    factory (its datetime.now() is the real time) whose ignore list matches every
    module, so time.time, monotonic and perf_counter give the real clocks between
    tests. A test's freezer then costs a push and a pop.
    """
    persist = False
    _freeze = None

    @classmethod
    def ensure(cls) -> None:
        import freezegun.api
        from freezegun import freeze_time
        if cls._freeze is not None and freezegun.api.freeze_factories:
            return
        cls._freeze = None
        offset = _real_localtime().tm_gmtoff
        freeze = freeze_time(_real_datetime.now(_UTC), tick=True, tz_offset=offset / 3600,
                             ignore=list(_FREEZEGUN_IGNORE), real_asyncio=True)
        freeze.start()
        freezegun.api.ignore_lists[-1] = ("",)   # every module: the real time
        cls._freeze = freeze

    @classmethod
    def stop(cls) -> None:
        freeze, cls._freeze = cls._freeze, None
        if freeze is not None:
            freeze.stop()


def stop_dormant() -> None:
    """The end of the pytest session: freezegun puts every real function back."""
    _Dormant.persist = False
    _Dormant.stop()


class VirtualClock:
    """freezegun, started for one session at ``now`` (seconds since the epoch)."""

    def __init__(self, now: float):
        import freezegun.api
        from freezegun import freeze_time
        _Dormant.ensure()
        # freezegun gives the real time to a caller whose last 5 frames include an
        # ignored module: that would be every function a test runs in a thread
        # (threading is ignored). Looking at the direct caller only keeps the host's
        # machinery and pytest's timing on real time and the test's threads on virtual.
        self._stack_limit = freezegun.api.call_stack_inspection_limit
        freezegun.api.call_stack_inspection_limit = 1
        offset = _real_localtime(now).tm_gmtoff
        self._freeze = freeze_time(_real_datetime.fromtimestamp(now, _UTC),
                                   tz_offset=offset / 3600,
                                   ignore=list(_FREEZEGUN_IGNORE), real_asyncio=True)
        self._freezer = self._freeze.start()

    def move_to(self, now: float) -> None:
        self._freezer.move_to(_EPOCH + _datetime.timedelta(seconds=now))

    def stop(self) -> None:
        import freezegun.api
        try:
            self._freeze.stop()
        finally:
            freezegun.api.call_stack_inspection_limit = self._stack_limit
            if not _Dormant.persist:
                _Dormant.stop()
