"""Programs a test started that something longer-lived still holds: they go on.

A class's setup makes an object that starts no program (GitPython's ``Repo``); the
first test that needs one starts a persistent ``git cat-file --batch`` and the object
keeps its Popen, to talk to it in every later test of the class. Natively the program
lives as long as the object. Closing the test's host at its end killed it, and later
tests wrote to a dead pipe. So at a test's end the plugin asks which live programs are
still held: a Popen of the test's (popen.py) that is still there after the test's
frame is gone and a garbage collection, held by something other than a finished
frame (a failed test's traceback keeps its locals: still a plain leak) or
``subprocess._active`` (where Popen.__del__ keeps a dropped Popen to reap it: nothing
that talks to it). Those, and their descendants, go on in the carried host; what
nothing holds is killed at its test's end, as before (a plain leak). A dropped holder
is not a kill (natively a collected Popen does not kill either): the host is closed at
the end of the first test after which nothing holds any of its programs.
"""
from __future__ import annotations

import gc
import signal
import subprocess
import sys
import types


def held_pids(session) -> set[int]:
    """The virtual pids of the host's live programs that the test process still holds
    (a Popen), with their descendants; empty when it has no live program."""
    host = session._host
    if host is None or session._closed or host._engine.alive == 0:
        return set()
    live = {p.pid: p for p in host._engine.table.live()}
    refs = {pid: child.popen for pid, child in list(session._children.items())
            if pid in live}
    if not any(ref() is not None for ref in refs.values()):
        return set()  # no Popen left: the test's garbage is collected when it would be
    if gc.isenabled():  # a suite that disabled collections has its garbage kept
        gc.collect()
    roots = {pid for pid, ref in refs.items() if _held(ref)}
    return _with_descendants(roots, live) if roots else set()


def end_unheld(session, keep: set[int]) -> None:
    """SIGKILL the host's live programs outside ``keep``: what a test left running
    that nothing holds ends with the test, as when its host closes."""
    for proc in session._host._engine.table.live():
        if proc.pid not in keep:
            try:
                session.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # ended meanwhile (a parent's death took it)


def _held(ref) -> bool:
    popen = ref()
    own_frame = sys._getframe()
    if popen is None or getattr(popen, "returncode", None) is not None:
        return False
    running = _running_frames()
    active = subprocess._active or ()
    for holder in gc.get_referrers(popen):
        if holder is own_frame or holder is active:
            continue
        if isinstance(holder, types.FrameType) and holder not in running:
            continue  # a finished frame, kept by a traceback
        return True
    return False


def _running_frames() -> set:
    frames = set()
    for frame in sys._current_frames().values():
        while frame is not None:
            frames.add(frame)
            frame = frame.f_back
    return frames


def _with_descendants(roots: set[int], live: dict) -> set[int]:
    keep = set(roots)
    grown = True
    while grown:
        grown = False
        for pid, proc in live.items():
            if pid not in keep and proc.ppid in keep:
                keep.add(pid)
                grown = True
    return keep
