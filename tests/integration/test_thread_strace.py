"""Threads in the strace log: each logs under its own tid, as ``strace -f`` shows it,
and has its own file, as ``strace -ff`` writes it."""
from __future__ import annotations

import os
import signal
import sys
import textwrap

from pytest_simproc import Exited, SimHost

START = 946684800

PY = os.path.realpath(sys.executable)


def unpadded(line: str) -> str:
    """Without the padding before the result (its column counts the merged prefix)."""
    at = line.rfind(" = ")
    return line if at < 0 else line[:at].rstrip(" ") + line[at:]


def run_pthread(prog, data_dir):
    with SimHost(strace="deterministic", data_dir=str(data_dir)) as host:
        p = host.spawn([prog])
        host.run()
        assert p.exit_status == Exited(0)
        merged = host.strace_lines()
    files = {name: (data_dir / name).read_bytes() for name in sorted(os.listdir(data_dir))
             if name.endswith(".strace")}   # complete once the host is closed
    return merged, p.strace(), files


def test_a_thread_logs_under_its_own_tid_deterministically(build, tmp_path):
    prog = build("pthread")
    merged, strace, files = run_pthread(prog, tmp_path / "a")
    assert {line.split()[0] for line in merged} == {"1000", "1001"}
    thread_lines = [line for line in merged if line.startswith("1001 ")]
    assert thread_lines[0].startswith("1001  00:00:00.000000 rseq(")   # its first call
    assert '1001  00:00:00.000000 write(1, "thread ran\\n", 11) = 11' in thread_lines
    assert thread_lines[-2:] == ["1001  00:00:00.000000 exit(0)           = ?",
                                 "1001  00:00:00.000000 +++ exited with 0 +++"]
    assert merged[-1] == "1000  00:00:00.000000 +++ exited with 0 +++"
    # strace -ff's layout: one file per thread
    assert sorted(files) == ["simhost.pthread.1000.strace", "simhost.pthread.1001.strace",
                             "simhost.strace"]
    assert files["simhost.strace"].decode().splitlines() == merged
    thread_file = files["simhost.pthread.1001.strace"].decode().splitlines()
    assert [unpadded(line) for line in thread_file] == \
        [unpadded(line.split(None, 1)[1]) for line in thread_lines]
    main_file = files["simhost.pthread.1000.strace"].decode()
    assert "thread ran" not in main_file and "clone3(" in main_file
    # the process's strace() holds both threads' lines, the thread's marked
    assert strace.contains('re:^write\\(1, "thread ran\\\\n", 11\\) = 11')
    assert strace.matching("thread ran") == [
        '[pid  1001] 00:00:00.000000 write(1, "thread ran\\n", 11) = 11']
    assert strace.sequence(["clone3(", "thread ran", "+++ exited with 0", "joined 42",
                            "+++ exited with 0"])
    # every line but the merged log's cuts: there a call is "<unfinished ...>" + "resumed"
    assert len(strace) == len([line for line in merged if " resumed>" not in line])
    # and every byte is the same on another run
    again = run_pthread(prog, tmp_path / "b")
    assert (again[0], again[1].lines, again[2]) == (merged, strace.lines, files)


STOPPED_WITH_A_THREAD = textwrap.dedent("""
    import os, signal, threading
    threading.Thread(target=threading.Event().wait, daemon=True).start()
    os.kill(os.getpid(), signal.SIGSTOP)
    print("continued")
""")


def test_every_thread_stops_and_ends_with_its_process():
    with SimHost(strace="deterministic") as host:
        p = host.spawn([PY, "-c", STOPPED_WITH_A_THREAD])
        host.run_for(1)
        assert p.state == "stopped"
        host.kill(p.pid, signal.SIGCONT)
        host.run()
        assert (p.exit_status, p.stdout) == (Exited(0), b"continued\n")
        merged = host.strace_lines()
    stops = [line for line in merged if "--- stopped by SIGSTOP ---" in line]
    assert [line.split()[0] for line in stops] == ["1000", "1001"]
    # the waiting thread ends inside its futex wait; then the main thread, last
    ends = [line for line in merged if line.startswith("1001 ")][-2:]
    assert ends[0].endswith("<... futex resumed>) = ?")
    assert ends[1].endswith("+++ exited with 0 +++")
    assert merged[-1] == "1000  00:00:01.000000 +++ exited with 0 +++"


LEADER_EXIT_EXPECTED = b"main thread ends\nworker still runs after the main thread ended\n"


def test_leader_exit_native(build, native):
    result = native([build("leader_exit")])
    assert (result.returncode, result.stdout) == (7, LEADER_EXIT_EXPECTED)


def test_leader_exit_in_host(build):
    """The main thread's exit(2) is not the process's end: the worker runs on (one second
    of virtual time) and the process exits with the worker's status."""
    with SimHost() as host:
        proc = host.spawn([build("leader_exit")])
        host.run()
        assert (proc.exit_status, proc.stdout) == (Exited(7), LEADER_EXIT_EXPECTED)
        assert host.now == START + 1
