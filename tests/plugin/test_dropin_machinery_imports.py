"""The host's threads compile and import nothing while a suite runs.

CPython 3.11 (before 3.11.8) keeps the AST constructor's recursion depth in one global:
two threads that turn source into ``ast`` objects at once can corrupt it, and the next
``ast.parse`` fails with "SystemError: AST constructor recursion depth mismatch"
(python/cpython#106905). pytest parses source whenever it shows a failure, and its
assertion rewriter parses every module of an installed plugin it imports, so a module
of this package imported for the first time on the tracer thread raced the test's own
reports: two circus runs under --simproc ended in INTERNALERROR. The tracer and the
watchdog threads must only ever find their modules already loaded.
"""
from __future__ import annotations

START = 946684800   # the host's default start time

pytest_plugins = ["pytester"]

# the inner suite's conftest notes every compile, exec and first import made by a
# thread other than the main one, as an audit hook sees them (sys.addaudithook)
CONFTEST = """
import json
import sys
import threading

_main = threading.main_thread()
_seen = []


def _hook(event, args):
    if event in ("compile", "exec", "import") and threading.current_thread() is not _main:
        what = args[0] if event == "import" else getattr(args[0], "co_filename", args[-1])
        _seen.append([threading.current_thread().name, event, str(what)[:100]])


sys.addaudithook(_hook)


def pytest_sessionfinish(session):
    print("OBSERVED", json.dumps(_seen))
"""

SUITE = """
import json
import signal
import subprocess
import sys
import time

READS_ITS_STATUS = '''
with open("/proc/self/status") as f:
    status = f.read()
print([line for line in status.splitlines() if line.startswith("Pid:")][0].split()[1])
'''


def test_a_program_reads_its_status():
    out = subprocess.run([sys.executable, "-c", READS_ITS_STATUS], capture_output=True,
                         text=True, check=True).stdout
    print("OBSERVED", json.dumps([int(out), time.time()]))


def test_a_sleeper_is_stopped():
    p = subprocess.Popen(["sleep", "30"])
    time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=10) == -signal.SIGTERM
    print("OBSERVED", json.dumps([p.pid, time.time()]))
"""


def test_host_threads_compile_and_import_nothing(observed):
    for args in ([], ["--simproc"]):
        *programs, seen = observed({"conftest": CONFTEST, "test_suite": SUITE}, args,
                                   passed=2)
        assert seen == [], seen
        if args:   # the programs ran in hosts, in virtual time
            assert all(pid >= 1000 and now < START + 3600 for pid, now in programs), programs
