"""Signal generation and delivery decisions (kernel.delivery), without a tracee."""
import errno
import signal
import struct

import pytest

from pytest_simproc.kernel import Exited, Signaled
from pytest_simproc.kernel import delivery as d
from pytest_simproc.kernel.rlimits import RLIM_INFINITY, cpu_limit_signal
from pytest_simproc.kernel.sigstate import (SA_NOCLDSTOP, SA_RESETHAND, SA_RESTART, SI_KERNEL,
                                            SI_QUEUE, SI_TKILL, PendingSignals, SigAction,
                                            SignalDispositions)

HANDLER = SigAction(handler=0x401000)
IGNORE = SigAction(handler=1)
DEFAULT = SigAction()


class Thread:
    def __init__(self, name, blocked=0):
        self.name, self.blocked = name, blocked

    def __repr__(self):
        return self.name


def blocked_of(thread):
    return thread.blocked


def mask(*sigs):
    bits = 0
    for sig in sigs:
        bits |= d.bit(sig)
    return bits


@pytest.fixture
def proc(table):
    return table.spawn(["prog"], "prog", 0)


# ---------------------------------------------------------------- siginfo
def test_kill_info_layout():
    signo, err, code, _pad, pid, uid = struct.unpack("<iiiiii", d.kill_info(15, SI_TKILL, 1002))
    assert (signo, err, code, pid, uid) == (15, 0, SI_TKILL, 1002, 0)


@pytest.mark.parametrize("state, code, status", [
    (Exited(3), d.CLD_EXITED, 3),
    (Signaled(signal.SIGTERM), d.CLD_KILLED, 15),
    (Signaled(signal.SIGSEGV, core=True), d.CLD_DUMPED, 11),
])
def test_sigchld_code_and_status_from_final_state(state, code, status):
    assert d.cld_code(state) == (code, status)
    info = d.sigchld_info(17, code, 1005, status)
    assert len(info) == 48
    assert struct.unpack_from("<iiiiiii", info) == (17, 0, code, 0, 1005, 0, status)


# ---------------------------------------------------------------- thread choice
def test_process_directed_signal_goes_to_first_thread_not_blocking_it():
    main, t1, t2 = Thread("main", mask(10)), Thread("t1", mask(10)), Thread("t2")
    assert d.pick_thread(10, [main, t1, t2], blocked_of) is t2
    assert d.pick_thread(12, [main, t1, t2], blocked_of) is main


def test_blocked_everywhere_stays_with_main_thread():
    main, t1 = Thread("main", mask(10)), Thread("t1", mask(10))
    assert d.pick_thread(10, [main, t1], blocked_of) is main


def test_single_thread_mask_is_not_read():
    def never(_thread):
        raise AssertionError("a lone thread takes the signal whatever it blocks")
    only = Thread("only")
    assert d.pick_thread(10, [only], never) is only
    assert d.pick_thread(10, [], never) is None


# ---------------------------------------------------------------- generation
def test_sigkill_terminates_whatever_the_disposition(proc):
    assert d.generate(proc, 9, HANDLER, [Thread("t")], blocked_of) == (d.Terminate(9),)


def test_dead_process_and_init_take_nothing(table, proc):
    t = Thread("t")
    assert d.generate(table.get(1), 15, DEFAULT, [t], blocked_of) == ()
    table.exit(proc.pid, Exited(0), 1)
    assert d.generate(proc, 15, DEFAULT, [t], blocked_of) == ()
    assert d.generate(None, 15, DEFAULT, [t], blocked_of) == ()


def test_no_live_thread_no_outcome(proc):
    assert d.generate(proc, 15, DEFAULT, [], blocked_of) == ()


def test_handled_signal_is_queued(proc):
    t = Thread("t")
    assert d.generate(proc, 10, HANDLER, [t], blocked_of) == (d.Queue(t),)


def test_terminating_default_is_queued_for_delivery(proc):
    t = Thread("t")
    assert d.generate(proc, 15, DEFAULT, [t], blocked_of) == (d.Queue(t),)


@pytest.mark.parametrize("sig, action", [(10, IGNORE), (17, DEFAULT), (28, DEFAULT),
                                         (23, DEFAULT)])
def test_ignored_signal_is_discarded_unless_blocked(proc, sig, action):
    free, blocking = Thread("free"), Thread("blocking", mask(sig))
    assert d.generate(proc, sig, action, [free], blocked_of) == (d.Discard(free),)
    assert d.generate(proc, sig, action, [], blocked_of, thread=blocking) == (d.Queue(blocking),)


