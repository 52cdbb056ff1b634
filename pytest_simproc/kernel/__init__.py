"""The simulated kernel: a pure-Python model of process identity, lifecycle and time.

Nothing in this package touches ptrace, native pids or I/O; the system-call layer maps
traced programs onto it. See docs/kernel-interface.md for the contract.
"""

from .clock import EventQueue, TimerHandle, VirtualClock
from .errors import KernelError
from .process import Process
from .rlimits import (
    DEFAULT_RLIMITS,
    RLIM_INFINITY,
    check_setrlimit,
    normalize_rlimits,
    parse_rlimit_spec,
    resource_name,
    resource_number,
)
from .signals import default_action, parse_signal, signal_name
from .states import (
    Exited,
    Running,
    Signaled,
    encode_wait_status,
    format_state,
    parse_final_state,
    state_to_text,
)
from .table import INIT_PID, ExitResult, ProcessTable
from .wait import WaitEvent, wait4, waitid

__all__ = [
    "KernelError",
    "Exited",
    "Signaled",
    "Running",
    "state_to_text",
    "format_state",
    "parse_final_state",
    "encode_wait_status",
    "signal_name",
    "parse_signal",
    "default_action",
    "Process",
    "ProcessTable",
    "ExitResult",
    "INIT_PID",
    "WaitEvent",
    "wait4",
    "waitid",
    "VirtualClock",
    "EventQueue",
    "TimerHandle",
    "DEFAULT_RLIMITS",
    "RLIM_INFINITY",
    "resource_number",
    "resource_name",
    "parse_rlimit_spec",
    "normalize_rlimits",
    "check_setrlimit",
]
