"""Without the C extension (trace/_ptrace.c, which pip builds only where a C compiler
is), the host runs its stop loop through trace/ptrace_ops.py's pure-Python requests
and wait (ctypes and os.wait4): the same programs give the same bytes, report and
deterministic strace log as with the extension."""
from __future__ import annotations

import json
import subprocess
import sys

# one host's run of argv, printed as JSON; ``hide`` makes the extension unimportable
_RUN = r"""
import json, sys
if sys.argv[1] == "hide":
    sys.modules["pytest_simproc.trace._ptrace"] = None   # import raises ImportError
from pytest_simproc import SimHost
from pytest_simproc.trace import ptrace_ops
with SimHost(strace="deterministic") as host:
    p = host.spawn(sys.argv[2:])
    host.run()
    print(json.dumps({"extension": ptrace_ops._c is not None, "stdout": p.stdout.decode(),
                      "status": str(p.exit_status), "report": host.report(),
                      "strace": host.strace_lines()}, sort_keys=True))
"""


def _run(hide: bool, argv) -> dict:
    out = subprocess.run([sys.executable, "-c", _RUN, "hide" if hide else "keep", *argv],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _same_with_and_without(argv) -> dict:
    """The fallback's run, after checking it equals the extension's where there is one."""
    fallback = _run(True, argv)
    assert fallback.pop("extension") is False
    try:
        from pytest_simproc.trace import _ptrace  # noqa: F401
    except ImportError:
        return fallback   # no extension here: the fallback is what this install runs
    extension = _run(False, argv)
    assert extension.pop("extension") is True
    assert fallback == extension
    return fallback


def test_fork_exit_reap_without_the_extension(build, forktree_checker):
    run = _same_with_and_without([build("forktree")])
    assert run["status"] == "Exited(0)"
    forktree_checker(run["stdout"].encode(), root_ppid=1)
    assert any("wait4(" in line for line in run["strace"])


def test_signals_and_threads_without_the_extension(build):
    """Signal-delivery-stops resumed with their signal, sigsuspend parked natively,
    a thread's clone and its join."""
    run = _same_with_and_without([build("sig_pingpong"), "50"])
    assert run["status"] == "Exited(0)", run["stdout"]
    assert "rt_sigsuspend" in "".join(run["strace"])
    run = _same_with_and_without([build("pthread")])
    assert run["status"] == "Exited(0)" and "joined 42" in run["stdout"]
