"""What a thread's or process's end does (kernel.exits), without a tracee."""
import signal

import pytest

from pytest_simproc.kernel import Exited, Signaled
from pytest_simproc.kernel import delivery as d
from pytest_simproc.kernel import exits
from pytest_simproc.kernel.sigstate import SA_NOCLDWAIT, SI_KERNEL, SigAction, \
    SignalDispositions


def test_exit_ends_only_the_thread_while_others_live(table):
    proc = table.spawn(["p"], "p", 0)
    assert exits.thread_end(proc, called_exit=True, others_live=True) == exits.EndThread()
    assert exits.thread_end(proc, called_exit=True, others_live=False) == exits.EndProcess()
    # exit_group(2) or a fatal signal: the process, whatever other threads there are
    assert exits.thread_end(proc, called_exit=False, others_live=True) == exits.EndProcess()
    table.stop(proc.pid, signal.SIGSTOP)
    assert exits.thread_end(proc, called_exit=False, others_live=False) == exits.EndProcess()


def test_a_thread_of_an_ended_process_ends_nothing_more(table):
    parent = table.spawn(["p"], "p", 0)
    proc = table.fork(parent.pid, 0)
    table.exit(proc.pid, Exited(0), 1)
    assert exits.thread_end(proc, called_exit=True, others_live=True) is None
    assert exits.thread_end(proc, called_exit=False, others_live=False) is None


@pytest.mark.parametrize("action, reaped", [
    (SigAction(), False), (SigAction(handler=1), True),
    (SigAction(handler=0x401000, flags=SA_NOCLDWAIT), True),
    (SigAction(handler=0x401000), False),
])
def test_parent_ignoring_sigchld_reaps_at_exit(action, reaped):
    assert exits.reaped_at_exit(1000, SignalDispositions({17: action})) is reaped
    # init reaps in the process table; an unknown parent reaps nothing
    assert exits.reaped_at_exit(1, SignalDispositions({17: action})) is False
    assert exits.reaped_at_exit(1000, None) is False


def test_exit_sends_exit_signal_then_pdeath_signals(table):
    parent = table.spawn(["p"], "p", 0)
    child = table.fork(parent.pid, 0)
    grandchild = table.fork(child.pid, 0)
    table.set_pdeathsig(grandchild.pid, signal.SIGTERM)
    state = Signaled(signal.SIGSEGV, core=True)
    result = table.exit(child.pid, state, 1)
    assert exits.exit_signals(table, result, state, 17) == [
        d.Send(parent.pid, 17, d.sigchld_info(17, d.CLD_DUMPED, child.pid, 11)),
        d.Send(grandchild.pid, 15, d.kill_info(15, 0, child.pid)),
    ]


def test_no_exit_signal_to_init_or_when_clone_asked_for_none(table):
    proc = table.spawn(["p"], "p", 0)
    result = table.exit(proc.pid, Exited(0), 1)
    assert exits.exit_signals(table, result, Exited(0), 17) == []
    child = table.fork(table.spawn(["q"], "q", 0).pid, 0)
    assert exits.exit_signals(table, table.exit(child.pid, Exited(0), 1), Exited(0), 0) == []


def test_orphaned_group_gets_sighup_then_sigcont(table, stopped_job):
    shell, job, worker = stopped_job
    result = table.exit(shell.pid, Exited(0), 1)
    hup, cont = d.kill_info(1, SI_KERNEL, 0), d.kill_info(18, SI_KERNEL, 0)
    assert exits.exit_signals(table, result, Exited(0), 17) == [
        d.Send(job.pid, 1, hup), d.Send(worker.pid, 1, hup),
        d.Send(job.pid, 18, cont), d.Send(worker.pid, 18, cont)]
