"""The test's file times are its host's clock's, as its programs' are (kernel/filetimes.py).

A test that asks whether a file is old (``time.time() - os.stat(path).st_mtime``: a lock
file left by a dead holder, filelock's) reads its clock, the host's, and a time the
machine stamped: on a machine both are one clock. So the suite's ``os.stat``,
``os.lstat``, ``os.fstat`` (and what calls them: ``os.path.getmtime``, pathlib,
shutil) and the entries ``os.scandir`` yields show atime, mtime and ctime on the host's
clock (the session's map, made at the test's start, kept by its host), and ``os.utime``
stores an explicit time as the real instant the host's clock showed it; ``os.utime``
without times (a heartbeat's touch) stays the machine's, the map told the host's now
just before. The machinery's calls (pytest's, this plugin's) see the machine's times:
pytest's cache and rewritten modules compare them across tests. A child the test forked
that joined the host has its calls mapped by the host's tracer, not here.
"""
from __future__ import annotations

import math
import os

from .routing import (PASS_THROUGH, _caller_is_native, _in_host_thread, active_session,
                      like_the_real)

NSEC = 1_000_000_000
_EXTRA = [name for name in ("st_blksize", "st_blocks", "st_rdev", "st_flags", "st_gen",
                            "st_birthtime", "st_birthtime_ns") if hasattr(os.stat(os.sep), name)]


def _files(depth: int = 3):
    """The session's map where the caller ``depth`` frames up is the suite's code."""
    session = active_session()
    if session is None or _in_host_thread() or _caller_is_native(depth):
        return None
    return getattr(session, "files", None)


def _seconds(ns: int) -> float:
    return ns // NSEC + (ns % NSEC) * 1e-9   # as posixmodule's fill_time rounds


def on_host_clock(st: os.stat_result, files) -> os.stat_result:
    """``st`` with its times on the host's clock."""
    a, m, c = (files.shown(ns) for ns in (st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns))
    extra = {name: getattr(st, name) for name in _EXTRA}
    extra.update(st_atime=_seconds(a), st_mtime=_seconds(m), st_ctime=_seconds(c),
                 st_atime_ns=a, st_mtime_ns=m, st_ctime_ns=c)
    return os.stat_result((*st[:7], a // NSEC, m // NSEC, c // NSEC), extra)


def _result_mapped(wrap, same=None):
    """The fake of a call whose result ``wrap(result, map)`` puts on the host's clock;
    ``same(result)``: true of a result that reads the same on both clocks, returned
    before the look at the caller."""
    def make(real):
        def fake(*args, **kwargs):
            value = real(*args, **kwargs)
            if same is not None and same(value):
                return value
            files = _files()
            return value if files is None else wrap(value, files)
        return fake
    return make


def _older_than_the_test(st: os.stat_result) -> bool:
    """Every time of ``st`` is from before the session's map (pytest's and the suite's
    sources: most stats), so it reads as it is (``FileClock.shown``); or no map."""
    session = active_session()
    clock = None if session is None else getattr(session, "files", None)
    return clock is None or max(st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns) < clock.since


def _ns(t) -> int:
    """A time os.utime takes in seconds as ns, as CPython converts it (floor)."""
    if not isinstance(t, float):
        return t.__index__() * NSEC
    frac, whole = math.modf(t)
    return int(whole) * NSEC + math.floor(frac * 1e9)


def _utime_fake(real):
    def fake(path, times=None, *, ns=None, **kwargs):
        files = _files()
        if files is None or times is not None and ns is not None:
            return real(path, times, ns=ns, **kwargs) if ns is not None \
                else real(path, times, **kwargs)
        if times is None and ns is None:   # now: the machine stamps it
            session = active_session()
            files.note(session._now_ns() + session._clock.offset_ns, force=True)
            return real(path, **kwargs)
        if ns is None:
            if not isinstance(times, tuple) or len(times) != 2:
                return real(path, times, **kwargs)   # the real TypeError
            if not all(isinstance(t, (int, float)) for t in times):
                return real(path, times, **kwargs)
            ns = tuple(_ns(t) for t in times)
        if not isinstance(ns, tuple) or len(ns) != 2 or not all(isinstance(t, int) for t in ns):
            return real(path, times, ns=ns, **kwargs)
        return real(path, ns=(files.stored(ns[0]), files.stored(ns[1])), **kwargs)
    return fake


class _Entry:
    """An os.DirEntry whose stat() is on the host's clock (os.DirEntry cannot be made
    or subclassed in Python)."""

    __slots__ = ("_entry", "_files")

    def __init__(self, entry, files):
        self._entry, self._files = entry, files

    def __getattr__(self, name):
        return getattr(self._entry, name)

    def __fspath__(self):
        return self._entry.path

    def __repr__(self):
        return repr(self._entry)

    def stat(self, *, follow_symlinks=True):
        return on_host_clock(self._entry.stat(follow_symlinks=follow_symlinks), self._files)


class _Scandir:
    """The iterator os.scandir returns, its entries on the host's clock."""

    def __init__(self, it, files):
        self._it, self._files = it, files

    def __iter__(self):
        return self

    def __next__(self):
        return _Entry(next(self._it), self._files)

    def close(self):
        self._it.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._it.close()


_stat_fake = _result_mapped(on_host_clock, _older_than_the_test)
_FAKES = {"stat": _stat_fake, "lstat": _stat_fake, "fstat": _stat_fake, "utime": _utime_fake,
          "scandir": _result_mapped(_Scandir)}
_installed: list = []


def install() -> None:
    """Over whatever os holds now (procfs.py's /proc fakes). While the plugin's patches
    persist (patches.py) they stay in between tests, as procfs.py's do, each handing its
    call to the real function while no session is active (a test that starts no process
    must cost nothing measurable)."""
    if _installed:
        return
    replaced = []
    for name, make in _FAKES.items():
        present = getattr(os, name)
        fake = make(present)
        PASS_THROUGH.add(fake.__code__)   # procfs.py's fake below asks who called
        replaced.append((os, name, present, fake))
        setattr(os, name, fake)
    like_the_real(replaced)
    _installed.extend(replaced)


def uninstall(persist: bool = False) -> None:
    """A session's end: the real functions back unless the patches persist (then
    ``remove``, at their end)."""
    if not persist:
        remove()


def remove() -> None:
    """Put back what the fakes replaced (those still ours)."""
    while _installed:
        module, name, present, fake = _installed.pop()
        if getattr(module, name) is fake:
            setattr(module, name, present)
