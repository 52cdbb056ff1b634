"""``importlib.reload(freezegun.api)`` in a drop-in test.

Reloading freezegun's api module runs its code again in the same module: it takes
``time.time``, ``datetime.date``... as its real functions and classes, and starts new,
empty stacks. In a session those names are the session's fakes (clock.py), so the new
``FakeDate`` derived from the old one (a metaclass conflict) or the new real ``time``
was the old fake (a recursion), and the session's clock was no longer in the stack the
fakes read. freezegun's own suite reloads it (``test_utils``); natively no freezer is
started then, so the module finds the real ones.

So a reload of it runs with the real functions and classes in ``time``, ``datetime``
and freezegun's own (the session's replacements taken out), then puts the stacks'
entries (the session's and any freezer of the test's own) in the new stacks and the
session's fakes, the new module's, back in place.
"""
from __future__ import annotations

import copyreg
import datetime as _datetime
import importlib
import sys
import time

from . import clock as _clock, ownfreezer

_real_reload = importlib.reload


def _sim_reload(module):
    api = sys.modules.get("freezegun.api")
    if module is not api or api is None or _clock._Dormant._freeze is None:
        return _real_reload(module)
    stacks = {name: list(getattr(api, name)) for name in _clock.FREEZEGUN_STACKS}
    limit = api.call_stack_inspection_limit
    _clock._restore_freezegun()   # freezegun's own functions, its real_* among them
    held = [(time, name, time.__dict__[name]) for name in ownfreezer._TIME_NAMES
            if hasattr(api, "real_" + name)]
    held += [(_datetime, name, _datetime.__dict__[name]) for name in ("datetime", "date")]
    pickled = api.real_datetime in copyreg.dispatch_table   # a freezer of the test's own
    for obj, name, _ in held:
        setattr(obj, name, getattr(api, "real_" + name))
    try:
        return _real_reload(module)
    finally:
        for name, entries in stacks.items():
            getattr(api, name)[:] = entries
        api.call_stack_inspection_limit = limit
        _clock.replace_in_freezegun(api)
        for obj, name, fake in held:   # the new module's fakes where the old ones were
            real = getattr(api, "real_" + name)
            new = None if fake is real else getattr(api, getattr(fake, "__name__", ""), None)
            setattr(obj, name, fake if new is None else new)
        if pickled:
            copyreg.dispatch_table[api.real_datetime] = api.pickle_fake_datetime
            copyreg.dispatch_table[api.real_date] = api.pickle_fake_date


REPLACED = [(importlib, "reload", _real_reload, _sim_reload)]
