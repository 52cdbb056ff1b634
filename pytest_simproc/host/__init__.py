"""One simulated host, as the test sees it: SimHost and SimProcess.

- options.py    SimHost's options, checked before anything is created
- spawnargs.py  spawn's argv, env, cwd and program path
- stdio.py      a spawned program's stdin, stdout and stderr
- threads.py    the tracer thread (the one thread that may ptrace) and the watchdog
- process.py    SimProcess, the handle on one process
- simhost.py    SimHost, the façade: spawn, run, kill, inspect, close
- measure.py    coverage of the Python programs it runs (data names, saves before deaths)
"""
from .options import (DEFAULT_START_TIME, MAX_SECONDS, NSEC,  # noqa: F401
                      validate_host_options)
from .process import SimProcess
from .simhost import SimHost, _become_subreaper  # noqa: F401
from .spawnargs import _resolve_program  # noqa: F401
from .threads import _TracerThread, _Watchdog  # noqa: F401

__all__ = ["SimHost", "SimProcess", "validate_host_options", "DEFAULT_START_TIME",
           "MAX_SECONDS"]
