"""covdaemon: a small Python daemon whose tests in a simulated host reach full line
coverage (README, "Coverage of the programs in a host").

    python covdaemon.py [JOBS]

It forks one worker per job (JOBS, 2 by default), one after the other; a worker prints
its result and leaves with os._exit (exit status: the job number's parity), the daemon
reports each worker's status. Then it prints ``idle`` every 60 seconds until SIGTERM,
whose handler prints ``bye`` and exits 0. Every line goes to stdout, flushed.
"""
import os
import signal
import sys
import time


def work(n):
    """A forked worker: its result, then out without Python's clean-up."""
    print(f"worker {os.getpid()} job {n} result {n * n}", flush=True)
    os._exit(n % 2)


def on_term(signum, frame):
    print("bye", flush=True)
    sys.exit(0)


def main(argv):
    jobs = int(argv[1]) if len(argv) > 1 else 2
    signal.signal(signal.SIGTERM, on_term)
    for n in range(jobs):
        pid = os.fork()
        if pid == 0: work(n)  # noqa: E701 (the child never returns from work)
        _, status = os.waitpid(pid, 0)
        print(f"job {n} worker {pid} exit {os.waitstatus_to_exitcode(status)}", flush=True)
    while True:
        time.sleep(60)
        print("idle", flush=True)


if __name__ == "__main__":
    main(sys.argv)
