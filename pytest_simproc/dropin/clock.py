"""The test process's clocks follow the host's virtual clock.

freezegun's fakes of ``time.time``, ``time.monotonic``, ``datetime.now``... show the
frozen time on top of freezegun's stack. A test's session pushes the host's start time
there and moves it to ``host.now`` after every host run. The stack's bottom is a
freezer started once per pytest session that gives the real time, so that a test pays
a push and a pop, never freezegun's walk over every imported module: the names that
modules imported from ``time`` and ``datetime`` (``from time import monotonic``) are
replaced by patches.py's own walk, in the same pass as the process functions
(``CLOCK_FAKES``, ``clock_walk_skips``).

The test stands in its host, so its monotonic clocks are its programs': while the
session's clock is on top, freezegun's ``monotonic`` and ``perf_counter`` (and their
``_ns``) count from the host's boot, as CLOCK_MONOTONIC does in the host
(kernel/clock.py), and ``time.clock_gettime`` of the realtime, monotonic and
boottime clocks reads the session's time too (``wall_clock_ns``, selfusage.py's
fake), not the machine's. And a test that sets CLOCK_REALTIME (``time.clock_settime``,
as CPython's test_time does) sets its host's, whose date it reads: the session's clock
keeps the offset (``VirtualClock.move_to``) and the monotonic clocks stay. A real
clock_settime there would set the machine to the host's date.

A freezer of the test's own (``freeze_time`` as decorator or context manager, with
``tick``, ``auto_tick_seconds``, ``move_to``, ``tick()``) goes on top of the stack and
freezes what the test reads through freezegun, as natively. Everything natively left
to the machine's clock is its host's, the test's real clock: its programs (other
processes) read the host's clock, never the frozen date; time.sleep and the programs'
waits move the host's clock on while the test stays frozen; ``time.clock_gettime``,
which freezegun does not fake, reads the host's clock (``wall_clock_ns``), as the
programs do; a ``tick=True`` freezer counts from the host's clock (``_HostTicking``),
so a ``time.sleep(2)`` under it moves it 2 s; and leaving the freezer gives the test
the session's clock again, moved on by what happened while frozen.
"""
from __future__ import annotations

import _thread
import asyncio
import copyreg
import datetime as _datetime
import dis
import errno
import math
import operator
import os
import sys
import time
import types

from . import ownfreezer, realnow, timemachine
from .routing import _real_localtime, active_session
from .threadwait import _MACHINERY, library_module

# freezegun: never fake time for the host's machinery or pytest's own timing.
_FREEZEGUN_IGNORE = ["pytest_simproc", "_pytest.timing", "_pytest.runner",
                     "_pytest.terminal", "_pytest.junitxml"]


def _api():
    """freezegun.api, imported at the first use (looked up each time: pytester's
    in-process runs take the modules they imported out of sys.modules again)."""
    api = sys.modules.get("freezegun.api")
    if api is None:
        import freezegun.api as api
    return api


def clock_fakes() -> list[tuple[object, object]]:
    """(real, fake) of every clock function freezegun replaces where a module imported
    it by name (its start() does the same for the modules it walks). Not its classes:
    a module keeps the real ``datetime`` and ``date`` while no freezer of the test's
    own is started, whose ``now`` reads the session's clock (realnow.py)."""
    api = _api()
    return [(_original(api, real), getattr(api, fake)) for real, fake in _PAIRS
            if getattr(api, real, None) is not None and hasattr(api, fake)
            and not isinstance(getattr(api, fake), type)]


_PAIRS = [("real_date", "FakeDate"), ("real_datetime", "FakeDatetime"),
          ("real_gmtime", "fake_gmtime"), ("real_localtime", "fake_localtime"),
          ("real_monotonic", "fake_monotonic"), ("real_perf_counter", "fake_perf_counter"),
          ("real_strftime", "fake_strftime"), ("real_time", "fake_time"),
          ("real_time_ns", "fake_time_ns"), ("real_monotonic_ns", "fake_monotonic_ns"),
          ("real_perf_counter_ns", "fake_perf_counter_ns")]


# freezegun's four stacks, one entry each per started freezer
FREEZEGUN_STACKS = ("freeze_factories", "tz_offsets", "ignore_lists", "tick_flags")


freezegun_stacks = operator.attrgetter(*FREEZEGUN_STACKS)   # api -> its stacks, a tuple


def clock_walk_skips():
    """Whether freezegun's walk leaves the clock names of a module alone, as a function
    of its name and the module: freezegun itself, its ignore list (by prefix, as
    freezegun matches), time and datetime."""
    from freezegun.config import settings
    prefixes = (tuple(_FREEZEGUN_IGNORE) + tuple(settings.default_ignore_list)
                + ("freezegun",))

    def skips(name: str, module) -> bool:
        return (name.startswith(prefixes) or name.endswith(".six.moves")
                or getattr(module, "__name__", None) in (None, "datetime", "time"))
    return skips


