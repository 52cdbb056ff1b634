"""Reading strace's -e inject= syntax and deciding which invocations are hit."""
import errno
import signal

import pytest
from hypothesis import given, strategies as st

from pytest_simproc.inject import InjectSpecError, Injector, parse_inject, syscall_class
from pytest_simproc.syscalls.registry import syscall_number

WRITE, READ, CLONE = (syscall_number(n) for n in ("write", "read", "clone"))


@pytest.mark.parametrize("spec, fields", [
    ("write:error=ENOSPC:when=2", dict(error=errno.ENOSPC, first=2, last=None, step=0)),
    ("write:error=28", dict(error=28)),
    ("fork:error=EAGAIN", dict(error=errno.EAGAIN, first=1, step=1)),
    ("read:delay_enter=2s", dict(delay_enter_ns=2_000_000_000)),
    ("read:delay_exit=1500", dict(delay_exit_ns=1_500_000)),      # microseconds
    ("read:delay_exit=0.5ms", dict(delay_exit_ns=500_000)),
    ("getpid:retval=42", dict(retval=42)),
    ("getpid:retval=-1", dict(retval=-1)),
    ("kill:signal=SIGUSR1", dict(signal=signal.SIGUSR1)),
    ("kill:signal=9:error=EPERM", dict(signal=9, error=errno.EPERM)),
    ("write:error=EIO:when=2..4", dict(first=2, last=4, step=0)),
    ("write:error=EIO:when=3+", dict(first=3, last=None, step=1)),
    ("write:error=EIO:when=3+2", dict(first=3, step=2)),
    ("write:error=EIO:when=1..9+4", dict(first=1, last=9, step=4)),
    ("write:error=EIO:probability=0.25:pid=1001", dict(probability=0.25, pid=1001)),
    ("inject=write:error=EIO", dict(error=errno.EIO)),
])
def test_parse(spec, fields):
    rule = parse_inject(spec)
    for name, value in fields.items():
        assert getattr(rule, name) == value, name


def test_sets_name_calls_classes_and_regexes():
    assert parse_inject("write,read:error=EIO").numbers == {WRITE, READ}
    net = parse_inject("%network:error=ECONNRESET").numbers
    assert {syscall_number(n) for n in ("connect", "sendto", "recvfrom", "socket")} <= net
    assert WRITE not in net
    assert parse_inject("%net:error=EIO").numbers == net
    assert parse_inject("/^clock_(get|set)time$:error=EIO").numbers == {
        syscall_number("clock_gettime"), syscall_number("clock_settime")}
    everything_but_write = parse_inject("!write:error=EIO").numbers
    assert WRITE not in everything_but_write and READ in everything_but_write
    assert parse_inject("?nosuchcall,write:error=EIO").numbers == {WRITE}


@pytest.mark.parametrize("cls, members, non_members", [
    ("file", {"open", "openat", "stat", "execve", "chdir", "rename", "openat2"}, {"read", "fstat"}),
    ("desc", {"read", "write", "close", "dup", "openat", "pipe2", "socket"}, {"getpid", "stat"}),
    ("process", {"fork", "clone", "clone3", "execve", "exit_group", "wait4"}, {"read"}),
    ("signal", {"kill", "rt_sigaction", "rt_sigprocmask", "pause"}, {"wait4"}),
    ("memory", {"mmap", "brk", "munmap"}, {"read"}),
    ("clock", {"clock_gettime", "gettimeofday", "time"}, {"nanosleep"}),
    ("%stat", {"stat", "lstat", "fstat", "newfstatat", "statx"}, {"statfs"}),
])
def test_classes(cls, members, non_members):
    calls = syscall_class(cls)
    assert members <= calls
    assert not non_members & calls


