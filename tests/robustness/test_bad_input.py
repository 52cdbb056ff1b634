"""Bad input everywhere: every wrong argument to SimHost, spawn, the ``simproc`` marker
and ``simproc run`` gives a clear, typed error that names the argument or the bad
value -- never a hang, an error from deep inside (the standard library, the tracer) or a
leaked process or thread.

Hypothesis generates the wrong values. Inputs on which an earlier version gave a bad
error (a TypeError from the standard library, a silently accepted value) are explicit
examples in the ``*_that_once_gave_bad_errors`` tests, each with what it gave then, so
that they stay fixed; the strategies say which inputs they leave to those examples.
"""
from __future__ import annotations

import math
import os
import re
import string
import subprocess
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_simproc import ProgramNotFoundError, SimHost, SimprocError
from pytest_simproc.host import _become_subreaper

from .conftest import CLEAN_ENV, children, proc_stat, reap_if_ours

pytest_plugins = ["pytester"]

ALLOWED = (TypeError, ValueError, ProgramNotFoundError, SimprocError)
PACKAGE_DIR = os.path.dirname(os.path.abspath(sys.modules["pytest_simproc"].__file__))
FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def _subreaper():
    """Anything a failed call leaves behind comes back to this process: counted."""
    _become_subreaper()


def _innermost_frame(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename


def check_error(exc: BaseException, value, keywords) -> None:
    """``exc`` is an allowed type, raised by the package itself (not by the standard
    library below it), and its message names the argument (one of ``keywords``) or
    the bad value."""
    __tracebackhide__ = True
    assert isinstance(exc, ALLOWED), f"{type(exc).__name__}: {exc}"
    where = _innermost_frame(exc)
    assert where.startswith(PACKAGE_DIR) or where == __file__, \
        f"{type(exc).__name__}: {exc} was raised deep inside, in {where}"
    message = str(exc)
    named = any(re.search(rf"(?<![A-Za-z_]){re.escape(k)}(?![A-Za-z_])", message)
                for k in keywords) or repr(value) in message or \
        (isinstance(value, str) and value != "" and value in message)
    assert named, f"{type(exc).__name__}: {message!r} names neither {keywords} nor {value!r}"


class Leaks:
    """Children of this process and threads, before and after."""

    def __init__(self):
        self.children = children()
        self.threads = set(threading.enumerate())

    def check(self) -> None:
        __tracebackhide__ = True
        extra = children() - self.children
        for pid in list(extra):
            st_ = proc_stat(pid)
            if st_ is None or st_[0] == "Z":
                reap_if_ours(pid)
                extra.discard(pid)
        assert not extra, f"child processes left behind: {sorted(extra)}"
        threads = [t for t in set(threading.enumerate()) - self.threads if t.is_alive()]
        assert not threads, f"threads left behind: {threads}"


def expect_bad(call, value, keywords) -> None:
    __tracebackhide__ = True
    leaks = Leaks()
    try:
        result = call()
    except BaseException as exc:  # noqa: BLE001 -- KeyboardInterrupt etc. would be a bug too
        check_error(exc, value, keywords)
        leaks.check()
        return
    if isinstance(result, SimHost):
        result.close()
    pytest.fail(f"{value!r} was accepted: {result!r}")


# ------------------------------------------------------------------ strategies
NOT_A_NUMBER = st.one_of(st.none(), st.booleans(), st.text(max_size=8),
                         st.lists(st.integers(), max_size=2), st.binary(max_size=4),
                         st.just(object()), st.complex_numbers(allow_nan=False, max_magnitude=9))
NEGATIVE = st.one_of(st.integers(max_value=-1),
                     st.floats(max_value=-1e-9, allow_infinity=False, allow_nan=False),
                     st.just(math.nan))
# +inf, huge values and times beyond time_t are explicit examples below (they were
# OverflowError / struct.error from deep inside).
BAD_SECONDS = st.one_of(NOT_A_NUMBER, NEGATIVE)
BAD_POSITIVE_SECONDS = st.one_of(BAD_SECONDS, st.sampled_from([0, 0.0, -0.0]))

RESOURCES = ["NOFILE", "nofile", "RLIMIT_CPU", "cpu", "NPROC", "CORE", 7]
BAD_LIMIT = st.one_of(
    st.integers(max_value=-1), st.integers(min_value=2**64), st.floats(allow_nan=True),
    st.none(), st.booleans(),
    st.text(alphabet="abcxyz-+ .", min_size=1, max_size=6).filter(
        lambda s: s.strip().lower() not in ("inf", "infinity", "unlimited")),
    st.tuples(st.integers(min_value=1, max_value=10**6)).map(lambda t: (t[0] + 1, t[0])),
    st.lists(st.integers(min_value=0, max_value=9), min_size=3, max_size=4).map(tuple),
    st.just(()),
)
BAD_RESOURCE = st.one_of(
    st.text(alphabet=string.ascii_uppercase + "_", min_size=1, max_size=10).filter(
        lambda s: s.upper().removeprefix("RLIMIT_") not in {
            "CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK",
            "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"}),
    st.integers(min_value=16), st.integers(max_value=-1), st.booleans(), st.floats(),
)
# Non-iterables such as 5 and falsy values such as 0 are explicit examples below.
BAD_RLIMITS = st.one_of(
    st.dictionaries(st.sampled_from(RESOURCES), BAD_LIMIT, min_size=1, max_size=2),
    st.dictionaries(BAD_RESOURCE, st.just(10), min_size=1, max_size=2),
    st.lists(st.text(alphabet="NOFILE=:5x", min_size=1, max_size=8).filter(
        lambda s: "=" not in s or s.endswith("=")), min_size=1, max_size=2),
    st.just(["NOFILE=5:2"]), st.just(["BOGUS=5"]), st.just([("NOFILE", 5)]),
)
BAD_SIGNAL = st.one_of(
    st.integers(max_value=0), st.integers(min_value=65), st.none(), st.floats(),
    st.booleans(), st.lists(st.integers(), max_size=1),
    st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=6).map(
        lambda s: "SIGBOGUS" + s),
    st.sampled_from(["", " ", "0", "65", "-1", "+15", "0x0f", "SIGRTMIN+31", "SIGRTMAX+1",
                     "SIGRTMIN-1", "SIG", "SIGKILL9"]),
)
# Names with a NUL byte or longer than HOST_NAME_MAX are explicit examples below.
BAD_HOSTNAME = st.one_of(
    st.none(), st.integers(), st.floats(), st.binary(max_size=4),
    st.lists(st.text(max_size=3), max_size=2), st.just(""),
    st.tuples(st.text(max_size=8), st.text(max_size=8)).map(lambda t: f"{t[0]}/{t[1]}"),
)
BAD_SEED = st.one_of(st.none(), st.booleans(), st.floats(), st.text(max_size=5),
                     st.lists(st.integers(), max_size=2))
