"""Signal names and default actions (signal(7)); delivery lives elsewhere.

Names are produced from a fixed table rather than from ``signal.Signals`` so that the
text in reports does not depend on the Python version (3.10 lacks ``SIGSTKFLT``, and
aliases such as ``SIGIOT``/``SIGPOLL`` must never win over the canonical names).

Real-time signals are named relative to the C library's ``SIGRTMIN`` (34 with glibc,
which reserves 32 and 33 for its own use), because that is the value a program — and a
test author using ``signal.SIGRTMIN`` — means by "SIGRTMIN+n". Signals 32 and 33 are
named ``SIG32``/``SIG33``.
"""

from __future__ import annotations

import re
import signal as _signal

__all__ = [
    "NSIG",
    "SIGRTMIN",
    "SIGRTMAX",
    "signal_name",
    "parse_signal",
    "default_action",
    "is_valid_signal",
    "is_realtime",
]

#: Highest signal number plus one (the kernel's _NSIG is 64, numbered 1..64).
NSIG = 65
#: glibc's SIGRTMIN / SIGRTMAX as seen by programs (signal(7): "Real-time signals").
SIGRTMIN = 34
SIGRTMAX = 64

_STANDARD_NAMES = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
    7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
    13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
    18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU",
    23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF",
    28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}
# Accepted alternative spellings (signal(7) lists them as synonyms on x86_64).
_ALIASES = {"SIGIOT": 6, "SIGCLD": 17, "SIGPOLL": 29}
_BY_NAME = {name: num for num, name in _STANDARD_NAMES.items()}
_BY_NAME.update(_ALIASES)

# signal(7), "Standard signals": the default disposition of each signal.
_DEFAULT_ACTIONS = {
    "core": {3, 4, 5, 6, 7, 8, 11, 24, 25, 31},  # QUIT ILL TRAP ABRT BUS FPE SEGV XCPU XFSZ SYS
    "stop": {19, 20, 21, 22},  # STOP TSTP TTIN TTOU
    "cont": {18},  # CONT
    "ign": {17, 23, 28},  # CHLD URG WINCH
}
_ACTION_OF = {sig: action for action, sigs in _DEFAULT_ACTIONS.items() for sig in sigs}

_RT_RE = re.compile(r"^(?:SIG)?RT(MIN|MAX)(?:([+-])(\d+))?$")
_NUM_RE = re.compile(r"^(?:SIG)?(\d+)$")


def is_valid_signal(sig: int) -> bool:
    """True for 1..64, the signal numbers Linux accepts."""
    return isinstance(sig, int) and 1 <= sig < NSIG


def is_realtime(sig: int) -> bool:
    """True for signals 32..64 (queued, no fixed meaning)."""
    return 32 <= sig < NSIG


def signal_name(sig: int) -> str:
    """``15 -> "SIGTERM"``, ``37 -> "SIGRTMIN+3"``; raises ValueError outside 1..64."""
    sig = int(sig)
    if sig in _STANDARD_NAMES:
        return _STANDARD_NAMES[sig]
    if sig == SIGRTMIN:
        return "SIGRTMIN"
    if sig == SIGRTMAX:
        return "SIGRTMAX"
    if SIGRTMIN < sig < SIGRTMAX:
        return f"SIGRTMIN+{sig - SIGRTMIN}"
    if 32 <= sig < SIGRTMIN:
        return f"SIG{sig}"
    raise ValueError(f"signal number {sig} out of range 1..{NSIG - 1}")


def _unknown(value: object) -> ValueError:
    return ValueError(
        f"unknown signal name {value!r} (expected a number 1..{NSIG - 1}, a name such as "
        f"'SIGTERM', 'TERM' or 'sigterm', or 'SIGRTMIN+n' / 'SIGRTMAX-n')"
    )


def parse_signal(value: object) -> int:
    """Turn an int, ``signal.Signals`` or a name (``"SIGTERM"``, ``"term"``,
    ``"SIGRTMIN+2"``) into a signal number, raising ValueError naming the bad input."""
    if isinstance(value, bool):
        raise _unknown(value)
    if isinstance(value, int):  # includes signal.Signals (an IntEnum)
        if not is_valid_signal(int(value)):
            raise ValueError(f"signal number {int(value)} out of range 1..{NSIG - 1}")
        return int(value)
    if not isinstance(value, str):
        raise _unknown(value)
    text = value.strip().upper()
    if not text:
        raise _unknown(value)
    match = _NUM_RE.match(text)
    if match:
        num = int(match.group(1))
        if not is_valid_signal(num):
            raise _unknown(value)
        return num
    match = _RT_RE.match(text)
    if match:
        base = SIGRTMIN if match.group(1) == "MIN" else SIGRTMAX
        sign, offset = match.group(2), match.group(3)
        if sign is None:
            return base
        # Only SIGRTMIN+n and SIGRTMAX-n are meaningful spellings.
        if (base == SIGRTMIN) != (sign == "+"):
            raise _unknown(value)
        num = base + int(offset) if sign == "+" else base - int(offset)
        if not SIGRTMIN <= num <= SIGRTMAX:
            raise _unknown(value)
        return num
    name = text if text.startswith("SIG") else "SIG" + text
    if name in _BY_NAME:
        return _BY_NAME[name]
    raise _unknown(value)


def to_signal_object(sig: int) -> "int | _signal.Signals":
    """``signal.Signals`` for standard signals, a plain int for real-time ones."""
    sig = parse_signal(sig)
    if sig < 32:
        try:
            return _signal.Signals(sig)
        except ValueError:  # e.g. SIGSTKFLT on Python < 3.11
            return sig
    return sig


def default_action(sig: object) -> str:
    """signal(7) default disposition: ``"term" | "core" | "stop" | "cont" | "ign"``.

    Real-time signals (and 32/33) terminate by default.
    """
    return _ACTION_OF.get(parse_signal(sig), "term")
