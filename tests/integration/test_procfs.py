"""/proc inside a host is the host's (tests/programs/procfs.c, syscalls/procfs.py,
procview.py).

The program opens its child's and the child's thread's /proc files by pid, absolute and
relative (cwd /proc, a descriptor of /proc or of /proc/<child>), also once the child's
main thread has ended, and prints what it read; it passes the same paths to every other
call that takes one (access to execve) and lists /proc and the task directories. Natively the pids are native; in a host
they are virtual, and the same lines must come out: each open reached the process the
program meant.
"""
from __future__ import annotations

from pytest_simproc import Exited, SimHost

EXPECTED = """\
open("/proc/CHILD/comm") = kid
openat(AT_FDCWD, "/proc/CHILD/comm") = kid
openat(AT_FDCWD, "/proc/CHILD/task/CHILD/comm") = kid
openat(AT_FDCWD, "/proc/CHILD/task/THREAD/comm") = kidthread
openat(AT_FDCWD, "/proc/THREAD/comm") = kidthread
openat(AT_FDCWD, "/proc/PARENT/task/CHILD/comm") = -1 ENOENT
openat(AT_FDCWD, "//proc/./CHILD/../CHILD//comm") = kid
openat(AT_FDCWD, "/proc/self/comm") = procfs
openat(AT_FDCWD, "/proc/CHILD/task/THREAD/../../task/CHILD/../THREAD/../../task/THREAD/comm") = kidthread
open("CHILD/comm") = kid
openat(AT_FDCWD, "CHILD/task/THREAD/comm") = kidthread
openat(AT_FDCWD, "self/comm") = procfs
openat(fd of /proc, "CHILD/comm") = kid
openat(fd of /proc/CHILD, "comm") = kid
openat(fd of /proc/CHILD, "task/THREAD/comm") = kidthread
openat(fd of /proc/CHILD, "../PARENT/comm") = procfs
open("task/THREAD/comm") = kidthread
access("/proc/CHILD/oom_score_adj") = 0
access("/proc/PARENT/task/CHILD") = -1 ENOENT
faccessat("CHILD/task/THREAD/comm") = 0
faccessat2("/proc/CHILD/task/THREAD") = 0
stat("/proc/CHILD/task/THREAD") = 0
lstat("/proc/CHILD/task/THREAD/comm") = 0
fstatat("CHILD/task/THREAD") = 0
statx("/proc/CHILD/task/THREAD/stat") = 0
stat("/proc/PARENT/task/THREAD") = -1 ENOENT
newfstatat("(char *)-1") = -1 EFAULT
openat("(char *)-1") = -1 EFAULT
access("(char *)16") = -1 EFAULT
readlink("/proc/self", (char *)-1, "16") = -1 EFAULT
getdents64("fd of /proc", (void *)-1, "4096") = -1 EFAULT
lgetxattr("/proc/CHILD/task/THREAD") = -1 EOPNOTSUPP
getxattr("/proc/PARENT/task/THREAD") = -1 ENOENT
chmod("/proc/CHILD/task/THREAD") = -1 EPERM
utimensat("/proc/PARENT/task/THREAD/comm") = -1 ENOENT
readlink("/proc/self") = PARENT
readlink("/proc/thread-self") = PARENT/task/PARENT
readlinkat("self") = PARENT
readlink("/proc/CHILD/exe") = procfs
readlinkat("CHILD/task/THREAD/exe") = procfs
readlink("/proc/self/fd/100") = /proc/CHILD/task
readlink("/proc/thread-self/cwd") = /proc/CHILD/task
readlink("/proc/self/fd/101") = /proc/CHILD/stat
inotify_add_watch("/proc/CHILD/task/THREAD") = 0
listing /proc = PARENT CHILD and others
listing /proc/CHILD/task = CHILD THREAD
listing /proc/PARENT/task = PARENT
old listing /proc/CHILD/task = CHILD THREAD
getdents64 of an O_PATH /proc("") = -1 EBADF
chdir("/proc/CHILD/task/THREAD") = 0
open("comm") = kidthread
openat(AT_FDCWD, "/proc/CHILD/comm") = kid
openat(AT_FDCWD, "/proc/CHILD/task/THREAD/comm") = kidthread
open("../THREAD/comm") = kidthread
openat(AT_FDCWD, "/proc/CHILD/comm") = -1 ENOENT
openat(fd of /proc, "CHILD/comm") = -1 ENOENT
execve("/proc/PARENT/exe") = again
"""


