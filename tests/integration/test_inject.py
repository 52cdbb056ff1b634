"""Fault injection in strace's -e inject= syntax, in a host: the calls a rule names fail,
succeed, signal or wait as strace would make them, in virtual time, and the same
invocations are hit on every run."""
import errno
import os

import pytest

from pytest_simproc import Exited, SimHost
from pytest_simproc.inject import InjectSpecError


def _run(program, args, inject, tmp_path, seed=0, strace="off"):
    with SimHost(inject=inject, seed=seed, strace=strace, stop_time=60) as host:
        proc = host.spawn([program, *args], cwd=str(tmp_path))
        host.run()
        host.lines = host.strace_lines() if strace != "off" else []
        return proc.exit_status, proc.stdout.decode(), host


def test_write_fails_the_second_time(build, tmp_path):
    status, out, host = _run(build("inject_calls"), ["writes"],
                             ["write:error=ENOSPC:when=2"], tmp_path, strace="deterministic")
    assert (status, out) == (Exited(0), "w1=1\nw2=-1 ENOSPC\nw3=1\n")
    # only the second write of the file was hit (the output lines are later writes)
    assert host.injections() == [{"pid": 1000, "tid": 1000, "syscall": "write",
                                  "invocation": 2, "rule": "write:error=ENOSPC:when=2"}]
    hit = [line for line in host.lines if "INJECTED" in line]
    assert len(hit) == 1
    assert 'write(3, "x", 1)' in hit[0]
    assert hit[0].endswith("= -1 ENOSPC (No space left on device) (INJECTED)")
    assert (tmp_path / "inject.out").read_bytes() == b"xx"  # the failed write never ran


def test_fork_means_the_fork_call_as_in_strace(build, tmp_path):
    # glibc's fork() is clone(2): a rule naming fork hits fork(2) alone, as strace's does
    status, out, _ = _run(build("inject_calls"), ["forks"], ["fork:error=EAGAIN"], tmp_path)
    assert out == "sys_fork=-1 EAGAIN\nglibc_fork=0\n"
    status, out, _ = _run(build("inject_calls"), ["forks"], ["/^(fork|clone)$:error=EAGAIN"],
                          tmp_path)
    assert out == "sys_fork=-1 EAGAIN\nglibc_fork=-1 EAGAIN\n"


def test_a_class_of_calls(build, tmp_path):
    status, out, _ = _run(build("inject_calls"), ["socket"], ["%network:error=ECONNRESET"],
                          tmp_path)
    assert out == "socket=-1 ECONNRESET\n"


def test_delay_enter_is_virtual(build, tmp_path):
    status, out, host = _run(build("inject_calls"), ["delay"], ["read:delay_enter=2s"],
                             tmp_path, strace="deterministic")
    assert out == "read=0\nelapsed_ms=2000\n"
    assert any(line.endswith("= 0 (DELAYED)") for line in host.lines)


def test_delay_exit_is_virtual(build, tmp_path):
    status, out, _ = _run(build("inject_calls"), ["delay"], ["read:delay_exit=1.5s"], tmp_path)
    assert out == "read=0\nelapsed_ms=1500\n"


def test_retval_and_signal(build, tmp_path):
    status, out, _ = _run(build("inject_calls"), ["pattern", "6"], ["getppid:retval=4242:when=3+2"],
                          tmp_path)
    # the first getppid is the program's own reference call: the loop makes calls 2 to 7
    assert out.split("\n")[0] == ".x.x.x"
    status, out, _ = _run(build("inject_calls"), ["signal"], ["getpid:signal=SIGUSR1:when=1"],
                          tmp_path)
    assert out == "after_first=1 after_second=1\n"


def test_probability_gives_the_same_hits_on_every_run(build, tmp_path):
    rule = ["getppid:retval=4242:probability=0.5"]
    runs = {_run(build("inject_calls"), ["pattern", "60"], rule, tmp_path, seed=7)[1]
            for _ in range(3)}
    assert len(runs) == 1
    pattern = runs.pop()
    assert 10 < pattern.count("x") < 50
    other = _run(build("inject_calls"), ["pattern", "60"], rule, tmp_path, seed=8)[1]
    assert other != pattern


def test_pid_narrows_a_rule(build, tmp_path):
    status, out, _ = _run(build("inject_calls"), ["writes"],
                          ["write:error=EIO:pid=1001"], tmp_path)
    assert out == "w1=1\nw2=1\nw3=1\n"


def test_bad_rules_are_refused_before_anything_runs():
    with pytest.raises(InjectSpecError, match="did you mean 'write'"):
        SimHost(inject=["wrte:error=ENOSPC"])
    with pytest.raises(TypeError, match="inject must be a list"):
        SimHost(inject=3)


def test_the_report_names_rules_and_hits(build, tmp_path):
    status, out, host = _run(build("inject_calls"), ["writes"], "write:error=EIO:when=1",
                             tmp_path)
    report = host.report()["host"]
    assert report["inject"] == ["write:error=EIO:when=1"]
    assert [hit["invocation"] for hit in report["injected"]] == [1]
    assert out.startswith("w1=-1 EIO\n")
    assert errno.EIO  # the errno named in the output is the module's
    assert os.path.exists(tmp_path / "inject.out")
