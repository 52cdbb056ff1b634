"""Fault injection, read in strace's own ``-e inject=`` syntax (strace(1), "Tampering").

Users already know how to say "fail the second write with ENOSPC" to strace; the same
text works here, so a fault found with strace can be replayed in a host and the other
way round. What differs, on purpose: delays are virtual (a host's time, not the
machine's), ``probability=P`` picks invocations from the host's seed (the same ones on
every run), and ``pid=N`` narrows a rule to one virtual process.

This module only reads specifications and decides, for one invocation, what to inject;
the engine carries the decision out at the call's seccomp stop.
"""
from __future__ import annotations

import errno as _errno
import hashlib
import re
from dataclasses import dataclass

from ptrace.syscall.prototypes import SYSCALL_PROTOTYPES

from .errors import SimprocError
from .kernel.signals import parse_signal
from .syscalls.registry import known_syscalls, syscall_number


class InjectSpecError(SimprocError, ValueError):
    """A fault-injection specification that cannot be read."""


_SYNTAX = ("SET:error=ERRNO|retval=N|signal=SIG|delay_enter=T|delay_exit=T"
           "[:when=FIRST[..LAST][+[STEP]]][:probability=P][:pid=N]")

# strace(1) "-e trace=": the classes a set may name. strace keeps them as flags in its
# own tables; here %file and %desc follow python-ptrace's prototypes (an argument that
# names a path, a first argument that is a descriptor), the others are listed by hand.
_PATH_ARGS = frozenset({"filename", "pathname", "path", "oldname", "newname", "old", "new",
                        "specialfile", "library", "dev_name", "dir_name"})
_FD_ARGS = frozenset({"fd", "fildes", "dfd", "dirfd", "epfd", "oldfd", "sockfd", "fd_in", "ufd",
                      "olddfd", "mqdes", "pidfd"})
_HAND_CLASSES = {
    # path-taking calls python-ptrace has no prototype for, and acct(name)
    "file+": {"faccessat2", "openat2", "acct", "umount2", "fspick", "open_tree"},
    # calls that make descriptors (strace counts them as descriptor calls too)
    "desc+": {"open", "creat", "pipe", "pipe2", "socket", "socketpair", "epoll_create",
              "epoll_create1", "eventfd", "eventfd2", "inotify_init", "inotify_init1",
              "timerfd_create", "memfd_create", "userfaultfd", "perf_event_open",
              "fanotify_init", "pidfd_open", "open_by_handle_at", "openat2", "close_range",
              "select", "pselect6", "poll", "ppoll", "epoll_pwait2", "io_uring_setup",
              "io_uring_enter", "io_uring_register", "preadv2", "pwritev2", "fsopen",
              "fsmount", "fspick", "open_tree", "move_mount", "mount_setattr",
              "faccessat2", "pidfd_getfd"},
    "process": {"clone", "clone3", "fork", "vfork", "execve", "execveat", "exit",
                "exit_group", "wait4", "waitid", "kill", "tkill", "tgkill",
                "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal", "pidfd_open",
                "unshare", "arch_prctl"},
    "network": {"socket", "socketpair", "bind", "connect", "listen", "accept", "accept4",
                "getsockname", "getpeername", "sendto", "recvfrom", "sendmsg", "recvmsg",
                "sendmmsg", "recvmmsg", "shutdown", "setsockopt", "getsockopt"},
    "signal": {"rt_sigaction", "rt_sigprocmask", "rt_sigpending", "rt_sigsuspend",
               "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigreturn",
               "sigaltstack", "kill", "tkill", "tgkill", "pause", "signalfd", "signalfd4",
               "pidfd_send_signal"},
    "ipc": {"msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semctl",
            "semtimedop", "shmget", "shmat", "shmctl", "shmdt"},
    "memory": {"brk", "mmap", "munmap", "mprotect", "mremap", "msync", "mincore", "madvise",
               "mlock", "mlock2", "munlock", "mlockall", "munlockall", "remap_file_pages",
               "mbind", "set_mempolicy", "get_mempolicy", "migrate_pages", "move_pages",
               "pkey_mprotect", "shmat", "shmdt", "process_madvise"},
    "creds": {"getuid", "geteuid", "getgid", "getegid", "setuid", "setgid", "setreuid",
              "setregid", "setresuid", "getresuid", "setresgid", "getresgid", "setfsuid",
              "setfsgid", "getgroups", "setgroups", "capget", "capset", "prctl"},
    "clock": {"clock_gettime", "clock_settime", "clock_adjtime", "clock_getres",
              "gettimeofday", "settimeofday", "time", "adjtimex"},
    "pure": {"getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid",
             "getpgrp"},
    "stat": {"stat"}, "lstat": {"lstat"}, "fstat": {"fstat", "newfstatat", "statx"},
    "%stat": {"stat", "lstat", "fstat", "newfstatat", "statx"},
    "statfs": {"statfs"}, "fstatfs": {"fstatfs"}, "%statfs": {"statfs", "fstatfs", "ustat"},
}
_ALIASES = {"net": "network"}


