"""Errors users see. Each names the problem and, where there is one, the fix."""
from __future__ import annotations

import subprocess


class SimprocError(Exception):
    """Base class of every error pytest-simproc raises."""


class ProgramNotFoundError(SimprocError, FileNotFoundError):
    """The program to spawn does not exist or is not executable."""


class SpawnError(SimprocError):
    """The program exists but could not be started."""


class WatchdogError(SimprocError):
    """A process ran too long in real time without a system call the host sees."""


class SimTimeoutExpired(SimprocError, subprocess.TimeoutExpired):
    """``SimProcess.wait(timeout)`` ran out of virtual time."""

    def __init__(self, argv, timeout):
        subprocess.TimeoutExpired.__init__(self, argv, timeout)

    def __str__(self):
        return (f"process {self.cmd!r} still running after {self.timeout} virtual "
                f"seconds")


class LeakError(SimprocError):
    """Native processes of a host survived its shutdown."""


class HostClosedError(SimprocError):
    """The host was used after it was closed."""
