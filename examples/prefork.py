"""prefork: a pre-forking TCP server (the Apache prefork / gunicorn sync model).

    python3 prefork.py [NWORKERS]          (default 2)

The *master* binds a listening socket on 127.0.0.1, port 0 (the kernel picks a free
port), prints ``port <n>``, then forks NWORKERS *workers*. Every worker blocks in
accept(2) on the shared listening socket (the kernel hands each connection to one of
them) and answers a line protocol until the client closes the connection:

- ``ping``  -> ``pong <worker pid> <time.time() as an integer>``
- ``quit``  -> ``bye``, and the connection is closed
- other     -> ``error <the line>``

Each worker prints ``worker <pid> serving`` once when it starts and ``<pid> served
<n>`` after each connection, where n is its count of connections.

The master blocks SIGCHLD and SIGTERM and takes them with sigwaitinfo(2), so nothing
interrupts it halfway through a fork:

- SIGCHLD: reaps every dead worker (waitpid WNOHANG) and forks a replacement:
  ``restart <old> -> <new> (<how the old one ended>)``;
- SIGTERM: ``stopping``; SIGTERM to every worker, reaps each (``reaped <pid> (<how>)``),
  ``bye``, exit 0.
"""
import os
import signal
import socket
import sys
import time


def describe(status):
    if os.WIFEXITED(status):
        return f"exited {os.WEXITSTATUS(status)}"
    return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"


def handle(conn, pid):
    """One connection: answer its lines until EOF or ``quit``."""
    buf = b""
    while True:
        data = conn.recv(4096)
        if not data:
            return
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            cmd = line.strip().decode(errors="replace")
            if cmd == "ping":
                conn.sendall(f"pong {pid} {int(time.time())}\n".encode())
            elif cmd == "quit":
                conn.sendall(b"bye\n")
                return
            else:
                conn.sendall(f"error {cmd}\n".encode())


def worker(srv):
    """A worker (a forked child of the master). Never returns."""
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        pid = os.getpid()
        print(f"worker {pid} serving")
        served = 0
        while True:
            conn, _ = srv.accept()
            with conn:
                handle(conn, pid)
            served += 1
            print(f"{pid} served {served}")
    except BaseException as exc:            # never fall back into the master's code
        print(f"worker {os.getpid()} failed: {exc!r}", file=sys.stderr)
        code = 1
    finally:
        sys.stdout.flush()
        os._exit(code)


def start_worker(srv):
    pid = os.fork()
    if pid == 0:
        worker(srv)
    return pid


def main(argv):
    n = int(argv[0]) if argv else 2
    if n < 1:
        print("usage: prefork.py [NWORKERS >= 1]", file=sys.stderr)
        return 2
    sys.stdout.reconfigure(line_buffering=True)   # stdout is a file: flush every line

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    print(f"port {srv.getsockname()[1]}")

    # Blocked before the first fork, so that no SIGCHLD or SIGTERM is ever missed.
    wanted = {signal.SIGCHLD, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    workers = [start_worker(srv) for _ in range(n)]
    print(f"master {os.getpid()} workers {' '.join(map(str, workers))}")

    while True:
        info = signal.sigwaitinfo(wanted)
        if info.si_signo == signal.SIGTERM:
            break
        while True:                         # SIGCHLD: standard signals coalesce
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            new = start_worker(srv)
            workers[workers.index(pid)] = new
            print(f"restart {pid} -> {new} ({describe(status)})")

    print("stopping")
    for pid in workers:
        os.kill(pid, signal.SIGTERM)
    for pid in workers:
        _, status = os.waitpid(pid, 0)
        print(f"reaped {pid} ({describe(status)})")
    srv.close()
    print("bye")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
