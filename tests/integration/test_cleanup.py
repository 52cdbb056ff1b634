"""Nothing survives a host: closing it, an error in the test, or its tracer dying."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pytest_simproc import Exited, Signaled, SimHost


def _native_pids(host) -> list[int]:
    return [info.native for info in host._engine.info.values()]


def _exists(pid: int) -> bool:
    """True if ``pid`` is a live process (a zombie of ours counts as gone once reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_close_kills_and_reaps_every_native_process():
    host = SimHost()
    host.spawn(["bash", "-c", "sleep 100 & sleep 200 & sleep 300; wait"])
    host.run_for(10)
    assert len([p for p in host.processes() if p.state == "running"]) == 4
    natives = _native_pids(host)
    assert len(natives) == 4 and all(_exists(n) for n in natives)
    host.close()
    assert not [n for n in natives if os.path.exists(f"/proc/{n}")]


def test_error_inside_with_block_still_cleans_up():
    natives = []
    with pytest.raises(RuntimeError):
        with SimHost() as host:
            host.spawn(["sleep", "1000"])
            host.run_for(1)
            natives = _native_pids(host)
            raise RuntimeError("test failed")
    assert natives and not [n for n in natives if os.path.exists(f"/proc/{n}")]


def test_tracer_killed_takes_its_tracees_along(tmp_path):
    """PTRACE_O_EXITKILL: a tracer process killed with SIGKILL leaves nothing running."""
    script = tmp_path / "tracer.py"
    script.write_text(textwrap.dedent("""
        import sys, time
        from pytest_simproc import SimHost
        host = SimHost()
        host.spawn(["sleep", "1000"])
        host.run_for(1)
        print(host._engine.info[1000].native, flush=True)
        time.sleep(60)
    """))
    tracer = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    native = int(tracer.stdout.readline())
    assert _exists(native)
    tracer.send_signal(signal.SIGKILL)
    tracer.wait()
    deadline = time.monotonic() + 10
    while _exists(native) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _exists(native)
    try:  # reparented to us (the tests' process is a subreaper): reap the zombie
        os.waitpid(native, os.WNOHANG)
    except ChildProcessError:
        pass


@pytest.mark.parametrize("answer", [0, None], ids=["hook-answers", "simulator-answers"])
def test_a_program_killed_natively_while_stopped_ends_killed(answer):
    """SIGKILL ends a ptrace-stop (the watchdog's kill, a user's ``kill -9`` of the
    native pid, a sibling's exit_group): the tracer's next request to the task fails
    with ESRCH. That is the task's death on the way, not a host error (it was one,
    racing the watchdog in CI)."""
    host = SimHost()

    def kill_it(call):
        os.kill(_native_pids(host)[0], signal.SIGKILL)
        return answer

    host.emulate_syscalls(["getppid"], kill_it)
    proc = host.spawn([sys.executable, "-c", "import os; os.getppid(); print('survived')"])
    host.run_for(10)
    assert proc.exit_status == Signaled(signal.SIGKILL)
    assert proc.stdout == b""
    host.close()


def test_a_host_makes_its_data_dir_only_when_something_goes_there():
    """A program whose output goes elsewhere leaves the host nothing to keep: no
    directory is made (a mkdtemp and an rmtree per drop-in test, milliseconds on a
    loaded disk); the first use makes it, and close removes it."""
    import glob
    import tempfile
    pattern = os.path.join(tempfile.gettempdir(), "simproc-lazydir-*")
    before = set(glob.glob(pattern))
    with open(os.devnull, "wb") as null, SimHost(hostname="lazydir") as host:
        p = host.spawn(["sh", "-c", "date; echo err >&2"], stdout=null, stderr=null)
        host.run()
        assert p.exit_status == Exited(0)
        assert set(glob.glob(pattern)) == before
        made = host.data_dir
        assert os.path.isdir(made) and set(glob.glob(pattern)) == before | {made}
        q = host.spawn(["echo", "kept"])
        host.run()
        assert q.stdout == b"kept\n" and os.path.dirname(q.stdout_path) == made
    assert set(glob.glob(pattern)) == before