# the instructions of Python code that read a module's attribute by name
_NAMED_READS = frozenset(dis.opmap[name] for name in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM")
                         if name in dis.opmap)


def _named_read(frame) -> bool:
    """``frame`` is at an attribute read or a ``from ... import`` of its own code, not
    at a call into compiled code that reads the attribute."""
    try:
        return frame.f_code.co_code[frame.f_lasti] in _NAMED_READS
    except (IndexError, AttributeError):
        return True


class _DatetimeModule(types.ModuleType):
    """What the ``datetime`` module is while the dormant freezer runs (its class).

    freezegun puts its FakeDatetime and FakeDate in the module, so that Python code's
    ``datetime.datetime.now()`` is frozen. That is what a freezer of the test's own
    shows: Python code that names the attribute then gets what the module holds. Any
    other read gets the real class, and the module holds it while no freezer of the
    test's own is started, as natively: the session's clock is read by the real class's
    ``now`` (realnow.py), time-machine refuses to travel while the class is
    freezegun's (timemachine.py), and compiled code that looks the class up by name
    at its first use and keeps it (cryptography's Rust bindings: certificate dates must
    be of that type) would reject every real datetime for the rest of the run, such
    as trustme's made at its import, had it got FakeDatetime."""


def _class_attribute(name: str, real) -> property:
    """The module's attribute ``name``: what it holds for a named read, else ``real``.
    It holds the real class but under a freezer of the test's own (the dormant
    freezer's start put it back) or a suite's own ``monkeypatch.setattr``."""
    def held(module):
        value = module.__dict__[name]
        if value is real or not _named_read(sys._getframe(1)):
            return real
        return value

    def put(module, value):
        module.__dict__[name] = value
    return property(held, put)


_DatetimeModule.datetime = _class_attribute("datetime", _datetime.datetime)
_DatetimeModule.date = _class_attribute("date", _datetime.date)


class _Dormant:
    """A freezer started once and left at the bottom of freezegun's stack: a ticking
    factory whose ignore list matches every module, so time.time, monotonic and
    perf_counter give the real clocks between tests.

    Started with that ignore list, freezegun's start skips its walk over the modules
    (~10-20 ms with pytest's plugins loaded); patches.py replaces the imported names.
    Its stop (the end of the pytest session, or of a session outside one) then has no
    module to put back either: uninstall() in patches.py did."""
    persist = False
    _freeze = None
    factory = None   # its factory, at the bottom of freezegun's stack
    ignore: tuple = ()   # a test's ignore list (freeze_time's, from ours and freezegun's)

    @classmethod
    def ensure(cls, api) -> None:
        if cls._freeze is not None and api.freeze_factories:
            return
        from freezegun import freeze_time
        cls._freeze = None
        offset = _real_localtime().tm_gmtoff
        freeze = freeze_time(api.real_datetime.now(_datetime.timezone.utc), tick=True,
                             tz_offset=offset / 3600, ignore=[""], real_asyncio=True)
        _restore_freezegun()
        _host_reads(api)   # before the start, which puts them in time
        cls.factory = freeze.start()
        # a real datetime pickles as itself while no freezer of the test's own is on
        # (ownfreezer.py: that one's start puts freezegun's pickling in, its stop out)
        for klass in (api.real_datetime, api.real_date):
            copyreg.dispatch_table.pop(klass, None)
        _keep_own_loop_clocks(freeze)
        replace_in_freezegun(api, reads=False)
        api.ignore_lists[-1] = ("",)   # every module: the real time
        if type(_datetime) is types.ModuleType:
            _datetime.__class__ = _DatetimeModule
        _datetime.datetime, _datetime.date = api.real_datetime, api.real_date
        cls._freeze = freeze
        from freezegun.config import settings
        cls.ignore = tuple(_FREEZEGUN_IGNORE) + tuple(settings.default_ignore_list)

    @classmethod
    def stop(cls) -> None:
        freeze, cls._freeze = cls._freeze, None
        if freeze is not None:
            freeze.modules_at_start = set(sys.modules)  # none to put back (see above)
            _restore_freezegun()   # before the stop, which puts the real_* functions back
            api = _api()
            copyreg.dispatch_table.setdefault(api.real_datetime, api.pickle_fake_datetime)
            copyreg.dispatch_table.setdefault(api.real_date, api.pickle_fake_date)
            freeze.stop()
            timemachine.uninstall()
            if type(_datetime) is _DatetimeModule:
                _datetime.__class__ = types.ModuleType
        api = sys.modules.get("freezegun.api")
        if api is None or not _has_session_clock(api):
            realnow.uninstall()   # kept between the tests: the machine's clock there


