"""Drop-in mode: no pid or group number of a closed host reaches a real call (issue 13
item 5), and an interpreter that ran drop-in tests exits cleanly.

Every host numbers its programs from 1000, and on a shared machine a native process may
have that number. The inner suite holds its programs' pids past their hosts, as real
suites do: a session-scoped registry that kills what the tests started at its teardown,
an atexit handler, a thread left running, a Popen kept in a module for a later test
(terminate, kill, killpg of its group, getpgid, waitpid, pidfd_open). Natively each of
those meets a process that is gone. Under ``--simproc`` the outer test first starts
native sleepers (tests/programs/pidat.c, clone3(2) with set_tid) at the very numbers the
inner suite's programs get, and checks afterwards that they are alive, unsignalled.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_simproc.dropin import gonepids
from pytest_simproc.dropin.routing import _real_kill

pytest_plugins = ["pytester"]

PROGRAMS_DIR = Path(__file__).resolve().parent.parent / "programs"
HELPERS = Path(__file__).with_name("dropin_helpers.py")

INNER = """
import atexit
import os
import signal
import subprocess
import threading

import pytest
from dropin_helpers import observed

KEPT = []
LATER = threading.Event()
SEEN = []


@pytest.fixture(scope="session")
def registry():
    procs = []
    yield procs
    for pid in procs:          # the suite's reap at the end: all are gone by now
        with pytest.raises(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def _at_exit(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        observed("at exit: gone", [pid])
    else:
        observed("at exit: exists", [pid])
        os.kill(pid, signal.SIGTERM)


def test_keeps_its_daemon(registry):
    p = subprocess.Popen(["sleep", "100"], start_new_session=True)
    registry.append(p.pid)
    KEPT.append(p)
    atexit.register(_at_exit, p.pid)
    p.kill()
    p.wait()
    observed("kept", [p.pid])


def test_leaves_a_thread(registry):
    p = subprocess.Popen(["sleep", "100"], start_new_session=True)
    registry.append(p.pid)

    def later(pid=p.pid):
        LATER.wait()
        try:
            os.kill(pid, signal.SIGTERM)
            SEEN.append("signalled")
        except ProcessLookupError:
            SEEN.append("gone")
    threading.Thread(target=later, daemon=True).start()
    p.kill()
    p.wait()
    observed("thread", [p.pid])


def test_a_later_test_signals_what_earlier_ones_kept():
    LATER.set()
    for _ in range(100):
        if SEEN:
            break
        threading.Event().wait(0.05)
    assert SEEN == ["gone"]
    p = KEPT[0]
    p.terminate()
    p.send_signal(signal.SIGTERM)
    p.kill()
    assert p.poll() == p.wait() == -signal.SIGKILL
    with pytest.raises(ProcessLookupError):
        os.kill(p.pid, 0)
    with pytest.raises(ProcessLookupError):
        os.kill(-p.pid, signal.SIGTERM)
    with pytest.raises(ProcessLookupError):
        os.killpg(p.pid, signal.SIGTERM)
    with pytest.raises(ProcessLookupError):
        os.killpg(os.getpgid(p.pid), signal.SIGTERM)
    with pytest.raises(ProcessLookupError):
        os.getsid(p.pid)
    with pytest.raises(ChildProcessError):
        os.waitpid(p.pid, os.WNOHANG)
    with pytest.raises(ChildProcessError):
        os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOHANG)
    with pytest.raises(ProcessLookupError):
        os.pidfd_open(p.pid)
    observed("later", [p.pid])
"""


def _run(pytester, observed, args) -> dict:
    """name -> pids, of what the inner suite's tests and its atexit handler saw."""
    shutil.copy(HELPERS, pytester.path)
    return {name: pids for name, pids, _, _ in observed(INNER, ["-s", *args], passed=3)}


def test_gone_pids_natively(pytester, observed):
    seen = _run(pytester, observed, [])
    assert seen["at exit: gone"] == seen["kept"]


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return None
    return f"{fields[0]} {fields[19]}"   # state, start time (proc(5))


@pytest.fixture
def sleepers(c_programs):
    """``sleepers(pids)``: native sleepers at those pids (the ones free now), which the
    test started itself; {pid: start time}. Killed at the end."""
    pidat = c_programs(PROGRAMS_DIR, "gonepids-programs")("pidat")
    mine: dict[int, str] = {}

    def start(pids):
        for pid in pids:
            out = subprocess.run([pidat, str(pid), "300"], capture_output=True, text=True)
            if out.returncode == 0 and out.stdout.strip() == str(pid):
                mine[pid] = _start_time(pid)
            elif "EPERM" in out.stdout or "Operation not permitted" in out.stdout:
                pytest.skip("clone3(2) with set_tid needs CAP_SYS_ADMIN")
        return dict(mine)
    yield start
    for pid, started in mine.items():
        if _start_time(pid) is not None and _start_time(pid).split()[1] == started.split()[1]:
            # ours: same pid, same start (the real kill: an in-process --simproc run of
            # this worker may have left the guard of its hosts' pids in os.kill)
            _real_kill(pid, signal.SIGKILL)


def test_gone_pids_under_simproc_reach_no_machine_process(pytester, observed, sleepers):
    """The inner suite's programs are 1000 (kept), 1001 (the thread's): machine
    processes with those numbers get no signal from its later calls, its registry's
    teardown or its atexit handler."""
    mine = sleepers([1000, 1001])
    if not mine:
        pytest.skip("pids 1000 and 1001 are the machine's now: no collision to arrange")
    seen = _run(pytester, observed, ["--simproc"])
    assert seen == {"kept": [1000], "thread": [1001], "later": [1000],
                    "at exit: gone": [1000]}
    for pid, started in mine.items():
        now = _start_time(pid)   # the same process, not ended nor stopped
        assert now is not None and now.split()[1] == started.split()[1], pid
        assert now.split()[0] in "RSD", f"the machine's process {pid} was signalled"


def test_a_native_child_with_a_gone_number_is_the_real_one():
    """When a number that a closed host had is also a native child of the test's
    thread, the test's code means the child: only a native fork handed it out."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        gonepids._PIDS.add(child.pid)
        gonepids._GROUPS.add(child.pid)
        assert not gonepids.gone(child.pid, 1)
        os.kill(child.pid, 0)
        child.kill()
        child.wait()
        # reaped: the number names nothing of the test's now, it is the closed host's
        assert gonepids.gone(child.pid, 1) and gonepids.gone_group(child.pid, 1)
    finally:
        gonepids._PIDS.discard(child.pid)
        gonepids._GROUPS.discard(child.pid)
        if child.poll() is None:
            child.kill()
            child.wait()


def test_a_machine_pid_no_host_had_reaches_the_real_call():
    me = os.getpid()
    assert me not in gonepids._PIDS and not gonepids.gone(me, 1)
    os.kill(me, 0)


# ------------------------------------------------------------ a clean exit
EXITS = """
import os
import resource
import subprocess
import sys
import time


def test_waits_and_reads_its_usage():
    p = subprocess.Popen(["sleep", "1"])
    assert os.wait4(p.pid, 0)[1] == 0
    q = subprocess.Popen(["true"])
    q.wait()
    time.sleep(0.1)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_utime >= 0


def _one_level(value):
    # value, what a container holds, and the slots or attributes of what it holds if
    # it is an object of the package (not a module, a class or a function)
    items = [value]
    if type(value) in (list, set, frozenset, tuple):
        items += list(value)
    elif type(value) is dict:
        items += list(value.values())
    out = list(items)
    for item in items:
        if not type(item).__module__.startswith("pytest_simproc"):
            continue
        slots = getattr(type(item), "__slots__", ())
        out += [getattr(item, s, None) for s in ([slots] if isinstance(slots, str) else slots)]
        if type(getattr(item, "__dict__", None)) is dict and not isinstance(item, type):
            out += list(vars(item).values())
    return out


def test_the_machinery_keeps_no_struct_sequence():
    found = []
    for name, module in list(sys.modules.items()):
        if name.startswith("pytest_simproc"):
            for attr, value in list(vars(module).items()):
                for item in _one_level(value):
                    if isinstance(item, tuple) and hasattr(type(item), "n_fields"):
                        found.append(f"{name}.{attr}: {type(item).__name__}")
    assert found == []
"""


def test_an_interpreter_under_simproc_exits_without_an_ignored_exception(pytester):
    """At exit, an instance of a C type's struct sequence that a module keeps may be
    freed after its type's dictionary was cleared; its dealloc then fails inside the
    interpreter ("Exception ignored in tp_clear of: <class 'dict'> SystemError:
    Objects/longobject.c:575", a PyLong_AsSsize_t of the missing n_fields), as
    gunicorn's suite printed at the end of every --simproc run: the wait module kept
    an empty struct_rusage, and selfusage each thread's last one. Whether the exit
    shows it depends on the order of the last collection, which the suite's imports
    decide; the second test finds what gives it the chance: a struct sequence held
    by the package, in a global, a container or a record there, once a drop-in test
    ran."""
    pytester.makepyfile(EXITS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--simproc",
                                           timeout=120)
    result.assert_outcomes(passed=2)
    assert "Exception ignored" not in result.stderr.str()


PROC = """
import os
import subprocess

import psutil

KEPT = []


def test_keeps_a_popen():
    p = subprocess.Popen(["true"])
    p.wait()
    KEPT.append(p.pid)


def test_proc_agrees_with_kill_on_a_gone_pid():
    pid = KEPT[0]
    assert not psutil.pid_exists(pid)
    assert str(pid) not in os.listdir("/proc") and pid not in psutil.pids()
    assert not os.path.exists(f"/proc/{pid}")
"""


def test_proc_of_a_gone_pid_is_gone_as_for_kill(pytester, sleepers):
    """psutil's TestPidsRange: pid_exists (kill(pid, 0)), psutil.pids() (a listing of
    /proc) and /proc/<pid> agree on a closed host's pid that a machine process has."""
    mine = sleepers([1000])
    if not mine:
        pytest.skip("pid 1000 is the machine's now: no collision to arrange")
    pytester.makepyfile(PROC)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--simproc",
                                           timeout=120)
    result.assert_outcomes(passed=2)
