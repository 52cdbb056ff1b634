"""dfdaemon: a classic double-forking Unix daemon.

    python3 dfdaemon.py PIDFILE CONFIG

Start-up (Stevens, "Advanced Programming in the UNIX Environment", 13.3):

1. the *launcher* creates a readiness pipe and forks;
2. the child calls setsid() (a new session and process group, no controlling terminal)
   and forks again, then exits at once;
3. the grandchild, the *daemon*, is reparented to init; it belongs to the session the
   first child created but leads neither that session nor its process group, so it can
   never acquire a controlling terminal. It chdirs to /, sets its umask, writes its pid
   to PIDFILE, prints ``daemon <pid> started at <time> value <v>`` and writes its pid
   into the readiness pipe;
4. the launcher reaps the first child, reads the daemon's pid from the pipe, prints
   ``launched <pid>`` and exits 0: when it has exited, the pidfile exists.

The daemon keeps the launcher's stdout and stderr (a real daemon would redirect them to
a log) so that its lines can be read.

Main loop: select.select() on the read end of a self-pipe, with a timeout that ends at
the next periodic tick. Signal handlers only write the signal's number (one byte) into
the pipe's non-blocking write end; the loop does the work:

- every 10 s (from the start, without drift): ``tick <n> <time.time()>``;
- SIGHUP: re-reads CONFIG (a line ``value = <v>``), prints ``reloaded value <v> at <time>``;
- SIGTERM: removes PIDFILE, prints ``bye``, exits 0.
"""
import os
import select
import signal
import sys
import time

TICK = 10


def read_value(path):
    value = None
    with open(path) as f:
        for line in f:
            key, _, rest = line.partition("=")
            if key.strip() == "value":
                value = rest.strip()
    return value


def daemon(pidfile, config, ready_w):
    """The daemon proper (the grandchild). Returns its exit status."""
    os.chdir("/")
    os.umask(0o022)
    pid = os.getpid()
    with open(pidfile, "w") as f:
        f.write(f"{pid}\n")

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)      # a handler must never block on a full pipe

    def on_signal(signum, frame):
        try:
            os.write(wake_w, bytes([signum]))
        except BlockingIOError:         # the pipe is full: the loop is awake anyway
            pass

    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    value = read_value(config)
    start = time.monotonic()
    print(f"daemon {pid} started at {time.time()} value {value}")
    os.write(ready_w, f"{pid}\n".encode())
    os.close(ready_w)

    ticks = 0
    next_tick = start + TICK
    while True:
        timeout = max(0.0, next_tick - time.monotonic())
        readable, _, _ = select.select([wake_r], [], [], timeout)
        if readable:
            for signum in os.read(wake_r, 64):
                if signum == signal.SIGHUP:
                    value = read_value(config)
                    print(f"reloaded value {value} at {time.time()}")
                elif signum == signal.SIGTERM:
                    os.unlink(pidfile)
                    print("bye")
                    return 0
        if time.monotonic() >= next_tick:
            ticks += 1
            print(f"tick {ticks} {time.time()}")
            next_tick += TICK


def main(argv):
    if len(argv) != 2:
        print("usage: dfdaemon.py PIDFILE CONFIG", file=sys.stderr)
        return 2
    pidfile, config = (os.path.abspath(a) for a in argv)   # the daemon chdirs to /
    sys.stdout.reconfigure(line_buffering=True)   # stdout is a file: flush every line

    ready_r, ready_w = os.pipe()
    first = os.fork()
    if first == 0:                      # first child: new session, fork, exit
        code = 1
        try:
            os.close(ready_r)
            os.setsid()
            if os.fork() == 0:          # the daemon
                try:
                    code = daemon(pidfile, config, ready_w)
                except BaseException as exc:    # never fall back into the launcher
                    print(f"daemon failed: {exc!r}", file=sys.stderr)
                    code = 1
            else:
                code = 0
        finally:
            sys.stdout.flush()
            os._exit(code)

    os.close(ready_w)
    _, status = os.waitpid(first, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        print(f"first child failed: status {status:#x}", file=sys.stderr)
        return 1
    with os.fdopen(ready_r) as ready:
        line = ready.readline()
    if not line:
        print("daemon died before it was ready", file=sys.stderr)
        return 1
    print(f"launched {int(line)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
