"""pydaemon: a small Python daemon with a forked job runner.

    python3 pydaemon.py [--config FILE]

The daemon forks a *job runner* that runs a job every ``interval`` seconds (10 by default,
or ``interval = N`` in FILE): it sleeps, then prints ``job <n> at <time>``. The daemon
itself waits for signals:

- SIGHUP: reload. Re-reads FILE, prints ``reloaded #<n> interval <N>`` and passes the
  SIGHUP on to the runner, which re-reads FILE too (the new interval applies from the
  runner's next sleep on).
- SIGUSR1: prints a status line (runner pid, uptime, reload count).
- SIGTERM: clean exit: SIGTERM to the runner, waits for it, prints ``bye``, exits 0.
- SIGCHLD: a runner that died is reported and replaced by a new one.

The runner asks the kernel (PR_SET_PDEATHSIG) for a SIGTERM when the daemon dies, so a
``kill -9`` of the daemon does not leave it behind. Every line goes to stdout, line
buffered (stdout is a regular file, so Python would buffer whole blocks otherwise).
"""
import ctypes
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
DEFAULT_INTERVAL = 10


class Stop(Exception):
    """Raised by the runner's SIGTERM handler to leave its sleep."""


def read_interval(path):
    if path is None:
        return DEFAULT_INTERVAL
    interval = DEFAULT_INTERVAL
    with open(path) as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() == "interval":
                interval = int(value)
    return interval


def say(*words):
    print(*words)


def runner(config):
    """The job runner (a forked child of the daemon). Never returns."""
    code = 0
    jobs = 0
    try:
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)

        def on_term(signum, frame):
            raise Stop

        def on_hup(signum, frame):
            nonlocal interval
            interval = read_interval(config)
            say(f"runner {os.getpid()} interval {interval}")

        interval = read_interval(config)
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGHUP, on_hup)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
        if os.getppid() == 1:          # the daemon died before the prctl
            raise Stop
        say(f"runner {os.getpid()} started at {int(time.time())}")
        while True:
            time.sleep(interval)
            jobs += 1
            say(f"job {jobs} at {int(time.time())}")
    except Stop:
        say(f"runner {os.getpid()} stopping after {jobs} jobs")
    except BaseException as exc:       # never fall back into the daemon's code
        say(f"runner {os.getpid()} failed: {exc!r}")
        code = 1
    finally:
        sys.stdout.flush()
        os._exit(code)


def start_runner(config):
    pid = os.fork()
    if pid == 0:
        runner(config)
    return pid


def describe(status):
    if os.WIFEXITED(status):
        return f"exited {os.WEXITSTATUS(status)}"
    return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"


def main(argv):
    config = None
    if argv[:1] == ["--config"] and len(argv) == 2:
        config = argv[1]
    elif argv:
        print("usage: pydaemon.py [--config FILE]", file=sys.stderr)
        return 2
    sys.stdout.reconfigure(line_buffering=True)

    started = time.monotonic()
    interval = read_interval(config)
    reloads = 0
    stopping = False
    say(f"daemon {os.getpid()} started at {int(time.time())} interval {interval}")

    def on_hup(signum, frame):
        nonlocal interval, reloads
        interval = read_interval(config)
        reloads += 1
        say(f"reloaded #{reloads} interval {interval}")
        os.kill(child, signal.SIGHUP)

    def on_usr1(signum, frame):
        uptime = time.monotonic() - started
        say(f"status: runner {child} uptime {uptime:.0f} s reloads {reloads}")

    def on_term(signum, frame):
        nonlocal stopping
        stopping = True

    # Handlers first, then the fork: the child starts with them and replaces its own.
    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)   # only to wake pause()
    child = start_runner(config)

    while True:
        signal.pause()
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid == child and not stopping:
            old, child = child, start_runner(config)
            say(f"runner {old} {describe(status)}, restarted as {child}")
            continue
        if stopping:
            say("stopping")
            if pid != child:            # still running: stop it and wait for it
                os.kill(child, signal.SIGTERM)
                _, status = os.waitpid(child, 0)
            say(f"runner {child} {describe(status)}")
            break
    say("bye")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
