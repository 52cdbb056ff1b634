"""A test's own freezegun freezer starts and stops as freezegun's first one does.

In a drop-in test the session's clock is in freezegun's stack (clock.py), so a
``freeze_time`` of the test's own would be a nested freezer, which freezegun starts by
a push only. Natively it is the first one, and its start and its stop do more that a
test sees:
- the start walks the imported modules (``dir()`` and each attribute, errors and
  warnings silenced: freezegun's own suite checks that a lazy module's error or warning
  does not escape), the stop walks the modules imported meanwhile;
- ``uuid1`` forgets its last timestamp at both, so a freezer in the past after one
  in the future gets its uuid's time (not the last one's plus one);
- ``copyreg`` pickles its datetimes.
(``real_asyncio``, which gives asyncio's loop the real clock, is left out: a session's
loop reads the host's clock, frozen or not, aio.py.)

So the first freezer of the test's own starts and stops with the session's entries
taken out of freezegun's stack (``hidden``; a ticking freezer still counts on the
session's clock, clock.session_clock), then they go back under it; the walk leaves the
machinery alone (the session's own ignore list), and what the last stop puts back in
the ``time``, ``datetime`` and ``uuid`` modules and copyreg is the session's fakes, not
the machine's functions: modules imported meanwhile keep the fakes they got, whose
clock is the session's.
"""
from __future__ import annotations

import contextlib
import copyreg
import time
import uuid

from . import clock as _clock

_TIME_NAMES = ("time", "monotonic", "perf_counter", "gmtime", "localtime", "strftime",
               "time_ns", "monotonic_ns", "perf_counter_ns")
_UUID_NAMES = ("_uuid_generate_time", "_generate_time_safe", "_UuidCreate")
hidden: list = []   # the session's entries of freezegun's stack while taken out


def _session_entry(factory) -> bool:
    return isinstance(factory, _clock.VirtualClock) or factory is _clock._Dormant.factory


@contextlib.contextmanager
def _session_hidden(api, keep: int):
    """freezegun's four stacks without the session's entries, all but the top ``keep``
    ones, which are put back under what is there at the end."""
    stacks = _clock.freezegun_stacks(api)
    end = len(api.freeze_factories) - keep
    saved = [entries[:end] for entries in stacks]
    for entries in stacks:
        del entries[:end]
    hidden[:] = saved[0]
    try:
        yield
    finally:
        hidden.clear()
        for entries, kept in zip(stacks, saved):
            entries[:0] = kept


def _module_state() -> list:
    """What freezegun's last stop resets to the machine's functions: (object, name,
    value) with the session on."""
    state = [(time, name, time.__dict__[name]) for name in _TIME_NAMES if name in time.__dict__]
    state += [(uuid, name, uuid.__dict__[name]) for name in _UUID_NAMES if name in uuid.__dict__]
    return state   # datetime's classes: the real ones, which its stop puts back


def install(api) -> None:
    """The start and stop of freezegun's freezer class, while the dormant freezer is."""
    freezer = api._freeze_time
    start, stop = freezer.start, freezer.stop

    def own_start(self):
        stack = api.freeze_factories
        if not stack or not all(_session_entry(factory) for factory in stack):
            return start(self)
        own_ignore, real_asyncio = self.ignore, self.real_asyncio
        self.ignore = own_ignore + tuple(_clock._FREEZEGUN_IGNORE)  # the machinery's
        self.real_asyncio = False   # the session's loops keep its clock (aio.py)
        try:
            with _session_hidden(api, keep=0):
                factory = start(self)
        finally:
            self.ignore, self.real_asyncio = own_ignore, real_asyncio
        # whose reads are real: the test's list (the fakes' delegations are clock.py's)
        api.ignore_lists[-1] = own_ignore
        # the modules imported meanwhile keep the clock functions' fakes at the stop
        # (freezegun's real functions are the session's, clock._host_reals) and get
        # the real classes back, which read the session's clock (realnow.py)
        self.reals = {id(api.FakeDatetime): api.real_datetime, id(api.FakeDate): api.real_date}
        return factory

    def own_stop(self):
        stack = api.freeze_factories
        if (len(stack) < 2 or _session_entry(stack[-1])
                or not all(_session_entry(factory) for factory in stack[:-1])):
            return stop(self)
        state = _module_state()
        pickled = {cls: copyreg.dispatch_table.get(cls)
                   for cls in (api.real_datetime, api.real_date)}
        with _session_hidden(api, keep=1):
            stop(self)
        for obj, name, value in state:
            setattr(obj, name, value)
        for cls, pickle in pickled.items():
            if pickle is not None:
                copyreg.dispatch_table[cls] = pickle

    _clock._replace(freezer, "start", own_start)
    _clock._replace(freezer, "stop", own_stop)


def session_clock_hidden():
    """The session's clock while its entries are out of freezegun's stack, else None."""
    for factory in reversed(hidden):
        if isinstance(factory, _clock.VirtualClock):
            return factory
    return None

