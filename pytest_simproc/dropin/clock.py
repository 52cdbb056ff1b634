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


class VirtualClock:
    """freezegun, started for one session at ``now`` (seconds since the epoch)."""

    def __init__(self, now: float):
        import freezegun.api
        from freezegun import freeze_time
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
