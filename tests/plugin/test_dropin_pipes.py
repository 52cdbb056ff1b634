"""Drop-in mode's pipes behave as a real machine's: end of file comes when the last
writer closed the write end (a background grandchild keeps it open), and select, poll,
epoll and selectors on ``proc.stdout``/``stderr``/``stdin`` work, with virtual timeouts.

Each inner suite is plain subprocess/select/selectors code, run with ``--simproc`` and
natively; every test prints where it ran (``host-check``) and the outer test checks that
under ``--simproc`` that was the simulated host (virtual time near 2000-01-01, virtual
pids from 1000) and natively the machine.
"""
from __future__ import annotations

import re
import textwrap

import pytest

from .test_dropin import MODES, run_inner

pytest_plugins = ["pytester"]

# The inner tests end with this: what time it is and which pid the program had.
HOST_CHECK = """
import time as _time

def host_check(pid):
    print(f"host-check time={_time.time():.0f} pid={pid}")
"""

SIM_START = 946684800  # the host's clock starts at 2000-01-01 00:00:00 UTC


def run_checked(pytester, source: str, args, **outcomes):
    result = run_inner(pytester, HOST_CHECK + textwrap.dedent(source), [*args, "-s"], **outcomes)
    checks = re.findall(r"host-check time=(\d+) pid=(\d+)", result.stdout.str())
    ran = outcomes.get("passed", 0) - (0 if args else outcomes.get("skipped_natively", 0))
    assert len(checks) == ran, result.stdout.str()
    for when, pid in checks:
        if args:  # --simproc: the simulated host's clock and pids
            assert SIM_START <= int(when) < SIM_START + 3600
            assert int(pid) >= 1000
        else:
            assert int(when) > 1_600_000_000
    return result


@pytest.mark.parametrize("args", MODES)
def test_a_grandchild_holding_stdout_keeps_the_pipe_open(pytester, args):
    run_checked(pytester, """
        import os
        import signal
        import subprocess
        import pytest

        def test_communicate_times_out_until_the_grandchild_is_killed():
            p = subprocess.Popen(["sh", "-c", "echo started; sleep 60 & echo $!"],
                                 stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline() == "started\\n"
            grandchild = int(p.stdout.readline())
            with pytest.raises(subprocess.TimeoutExpired):
                p.communicate(timeout=5)
            assert p.wait(timeout=5) == 0  # the shell ended; its child holds stdout
            os.kill(grandchild, signal.SIGKILL)
            assert p.communicate() == ("", None)
            host_check(grandchild)

        def test_a_timed_out_communicate_keeps_what_it_read():
            p = subprocess.Popen(["sh", "-c", "sleep 60 & echo $!; echo more"],
                                 stdout=subprocess.PIPE, text=True)
            with pytest.raises(subprocess.TimeoutExpired) as info:
                p.communicate(timeout=1)
            grandchild, more = info.value.output.split()  # bytes, as Popen gives them
            assert more == b"more"
            os.kill(int(grandchild), signal.SIGKILL)
            assert p.communicate() == (info.value.output.decode(), None)
            host_check(int(grandchild))

        def test_output_written_after_the_child_ended_is_read():
            out = subprocess.check_output(["sh", "-c", "(sleep 0.3; echo late) & echo $!"])
            pid, late = out.split()
            assert late == b"late"
            host_check(int(pid))

        def test_run_capture_output_waits_for_both_pipes():
            r = subprocess.run(["sh", "-c", "(sleep 0.2; echo out; echo err >&2) & echo $$"],
                               capture_output=True, text=True, timeout=30)
            lines = r.stdout.split()
            assert (lines[1:], r.stderr, r.returncode) == (["out"], "err\\n", 0)
            host_check(int(lines[0]))

        def test_more_than_a_pipe_holds():
            p = subprocess.Popen(["sh", "-c", "seq 100000; echo $$ >&2"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            lines = sum(1 for _ in p.stdout)  # seq blocks on the full pipe meanwhile
            assert lines == 100000
            assert p.wait() == 0
            out = subprocess.check_output(["head", "-c", "300000", "/dev/zero"])
            assert out == bytes(300000)
            host_check(int(p.stderr.read()))
    """, args, passed=5)


