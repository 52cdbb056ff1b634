"""Drop-in mode: the test sees its host's processes through /proc and psutil (issue 13
item 2).

The inner suite is written as a real suite writes it: plain open, os, pathlib and
psutil on children started with subprocess, no simproc API. It passes natively and
under ``--simproc``; each test prints the pids it saw, and the outer test checks that
under ``--simproc`` they were the host's (from 1000).

The inner pytest runs in a process of its own: natively, the test process's children
are then exactly the ones it started.
"""
from __future__ import annotations

import os
import posixpath
import stat
import subprocess
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytest_plugins = ["pytester"]

INNER = """
import glob
import os
import pathlib
import resource
import signal
import subprocess
import time

import psutil
import pytest
from dropin_helpers import observed, until


def ended(process):
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":\\t", 1) for line in f.read().splitlines() if ":\\t" in line)


def test_kill_whatever_psutil_lists_as_my_children():
    a = subprocess.Popen(["sleep", "30"])
    b = subprocess.Popen(["sh", "-c", "sleep 30 & wait"])
    # the shell's child is itself a shell until it has exec'd sleep (natively, under load)
    until(lambda: [c.name() for c in psutil.Process(b.pid).children()] == ["sleep"])
    me = psutil.Process()
    kids = me.children()
    assert sorted(k.pid for k in kids) == sorted([a.pid, b.pid])
    assert {k.ppid() for k in kids} == {os.getpid()}
    assert psutil.Process(a.pid).cmdline() == ["sleep", "30"]
    (grandchild,) = psutil.Process(b.pid).children()
    assert grandchild.ppid() == b.pid and grandchild.name() == "sleep"
    assert sorted(k.pid for k in me.children(recursive=True)) == sorted(
        [a.pid, b.pid, grandchild.pid])
    for kid in kids:
        kid.kill()
    gone, alive = psutil.wait_procs(kids, timeout=10)
    assert alive == [] and {p.returncode for p in gone} == {-signal.SIGKILL}
    assert me.children() == []
    grandchild.kill()  # an orphan now: natively, a reaper may or may not reap it
    until(lambda: ended(grandchild))
    observed("kill", [a.pid, b.pid, grandchild.pid])


def test_proc_files_of_a_child():
    p = subprocess.Popen(["sleep", "30"])
    until(lambda: psutil.Process(p.pid).status() == psutil.STATUS_SLEEPING)
    path = f"/proc/{p.pid}"
    assert os.path.exists(path) and os.path.isdir(path)
    assert str(p.pid) in os.listdir("/proc") and p.pid in psutil.pids()
    assert os.fsencode(str(p.pid)) in os.listdir(b"/proc")
    assert pathlib.Path(path, "cmdline").read_bytes() == b"sleep\\x0030\\x00"
    assert os.readlink(f"{path}/exe").endswith("/sleep")
    assert os.stat(path).st_uid == os.getuid()
    assert os.listdir(f"{path}/task") == [str(p.pid)]
    assert glob.glob(f"{path}/task/*/stat") == [f"{path}/task/{p.pid}/stat"]
    assert [e.path for e in os.scandir("/proc") if e.name == str(p.pid) and e.is_dir()] == [
        path]
    with pathlib.Path(path, "status").open() as f:
        assert f.name == f"{path}/status" and f.readline() == "Name:\\tsleep\\n"
    with open(f"{path}/stat", "rb") as f:
        fields = f.read().split()
    assert (fields[0], fields[1], fields[2], fields[3]) == (
        str(p.pid).encode(), b"(sleep)", b"S", str(os.getpid()).encode())
    assert status(p.pid)["PPid"] == str(os.getpid())
    assert psutil.Process(p.pid).name() == "sleep" and psutil.pid_exists(p.pid)
    p.kill()
    assert p.wait() == -signal.SIGKILL
    assert not os.path.exists(path)
    with pytest.raises(FileNotFoundError) as info:
        open(f"{path}/stat")
    assert info.value.filename == f"{path}/stat"
    assert not psutil.pid_exists(p.pid)
    with pytest.raises(psutil.NoSuchProcess):
        psutil.Process(p.pid)
    observed("files", [p.pid])


def test_a_child_not_waited_for_is_a_zombie():
    p = subprocess.Popen(["true"])
    until(lambda: status(p.pid)["State"] == "Z (zombie)")
    assert psutil.Process(p.pid).status() == psutil.STATUS_ZOMBIE
    assert pathlib.Path(f"/proc/{p.pid}/cmdline").read_bytes() == b""
    assert [k.pid for k in psutil.Process().children()] == [p.pid]
    assert p.wait() == 0
    assert not pathlib.Path(f"/proc/{p.pid}").exists()
    observed("zombie", [p.pid])


def test_process_iter_filtered_to_my_children():
    p = subprocess.Popen(["sleep", "30"])
    until(lambda: psutil.Process(p.pid).name() == "sleep")
    mine = [q for q in psutil.process_iter(["ppid", "name"]) if q.info["ppid"] == os.getpid()]
    assert [(q.pid, q.info["name"]) for q in mine] == [(p.pid, "sleep")]
    # the machine's processes are still the machine's
    assert os.getpid() in psutil.pids() and psutil.Process().pid == os.getpid()
    assert os.path.exists("/proc/1") and os.path.exists("/proc/self")
    assert os.readlink("/proc/self") == str(os.getpid())
    p.terminate()
    assert p.wait() == -signal.SIGTERM
    observed("iter", [p.pid])


def test_priority_affinity_and_limits_of_a_child():
    p = subprocess.Popen(["sleep", "30"])
    until(lambda: psutil.Process(p.pid).status() == psutil.STATUS_SLEEPING)
    q = psutil.Process(p.pid)
    q.nice(5)
    assert q.nice() == 5 == os.getpriority(os.PRIO_PROCESS, p.pid)
    os.setpriority(os.PRIO_PROCESS, p.pid, 7)
    assert q.nice() == 7
    with open(f"/proc/{p.pid}/stat") as f:  # proc(5) fields 18 and 19, as ps reads them
        assert f.read().split()[17:19] == ["27", "7"]
    cpus = q.cpu_affinity()
    assert set(cpus) == os.sched_getaffinity(p.pid) and cpus
    q.rlimit(psutil.RLIMIT_NOFILE, (64, 64))
    assert q.rlimit(psutil.RLIMIT_NOFILE) == (64, 64) == resource.prlimit(
        p.pid, resource.RLIMIT_NOFILE)
    q.ionice(psutil.IOPRIO_CLASS_IDLE)
    assert q.ionice().ioclass == psutil.IOPRIO_CLASS_IDLE
    p.kill()
    p.wait()
    with pytest.raises(ProcessLookupError):
        os.getpriority(os.PRIO_PROCESS, p.pid)
    with pytest.raises(ProcessLookupError):
        resource.prlimit(p.pid, resource.RLIMIT_NOFILE)
    observed("nice", [p.pid, len(cpus)])


def test_the_test_and_its_programs_read_the_same_proc():
    p = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30"], start_new_session=True)
    until(lambda: len(psutil.Process(p.pid).children()) == 2
          and psutil.Process(p.pid).status() == psutil.STATUS_SLEEPING)
    q = subprocess.run(["cat", f"/proc/{p.pid}/status", f"/proc/{p.pid}/stat"],
                       capture_output=True, text=True, check=True)
    theirs = q.stdout
    mine = open(f"/proc/{p.pid}/status").read() + open(f"/proc/{p.pid}/stat").read()
    keys = ("Name", "State", "Tgid", "Pid", "NSpgid", "NSsid", "Threads")
    parse = lambda text: {k: v for k, v in (line.split(":\\t", 1) for line in
                          text.splitlines() if ":\\t" in line) if k in keys}
    assert parse(theirs) == parse(mine) and parse(mine)["NSsid"] == str(p.pid)
    # stat: pid, comm, state, then (after the parent) the group and session
    assert theirs.splitlines()[-1].split()[:3] == mine.splitlines()[-1].split()[:3]
    assert theirs.splitlines()[-1].split()[4:6] == mine.splitlines()[-1].split()[4:6]
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    observed("same", [p.pid])
"""


