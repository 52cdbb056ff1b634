"""Drop-in mode: the timed waits of the test's threads count virtual time (issue 13).

sh's ``_timeout`` is a ``threading.Timer``: natively it fires a second into a
``sleep 3``; in a host it waited in real time while the sleep ended in virtual time,
so the command was never timed out. The inner suite below waits the ways suites do
(Timer, Event.wait, Queue.get, Thread.join with timeouts; no simproc API) against
programs that sleep; it passes natively and under ``--simproc``, where each wait ends
at its virtual deadline exactly, or at once when it is set.
"""
from __future__ import annotations

import subprocess
import threading
import time

import pytest

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import json
import queue
import signal
import subprocess
import threading
import time


def observed(name, pid, elapsed, when):
    print("OBSERVED", json.dumps([name, [int(pid)], float(elapsed), float(when)]), flush=True)


def test_a_timer_kills_a_sleep():
    p = subprocess.Popen(["sleep", "3"])
    started = time.time()
    timer = threading.Timer(1, p.kill)
    timer.start()
    assert p.wait() == -signal.SIGKILL
    elapsed = time.time() - started
    assert 0.9 <= elapsed < 2.5
    observed("timer", p.pid, elapsed, started)


def test_an_event_wait_times_out_while_a_program_runs():
    p = subprocess.Popen(["sleep", "2"])
    started = time.time()
    assert not threading.Event().wait(0.5)
    waited = time.time() - started
    assert p.poll() is None
    assert p.wait() == 0
    assert 0.4 <= waited < 1.5
    observed("event timeout", p.pid, waited, started)


def test_a_set_wakes_the_waiter_at_once():
    started = time.time()   # before the program: its sleep starts with it
    p = subprocess.Popen(["sh", "-c", "sleep 1; echo $$"], stdout=subprocess.PIPE)
    said = threading.Event()
    lines = []

    def read():
        lines.append(p.stdout.readline())
        said.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert said.wait(30)
    elapsed = time.time() - started
    reader.join()
    p.wait()
    assert int(lines[0]) == p.pid
    assert 0.9 <= elapsed < 10
    observed("event set", p.pid, elapsed, started)


def test_queue_get_and_join_time_out_while_a_thread_waits_for_a_program():
    spawned = time.time()  # the program's 2 s count from here, whatever the load
    p = subprocess.Popen(["sleep", "2"])
    results = queue.Queue()
    waiter = threading.Thread(target=lambda: results.put(p.wait()))
    waiter.start()
    started = time.time()
    try:
        results.get(timeout=0.5)
    except queue.Empty:
        pass
    else:
        raise AssertionError("the program ended before its time")
    waiter.join(0.5)
    assert waiter.is_alive()
    first = time.time() - started
    assert results.get(timeout=30) == 0
    waiter.join(30)
    assert not waiter.is_alive()
    second = time.time() - spawned
    assert 0.9 <= first < 1.9 and 2 <= second < 10
    observed("queue and join", p.pid, first, second)


def test_a_threads_timer_while_the_test_joins():
    # the waiting and the timing out both happen in threads; the test's thread only
    # joins them (natively, in real time)
    p = subprocess.Popen(["sleep", "3"])
    started = time.time()
    fired = []

    def time_out():
        fired.append(time.time() - started)
        p.kill()

    timer = threading.Timer(1, time_out)
    timer.start()
    codes = []
    waiter = threading.Thread(target=lambda: codes.append(p.wait()))
    waiter.start()
    waiter.join()
    timer.join()
    assert codes == [-signal.SIGKILL]
    assert 0.9 <= fired[0] < 2.5
    observed("thread timer", p.pid, fired[0], started)
"""

NAMES = {"timer", "event timeout", "event set", "queue and join", "thread timer"}


def test_the_waits_pass_natively(observe):
    seen = observe(INNER, [], passed=5)
    assert set(seen) == NAMES
    for name, (_, _, when) in seen.items():
        if name != "queue and join":
            assert when > HOST_EPOCH + 20 * 365 * 86400, name  # the machine's clock


def test_under_simproc_the_waits_end_at_their_virtual_deadlines(observe):
    seen = observe(INNER, ["--simproc"], passed=5)
    assert set(seen) == NAMES
    for name, ([pid], _, _) in seen.items():
        assert 1000 <= pid < 1100, (name, pid)
    # a timeout falls due at its deadline (observed to 0.1 ms); a program's sleep
    # ends after its start-up (some hundreds of microseconds)
    assert seen["timer"][1] == pytest.approx(1.0, abs=1e-6)
    assert HOST_EPOCH <= seen["timer"][2] < HOST_EPOCH + 1
    assert seen["event timeout"][1] == pytest.approx(0.5, abs=1e-6)
    assert seen["thread timer"][1] == pytest.approx(1.0, abs=1e-6)
    assert 1.0 < seen["event set"][1] < 1.01
    first, second = seen["queue and join"][1:]
    assert first == pytest.approx(1.0, abs=1e-6)
    assert 2.0 <= second < 2.01  # sleep 2 ends at 2 s (a spawned program's exec is free)


LONG_TIMER = r"""
import json
import subprocess
import threading
import time