def replace_in_freezegun(api, reads: bool = True) -> None:
    """The session's replacements in freezegun's module ``api`` (the dormant freezer's
    start, a reload of the module: reloads.py), _host_reads' unless done before."""
    if reads:
        _host_reads(api)
    _host_reals(api)   # after the start, which takes the real functions' ids
    _host_ticking(api)
    _naive_timestamp(api)
    ownfreezer.install(api)
    _SinceBoot.install(api)


def _keep_own_loop_clocks(freeze) -> None:
    """freezegun's real_asyncio gives the loop class of the loop policy at hand (it
    makes a loop to see which) the machine's monotonic clock as ``time``: right for
    asyncio's own loops, whose time() reads time.monotonic, which a session makes
    virtual. A loop class with a clock of its own (uvloop's is libuv's, which uvwait.py
    makes virtual: a suite that installs uvloop's policy at its start) keeps it."""
    for obj, name, old in freeze.undo_changes:
        if (name == "time" and isinstance(obj, type)
                and not issubclass(obj, asyncio.BaseEventLoop)):
            setattr(obj, name, old)


def clock_ready() -> bool:
    """Whether a session's clock costs next to nothing to make: the dormant freezer
    runs and realnow's fakes were put in once."""
    api = sys.modules.get("freezegun.api")
    return (_Dormant._freeze is not None and api is not None and bool(api.freeze_factories)
            and realnow.installed_once())


def _has_session_clock(api) -> bool:
    return any(isinstance(factory, VirtualClock) for factory in api.freeze_factories)


def stop_dormant() -> None:
    """The end of the pytest session: freezegun puts the time module back."""
    _Dormant.persist = False
    _Dormant.stop()


_tz_cache: dict[tuple, _datetime.timedelta] = {}

_EPOCH = _datetime.datetime(1970, 1, 1)
_MICROSECOND = _datetime.timedelta(microseconds=1)
_TRANSPARENT: set = set()  # the code of this module's fakes: not the reader's frames


def _transparent(function):
    """A fake of a clock read: the read is its caller's (_read_by_suite_code)."""
    _TRANSPARENT.add(function.__code__)
    return function


class _SinceBoot:
    """freezegun's monotonic clocks (``monotonic``, ``perf_counter`` and their _ns
    take their value from its ``_get_fake_monotonic[_ns]``) counting from the host's
    boot while the session's clock is on top; from the epoch, as freezegun counts,
    under a freezer of the test's own."""
    originals: dict = {}

    @classmethod
    def install(cls, api) -> None:
        if getattr(api, "_get_fake_monotonic_ns", None) is _since_boot_ns:
            return
        cls.originals = {name: getattr(api, name) for name in
                         ("_get_fake_monotonic", "_get_fake_monotonic_ns")
                         if hasattr(api, name)}
        if len(cls.originals) == 2:
            api._get_fake_monotonic = _since_boot
            api._get_fake_monotonic_ns = _since_boot_ns


@_transparent
def _since_boot_ns() -> int:
    top = _api().freeze_factories[-1]
    if isinstance(top, VirtualClock):   # the host's, never a time-machine destination
        return top.host_ns() - top.boot_ns
    return _SinceBoot.originals["_get_fake_monotonic_ns"]()


@_transparent
def _since_boot() -> float:
    top = _api().freeze_factories[-1]
    if not isinstance(top, VirtualClock):
        return _SinceBoot.originals["_get_fake_monotonic"]()
    return (top.host_ns() - top.boot_ns) / 1e9


# clock_gettime(2)'s ids the session's clock answers in the test: the realtime ones
# (REALTIME, _COARSE, _ALARM), the monotonic ones (MONOTONIC, _RAW, _COARSE) and
# BOOTTIME, _ALARM, which the host never suspends
_REALTIME_IDS = frozenset({0, 5, 8})
_SINCE_BOOT_IDS = frozenset({1, 4, 6, 7, 9})


def session_clock(stack) -> VirtualClock | None:
    """The session's clock in freezegun's stack ``stack``, under any freezer of the
    test's own (the topmost: a forked child's stack holds its parent's below)."""
    for factory in reversed(stack):
        if isinstance(factory, VirtualClock):
            return factory
    return ownfreezer.session_clock_hidden()   # while a test's freezer starts or stops


