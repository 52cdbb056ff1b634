"""pytest-simproc: real Linux programs in a simulated host, in virtual time.

Public API: SimHost, SimProcess, the final states Exited / Signaled / Running, and the
errors users may catch.
"""
from .assertions import (Strace, StraceUnavailableError, assert_exited, assert_no_zombies,
                         assert_reaped, assert_signaled, assert_strace,
                         assert_strace_snapshot)
from .errors import (LeakError, ProgramNotFoundError, SimprocError, SimTimeoutExpired,
                     SpawnError, WatchdogError)
from .host import SimHost, SimProcess
from .kernel.states import Exited, Running, Signaled

__all__ = ["SimHost", "SimProcess", "Exited", "Signaled", "Running", "SimprocError",
           "ProgramNotFoundError", "SpawnError", "WatchdogError", "SimTimeoutExpired",
           "LeakError", "Strace", "StraceUnavailableError", "assert_exited",
           "assert_signaled", "assert_reaped", "assert_no_zombies", "assert_strace",
           "assert_strace_snapshot"]
