import signal

import pytest

from pytest_simproc.kernel import ProcessTable


@pytest.fixture
def table():
    return ProcessTable()


@pytest.fixture
def stopped_job(table):
    """(shell, job, worker): a session leader whose job, a group of its own, has a
    stopped member; the shell is the group's only link outside it, so its exit orphans
    the group (exit(3))."""
    shell = table.spawn(["sh"], "sh", 0)
    table.setsid(shell.pid)
    job = table.fork(shell.pid, 0)
    table.setpgid(shell.pid, job.pid, job.pid)
    worker = table.fork(job.pid, 0)
    table.stop(worker.pid, signal.SIGTSTP)
    return shell, job, worker