def test_a_long_timer():
    p = subprocess.Popen(["sleep", "60"])
    started = time.time()
    fired = []
    timer = threading.Timer(30, lambda: fired.append((time.time() - started, p.poll())))
    timer.start()
    timer.join()
    p.kill()
    p.wait()
    print("OBSERVED", json.dumps(fired[0]))
"""


def test_a_timer_of_30_s_fires_at_virtual_30_s(observed):
    """Natively half a minute; in a host the Timer's wait is the host's to end, while
    the program is still asleep."""
    ((elapsed, running),) = observed(LONG_TIMER, ["--simproc"], passed=1)
    assert elapsed == pytest.approx(30.0, abs=1e-5)  # and the clock's reads
    assert running is None


def test_waits_are_real_without_a_host_and_after_the_session():
    """The virtual waits exist only while the host does: before it, a timed wait of
    the test is the real one (and moves its clock on as much), and the end of the
    session puts the real functions back."""
    from pytest_simproc.dropin import DropinSession
    real = (threading.Condition.wait, threading.Thread.join)
    with DropinSession() as session:
        assert threading.Thread.join is real[1]
        before = time.time()
        real_start = time.perf_counter_ns()   # not patched by the session
        assert not threading.Event().wait(0.2)
        assert time.perf_counter_ns() - real_start >= 0.2e9
        assert time.time() - before == pytest.approx(0.2, abs=1e-4)
        p = subprocess.Popen(["sleep", "5"])
        assert threading.Condition.wait is not real[0]
        started = time.time()
        assert not threading.Event().wait(2)
        # (and the microseconds of the clock reads code between them made, which code
        # an earlier test left behind, such as a logging handler, may add to)
        assert time.time() - started == pytest.approx(2.0, abs=1e-4)
        assert p.poll() is None
        session.sleep(5)
        assert p.poll() == 0
    assert (threading.Condition.wait, threading.Thread.join) == real


@pytest.mark.parametrize("args", [["--simproc"], []], ids=["simproc", "native"])
def test_a_thread_an_earlier_test_started_waits_in_the_later_tests_time(pytester, args):
    # plumbum's timeout thread: started by the first test that runs a command with a
    # timeout, it lives on and serves every later test. Its Queue.get(timeout) in a
    # later test must follow that test's clock, or the program's virtual `sleep 3`
    # ends long before a real second has passed and is never timed out.
    from .test_dropin_pipes import run_checked
    run_checked(pytester, """
        import queue
        import signal
        import subprocess
        import threading
        import time

        _requests = queue.Queue()
        _thread = []

        def _killer():
            pending = []
            while True:
                timeout = max(0.0, pending[0][1] - time.time()) if pending else None
                try:
                    pending.append(_requests.get(timeout=timeout))
                    pending.sort(key=lambda item: item[1])
                except queue.Empty:
                    proc, _ = pending.pop(0)
                    if proc.poll() is None:
                        proc.kill()

        def run(argv, timeout):
            if not _thread:
                _thread.append(threading.Thread(target=_killer, daemon=True))
                _thread[0].start()
            p = subprocess.Popen(argv)
            _requests.put((p, time.time() + timeout))
            return p, p.wait()

        def test_first_starts_the_thread():
            p, status = run(["sleep", "3"], 1)
            assert status == -signal.SIGKILL
            host_check(p.pid)

        def test_second_uses_it():
            p, status = run(["sleep", "3"], 1)
            assert status == -signal.SIGKILL
            host_check(p.pid)
    """, args, passed=2)


LOCKS = r"""
import json
import subprocess
import threading
import time


def observed(name, pid, *elapsed):
    print("OBSERVED", json.dumps([name, [int(pid)], list(elapsed), time.time()]), flush=True)


def test_a_timed_lock_acquire_while_a_thread_waits_for_a_program():
    lock = threading.Lock()
    lock.acquire()
    p = subprocess.Popen(["sleep", "1"])
    releaser = threading.Thread(target=lambda: (p.wait(), lock.release()))
    releaser.start()
    started = time.time()
    assert not lock.acquire(timeout=0.25)
    first = time.time() - started
    assert lock.acquire(timeout=30)
    second = time.time() - started
    lock.release()
    releaser.join()
    assert 0.2 <= first < 0.9 and 0.9 <= second < 10
    observed("lock", p.pid, first, second)


def test_a_timed_rlock_acquire_while_another_thread_holds_it():
    rlock = threading.RLock()
    holding = threading.Event()
    pids = []

    def hold():
        with rlock:
            p = subprocess.Popen(["sleep", "1"])
            pids.append(p.pid)
            holding.set()
            p.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(30)
    started = time.time()
    assert not rlock.acquire(timeout=0.25)
    first = time.time() - started
    assert rlock.acquire(timeout=30)
    second = time.time() - started
    assert rlock.acquire(timeout=1)  # its own: at once
    rlock.release()
    rlock.release()
    holder.join()
    assert 0.2 <= first < 0.9 and 0.5 <= second < 10
    observed("rlock", pids[0], first, second)
