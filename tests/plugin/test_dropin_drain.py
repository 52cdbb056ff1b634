"""A test that drains a busy program's output line by line, as plumbum's ``iter_lines``
and many suites do (selectors, then ``readline`` on the ready pipe, then ``poll()``),
runs the programs in long stretches under ``--simproc``: a wait for readiness lets the
host go on for a while once a pipe is readable (ready.py's LINGER_STEPS), or until the
programs wait, instead of handing the test every line in a round trip of its own. An
event loop's wait does the same (aio.wait_in_host: asyncio's and uvloop's
``communicate()`` of a program that copies its input a byte at a time, as uvloop's
test_communicate_large_stdout does).

The inner suite is plain subprocess/selectors code, run with ``--simproc`` and natively
(``test_dropin_pipes.run_checked``: under ``--simproc`` it ran in the host, with virtual
time and pids); under ``--simproc`` the outer test also counts the host's runs.
"""
from __future__ import annotations

import pytest

from pytest_simproc.host.simhost import SimHost

from .test_dropin import MODES
from .test_dropin_pipes import run_checked

pytest_plugins = ["pytester"]

LINES = 3000

DRAIN = """
    import selectors
    import subprocess
    import sys

    # a line to stderr is four writes (print's pieces), stdout is block-buffered
    WRITER = ("import sys\\n"
              "for i in range(%(lines)d):\\n"
              "    print('line', i, file=sys.stderr)\\n"
              "    print(i)\\n")

    def start():
        return subprocess.Popen([sys.executable, "-c", WRITER],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def check(seen):
        assert seen["err"] == [b"line %%d\\n" %% i for i in range(%(lines)d)]
        assert seen["out"] == [b"%%d\\n" %% i for i in range(%(lines)d)]

    def test_select_then_readline_until_both_pipes_end():
        p = start()
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ, "out")
        sel.register(p.stderr, selectors.EVENT_READ, "err")
        seen = {"out": [], "err": []}
        while sel.get_map():
            for key, _ in sel.select(0.1):
                line = key.fileobj.readline()
                if not line:
                    sel.unregister(key.fileobj)
                    continue
                seen[key.data].append(line)
        assert p.wait() == 0
        check(seen)
        host_check(p.pid)

    def test_iterating_over_stderr_then_reading_stdout():
        p = start()
        seen = {"err": list(p.stderr)}
        seen["out"] = p.stdout.read().splitlines(keepends=True)
        assert p.wait() == 0
        check(seen)
        host_check(p.pid)

    def test_a_program_that_answers_and_waits_is_seen_before_its_sleep_ends():
        p = subprocess.Popen(["sh", "-c", "echo first; sleep 100; echo second"],
                             stdout=subprocess.PIPE)
        sel = selectors.DefaultSelector()
        sel.register(p.stdout, selectors.EVENT_READ)
        assert sel.select(30)
        assert p.stdout.readline() == b"first\\n"
        assert sel.select(1) == []  # the sleep is on: nothing more for a second
        p.kill()
        p.wait()
        host_check(p.pid)
""" % {"lines": LINES}


@pytest.fixture
def runs(monkeypatch) -> list:
    """The host's runs during the test (``SimHost._run``), by the instant each ends at."""
    runs = []
    real_run = SimHost._run

    def counted(self, until_ns, predicate=None):
        runs.append(until_ns)
        return real_run(self, until_ns, predicate)

    monkeypatch.setattr(SimHost, "_run", counted)
    return runs


@pytest.mark.parametrize("args", MODES)
def test_draining_a_busy_program_line_by_line(pytester, runs, args):
    run_checked(pytester, DRAIN, args, passed=3)
    if args:
        # a run that stopped at the first readable line took one per write, 4 a line
        assert 0 < len(runs) < 2 * LINES / 10, len(runs)


BYTES = 20000

COPY = """
    import asyncio
    import sys

    # a byte at a time: each is a write(2) of its own
    COPIER = ("import os, sys\\n"
              "data = sys.stdin.buffer.read()\\n"
              "for i in range(len(data)):\\n"
              "    os.write(1, data[i:i + 1])\\n")

    def test_communicate_with_a_program_writing_a_byte_at_a_time():
        async def copy(data):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", COPIER, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE)
            out, _ = await asyncio.wait_for(proc.communicate(data), 60)
            return proc.pid, out

        data = bytes(range(256)) * (%(bytes)d // 256)
        pid, out = asyncio.run(copy(data))
        assert out == data
        host_check(pid)
""" % {"bytes": BYTES}


@pytest.mark.parametrize("args", MODES)
def test_an_event_loop_reading_a_busy_program(pytester, runs, args):
    run_checked(pytester, COPY, args, passed=1)
    if args:
        # a run that stopped at the first readable byte took one per write
        assert 0 < len(runs) < BYTES / 100, len(runs)
