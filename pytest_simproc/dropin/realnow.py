"""``datetime.datetime``'s own ``now`` and ``utcnow`` read the test's clock.

freezegun freezes ``datetime.now()`` by putting its subclass FakeDatetime in the
``datetime`` module and in every module that imported the class. A suite that
compares classes (``now().__class__ == datetime.datetime``, ``datetime.datetime.min``,
a class taken before its own freezer's start: freezegun's own suite) sees that
class for the whole test if the session's clock does the same. So while no freezer
of the test's own is started the test sees the real class (clock._DatetimeModule),
as natively, and the real class reads the session's clock: its ``now`` and
``utcnow`` are C functions that read the machine's clock (``date.today`` and
``datetime.today`` call ``time.time``, which the session fakes), so while a session's
clock exists the class's dict holds Python class methods in their place. The class
takes no attribute (an immutable type): its dict is reached through the
mappingproxy's referent, as forbiddenfruit does, and ``PyType_Modified`` drops the
cached lookups. Each fake gives the session's time where ``wall_clock_ns`` does (the
suite's reads, not the machinery's), and hands other calls and wrong arguments (the
real errors) to the C function. time-machine's C module takes the C
method at its import: it is imported before the first install.
"""
from __future__ import annotations

import ctypes
import datetime as _datetime
import gc
import importlib.util
import sys
import time

from . import clock as _clock

_CLASS = _datetime.datetime
_DICT = gc.get_referents(_CLASS.__dict__)[0]   # the class's own dict
_ORIGINALS = {name: _DICT[name] for name in ("now", "utcnow")}
_type_modified = ctypes.pythonapi.PyType_Modified
_type_modified.argtypes = [ctypes.py_object]
_type_modified.restype = None
_installed_once = False


def _session_ns() -> int | None:
    """CLOCK_REALTIME as the reader of the fake (two frames up) sees it, or None."""
    return _clock.wall_clock_ns(time.CLOCK_REALTIME, 3)


def _now(cls, *args, **kwargs):
    ns = None if len(args) + len(kwargs) > 1 or kwargs.keys() - {"tz"} else _session_ns()
    if ns is None:   # outside a session, or the real errors for wrong arguments
        return _ORIGINALS["now"].__get__(None, cls)(*args, **kwargs)
    tz = args[0] if args else kwargs.get("tz")
    seconds, rest = divmod(ns, 1_000_000_000)
    return cls.fromtimestamp(seconds, tz).replace(microsecond=rest // 1000)


def _utcnow(cls, *args, **kwargs):
    ns = None if args or kwargs else _session_ns()
    if ns is None:
        return _ORIGINALS["utcnow"].__get__(None, cls)(*args, **kwargs)
    seconds, rest = divmod(ns, 1_000_000_000)
    return cls.fromtimestamp(seconds, _datetime.timezone.utc).replace(
        tzinfo=None, microsecond=rest // 1000)


_FAKES = {"now": classmethod(_now), "utcnow": classmethod(_utcnow)}


def _first_install() -> None:
    """The fakes' frames are not the reader's; time-machine's C module is imported."""
    global _installed_once
    if _installed_once:
        return
    _installed_once = True
    _clock._TRANSPARENT.update(fake.__code__ for fake in (_now, _utcnow, _session_ns))
    if "_time_machine" not in sys.modules and importlib.util.find_spec("_time_machine"):
        try:
            import _time_machine  # noqa: F401
        except ImportError:
            pass


def installed_once() -> bool:
    return _installed_once


def install() -> None:
    """A session's clock exists: the class's methods read it."""
    if _DICT.get("now") is _FAKES["now"]:
        return
    _first_install()
    _DICT.update(_FAKES)
    _type_modified(_CLASS)


def uninstall() -> None:
    """No session's clock is left: the C methods back."""
    if _DICT.get("now") is not _FAKES["now"]:
        return
    _DICT.update(_ORIGINALS)
    _type_modified(_CLASS)
