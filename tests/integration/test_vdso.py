"""Clock reads answered by the host's vDSO (trace/vdso.py): no stop, the same virtual
values the trapped calls give, in dynamic and static programs, parents and children
(tests/programs/vdso_reads.c)."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from pytest_simproc import Exited, SimHost
from pytest_simproc.engine import core

START = 946684800
N = 1000


def expected(first: str = "first 0 0") -> list[str]:
    def at(sec: int) -> str:
        # REALTIME, MONOTONIC and BOOTTIME (since the boot, a minute before the
        # start), REALTIME_COARSE, TAI; gettimeofday, time
        t, up = f"{START + sec}.000000000", f"{60 + sec}.000000000"
        return f"{t} {up} {up} {t} {t} {START + sec}.000000 {START + sec}"
    return ["vdso yes", first, f"unchanged {5 * N} of {5 * N}",
            f"parent {at(60)}", f"child {at(61)}"]


def run(prog, **options):
    with SimHost(strace="deterministic", **options) as host:
        p = host.spawn([prog, str(N)])
        host.run()
        assert p.exit_status == Exited(0), p.stderr
        return p.stdout.decode().splitlines(), p.strace()


def test_native(build, native):
    res = native([build("vdso_reads"), "10", "0"])
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode().splitlines()[:2] == ["vdso yes", "first 0 0"]


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_reads_make_no_stop(build, static):
    """5,000 reads of five clocks and the gettimeofday/time reads leave no line in
    the deterministic strace log (no stop); the values are the virtual clock's, a
    forked child reads the same page; CPU-time clocks still trap."""
    lines, strace = run(build("vdso_reads", static=static))
    assert lines[:5] == expected()
    assert lines[5].startswith("cpu 0.0000")
    calls = [line.split(" ", 1)[1] for line in strace]
    for call in ("gettimeofday(", "time(", "clock_gettime(CLOCK_MONOTONIC",
                 "clock_gettime(CLOCK_REALTIME", "clock_gettime(CLOCK_TAI"):
        assert not [c for c in calls if c.startswith(call)], call
    assert strace.count("clock_gettime(CLOCK_PROCESS_CPUTIME_ID") == 1


def test_runs_stay_byte_identical(build):
    prog = build("vdso_reads")
    first, second = run(prog), run(prog)
    assert first[0] == second[0]
    assert list(first[1]) == list(second[1])


def test_injection_rule_on_a_clock_call_sees_every_read(build):
    """A fault-injection rule naming clock_gettime needs the calls trapped: the host
    gives no vDSO then, and the program's first read gets the injected error."""
    lines, strace = run(build("vdso_reads"), inject=["clock_gettime:error=EPERM:when=1"])
    assert lines == ["vdso no", "first -1 EPERM"]
    assert strace.count("clock_gettime(CLOCK_MONOTONIC") == 1


def go_program(tmp_path) -> list[str]:
    """A Go program and its arguments (taking a file to read): go_clock.go built with
    the Go toolchain, or else a Go binary the Google Cloud SDK installs; skip without."""
    go = shutil.which("go")
    if go is not None:
        out = tmp_path / "go_clock"
        src = os.path.join(os.path.dirname(__file__), "..", "programs", "go_clock.go")
        subprocess.run([go, "build", "-o", str(out), src], check=True, capture_output=True,
                       env={**os.environ, "CGO_ENABLED": "0"}, timeout=300)
        return [str(out)]
    crc32c = shutil.which("gcloud-crc32c")
    if crc32c is not None:
        return [os.path.realpath(crc32c)]
    pytest.skip("no Go toolchain and no Go program on this machine")