def test_procfs_native(build, native):
    res = native([build("procfs")])
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode() == EXPECTED


def test_procfs_paths_name_host_processes(build):
    with SimHost() as host:
        p = host.spawn([build("procfs")])
        host.run()
        assert p.exit_status == Exited(0), (p.stdout, p.stderr)
        assert p.stdout.decode() == EXPECTED
        assert p.stderr == b""
        # ENOENT for a pid the host does not have is a pid namespace's answer, no refusal
        assert host.unsupported_syscalls == [] and host.report()["host"]["refused"] == []


NATIVE_SELF = ("import os\n"
               "me = os.readlink('/proc/self')\n"          # what /proc shows: a native pid
               "print(open(f'/proc/{me}/comm').read().strip(),"
               " sorted(os.listdir(f'/proc/{me}/task')) == [me])\n")


def test_proc_paths_with_the_native_pids_proc_shows_still_open(native):
    """/proc's own answers (readlink /proc/self, directory listings) are native pids:
    a host process's native pid opens as it is, as in the native run."""
    res = native(["python3", "-c", NATIVE_SELF])
    assert res.stdout == b"python3 True\n"
    with SimHost() as host:
        p = host.spawn(["python3", "-c", NATIVE_SELF])
        host.run()
        assert (p.exit_status, p.stdout, p.stderr) == (Exited(0), b"python3 True\n", b"")


VIEW = """
import os, signal, sys, time
def stat(pid):
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
def status(pid):
    return dict(l.split(":", 1) for l in open(f"/proc/{pid}/status").read().splitlines())
def state():
    return stat(kid)[0] + " " + status(kid)["State"].split()[0]
me = os.getpid()
time.sleep(0.5)
kid = os.fork()
if kid == 0:
    time.sleep(100)
    os._exit(0)
time.sleep(0.5)
print("asleep", state())
os.kill(kid, signal.SIGSTOP)
time.sleep(0.5)
print("stopped", state())
os.kill(kid, signal.SIGCONT)
time.sleep(0.5)
print("continued", state())
print("me", stat(me)[0], stat(me)[1] != str(me), status(me)["TracerPid"].strip())
f, s = stat(kid), status(kid)
print("kid", f[1] == str(me), s["PPid"].strip() == str(me), s["Pid"].strip() == str(kid),
      s["NSpid"].split()[-1] == str(kid), s["Tgid"].strip() == str(kid),
      open(f"/proc/{me}/task/{me}/children").read() == f"{kid} ")
if sys.argv[1:] == ["numbers"]:
    print("numbers", f[1:6], f[19], stat(me)[19], s["NSpid"], s["NSsid"])
    print(open("/proc/uptime").read().split()[0],
          [l.strip() for l in open("/proc/stat") if l.startswith("btime")],
          open("/proc/loadavg").read().strip())
os.kill(kid, signal.SIGKILL)
time.sleep(0.5)
print("killed", state(), open(f"/proc/{kid}/cmdline").read() == "")
os.waitpid(kid, 0)
print("reaped", os.path.exists(f"/proc/{kid}"))
"""
VIEW_OUT = """\
asleep S S
stopped T T
continued S S
me R True 0
kid True True True True True True
killed Z Z True
reaped False
"""


