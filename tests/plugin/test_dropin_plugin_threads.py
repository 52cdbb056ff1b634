"""Threads of the test process that wait outside the host while its programs work.

A plugin's thread is machinery, like pytest's: pytest-rerunfailures serves its status
database from a thread that waits in a real ``accept()`` for the whole run. Counted as
the suite's, it made every host run go one instant at a time with a real pause for it,
and dumb-init's ``test_no_setsid_doesnt_signal_entire_group`` timed out under --simproc.
Worse, it showed that while any such thread lived, busy programs froze: the host ran to
"now" between looks at the thread, and a run to now ends before the programs' CPU burst
can move the clock, so nothing ran again until a timer came (``wait()`` never did).
"""
from __future__ import annotations

import threading
import types

import pytest

from pytest_simproc.dropin import threadwait

pytest_plugins = ["pytester"]


def _thread_running(module: str) -> threading.Thread:
    code = types.FunctionType((lambda: None).__code__, {"__name__": module})
    assert code.__module__ == module
    return threading.Thread(target=code)


class _PluginManager:
    """The one method of pluggy's PluginManager that note_plugins asks."""

    def __init__(self, *modules):
        self._pairs = [(types.ModuleType(name), object()) for name in modules]

    def list_plugin_distinfo(self):
        return self._pairs


def test_threads_of_plugins_named_as_plugins_are_machinery():
    assert threadwait.machinery(_thread_running("pytest_rerunfailures"))
    assert threadwait.machinery(_thread_running("pytest_timeout"))
    assert threadwait.machinery(_thread_running("_pytest.threadexception"))


def test_threads_of_installed_plugins_are_machinery(monkeypatch):
    monkeypatch.setattr(threadwait, "_plugin_modules", set())
    thread = _thread_running("statusdb.server")
    assert not threadwait.machinery(thread)
    threadwait.note_plugins(_PluginManager("statusdb.server"))
    assert threadwait.machinery(thread)


def test_threads_of_the_suites_code_take_part(monkeypatch):
    monkeypatch.setattr(threadwait, "_plugin_modules", set())
    # a conftest is registered as a plugin too, but not from a distribution
    threadwait.note_plugins(_PluginManager())
    assert not threadwait.machinery(_thread_running("conftest"))
    assert not threadwait.machinery(_thread_running("plumbum.commands.processes"))
    assert not threadwait.machinery(_thread_running("tests.test_server"))


def test_the_running_pytest_notes_its_installed_plugins(pytester):
    pytester.makeconftest("""
        import threading
        from pytest_simproc.dropin import threadwait

        def pytest_sessionfinish(session):
            import pytest_timeout
            print("NOTED", pytest_timeout.__name__ in threadwait._plugin_modules)
    """)
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--simproc", "-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*NOTED True*"])


def test_a_timer_of_the_suite_running_this_packages_code_takes_part():
    # threading.Timer(1, p.kill): p.kill is SimPopen's, the thread is the suite's
    from pytest_simproc.dropin.popen import SimPopen
    timer = threading.Timer(1, SimPopen.kill)
    assert not threadwait.machinery(timer)


BUSY_WHILE_A_SERVER_WAITS = """
import json
import os
import socket
import subprocess
import sys
import threading

WORK = "import os\\nfor _ in range(15000): os.getppid()"


def test_a_busy_program_ends_while_a_thread_waits_for_a_client():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]))
    thread.start()
    try:
        p = subprocess.Popen([sys.executable, "-c", WORK], stdout=subprocess.DEVNULL)
        assert p.wait() == 0  # no pipe to read: the wait alone runs the host
        print("OBSERVED", json.dumps(p.pid))
    finally:
        socket.create_connection(server.getsockname()).close()
        thread.join()
        server.close()
        accepted[0].close()
"""


@pytest.mark.parametrize("mode", [[], ["--simproc"]], ids=["native", "simproc"])
def test_busy_programs_run_while_a_thread_of_the_test_waits(observed, mode):
    pids = observed(BUSY_WHILE_A_SERVER_WAITS, ["--timeout", "60", *mode], passed=1,
                    timeout=180)
    # 15,000 trapped calls: more than one CPU burst (10 ms at 1 us a call) in the host
    if mode:
        assert pids == [1000]  # the host's first program
