"""Nothing escapes: a program inside a host cannot reach a process outside it.

The outside process is a real ``sleep 60`` started natively by the test (in a session of
its own); programs/escape.c gets its native pid on argv, tries to signal, trace, read,
write, open and renice it, and prints what the kernel answered ("call = 0" or
"call = -1 ERRNAME"). Inside the host that pid names nothing: every call fails, the
outside process is unchanged. A native control run shows the same program does reach
it when it is not in a host.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
import tty

import pytest

from pytest_simproc import Exited, Signaled

from .conftest import CLEAN_ENV, proc_stat


def _status_fields(pid: int) -> dict:
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def snapshot(pid: int) -> dict:
    """What a successful escape would change in the outside process."""
    status = _status_fields(pid)
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read().rsplit(")", 1)[1].split()
    with open(f"/proc/{pid}/limits") as f:
        nofile = [line for line in f if line.startswith("Max open files")]
    return {
        "state": status["State"].split()[0],
        "tracer": status["TracerPid"],
        "pending": (status["SigPnd"], status["ShdPnd"]),
        "cpus": status["Cpus_allowed_list"],
        "nice": stat[16],          # proc(5) field 19
        "policy": stat[38],        # proc(5) field 41
        "nofile": nofile,
    }


# The program is given the outside process's pid as an argument: under --simproc-verify
# the second run has its own outside process, with another pid.
GIVEN_A_REAL_PID = pytest.mark.simproc(
    nondeterministic="the program is given the pid of a real process outside the host, "
                     "another one on each run")


@pytest.fixture
def outside():
    """A native ``sleep 60`` outside every host, whose pid is no host pid."""
    started = []
    try:
        for _ in range(20):
            proc = subprocess.Popen(["sleep", "60"], start_new_session=True,
                                    stdin=subprocess.DEVNULL)
            started.append(proc)
            if proc.pid != 1 and not 1000 <= proc.pid < 1100:
                break
        else:
            pytest.skip("every outside pid collided with host pids")
        deadline = time.monotonic() + 10
        while proc_stat(proc.pid)[0] != "S" and time.monotonic() < deadline:
            time.sleep(0.01)  # settled in nanosleep: its state is S from now on
        yield proc
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def run_in_host(host, argv) -> object:
    p = host.spawn(argv, env=CLEAN_ENV)
    host.run()
    assert p.exit_status == Exited(0), (p.exit_status, p.stdout, p.stderr)
    assert p.stderr == b""
    return p


def test_native_control_reaches_the_outside_process(build, outside):
    res = subprocess.run([build("escape"), "peek", str(outside.pid)], capture_output=True,
                         timeout=30)
    assert res.returncode == 0, res
    assert res.stdout.decode() == (
        "kill(PID, 0) = 0\n"
        "pidfd_open(PID) = 0\n"
        'open("/proc/PID/status") = 0\n'
        'openat(fd of /proc, "PID/status") = 0\n'
        'openat2(AT_FDCWD, "/proc/PID/status") = 0\n'
        'open("/proc/thread-self/../../../PID/status") = 0\n'
        'chdir("/proc/PID") = 0\n'
        'open("status") = 0\n')


@GIVEN_A_REAL_PID
def test_outside_pid_cannot_be_signalled_traced_or_opened(simhost, build, outside):
    before = snapshot(outside.pid)
    p = run_in_host(simhost, [build("escape"), "probe", str(outside.pid)])
    assert p.stdout.decode() == (
        "kill(PID, 0) = -1 ESRCH\n"
        "kill(PID, SIGTERM) = -1 ESRCH\n"
        "kill(-PID, SIGTERM) = -1 ESRCH\n"
        "tgkill(PID, PID, SIGTERM) = -1 ESRCH\n"
        "ptrace(PTRACE_ATTACH, PID) = -1 ENOSYS\n"
        "process_vm_readv(PID) = -1 ENOSYS\n"
        "process_vm_writev(PID) = -1 ENOSYS\n"
        "pidfd_open(PID) = -1 ESRCH\n"
        "getpgid(PID) = -1 ESRCH\n"
        "prlimit(PID, RLIMIT_NOFILE) = -1 ESRCH\n")
    refused = {(u["name"], u["pid"]) for u in simhost.unsupported_syscalls}
    assert {("ptrace", 1000), ("process_vm_readv", 1000),
            ("process_vm_writev", 1000)} <= refused
    assert outside.poll() is None
    assert snapshot(outside.pid) == before


def test_inherited_pidfd_of_an_outside_process_is_useless(simhost, build, outside):
    """A pidfd of the outside process handed in as stdin names no host process."""
    pidfd = os.pidfd_open(outside.pid)
    try:
        p = simhost.spawn([build("escape"), "pidfd", "0"], stdin=pidfd, env=CLEAN_ENV)
        simhost.run()
    finally:
        os.close(pidfd)
    assert p.exit_status == Exited(0), (p.stdout, p.stderr)
    assert p.stdout.decode() == ("pidfd_send_signal(FD, SIGTERM) = -1 EBADF\n"
                                 "waitid(P_PIDFD, FD) = -1 EBADF\n")
    assert outside.poll() is None


@GIVEN_A_REAL_PID
def test_outside_pid_has_no_proc_directory(simhost, build, outside):
    """/proc/PID of a process outside the host does not exist inside it (as in a pid
    namespace), however the path is written: its mem is not opened for writing."""
    before = snapshot(outside.pid)
    p = run_in_host(simhost, [build("escape"), "procfs", str(outside.pid)])
    assert p.stdout.decode() == (
        'open("/proc/PID/mem", O_RDWR) = -1 ENOENT\n'
        'open("/proc/PID/status") = -1 ENOENT\n'
        'openat(fd of /proc, "PID/status") = -1 ENOENT\n'
        'openat2(AT_FDCWD, "/proc/PID/status") = -1 ENOENT\n'
        'open("/proc/thread-self/../../../PID/status") = -1 ENOENT\n'
        'chdir("/proc/PID") = -1 ENOENT\n'
        'open("status") = -1 ENOENT\n'
        'open("mem", O_RDWR) = -1 ENOENT\n')
    assert simhost.report()["host"]["refused"] == []  # a pid namespace's answer, no refusal
    assert outside.poll() is None
    assert snapshot(outside.pid) == before


@pytest.mark.parametrize("in_host", [False, True], ids=["native", "host"])
def test_inherited_proc_directory_of_an_outside_process_is_useless(simhost, build, outside,
                                                                   in_host):
    """A descriptor of /proc/PID (outside) handed in as stdin opens nothing in a host;
    natively (harmless mode) it opens the status."""
    fd = os.open(f"/proc/{outside.pid}", os.O_RDONLY | os.O_DIRECTORY)
    try:
        if in_host:
            p = simhost.spawn([build("escape"), "procdir", "0"], stdin=fd, env=CLEAN_ENV)
            simhost.run()
            assert p.exit_status == Exited(0), (p.stdout, p.stderr)
            out = p.stdout
        else:
            out = subprocess.run([build("escape"), "peekdir", "0"], stdin=fd,
                                 capture_output=True, timeout=30).stdout
    finally:
        os.close(fd)
    if in_host:
        assert out.decode() == ('openat(FD, "status") = -1 ENOENT\n'
                                'openat(FD, "mem", O_RDWR) = -1 ENOENT\n')
    else:
        assert out.decode() == 'openat(FD, "status") = 0\n'
    assert outside.poll() is None


@GIVEN_A_REAL_PID
def test_outside_pid_cannot_be_rescheduled(simhost, build, outside):
    before = snapshot(outside.pid)
    p = run_in_host(simhost, [build("escape"), "sched", str(outside.pid)])
    try:
        assert snapshot(outside.pid) == before
        assert p.stdout.decode() == (
            "setpriority(PRIO_PROCESS, PID, 7) = -1 ESRCH\n"
            "sched_setaffinity(PID, {0}) = -1 ESRCH\n"
            "sched_setscheduler(PID, SCHED_BATCH) = -1 ESRCH\n"
            "ioprio_set(PID, BE/7) = -1 ESRCH\n")
    finally:
        assert outside.poll() is None


def test_native_control_observes_the_outside_process(build, outside):
    res = subprocess.run([build("escape"), "observe", str(outside.pid)], capture_output=True,
                         timeout=30)
    lines = res.stdout.decode().splitlines()
    assert lines[0] == "capget(PID) = 0"
    if lines[1] != "perf_event_open(PID) = 0":  # perf_event_paranoid, a container's filter
        pytest.skip(f"perf events on other processes are not allowed here: {lines[1]}")


@GIVEN_A_REAL_PID
def test_outside_pid_cannot_be_observed(simhost, build, outside):
    """capget and perf_event_open name no outside process; a perf event over a whole
    CPU (which would include outside processes) is refused and reported."""
    p = run_in_host(simhost, [build("escape"), "observe", str(outside.pid)])
    assert p.stdout.decode() == ("capget(PID) = -1 ESRCH\n"
                                 "perf_event_open(PID) = -1 ESRCH\n"
                                 "perf_event_open(-1, CPU 0) = -1 EACCES\n")
    refused = simhost.report()["host"]["refused"]
    assert [(r["pid"], r["syscall"]) for r in refused] == [(p.pid, "perf_event_open")]
    assert "outside the host" in refused[0]["message"]
    assert outside.poll() is None


def test_native_control_can_make_the_outside_process_an_io_owner(build, outside):
    res = subprocess.run([build("escape"), "owner", str(outside.pid)], capture_output=True,
                         timeout=30)
    assert res.stdout.decode() == ("fcntl(F_SETOWN, PID) = 0\n"
                                   "fcntl(F_SETOWN_EX, PID) = 0\n"
                                   "ioctl(FIOSETOWN, PID) = 0\n")


@GIVEN_A_REAL_PID
def test_outside_pid_cannot_own_signal_driven_io(simhost, build, outside):
    """F_SETOWN, F_SETOWN_EX and FIOSETOWN with an outside pid fail; the writes that
    would have made the kernel send it SIGIO (which kills a `sleep`) reach nobody."""
    before = snapshot(outside.pid)
    p = run_in_host(simhost, [build("escape"), "owner", str(outside.pid), "send"])
    assert p.stdout.decode() == ("fcntl(F_SETOWN, PID) = -1 ESRCH\n"
                                 "fcntl(F_SETOWN_EX, PID) = -1 ESRCH\n"
                                 "ioctl(FIOSETOWN, PID) = -1 ESRCH\n")
    time.sleep(0.1)
    assert outside.poll() is None
    assert snapshot(outside.pid) == before


def test_kill_minus_one_reaches_only_the_hosts_processes(simhost, build, outside):
    before = snapshot(outside.pid)
    simhost.spawn(["sleep", "1000"], env=CLEAN_ENV)
    simhost.spawn(["bash", "-c", "while :; do sleep 1; done"], env=CLEAN_ENV)
    simhost.spawn(["bash", "-c", "sleep 1000 & (sleep 1000 & wait) & wait"], env=CLEAN_ENV)
    simhost.run_for(2.5)
    victims = [p for p in simhost.processes() if p.pid != 1 and p.state == "running"]
    assert len(victims) >= 7
    killer = run_in_host(simhost, [build("escape"), "killall"])
    # kill(2): -1 reaches every process the caller may signal except init and itself
    assert killer.stdout == b"kill(-1, SIGKILL) = 0\n"
    assert {p.pid: p.exit_status for p in victims} == \
        {p.pid: Signaled(signal.SIGKILL) for p in victims}
    assert all(p.state == "reaped" for p in victims)
    assert simhost.zombies() == []
    init = simhost._engine.table.lookup_any(1)
    assert init is not None and init.state == "running"
    # ...and nothing else: the outside process, and this one, go on
    assert outside.poll() is None
    assert snapshot(outside.pid) == before
    # the host itself goes on too
    after = simhost.spawn(["sh", "-c", "echo alive"], env=CLEAN_ENV)
    simhost.run()
    assert after.exit_status == Exited(0) and after.stdout == b"alive\n"


def test_kill_of_init_is_harmless(simhost, build):
    sleeper = simhost.spawn(["sleep", "1000"], env=CLEAN_ENV)
    p = simhost.spawn([build("escape"), "killinit"], env=CLEAN_ENV)
    simhost.run_for(1)
    assert p.exit_status == Exited(0), (p.stdout, p.stderr)
    assert p.stdout.decode() == ("kill(1, SIGKILL) = 0\n"
                                 "kill(1, 0) = 0\n"
                                 "getppid() = 1\n")
    init = simhost._engine.table.lookup_any(1)
    assert init is not None and init.state == "running"
    assert sleeper.state == "running"
    # init still adopts and reaps orphans
    orphaner = simhost.spawn(["bash", "-c", "sleep 5 & exit 0"], env=CLEAN_ENV)
    simhost.run_for(10)
    orphan = [q for q in simhost.processes() if q.argv == ["sleep", "5"]]
    assert orphaner.exit_status == Exited(0)
    assert len(orphan) == 1 and orphan[0].state == "reaped" and orphan[0].reaped_by == 1
    assert orphan[0].exit_status == Exited(0)
    assert sleeper.state == "running"


@pytest.fixture(scope="module")
def i386_abi(build):
    """Skip unless this kernel runs i386 calls from 64-bit programs (IA32 emulation);
    without it, int $0x80 faults before any seccomp filter sees it."""
    res = subprocess.run([build("escape"), "foreign"], capture_output=True, timeout=30)
    if res.returncode != 0:
        pytest.skip(f"no IA32 emulation here: int $0x80 gave status {res.returncode}")
    return res


def test_native_control_clone_untraced_and_foreign_abis_run(build, i386_abi):
    """Natively, CLONE_UNTRACED makes an untraced child and an i386 fork a process:
    the two ways out of a tracer that asks for fork events."""
    res = subprocess.run([build("escape"), "untraced"], capture_output=True, timeout=30)
    child, parent = res.stdout.decode().splitlines()
    pid = parent.split(" = ")[1].split(",")[0]
    assert child == f"child: getpid() = {pid}, untraced"
    assert i386_abi.stdout.decode().splitlines()[:2] == [
        "child of the i386 fork", "int $0x80 fork() = ok, exit status 7"]


def test_clone_untraced_child_is_traced_and_simulated(simhost, build):
    """A program's CLONE_UNTRACED is dropped from the native clone: its child is traced
    from its first instruction and has a pid of the host (its getpid() is simulated;
    its /proc/self/status says TracerPid 0, as a program's own status does in a host)."""
    p = run_in_host(simhost, [build("escape"), "untraced"])
    assert p.stdout.decode() == ("child: getpid() = 1001, untraced\n"
                                 "parent: clone(CLONE_UNTRACED|SIGCHLD) = 1001, exit status 3\n")
    child = simhost.process(1001)
    assert child.exit_status == Exited(3) and child.state == "reaped"


def test_calls_through_other_abis_never_run(simhost, build, i386_abi):
    """i386 (int $0x80) and x32 calls are refused with ENOSYS and reported, never run
    natively: i386's fork would make a process no tracer sees."""
    p = run_in_host(simhost, [build("escape"), "foreign"])
    assert p.stdout.decode() == ("int $0x80 fork() = -1 ENOSYS\n"
                                 "x32 getpid() = -1 ENOSYS\n")
    assert [q.pid for q in simhost.processes() if q.pid != 1] == [p.pid]
    assert {(u["name"], u["pid"], u["count"]) for u in simhost.unsupported_syscalls} == {
        ("i386 fork", p.pid, 1), ("x32 syscall 39", p.pid, 1)}


def test_calls_that_change_the_machine_are_refused(simhost, build):
    """Rebooting, kernel modules, mounts, swap, accounting, I/O ports and changes to
    the kernel log get EPERM, as for an unprivileged user, and are reported; reading
    the log's size still works. (The arguments make each call fail harmlessly should
    it ever run natively.)"""
    p = run_in_host(simhost, [build("machine")])
    assert p.stdout.decode() == ("reboot(bad magic) = -1 EPERM\n"
                                 "delete_module = -1 EPERM\n"
                                 "swapoff = -1 EPERM\n"
                                 "mount = -1 EPERM\n"
                                 "umount2 = -1 EPERM\n"
                                 "acct = -1 EPERM\n"
                                 "iopl(0) = -1 EPERM\n"
                                 "syslog(OPEN) = -1 EPERM\n"
                                 "syslog(SIZE_BUFFER) = ok\n")
    refused = simhost.report()["host"]["refused"]
    assert [r["syscall"] for r in refused] == ["reboot", "delete_module", "swapoff", "mount",
                                               "umount2", "acct", "iopl", "syslog"]
    assert all(r["pid"] == p.pid and "real machine" in r["message"] for r in refused)


def _terminal() -> tuple[int, int]:
    """A pseudo-terminal in raw mode: a typed byte is readable at once."""
    master, slave = os.openpty()
    tty.setraw(slave)
    return master, slave


def _typed(slave: int) -> bytes:
    """What waits to be read on the terminal (nothing: b"")."""
    os.set_blocking(slave, False)
    try:
        return os.read(slave, 100)
    except BlockingIOError:
        return b""


def test_native_control_types_into_the_terminal(build):
    master, slave = _terminal()
    try:
        res = subprocess.run([build("escape"), "tiocsti"], stdin=slave, capture_output=True,
                             timeout=30)
        if res.stdout != b'ioctl(0, TIOCSTI, "x") = 0\n':
            pytest.skip(f"TIOCSTI is not allowed here: {res.stdout!r}")
        assert _typed(slave) == b"x"
    finally:
        os.close(master)
        os.close(slave)


def test_terminal_input_cannot_be_faked(simhost, build):
    """The host's programs share pytest's terminal: TIOCSTI would type into the shell
    that started it."""
    master, slave = _terminal()
    try:
        p = simhost.spawn([build("escape"), "tiocsti"], stdin=slave, env=CLEAN_ENV)
        simhost.run()
        assert p.stdout == b'ioctl(0, TIOCSTI, "x") = -1 EPERM\n'
        assert _typed(slave) == b""
    finally:
        os.close(master)
        os.close(slave)
    refused = simhost.report()["host"]["refused"]
    assert [(r["pid"], r["syscall"]) for r in refused] == [(p.pid, "ioctl")]
