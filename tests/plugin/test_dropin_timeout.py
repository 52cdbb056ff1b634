"""pytest-timeout's limit counts the test's time under --simproc: virtual inside its
host, real outside.

pytest-timeout arms a real timer per test (SIGALRM from setitimer, or a thread that
ends the process). Under --simproc a test's `time.sleep(10)` and its wait for a
`sleep 30` take virtual seconds and next to no real time, so a test marked
`timeout(1)` ran on past its limit and passed; and its programs' calls cost the tracer
real time they do not cost natively, so a test whose programs make many calls timed
out. Now the real timer of the test's own limit is paused while the host runs for
the test's thread, the run stops where the limit runs out in the test's clock, and
what the real timer fires fires; outside the host the timer counts real time, so a
wait outside the host that hangs, or a test that computes on, is still caught. The
inner suites are written as suites write them, with no simproc API.
"""
from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import json
import subprocess
import threading
import time

import pytest

PIDS = []


@pytest.fixture
def clock(request):
    start = time.time()
    yield
    print("OBSERVED", json.dumps([request.node.name, start, time.time() - start, PIDS]))


@pytest.mark.timeout(3)
def test_sleeps_past_its_limit(clock):
    time.sleep(3600)


@pytest.mark.timeout(3)
def test_waits_past_its_limit_for_a_program(clock):
    p = subprocess.Popen(["sleep", "3600"])
    PIDS.append(p.pid)
    try:
        p.wait()
    finally:  # natively the limit's exception leaves it running
        p.kill()
        p.wait()


@pytest.mark.timeout(0.5)
def test_hangs_outside_the_host(clock):
    threading.Event().wait()


@pytest.mark.timeout(10)
def test_within_its_limit(clock):
    time.sleep(0.5)
    assert subprocess.run(["sleep", "0.5"]).returncode == 0
"""


def _run(observed, *args) -> dict:
    seen = observed(INNER, ["--timeout-method=signal", *args], passed=1, failed=3,
                    lines=["*Timeout (>3.0s) from pytest-timeout*",
                           "*Timeout (>0.5s) from pytest-timeout*"])
    assert len(seen) == 4, seen
    return {name: (start, elapsed, pids) for name, start, elapsed, pids in seen}


def test_the_limits_hold_natively(observed):
    seen = _run(observed)
    assert all(start > HOST_EPOCH + 20 * 365 * 86400 for start, _, _ in seen.values())


def test_under_simproc_a_limit_holds_in_virtual_time_and_in_real_time(observed):
    seen = _run(observed, "--simproc")
    assert all(HOST_EPOCH <= start < HOST_EPOCH + 60 for start, _, _ in seen.values())
    # stopped at the limit in the test's clock, less the real time the test spent
    # outside its host before (pytest's setup of the test; its reads cost it
    # microseconds)
    assert 1.5 < seen["test_sleeps_past_its_limit"][1] < 3.01
    _, elapsed, pids = seen["test_waits_past_its_limit_for_a_program"]
    assert 1.5 < elapsed < 3.01 and pids == [1000]
    assert 1.0 <= seen["test_within_its_limit"][1] < 1.01
    # the native wait moved nothing in the host: the real timer ended it
    assert seen["test_hangs_outside_the_host"][1] < 0.01


@pytest.mark.parametrize("func_only", [False, True])  # armed before or in the session
def test_under_simproc_the_thread_method_ends_the_run_at_the_virtual_limit(pytester,
                                                                          func_only):
    pytester.makepyfile(test_inner=f"""
        import time
        import pytest

        @pytest.mark.timeout(3, func_only={func_only})
        def test_sleeps_past_its_limit():
            print("START", time.time())
            time.sleep(3600)
            print("NOT REACHED")
    """)
    args = ["-p", "no:cacheprovider", "-s", "--timeout-method=thread", "--simproc"]
    result = pytester.runpytest_subprocess(*args, timeout=60)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*START 9466848*", "*+ Timeout +*",
                                 "*test_sleeps_past_its_limit*"])
    assert "NOT REACHED" not in result.stdout.str()


def test_under_simproc_a_limit_ends_with_its_test_when_the_host_lives_on(pytester):
    # a module's daemon keeps the host for the next test, which has no limit
    pytester.makepyfile(test_inner="""
        import subprocess
        import time
        import pytest

        @pytest.fixture(scope="module")
        def daemon():
            p = subprocess.Popen(["sleep", "3600"])
            yield p
            p.kill()
            p.wait()

        @pytest.mark.timeout(10)
        def test_within_its_limit(daemon):
            time.sleep(0.5)

        def test_without_a_limit(daemon):
            time.sleep(20)
            print("PIDS", daemon.pid, time.time())
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--simproc",
                                           timeout=60)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*PIDS 1000 9466848*"])