def test_sigcont_cancels_pending_stops_and_continues_a_stopped_process(table, proc):
    t = Thread("t")
    table.stop(proc.pid, signal.SIGTSTP)
    assert d.generate(proc, 18, DEFAULT, [t], blocked_of) == (
        d.CancelPending(t, d.STOP_SIGNALS), d.ContinueGroup(), d.Discard(t))
    table.cont(proc.pid)
    # running: nothing to continue; with a handler it is queued as well
    assert d.generate(proc, 18, HANDLER, [t], blocked_of) == (
        d.CancelPending(t, d.STOP_SIGNALS), d.Queue(t))


def test_sigstop_cancels_sigcont_and_stops_the_group_at_once(proc):
    t = Thread("t", mask(19))  # blocking SIGSTOP is impossible: it is not even read
    assert d.generate(proc, 19, DEFAULT, [t], blocked_of) == (
        d.CancelPending(t, frozenset({18})), d.StopGroup(19, t))


def test_other_stop_signals_cancel_sigcont_and_wait_for_delivery(proc):
    t = Thread("t")
    for sig in (20, 21, 22):
        assert d.generate(proc, sig, DEFAULT, [t], blocked_of) == (
            d.CancelPending(t, frozenset({18})), d.Queue(t))


def test_thread_directed_signal_ignores_the_choice(proc):
    main, other = Thread("main"), Thread("other", mask(10))
    assert d.generate(proc, 10, HANDLER, [main], blocked_of, thread=other) == (d.Queue(other),)


# ---------------------------------------------------------------- delivery
def pending_with(*items):
    pending = PendingSignals()
    for sig, info in items:
        pending.add(sig, info)
    return pending


def test_dequeue_lowest_first_skipping_blocked():
    disp = SignalDispositions({10: HANDLER, 12: HANDLER, 34: HANDLER})
    pending = pending_with((34, b"rt"), (12, b"usr2"), (10, b"usr1"))
    got = list(d.dequeue(pending, mask(12), disp))
    assert got == [(b"usr1", d.RunHandler(10, b"usr1", 0)), (b"rt", d.RunHandler(34, b"rt", 0))]
    assert pending.signals() == [12]


def test_realtime_signals_are_dequeued_one_instance_each_time():
    disp = SignalDispositions({40: HANDLER})
    pending = pending_with((40, b"a"), (40, b"b"))
    assert [info for info, _ in d.dequeue(pending, 0, disp)] == [b"a"]
    assert [info for info, _ in d.dequeue(pending, 0, disp)] == [b"b"]
    assert not pending


def test_deferred_siginfo_is_materialized_at_dequeue():
    class Late:
        def materialize(self):
            return b"now"
    pending = pending_with((14, Late()))
    assert list(d.dequeue(pending, 0, SignalDispositions({14: HANDLER}))) == [
        (b"now", d.RunHandler(14, b"now", 0))]


@pytest.mark.parametrize("sig, outcome", [
    (15, d.Terminate(15, False)), (11, d.Terminate(11, True)), (40, d.Terminate(40, False)),
    (20, d.StopGroup(20)), (17, d.Ignore(17, b"i")), (18, d.Ignore(18, b"i")),
])
def test_default_actions(sig, outcome):
    assert d.act_on(sig, b"i", SignalDispositions()) == outcome


def test_sig_ign_after_generation_drops_silently():
    assert d.act_on(10, b"i", SignalDispositions({10: IGNORE})) == d.Dropped(10)


def test_resethand_restores_default_as_the_handler_runs():
    disp = SignalDispositions({10: SigAction(0x401000, SA_RESETHAND | SA_RESTART)})
    assert d.act_on(10, b"i", disp) == d.RunHandler(10, b"i", SA_RESETHAND | SA_RESTART)
    assert disp.get(10) == DEFAULT
    assert d.act_on(10, b"i", disp) == d.Terminate(10, False)


# ---------------------------------------------------------------- SIGCHLD and exits
def test_stop_and_continue_notify_the_parent_unless_nocldstop():
    send = d.state_change_sigchld(1000, DEFAULT, 1001, d.CLD_STOPPED, 19)
    assert send == d.Send(1000, 17, d.sigchld_info(17, d.CLD_STOPPED, 1001, 19))
    assert d.state_change_sigchld(1000, SigAction(0x401000, SA_NOCLDSTOP), 1001,
                                  d.CLD_CONTINUED, 18) is None
    assert d.state_change_sigchld(1, DEFAULT, 1001, d.CLD_STOPPED, 19) is None


