"""The syscall table: which calls the filter traps and which function answers each.

Every call that touches process identity, signals, time, timers or resource limits must
be trapped even before it is emulated: run natively with a virtual pid as argument it
would reach some unrelated real process. Those not emulated yet are in UNSUPPORTED and
fail with ENOSYS, and the host's report names them.
"""
from __future__ import annotations

from ptrace.syscall.linux.x86_64 import SYSCALL_NAMES

# Numbers from 512 up are the x32 ABI's: the x86_64 numbers are below.
_NUMBERS = {name: nr for nr, name in SYSCALL_NAMES.items() if nr < 512}
# python-ptrace 0.9.9's table misses these.
_NUMBERS.update({"timerfd_create": 283, "pidfd_send_signal": 424, "pidfd_open": 434, "clone3": 435,
                 "pidfd_getfd": 438, "process_madvise": 440, "epoll_pwait2": 441,
                 "futex_waitv": 449, "process_mrelease": 448, "mount_setattr": 442,
                 "openat2": 437, "fchmodat2": 452})
_NAMES = {nr: name for name, nr in _NUMBERS.items()}

HANDLERS: dict[int, object] = {}

UNSUPPORTED = frozenset({
    # reaching into other processes
    "ptrace", "migrate_pages", "move_pages", "process_vm_readv", "process_vm_writev", "process_madvise",
    "process_mrelease",
})


def syscall_number(name: str) -> int:
    return _NUMBERS[name]


def known_syscalls() -> frozenset[str]:
    """Every x86_64 system call name the table knows."""
    return frozenset(_NUMBERS)


def syscall_name(nr: int) -> str:
    return _NAMES.get(nr, f"syscall_{nr}")


# Calls trapped only for some values of one argument: {nr: (argument index, values)}.
CONDITIONAL: dict[int, tuple[int, frozenset[int]]] = {}


def handles(*names: str, when: tuple[int, frozenset[int]] | None = None):
    """Register the decorated function as the handler of the named system calls.

    ``when=(index, values)``: the filter traps them only when argument ``index`` (its
    low 32 bits) is one of ``values``; the handler still sees every call when the
    strace log traps them all, and passes the others on. Families may each take some
    values of one call (fcntl's F_SETOWN in owner.py, F_SETLKW in locks.py)."""
    def register(func):
        for name in names:
            nr = _NUMBERS[name]
            if when is None:
                HANDLERS[nr] = func
                continue
            index, values = when
            if CONDITIONAL.get(nr, (index,))[0] != index:
                raise ValueError(f"{name}: handlers trapped by different arguments")
            table = _BY_VALUE.setdefault(nr, {})
            table.update(dict.fromkeys(values, func))
            CONDITIONAL[nr] = (index, frozenset(table))
            HANDLERS[nr] = func if len(set(table.values())) == 1 else _by_value(index, table)
        return func
    return register


# {nr: {argument value: handler}} of the calls several families take by value
_BY_VALUE: dict[int, dict[int, object]] = {}


def _by_value(index: int, table: dict):
    from .outcome import Native

    def dispatch(ctx, *args):
        handler = table.get(args[index] & 0xFFFFFFFF)
        return Native() if handler is None else handler(ctx, *args)
    return dispatch


def intercepted_numbers() -> frozenset[int]:
    """The calls the filter traps whatever their arguments (worked out again only when
    a family registered more: each host asks, and its engine more than once)."""
    key = (len(HANDLERS), len(CONDITIONAL))
    if _INTERCEPTED[0] != key:
        _INTERCEPTED[:] = [key, (frozenset(HANDLERS) - frozenset(CONDITIONAL)) | frozenset(
            _NUMBERS[n] for n in UNSUPPORTED)]
    return _INTERCEPTED[1]


_INTERCEPTED: list = [None, frozenset()]   # [(len(HANDLERS), len(CONDITIONAL)), numbers]
