"""strace-format logging of every simulated process's system calls.

``StraceLog`` is what the engine drives (see :mod:`.log`); :mod:`.format` holds the
decoders and can be used on its own.
"""
from .format import Call, quote, signame, siginfo_str, sigset_str, wait_status_str
from .log import MODES, StraceLog

__all__ = ["StraceLog", "MODES", "Call", "quote", "signame", "siginfo_str", "sigset_str",
           "wait_status_str"]
