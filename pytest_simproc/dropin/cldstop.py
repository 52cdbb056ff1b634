"""The test process does not get a SIGCHLD for every ptrace stop of a host program.

The test process is the tracer of its host's programs, and Linux sends a tracer SIGCHLD
(si_code CLD_TRAPPED) at every ptrace stop of a tracee (do_notify_parent_cldstop in
kernel/signal.c): thousands for one ``python -c``. Natively the test gets one SIGCHLD
per child that ends. A suite with a SIGCHLD handler and a signal wake-up fd (asyncio's
SafeChildWatcher, ``loop.add_signal_handler(SIGCHLD, ...)``; uvloop) had its wake-up
socket fill while the host ran, and Python wrote "Exception ignored when trying to
write to the signal wakeup fd" to the test's fd 2 for each signal that did not fit
(uvloop's test_process_streams_redirect reads that fd back).

Where to keep them from the test's handler:

- Blocking SIGCHLD in the test's threads and taking it in the tracer's (sigprocmask,
  signalfd) would change the test's own signal mask, which its native children inherit
  across exec (signal(7)), and the test's native children's SIGCHLDs would have to be
  raised again by hand.
- A handler of our own in front of the test's (SA_SIGINFO, dropping CLD_TRAPPED)
  would need C, and every ``signal.signal`` of the test, of Python or of libuv puts
  its own back.
- SA_NOCLDSTOP on the test's SIGCHLD action: the kernel then sends no SIGCHLD for a
  stop of any child, a ptrace stop included (sigaction(2); do_notify_parent_cldstop
  checks it), and still one for each child's end. Its only effect on the test's own
  native children is the same: no SIGCHLD when one of them is stopped or continued
  (CLD_STOPPED, CLD_CONTINUED) while a session runs; waitpid(WUNTRACED) still reports
  it. This is the one taken.

So, while a session runs, before the host runs or spawns (``quiet``), a SIGCHLD action
of the test that is a handler gets SA_NOCLDSTOP, with its handler, mask and other
flags kept; at the session's end (``restore``) the flag goes again if the action is
still that one. The test still gets a real SIGCHLD as each host program ends (its
tracee's real end, when the simulated kernel lets it end); a host program's own
children and threads, also the test's tracees, send one as they end too, which
natively go to their own parents (left as is: the tracer's, not a stop).
"""
from __future__ import annotations

import ctypes
import signal

_SA_NOCLDSTOP = 1  # <signal.h>, x86-64
_SIG_DFL, _SIG_IGN = 0, 1


class _Sigaction(ctypes.Structure):
    """glibc's struct sigaction on x86-64."""
    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16),
                ("flags", ctypes.c_int), ("restorer", ctypes.c_void_p)]


# PyDLL: the GIL stays held, so no Python code of another thread (signal.signal) runs
# inside one of the calls
_sigaction = ctypes.PyDLL(None).sigaction
_sigaction.restype = ctypes.c_int
_sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]

_flagged: list = []  # the handler whose action got SA_NOCLDSTOP from us, if any


def _current() -> _Sigaction | None:
    action = _Sigaction()
    if _sigaction(signal.SIGCHLD, None, ctypes.byref(action)) != 0:
        return None
    return action


def quiet() -> None:
    """The test's SIGCHLD handler, if it has one, gets no SIGCHLD for a stop."""
    action = _current()
    if (action is None or (action.handler or _SIG_DFL) in (_SIG_DFL, _SIG_IGN)
            or action.flags & _SA_NOCLDSTOP):
        return
    action.flags |= _SA_NOCLDSTOP
    if _sigaction(signal.SIGCHLD, ctypes.byref(action), None) == 0:
        _flagged[:] = [action.handler]


def restore() -> None:
    """The session ended: the test's SIGCHLD action as the test made it."""
    if not _flagged:
        return
    handler = _flagged.pop()
    action = _current()
    if action is not None and action.handler == handler and action.flags & _SA_NOCLDSTOP:
        action.flags &= ~_SA_NOCLDSTOP
        _sigaction(signal.SIGCHLD, ctypes.byref(action), None)