def test_under_simproc_the_runs_limit_stays_a_guard_against_hangs(pytester):
    # --timeout for the whole run: a virtual hour is no hang (this package's own
    # inner suites run so); a native hang is still caught
    pytester.makepyfile(test_inner="""
        import threading
        import time

        def test_an_hour():
            start = time.time()
            time.sleep(3600)
            print("SLEPT", time.time() - start)

        def test_hangs_outside_the_host():
            threading.Event().wait()
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "--simproc",
                                           "--timeout=2", timeout=60)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*SLEPT 3600.0*", "*Timeout (>2.0s) from pytest-timeout*"])


# A program making many calls its host answers (its parent's pid): natively 0.1-0.2 s,
# traced 15-40 us a call (the tracer's stops), far above the 1 s limit; its virtual
# time stays small. Run by the test's thread, or by a thread the test joins (a helper
# thread runs the host then). The last test never ends, between its programs' runs.
TRACED = r"""
import json
import os
import subprocess
import sys
import threading
import time

import pytest

ASKS_ITS_PARENT = (
    "import os\n"
    "for i in range(100000):\n"
    "    ppid = os.getppid()\n"
    "print(ppid)\n"
)


@pytest.mark.timeout(1)
def test_a_program_that_makes_many_calls():
    start = time.time()
    p = subprocess.Popen([sys.executable, "-c", ASKS_ITS_PARENT], stdout=subprocess.PIPE)
    out, _ = p.communicate()
    assert p.returncode == 0 and int(out) > 0
    print("OBSERVED", json.dumps([p.pid, start, time.time() - start]))


@pytest.mark.timeout(1)
def test_a_thread_runs_the_program_while_the_test_joins_it():
    start = time.time()
    seen = []

    def work():
        p = subprocess.Popen([sys.executable, "-c", ASKS_ITS_PARENT], stdout=subprocess.PIPE)
        seen.append((p.pid, p.communicate()[0]))

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    [(pid, out)] = seen
    assert int(out) > 0
    print("OBSERVED", json.dumps([pid, start, time.time() - start]))


@pytest.mark.timeout(1)
def test_computes_on_between_its_programs():
    start = time.time()
    runs = 0
    try:
        while True:
            subprocess.run(["true"], check=True)
            runs += 1
            sum(range(100000))
    finally:
        print("OBSERVED", json.dumps([runs, start, time.time() - start]))
"""


@pytest.mark.parametrize("simproc", [False, True], ids=["native", "simproc"])
def test_a_limit_counts_the_programs_time_not_the_tracers(observed, simproc):
    args = ["--timeout-method=signal", "--simproc"] if simproc else ["--timeout-method=signal"]
    *programs, (runs, _, ran) = observed(
        TRACED, args, passed=2, failed=1, lines=["*Timeout (>1.0s) from pytest-timeout*"])
    assert runs > 0 and len(programs) == 2
    if simproc:
        # in the host: its pids, its clock; the many calls took little of it
        assert all(pid >= 1000 and HOST_EPOCH <= start < HOST_EPOCH + 60 and elapsed < 1
                   for pid, start, elapsed in programs)
        # the loop ran past its limit: its programs' time and its own, real
        assert ran > 0


def test_under_simproc_the_thread_method_counts_the_programs_time_too(pytester):
    # its timer thread ends the process at the limit: the test that never ends, last
    pytester.makepyfile(test_inner=TRACED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s", "-v",
                                           "--timeout-method=thread", "--simproc",
                                           timeout=120)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*test_a_program_that_makes_many_calls OBSERVED*", "PASSED",
                                 "*test_a_thread_runs_the_program_while_the_test_joins_it "
                                 "OBSERVED*", "PASSED",
                                 "*test_computes_on_between_its_programs*+ Timeout +*"])
    payloads = [json.loads(line.split("OBSERVED ", 1)[1])
                for line in result.outlines if "OBSERVED " in line]
    assert all(pid >= 1000 and HOST_EPOCH <= start < HOST_EPOCH + 60 and elapsed < 1
               for pid, start, elapsed in payloads[:2])


# execnet's test_safe_terminate_does_not_hang_when_kill_blocks: a worker thread's
# shutdown sleeps 10 s, the test waits for it natively (a C-level timed wait, here a
# SimpleQueue's get) for 0.5 s and gives up, under a 5 s limit. Under --simproc the
# worker's sleep is virtual and the worker runs the host to its end while the test's
# thread sleeps in that wait: the limit ran out in virtual time there, though the wait
# ends by itself in real time, as natively.
GIVES_UP = r"""
import json
import queue
import signal
import subprocess
import threading
import time

import pytest


@pytest.mark.timeout(5)
def test_gives_up_on_a_worker_that_shuts_down_slowly():
    start = time.time()
    server = subprocess.Popen(["sleep", "30"])
    replies = queue.SimpleQueue()

    def shut_down():
        time.sleep(10)

    threading.Thread(target=shut_down, daemon=True).start()
    with pytest.raises(queue.Empty):
        replies.get(timeout=0.5)
    server.kill()
    assert server.wait() == -signal.SIGKILL
    print("OBSERVED", json.dumps([server.pid, start, time.time() - start]))
"""


@pytest.mark.parametrize("simproc", [False, True], ids=["native", "simproc"])
def test_a_timed_native_wait_of_the_test_counts_real_time(observed, simproc):
    args = ["--timeout-method=signal", "--simproc"] if simproc else ["--timeout-method=signal"]
    [(pid, start, elapsed)] = observed(GIVES_UP, args, passed=1)
    if simproc:   # in the host: its pid, its clock
        assert pid >= 1000 and HOST_EPOCH <= start < HOST_EPOCH + 60, (pid, start)
    else:
        assert 0.5 <= elapsed < 5