@_transparent
def wall_clock_ns(clock_id: int, depth: int = 1) -> int | None:
    """What ``time.clock_gettime_ns(clock_id)`` reads to the frame ``depth`` up (1:
    this function's caller): the session's time (the date, or since the boot) where
    a session's clock is in freezegun's stack; None for the machine's clock (another
    clock, no session's clock, a caller of the machinery, whose time is real).

    Under a freezer of the test's own, which natively leaves clock_gettime to the
    machine's clock, the test reads its host's clock, as its programs do; under the
    session's clock, CLOCK_REALTIME reads a time-machine travel's destination
    (timemachine.py), as time-machine's patched clock_gettime does natively."""
    if clock_id not in _REALTIME_IDS and clock_id not in _SINCE_BOOT_IDS:
        return None
    api = sys.modules.get("freezegun.api")
    if api is None or not api.freeze_factories:
        return None
    top = api.freeze_factories[-1]
    clock = top if isinstance(top, VirtualClock) else session_clock(api.freeze_factories)
    if clock is None:
        return None
    caller = sys._getframe(depth).f_globals.get("__name__") or ""
    if _Dormant.ignore and caller.startswith(_Dormant.ignore):
        return None
    if clock_id in _SINCE_BOOT_IDS:
        return clock.host_ns() - clock.boot_ns
    return clock.now_ns() if clock is top else clock.host_ns()


@_transparent
def host_clock_ns(clock_id: int) -> int | None:
    """The host's clock ``clock_id`` (realtime or since the boot) where a session's
    clock is in freezegun's stack, whatever travels or freezes above it; else None."""
    api = sys.modules.get("freezegun.api")
    clock = None if api is None else session_clock(api.freeze_factories)
    if clock is None or (clock_id not in _REALTIME_IDS and clock_id not in _SINCE_BOOT_IDS):
        return None
    return clock.host_ns() - (clock.boot_ns if clock_id in _SINCE_BOOT_IDS else 0)


def _frozen_at(now: float) -> _datetime.datetime:
    """``now`` (seconds since the epoch) as freezegun keeps it: naive UTC."""
    return _api().real_datetime.fromtimestamp(now, _datetime.timezone.utc).replace(tzinfo=None)


# What a read of the clock by the test costs in virtual time: on a machine the read and
# the code around it take time, so two reads never agree and a clock read after
# sleep(s) is past the start plus s (supervisor's unit tests compare time.time() with
# a time.time() taken a few lines before, with `>`). A microsecond is the finest step
# freezegun's clock (a datetime) shows.
READ_COST_NS = 1000
_READ_COST = _datetime.timedelta(microseconds=1)

# A test that spins on its clock with nothing else moving it (filelock's acquire with
# time.sleep mocked: a loop of lock attempts until perf_counter passes the timeout)
# would take 200,000 turns of its loop to pass 0.2 s at a microsecond a read, where
# natively each turn takes tens of microseconds (3,700-7,300 turns). After SPIN_FREE
# reads with no host run between them (a test's loop of a few thousand reads keeps
# its microsecond each), each further read costs twice as much every SPIN_STEP reads,
# up to SPIN_CAP reads' worth (64 us, a turn of such a loop): 0.2 s in ~6,600 reads.
# A count, so the same reads give the same times in every run.
SPIN_FREE = 2500
SPIN_STEP = 250
SPIN_CAP = 64