def _by_prototype(arg_names: frozenset[str], first_only: bool) -> set[str]:
    found = set()
    for name, (_ret, args) in SYSCALL_PROTOTYPES.items():
        if first_only:
            hit = bool(args) and args[0][1] in arg_names
        else:
            hit = any(n in arg_names and "char" in t for t, n in args)
        if hit:
            found.add(name)
    return found


def syscall_class(name: str) -> frozenset[str]:
    """The calls of an strace class (``file`` for ``%file``), x86_64 names only."""
    name = _ALIASES.get(name, name)
    known = known_syscalls()
    if name == "file":
        calls = _by_prototype(_PATH_ARGS, first_only=False) | _HAND_CLASSES["file+"]
    elif name == "desc":
        calls = _by_prototype(_FD_ARGS, first_only=True) | _HAND_CLASSES["desc+"]
    elif name in _HAND_CLASSES and not name.endswith("+"):
        calls = _HAND_CLASSES[name]
    else:
        raise InjectSpecError(
            f"unknown syscall class %{name}; known: "
            + ", ".join("%" + c for c in sorted(_class_names())))
    return frozenset(c for c in calls if c in known)


def _class_names() -> list[str]:
    return ["file", "desc"] + [c for c in _HAND_CLASSES if not c.endswith("+")] + ["net"]


@dataclass(frozen=True)
class InjectRule:
    """One ``-e inject=`` expression, read."""

    spec: str
    numbers: frozenset[int]
    error: int | None = None      # errno to fail with (the call does not run)
    retval: int | None = None     # value to succeed with (the call does not run)
    signal: int | None = None     # signal generated on entering the call
    delay_enter_ns: int = 0       # virtual delay before the call runs
    delay_exit_ns: int = 0        # virtual delay after it, before it returns
    first: int = 1
    last: int | None = None
    step: int = 1                 # 0: only ``first`` (and up to ``last``: every one)
    probability: float | None = None
    pid: int | None = None

    def hits(self, count: int) -> bool:
        """Whether the ``count``-th invocation (1-based) is in ``when=``."""
        if count < self.first or (self.last is not None and count > self.last):
            return False
        if self.step == 0:
            return self.last is not None or count == self.first
        return (count - self.first) % self.step == 0

    @property
    def skips_call(self) -> bool:
        return self.error is not None or self.retval is not None


@dataclass(frozen=True)
class Injection:
    """What to do with one invocation."""

    rule: InjectRule
    count: int


def parse_inject(spec: str) -> InjectRule:
    """Read one expression; raises InjectSpecError naming what is wrong and the syntax."""
    if not isinstance(spec, str) or not spec.strip():
        raise InjectSpecError(f"empty fault-injection specification; expected {_SYNTAX}")
    text = spec.strip()
    if text.startswith("inject="):
        text = text[len("inject="):]
    set_text, _, rest = text.partition(":")
    numbers = _parse_set(set_text, spec)
    options: dict = {}
    for part in rest.split(":") if rest else []:
        key, eq, value = part.partition("=")
        if not eq or not value:
            raise InjectSpecError(f"{spec!r}: {part!r} is not KEY=VALUE; expected {_SYNTAX}")
        if key in ("error", "retval") and ("error" in options or "retval" in options):
            raise InjectSpecError(f"{spec!r}: error= and retval= exclude each other "
                                  "(strace(1)); give one")
        name, parsed = _parse_option(key, value, spec)
        options[name] = parsed
    if not {"error", "retval", "signal", "delay_enter_ns", "delay_exit_ns"} & set(options):
        raise InjectSpecError(f"{spec!r}: nothing to inject: give at least one of error=, "
                              "retval=, signal=, delay_enter=, delay_exit=")
    when = options.pop("when", (1, None, 1))
    return InjectRule(spec=spec, numbers=numbers, first=when[0], last=when[1], step=when[2],
                      **options)