def observations(observe, args) -> dict:
    seen = {name: pids for name, (pids, _, _) in observe(INNER, args, passed=6).items()}
    assert len(seen) == 6, seen
    return seen


def test_proc_view_natively(observe):
    seen = observations(observe, [])
    assert len(set(seen["kill"])) == 3 and seen["nice"][1] == len(os.sched_getaffinity(0))


def test_proc_view_under_simproc_sees_the_hosts_pids(observe):
    seen = observations(observe, ["--simproc"])
    assert seen == {"kill": [1000, 1001, 1002], "files": [1000], "zombie": [1000],
                    "iter": [1000], "same": [1000],
                    "nice": [1000, len(os.sched_getaffinity(0))]}


# ---------------------------------------------------------------- hostile paths
@pytest.fixture(scope="module")
def children():
    """A native child and a host child of the test, both asleep in nanosleep."""
    from pytest_simproc.dropin import DropinSession
    native = subprocess.Popen(["sleep", "1000"])
    try:
        for _ in range(1000):  # real time, before the session: until it is in nanosleep
            with open(f"/proc/{native.pid}/stat") as f:
                if f.read().split()[2] == "S":
                    break
            time.sleep(0.01)
        with DropinSession() as session:
            simulated = subprocess.Popen(["sleep", "1000"])
            session.sleep(0.5)
            yield native.pid, simulated.pid
    finally:
        native.kill()
        native.wait()


