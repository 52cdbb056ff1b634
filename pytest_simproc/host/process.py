"""SimProcess: the test's handle on one process of a host, alive or not.

Its identity (pid, ppid, groups) is read from the simulated process table, never from
the native process, which may be long gone; its output outlives the host's data dir.
"""
from __future__ import annotations

import signal as _signal
from typing import TYPE_CHECKING

from ..errors import SimTimeoutExpired
from ..kernel import Exited, Running, Signaled
from .options import _seconds

if TYPE_CHECKING:
    from .simhost import SimHost


class SimProcess:
    """One process of a host, alive or not. Identity fields are virtual."""

    def __init__(self, host: "SimHost", proc, stdout_path=None, stderr_path=None,
                 expected_final_state=None):
        self._host = host
        self._proc = proc
        self._stdout_path = stdout_path
        self._stderr_path = stderr_path
        self.expected_final_state = expected_final_state

    def __repr__(self):
        return f"<SimProcess {self.pid} {self.argv!r} {self.state}>"

    pid = property(lambda self: self._proc.pid)
    ppid = property(lambda self: self._proc.ppid)
    pgid = property(lambda self: self._proc.pgid)
    sid = property(lambda self: self._proc.sid)
    argv = property(lambda self: list(self._proc.argv))
    state = property(lambda self: self._proc.state)
    reaped_by = property(lambda self: self._proc.reaped_by)

    @property
    def name(self) -> str:
        """Shadow's process name: ``{hostname}.{exe}.{pid}``."""
        return f"{self._host.hostname}.{self._proc.exe}.{self.pid}"

    @property
    def exit_status(self):
        """Exited(n) / Signaled(sig) once ended; Running if alive at stop_time; None
        while it runs."""
        if id(self._proc) in self._host._engine.running_at_stop:
            return Running
        return self._proc.exit_status

    @property
    def returncode(self):
        status = self.exit_status
        if isinstance(status, Exited):
            return status.code
        if isinstance(status, Signaled):
            return -int(status.signal)
        return None

    @property
    def stdout_path(self):
        """Where the captured stdout is written (None when not captured)."""
        return self._stdout_path

    @property
    def stderr_path(self):
        return self._stderr_path

    def _read(self, path) -> bytes:
        if path is None:
            return b""
        cached = self._host._closed_output.get(path)
        if cached is not None:
            return cached
        with open(path, "rb") as f:
            return f.read()

    @property
    def stdout(self) -> bytes:
        return self._read(self._stdout_path)

    @property
    def stderr(self) -> bytes:
        return self._read(self._stderr_path)

    def strace(self):
        """This process's system calls, in strace's format; with logging off, the calls
        the host simulates, as ``Strace.recorded`` says."""
        from ..strace_match import Strace
        kept = self._host._closed_strace
        log = self._host._engine.strace
        if kept is not None:
            lines = kept.get(id(self._proc), [])
        else:
            lines = log.lines(self.pid) if log is not None else []
        return Strace(lines, deterministic=self._host.strace_mode == "deterministic",
                      recorded=log.recorded_names() if log is not None else None)

    def children(self) -> list["SimProcess"]:
        return [self._host.process(pid) for pid in list(self._proc.children)]

    def send_signal(self, sig) -> None:
        self._host.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(_signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(_signal.SIGKILL)

    def _ended(self) -> bool:
        return self._proc.state in ("zombie", "reaped")

    def wait(self, timeout=None):
        """Run the host until this process ends; ``timeout`` is in virtual seconds."""
        if timeout is not None:
            _seconds("timeout", timeout)
        self._host._run_until_ended(self, timeout)
        if not self._ended():
            raise SimTimeoutExpired(self.argv, timeout)
        return self.exit_status

    def poll(self):
        return self.returncode if self._ended() else None
