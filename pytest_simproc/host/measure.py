"""Coverage of the Python programs a host runs, when the test run measures subprocesses
(pytest-cov or ``coverage run`` with ``[run] patch = subprocess``: coverage then puts
its configuration in COVERAGE_PROCESS_CONFIG, and its .pth file starts measuring any
Python that finds it there).

Three things differ from a native run, and this module handles them:

- Names: coverage names a parallel data file from hostname, pid and a random number,
  all three simulated and repeated by design in a host (same seed, same names). A
  measured program writes into ``{data_dir}/coverage/``, private to its host; at
  ``close()`` the host moves each file beside the run's data file under a name made
  unique with the machine's hostname and a random token drawn by the test process.
- Forks, ``os._exit`` and exec: coverage's own ``fork``, ``_exit`` and ``execv`` patches
  are switched on, so a forked child measures and saves, and data is saved before exec.
- Deaths the host decides (a signal from the test, a SIGKILL from another program,
  stop_time, shutdown, close): the program loads the ``_pytest_simproc_cov`` coverage
  plugin, which handles FLUSH_SIGNAL by saving; the host sends it through the simulated
  kernel, runs the host at the same virtual instant until the program left its marker
  file, and only then carries out the death.
"""
from __future__ import annotations

import base64
import glob
import json
import os
import secrets
import shutil
import signal as _signal
import socket
import sys

from _pytest_simproc_cov import FLUSH_SIGNAL, marker_path

from ..engine.records import blocked_mask

CONFIG_VARIABLE = "COVERAGE_PROCESS_CONFIG"
START_VARIABLE = "COVERAGE_PROCESS_START"  # coverage's older way: a config file
PLUGIN = "_pytest_simproc_cov"
PRIVATE = "coverage"  # the host's own directory for its programs' data, in its data dir
PATCHES = ("fork", "_exit", "execv")
# signal(7): the signals whose default action ends the process.
_FATAL_BY_DEFAULT = frozenset(
    sig for sig in range(1, _signal.NSIG)
    if sig not in (_signal.SIGCHLD, _signal.SIGCONT, _signal.SIGSTOP, _signal.SIGTSTP,
                   _signal.SIGTTIN, _signal.SIGTTOU, _signal.SIGURG, _signal.SIGWINCH))


def run_variables(environ=os.environ) -> dict:
    """The coverage variables of ``environ``: what the test run measures with (read at
    every drop-in test's start: os.environ's own dict of bytes, without its Python
    mapping methods, when it is os.environ)."""
    data = getattr(environ, "_data", None)
    if type(environ) is not os._Environ or type(data) is not dict:
        return {name: environ.get(name) for name in (CONFIG_VARIABLE, START_VARIABLE)}
    config, start = data.get(_CONFIG_KEY), data.get(_START_KEY)
    return {CONFIG_VARIABLE: None if config is None else environ.decodevalue(config),
            START_VARIABLE: None if start is None else environ.decodevalue(start)}


_CONFIG_KEY, _START_KEY = os.fsencode(CONFIG_VARIABLE), os.fsencode(START_VARIABLE)


def _the_tests_own(env: dict, run: dict) -> bool:
    """``env`` holds a coverage configuration that is not the run's ``run``: one the
    test set itself (coverage's own suite sets COVERAGE_PROCESS_START and reads the
    data file its child wrote). The one coverage's process_startup takes counts."""
    name = CONFIG_VARIABLE if env.get(CONFIG_VARIABLE) else START_VARIABLE
    return bool(env.get(name)) and env[name] != run.get(name)


