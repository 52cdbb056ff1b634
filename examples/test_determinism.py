"""The same scenario in 20 fresh hosts gives the same bytes, every time.

For each daemon of this directory (and jobs.sh) one scenario (start, signals, outside
clients, shutdown) is run in 20 consecutive new hosts with the same seed. Every run must
give byte-identical stdout and stderr, the same ``host.report()`` (pids, exit statuses,
who reaped whom, start and end times) and, when the host logs a deterministic strace,
the same strace for every process: same system calls, same arguments and results,
same virtual timestamps.

prefork.py's ports are the host's too: the port its bind(port 0) gets comes from the
host's sequence, and each connection the test makes shows in accept with a port the
host gives it, so nothing is replaced before comparing.
"""
from __future__ import annotations

import difflib
import json
import re
import signal
import socket
from pathlib import Path

import pytest

from pytest_simproc import Exited, SimHost
from pytest_simproc.assertions import Strace

EXAMPLES = Path(__file__).resolve().parent
RUNS = 20


# ----------------------------------------------------------------------- scenarios
# Each scenario takes a fresh host and the fixtures it needs, and returns the process
# whose stdout it checks and the {bytes: replacement} of what the host does not choose.

def jobs_run(host, fx):
    p = host.spawn([fx["bash"], str(EXAMPLES / "jobs.sh"), "run"], env=fx["clean_env"])
    assert p.wait() == Exited(0)
    return p, {}


def dfdaemon(host, fx):
    pidfile, config = fx["tmp"] / "dfdaemon.pid", fx["tmp"] / "dfdaemon.conf"
    config.write_text("value = hello\n")
    p = host.spawn(**fx["py_script"]("dfdaemon.py", str(pidfile), str(config)))
    host.run_for(25)
    config.write_text("value = world\n")
    daemon = host.process(int(pidfile.read_text()))
    daemon.send_signal(signal.SIGHUP)
    host.run_for(10)
    daemon.terminate()
    assert daemon.wait(timeout=5) == Exited(0)
    return p, {}


def prodcons(host, fx):
    p = host.spawn([fx["programs"]["prodcons"]])
    assert p.wait() == Exited(0)
    return p, {}


def prefork(host, fx):
    master = host.spawn(**fx["py_script"]("prefork.py"))
    assert host.run_until(lambda: b"\n" in master.stdout, timeout=5)
    port = int(master.stdout.split(b"\n", 1)[0].split()[1])

    def ask(request):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(request)
            host.run_for(1)
            client.setblocking(False)
            reply = client.recv(4096)
        host.run_for(1)
        assert reply.startswith(b"pong "), reply
        # the replies go to stdout too, so that they are compared as well
        print(reply.decode(), end="")

    ask(b"ping\n")
    ask(b"ping\nping\n")
    host.process(1001).kill()
    host.run_for(1)
    ask(b"ping\n")
    master.terminate()
    assert master.wait(timeout=5) == Exited(0)
    return master, {}


SCENARIOS = {
    # name: (function, the fixtures it needs, a system call some strace must show)
    "jobs.sh": (jobs_run, ("bash", "clean_env"), r"^wait4\(-1, "),
    "dfdaemon": (dfdaemon, ("py_script",), r"^p?select6?\(4, \[3\], NULL, NULL, "),
    "prodcons": (prodcons, ("programs",), r"^futex\("),
    "prefork": (prefork, ("py_script",), r"^accept4?\(3, "),
}


# ----------------------------------------------------------------------- helpers
def _normalize(data: bytes, replacements) -> bytes:
    for old, new in replacements.items():
        data = data.replace(old, new)
    return data


def run_scenario(name, fx, capsys, strace=False) -> dict[str, str]:
    """One fresh host, one run: everything compared, as text."""
    func = SCENARIOS[name][0]
    options = {"strace": "deterministic"} if strace else {}
    with SimHost(**options) as host:
        main, replacements = func(host, fx)
        printed = capsys.readouterr().out.encode()
        result = {
            "stdout": main.stdout + b"--- seen by the clients ---\n" + printed,
            "stderr": main.stderr,
            "report": json.dumps(host.report(), indent=1, sort_keys=True).encode(),
        }
        if strace:
            for proc in host.processes():
                lines = proc.strace().lines
                assert lines, f"no strace line for process {proc.pid} ({proc.argv})"
                result[f"strace {proc.pid}"] = "\n".join(lines).encode()
    return {key: _normalize(value, replacements).decode(errors="replace")
            for key, value in result.items()}


def assert_all_identical(runs: list[dict[str, str]]) -> None:
    __tracebackhide__ = True
    first = runs[0]
    for i, run in enumerate(runs[1:], start=2):
        if run == first:
            continue
        for key in sorted(set(first) | set(run)):
            a, b = first.get(key, ""), run.get(key, "")
            if a != b:
                diff = "\n".join(list(difflib.unified_diff(
                    a.splitlines(), b.splitlines(), f"run 1: {key}", f"run {i}: {key}",
                    lineterm=""))[:60])
                pytest.fail(f"run {i} of {len(runs)} differs from run 1 in {key}:\n{diff}",
                            pytrace=False)
        pytest.fail(f"run {i} has other keys than run 1: {sorted(run)} vs {sorted(first)}",
                    pytrace=False)


@pytest.fixture
def fx(request, tmp_path):
    """The fixtures the scenario of this test needs, looked up lazily (a scenario
    without a C compiler or bash is skipped alone)."""
    name = request.node.callspec.params["name"]
    needed = {f: request.getfixturevalue(f) for f in SCENARIOS[name][1]}
    return {**needed, "tmp": tmp_path}


@pytest.fixture(scope="session")
def deterministic_strace():
    """Skips when this version of pytest-simproc cannot log a deterministic strace."""
    try:
        with SimHost(strace="deterministic"):
            pass
    except (ImportError, NotImplementedError, ValueError, TypeError) as exc:
        pytest.skip(f"strace logging not available: SimHost(strace='deterministic') "
                    f"failed: {exc!r}")


# ----------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_twenty_hosts_same_output_and_report(name, fx, capsys):
    runs = [run_scenario(name, fx, capsys) for _ in range(RUNS)]
    assert_all_identical(runs)
    report = json.loads(runs[0]["report"])
    assert report["host"]["unsupported_syscalls"] == []
    assert all(p["state"] == "reaped" for p in report["processes"])


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_twenty_hosts_same_strace(name, fx, capsys, deterministic_strace):
    runs = [run_scenario(name, fx, capsys, strace=True) for _ in range(RUNS)]
    assert_all_identical(runs)
    straces = {k: v for k, v in runs[0].items() if k.startswith("strace ")}
    must_show = re.compile(SCENARIOS[name][2])
    calls = [Strace(text).calls for text in straces.values()]
    assert any(must_show.search(call) for log in calls for call in log), (
        f"no call matches {must_show.pattern!r} in the strace of any process "
        f"({sorted(straces)})")
