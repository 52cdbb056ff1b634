"""Drop-in mode (``pytest --simproc``): unmodified tests run in a simulated host.

For the duration of one test (from before its fixtures are set up until after they are
torn down) a :class:`DropinSession` is active:

- ``subprocess.Popen`` is replaced by :class:`SimPopen` (so ``run``, ``call``,
  ``check_call``, ``check_output``, ``getoutput`` follow): each program is spawned into
  the test's :class:`~pytest_simproc.host.SimHost`, created lazily at the first spawn;
- ``os.kill``, ``os.killpg``, the wait family, ``os.pidfd_open``,
  ``signal.pidfd_send_signal``, ``os.getpgid`` and ``os.getsid`` called with a pid (or
  process group, or pidfd) of that host go to the host, any other to the real functions;
  the test's own group and session are the host's 1 (owngroup.py);
- time follows the host's virtual clock: freezegun freezes ``time.time``,
  ``time.monotonic``, ``datetime.now``... at the host's start time, and every time the
  host runs (``time.sleep``, ``wait``, ``poll``, ``communicate``, reading or selecting
  a pipe) the freezer is moved to ``host.now``. ``time.sleep(s)`` in the test runs the
  simulation for ``s`` virtual seconds. Each read of the clock by the test's thread
  costs it a microsecond (clock.py), which the host catches up with before it runs.

Nothing in the host runs behind the test's back: the simulated programs make progress
only while the test is inside one of those calls, which is what makes the test both fast
and deterministic.

Module attributes that hold the real objects (``from subprocess import Popen``,
``from time import sleep``, ``from os import kill``) are patched too, and everything is
restored at the end of the test.

- routing.py  the real functions, and which callers see the simulation
- session.py  DropinSession: the test's host, running it, its pids
- popen.py    SimPopen;  pipes.py  its stdin/stdout/stderr pipes
- ready.py    select, poll, epoll, selectors and os.read on those pipes: they run the host
- patches.py  the fakes of time.sleep and the os process functions, installed and undone
- waiting.py  the test as its programs' parent: os.wait*, pidfds;  cldstop.py  no
              SIGCHLD to the test for its programs' ptrace stops
- sockets.py  the test's blocking socket calls to its programs run the host
- aio.py      asyncio loops on the host's clock, asyncio subprocesses in the host
- uvwait.py   uvloop's loops too, through libuv's calls (libhooks.py: a compiled
              library's calls to libc functions, sent to Python)
- clock.py    the test's clocks frozen to the host's virtual time;  threadwait.py  the
              timed waits of its threads (Timer, Event, Condition, join) on that clock
- forking.py  the test's forks join its host (os.fork, pty, multiprocessing, Popen's
              fork for preexec_fn and the like); osspawn.py  os.system, posix_spawn
- procfs.py   the test's /proc (open, os.listdir, os.stat... and so psutil): the host's
              processes under their virtual pids;  pidcalls.py  its priority,
              affinity and rlimit calls on them
"""
from .popen import DropinUnsupportedError, SimPopen
from .routing import active_session
from .session import DROPIN_STOP_TIME, DropinSession

__all__ = ["DropinSession", "SimPopen", "DropinUnsupportedError", "DROPIN_STOP_TIME",
           "active_session"]
