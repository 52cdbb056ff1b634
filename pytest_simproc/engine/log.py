"""The strace log's lines that the tracer writes as things end: a call's result, a
thread's or a process's end ("+++ exited with N +++", "+++ killed by SIG +++")."""
from __future__ import annotations

from ..kernel import Exited
from .records import Task


class TraceLog:
    """Ends of calls, threads and processes, for the strace log."""

    def _log_exit(self, task: Task, result: int) -> None:
        call = task.strace_call
        if call is not None:
            task.strace_call = None
            task.strace_call_unfinished = False
            self.strace.syscall_exit(call, result, task.mem, self.clock.now_ns)

    def _log_task_end(self, task: Task, state) -> None:
        """strace's "+++ exited with N +++" / "+++ killed by SIG +++" for one thread."""
        if isinstance(state, Exited):
            self.strace.exited(task.tid, state.code, False, False, self.clock.now_ns)
        else:
            self.strace.exited(task.tid, int(state.signal), True, state.core,
                               self.clock.now_ns)

    def _log_process_end(self, pid: int, info, state) -> None:
        """A call cut by the end is unfinished; every thread still running ends
        with the process, the main thread last."""
        for t in info.tasks:
            if t.strace_call is not None:  # killed inside a call
                self.strace.syscall_noreturn(t.strace_call, self.clock.now_ns)
                t.strace_call = None
        for t in info.tasks:
            if not t.exiting and t.tid != pid:
                self._log_task_end(t, state)
        self._log_task_end(info.tasks[0], state)