BAD_STRACE = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.text(max_size=12).filter(lambda s: s not in ("off", "standard", "deterministic")),
    st.sampled_from(["OFF", "Standard", "on", "true", "strace"]))
BAD_NETWORK = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.text(max_size=10).filter(lambda s: s not in ("loopback", "outside")),
    st.sampled_from(["Loopback", "OUTSIDE", "internet", "lo", "none"]))

HOST_ARGS = {
    "hostname": (BAD_HOSTNAME, ("hostname",)),
    "start_time": (BAD_SECONDS.filter(lambda v: v != "now"), ("start_time",)),
    "stop_time": (BAD_POSITIVE_SECONDS, ("stop_time",)),
    "seed": (BAD_SEED, ("seed",)),
    "strace": (BAD_STRACE, ("strace",)),
    "rlimits": (BAD_RLIMITS, ("limit", "resource", "rlimit")),
    "shutdown_signal": (BAD_SIGNAL, ("signal",)),
    "shutdown_grace": (BAD_SECONDS, ("shutdown_grace",)),
    "watchdog_timeout": (BAD_POSITIVE_SECONDS, ("watchdog_timeout",)),
    "cpu_time_per_syscall": (BAD_SECONDS, ("cpu_time_per_syscall",)),
    "network": (BAD_NETWORK, ("network",)),
}