@pytest.mark.parametrize("spec, message", [
    ("", "empty"),
    ("wrte:error=EIO", "did you mean 'write'"),
    ("write", "nothing to inject"),
    ("write:error=EIO:retval=0", "exclude each other"),
    ("write:eror=EIO", "did you mean 'error'"),
    ("%fil:error=EIO", "unknown syscall class %fil"),
    ("write:error=EFOO", "errno name"),
    ("write:error=5000", "1..4095"),
    ("write:error=EIO:when=0", "FIRST must be in 1..65535"),
    ("write:error=EIO:when=5..2", "LAST in FIRST..65535"),
    ("write:error=EIO:when=x", "FIRST[..LAST][+[STEP]]"),
    ("write:delay_enter=2h", "not a time"),
    ("write:signal=SIGFOO", "SIGFOO"),
    ("write:error=EIO:probability=2", "0..1"),
    ("write:error=EIO:pid=0", "virtual pid"),
    ("write:error", "KEY=VALUE"),
    ("write:poke_enter=@arg1=00", "not supported in a host"),
    ("/(:error=EIO", "bad regex"),
])
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(InjectSpecError, match=message.replace("(", r"\(").replace("[", r"\[")
                       .replace("+", r"\+").replace(".", r"\.")):
        parse_inject(spec)


def _reference_hits(first, last, step, count):
    """strace(1)'s when= read literally: the listed invocation numbers."""
    if step == 0:
        chosen = set(range(first, (last or first) + 1))
    else:
        chosen = set(range(first, (last or 200) + 1, step))
    return count in chosen


@given(first=st.integers(1, 50), span=st.none() | st.integers(0, 50),
       step=st.none() | st.integers(1, 20), plus=st.booleans(), count=st.integers(1, 200))
def test_when_matches_the_man_page(first, span, step, plus, count):
    last = None if span is None else first + span
    text = f"{first}" + (f"..{last}" if last is not None else "")
    if step is not None:
        text += f"+{step}"
    elif plus:
        text += "+"
    rule = parse_inject(f"write:error=EIO:when={text}")
    expected_step = step if step is not None else (1 if plus else 0)
    assert rule.hits(count) == _reference_hits(first, last, expected_step, count)


def test_counting_is_per_call_and_per_thread():
    injector = Injector(["write:error=ENOSPC:when=2"])
    assert injector.decide(1000, 1000, WRITE) is None
    assert injector.decide(1000, 1001, WRITE) is None       # another thread: its own count
    assert injector.decide(1000, 1000, READ) is None        # not in the set
    hit = injector.decide(1000, 1000, WRITE)
    assert hit is not None and hit.count == 2 and hit.rule.error == errno.ENOSPC
    assert injector.decide(1000, 1000, WRITE) is None       # the third: not in when=2
    assert injector.decide(1000, 1001, WRITE) is not None   # the other thread's second


def test_the_last_rule_naming_a_call_applies():
    injector = Injector(["write,read:error=EIO", "write:retval=7"])
    assert injector.decide(1000, 1000, WRITE).rule.retval == 7
    assert injector.decide(1000, 1000, READ).rule.error == errno.EIO
    assert injector.numbers == {WRITE, READ}


def test_pid_narrows_a_rule():
    injector = Injector(["clone:error=EAGAIN:pid=1001"])
    assert injector.decide(1000, 1000, CLONE) is None
    assert injector.decide(1001, 1002, CLONE) is not None   # a thread of 1001


def _hits(seed, hostname="simhost", n=400):
    injector = Injector(["write:error=EIO:probability=0.3"], seed=seed, hostname=hostname)
    return [i for i in range(n) if injector.decide(1000, 1000, WRITE) is not None]


def test_probability_follows_the_seed():
    hits = _hits(seed=1)
    assert hits == _hits(seed=1)                 # the same invocations on every run
    assert hits != _hits(seed=2)                 # another seed, others
    assert hits != _hits(seed=1, hostname="other")
    assert 0.2 < len(hits) / 400 < 0.4           # and about as many as asked for