@pytest.mark.parametrize("args", MODES)
def test_select_poll_epoll_and_selectors_on_popen_pipes(pytester, args):
    run_checked(pytester, """
        import os
        import select
        import selectors
        import subprocess
        from subprocess import PIPE

        def test_select_times_out_then_sees_the_line():
            p = subprocess.Popen(["sh", "-c", "sleep 0.5; echo ready"], stdout=PIPE)
            assert select.select([p.stdout], [], [], 0.1) == ([], [], [])
            readable, _, _ = select.select([p.stdout], [], [], 30)
            assert readable == [p.stdout]
            assert os.read(p.stdout.fileno(), 100) == b"ready\\n"
            assert select.select([p.stdout.fileno()], [], [], 30)[0] == [p.stdout.fileno()]
            assert os.read(p.stdout.fileno(), 100) == b""  # end of file
            assert p.wait() == 0
            host_check(p.pid)

        def test_selectors_read_stdout_and_stderr_to_the_end():
            p = subprocess.Popen(["sh", "-c", "echo o1; echo e1 >&2; sleep 0.2; echo o2"],
                                 stdout=PIPE, stderr=PIPE)
            sel = selectors.DefaultSelector()
            sel.register(p.stdout, selectors.EVENT_READ, "out")
            sel.register(p.stderr, selectors.EVENT_READ, "err")
            got = {"out": b"", "err": b""}
            while sel.get_map():
                events = sel.select(timeout=30)
                assert events
                for key, _ in events:
                    data = os.read(key.fd, 1024)
                    if data:
                        got[key.data] += data
                    else:
                        sel.unregister(key.fileobj)
            sel.close()
            assert got == {"out": b"o1\\no2\\n", "err": b"e1\\n"}
            assert p.wait() == 0
            host_check(p.pid)

        def test_poll_and_epoll():
            p = subprocess.Popen(["sleep", "0.5"], stdout=PIPE)
            poller = select.poll()
            poller.register(p.stdout, select.POLLIN)
            assert poller.poll(100) == []
            [(fd, events)] = poller.poll(30_000)
            assert fd == p.stdout.fileno() and events & select.POLLHUP
            with select.epoll() as ep:
                ep.register(p.stdout.fileno(), select.EPOLLIN)
                [(fd, events)] = ep.poll(30)
                assert events & select.EPOLLHUP
            assert p.wait() == 0
            host_check(p.pid)

        def test_stdin_is_writable_and_pidfd_readable_at_the_end():
            p = subprocess.Popen(["sh", "-c", "read line; sleep 0.5"], stdin=PIPE)
            assert select.select([], [p.stdin], [], 30)[1] == [p.stdin]
            p.stdin.write(b"go\\n")
            p.stdin.flush()
            pidfd = os.pidfd_open(p.pid)
            assert select.select([pidfd], [], [], 0.1)[0] == []
            assert select.select([pidfd], [], [], 30)[0] == [pidfd]
            os.close(pidfd)
            assert p.wait() == 0
            host_check(p.pid)
    """, args, passed=4)


def test_simproc_select_timeouts_and_reads_are_virtual(pytester):
    """The waits above take virtual time: a 60 s timeout costs nothing, and a read
    returns when the grandchild's 100 virtual seconds are over."""
    run_checked(pytester, """
        import select
        import subprocess
        import time

        def test_virtual():
            p = subprocess.Popen(["sh", "-c", "sleep 100 & echo $!"],
                                 stdout=subprocess.PIPE)
            t0 = time.time()
            pid = int(p.stdout.readline())
            assert select.select([p.stdout], [], [], 60)[0] == []
            assert 60 <= time.time() - t0 < 60.0001  # and the reads of the clock
            assert p.stdout.read() == b""
            # and sleep's fork and exec (README "The CPU model")
            assert 100 < time.time() - t0 < 100.01
            host_check(pid)
    """, ["--simproc"], passed=1)