def measured_environment(env: dict, data_dir, run: "dict | None" = None) -> "str | None":
    """Point the coverage configuration in ``env`` (or, if the caller gave an
    environment without it, the test run's own; or the file COVERAGE_PROCESS_START
    names) at the host's private directory (``data_dir()``: asked only then), with
    the patches and the plugin above; return the run's data file, or None when the
    run measures no subprocesses. ``run``: the run's coverage variables (drop-in
    mode, run_variables()); a configuration of the test's own is then left to the
    program, which measures and saves as natively. None: any is the run's."""
    if run is not None and _the_tests_own(env, run):
        return None
    fallback = os.environ if run is None else run
    serialized = env.get(CONFIG_VARIABLE) or fallback.get(CONFIG_VARIABLE)
    if not serialized:
        start = env.get(START_VARIABLE) or fallback.get(START_VARIABLE)
        if not start:
            return None
        from coverage.exceptions import CoverageException
        try:
            serialized = run_configuration(start)
        except (OSError, CoverageException):
            return None  # the program's own start-up reports it, as natively
    try:
        config = json.loads(base64.b64decode(serialized.encode()))
        data_file = config["data_file"]
    except (ValueError, KeyError, TypeError):
        return None  # not coverage's: left alone
    private = os.path.join(data_dir(), PRIVATE)
    os.makedirs(private, exist_ok=True)
    config["data_file"] = os.path.join(private, os.path.basename(data_file))
    config["parallel"] = True
    config["patch"] = sorted(set(config.get("patch") or ()) | {"subprocess", *PATCHES})
    config["plugins"] = list(config.get("plugins") or ()) + (
        [] if PLUGIN in (config.get("plugins") or ()) else [PLUGIN])
    env[CONFIG_VARIABLE] = base64.b64encode(json.dumps(config).encode()).decode()
    return os.path.abspath(data_file)


def run_configuration(config_file=True) -> str:
    """Coverage's configuration from ``config_file`` (True: the current directory's, as
    ``coverage run`` reads it; ``simproc run --cov``), serialized as its subprocess
    patch does (paths made absolute)."""
    from coverage.config import read_coverage_config
    config = read_coverage_config(
        config_file=config_file, warn=lambda msg: print(f"coverage: {msg}", file=sys.stderr))
    return config.serialize()


def flush(engine, pids, only=None) -> None:
    """On the tracer thread: have every measured live process among ``pids`` save its
    data, at the current virtual instant (running no other process than ``only`` if
    given); a process that cannot (its main thread stuck where no signal reaches it)
    keeps what it saved before."""
    waiting = {}
    for pid in pids:
        info = engine.info.get(pid)
        proc = engine.table.get(pid)
        main = engine.tasks_by_tid.get(pid)
        if (info is None or proc is None or main is None or proc.state != "running"
                or not info.dispositions.get(FLUSH_SIGNAL).is_handler
                or blocked_mask(main) & 1 << (FLUSH_SIGNAL - 1)):
            continue  # blocked: it would stay pending (a sigwait for all would get it)
        marker = marker_path(os.path.join(engine.data_dir, PRIVATE), pid)
        try:
            os.unlink(marker)
        except FileNotFoundError:
            pass
        if engine.kill_thread(1, pid, pid, FLUSH_SIGNAL) == 0:
            waiting[pid] = marker
    if waiting:
        def saved():
            return all(os.path.exists(m) or engine.table.get(p) is None
                       or engine.table.get(p).state != "running"
                       for p, m in waiting.items())
        engine.run(engine.clock.now_ns, saved, only)


def flush_before_kill(engine):
    """The engine's before_kill hook: a SIGKILL generated inside the host (kill(2) by
    another program) waits until its target saved, running only the target. Not when
    the target is the task the engine is running (it kills itself; or the test's own
    kill, which saved before)."""
    def hook(proc):
        current = engine.sched._current
        if current is None or current.proc.pid != proc.pid:
            flush(engine, [proc.pid], only=proc.pid)
    return hook


def fatal_by_default(sig: int) -> bool:
    return sig in _FATAL_BY_DEFAULT


def harvest(data_dir: str, destination: str) -> list[str]:
    """Move the host's data files beside the run's data file, uniquely named (coverage's
    ``.HOST.pidN.XrandomX`` suffix, HOST made of the machine's hostname and a token)."""
    moved = []
    private = os.path.join(data_dir, PRIVATE)
    base = os.path.basename(destination)
    token = f"{socket.gethostname().replace('.', '_')}-simproc-{secrets.token_hex(6)}"
    for path in sorted(glob.glob(glob.escape(os.path.join(private, base)) + ".*")):
        if path.endswith("-journal"):
            continue
        suffix = os.path.basename(path)[len(base) + 1:]
        host, _, rest = suffix.partition(".")
        target = (f"{destination}.{token}-{host}.{rest}" if rest
                  else f"{destination}.{token}.{suffix}")
        shutil.move(path, target)
        moved.append(target)
    return moved
