"""The end of a host: every native process killed and its death collected, and the
pidfd proof that none survives."""
from __future__ import annotations

import os
import select
import signal as _signal
import time as _time

from ..trace import ptrace_ops as pt

SIGKILL = _signal.SIGKILL
# the real select.poll, taken when the plugin loads: a host may close on a drop-in
# test's thread (SimHost.close), where select.poll is the test's fake (dropin/ready.py)
_poll = select.poll


class Teardown:
    """Killing, draining and proving the native processes gone."""

    def kill_everything(self) -> None:
        """SIGKILL every native process of the host (any thread may do this)."""
        for task in list(self.tasks.values()):
            if not task.gone:
                try:
                    os.kill(task.native, SIGKILL)
                except ProcessLookupError:
                    pass

    def drain(self, timeout: float = 10.0) -> list[int]:
        """After kill_everything: collect every native death; return survivors."""
        # not time.monotonic, which may be freezegun's (drop-in mode): see trap.py
        deadline = _time.clock_gettime(_time.CLOCK_MONOTONIC) + timeout
        while any(not t.gone for t in self.tasks.values()):
            if _time.clock_gettime(_time.CLOCK_MONOTONIC) > deadline:
                break
            try:
                native, status = os.waitpid(-1, pt.WALL | pt.WNOTHREAD | os.WNOHANG)
            except ChildProcessError:
                break
            if native == 0:
                _time.sleep(0.001)
                continue
            task = self.tasks.get(native)
            if task is None:
                continue
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                self._on_native_death(task, status)
            else:
                try:
                    pt.cont(native, 0)
                except pt.PtraceError:
                    pass
        for native in list(self._native_unreaped):
            if _try_reap(native):
                self._native_unreaped.discard(native)
        return self.survivors()

    def survivors(self) -> list[int]:
        """The pidfd-based proof: every native process we started has exited, and
        none is left as an unreaped zombie."""
        alive = []
        poller = _poll()
        for task in self.tasks.values():
            if not task.gone and task.native == task.tgid_native:
                self._pidfd(task.native)
        for pidfd in self._pidfds.values():
            poller.register(pidfd.fileno(), select.POLLIN)
        exited = {fd for fd, _ in poller.poll(0)}
        for native, pidfd in self._pidfds.items():
            # pidfd_open(2): the pidfd polls readable once the process has exited
            if pidfd.fileno() not in exited:
                alive.append(native)
        alive.extend(sorted(self._native_unreaped))
        return alive

    def close(self) -> None:
        if self.strace is not None:
            self.strace.close()
        if self.clock_page is not None:
            self.clock_page.close()
        for objects in self._fd_objects.values():
            for obj in objects:
                os.close(obj.dup)
        self._fd_objects.clear()
        self.exclusive_edges.close()
        for pidfd in self._pidfds.values():
            pidfd.close()
        self._pidfds.clear()


def _try_reap(native: int) -> bool:
    """True when the native process is no longer a zombie we owe a wait to."""
    try:
        pid, _ = os.waitpid(native, os.WNOHANG | pt.WALL)
    except ChildProcessError:
        # Gone: every native process of a host is the tracer's own child (processes are
        # cloned with CLONE_PARENT), and its death event already reaped it.
        return True
    return pid != 0
