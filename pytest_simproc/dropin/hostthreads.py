"""The host's own threads are not in the test's ``threading.enumerate()`` and
``threading.active_count()``.

A drop-in test's programs are traced from threads of the test process (the tracer
thread, kept for the next host, and the one watchdog thread: host/threads.py), which
the first test that runs a program starts and which live for the rest of the run.
Natively there are none. Suites check that a test leaves no thread behind by counting
before and after: watchdog's autouse ``_no_thread_leaks`` asserts
``threading.active_count() == old_thread_count`` at teardown, and the first test that
ran a program (``test_observer_stops_in_eventlet``) failed it under --simproc with
``assert 4 == 2``; others join every thread ``threading.enumerate()`` gives. Calls from
the standard library, pytest, its machinery plugins (pytest-timeout names the threads of
its stack dump) and this package see them all.
"""
from __future__ import annotations

import threading

from ..host.threads import HOST_THREADS
from .threadwait import _stdlib_or_machinery

_real_enumerate = threading.enumerate
_real_active_count = threading.active_count


def _test_threads(threads: list) -> list:
    return [thread for thread in threads if thread not in HOST_THREADS]


def sim_enumerate():
    threads = _real_enumerate()
    return threads if _stdlib_or_machinery(2) else _test_threads(threads)


def sim_active_count():
    if _stdlib_or_machinery(2):
        return _real_active_count()
    return len(_test_threads(_real_enumerate()))


REPLACED = [(threading, "enumerate", _real_enumerate, sim_enumerate),
            (threading, "active_count", _real_active_count, sim_active_count)]
