"""Drop-in mode and a Popen the test drops while its program runs, as CPython's
test_subprocess does (issue 12650: test_zombie_fast_process_del,
test_leak_fast_process_del_killed). Natively the last reference going runs
``Popen.__del__`` at once: a ResourceWarning "subprocess N is still running", and the
Popen kept in ``subprocess._active`` until the next Popen reaps its ended program; a
program that already ended is reaped by ``__del__`` itself, and one whose arguments
were refused has nothing to finalize. The inner suite passes
natively and under ``--simproc``, where the programs are the host's (pid 1000) and the
sleeps virtual.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = r'''
import gc
import os
import subprocess
import sys
import time
import warnings

import pytest
from dropin_helpers import observed


def dropped(popen_holder):
    """The warnings of dropping the only reference to a Popen."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        popen_holder.clear()
    return [str(w.message) for w in caught]


def test_a_running_popen_dropped_is_reaped_by_the_next_popen():
    t0 = time.monotonic()
    held = [subprocess.Popen(["sleep", "1"])]
    pid, ident = held[0].pid, id(held[0])
    assert dropped(held) == [f"subprocess {pid} is still running"]
    assert ident in [id(p) for p in subprocess._active]
    time.sleep(2)
    subprocess.run(["true"])  # Popen's start reaps the ended one
    assert ident not in [id(p) for p in subprocess._active]
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)
    observed("running", [pid], time.monotonic() - t0)


def test_an_ended_popen_dropped_is_reaped_by_its_finalizer():
    held = [subprocess.Popen(["true"])]
    pid = held[0].pid
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # ended, still a zombie
    assert dropped(held) == [f"subprocess {pid} is still running"]
    assert pid not in [p.pid for p in subprocess._active]
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    observed("ended", [pid])


def test_a_popen_that_never_started_has_nothing_to_finalize():
    unraisable = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        with pytest.raises(TypeError):
            subprocess.Popen(["true"], no_such_argument=1)
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert unraisable == []
    observed("unstarted", [])
'''


def test_natively(observe):
    seen = observe(INNER, [], passed=3)
    assert all(1000 not in pids for pids, _, _ in seen.values())


def test_under_simproc(observe, virtual):
    seen = observe(INNER, ["--simproc"], passed=3)
    assert virtual(seen) == {"running": ([1000], [2.0]), "ended": ([1000], []),
                             "unstarted": ([], [])}
