"""libuv's clock under drop-in mode (dropin/uvwait.py's _Clock), with no tracee.

One monotonic clock serves every uvloop loop of the process: in the test's thread during
a session it is the host's virtual time, elsewhere the machine's plus what the test's
loops went ahead of it. Whatever the order of sessions, machine time, virtual time and
readings from the test's thread and other threads, no thread ever sees it go back
(libuv's timers are absolute: a clock that went back would hold a loop's timers for
that long), and within a session the test's thread sees exactly the virtual time that
passed, where each of its reads costs a microsecond (as its Python reads do).
"""
from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_simproc.dropin import uvwait
from pytest_simproc.dropin.clock import READ_COST_NS


class _Session:
    """The session's clock: each read by the test's thread costs it READ_COST_NS, which
    the host catches up with when it next runs (``run``)."""

    def __init__(self, now_ns: int):
        self.now_ns = now_ns
        self.reads = 0
        self.shown = None  # what the last read showed
        self._closed = False

    def _read_ns(self) -> int:
        self.shown = self.now_ns + self.reads * READ_COST_NS
        self.reads += 1
        return self.shown

    def run(self, ns: int) -> int:
        self.now_ns += self.reads * READ_COST_NS + ns
        self.reads = 0
        return self.now_ns


_STEPS = st.lists(st.tuples(
    st.sampled_from(["machine", "virtual", "start", "end", "test reads", "other reads"]),
    st.integers(0, 10**10)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(_STEPS)
# the machine's clock ran ahead of the virtual one during a session: another thread's
# loop, which read the machine's meanwhile, must not go back when the session ends
@example([("start", 0), ("test reads", 0), ("machine", 10**9), ("other reads", 0),
          ("end", 0), ("other reads", 0)])
def test_libuvs_clock_never_goes_back(steps):
    class Clock(uvwait._Clock):  # a fresh clock: no state of the process's own
        offset, session, base, last = 0, None, (0, 0), 0

    machine, virtual = [10**12], [946684800 * 10**9]
    active = [None]
    reading_thread = ["test"]

    def test_thread_session():
        session = active[0]
        return session if reading_thread[0] == "test" and session is not None else None

    def read(thread: str) -> int:
        reading_thread[0] = thread
        return Clock.now(machine[0])

    saved = uvwait._test_thread_session, uvwait.active_session
    uvwait._test_thread_session = test_thread_session
    uvwait.active_session = lambda: active[0]
    try:
        last = {"test": 0, "other": 0}
        session_start = None
        test_read = [-1]
        for step, amount in steps:
            if step == "machine":
                machine[0] += amount
            elif step == "virtual":
                if active[0] is not None:
                    virtual[0] = active[0].run(amount)
                else:
                    virtual[0] += amount
            elif step == "start" and active[0] is None:
                active[0] = _Session(virtual[0])
                session_start, test_read[0] = None, -1
            elif step == "end" and active[0] is not None:
                active[0]._closed = True
                active[0] = None
            elif step.endswith("reads"):
                thread = step.split()[0]
                now = read(thread)
                assert now >= last[thread], (step, now, last)
                last[thread] = now
                if thread == "test" and active[0] is not None:
                    shown = active[0].shown
                    if session_start is None:
                        session_start = (now, shown)
                    # exactly the virtual time since the session's first reading, its
                    # reads' cost included: two readings in a session never agree
                    assert now - session_start[0] == shown - session_start[1]
                    assert now > test_read[0]
                    test_read[0] = now
    finally:
        uvwait._test_thread_session, uvwait.active_session = saved
