"""Calls that name another process or thread: rt_tgsigqueueinfo(2) to a thread other
than the main one (ESRCH before), kcmp(2) and pidfd_getfd(2) between a host's
processes (ENOSYS before), and the scheduling and robust-list calls aimed at the
host's init, which has no native task (ESRCH before; kernel/sched.py)."""
from __future__ import annotations

import os

import pytest

from .conftest import same_as_native

EXPECTED = b"""\
rt_tgsigqueueinfo(own thread) = 0 
thread got SIGUSR1 with its pointer: 1
rt_tgsigqueueinfo(other tgid, own tid) = -1 ESRCH
kcmp(self, child, KCMP_FILE, same inherited fd) = 0
kcmp(self, child, KCMP_FILE, other fd) differs: 1
kcmp(self, child, KCMP_VM) differs: 1
kcmp(self, no such pid) = -1 ESRCH
pidfd_getfd(child, held[1]) gave a descriptor: 1
kcmp(self, self, KCMP_FILE, the copy, held[1]) = 0
pidfd_getfd(child, flags 1) = -1 EINVAL
pidfd_getfd(child, fd 999) = -1 EBADF
sched_getparam(1) = 0
init's priority 0
sched_setscheduler(1, 99) = -1 EINVAL
sched_setscheduler(1, OTHER, bad param) = -1 EFAULT
sched_setscheduler(1, OTHER, NULL) = -1 EINVAL
sched_setscheduler(1, OTHER, priority 1) = -1 EINVAL
sched_setparam(1, priority 1) = -1 EINVAL
sched_setscheduler(1, FIFO, priority 100) = -1 EINVAL
nobody: get_robust_list(1) = -1 EPERM
nobody: sched_setscheduler(1, OTHER) = -1 EPERM
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="the unprivileged half needs setuid")
def test_calls_naming_threads_processes_and_init(build):
    report = same_as_native([build("pid_targets")], EXPECTED)
    assert report["host"]["unsupported_syscalls"] == []