# ------------------------------------------------------------------ SimHost
@pytest.mark.parametrize("name", sorted(HOST_ARGS))
def test_simhost_rejects_bad_arguments(name):
    strategy, keywords = HOST_ARGS[name]

    @FAST
    @given(strategy)
    def check(value):
        expect_bad(lambda: SimHost(**{name: value}), value, keywords)

    check()


def test_simhost_rejects_unknown_arguments():
    expect_bad(lambda: SimHost(hostnme="x"), "hostnme", ("hostnme",))


@pytest.mark.parametrize("kwargs", [
    pytest.param({"start_time": math.inf}, id="start_time=inf"),
    pytest.param({"start_time": 1e300}, id="start_time=1e300"),
    pytest.param({"stop_time": math.inf}, id="stop_time=inf"),
    pytest.param({"stop_time": 1e300}, id="stop_time=1e300"),
    pytest.param({"cpu_time_per_syscall": math.inf}, id="cpu_time_per_syscall=inf"),
], )
def test_simhost_rejects_infinite_seconds(kwargs):
    ((name, value),) = kwargs.items()
    expect_bad(lambda: SimHost(**kwargs), value, (name,))


def test_simhost_rejects_infinite_shutdown_grace():
    expect_bad(lambda: SimHost(shutdown_grace=math.inf), math.inf, ("shutdown_grace",))


def test_simhost_rejects_start_time_beyond_time_t():
    expect_bad(lambda: SimHost(start_time=1e19), 1e19, ("start_time",))


@pytest.mark.parametrize("kwargs, before", [
    ({"hostname": "a\x00b"}, "ValueError 'embedded null byte' from tempfile.mkdtemp"),
    ({"hostname": "x" * 300}, "OSError ENAMETOOLONG from tempfile.mkdtemp"),
    ({"rlimits": 5}, "TypeError \"'int' object is not iterable\""),
    ({"rlimits": object()}, "TypeError \"'object' object is not iterable\""),
    ({"rlimits": 0}, "accepted as no limits"),
    ({"rlimits": False}, "accepted as no limits"),
    ({"data_dir": 5}, "TypeError from os.path.abspath, not naming data_dir"),
], ids=["hostname-NUL", "hostname-300-chars", "rlimits=5", "rlimits=object()",
        "rlimits=0", "rlimits=False", "data_dir=5"])
def test_simhost_rejects_inputs_that_once_gave_bad_errors(kwargs, before):
    ((name, value),) = kwargs.items()
    keywords = {"rlimits": ("limit",)}.get(name, (name,))
    expect_bad(lambda: SimHost(**kwargs), value, keywords)


# ------------------------------------------------------------------ spawn
@pytest.fixture(scope="module")
def host():
    with SimHost(hostname="badinput") as h:
        yield h


def expect_bad_spawn(host, argv, value, keywords, **kwargs) -> None:
    __tracebackhide__ = True
    count = len(host.processes())
    expect_bad(lambda: host.spawn(argv, **kwargs), value, keywords)
    assert len(host.processes()) == count
    assert [p for p in host.processes() if p.state != "reaped" and p.pid != 1] == []


# Non-iterables such as 5 and dicts are explicit examples below.
BAD_ARGV = st.one_of(
    st.none(), st.just([]), st.just(()), st.text(max_size=8), st.binary(max_size=8),
    st.lists(st.one_of(st.integers(), st.none(), st.floats(), st.lists(st.text(max_size=2),
                                                                        max_size=1)),
             min_size=1, max_size=3).map(lambda rest: ["true", *rest]),
    st.lists(st.integers(), min_size=1, max_size=3),
)


