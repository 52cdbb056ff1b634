"""ps(1), pgrep(1), pkill(1), pidof(1), killall(1), top(1), pstree(1), psutil and
os.listdir run in a host see exactly the host's processes, by their virtual pids
(procview.py, syscalls/procfs.py).

Natively these tools see the whole machine, so the comparison with a native run is on
a shell's own children, their pids written as names; in a host the whole listing is
known and checked exactly. Each test skips when its tool is not installed.
"""
from __future__ import annotations

import os
import sys

import pytest

from pytest_simproc import Exited, SimHost

from .conftest import CLEAN_ENV, run_native

# The shell's children seen by each tool, with their pids written SH, S1, S2.
RELATIVE = r"""
sleep 100 & s1=$!
sleep 200 & s2=$!
sleep 0.5
names() { sed -E "s/\b$$\b/SH/g; s/\b$s1\b/S1/g; s/\b$s2\b/S2/g" | awk '{$1=$1};1'; }
ps -o pid=,stat=,comm= -p $$ | names
ps -o pid=,ppid=,stat=,comm= -p $s1,$s2 | names
pgrep -P $$ sleep | names
pgrep -n -P $$ sleep | names
top -bn1 -p $s1 | awk '$1 ~ /^[0-9]+$/ {print $1, $8, $12}' | names
kill $(pgrep -o -P $$ sleep)
wait $s1; echo "sleep 100: $?"
pkill -P $$ sleep
wait $s2; echo "sleep 200: $?"
"""
RELATIVE_OUT = b"""\
SH S bash
S1 SH S sleep
S2 SH S sleep
S1
S2
S2
S1 S sleep
sleep 100: 143
sleep 200: 143
"""


def _tools(tool, *names):
    return [tool(name) for name in names]


def test_tools_see_a_shells_children_as_natively(tool):
    bash, *_ = _tools(tool, "bash", "ps", "pgrep", "pkill", "top", "sleep")
    res = run_native([bash, "-c", RELATIVE], env=CLEAN_ENV)
    assert (res.returncode, res.stdout, res.stderr) == (0, RELATIVE_OUT, b"")
    with SimHost() as host:
        p = host.spawn([bash, "-c", RELATIVE], env=CLEAN_ENV)
        host.run()
        assert (p.exit_status, p.stdout, p.stderr) == (Exited(0), RELATIVE_OUT, b"")


WHOLE = r"""
sleep 100 & s1=$!
sleep 200 & s2=$!
ps -eo pid,ppid,pgid,sid,stat,comm
ps -ef | awk '{print $2, $3, $5, $6, $7, $8, $9}'
pgrep sleep | tr '\n' ' '; echo
pidof sleep
top -bn1 | awk 'NR == 2 {$1=$1; print} $1 ~ /^[0-9]+$/ {print $1, $3, $4, $8, $12}'
pstree -p 1
killall -e sleep
wait $s1; echo "sleep 100: $?"
wait $s2; echo "sleep 200: $?"
sleep 300 & s3=$!
kill $(pgrep sleep)
wait $s3; echo "sleep 300: $?"
"""
WHOLE_OUT = b"""\
  PID  PPID  PGID   SID STAT COMMAND
    1     0     1     1 Ss   init
 1000     1     1     1 S    bash
 1001  1000     1     1 S    sleep
 1002  1000     1     1 S    sleep
 1003  1000     1     1 R    ps
PID PPID STIME TTY TIME CMD 
1 0 00:00 ? 00:00:00 init 
1000 1 00:00 ? 00:00:00 BASH -c
1001 1000 00:00 ? 00:00:00 sleep 100
1002 1000 00:00 ? 00:00:00 sleep 200
1004 1000 00:00 ? 00:00:00 ps -ef
1005 1000 00:00 ? 00:00:00 awk {print
1001 1002 
1002 1001
Tasks: 6 total, 1 running, 5 sleeping, 0 stopped, 0 zombie
1 20 0 S init
1000 20 0 S bash
1001 20 0 S sleep
1002 20 0 S sleep
1009 20 0 R top
1010 20 0 S awk
init(1)---bash(1000)-+-pstree(1011)
                     |-sleep(1001)
                     `-sleep(1002)
sleep 100: 143
sleep 200: 143
sleep 300: 143
"""


def test_tools_list_exactly_the_hosts_processes(tool):
    bash, *_ = _tools(tool, "bash", "ps", "pgrep", "pidof", "top", "pstree", "killall", "sleep")
    with SimHost() as host:
        p = host.spawn([bash, "-c", WHOLE], env=dict(CLEAN_ENV, TZ="UTC"))
        host.run()
        assert (p.exit_status, p.stderr) == (Exited(0), b"")
        assert p.stdout.decode() == WHOLE_OUT.decode().replace("BASH", bash)


PSUTIL = """
import os, subprocess, time, psutil
kid = subprocess.Popen(["sleep", "100"])
zombie = os.fork()
if zombie == 0:
    os._exit(3)
time.sleep(1)
print(sorted(int(n) for n in os.listdir("/proc") if n.isdigit()))
print(psutil.pids())
for p in psutil.process_iter(["pid", "ppid", "name", "status"]):
    print(p.info["pid"], p.info["ppid"], p.info["name"], p.info["status"])
me = psutil.Process()
print([c.pid for c in me.children()], me.create_time() - psutil.boot_time())
print(psutil.Process(kid.pid).cmdline(), psutil.pid_exists(kid.pid), psutil.pid_exists(4242))
kid.kill(); kid.wait(); os.waitpid(zombie, 0)
print(psutil.pids())
"""

# init sleeps, the caller runs, its child sleeps in the host (not "tracing-stop"), the
# forked child is a zombie until waited for; the caller started at the host's boot
PSUTIL_OUT = """\
[1, 1000, 1001, 1002]
[1, 1000, 1001, 1002]
1 0 init sleeping
1000 1 python running
1001 1000 sleep sleeping
1002 1000 python zombie
[1001, 1002] 60.0
['sleep', '100'] True False
[1, 1000]
"""


def test_psutil_sees_the_hosts_processes():
    pytest.importorskip("psutil")
    with SimHost() as host:
        p = host.spawn([sys.executable, "-c", PSUTIL], env=dict(CLEAN_ENV))
        host.run()
        assert (p.exit_status, p.stderr) == (Exited(0), b"")
        name = os.path.basename(sys.executable)[:15]  # comm: the name it was run by
        assert p.stdout.decode() == PSUTIL_OUT.replace("python", name)