def spin_cost(spin: int) -> int:
    """What the read after ``spin`` reads with no host run between costs, in reads."""
    if spin < SPIN_FREE:
        return 1
    return min(2 << (spin - SPIN_FREE) // SPIN_STEP, SPIN_CAP)


# whose reads are not the suite's: the machinery's, and hypothesis's (its gc callback
# reads perf_counter at every garbage collection, which comes when it comes)
_NOT_THE_SUITE = _MACHINERY + ("hypothesis",)


def _read_by_suite_code() -> bool:
    """The clock read that called freezegun's fake is the suite's code, not the
    standard library's (a log record's time: whether a record is made depends on what
    earlier tests left configured) nor pytest's, a plugin's, hypothesis's or this
    package's."""
    frame = sys._getframe(2)
    while frame is not None and (frame.f_code in _TRANSPARENT or (
            frame.f_globals.get("__name__") or "").startswith("freezegun")):
        frame = frame.f_back
    name = "" if frame is None else frame.f_globals.get("__name__") or ""
    return not library_module(name, _NOT_THE_SUITE)


class VirtualClock:
    """The session's frozen time on top of freezegun's stack, at ``now`` (seconds since
    the epoch): what freeze_time().start() pushes, without the object it builds. It is
    its own factory (freezegun calls the top one at each clock read), so a test that
    reads no clock never pays for a datetime.

    Each read by the suite's code in the test's own thread moves it on by
    ``READ_COST_NS`` (more in a long run of reads: ``spin_cost``); ``reads`` counts the
    reads' worth the host's clock has not caught up with yet, ``spin`` the reads since
    the host last did. Other threads' reads cost nothing: how often a thread reads varies with the machine's scheduling (xdist's
    reader, a thread an earlier test left running), and the test's time would vary with
    it from run to run (--simproc-verify compares two)."""

    __slots__ = ("now", "reads", "spin", "boot_ns", "offset_ns", "_offset", "_owner",
                 "_stack_limit", "_api", "_tz", "_frozen")

    def __init__(self, now: float, boot_ns: int, warm: bool = False):
        """``warm``: clock_ready() holds and no module was imported since the last
        session's clock (patches.Patches.ready): what the installs below would find
        is in place already."""
        api = self._api = _api()
        if not warm:
            _Dormant.ensure(api)
            _SinceBoot.install(api)
            timemachine.install()
            realnow.install()
        # the host's boot as a date: the monotonic clocks count from it; it moves with
        # the date when the realtime clock is set (offset_ns), so they never jump
        self.boot_ns = boot_ns
        self.offset_ns = 0  # how far the realtime clock was set from the virtual time
        self._offset = _datetime.timedelta(0)
        # freezegun gives the real time to a caller whose last 5 frames include an
        # ignored module: that would be every function a test runs in a thread
        # (threading is ignored). Looking at the direct caller only keeps the host's
        # machinery and pytest's timing on real time and the test's threads on virtual.
        self._stack_limit = api.call_stack_inspection_limit
        api.call_stack_inspection_limit = 1
        self.now = now
        self._frozen = (None, None)   # (now, _frozen_at(now)): reads between two runs
        self.reads = 0
        self.spin = 0
        self._owner = _thread.get_ident()
        zone = (now, time.tzname, time.timezone)   # the zone as time.tzset() last set it
        offset = _tz_cache.get(zone)
        if offset is None:   # freeze_time(tz_offset=): the local offset at that time
            offset = _datetime.timedelta(seconds=_real_localtime(now).tm_gmtoff)
            _tz_cache.clear()
            _tz_cache[zone] = offset
        self._tz = offset
        api.freeze_factories.append(self)
        api.tz_offsets.append(offset)
        api.ignore_lists.append(_Dormant.ignore)
        api.tick_flags.append(False)

    def __call__(self) -> _datetime.datetime:
        """The test's time: the host's, or the destination of a time-machine travel
        (timemachine.py), in its time zone (freezegun adds the offset on top of the
        stack to naive local times)."""
        traveller = timemachine.traveller()
        api = self._api
        if traveller is None:
            if api.tz_offsets[-1] is not self._tz and api.freeze_factories[-1] is self:
                api.tz_offsets[-1] = self._tz
            return self.host()
        ns = traveller.time_ns()
        if api.freeze_factories[-1] is self:
            api.tz_offsets[-1] = _datetime.timedelta(
                seconds=_real_localtime(ns // 1_000_000_000).tm_gmtoff)
        return _EPOCH + _datetime.timedelta(microseconds=ns // 1000)

    def host(self) -> _datetime.datetime:
        """The host's time as the test reads it (naive UTC), a read by the suite's
        code in the test's own thread costing ``READ_COST_NS``."""
        reads = self.reads
        if _thread.get_ident() == self._owner and _read_by_suite_code():
            self.reads = reads + self._read_cost()
        return self._shown(reads)

    def _shown(self, reads: int) -> _datetime.datetime:
        """The clock as a read after ``reads`` reads shows it (naive UTC)."""
        now, frozen = self._frozen
        if now != self.now:
            frozen = _frozen_at(self.now)
            self._frozen = (self.now, frozen)
        return frozen + reads * _READ_COST + self._offset

    def local_offset_changed(self) -> None:
        """The test changed its time zone (time.tzset): naive local times (freezegun
        adds the offset on its stack to them) are in the new one."""
        offset = _datetime.timedelta(seconds=_real_localtime(self.now).tm_gmtoff)
        self._tz = offset
        api = self._api
        for i, factory in enumerate(api.freeze_factories):
            if factory is self:
                api.tz_offsets[i] = offset

    def host_ns(self) -> int:
        """``host()`` in ns since the epoch."""
        return (self.host() - _EPOCH) // _MICROSECOND * 1000

    def now_ns(self) -> int:
        """``self()`` in ns since the epoch (a travel's destination to the ns)."""
        traveller = timemachine.traveller()
        if traveller is not None:
            return traveller.time_ns()
        return self.host_ns()

    def count_read(self) -> int:
        """A read by the test's thread that no fake sees (libuv's clock, in C), which
        costs ``READ_COST_NS`` as the suite's Python reads do; the ns the reads before
        it took the clock past the host's."""
        reads = self.reads
        self.reads = reads + self._read_cost()
        return reads * READ_COST_NS

    def _read_cost(self) -> int:
        spin = self.spin
        self.spin = spin + 1
        return spin_cost(spin)

    def realtime_ns(self) -> int:
        """CLOCK_REALTIME as the test reads it now."""
        # as its reads show it (host()): the float ``now`` in whole microseconds, not
        # rounded to the ns, which was up to 60 ns off it, so a set of the clock to a
        # time read before could leave it a microsecond short of that time
        return (self._shown(self.reads) - _EPOCH) // _MICROSECOND * 1000

    def move_to(self, now: float, offset_ns: int = 0) -> None:
        """The clock at ``now`` plus the reads the host has not caught up with, its
        date ``offset_ns`` away from it (the host's CLOCK_REALTIME was set)."""
        self.now = now
        if offset_ns != self.offset_ns:
            self.boot_ns += offset_ns - self.offset_ns
            self.offset_ns = offset_ns
            self._offset = _datetime.timedelta(microseconds=offset_ns // 1000)

    def take_ahead_ns(self) -> int:
        """How far the test's reads took its clock past the host's (ns), which the
        host now catches up with."""
        reads, self.reads = self.reads, 0
        self.spin = 0
        return reads * READ_COST_NS

    def give_back_ns(self, ns: int) -> None:
        """The host caught up with only part of what ``take_ahead_ns`` gave it: the
        test's clock stays ``ns`` ahead (rounded up to whole reads: never back)."""
        self.reads += -(-ns // READ_COST_NS)

    def stop(self) -> None:
        api = self._api
        try:
            stack = api.freeze_factories
            # ours, even if a test left a freezer of its own started above it
            if stack and stack[-1] is self:
                for entries in freezegun_stacks(api):
                    del entries[-1]
            else:
                i = next((i for i in range(len(stack)) if stack[i] is self), None)
                if i is not None:
                    for entries in freezegun_stacks(api):
                        del entries[i]
        finally:
            api.call_stack_inspection_limit = self._stack_limit
            if not _Dormant.persist:
                _Dormant.stop()   # realnow's fakes too, after the last session's clock


for _method in (VirtualClock.__call__, VirtualClock.host, VirtualClock._shown,
                VirtualClock.host_ns, VirtualClock.now_ns):
    _transparent(_method)


# (object, attribute, what it held) of freezegun's that the dormant freezer's start
# replaced, put back at its stop
_FREEZEGUN_UNDO: list = []


def _replace(obj, name: str, value) -> None:
    held = obj.__dict__[name] if isinstance(obj, type) else getattr(obj, name)
    _FREEZEGUN_UNDO.append((obj, name, held))
    setattr(obj, name, value)


def _original(obj, name: str):
    """``obj.name`` as it was before the dormant freezer's start replaced it."""
    for replaced, attribute, held in _FREEZEGUN_UNDO:
        if replaced is obj and attribute == name:
            return held
    return getattr(obj, name)


def _restore_freezegun() -> None:
    while _FREEZEGUN_UNDO:
        obj, name, held = _FREEZEGUN_UNDO.pop()
        setattr(obj, name, held)


def _host_reads(api) -> None:
    """freezegun's fakes of ``time.time``, ``time.time_ns``, ``time.localtime``,
    ``time.gmtime`` and ``datetime.now`` under the session's clock: its time (or a
    time-machine travel's destination) read as the real calls read the real clock, in
    whole ns, the float nearest those ns (ns / 10**9, as time-machine divides),
    floor seconds for the struct_time, the C library's
    local zone at that time and its tm_isdst. freezegun's own build them from a naive
    datetime: time adds the microseconds to the seconds in floats (1152921505.249999,
    not 1152921505249999872 / 10**9, after time-machine's travel there), time_ns
    multiplies the float time by 1e9 (946684800000000896 a microsecond past
    the host's start), a datetime keeps microseconds only, struct_time has tm_isdst
    -1, and now(tz) adds the local offset to an aware time (and its wrong arguments
    raise freezegun's TypeError texts, not the real ones). Under a freezer of the
    test's own, freezegun's, as natively. Installed before the dormant freezer's
    start, which puts the fakes in the time module."""
    fakes = {name: getattr(api, name) for name in
             ("fake_time", "fake_time_ns", "fake_localtime", "fake_gmtime")}
    should_use_real_time = api._should_use_real_time
    stack, ignore_lists = api.freeze_factories, api.ignore_lists

    @_transparent
    def session_ns(top) -> int | None:
        """The time on top of the stack in ns when it is the session's (its clock, a
        forked child's host time, forking.py), None under a freezer of the test's own,
        freezegun's (whose fakes, called from here, would take this module's frame for
        the reader's, which the session's ignore list names)."""
        if isinstance(top, VirtualClock):
            return top.now_ns()
        if ignore_lists[-1] is _Dormant.ignore:
            return (top() - _EPOCH) // _MICROSECOND * 1000
        return None

    def fake_time() -> float:
        if should_use_real_time():   # looks at this function's caller, as freezegun's
            return api.real_time()   # _host_reals
        ns = session_ns(stack[-1])
        return fakes["fake_time"]() if ns is None else ns / 1_000_000_000

    def fake_time_ns() -> int:
        if should_use_real_time():   # looks at this function's caller, as freezegun's
            return api.real_time_ns()   # _host_reals
        ns = session_ns(stack[-1])
        return fakes["fake_time_ns"]() if ns is None else ns

    def struct_time(name, real):
        def fake(t=None):
            if t is not None:
                return real(t)
            if should_use_real_time():
                return getattr(api, "real" + name[4:])()   # _host_reals
            ns = session_ns(stack[-1])
            if ns is not None:
                return real(ns // 1_000_000_000)
            return fakes[name]()
        fake.__name__ = name
        return fake

    real_datetime, to_fake = api.real_datetime, api.datetime_to_fakedatetime
    freezegun_now = api.FakeDatetime.__dict__["now"].__func__

    def now(klass, *args, **kwargs):
        top = stack[-1]
        if not isinstance(top, VirtualClock):
            return freezegun_now(klass, *args, **kwargs)
        if len(args) + len(kwargs) > 1 or kwargs.keys() - {"tz"}:
            real_datetime.now(*args, **kwargs)   # raises the real TypeError, as natively
        tz = args[0] if args else kwargs.get("tz")
        ns = top.now_ns()
        return to_fake(real_datetime.fromtimestamp(ns // 1_000_000_000, tz)
                       + _datetime.timedelta(microseconds=ns % 1_000_000_000 // 1000))

    replaced = {"fake_time": fake_time, "fake_time_ns": fake_time_ns,
                "fake_localtime": struct_time("fake_localtime", api.real_localtime),
                "fake_gmtime": struct_time("fake_gmtime", api.real_gmtime)}
    for name, fake in replaced.items():
        _replace(api, name, _transparent(fake))
        _FAKE_CODES.add(fake.__code__)
    _replace(api.FakeDatetime, "now", classmethod(_transparent(now)))


# freezegun's real clock functions (its ``real_*``) that give a number: (the clock,
# whether in ns)
_REALS = {"real_time": (time.CLOCK_REALTIME, False), "real_time_ns": (time.CLOCK_REALTIME, True),
          "real_monotonic": (time.CLOCK_MONOTONIC, False),
          "real_monotonic_ns": (time.CLOCK_MONOTONIC, True),
          "real_perf_counter": (time.CLOCK_MONOTONIC, False),
          "real_perf_counter_ns": (time.CLOCK_MONOTONIC, True)}
_STRUCT_REALS = ("real_localtime", "real_gmtime", "real_strftime")
_FAKE_CODES: set = set()   # the code of freezegun's clock fakes and of _host_reads'


def _ignored_reader(frame) -> bool:
    """``frame`` is a fake's call of a real function for the module that read the clock
    (freezegun's fakes call them for a module on the test's freezer's ignore list),
    the suite's: not the machinery, pytest's timing or the session's own ignore list."""
    if frame.f_code not in _FAKE_CODES:
        return False
    while frame is not None and (frame.f_code in _TRANSPARENT or frame.f_code in _FAKE_CODES):
        frame = frame.f_back
    name = "" if frame is None else frame.f_globals.get("__name__") or ""
    return not name.startswith(_Dormant.ignore)


def _host_reals(api) -> None:
    """freezegun's ``real_*`` functions, which its fakes call for a module that the
    test's own freezer ignores (``freeze_time(ignore=[...])``, its
    ``extend_ignore_list``): natively that module reads the machine's clock, the
    test's real time, which in a session is its host's. Other calls of them (with a
    time to convert, from asyncio's loop clock, from the session's own ignore list)
    are the real functions'."""
    _FAKE_CODES.update(_original(api, fake).__code__ for _, fake in _PAIRS
                       if hasattr(getattr(api, fake, None), "__code__"))

    def clock_read(name, clock_id, in_ns):
        real = getattr(api, name)

        def read():
            clock = session_clock(api.freeze_factories)
            if clock is None or not _ignored_reader(sys._getframe(1)):
                return real()
            ns = clock.host_ns() - (clock.boot_ns if clock_id != time.CLOCK_REALTIME else 0)
            return ns if in_ns else ns / 1e9
        return _transparent(read)   # a read by the suite's module, which costs its time

    def struct_read(name):
        real = getattr(api, name)
        convert = _original(api, "real_gmtime" if name == "real_gmtime" else "real_localtime")

        def read(*args):
            clock = session_clock(api.freeze_factories)
            if (clock is None or len(args) != (name == "real_strftime")
                    or not _ignored_reader(sys._getframe(1))):
                return real(*args)
            now = convert(clock.host_ns() // 1_000_000_000)
            return real(*args, now) if args else now
        return _transparent(read)

    for name, (clock_id, in_ns) in _REALS.items():
        if hasattr(api, name):
            _replace(api, name, clock_read(name, clock_id, in_ns))
    for name in _STRUCT_REALS:
        _replace(api, name, struct_read(name))


def _host_ticking(api) -> None:
    """freezegun's factory of a ``freeze_time(..., tick=True)`` started in a test
    (its TickingDateTimeFactory, which the session's start puts in its place): it
    counts the time since its start on the host's clock when a session's clock was
    in the stack at its start, since the test's real time is its host's (a
    ``time.sleep(2)`` under it moves it 2 s, as natively); on the machine's clock
    otherwise, as freezegun does."""
    class Ticking(api.TickingDateTimeFactory):
        def __init__(self, time_to_freeze, start):
            self._host = session_clock(api.freeze_factories)
            super().__init__(time_to_freeze,
                             start if self._host is None else self._host.host())

        def __call__(self):
            if self._host is None:
                return super().__call__()
            return self.time_to_freeze + (self._host.host() - self.start)

        def move_to(self, target_datetime) -> None:
            super().move_to(target_datetime)
            if self._host is not None:
                self.start = self._host.host()

    _transparent(Ticking.__call__)
    _replace(api, "TickingDateTimeFactory", Ticking)


# ------------------------------------------------------------------ setting the clock
_real_clock_settime = time.clock_settime
_real_clock_settime_ns = time.clock_settime_ns
_CAP_SYS_TIME = 25  # capabilities(7)


def _set_test_clock(clk_id, value_ns: int) -> bool:
    """clock_settime(2) by the test of the realtime clock it reads as its host's:
    the host's clock moves (session.set_realtime_ns), never the machine's; False
    for any other clock or while the test reads the machine's time (the real call
    then sets or refuses as it would natively). EPERM without CAP_SYS_TIME, EINVAL
    below CLOCK_MONOTONIC's value, as the kernel refuses."""
    if clk_id != time.CLOCK_REALTIME or wall_clock_ns(clk_id, 3) is None:
        return False
    session = active_session()
    if session is None:
        return False
    from .pidcalls import capable   # pidcalls imports procfs, which imports this module
    if not capable(_CAP_SYS_TIME):
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
    if value_ns < wall_clock_ns(time.CLOCK_MONOTONIC, 3):
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
    session.set_realtime_ns(value_ns)
    return True


@_transparent
def _sim_clock_settime(clk_id, time_value):
    seconds = _seconds_arg(time_value)
    if not _set_test_clock(clk_id, math.floor(seconds * 1e9)):
        _real_clock_settime(clk_id, time_value)


@_transparent
def _sim_clock_settime_ns(clk_id, time_value):
    if not _set_test_clock(clk_id, operator.index(time_value)):
        _real_clock_settime_ns(clk_id, time_value)


def _seconds_arg(value) -> float:
    """time.clock_settime's seconds: a float or an integer (TypeError otherwise)."""
    if isinstance(value, float):
        return value
    return operator.index(value)


# ------------------------------------------------------------------ the time zone
_real_tzset = time.tzset


def _sim_tzset():
    """time.tzset(): the session's clock takes the new zone's offset as natively the
    C library does (a suite's fixture that sets TZ, time-machine's travel to a
    destination with a zone)."""
    _real_tzset()
    api = sys.modules.get("freezegun.api")
    clock = None if api is None else session_clock(api.freeze_factories)
    if clock is not None:
        clock.local_offset_changed()


def _naive_timestamp(api) -> None:
    """FakeDatetime.timestamp() of a naive time, under the session's clock: the C
    library's (the local zone's offset at that time, as natively), where freezegun
    takes the offset on its stack, which is the offset now (wrong for a date in
    another part of the year, or in a year the zone had another offset)."""
    real_timestamp = api.real_datetime.timestamp
    freezegun_timestamp = api.FakeDatetime.timestamp

    def timestamp(self) -> float:
        if self.tzinfo is None and isinstance(api.freeze_factories[-1], VirtualClock):
            return real_timestamp(self)
        return freezegun_timestamp(self)
    _replace(api.FakeDatetime, "timestamp", timestamp)


# (module, attribute, the real object, its fake): patches.py installs them with its own
REPLACED = [(time, "clock_settime", _real_clock_settime, _sim_clock_settime),
            (time, "clock_settime_ns", _real_clock_settime_ns, _sim_clock_settime_ns),
            (time, "tzset", _real_tzset, _sim_tzset)]
