"""Hosts share threads, never state (host/threads.py): a closed host's tracer thread
serves the next host of the process, one watchdog thread looks at every open host, and
a forked child of the test starts afresh."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from pytest_simproc import Exited, SimHost
from pytest_simproc.errors import WatchdogError


def _tracer_thread(host: SimHost) -> threading.Thread:
    return host._tracer.call(threading.current_thread)


def test_a_closed_hosts_tracer_thread_serves_the_next_host():
    with SimHost() as first:
        p = first.spawn(["true"])
        first.run()
        thread = _tracer_thread(first)
    assert p.exit_status == Exited(0)
    with SimHost(hostname="second") as second:
        assert _tracer_thread(second) is thread
        assert thread.name == "simproc-tracer-second"
        q = second.spawn(["sh", "-c", "echo $$"])
        second.run()
        assert q.stdout == b"1000\n"  # a fresh process table
        assert second.now == first.start_time  # and a fresh clock


def test_two_open_hosts_have_their_own_tracer_threads():
    with SimHost() as a, SimHost() as b:
        assert _tracer_thread(a) is not _tracer_thread(b)
        pa, pb = a.spawn(["true"]), b.spawn(["true"])
        a.run()
        b.run()
        assert pa.exit_status == pb.exit_status == Exited(0)


def test_a_tracer_thread_with_a_child_left_is_not_reused():
    """A thread that still has a child process (here one the test makes it fork) ends
    with its host instead of serving another: the next host could wait for it."""
    host = SimHost()
    thread = _tracer_thread(host)
    r, w = os.pipe()

    def fork_child():
        pid = os.fork()
        if pid == 0:
            os.close(w)
            os.read(r, 1)
            os._exit(0)
        return pid
    pid = host._tracer.call(fork_child)
    try:
        host.close()
        thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        os.close(w)
        os.close(r)
        os.waitpid(pid, 0)  # reparented to us (the subreaper) or still ours
    with SimHost() as other:
        assert _tracer_thread(other) is not thread


def test_a_tracer_thread_with_a_zombie_child_left_is_not_reused():
    """As above with a child that ended unreaped: closing reads the thread's children
    from /proc instead of waiting for them from the thread (see the next test)."""
    host = SimHost()
    thread = _tracer_thread(host)

    def fork_child():
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        return pid
    pid = host._tracer.call(fork_child)
    try:
        time.sleep(0.05)
        host.close()
        thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        try:
            os.waitpid(pid, 0)  # reparented to us (the subreaper) or still ours
        except ChildProcessError:
            pass
    with SimHost() as other:
        assert _tracer_thread(other) is not thread


def test_closing_a_host_whose_programs_ended_hands_nothing_to_its_tracer(monkeypatch):
    """Every native death seen and reaped: close does its tracer's part on the
    closing thread (two context switches less for a drop-in test), and the thread
    still serves the next host."""
    host = SimHost()
    p = host.spawn(["true"])
    host.run()
    thread = _tracer_thread(host)
    handed = []
    real_call = type(host._tracer).call
    monkeypatch.setattr(type(host._tracer), "call",
                        lambda self, func, *args: handed.append(func) or real_call(self, func, *args))
    host.close()
    assert handed == []
    assert p.exit_status == Exited(0)
    with SimHost() as other:
        assert _tracer_thread(other) is thread


def test_the_watchdog_watches_every_open_host(build):
    """Two hosts at once: a spin in the one opened first is killed by the one watchdog
    thread while the second host is open too."""
    with SimHost(watchdog_timeout=1) as spinning, SimHost() as idle:
        sleeper = idle.spawn(["sleep", "5"])
        spinning.spawn([build("spin")])
        with pytest.raises(WatchdogError, match="spin"):
            spinning.run()
        idle.run()
        assert sleeper.exit_status == Exited(0)


def test_a_forked_child_of_the_test_runs_its_own_host():
    with SimHost() as host:  # leaves an idle tracer thread and the watchdog thread
        host.spawn(["true"])
        host.run()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            with SimHost() as own:
                p = own.spawn(["true"])
                own.run()
                code = 0 if p.exit_status == Exited(0) else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + 120
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child's host hung")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_call_on_the_tracer_thread_costs_its_caller_few_python_calls():
    """A host's every step is a call handed to its tracer thread and waited for (four
    or more per drop-in test): a lock per call, not a Future with its condition,
    whose Python bookkeeping on both threads cost each call more than its wake-ups.
    Errors still come back whole."""
    import sys
    with SimHost() as host:
        host._tracer.call(int)
        seen = []
        sys.setprofile(lambda frame, event, arg: seen.append(frame.f_code.co_name)
                       if event == "call" else None)
        try:
            assert host._tracer.call(int, "7") == 7
        finally:
            sys.setprofile(None)
        assert len(seen) <= 3, seen
        with pytest.raises(ValueError, match="invalid literal") as info:
            host._tracer.call(int, "x")
        assert info.value.__traceback__ is not None


def test_a_collection_waits_while_the_tracer_works():
    """A finalizer of the test's (GitPython's Repo.__del__ polls its Popen) freed by a
    collection on the tracer thread would wait for the host that thread runs: garbage
    made there is collected once the job is done, in the test's thread."""
    import gc

    ran_in = []

    class Cyclic:
        def __init__(self):
            self.me = self

        def __del__(self):
            ran_in.append(threading.current_thread().name)

    def job():
        Cyclic()  # unreachable at once, freed only by a collection
        more = [[] for _ in range(50_000)]  # allocations that start one when enabled
        return gc.isenabled(), len(more)

    with SimHost() as host:
        assert gc.isenabled()
        assert host._tracer.call(job) == (False, 50_000)
        assert gc.isenabled()
        gc.collect()
    assert ran_in == [threading.current_thread().name]
