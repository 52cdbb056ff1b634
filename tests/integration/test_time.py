"""Virtual time: every clock, sleeps, python's time.sleep, bash background sleeps
(tests/programs/clocks.c)."""
from __future__ import annotations

import time

from pytest_simproc import Exited, SimHost

from .conftest import later_by_startups

START = 946684800
NS = 1_000_000_000
CLOCKS = ["REALTIME", "MONOTONIC", "BOOTTIME", "REALTIME_COARSE", "MONOTONIC_COARSE",
          "MONOTONIC_RAW", "PROCESS_CPUTIME_ID", "THREAD_CPUTIME_ID", "TAI"]


def ns(text: str) -> int:
    """'946684800.000000000' -> integer nanoseconds (exact, no float rounding)."""
    sec, _, frac = text.partition(".")
    return int(sec) * NS + int(frac.ljust(9, "0")[:9])


def parse_clocks(stdout: bytes) -> dict:
    """Return {"gettime": {name: ns}, "getres": {name: ns}, key: [fields...]}."""
    out = {"gettime": {}, "getres": {}}
    for line in stdout.decode().splitlines():
        parts = line.split()
        if parts[0] in ("gettime", "getres"):
            assert parts[2] == "ok", line
            out[parts[0]][parts[1]] = ns(parts[3])
        else:
            out[parts[0]] = parts[1:]
    return out


def machine_tai_offset() -> int:
    """This machine's CLOCK_TAI - CLOCK_REALTIME in whole seconds (adjtimex(2)'s tai:
    0 when nothing set it, 37 with a time daemon that did, 1 on some VMs)."""
    return round(time.clock_gettime(time.CLOCK_TAI) - time.clock_gettime(time.CLOCK_REALTIME))


def check_common(r: dict, divisor: int, tai_offset: int, native: bool = False) -> None:
    """What holds natively and in the host. Natively, times only have lower bounds:
    a loaded machine makes a real run late, never early."""
    assert sorted(r["gettime"]) == sorted(CLOCKS)
    assert sorted(r["getres"]) == sorted(CLOCKS)
    for name, res in r["getres"].items():
        assert 0 < res <= NS // 10, (name, res)
    assert r["gettime_bad_clock"] == ["-1", "EINVAL"]
    assert r["nanosleep"] == ["0"]
    assert r["clock_nanosleep_rel"] == ["0"]
    assert r["clock_nanosleep_abs"] == ["0"]
    assert r["nanosleep_bad"] == ["-1", "EINVAL"]
    g = r["gettime"]
    assert g["BOOTTIME"] >= g["MONOTONIC"]
    assert g["PROCESS_CPUTIME_ID"] >= 0 and g["THREAD_CPUTIME_ID"] >= 0
    # TAI is read after REALTIME: its offset, plus however long the reads took
    assert g["TAI"] - g["REALTIME"] >= tai_offset * NS, (g["TAI"] - g["REALTIME"], tai_offset)
    if not native:
        assert g["TAI"] - g["REALTIME"] == tai_offset * NS
    # the absolute target is "now + 3 s", read just after the previous line's realtime
    lag = ns(r["abs_target"][0]) - ns(r["after_clock_nanosleep_rel"][0]) - 3 * NS // divisor
    assert lag >= 0 if native else lag == 0, lag


def sleeps(r: dict) -> list[tuple[int, int]]:
    """(realtime, monotonic) at start and after each of the three sleeps, in ns."""
    g = r["gettime"]
    points = [(g["REALTIME"], g["MONOTONIC"])]
    for key in ("after_nanosleep", "after_clock_nanosleep_rel", "after_clock_nanosleep_abs"):
        rt, mono = r[key]
        points.append((ns(rt), ns(mono)))
    return points


