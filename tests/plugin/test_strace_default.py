"""proc.strace() with strace logging off (the default) records the calls the host
simulates, and refuses a pattern naming any other call (issue 16, item 3)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_simproc import SimHost

pytest_plugins = ["pytester"]

PROGRAMS_DIR = Path(__file__).resolve().parent.parent / "programs"

RECORD = """
    def test_default(simhost):
        sup = simhost.spawn(["sh", "-c", "sleep 2 & wait; echo hi"])
        quiet = simhost.spawn(["sh", "-c", "exit 0"])
        simhost.run()
        log = sup.strace()
        assert log.contains("wait4(")
        assert log.sequence(["clone(", "wait4(", "+++ exited with 0 +++"])
        assert log.contains("--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED")
        # a recorded call the host let run natively: no result, which would take one
        # more stop
        assert log.matching("re:^rt_sigaction\\\\(SIGCHLD, ")[0].endswith("= ?")
        assert not quiet.strace().contains("kill(")     # really checked: none there
        assert not quiet.strace().contains("wait4(")
        assert "mmap(" not in "\\n".join(log.calls)   # not a simulated call
        assert simhost.strace_lines()[-1] == "1000  +++ exited with 0 +++"
"""


def test_strace_records_the_simulated_calls_by_default(pytester):
    pytester.makepyfile(RECORD)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


UNRECORDED = """
    def test_unrecorded(simhost):
        p = simhost.spawn(["true"])
        simhost.run()
        p.strace().contains("%s")
"""


def test_a_pattern_naming_an_unrecorded_call_names_the_three_options(pytester):
    for pattern in ("openat(", "mmap(", "re:^exit_group\\\\(", "write"):
        pytester.makepyfile(UNRECORDED % pattern)
        result = pytester.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines([
            "*StraceUnavailableError: strace pattern * names *, which this log does not "
            "record: with strace logging off, a host records only the calls it simulates. "
            "Log every call with the marker's strace='deterministic' (or 'standard'), "
            "--simproc-strace=deterministic or SimHost(strace='deterministic')"])


FULL = """
    import pytest

    @pytest.mark.simproc(strace="%s")
    def test_full(simhost):
        p = simhost.spawn(["sh", "-c", "sleep 2 & wait; echo hi"])
        simhost.run()
        log = p.strace()
        assert log.recorded is None
        assert log.contains("mmap(") and log.contains("exit_group(")
        [write] = log.matching("re:^write\\\\(1, ")
        assert write.endswith("= 3")
"""


def test_standard_and_deterministic_log_every_call(pytester):
    for mode in ("standard", "deterministic"):
        pytester.makepyfile(FULL % mode)
        pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    pytester.makepyfile(UNRECORDED % "openat(")
    pytester.runpytest("-p", "no:cacheprovider", "--simproc-strace=standard"
                       ).assert_outcomes(passed=1)


@pytest.fixture(scope="module")
def programs(c_programs):
    return c_programs(PROGRAMS_DIR, "strace-default-programs")


def _run(argv, strace) -> dict:
    with SimHost(strace=strace) as host:
        host.spawn(argv)
        host.run()
        return {p.pid: p.strace() for p in host.processes()}


def _same_env(line: str) -> str:
    """The first execve's environment is the spawning Python's, somewhere else at
    each run."""
    return re.sub(r"0x[0-9a-f]+ (/\* \d+ vars \*/)", r"ENVP \1", line)


@pytest.mark.parametrize("name", ["sig_chldinfo", "timer_posix", "waitflags", "clocks"])
def test_the_record_formats_as_the_standard_log_does(programs, name):
    """Each line of the record, formatted when read, is the standard log's line for
    the same call (the record's lines are the standard log's lines of the recorded
    calls, signals and ends, in order); a call run natively shows its entry and "= ?"
    instead of its result."""
    argv = [str(programs(name))]
    record = _run(argv, "off")
    standard = _run(argv, "standard")
    assert record.keys() == standard.keys()
    same = 0
    for pid, log in record.items():
        names = log.recorded
        wanted = [line for line in standard[pid].lines
                  if line.startswith(("---", "+++")) or _call_name(line) in names]
        assert len(log.lines) == len(wanted), pid
        for ours, theirs in zip(log.lines, wanted):
            if ours.endswith(" = ?") and not theirs.endswith(" = ?"):
                entry = ours[:ours.rindex(" = ?")].rstrip(" ")
                entry = entry.replace(" <unfinished ...>)", "").rstrip(" ")
                assert theirs.startswith(entry), (ours, theirs)
            else:
                assert _same_env(ours) == _same_env(theirs)
                same += 1
    assert same >= 10


def _call_name(line: str) -> str:
    if line.startswith("<... "):
        return line[5:].split(" ", 1)[0]
    return line.split("(", 1)[0]