def test_go_runtime_reads_the_hosts_vdso(tmp_path, monkeypatch):
    """Go parses the vDSO itself: with the host's, its runtime's clock reads make no
    system call; without one (no image), the same run traps them."""
    argv = go_program(tmp_path)
    data = tmp_path / "data.txt"
    data.write_bytes(b"hello\n")

    def clock_calls() -> int:
        with SimHost(strace="deterministic") as host:
            p = host.spawn(argv + [str(data)])
            host.run()
            assert p.exit_status == Exited(0), p.stderr
            return p.strace().count("clock_gettime(")

    assert clock_calls() == 0
    monkeypatch.setattr(core, "vdso_image", lambda: None)
    assert clock_calls() > 0


def test_vdso_answers_as_the_trapped_calls(build):
    """Every clock id (valid, CPU-time, unknown, negative), gettimeofday with its
    time zone, time and getcpu: libc's answer (the host's vDSO where it has one) is
    the trapped system call's, before and after CLOCK_REALTIME is set 1,000 s ahead.
    CPU-time clocks are trapped both ways: each read costs the model's 1 us of CPU."""
    with SimHost() as host:
        p = host.spawn([build("vdso_vs_syscall"), "set"])
        host.run()
        assert p.exit_status == Exited(0), p.stderr
    lines = p.stdout.decode().splitlines()
    assert len(lines) == 2 * 20
    cpu_clocks = {"2", "3", "-6"}  # PROCESS_ and THREAD_CPUTIME_ID, the caller's by pid 0
    for line in lines:
        name, rest = line.split(" libc ")
        libc, sys_ = rest.split(" sys ")
        if name.split()[-1] in cpu_clocks and "clock" in name:
            (rc1, v1), (rc2, v2) = libc.split(), sys_.split()
            assert rc1 == rc2 == "0" and int(v2) - int(v1) == 1000, line
        else:
            assert libc == sys_, line
    values = {name: rest.split(" sys ")[0] for name, rest in
              (line.split(" libc ") for line in lines)}
    assert values["before clock 0"] == f"0 {START * 10**9}"
    assert values["after clock 0"] == values["after clock 11"] == f"0 {(START + 1000) * 10**9}"
    # the monotonic clocks stay, at the time since the boot (a minute before the start)
    assert values["before clock 1"] == values["after clock 1"] == f"0 {60 * 10**9}"
    assert values["after time"] == f"0 {START + 1000}"
    assert values["after clock 12"] == values["after clock -1"] == "EINVAL 0"


@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_musl_finds_the_hosts_vdso(tmp_path, static):
    """musl looks the vDSO up itself (its own ELF walk, DT_HASH or DT_GNU_HASH):
    vdso_reads built with musl-gcc reads the same virtual values without a stop."""
    musl_gcc = shutil.which("musl-gcc")
    if musl_gcc is None:
        pytest.skip("musl-gcc is not installed")
    programs = os.path.join(os.path.dirname(__file__), "..", "programs")
    prog = tmp_path / "vdso_reads_musl"
    subprocess.run([musl_gcc, "-O2", "-I", programs, *(["-static"] if static else []),
                    "-o", str(prog), os.path.join(programs, "vdso_reads.c")],
                   check=True, capture_output=True, timeout=120)
    lines, strace = run(str(prog))
    assert lines[:5] == expected()
    assert strace.count("clock_gettime(") == 1  # the CPU-time clock only
    assert strace.count("gettimeofday(") == 0


def test_a_program_that_cannot_map_the_page_runs_without_a_vdso(build):
    """The clock page's file gone: the program's openat fails, its entry code is put
    back, it starts with no vDSO and its clock reads trap, same values."""
    with SimHost(strace="deterministic") as host:
        os.unlink(host._engine.clock_page.path)
        p = host.spawn([build("vdso_reads"), "10"])
        host.run()
        assert p.exit_status == Exited(0), p.stderr
    lines = p.stdout.decode().splitlines()
    assert lines[0] == "vdso no"
    assert lines[2] == "unchanged 50 of 50" and lines[3:5] == expected()[3:5]
    assert p.strace().count("clock_gettime(") > 55  # 5 x (1 + 10) reads, and more