NAMES = st.sampled_from(["proc", "P", "task", "stat", "status", "cmdline", "comm", "environ",
                         "exe", "cwd", "fd", "0", "1", "maps", "oom_score_adj",
                         "children", "nope", "self", "1", "01", "", ".", ".."])
PATHS = st.lists(NAMES, max_size=6).map(lambda parts: "/proc/P/" + "/".join(parts)) | st.lists(
    NAMES, max_size=6).map(lambda parts: "/".join(parts))


def _kind(call):
    """What a call gave, without what must differ (numbers, contents)."""
    try:
        result = call()
    except Exception as exc:  # noqa: BLE001 -- the comparison is the point
        return type(exc).__name__, getattr(exc, "errno", None)
    if isinstance(result, os.stat_result):
        return "stat", stat.S_IFMT(result.st_mode)
    if isinstance(result, list):
        return "names", len(result)
    return "ok", result if isinstance(result, bool) else None


CALLS = {
    "open": lambda path: _read(path),
    "listdir": lambda path: os.listdir(path),
    "scandir": lambda path: [e.name for e in os.scandir(path)],
    "readlink": lambda path: os.readlink(path),
    "stat": lambda path: os.stat(path),
    "lstat": lambda path: os.lstat(path),
    "access": lambda path: os.access(path, os.R_OK),
    "exists": lambda path: os.path.exists(path),
    "isdir": lambda path: os.path.isdir(path),
}


def _read(path):
    with open(path, "rb") as f:
        return f.read(1) is not None


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=PATHS, call=st.sampled_from(sorted(CALLS)), as_bytes=st.booleans())
@example(path="/proc/P/../self", call="lstat", as_bytes=False)  # the link, not ENOENT
@example(path="/proc/proc/..", call="access", as_bytes=False)  # ENOENT both ways
@example(path="/proc/P/../../P/stat", call="open", as_bytes=False)  # /P/stat, not /proc/stat
def test_any_path_under_a_host_pid_fails_or_works_as_natively(children, path, call,
                                                              as_bytes):
    """A path under /proc/<host pid> gives what the same path under its native twin's
    /proc/<pid> gives natively (any other path: the same), read lexically ("." and ".." as posixpath.normpath
    reads them): the same success or the same exception and errno, the same file type,
    as many names in a listing (of /proc itself: a listing)."""
    native, simulated = children
    sim_path = path.replace("P", str(simulated))
    native_path = path.replace("P", str(native))
    if path.startswith("/proc/") and {"P", "self"} & set(path.split("/")):
        # read lexically where it names the host's process: elsewhere the real path
        # (/proc/proc/.. is ENOENT, as natively)
        native_path = posixpath.normpath(native_path)
    encode = os.fsencode if as_bytes else str
    ours = _kind(lambda: CALLS[call](encode(sim_path)))
    theirs = _kind(lambda: CALLS[call](encode(native_path)))
    if native_path == "/proc" and theirs[0] == "names":
        ours, theirs = ours[0], theirs[0]  # the machine's pids beside the host's
    assert ours == theirs, (sim_path, native_path)


NUMBERS = (st.integers(-3, 45) | st.integers(-2**70, 2**70)
           | st.sampled_from([2**31, 2**63 - 1, 2**63, 2**64 - 1, -2**63 - 1, True]))
LIMITS = (st.none() | st.tuples(NUMBERS, NUMBERS) | st.tuples(NUMBERS)
          | st.tuples(NUMBERS, NUMBERS, NUMBERS) | st.just((1.5, 2)) | st.just("ab")
          | st.just(7))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(call=st.sampled_from(["getpriority", "setpriority", "prlimit", "sched_getaffinity"]),
       which=NUMBERS, value=NUMBERS, limits=LIMITS)
def test_pid_calls_on_a_host_child_fail_or_work_as_natively(children, call, which, value,
                                                            limits):
    """getpriority, setpriority, resource.prlimit and sched_getaffinity with any
    arguments on a host child give what they give on its native twin natively: the same
    success or the same exception type and errno."""
    import resource
    native, simulated = children
    calls = {
        "getpriority": lambda pid: os.getpriority(os.PRIO_PROCESS, pid),
        "setpriority": lambda pid: os.setpriority(os.PRIO_PROCESS, pid, value),
        "prlimit": lambda pid: resource.prlimit(pid, which, limits),
        "sched_getaffinity": lambda pid: os.sched_getaffinity(pid),
    }
    ours = _kind(lambda: calls[call](simulated))
    theirs = _kind(lambda: calls[call](native))
    assert ours == theirs, (ours, theirs)