@FAST
@given(BAD_ARGV)
def test_spawn_rejects_bad_argv(host, argv):
    expect_bad_spawn(host, argv, argv, ("argv",))


NAME = st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1,
               max_size=12)


@FAST
@given(st.one_of(NAME.map(lambda s: f"/nonexistent-simproc-dir/{s}"),
                 NAME.map(lambda s: f"no-such-program-{s}"),
                 NAME.map(lambda s: f"./no-such-program-{s}")))
def test_spawn_rejects_missing_program(host, program):
    leaks = Leaks()
    with pytest.raises(ProgramNotFoundError) as info:
        host.spawn([program, "arg"], env=CLEAN_ENV)
    check_error(info.value, program, ())
    leaks.check()
    assert [p for p in host.processes() if p.state != "reaped" and p.pid != 1] == []


@FAST
@given(mode=st.sampled_from([0o000, 0o400, 0o444, 0o600, 0o644, 0o664, 0o666]),
       content=st.sampled_from([b"", b"#!/bin/sh\necho hi\n", b"\x7fELF"]))
def test_spawn_rejects_non_executable_file(host, tmp_path_factory, mode, content):
    path = tmp_path_factory.mktemp("noexec") / "program"
    path.write_bytes(content)
    path.chmod(mode)
    expect_bad_spawn(host, [str(path)], str(path), ())


def test_spawn_rejects_a_directory(host, tmp_path):
    expect_bad_spawn(host, [str(tmp_path)], str(tmp_path), ())
    expect_bad_spawn(host, ["."], ".", (), cwd=str(tmp_path))


def test_spawn_rejects_a_file_that_is_no_program(host, tmp_path):
    path = tmp_path / "garbage"
    path.write_bytes(b"this is not a program\n")
    path.chmod(0o755)
    expect_bad_spawn(host, [str(path)], str(path), ())


@FAST
@given(st.one_of(NAME.map(lambda s: f"/nonexistent-simproc-dir/{s}"),
                 st.sampled_from(["/etc/passwd", "/dev/null", "/proc/self/status"])))
def test_spawn_rejects_bad_cwd(host, cwd):
    expect_bad_spawn(host, ["true"], cwd, ("cwd",), cwd=cwd, env=CLEAN_ENV)


@FAST
@given(st.one_of(st.floats(), st.lists(st.integers(), max_size=2), st.just(object()),
                 st.dictionaries(st.text(max_size=2), st.text(max_size=2), max_size=1),
                 st.complex_numbers(allow_nan=False, max_magnitude=9)))
def test_spawn_rejects_bad_stdin(host, stdin):
    expect_bad_spawn(host, ["true"], stdin, ("stdin",), stdin=stdin, env=CLEAN_ENV)


@FAST
@given(BAD_RLIMITS)
def test_spawn_rejects_bad_rlimits(host, rlimits):
    expect_bad_spawn(host, ["true"], rlimits, ("limit", "resource", "rlimit"),
                     rlimits=rlimits, env=CLEAN_ENV)


BAD_STATE = st.one_of(
    st.integers(), st.floats(), st.lists(st.integers(), max_size=2), st.booleans(),
    st.text(alphabet=string.ascii_letters + ":{}\"", max_size=12).filter(
        lambda s: s.strip().lower() != "running"),
    st.integers().filter(lambda n: not 0 <= n <= 255).map(lambda n: {"exited": n}),
    st.integers().filter(lambda n: not 0 <= n <= 255).map(lambda n: f"exited:{n}"),
    st.one_of(st.integers().filter(lambda n: not 1 <= n <= 64),
              st.text(alphabet="XYZ", min_size=1, max_size=3)).map(lambda s: {"signaled": s}),
    st.just({"exited": 0, "signaled": 9}), st.just({}), st.just({"exited": "zero"}),
    st.just({"stopped": 1}), st.just({1: 2}), st.just('{"exited": 0'), st.just('"running'),
)