def test_proc_files_say_what_a_native_run_says(native, tool):
    """A parked child sleeps (S, not the host's tracing stop t), a stopped one is T,
    a killed one a zombie (Z, empty cmdline) until reaped; TracerPid is 0."""
    res = native([tool("python3"), "-c", VIEW])
    assert (res.returncode, res.stdout.decode(), res.stderr) == (0, VIEW_OUT, b"")
    with SimHost() as host:
        p = host.spawn([tool("python3"), "-c", VIEW])
        host.run()
        assert (p.exit_status, p.stdout.decode(), p.stderr) == (Exited(0), VIEW_OUT, b"")


def test_proc_numbers_are_the_hosts(tool):
    """ppid, pgrp, session, no controlling tty (0, -1), start times in ticks of virtual
    time since the host's boot, a minute before its start (0.5 s after the start:
    6050; init, there from the start: 6000), uptime, btime, loadavg."""
    with SimHost(start_time=946684800) as host:
        p = host.spawn([tool("python3"), "-c", VIEW, "numbers"])
        host.run()
        assert (p.exit_status, p.stderr) == (Exited(0), b"")
        assert p.stdout.decode().splitlines()[5:7] == [
            "numbers ['1000', '1', '1', '0', '-1'] 6050 6000 \t1001 \t1",
            "62.00 ['btime 946684740'] 0.00 0.00 0.00 1/3 1001"]


def test_page_fault_counters_are_zero_in_a_host():
    # minflt, cminflt, majflt and cmajflt (proc(5) fields 10-13) count the machine's page
    # cache as much as the program: a host renders them 0, so two runs read the same file
    from pytest_simproc import SimHost
    with SimHost() as host:
        p = host.spawn(["cat", "/proc/self/stat"])
        host.run()
        fields = p.stdout.split(b")")[-1].split()
    assert fields[7:11] == [b"0", b"0", b"0", b"0"], p.stdout


SCHED_SCRIPT = """
sleep 5 & kid=$!
head -1 /proc/$kid/sched
grep -E '^(se.sum_exec_runtime|nr_switches|se.avg.util_avg|prio) ' /proc/$kid/sched
cat /proc/$kid/schedstat /proc/$kid/timens_offsets /proc/$kid/task/$kid/timens_offsets
cat /proc/$kid/stack 2>/dev/null || echo "stack: no such file"
head -1 /proc/1/sched
readlink /proc/self/ns/pid
wait
"""


def test_sched_schedstat_timens_offsets_and_stack_in_virtual_terms(tool):
    """/proc/N/sched named the native pid in its head and the machine's scheduler
    numbers below it, schedstat the machine's times, /proc/N/stack the kernel's
    ptrace_stop under a parked task; timens_offsets was the machine's, and init had
    none of them. ns links read as the host's first namespaces'."""
    with SimHost() as host:
        p = host.spawn([tool("bash"), "-c", SCHED_SCRIPT])
        host.run()
        assert p.exit_status == Exited(0), p.stderr
        kid = next(q for q in host.processes() if q.argv[0] == "sleep")
        lines = p.stdout.decode().splitlines()
    assert lines[0] == f"sleep ({kid.pid}, #threads: 1)"
    runtime = lines[1].split(":")[1].strip()
    assert lines[1].startswith("se.sum_exec_runtime") and lines[2].split() == ["nr_switches",
                                                                              ":", "0"]
    assert lines[3].split() == ["se.avg.util_avg", ":", "0"]
    assert lines[4].split() == ["prio", ":", "120"]
    ns, zero, slices = lines[5].split()   # the CPU model's time, as sched's runtime
    assert (zero, slices) == ("0", "0") and runtime == "%d.%06d" % divmod(int(ns), 1_000_000)
    assert lines[6:10] == ["monotonic           0         0", "boottime            0         0"] * 2
    assert lines[10:] == ["stack: no such file", "init (1, #threads: 1)", "pid:[4026531836]"]