def test_clocks_native(build, native):
    """The same program natively: the order of the readings and sleeps that last at
    least as asked (nanosleep(2)), not how much longer they took (the load decides)."""
    divisor = 10    # 0.15 s + 0.2 s + 0.3 s of real sleeping
    before = time.time_ns()
    res = native([build("clocks"), str(divisor)])
    after = time.time_ns()
    assert res.returncode == 0, res.stdout.decode()
    r = parse_clocks(res.stdout)
    check_common(r, divisor, machine_tai_offset(), native=True)
    g = r["gettime"]
    assert before <= g["REALTIME"] <= after
    assert g["REALTIME_COARSE"] >= g["REALTIME"] - NS // 10  # lags by a tick or so
    sec, usec = r["gettimeofday"][1].split(".")
    assert g["REALTIME"] // 1000 <= int(sec) * 1_000_000 + int(usec) <= after // 1000
    assert g["REALTIME"] // NS - 1 <= int(r["time"][0]) <= after // NS
    points = sleeps(r)
    # the two relative sleeps run on CLOCK_MONOTONIC: never early on it (nanosleep(2))
    for (_, mono0), (_, mono1), length in zip(points, points[1:3], (1.5, 2)):
        want = int(length * NS) // divisor
        assert want <= mono1 - mono0, (length, mono1 - mono0)
    # the absolute one sleeps until a CLOCK_REALTIME instant; only that clock is bound
    # by it (a machine whose time daemon slews or steps REALTIME moves it against
    # MONOTONIC: CI saw a 0.3 s sleep last 0.2987 s of MONOTONIC)
    assert points[3][0] >= ns(r["abs_target"][0])


def test_clocks_in_host(build):
    with SimHost() as host:
        p = host.spawn([build("clocks")])
        host.run()
        assert p.exit_status == Exited(0), p.stdout.decode()
        r = parse_clocks(p.stdout)
        check_common(r, 1, 0)
        g = r["gettime"]
        assert g["REALTIME"] == START * NS
        assert START * NS - NS // 100 <= g["REALTIME_COARSE"] <= START * NS
        assert r["gettimeofday"] == ["ok", f"{START}.000000"]
        assert r["time"] == [str(START)]
        points = sleeps(r)
        assert [rt for rt, _ in points] == [START * NS, START * NS + 1_500_000_000,
                                            START * NS + 3_500_000_000,
                                            START * NS + 6_500_000_000]
        assert r["abs_target"] == [f"{START + 6}.500000000"]
        mono = [m for _, m in points]
        assert [b - a for a, b in zip(mono, mono[1:])] == [1_500_000_000, 2 * NS, 3 * NS]
        assert host.now == START + 6.5


def test_python_sleep_is_virtual(tool, clean_env):
    python3 = tool("python3")
    with SimHost() as host:
        p = host.spawn([python3, "-c", "import time; time.sleep(60); print(time.time())"],
                       env=clean_env)
        host.run()
        assert p.stdout == b"946684860.0\n", p.stderr.decode()
        assert p.exit_status == Exited(0)
        assert host.now == START + 60


def test_bash_background_sleep(tool, clean_env):
    bash = tool("bash")
    tool("sleep")
    with SimHost() as host:
        p = host.spawn([bash, "-c", "sleep 100 & sleep 50; wait; echo done"], env=clean_env)
        host.run()
        assert p.stdout == b"done\n", p.stderr.decode()
        assert p.exit_status == Exited(0)
        assert later_by_startups(host.now, START + 100, 1)   # after sleep 100 started
        sleeps = [q for q in host.processes()
                  if q.pid != 1 and list(q.argv)[:1] == ["sleep"]]
        assert sorted(list(q.argv) for q in sleeps) == [["sleep", "100"], ["sleep", "50"]]
        assert all(q.exit_status == Exited(0) and q.reaped_by == 1000 for q in sleeps)


def test_cpu_time_does_not_depend_on_strace_logging(tool):
    """The CPU model charges the simulated calls only: logging every call for strace
    traps many more, and must not change what the program measures."""
    script = ("import os, time; [os.getppid() for _ in range(100)]; "
              "open('/dev/null').read(); print(time.process_time_ns())")
    outputs = []
    for mode in ("off", "deterministic"):
        with SimHost(strace=mode) as host:
            proc = host.spawn([tool("python3"), "-c", script])
            host.run()
            assert proc.exit_status == Exited(0), proc.stderr
            outputs.append(int(proc.stdout))
    assert outputs[0] == outputs[1] > 100_000
