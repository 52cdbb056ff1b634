"""Resource limits (getrlimit(2)/setrlimit(2)/prlimit64): numbers, defaults, parsing.

A simulated host must report the same limits on every machine, so the defaults are a
fixed table (modelled on the kernel's boot-time INIT_RLIMITS) instead of the host's own.
Limits are ``(soft, hard)`` tuples of unsigned 64-bit values; ``RLIM_INFINITY`` is
``2**64 - 1`` as in the kernel ABI.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Mapping

from .errors import KernelError

__all__ = [
    "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE",
    "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",
    "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
    "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIM_NLIMITS", "RLIM_INFINITY",
    "RESOURCE_NAMES", "DEFAULT_RLIMITS", "resource_number", "resource_name",
    "parse_rlimit_spec", "normalize_rlimits", "check_setrlimit", "cpu_limit_signal",
    "NATIVELY_ENFORCED", "native_rlimits",
]

# getrlimit(2), x86_64 numbering.
RLIMIT_CPU = 0
RLIMIT_FSIZE = 1
RLIMIT_DATA = 2
RLIMIT_STACK = 3
RLIMIT_CORE = 4
RLIMIT_RSS = 5
RLIMIT_NPROC = 6
RLIMIT_NOFILE = 7
RLIMIT_MEMLOCK = 8
RLIMIT_AS = 9
RLIMIT_LOCKS = 10
RLIMIT_SIGPENDING = 11
RLIMIT_MSGQUEUE = 12
RLIMIT_NICE = 13
RLIMIT_RTPRIO = 14
RLIMIT_RTTIME = 15
RLIM_NLIMITS = 16

RLIM_INFINITY = 2**64 - 1

#: resource number -> short name ("NOFILE"), in numeric order.
RESOURCE_NAMES = {
    RLIMIT_CPU: "CPU", RLIMIT_FSIZE: "FSIZE", RLIMIT_DATA: "DATA", RLIMIT_STACK: "STACK",
    RLIMIT_CORE: "CORE", RLIMIT_RSS: "RSS", RLIMIT_NPROC: "NPROC", RLIMIT_NOFILE: "NOFILE",
    RLIMIT_MEMLOCK: "MEMLOCK", RLIMIT_AS: "AS", RLIMIT_LOCKS: "LOCKS",
    RLIMIT_SIGPENDING: "SIGPENDING", RLIMIT_MSGQUEUE: "MSGQUEUE", RLIMIT_NICE: "NICE",
    RLIMIT_RTPRIO: "RTPRIO", RLIMIT_RTTIME: "RTTIME",
}
_NUMBER_OF = {name: num for num, name in RESOURCE_NAMES.items()}

_INF = RLIM_INFINITY
# Deterministic defaults. Mostly the kernel's INIT_RLIMITS (asm-generic/resource.h):
# 8 MiB stack, no core files, NOFILE 1024/4096, 8 MiB MEMLOCK, 800 KiB MSGQUEUE.
# NPROC and SIGPENDING are computed from RAM by a real kernel (max_threads / 2); a fixed
# 65536 stands in for that so results do not depend on the machine.
DEFAULT_RLIMITS: dict[int, tuple[int, int]] = {
    RLIMIT_CPU: (_INF, _INF),
    RLIMIT_FSIZE: (_INF, _INF),
    RLIMIT_DATA: (_INF, _INF),
    RLIMIT_STACK: (8 * 1024 * 1024, _INF),
    RLIMIT_CORE: (0, _INF),
    RLIMIT_RSS: (_INF, _INF),
    RLIMIT_NPROC: (65536, 65536),
    RLIMIT_NOFILE: (1024, 4096),
    RLIMIT_MEMLOCK: (8 * 1024 * 1024, 8 * 1024 * 1024),
    RLIMIT_AS: (_INF, _INF),
    RLIMIT_LOCKS: (_INF, _INF),
    RLIMIT_SIGPENDING: (65536, 65536),
    RLIMIT_MSGQUEUE: (819200, 819200),
    RLIMIT_NICE: (0, 0),
    RLIMIT_RTPRIO: (0, 0),
    RLIMIT_RTTIME: (_INF, _INF),
}

_INFINITY_WORDS = {"unlimited", "infinity", "inf"}

#: Limits the native process carries as well, so that the real kernel enforces them
#: where only it can, exactly: NOFILE (EMFILE from every call that makes a descriptor)
#: and FSIZE (every call that grows a file writes up to the limit, then fails with
#: EFBIG and sends SIGXFSZ: setrlimit(2), write(2), truncate(2), fallocate(2)).
NATIVELY_ENFORCED = frozenset({RLIMIT_NOFILE, RLIMIT_FSIZE})


def native_rlimits(limits: Mapping[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """The limits a host's native process starts with: the natively enforced ones
    from ``limits``, and no core files (a host records a core dump, it writes none)."""
    native = {resource: limits[resource] for resource in sorted(NATIVELY_ENFORCED)}
    native[RLIMIT_CORE] = (0, 0)
    return native


def resource_name(resource: int) -> str:
    """``7 -> "RLIMIT_NOFILE"``."""
    return "RLIMIT_" + RESOURCE_NAMES[resource_number(resource)]


def resource_number(name: "int | str") -> int:
    """Accept ``7``, ``"7"``, ``"NOFILE"``, ``"RLIMIT_NOFILE"`` or ``"nofile"``."""
    if isinstance(name, bool):
        raise ValueError(f"unknown resource {name!r}")
    if isinstance(name, int):
        if 0 <= name < RLIM_NLIMITS:
            return int(name)
        raise ValueError(f"unknown resource {name!r} (numbers are 0..{RLIM_NLIMITS - 1})")
    if isinstance(name, str):
        text = name.strip().upper()
        if text.isdigit():
            return resource_number(int(text))
        if text.startswith("RLIMIT_"):
            text = text[len("RLIMIT_"):]
        if text in _NUMBER_OF:
            return _NUMBER_OF[text]
    known = ", ".join(RESOURCE_NAMES.values())
    raise ValueError(f"unknown resource {name!r} (known: {known})")


def _limit_value(value: object, context: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"bad limit value {value!r} in {context}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in _INFINITY_WORDS:
            return RLIM_INFINITY
        if not text.isdigit():
            raise ValueError(
                f"bad limit value {value!r} in {context} "
                "(expected a non-negative integer, 'unlimited' or 'infinity')"
            )
        number = int(text)
    else:
        raise ValueError(f"bad limit value {value!r} in {context}")
    if not 0 <= number <= RLIM_INFINITY:
        raise ValueError(f"limit value {number} out of range 0..2**64-1 in {context}")
    return number


def _limit_pair(value: object, context: str) -> tuple[int, int]:
    if isinstance(value, str) and ":" in value:
        soft_text, _, hard_text = value.partition(":")
        soft, hard = _limit_value(soft_text, context), _limit_value(hard_text, context)
    elif isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"expected (soft, hard) in {context}, got {value!r}")
        soft, hard = _limit_value(value[0], context), _limit_value(value[1], context)
    else:  # a single value sets both limits
        soft = hard = _limit_value(value, context)
    if soft > hard:
        raise ValueError(f"soft limit {soft} exceeds hard limit {hard} in {context}")
    return soft, hard


def parse_rlimit_spec(spec: str) -> tuple[int, tuple[int, int]]:
    """``"NOFILE=1024:4096" -> (7, (1024, 4096))``; ``"CORE=unlimited"`` sets both."""
    if not isinstance(spec, str) or "=" not in spec:
        raise ValueError(
            f"bad rlimit spec {spec!r} (expected RESOURCE=SOFT[:HARD], e.g. NOFILE=1024:4096)"
        )
    name, _, values = spec.partition("=")
    try:
        resource = resource_number(name)
    except ValueError as exc:
        raise ValueError(f"bad rlimit spec {spec!r}: {exc}") from None
    if not values.strip():
        raise ValueError(f"bad rlimit spec {spec!r}: missing value after '='")
    return resource, _limit_pair(values, f"rlimit spec {spec!r}")


def normalize_rlimits(
    mapping: "Mapping[object, object] | Iterable[str] | None",
) -> dict[int, tuple[int, int]]:
    """Normalize user-supplied limits to ``{resource: (soft, hard)}``.

    Keys may be any form ``resource_number`` accepts; values may be ``(soft, hard)``,
    a single value (soft = hard), or text ``"SOFT[:HARD]"``. An iterable of
    ``"RESOURCE=SOFT[:HARD]"`` specs (as given on a command line) is accepted too.
    """
    if mapping is None:
        return {}
    result: dict[int, tuple[int, int]] = {}
    if isinstance(mapping, Mapping):
        for key, value in mapping.items():
            resource = resource_number(key)  # type: ignore[arg-type]
            result[resource] = _limit_pair(value, f"limit for {key!r}")
        return result
    if isinstance(mapping, str):
        mapping = [mapping]
    elif isinstance(mapping, (bytes, bytearray)) or not isinstance(mapping, Iterable):
        raise TypeError(
            f"rlimits must be a mapping {{resource: limit}} or a list of "
            f"'RESOURCE=SOFT[:HARD]' strings, not {mapping!r:.60}"
        )
    for spec in mapping:
        if not isinstance(spec, str):
            raise TypeError(
                f"rlimits: each limit in the list must be a 'RESOURCE=SOFT[:HARD]' string, "
                f"got {spec!r:.60}"
            )
        resource, pair = parse_rlimit_spec(spec)
        result[resource] = pair
    return result


def check_setrlimit(
    old: tuple[int, int], new: tuple[int, int], privileged: bool = False
) -> None:
    """Validate a limit change the way setrlimit(2) does, raising ``KernelError``.

    setrlimit(2): EINVAL when the new soft limit exceeds the new hard limit; EPERM when
    an unprivileged process tries to raise its hard limit.
    """
    old_soft, old_hard = old
    new_soft, new_hard = new
    if new_soft > new_hard:
        raise KernelError(
            errno.EINVAL, f"soft limit {new_soft} exceeds hard limit {new_hard}"
        )
    if new_hard > old_hard and not privileged:
        raise KernelError(
            errno.EPERM, f"raising the hard limit from {old_hard} to {new_hard} needs privilege"
        )



_NSEC = 1_000_000_000
_SIGKILL, _SIGXCPU = 9, 24


def cpu_limit_signal(limit: tuple[int, int], cpu_ns: int,
                     xcpu_next_ns: int) -> "tuple[int, int] | None":
    """RLIMIT_CPU after the process's CPU time reached ``cpu_ns``: None, or (the signal
    to send, when the next SIGXCPU is due). getrlimit(2): SIGXCPU at the soft limit and
    every second after it, SIGKILL at the hard limit."""
    soft, hard = limit
    if soft >= RLIM_INFINITY and hard >= RLIM_INFINITY:
        return None
    if cpu_ns >= hard * _NSEC:
        return _SIGKILL, xcpu_next_ns
    if cpu_ns >= soft * _NSEC and cpu_ns >= xcpu_next_ns:
        return _SIGXCPU, (cpu_ns // _NSEC + 1) * _NSEC
    return None
