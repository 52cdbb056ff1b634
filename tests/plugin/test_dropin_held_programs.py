"""Drop-in mode: a program that a test started and that a longer-lived object keeps
goes on into the next tests, as natively.

GitPython's test classes make a repository object in ``setUpClass`` that starts no
program; the first test that reads an object starts a persistent ``git cat-file
--batch`` that the object keeps and every later test of the class talks to. The inner
suite below is written that way (no simproc API): a unittest class whose object starts
``cat`` at its first question, and a pytest class whose class-scoped fixture's object
starts a python reader. The host of the test that started the program is carried to
the class's later tests (one pid, one clock) until the class's teardown lets it go;
the next module gets a fresh host. A program a test leaves running that nothing
holds is still killed at that test's end, even in a carried host.
"""
from __future__ import annotations

from .test_dropin_wider_fixtures import AFTER  # a later module's spawn: a fresh host

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

HELD = r"""
import json
import os
import subprocess
import sys
import time
import unittest

import pytest


def observed(name, *values):
    print("OBSERVED", json.dumps([name, *values, time.time()]), flush=True)


class Reader:
    # starts its program at the first question and keeps it (GitPython's cat-file)
    def __init__(self, argv):
        self.argv = argv
        self.proc = None

    def ask(self, line):
        if self.proc is None:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().rstrip("\n")

    def close(self):
        self.proc.stdin.close()
        return self.proc.wait(timeout=30)


class TestCat(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.reader = Reader(["cat"])

    @classmethod
    def tearDownClass(cls):
        assert cls.reader.close() == 0

    def test_1_first_question_starts_it(self):
        self.assertEqual(self.reader.ask("one"), "one")
        observed("cat 1", self.reader.proc.pid)

    def test_2_a_test_leaks_a_program_nothing_holds(self):
        self.assertEqual(self.reader.ask("two"), "two")
        late = os.path.join(os.getcwd(), "late")
        leak = subprocess.Popen(["sh", "-c", f"sleep 1; echo late > {late}"])
        time.sleep(0.2)
        observed("cat 2", self.reader.proc.pid, leak.pid)

    def test_3_later_tests_still_talk_to_it(self):
        time.sleep(3)
        self.assertEqual(self.reader.ask("three"), "three")
        observed("cat 3", self.reader.proc.pid, os.path.exists("late"))


class TestPythonReader:
    @pytest.fixture(scope="class")
    def upper(self):
        reader = Reader([sys.executable, "-c",
                         "import sys\nfor line in sys.stdin:\n"
                         "    print(line.upper(), end='', flush=True)"])
        yield reader
        assert reader.close() == 0

    @pytest.mark.parametrize("n", range(3))
    def test_asks(self, upper, n):
        assert upper.ask(f"line {n}") == f"LINE {n}"
        time.sleep(2)
        observed(f"python {n}", upper.proc.pid)
"""


def _run(observed, *args) -> dict:
    payloads = observed({"test_a_held": HELD, "test_b_after": AFTER}, args, passed=7,
                        timeout=300)
    seen = {name: values for name, *values in payloads}
    assert len(seen) == 7, payloads
    return seen


def test_natively_the_class_keeps_its_programs(observed):
    seen = _run(observed)
    assert seen["cat 1"][0] == seen["cat 2"][0] == seen["cat 3"][0]
    assert seen["cat 3"][1] is True  # natively the leaked shell ran on
    assert len({seen[f"python {n}"][0] for n in range(3)}) == 1


def test_under_simproc_a_held_program_lives_on_in_its_host(observed):
    seen = _run(observed, "--simproc")
    # one program of the first test's host for the class, and a leak of the second
    assert seen["cat 1"][0] == seen["cat 2"][0] == seen["cat 3"][0] == 1000
    assert seen["cat 2"][1] > 1000
    # the leaked shell was killed at its test's end: it never wrote, though the
    # carried host's clock went on (virtual seconds) past its sleep
    assert seen["cat 3"][1] is False
    times = [seen[f"cat {n}"][-1] - HOST_EPOCH for n in (1, 2, 3)]
    assert times == sorted(times) and times[2] - times[0] >= 3 and times[2] < 3600
    # the unittest class's teardown let it go: the pytest class had a host of its own
    pids = {seen[f"python {n}"][0] for n in range(3)}
    assert pids == {1000}
    times = [seen[f"python {n}"][-1] - HOST_EPOCH for n in range(3)]
    assert times == sorted(times) and times[2] - times[0] >= 4 and times[2] < 3600
    # and the module after them a fresh one
    assert seen["later"][0] == 1000
    assert HOST_EPOCH <= seen["later"][1] < HOST_EPOCH + 1
