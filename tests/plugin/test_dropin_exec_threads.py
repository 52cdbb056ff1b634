"""A program whose main thread execs while its other threads live.

python-manhole's ``test_fork_exec``: its helper forks, and the child, where manhole's
thread was started again, sleeps and execs ``true``; under --simproc the test hung
(the host waited for ever for the end of the thread that the exec ended) or failed
with "no such process". execve(2) ends every other thread of the process, and ptrace
reports each as if it had called _exit(0) (ptrace(2), "execve(2) under ptrace"); the
host took that for the end of the whole process. The inner tests run such a program
directly, and as the forked child of one that waits for it.
"""
from __future__ import annotations

import pytest

from .test_dropin import MODES

pytest_plugins = ["pytester"]

INNER = '''
import subprocess
import sys
import time

from dropin_helpers import observed

EXEC_BESIDE_A_THREAD = """
import os, threading, time

def tick():
    while True:
        time.sleep(0.25)

def run():
    threading.Thread(target=tick, daemon=True).start()
    time.sleep(1)
    os.execvp("echo", ["echo", "exec'd"])

if "fork" in os.sys.argv:
    pid = os.fork()
    if pid == 0:
        run()
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status), flush=True)
else:
    run()
"""


def exec_beside_a_thread(name, *args):
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", EXEC_BESIDE_A_THREAD, *args],
                            stdout=subprocess.PIPE)
    out, _ = proc.communicate(timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0
    observed(name, [proc.pid], elapsed)
    return out


def test_the_main_thread_execs():
    assert exec_beside_a_thread("direct") == b"exec'd\\n"


def test_a_forked_childs_main_thread_execs():
    assert exec_beside_a_thread("forked", "fork") == b"exec'd\\nchild 0\\n"
'''


@pytest.mark.parametrize("args", MODES)
def test_an_exec_ends_the_other_threads_not_the_process(observe, virtual, args):
    seen = observe(INNER, args, passed=2)
    if args:  # in the host, one virtual second of sleep before each exec
        for (pid,), (elapsed,) in virtual(seen).values():
            assert pid >= 1000 and 1 <= elapsed < 1.5