"""


def test_timed_lock_acquires_pass_natively(observe):
    seen = observe(LOCKS, [], passed=2)
    assert set(seen) == {"lock", "rlock"}
    assert seen["lock"][2] > HOST_EPOCH + 20 * 365 * 86400  # the machine's clock


def test_under_simproc_a_timed_lock_acquire_ends_at_its_virtual_deadline(observe):
    """Lock.acquire(timeout=) blocks in C: without the session's locks it waited in
    real time, and the program's virtual `sleep 1` ended (and released the lock)
    long before the quarter of a real second was over."""
    seen = observe(LOCKS, ["--simproc"], passed=2)
    for name in ("lock", "rlock"):
        [pid], (first, second), when = seen[name]
        assert 1000 <= pid < 1100, name
        assert first == pytest.approx(0.25, abs=1e-6), name
        assert 1.0 <= second < 1.01, name  # sleep 1 ends after its start-up
        assert HOST_EPOCH <= when < HOST_EPOCH + 10, name


def test_locks_are_native_outside_a_session_and_for_the_machinery():
    """Only the suite's code gets the session's locks, and only during a session:
    the standard library's (Event's, Queue's) and those made between tests are
    ``_thread``'s own."""
    import _thread
    from pytest_simproc.dropin import DropinSession
    from pytest_simproc.dropin.patches import Patches
    with DropinSession():
        lock, rlock = threading.Lock(), threading.RLock()
        event = threading.Event()
    assert type(lock).__name__ == "_SimLock" and type(rlock).__name__ == "_SimRLock"
    assert isinstance(rlock, _thread.RLock)
    assert type(event._cond._lock) is _thread.LockType
    if not Patches.persist:   # run alone: the fakes are gone with the session
        assert threading.Lock is _thread.allocate_lock
    assert type(threading.Lock()) is _thread.LockType
    assert type(threading.RLock()) is _thread.RLock
    assert lock.acquire(timeout=0.01) and not lock.acquire(timeout=0.01)
    lock.release()
    with lock, rlock, rlock:
        assert lock.locked()


@pytest.mark.parametrize("args", [["--simproc"], []], ids=["simproc", "native"])
def test_a_thread_waits_for_an_rlock_the_test_holds_across_a_sleep(pytester, args):
    # The test's thread runs the host through its sleep and asks, at each instant,
    # whether the waiting thread can go on: asking must not take the RLock (it would
    # be the asker's, reentrantly, and the waiter would enter while the test holds it).
    from .test_dropin_pipes import run_checked
    run_checked(pytester, """
        import subprocess
        import threading
        import time

        def test_the_worker_enters_after_the_test_left():
            rlock = threading.RLock()
            p = subprocess.Popen(["sleep", "2"])
            order = []

            def worker():
                if rlock.acquire(timeout=10):
                    order.append("worker")
                    rlock.release()

            with rlock:
                t = threading.Thread(target=worker)
                t.start()
                time.sleep(1)
                order.append("test")
            t.join(10)
            assert order == ["test", "worker"]
            assert p.wait() == 0
            host_check(p.pid)
    """, args, passed=1)


@pytest.mark.parametrize("args", [["--simproc"], []], ids=["simproc", "native"])
def test_a_poll_loop_of_tiny_sleeps_sees_what_a_reader_thread_read_at_once(pytester, args):
    # pexpect's PopenSpawn: a thread reads the program's stdout into a queue; expect()
    # looks at the queue and sleeps 0.1 ms between empty looks, until its timeout.
    # While that thread waits for the host, a sleep needs no real pause for it, but
    # once the program wrote, the thread must have its turn before the clock moves on:
    # the line is seen within a few looks of when it was written.
    from .test_dropin_pipes import run_checked
    run_checked(pytester, """
        import os
        import queue
        import subprocess
        import threading
        import time

        def test_expect_a_line_then_time_out():
            started = time.time()  # before the program: its sleep surely starts later
            p = subprocess.Popen(["sh", "-c", "sleep 0.2; echo ready; exec cat"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            lines = queue.Queue()

            def reader():
                while True:
                    data = os.read(p.stdout.fileno(), 1024)
                    lines.put(data)
                    if not data:
                        return

            thread = threading.Thread(target=reader, daemon=True)
            thread.start()
            seen, got = None, b""
            while time.time() - started < (10 if seen is None else seen + 0.05):
                try:
                    got += lines.get_nowait()
                except queue.Empty:
                    time.sleep(0.0001)
                    continue
                if seen is None:
                    seen = time.time() - started
            assert got == b"ready\\n"
            assert 0.19 <= seen < 10
            p.stdin.close()
            assert p.wait(timeout=5) == 0
            thread.join(5)   # cat's end closed the pipe's last write end: EOF
            assert not thread.is_alive()
            if started < 1_000_000_000:   # in a host (its clock starts in 2000): the
                assert seen < 0.21        # look right after the write saw it
            host_check(p.pid)
    """, args, passed=1)