@FAST
@given(BAD_STATE)
def test_spawn_rejects_bad_expected_final_state(host, state):
    expect_bad_spawn(host, ["true"], state, ("final state",), expected_final_state=state,
                     env=CLEAN_ENV)


@pytest.mark.parametrize("argv, kwargs, keywords, before", [
    (5, {}, ("argv",), "TypeError \"'int' object is not iterable\""),
    (object(), {}, ("argv",), "TypeError \"'object' object is not iterable\""),
    ({"true": 1}, {}, ("argv",), "a dict is accepted: its keys become argv"),
    (["true"], {"env": {"X": 1}}, ("env", "'X'"),
     "SpawnError from the child: 'TypeError: expected str, bytes or os.PathLike object, "
     "not int'"),
    (["true"], {"env": {1: "x"}}, ("env",), "SpawnError from the child, naming neither"),
    (["true"], {"env": {"A=B": "x"}}, ("env", "'A=B'"),
     "SpawnError 'ValueError: illegal environment variable name'"),
    (["true"], {"env": {"X": "a\x00b"}}, ("env", "'X'"),
     "SpawnError 'ValueError: embedded null byte'"),
    (["true"], {"env": "PATH"}, ("env",),
     "ValueError 'dictionary update sequence element #0 has length 1; 2 is required'"),
    (["true"], {"env": 5}, ("env",), "TypeError \"'int' object is not iterable\""),
    (["true"], {"env": {"PATH": 5}}, ("env", "PATH"),
     "TypeError 'expected str, bytes or os.PathLike object, not int' from shutil.which"),
    (["true"], {"cwd": []}, ("cwd",),
     "SpawnError 'TypeError: chdir: path should be string, ..., not list'"),
    (["./x"], {"cwd": 5}, ("cwd",), "TypeError from os.path.join"),
    (["true"], {"cwd": "a\x00b"}, ("cwd",), "SpawnError 'ValueError: embedded null byte'"),
    (["true"], {"stdin": -1}, ("stdin",), "SpawnError 'OSError: [Errno 9] Bad file descriptor'"),
    (["true"], {"stdin": 99999}, ("stdin",),
     "SpawnError 'OSError: [Errno 9] Bad file descriptor'"),
    (["true"], {"stdin": True}, ("stdin",), "True is accepted as file descriptor 1"),
    (["true"], {"rlimits": 5}, ("limit",), "TypeError \"'int' object is not iterable\""),
    (["true"], {"rlimits": 0}, ("limit",), "accepted as no limits"),
], ids=["argv=5", "argv=object()", "argv=dict", "env-int-value", "env-int-key",
        "env-key-with-=", "env-value-NUL", "env=str", "env=5", "env-PATH-int", "cwd=[]",
        "cwd=5-relative-program", "cwd-NUL", "stdin=-1", "stdin=closed-fd", "stdin=True",
        "rlimits=5", "rlimits=0"])
def test_spawn_rejects_inputs_that_once_gave_bad_errors(argv, kwargs, keywords, before):
    bad = [k for k in kwargs if k != "env"] or list(kwargs)
    value = kwargs[bad[0]] if bad else argv
    kwargs.setdefault("env", CLEAN_ENV)
    with SimHost(hostname="oncebad") as own:  # an accepted input must not stay around
        expect_bad_spawn(own, argv, value, keywords, **kwargs)


def test_host_still_works_after_bad_spawns(host):
    p = host.spawn(["sh", "-c", "echo ok"], env=CLEAN_ENV)
    host.run()
    assert p.stdout == b"ok\n" and p.returncode == 0


# ------------------------------------------------------------------ the marker
MARKER_TEST = """
import pytest

@pytest.mark.simproc({args})
def test_marked(simhost):
    open("ran", "w").close()

def test_other():
    open("other-ran", "w").close()
"""

