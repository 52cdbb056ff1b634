"""Drop-in mode: the test's monotonic clocks are its programs'.

The test stands in its host, so ``time.monotonic``, ``time.perf_counter`` and
``time.clock_gettime`` of CLOCK_MONOTONIC and CLOCK_BOOTTIME count from the host's
boot, as CLOCK_MONOTONIC does for its programs (kernel/clock.py), and the test's
/proc/uptime is theirs. A reading a program makes lies between the test's readings
before and after it ran, natively and under ``--simproc``; in the host the first
reading is the host's first instant, a minute after its boot.
"""
from __future__ import annotations

import pytest

from .test_dropin_pipes import run_checked

pytest_plugins = ["pytester"]

INNER = '''
import json
import subprocess
import sys
import time

CLOCKS = {"monotonic": time.CLOCK_MONOTONIC, "boottime": time.CLOCK_BOOTTIME}
PROGRAM = ("import time, json; print(json.dumps([time.clock_gettime_ns(time.CLOCK_MONOTONIC),"
           " time.clock_gettime_ns(time.CLOCK_BOOTTIME), time.time_ns()]))")


def readings():
    return {"monotonic_ns": time.monotonic_ns(), "perf_counter_ns": time.perf_counter_ns(),
            "monotonic": time.clock_gettime_ns(time.CLOCK_MONOTONIC),
            "boottime": time.clock_gettime_ns(time.CLOCK_BOOTTIME),
            "float": time.monotonic(), "realtime": time.clock_gettime_ns(time.CLOCK_REALTIME),
            "time": time.time_ns()}


def test_a_programs_monotonic_reading_is_between_the_tests():
    first = readings()
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    before = readings()
    out = subprocess.run([sys.executable, "-c", PROGRAM], stdout=subprocess.PIPE,
                         check=True).stdout
    after = readings()
    mono, boot, real = json.loads(out)
    slack = 1000   # the test reads its clock to the microsecond
    for name in ("monotonic_ns", "perf_counter_ns", "monotonic"):
        assert before[name] - slack <= mono <= after[name] + slack, name
    assert before["boottime"] - slack <= boot <= after["boottime"] + slack
    assert abs(first["boottime"] / 1e9 - uptime) < 5    # since the boot, as /proc/uptime
    assert abs(first["float"] - first["monotonic_ns"] / 1e9) < 0.01
    # the date, far above: the boot as realtime - monotonic is the test's and the program's
    assert real - mono > 20 * 365 * 86400 * 10**9
    assert before["realtime"] - slack <= real <= after["time"] + slack
    assert abs((before["realtime"] - before["monotonic"]) - (real - mono)) < 10**7
    print("OBSERVED", json.dumps([first, uptime, mono, boot, real]))
'''


@pytest.mark.parametrize("args", [["--simproc"], []], ids=["simproc", "native"])
def test_the_tests_monotonic_clock_is_its_programs(observed, args):
    [(first, uptime, mono, boot, real)] = observed(INNER, args, passed=1)
    if not args:
        return
    # the host's first instant, a minute after its boot (the default start_time)
    assert first["monotonic_ns"] == first["perf_counter_ns"] - 1000 == 60 * 10**9
    assert first["monotonic"] == 60 * 10**9 + 2000 and first["boottime"] == 60 * 10**9 + 3000
    assert first["realtime"] == 946684800 * 10**9 + 5000
    assert uptime == 60.0
    assert 60 * 10**9 < mono <= boot < 61 * 10**9
    assert real - mono == (946684800 - 60) * 10**9


BAD_CLOCK_IDS = """
    import subprocess
    import time

    import pytest

    def test_a_clock_id_is_an_int():
        pid = int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True,
                                 check=True).stdout)
        for read in (time.clock_gettime, time.clock_gettime_ns):
            with pytest.raises(TypeError, match="'float' object cannot be interpreted"):
                read(float(time.CLOCK_REALTIME))
        assert time.clock_gettime(True) > 0   # a bool is an int
        host_check(pid)
"""


@pytest.mark.parametrize("args", [["--simproc"], []], ids=["simproc", "native"])
def test_a_float_clock_id_is_refused_as_natively(pytester, args):
    run_checked(pytester, BAD_CLOCK_IDS, args, passed=1)