# ---------------------------------------------------------------- permission rules
def queued(code):
    return struct.pack("<iii", 0, 0, code) + bytes(116)


def test_sigqueueinfo_to_itself_with_any_code(table, proc):
    info = d.sigqueueinfo(table, proc.pid, proc.pid, None, 10, queued(SI_TKILL))
    assert info[:12] == struct.pack("<iii", 10, 0, SI_TKILL)


@pytest.mark.parametrize("code, result", [(SI_QUEUE, None), (0, -errno.EPERM),
                                          (SI_KERNEL, -errno.EPERM), (SI_TKILL, -errno.EPERM)])
def test_sigqueueinfo_to_another_process(table, proc, code, result):
    other = table.spawn(["o"], "o", 0)
    got = d.sigqueueinfo(table, other.pid, proc.pid, None, 10, queued(code))
    assert got == result if result is not None else isinstance(got, bytes)


def test_sigqueueinfo_no_such_process_or_thread(table, proc):
    assert d.sigqueueinfo(table, proc.pid, 4242, None, 10, queued(SI_QUEUE)) == -errno.ESRCH
    assert d.sigqueueinfo(table, proc.pid, proc.pid, 4242, 10, queued(SI_QUEUE)) == -errno.ESRCH


def test_tkill_rules(table, proc):
    assert d.tkill_check(table, None, 1003, proc.pid) is None
    assert d.tkill_check(table, proc.pid, 1003, proc.pid) is None
    assert d.tkill_check(table, proc.pid + 1, 1003, proc.pid) == -errno.ESRCH
    assert d.tkill_check(table, None, 4242, None) == -errno.ESRCH
    table.exit(table.fork(proc.pid, 0).pid, Exited(0), 1)  # a zombie: the signal is lost
    zombie = proc.children[0]
    assert d.tkill_check(table, None, zombie, None) == 0
    assert d.tkill_check(table, zombie, zombie, None) == 0
    assert d.tkill_check(table, proc.pid, zombie, None) == -errno.ESRCH


# ---------------------------------------------------------------- RLIMIT_CPU
S = 1_000_000_000


def test_cpu_limit_schedule():
    limit = (2, 4)
    assert cpu_limit_signal(limit, 2 * S - 1, 0) is None
    assert cpu_limit_signal(limit, 2 * S, 0) == (24, 3 * S)
    assert cpu_limit_signal(limit, 2 * S + 5, 3 * S) is None
    assert cpu_limit_signal(limit, 3 * S, 3 * S) == (24, 4 * S)
    assert cpu_limit_signal(limit, 4 * S, 4 * S) == (9, 4 * S)


def test_cpu_limit_unlimited_and_hard_only():
    assert cpu_limit_signal((RLIM_INFINITY, RLIM_INFINITY), 10**15, 0) is None
    assert cpu_limit_signal((RLIM_INFINITY, 1), S, 0) == (9, 0)
    assert cpu_limit_signal((1, RLIM_INFINITY), 10**15, 0)[0] == 24


def test_tgsigqueueinfo_names_a_thread_of_the_process(table, proc):
    # rt_tgsigqueueinfo(2): the thread must be one of tgid's, as for tgkill(2)
    info = d.sigqueueinfo(table, proc.pid, proc.pid, 1003, 10, queued(SI_QUEUE), proc.pid)
    assert info[:12] == struct.pack("<iii", 10, 0, SI_QUEUE)
    assert d.sigqueueinfo(table, proc.pid, proc.pid + 1, 1003, 10, queued(SI_QUEUE),
                          proc.pid) == -errno.ESRCH
    assert d.sigqueueinfo(table, proc.pid, proc.pid, 1003, 10, queued(SI_QUEUE),
                          None) == -errno.ESRCH


@pytest.mark.parametrize("sig, caught, ignored, sent", [
    (signal.SIGUSR1, 0, 0, True),        # not a stop signal: always
    (signal.SIGSTOP, ~0, ~0, False),     # cannot be caught or ignored: never
    (signal.SIGTSTP, 0, 0, False),       # default: it would stop the outsider
    (signal.SIGTSTP, d.bit(signal.SIGTSTP), 0, True),   # handled: does not stop
    (signal.SIGTTIN, 0, d.bit(signal.SIGTTIN), True),   # ignored
    (signal.SIGTTOU, d.bit(signal.SIGTSTP), 0, False),  # another one handled
])
def test_a_signal_reaches_the_outsider_unless_it_would_stop_it(sig, caught, ignored, sent):
    assert d.reaches_outsider(sig, caught, ignored) is sent
