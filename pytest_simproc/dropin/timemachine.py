"""time-machine's travels in a drop-in test.

time-machine (``time_machine.travel``, its ``time_machine`` fixture) patches the C
functions of ``time`` and ``datetime`` (time.time, clock_gettime, datetime.now...) to
read the destination of the traveller on top of ``time_machine.traveller_stack``.
In a drop-in test the test's clock is freezegun's fakes over the session's clock
(clock.py), which never reach those C functions, and time-machine refuses to start
while ``datetime.datetime`` is freezegun's class. What a demanding user expects, and
so what this module makes so:

- A travel works as natively: it starts (time_machine's own look at the
  ``datetime.datetime`` class gets the real one unless a freezer of the test's own
  is started, when it refuses as natively), and while it lasts the test's wall clock
  reads (time.time[_ns], datetime.now, date.today, gmtime/localtime/strftime,
  clock_gettime of CLOCK_REALTIME) read the destination (clock.VirtualClock),
  in the destination's time zone where it names one.
- The monotonic clocks stay the host's, as time-machine leaves them to the machine's.
- Its programs are other processes: they read their host's clock, never the
  destination, as natively they read the machine's.
- What time-machine calls the real time is the host's: a ticking travel
  (``tick=True``, its default) moves on with the host's clock, so a ``time.sleep(2)``
  in it moves the destination 2 s on, and ``time_machine.escape_hatch`` reads the
  host's clock. Its ``_time_machine.original_*`` functions (which the ticking and the
  escape hatch call) are replaced while a session clock is in freezegun's stack; they
  still call the real function first, for its errors (ValueError while not
  travelling, a bad clock id).
"""
from __future__ import annotations

import sys

from . import clock as _clock

_ORIGINALS = ("original_time", "original_time_ns", "original_now", "original_utcnow",
              "original_clock_gettime", "original_clock_gettime_ns", "original_gmtime",
              "original_localtime", "original_strftime")
_reals: dict[str, object] = {}   # the C module's own functions, by name


def traveller():
    """The traveller on top of time-machine's stack, None while none travels."""
    module = sys.modules.get("time_machine")
    stack = getattr(module, "traveller_stack", None)
    return stack[-1] if stack else None


def install() -> None:
    """The host's clock behind ``_time_machine.original_*``, once time-machine is
    imported (a session's clock asks at its start)."""
    module = sys.modules.get("_time_machine")
    if module is None or getattr(module, "original_time", None) is _host_time:
        return
    _clock._TRANSPARENT.update(fake.__code__ for fake in _FAKES.values())
    for name in _ORIGINALS:
        real = getattr(module, name, None)
        if real is not None:
            _reals[name] = real
            setattr(module, name, _FAKES[name])


def uninstall() -> None:
    module = sys.modules.get("_time_machine")
    if module is not None:
        for name, real in _reals.items():
            if getattr(module, name, None) is _FAKES[name]:
                setattr(module, name, real)


def _host():
    """The session's clock under any freezer, or None outside a session."""
    api = sys.modules.get("freezegun.api")
    return None if api is None else _clock.session_clock(api.freeze_factories)


def _host_time(*args):
    result = _reals["original_time"](*args)
    host = _host()
    return result if host is None else host.host_ns() / 1e9


def _host_time_ns(*args):
    result = _reals["original_time_ns"](*args)
    host = _host()
    return result if host is None else host.host_ns()


def _host_now(*args):
    result = _reals["original_now"](*args)
    host = _host()
    if host is None:
        return result
    return _clock._api().real_datetime.fromtimestamp(host.host_ns() / 1e9,
                                                     args[0] if args else None)


def _host_utcnow(*args):
    result = _reals["original_utcnow"](*args)
    host = _host()
    if host is None:
        return result
    return _clock._frozen_at(host.host_ns() / 1e9)


def _host_clock_gettime_ns(clk_id, *args):
    result = _reals["original_clock_gettime_ns"](clk_id, *args)
    ns = _clock.host_clock_ns(clk_id)
    return result if ns is None else ns


def _host_clock_gettime(clk_id, *args):
    result = _reals["original_clock_gettime"](clk_id, *args)
    ns = _clock.host_clock_ns(clk_id)
    return result if ns is None else ns / 1e9


def _struct_time(name):
    def host_struct_time(*args):
        result = _reals[name](*args)
        host = _host()
        if host is None or (args and args[0] is not None):
            return result
        return _reals[name](host.host_ns() / 1e9)
    return host_struct_time


def _host_strftime(format, *args):
    result = _reals["original_strftime"](format, *args)
    host = _host()
    if host is None or args:
        return result
    return _reals["original_strftime"](format, _reals["original_localtime"](host.host_ns() / 1e9))


_FAKES = {"original_time": _host_time, "original_time_ns": _host_time_ns,
          "original_now": _host_now, "original_utcnow": _host_utcnow,
          "original_clock_gettime": _host_clock_gettime,
          "original_clock_gettime_ns": _host_clock_gettime_ns,
          "original_gmtime": _struct_time("original_gmtime"),
          "original_localtime": _struct_time("original_localtime"),
          "original_strftime": _host_strftime}