def _parse_set(text: str, spec: str) -> frozenset[int]:
    if not text:
        raise InjectSpecError(f"{spec!r}: no syscall set before the first ':'; expected {_SYNTAX}")
    negate = text.startswith("!")
    if negate:
        text = text[1:]
    names: set[str] = set()
    known = known_syscalls()
    for item in text.split(","):
        quiet = item.startswith("?")
        item = item.lstrip("?")
        if item == "all":
            found = set(known)
        elif item.startswith("%"):
            found = set(syscall_class(item[1:]))
        elif item.startswith("/"):
            try:
                pattern = re.compile(item[1:])
            except re.error as exc:
                raise InjectSpecError(f"{spec!r}: bad regex {item[1:]!r}: {exc}") from None
            found = {n for n in known if pattern.search(n)}
        elif item in known:
            found = {item}
        else:
            found = set()
            if not quiet:
                import difflib
                near = difflib.get_close_matches(item, sorted(known), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise InjectSpecError(f"{spec!r}: unknown syscall {item!r}{hint}")
        if not found and not quiet:
            raise InjectSpecError(f"{spec!r}: {item!r} matches no syscall")
        names |= found
    if negate:
        names = set(known) - names
    return frozenset(syscall_number(n) for n in names)


def _parse_option(key: str, value: str, spec: str):
    if key == "error":
        if value.isdigit():
            number = int(value)
        else:
            number = getattr(_errno, value, None) if value.startswith("E") else None
        if not isinstance(number, int) or not 1 <= number <= 4095:
            raise InjectSpecError(f"{spec!r}: error={value} is neither an errno name "
                                  "(ENOSPC) nor a number in 1..4095")
        return "error", number
    if key == "retval":
        try:
            return "retval", int(value, 0)
        except ValueError:
            raise InjectSpecError(f"{spec!r}: retval={value} is not an integer") from None
    if key == "signal":
        try:
            return "signal", parse_signal(value)
        except ValueError as exc:
            raise InjectSpecError(f"{spec!r}: signal={value}: {exc}") from None
    if key in ("delay_enter", "delay_exit"):
        return key + "_ns", _parse_delay(value, spec)
    if key == "when":
        return "when", _parse_when(value, spec)
    if key == "probability":
        try:
            p = float(value)
        except ValueError:
            p = -1.0
        if not 0.0 <= p <= 1.0:
            raise InjectSpecError(f"{spec!r}: probability={value} is not a number in 0..1")
        return "probability", p
    if key == "pid":
        if not value.isdigit() or int(value) < 1:
            raise InjectSpecError(f"{spec!r}: pid={value} is not a virtual pid (1, 1000, ...)")
        return "pid", int(value)
    if key in ("syscall", "poke_enter", "poke_exit"):
        raise InjectSpecError(f"{spec!r}: {key}= is strace's, not supported in a host")
    import difflib
    options = ["error", "retval", "signal", "delay_enter", "delay_exit", "when",
               "probability", "pid"]
    near = difflib.get_close_matches(key, options, n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    raise InjectSpecError(f"{spec!r}: unknown option {key!r}{hint}")


_DELAY_RE = re.compile(r"^([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(s|ms|us|ns)?$")
_UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1, None: 1_000}


def _parse_delay(value: str, spec: str) -> int:
    """strace(1) "Time specification format": a decimal number, microseconds unless
    suffixed s, ms, us or ns."""
    match = _DELAY_RE.match(value)
    if not match:
        raise InjectSpecError(f"{spec!r}: delay {value!r} is not a time such as 2s, 500ms, "
                              "100 (microseconds)")
    return int(round(float(match.group(1)) * _UNIT_NS[match.group(2)]))


_WHEN_RE = re.compile(r"^(\d+)(?:\.\.(\d+))?(\+(\d+)?)?$")


def _parse_when(value: str, spec: str) -> tuple[int, int | None, int]:
    """first[..last][+[step]] (strace(1)): first 1..65535, step 1..65535."""
    match = _WHEN_RE.match(value)
    if not match:
        raise InjectSpecError(f"{spec!r}: when={value} is not FIRST[..LAST][+[STEP]]")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else None
    plus, step = match.group(3), match.group(4)
    if not 1 <= first <= 65535 or (last is not None and not first <= last <= 65535):
        raise InjectSpecError(f"{spec!r}: when={value}: FIRST must be in 1..65535 and "
                              "LAST in FIRST..65535")
    if step is not None:
        step_n = int(step)
        if not 1 <= step_n <= 65535:
            raise InjectSpecError(f"{spec!r}: when={value}: STEP must be in 1..65535")
    elif plus:
        step_n = 1
    else:
        step_n = 0  # FIRST alone: that invocation; FIRST..LAST: each of them
    return first, last, step_n


class Injector:
    """A host's rules and counters. strace(1): "Accounting of syscalls that are subject
    to injection is done per syscall and per tracee"; of several rules naming a call,
    the last given applies to it."""

    def __init__(self, rules, *, seed: int = 0, hostname: str = "simhost"):
        self.rules = [parse_inject(r) if isinstance(r, str) else r for r in rules]
        self._by_number: dict[int, InjectRule] = {}
        for rule in self.rules:
            for nr in rule.numbers:
                self._by_number[nr] = rule
        self._counts: dict[tuple[int, int], int] = {}
        self._salt = f"{seed}:{hostname}".encode()

    @property
    def numbers(self) -> frozenset[int]:
        """The calls the filter must trap for these rules."""
        return frozenset(self._by_number)

    def decide(self, pid: int, tid: int, nr: int) -> Injection | None:
        rule = self._by_number.get(nr)
        if rule is None or (rule.pid is not None and rule.pid != pid):
            return None
        key = (tid, nr)
        count = self._counts[key] = self._counts.get(key, 0) + 1
        if not rule.hits(count):
            return None
        if rule.probability is not None and not self._draw(tid, nr, count) < rule.probability:
            return None
        return Injection(rule, count)

    def _draw(self, tid: int, nr: int, count: int) -> float:
        """A number in [0, 1) for this invocation, from the seed alone: the same
        invocations are hit on every run, whatever else the schedule does."""
        digest = hashlib.blake2b(b"%s:%d:%d:%d" % (self._salt, tid, nr, count),
                                 digest_size=8).digest()
        return int.from_bytes(digest, "little") / 2**64
