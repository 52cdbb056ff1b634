"""SimHost's options, checked before anything is created.

A bad option must fail at once, naming itself, whether it comes from ``SimHost(...)``,
the ``simproc`` marker (checked at collection) or ``simproc run``'s command line: one
table of checks serves all three (``validate_host_options``).
"""
from __future__ import annotations

import os
import time as _time

from ..kernel.rlimits import normalize_rlimits
from ..kernel.signals import parse_signal

NSEC = 1_000_000_000
DEFAULT_START_TIME = 946684800  # 2000-01-01T00:00:00Z, as Shadow

# Virtual times are signed 64-bit nanosecond counts: with start_time and every duration
# at most 2**62 ns (about 146 years), start_time + stop_time still fits (and a time_t).
MAX_SECONDS = 2**62 // NSEC
HOST_NAME_MAX = 64  # bytes, gethostname(2)


def _short(value, limit: int = 60) -> str:
    """repr(value), truncated for error messages."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 -- a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _seconds(name: str, value, *, allow_zero: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {_short(value)}")
    if value != value or value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} number of seconds, not {_short(value)}")
    if value > MAX_SECONDS:
        raise ValueError(f"{name} must be finite and at most {MAX_SECONDS} seconds "
                         f"(about 146 years), not {_short(value)}")
    return value


def _check_start_time(value) -> float:
    if isinstance(value, str):  # "now": files written so far are in the host's past
        if value != "now":
            raise ValueError(f"start_time must be a number of seconds or 'now', "
                             f"not {_short(value)}")
        return float(int(_time.time()) + 1)  # the next whole second
    return _seconds("start_time", value)


def _check_hostname(hostname) -> str:
    if not isinstance(hostname, str):
        raise TypeError(f"hostname must be a str, not {_short(hostname)}")
    if (not hostname or "/" in hostname or not hostname.isprintable()
            or len(hostname.encode()) > HOST_NAME_MAX):
        raise ValueError(f"hostname must be 1 to {HOST_NAME_MAX} printable characters "
                         f"without '/', not {_short(hostname)}")
    return hostname


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, not {_short(seed)}")
    return seed


def _check_strace(strace) -> str:
    if not isinstance(strace, str):
        raise TypeError(f"strace must be 'off', 'standard' or 'deterministic', "
                        f"not {_short(strace)}")
    if strace not in ("off", "standard", "deterministic"):
        raise ValueError(f"strace must be 'off', 'standard' or 'deterministic', "
                         f"not {_short(strace)}")
    return strace


def _check_path(name: str, value) -> str:
    """A str, bytes or os.PathLike path without NUL, as a str."""
    if not isinstance(value, (str, bytes, os.PathLike)):
        raise TypeError(f"{name} must be a path (str, bytes or os.PathLike), "
                        f"not {_short(value)}")
    try:
        path = os.fsdecode(os.fspath(value))
    except TypeError:
        raise TypeError(f"{name} must be a path (str, bytes or os.PathLike), "
                        f"not {_short(value)}") from None
    if "\0" in path:
        raise ValueError(f"{name} must not contain a NUL byte: {_short(path)}")
    return path


def _check_data_dir(data_dir) -> "str | None":
    if data_dir is None:
        return None
    path = _check_path("data_dir", data_dir)
    if not path:
        raise ValueError("data_dir must be a directory path (or None), not ''")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"data_dir {_short(path)} exists and is not a directory")
    return path


def _check_network(network) -> str:
    if not isinstance(network, str):
        raise TypeError(f"network must be 'loopback' or 'outside', not {_short(network)}")
    if network not in ("loopback", "outside"):
        raise ValueError(f"network must be 'loopback' or 'outside', not {_short(network)}")
    return network


def _check_bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, not {_short(value)}")
    return value


def _check_inject(rules) -> tuple:
    """strace -e inject= expressions (inject.py), one string or a list of them."""
    from ..inject import parse_inject
    if isinstance(rules, str):
        rules = [rules]
    if not isinstance(rules, (list, tuple)):
        raise TypeError(f"inject must be a list of strace -e inject= expressions such as "
                        f"'write:error=ENOSPC:when=2', not {_short(rules)}")
    return tuple(parse_inject(rule) for rule in rules)


def _check_rlimits(rlimits) -> dict:
    return normalize_rlimits(rlimits)


_HOST_OPTION_CHECKS = {
    "hostname": _check_hostname,
    "start_time": _check_start_time,
    "stop_time": lambda v: _seconds("stop_time", v, allow_zero=False),
    "seed": _check_seed,
    "strace": _check_strace,
    "rlimits": _check_rlimits,
    "data_dir": _check_data_dir,
    "shutdown_signal": parse_signal,
    "shutdown_grace": lambda v: _seconds("shutdown_grace", v),
    "watchdog_timeout": lambda v: _seconds("watchdog_timeout", v, allow_zero=False),
    "cpu_time_per_syscall": lambda v: _seconds("cpu_time_per_syscall", v),
    "network": _check_network,
    "chaos": lambda v: _check_bool("chaos", v),
    "inject": _check_inject,
}


def validate_host_options(**options) -> dict:
    """Check SimHost options (any subset, by keyword) exactly as SimHost does, creating
    nothing; return them normalized (rlimits as {resource: (soft, hard)},
    shutdown_signal as a number, data_dir as a str). Raises TypeError / ValueError
    naming the option. The ``simproc`` marker is checked with it at collection time."""
    checked = {}
    for name, value in options.items():
        check = _HOST_OPTION_CHECKS.get(name)
        if check is None:
            raise TypeError(f"unknown SimHost option {name!r}; known: "
                            f"{', '.join(sorted(_HOST_OPTION_CHECKS))}")
        checked[name] = check(value)
    return checked
