"""Final states of a simulated process: how it ended, or that it is still running.

Tests compare an expected final state with the observed one, so the value objects here
compare by value and have short, stable reprs; ``Signaled.core`` is deliberately left
out of equality because test authors rarely know whether a core would be dumped.
The text forms are what reports print and what the CLI's ``--expect`` accepts.
"""

from __future__ import annotations

import json
import operator
import signal as _signal
from dataclasses import dataclass, field
from typing import Union

from .signals import parse_signal, signal_name, to_signal_object

__all__ = [
    "Exited",
    "Signaled",
    "Running",
    "FinalState",
    "state_to_text",
    "format_state",
    "parse_final_state",
    "encode_wait_status",
]


@dataclass(frozen=True)
class Exited:
    """Normal termination with exit code 0..255 (exit(3) keeps only the low 8 bits)."""

    code: int

    def __post_init__(self) -> None:
        if isinstance(self.code, bool):
            raise TypeError(f"exit code must be an int, not {self.code!r}")
        code = operator.index(self.code)
        if not 0 <= code <= 255:
            raise ValueError(f"exit code {code} out of range 0..255")
        object.__setattr__(self, "code", code)

    def __repr__(self) -> str:
        return f"Exited({self.code})"


@dataclass(frozen=True)
class Signaled:
    """Termination by a signal; ``core`` records a core dump but is ignored by ``==``."""

    signal: Union[int, _signal.Signals]
    core: bool = field(default=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "signal", to_signal_object(parse_signal(self.signal)))
        object.__setattr__(self, "core", bool(self.core))

    def __repr__(self) -> str:
        name = signal_name(int(self.signal))
        return f"Signaled({name}, core=True)" if self.core else f"Signaled({name})"


class _RunningType:
    """Singleton type of ``Running``: still alive when the simulation stopped."""

    __slots__ = ()
    _instance: "_RunningType | None" = None

    def __new__(cls) -> "_RunningType":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "Running"

    def __reduce__(self) -> str:
        return "Running"  # pickles as the module-level singleton

    def __copy__(self) -> "_RunningType":
        return self

    def __deepcopy__(self, memo: dict) -> "_RunningType":
        return self


Running = _RunningType()

FinalState = Union[Exited, Signaled, _RunningType]

_ACCEPTED = (
    "accepted forms: Exited(N) / Signaled(SIG) / Running objects, "
    '{"exited": N}, {"signaled": "SIGNAME"}, "running", "exited:N", "signaled:SIGNAME"'
)


def state_to_text(state: FinalState) -> "dict | str":
    """JSON-ready form: ``{"exited": 0}``, ``{"signaled": "SIGTERM"}``, ``"running"``."""
    if isinstance(state, Exited):
        return {"exited": state.code}
    if isinstance(state, Signaled):
        return {"signaled": signal_name(int(state.signal))}
    if state is Running:
        return "running"
    raise TypeError(f"not a final state: {state!r}")


def format_state(state: FinalState) -> str:
    """One-line text for reports: ``{"exited": 0}``, ``{"signaled": "SIGSEGV"}``, ``"running"``."""
    return json.dumps(state_to_text(state))


def _bad(value: object, why: str = "") -> ValueError:
    detail = f" ({why})" if why else ""
    return ValueError(f"invalid final state {value!r}{detail}; {_ACCEPTED}")


def _from_pair(original: object, kind: str, arg: object) -> FinalState:
    kind = kind.strip().lower()
    try:
        if kind == "exited":
            if isinstance(arg, str):
                arg = int(arg.strip(), 10)
            if isinstance(arg, bool) or not isinstance(arg, int):
                raise ValueError("exit code must be an integer")
            return Exited(arg)
        if kind == "signaled":
            return Signaled(arg)
    except (ValueError, TypeError) as exc:
        raise _bad(original, str(exc)) from None
    raise _bad(original)


def parse_final_state(value: object) -> FinalState:
    """Accept a state object or any of its text forms; raise ValueError otherwise."""
    if isinstance(value, (Exited, Signaled)) or value is Running:
        return value  # type: ignore[return-value]
    if isinstance(value, dict):
        if len(value) != 1:
            raise _bad(value, "expected exactly one key")
        ((kind, arg),) = value.items()
        if not isinstance(kind, str):
            raise _bad(value)
        return _from_pair(value, kind, arg)
    if not isinstance(value, str):
        raise _bad(value)
    text = value.strip()
    if text.startswith(("{", '"')):  # the JSON produced by format_state()
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError:
            raise _bad(value, "not valid JSON") from None
        if decoded == value:  # a JSON string that decodes to itself cannot recurse
            raise _bad(value)
        try:
            return parse_final_state(decoded)
        except ValueError:
            raise _bad(value) from None
    if text.lower() == "running":
        return Running
    kind, sep, arg = text.partition(":")
    if not sep:
        raise _bad(value)
    return _from_pair(value, kind, arg.strip())


def encode_wait_status(state: FinalState) -> int:
    """wait(2) status word: exited ``code << 8``; signaled ``sig`` (``| 0x80`` if core)."""
    if isinstance(state, Exited):
        return (state.code & 0xFF) << 8
    if isinstance(state, Signaled):
        return int(state.signal) | (0x80 if state.core else 0)
    raise ValueError(f"no wait status for {state!r}: only Exited and Signaled end a process")