def test_simproc_a_read_that_would_never_return_fails(pytester):
    """Natively this hangs: a read of a pipe whose writer waits forever (cat, for a
    stdin the test never closes). In the host it fails with the reason."""
    pytester.makepyfile("""
        import subprocess

        def test_read_hangs_natively():
            p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            p.stdout.read()
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--simproc")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*SimprocError: a read of a program's pipe was still waiting when the simulated "
        "host reached its stop_time*"])


@pytest.mark.parametrize("args", MODES)
def test_a_reader_thread_drains_while_the_test_waits(pytester, args):
    """A thread reads what the program writes while the test's thread waits or sleeps:
    natively the thread keeps the pipe from filling; in the host the program never
    blocks on it (the host runs only inside the test's calls)."""
    run_checked(pytester, """
        import subprocess
        import threading
        import time

        def reader(p):
            lines = []
            thread = threading.Thread(target=lambda: lines.extend(p.stdout))
            thread.start()
            return thread, lines

        def test_wait():
            p = subprocess.Popen(["sh", "-c", "seq 100000; echo $$"],
                                 stdout=subprocess.PIPE, text=True)
            thread, lines = reader(p)
            assert p.wait(timeout=60) == 0
            thread.join(30)
            assert len(lines) == 100001
            host_check(int(lines[-1]))

        def test_sleep():
            p = subprocess.Popen(["sh", "-c", "seq 100000; sleep 0.5; echo $$"],
                                 stdout=subprocess.PIPE, text=True)
            thread, lines = reader(p)
            time.sleep(2)
            assert p.wait(timeout=60) == 0
            thread.join(30)
            assert len(lines) == 100001
            host_check(int(lines[-1]))
    """, args, passed=2)


@pytest.mark.parametrize("args", MODES)
def test_closing_the_tests_end_gives_the_program_sigpipe(pytester, args):
    run_checked(pytester, """
        import os
        import signal
        import subprocess

        def test_close():
            p = subprocess.Popen(["seq", "1000000"], stdout=subprocess.PIPE)
            assert p.stdout.read(10) == b"1\\n2\\n3\\n4\\n5\\n"
            p.stdout.close()
            assert p.wait() == -signal.SIGPIPE
            host_check(p.pid)

        def test_os_close_of_its_descriptor():
            p = subprocess.Popen(["sh", "-c", "sleep 0.2; exec seq 1000000"],
                                 stdout=subprocess.PIPE)
            os.close(p.stdout.fileno())
            assert p.wait() == -signal.SIGPIPE
            host_check(p.pid)
    """, args, passed=2)


def test_simproc_sleep_moves_the_clock_its_full_length_with_pipes_open(pytester):
    """time.sleep(10) is 10 virtual seconds even when the programs end sooner and a
    pipe is still being fed (stdin) or read from (stdout)."""
    run_checked(pytester, """
        import subprocess
        import time

        def test_sleep():
            out = subprocess.Popen(["echo", "x"], stdout=subprocess.PIPE)
            # more than the pipe holds; head reads 10 once the test's sleep is over
            # (a write to a program that ended unread fails, as natively: test_dropin_stdin)
            feed = subprocess.Popen(["sh", "-c", "sleep 20; head -c 10"],
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
            feed.stdin.write(b"y" * 200000)
            t0 = time.time()
            time.sleep(10)
            assert 10 <= time.time() - t0 < 10.0001  # and the reads of the clock
            assert out.stdout.read() == b"x\\n"
            assert (out.wait(), feed.wait()) == (0, 0)
            host_check(out.pid)
    """, ["--simproc"], passed=1)


SAME_READS = """
import json
import os
import selectors
import subprocess
import time

def test_log():
    p = subprocess.Popen(
        ["sh", "-c", "for i in 1 2 3 4 5; do echo out $i; echo err $i >&2; "
                     "sleep 0.1; done; (sleep 1; echo late) &"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ, "out")
    sel.register(p.stderr, selectors.EVENT_READ, "err")
    log = []
    while sel.get_map():
        for key, _ in sel.select(5):
            data = os.read(key.fd, 7)
            if not data:
                sel.unregister(key.fileobj)
            log.append(f"{time.time() - 946684800:.1f} {key.data} {data!r}")
    print("OBSERVED", json.dumps(log))
    assert p.wait() == 0
"""


def test_simproc_pipe_reads_are_the_same_in_every_run(observed):
    """Which pipe a selector reports first, the bytes each read gets and when (virtual
    time): the same in two runs, a late grandchild's output included."""
    logs = [observed(SAME_READS, ["--simproc"], passed=1) for _ in range(2)]
    assert logs[0] == logs[1]
    assert "1.5 out b'late\\n'" in logs[0][0]


@pytest.mark.parametrize("args", MODES)
def test_one_programs_stdout_is_anothers_stdin(pytester, args):
    # The pipeline of subprocess's documentation ("Replacing shell pipeline"): the test
    # hands p1.stdout to p2 and closes its own copy. p1 must go on writing to p2 (it
    # got SIGPIPE at the close), and must get SIGPIPE once p2 is gone, as `yes | head`.
    run_checked(pytester, """
        import subprocess

        def test_ls_into_grep():
            p1 = subprocess.Popen(["printf", "usr\\\\nbin\\\\nvar\\\\n"], stdout=subprocess.PIPE)
            p2 = subprocess.Popen(["grep", "b"], stdin=p1.stdout, stdout=subprocess.PIPE)
            p1.stdout.close()
            assert p2.communicate()[0] == b"bin\\n"
            assert p1.wait() == 0
            host_check(p2.pid)

        def test_the_writer_gets_sigpipe_when_the_reader_ends():
            p1 = subprocess.Popen(["yes"], stdout=subprocess.PIPE)
            p2 = subprocess.Popen(["head", "-n", "2"], stdin=p1.stdout,
                                  stdout=subprocess.PIPE, text=True)
            p1.stdout.close()
            assert p2.communicate()[0] == "y\\ny\\n"
            assert p1.wait(timeout=60) == -13
            host_check(p1.pid)

        def test_three_stages_in_text_mode():
            p1 = subprocess.Popen(["printf", "b\\\\na\\\\nc\\\\na\\\\n"], stdout=subprocess.PIPE, text=True)
            p2 = subprocess.Popen(["sort"], stdin=p1.stdout, stdout=subprocess.PIPE, text=True)
            p3 = subprocess.Popen(["uniq", "-c"], stdin=p2.stdout, stdout=subprocess.PIPE, text=True)
            p1.stdout.close()
            p2.stdout.close()
            assert p3.communicate()[0].split() == ["2", "a", "1", "b", "1", "c"]
            assert (p1.wait(), p2.wait()) == (0, 0)
            host_check(p3.pid)
    """, args, passed=3)


@pytest.mark.parametrize("args", MODES)
def test_more_output_than_a_pipe_holds_reaches_asyncio_after_the_end(pytester, args):
    # plumbum's async pipeline: a program writes 500 kB to stderr and ends; asyncio's
    # communicate() must get all of it, though the host has nothing left to run.
    run_checked(pytester, """
        import asyncio
        import os
        import subprocess
        import sys

        async def pipeline():
            r, w = os.pipe()
            src = await asyncio.create_subprocess_exec(
                sys.executable, "-c",
                "import sys; sys.stderr.write('e' * 500000); sys.stdout.write('ok')",
                stdout=w, stderr=subprocess.PIPE)
            os.close(w)
            dst = await asyncio.create_subprocess_exec(
                sys.executable, "-c",
                "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().upper())",
                stdin=r, stdout=subprocess.PIPE)
            os.close(r)
            (out, _), (_, err) = await asyncio.gather(dst.communicate(), src.communicate())
            return out, len(err), src.pid

        def test_chatty_upstream():
            out, err, pid = asyncio.run(pipeline())
            assert (out, err) == (b"OK", 500000)
            host_check(pid)
    """, args, passed=1)
