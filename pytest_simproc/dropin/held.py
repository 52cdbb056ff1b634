"""Programs that outlive their test in an object the suite keeps.

ipykernel's tests share one kernel: the first test that needs it starts it (a
jupyter_client KernelManager in a module global of the suite's helpers), later tests
talk to it, and it is shut down at exit. GitPython's Repo keeps the ``git cat-file
--batch`` its first read started for the next reads. Natively the program lives on; the
host that closed at the end of the test that started it killed it under the object,
and every later test met a dead kernel (ipykernel: a 30 s timeout each) or a dead pipe.

So a test whose host still runs a program that a Popen object still names, once the
test's own references are gone (after a full collection: a cycle through a frame of the
test holds none), hands its host on to the next test, as the programs of a wider
fixture are (plugin._carry). A Popen the test dropped, that subprocess keeps only to
reap it later (``subprocess._active``), does not hold its program.
"""
from __future__ import annotations

import gc
import subprocess


def held(session) -> bool:
    """Whether a live program of the session's host is named by a Popen that lives on."""
    if session._host is None or not _held(session):
        return False
    gc.collect()  # what only a cycle of the ended test kept goes now
    return _held(session)


def _held(session) -> bool:
    live = {p.pid for p in session._host._engine.table.live()}
    for pid, child in list(session._children.items()):
        if pid in live:
            popen = child.popen()
            if popen is not None and not any(p is popen for p in subprocess._active):
                return True
    return False