GOOD_MARKERS = [  # validated at collection time; the test alone fails, as the README says
    ("bogus=1", "'bogus'"),
    ("stop_tme=5", "'stop_tme'"),
    ("5", "positional"),
    ("expected_final_state='exited:300'", "expected_final_state"),
    ("expected_final_state={'signaled': 'SIGBOGUS'}", "expected_final_state"),
    ("expected_final_state=5", "expected_final_state"),
    ("expected_final_state='bogus'", "expected_final_state"),
]
# Values of SimHost options, checked at collection by SimHost's own checks.
SETUP_TIME_MARKERS = [
    ("stop_time=-1", "stop_time"),
    ("stop_time='1h'", "stop_time"),
    ("start_time=None", "start_time"),
    ("seed=1.5", "seed"),
    ("seed='abc'", "seed"),
    ("hostname=''", "hostname"),
    ("hostname='a/b'", "hostname"),
    ("strace='yes'", "strace"),
    ("rlimits={'BOGUS': 1}", "BOGUS"),
    ("rlimits={'NOFILE': (5, 2)}", "NOFILE"),
    ("shutdown_signal='SIGBOGUS'", "SIGBOGUS"),
    ("shutdown_grace=-1", "shutdown_grace"),
    ("watchdog_timeout=0", "watchdog_timeout"),
    ("network='internet'", "network"),
]
DEEP_MARKERS = [  # these once failed deep inside SimHost
    ("stop_time=float('inf')", "stop_time"),
    ("rlimits=5", "rlimits"),
]


def run_marked(pytester, args: str):
    pytester.makepyfile(test_marker=MARKER_TEST.format(args=args))
    leaks = Leaks()
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    leaks.check()
    return result


def assert_marker_failure(pytester, result, named: str) -> None:
    """The marked test fails alone, before anything is set up; the others run."""
    __tracebackhide__ = True
    out = result.stdout.str() + result.stderr.str()
    result.assert_outcomes(failed=1, passed=1)
    assert "@pytest.mark.simproc has a bad argument" in out and named in out, out
    assert "Traceback" not in out, out
    assert not (pytester.path / "ran").exists()
    assert (pytester.path / "other-ran").exists()


@pytest.mark.parametrize("args, named", GOOD_MARKERS, ids=[a for a, _ in GOOD_MARKERS])
def test_bad_marker_fails_that_test_alone(pytester, args, named):
    assert_marker_failure(pytester, run_marked(pytester, args), named)


@pytest.mark.parametrize("args, named", SETUP_TIME_MARKERS + DEEP_MARKERS,
                         ids=[a for a, _ in SETUP_TIME_MARKERS + DEEP_MARKERS])
def test_bad_marker_value_fails_that_test_alone(pytester, args, named):
    assert_marker_failure(pytester, run_marked(pytester, args), named)


def test_bad_ini_seed_is_a_usage_error(pytester):
    pytester.makeini("[pytest]\nsimproc_seed = abc\n")
    pytester.makepyfile(test_marker=MARKER_TEST.format(args=""))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "simproc_seed" in result.stderr.str()


def test_bad_seed_option_is_a_usage_error(pytester):
    pytester.makepyfile(test_marker=MARKER_TEST.format(args=""))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--simproc-seed", "abc")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--simproc-seed" in result.stderr.str()


# ------------------------------------------------------------------ simproc run
def cli(*args, timeout=30):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    leaks = Leaks()
    res = subprocess.run([sys.executable, "-m", "pytest_simproc", *args], capture_output=True,
                         timeout=timeout, stdin=subprocess.DEVNULL, env=env, text=True)
    leaks.check()
    return res


def assert_cli_usage_error(res, *named) -> None:
    __tracebackhide__ = True
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert res.stdout == ""
    assert "Traceback" not in res.stderr, res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith(("simproc: ", "simproc run: ")), res.stderr
    assert any(n in last for n in named), (named, res.stderr)


CLI_FAST = settings(max_examples=6, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
CLI_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-.:=+_ ", min_size=1,
                   max_size=10).filter(lambda s: not s.startswith("-"))


