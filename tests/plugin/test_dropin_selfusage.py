"""Drop-in mode: the test's view of its own CPU time and context switches (issue 13).

Under ``--simproc`` the host's tracer and watchdog threads run in the test process and
the test's own threads run the host: the kernel counts that as the test's. The inner
suite reads its own usage every way real suites do (resource.getrusage, os.times,
time.process_time/thread_time, clock_gettime, psutil, /proc/self/stat and status), as
invoke's ``isnt_cpu_heavy`` and psutil's ``test_num_ctx_switches`` do. It passes natively
and under ``--simproc``; each test prints its programs' pids and the time, and the outer
test checks that under ``--simproc`` they were the host's and the time virtual.

CPU is compared with CPU, never with the wall clock: what the test's programs cost the
tracer (tens of microseconds a trapped call) against what the test itself does.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = """
import os
import pathlib
import resource
import subprocess
import sys
import threading
import time

import psutil
from dropin_helpers import observed

# a program that makes 20,000 system calls the host traps, printing as it goes
CHATTY = '''
import os, time
for i in range(40):
    for _ in range(500):
        os.getppid()
    print(i, flush=True)
    time.sleep(0.01)
'''


def stat_fields(path="/proc/self/stat"):
    \"\"\"utime, stime, cutime, cstime (s) of proc(5) stat.\"\"\"
    with open(path, "rb") as f:
        fields = f.read().rpartition(b")")[2].split()
    return [int(n) / os.sysconf("SC_CLK_TCK") for n in fields[11:15]]


def own_cpu():
    \"\"\"The process's CPU time (s), read every way: getrusage, os.times,
    process_time, clock_gettime, psutil, /proc/self/stat.\"\"\"
    ru = resource.getrusage(resource.RUSAGE_SELF)
    t = os.times()
    ps = psutil.Process().cpu_times()
    user, system, _, _ = stat_fields()
    return [ru.ru_utime + ru.ru_stime, t.user + t.system, time.process_time(),
            time.clock_gettime(time.CLOCK_PROCESS_CPUTIME_ID), ps.user + ps.system,
            user + system]


def thread_cpu():
    \"\"\"The calling thread's CPU time (s): getrusage, thread_time, clock_gettime,
    /proc/thread-self/stat, psutil's threads().\"\"\"
    ru = resource.getrusage(resource.RUSAGE_THREAD)
    user, system, _, _ = stat_fields("/proc/thread-self/stat")
    mine = [t for t in psutil.Process().threads() if t.id == threading.get_native_id()]
    return [ru.ru_utime + ru.ru_stime, time.thread_time(),
            time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID), user + system,
            mine[0].user_time + mine[0].system_time]


def used(before, after):
    return [b - a for a, b in zip(before, after)]


def test_waiting_for_a_busy_program_is_not_cpu_heavy():
    before, mine = own_cpu(), thread_cpu()
    p = subprocess.Popen([sys.executable, "-c", CHATTY], stdout=subprocess.PIPE)
    lines = p.stdout.readlines()
    assert p.wait() == 0 and len(lines) == 40
    # natively a few milliseconds (the fork, the reads); the host's tracer spent far
    # more on the program's 20,000 calls, and that is not the test's
    waited, waited_here = used(before, own_cpu()), used(mine, thread_cpu())
    assert max(waited + waited_here) < 0.05, (waited, waited_here)
    # the test's own work counts in full, however it is read
    before, mine = own_cpu(), thread_cpu()
    start = time.thread_time()
    while time.thread_time() - start < 0.2:
        pass
    burnt, burnt_here = used(before, own_cpu()), used(mine, thread_cpu())
    assert min(burnt + burnt_here) > 0.17, (burnt, burnt_here)
    observed("cpu", [p.pid])


def switches():
    \"\"\"Voluntary context switches: the process's (getrusage), the thread's, and
    the main thread's in /proc/self/status, through psutil and pathlib.\"\"\"
    status = [int(line.split()[1])
              for line in pathlib.Path("/proc/self/status").read_text().splitlines()
              if line.startswith("voluntary_ctxt_switches:")]
    return [resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw,
            resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw,
            psutil.Process().num_ctx_switches().voluntary, *status]


def test_each_sleep_is_one_voluntary_switch():
    # once with nothing in the host, once with a program running there
    p = None
    for _ in range(2):
        before = switches()
        t0 = time.time()
        for _ in range(50):
            time.sleep(0.002)  # blocks: one switch
        elapsed = time.time() - t0
        counted = used(before, switches())
        assert all(50 <= n <= 75 for n in counted), counted
        if p is None:
            p = subprocess.Popen(["sleep", "30"])
    p.kill()
    p.wait()
    observed("switches", [p.pid], elapsed)


# a program that uses some CPU (in the host, its CPU model's: 1 us a call, computing
# nothing) and says how much
BURN = '''
import os, time
sum(range(2_000_000))
for _ in range(30_000):
    os.getppid()
print(time.process_time(), flush=True)
time.sleep(60)
'''


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = os.times()
    _, _, cuser, csystem = stat_fields()
    return [ru.ru_utime + ru.ru_stime, t.children_user + t.children_system,
            cuser + csystem]


def test_a_child_counts_once_waited_for():
    before = children_cpu()
    p = subprocess.Popen([sys.executable, "-c", BURN], stdout=subprocess.PIPE)
    its_cpu = float(p.stdout.readline())
    p.kill()
    # not waited for: nothing of it is the test's children's yet
    assert max(used(before, children_cpu())) < its_cpu / 2
    p.wait()
    assert its_cpu > 0.025   # os.times and /proc count 10 ms ticks
    assert min(used(before, children_cpu())) > its_cpu - 0.025
    observed("children", [p.pid])
"""


def test_own_usage_natively(observe):
    assert len(observe(INNER, [], passed=3)) == 3


def test_own_usage_under_simproc(observe, virtual):
    seen = virtual(observe(INNER, ["--simproc", "-p", "timeout", "--timeout=120"],
                           passed=3))
    assert all(pid >= 1000 for pids, _ in seen.values() for pid in pids), seen
    assert seen["switches"][1] == [0.1]   # 50 virtual sleeps of 2 ms, to 10 ms