def _not_positive_seconds(text: str) -> bool:
    try:
        return not float(text) > 0
    except ValueError:
        return True


# "inf", "1e300" are explicit examples in
# test_cli_rejects_values_that_once_gave_bad_errors.
@CLI_FAST
@given(st.one_of(CLI_TEXT.filter(_not_positive_seconds),
                 st.sampled_from(["0", "-5", "nan", "-inf", "0x10", "1s", "5m"])))
def test_cli_rejects_bad_stop_time(value):
    assert_cli_usage_error(cli("run", f"--stop-time={value}", "--", "true"),
                           "--stop-time", value)


@CLI_FAST
@given(st.one_of(CLI_TEXT.filter(lambda s: s not in ("loopback", "outside")),
                 st.sampled_from(["Loopback", "internet", "lo"])))
def test_cli_rejects_bad_network(value):
    assert_cli_usage_error(cli("run", f"--network={value}", "--", "true"), "--network", value)


def _not_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return True
    return False


@CLI_FAST
@given(st.one_of(CLI_TEXT.filter(_not_int), st.sampled_from(["1.5", "0x1", "1e3", "seed"])))
def test_cli_rejects_bad_seed(value):
    assert_cli_usage_error(cli("run", f"--seed={value}", "--", "true"), "--seed", value)


@CLI_FAST
@given(st.one_of(
    st.sampled_from(["NOFILE", "NOFILE=", "=5", "BOGUS=5", "NOFILE=5:2", "NOFILE=-1",
                     "NOFILE=x", "NOFILE=5:6:7", "CPU=1.5", "NOFILE=:5"]),
    CLI_TEXT.filter(lambda s: "=" not in s)))
def test_cli_rejects_bad_rlimit(value):
    assert_cli_usage_error(cli("run", f"--rlimit={value}", "--", "true"), "--rlimit", value)


@CLI_FAST
@given(st.one_of(
    st.sampled_from(["bogus", "exited", "exited:", "exited:256", "exited:-1", "exited:x",
                     "signaled:SIGBOGUS", "signaled:0", "signaled:65", "stopped:1", "{}",
                     '{"exited": 0', "runing"]),
    CLI_TEXT.filter(lambda s: s.strip().lower() != "running" and ":" not in s)))
def test_cli_rejects_bad_expect(value):
    assert_cli_usage_error(cli("run", f"--expect={value}", "--", "true"), "--expect", value)


@pytest.mark.parametrize("program, status, reason", [
    ("/nonexistent-simproc-dir/prog", 127, "No such file or directory"),
    ("no-such-program-simproc", 127, "No such file or directory"),
    ("/tmp", 126, "Is a directory"),
])
def test_cli_program_that_cannot_start_as_in_a_shell(program, status, reason):
    res = cli("run", "--", program)
    assert (res.returncode, res.stdout, res.stderr) == (
        status, "", f"simproc: {program}: {reason}\n")


@pytest.mark.parametrize("args, named", [
    (["run"], "no program"),
    (["run", "--"], "no program"),
    (["run", "--stop-time", "5"], "no program"),
    (["run", "--stop-time"], "--stop-time"),
    (["run", "--bogus", "--", "true"], "--bogus"),
    (["run", "--hostname", "a/b", "--", "true"], "hostname"),
    (["run", "--hostname=", "--", "true"], "hostname"),
    ([], "command"),
    (["bogus"], "bogus"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_cli_usage_errors(args, named):
    assert_cli_usage_error(cli(*args), named)


@pytest.mark.parametrize("args", [
    ["run", "--stop-time", "inf", "--", "true"],
    ["run", "--stop-time", "1e300", "--", "true"],
    ["run", "--hostname", "x" * 300, "--", "true"],
], ids=["stop-time=inf", "stop-time=1e300", "hostname-300-chars"])
def test_cli_rejects_values_that_once_gave_bad_errors(args):
    assert_cli_usage_error(cli(*args), "--stop-time", "hostname")
