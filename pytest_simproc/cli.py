"""``simproc run``: one program in a simulated host, from the shell (SPEC §4).

It behaves as a shell would run the program: its output streams through as it is
written, the exit status follows the shell's conventions (127, 126, 128+signal; 124 as
timeout(1) when the stop time cut it short) and SIGTERM or SIGINT end it cleanly.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .errors import ProgramNotFoundError, SimprocError, SpawnError
from .host import MAX_SECONDS, validate_host_options
from .kernel.rlimits import parse_rlimit_spec
from .kernel.states import Exited, Signaled, format_state, parse_final_state


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds: {text!r}")
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be finite and at most {MAX_SECONDS} "
                                         f"seconds: {text!r}")
    return value


def _hostname(text: str) -> str:
    try:
        validate_host_options(hostname=text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _rlimit(text: str):
    try:
        return parse_rlimit_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _inject(text: str) -> str:
    from .inject import InjectSpecError, parse_inject
    try:
        parse_inject(text)
    except InjectSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _expect(text: str):
    try:
        return parse_final_state(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


RUN_DESCRIPTION = """\
Run PROGRAM in a simulated host, in virtual time. Its stdout and stderr (and its
descendants') stream through as they are written.

Exit status: the program's own; 128+N when signal N killed it; 127 when PROGRAM does
not exist, 126 when it cannot be executed; 124 (as timeout(1)) when it was still
running at --stop-time and was shut down; with --expect, 0 when the final state
matches and 1 with a message otherwise. SIGTERM or SIGINT to simproc run shuts the
host down (shutdown signal, grace, SIGKILL, in virtual time), passes on the output
written so far, removes the host's data dir and exits 128+N.

With --json -, standard output carries the JSON document alone (json.load reads
it); the program's stdout then goes to standard error, with its stderr."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simproc", description="Run real programs in a simulated host, in virtual time.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one program in a simulated host",
                         description=RUN_DESCRIPTION,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--stop-time", type=_positive_seconds, default=3600, metavar="S",
                     help="virtual seconds after which survivors are shut down (3600)")
    run.add_argument("--seed", type=int, default=0, help="schedule and randomness seed (0)")
    run.add_argument("--hostname", type=_hostname, default="simhost", help="the host's name (simhost)")
    run.add_argument("--rlimit", type=_rlimit, action="append", default=[],
                     metavar="NAME=SOFT[:HARD]", help="a resource limit, e.g. NOFILE=256")
    run.add_argument("--network", choices=("loopback", "outside"), default="loopback",
                     help="loopback: addresses outside 127.0.0.0/8 and ::1 are unreachable and "
                          "names resolve from the host's /etc/hosts; outside: the machine's "
                          "network and DNS, a source of nondeterminism (default: loopback)")
    run.add_argument("--inject", type=_inject, action="append", default=[], metavar="SPEC",
                     help="inject faults, strace -e inject= syntax: SET:error=ERRNO|retval=N|"
                          "signal=SIG|delay_enter=T|delay_exit=T[:when=FIRST[..LAST][+[STEP]]]"
                          "[:probability=P][:pid=N] (delays in virtual time); repeatable")
    run.add_argument("--expect", type=_expect, metavar="exited:N|signaled:SIG|running",
                     help="exit 0 when the final state matches, 1 with a message if not")
    run.add_argument("--verify", action="store_true",
                     help="run the program twice with the seed and exit 1, showing the "
                          "first difference, when its output, final states or deterministic "
                          "strace differ (--strace then logs deterministically)")
    run.add_argument("--json", metavar="FILE|-",
                     help="write the final process table to FILE, or alone on stdout with "
                          "- (the program's stdout then goes to stderr)")
    run.add_argument("--strace", metavar="FILE|-",
                     help="log every process's system calls, strace -f style, to FILE "
                          "(- for standard error, as strace does)")
    run.add_argument("--strace-mode", choices=("standard", "deterministic"),
                     default="standard",
                     help="standard: what strace shows; deterministic: virtual times, no "
                          "addresses, the same bytes on every run (default: standard)")
    run.add_argument("--cov", action="store_true",
                     help="measure the program's Python code with coverage (the "
                          "configuration in this directory); data files land beside "
                          "its data file, for `coverage combine`")
    run.add_argument("program", nargs=argparse.REMAINDER, metavar="-- PROGRAM [ARGS...]")
    return parser


EXIT_NOT_FOUND = 127   # the shells' "command not found"
EXIT_CANNOT_RUN = 126  # found, but not executable
EXIT_TIMED_OUT = 124   # timeout(1)'s status


def _exit_code(state) -> int:
    if isinstance(state, Exited):
        return state.code
    if isinstance(state, Signaled):
        return 128 + int(state.signal)
    return EXIT_TIMED_OUT  # Running: still alive at the stop time


class _Forwarder:
    """Copies what the program writes to its output files onto our own streams while
    the host runs, so output appears as it is written (the files stay the host's: the
    programs never block on a reader outside it)."""

    POLL = 0.02  # seconds between looks at the files

    def __init__(self, pairs):
        self._pairs = [[open(path, "rb"), stream] for path, stream in pairs if path]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="simproc-forward",
                                        daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._copy()  # whatever came after the last look
        for pair in self._pairs:
            pair[0].close()
        return False

    def _main(self):
        while not self._stop.wait(self.POLL):
            self._copy()

    def _copy(self):
        for pair in self._pairs:
            source, stream = pair
            data = source.read()
            if not data or stream is None:
                continue
            try:
                stream.write(data)
                stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                pair[1] = None  # our reader went away: the rest is dropped


class _StopSignals:
    """SIGTERM and SIGINT ask the run to stop (the host is shut down, not abandoned)."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.received: list[int] = []
        self.event = threading.Event()

    def _handler(self, signum, frame):
        self.received.append(signum)
        self.event.set()

    def __enter__(self):
        self._old = {sig: signal.signal(sig, self._handler) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False


def _spawn_failure(program: str, exc: Exception) -> int:
    """The shell's message and status for a program that cannot start."""
    if isinstance(exc, ProgramNotFoundError) and not ("/" in program
                                                      and os.path.exists(program)):
        print(f"simproc: {program}: No such file or directory", file=sys.stderr)
        return EXIT_NOT_FOUND
    if not isinstance(exc, ProgramNotFoundError):
        reason = str(exc)
    elif os.path.isdir(program):
        reason = "Is a directory"
    else:
        reason = "Permission denied"
    print(f"simproc: {program}: {reason}", file=sys.stderr)
    return EXIT_CANNOT_RUN


def run_command(args) -> int:
    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not program:
        print("simproc run: no program given; usage: simproc run [OPTIONS] -- PROGRAM [ARGS...]",
              file=sys.stderr)
        return 2
    sys.stdout.flush()
    rlimits = dict(args.rlimit)
    strace = args.strace_mode if args.strace else "off"
    out = sys.stderr.buffer if args.json == "-" else sys.stdout.buffer
    env = None
    if args.cov:
        from .host.measure import CONFIG_VARIABLE, run_configuration
        env = {**os.environ, CONFIG_VARIABLE: run_configuration()}
    options = dict(hostname=args.hostname, stop_time=args.stop_time, seed=args.seed,
                   rlimits=rlimits, strace="deterministic" if args.verify else strace,
                   network=args.network, inject=args.inject)
    stdin = sys.stdin.fileno() if _readable_stdin() else None
    if args.verify and stdin is not None:  # both runs read the same input
        stdin = sys.stdin.buffer.read()
    from .explore import first_difference, record
    records: list = []  # under --verify, what each run did (taken before its host closes)

    def finish(host):
        _write_logs(args, host)
        if args.verify:
            records.append(record([host]))

    with _StopSignals() as stop:
        started, proc = _run_once(options, program, env, stdin, stop, out, sys.stderr.buffer,
                                  finish)
        if proc is None:
            return started  # could not start: the shell's status
        state = proc.exit_status
        if args.verify and not stop.received:
            _run_once(options, program, env, stdin, stop, None, None,
                      lambda host: records.append(record([host])))
            difference = first_difference(*records)
            if difference and not stop.received:
                print(f"simproc run --verify: two runs with seed {args.seed} differ (a "
                      f"source of nondeterminism the host does not control):\n"
                      f"{difference}", file=sys.stderr)
                return 1
    if stop.received:
        return 128 + stop.received[0]
    if args.expect is not None:
        if state == args.expect:
            return 0
        print(f"process '{proc.name}' exited with status {format_state(state)}; expected end "
              f"state was {format_state(args.expect)} but was {format_state(state)}",
              file=sys.stderr)
        return 1
    return _exit_code(state)


def _write_logs(args, host) -> None:
    """--strace and --json, from the host before it closes."""
    if args.strace:
        text = "".join(line + "\n" for line in host.strace_lines())
        if args.strace == "-":
            sys.stderr.write(text)
            sys.stderr.flush()
        else:
            with open(args.strace, "w") as f:
                f.write(text)
    if args.json:
        text = host.report_json()
        if args.json == "-":
            sys.stdout.write(text)
        else:
            with open(args.json, "w") as f:
                f.write(text)


def _run_once(options, program, env, stdin, stop, out, err, finish=None):
    """One run of ``program`` in a host of ``options``, its output copied to ``out``
    and ``err`` as it comes (None: not copied), ``finish(host)`` called before the host
    closes. Returns the closed host and the program's process, or the shell's status
    and None when it could not start."""
    from .host import SimHost
    with SimHost(**options) as host:
        try:
            proc = host.spawn(program, env=env, stdin=stdin)
        except (ProgramNotFoundError, SpawnError) as exc:
            return _spawn_failure(program[0], exc), None
        with _Forwarder([(proc.stdout_path, out), (proc.stderr_path, err)]):
            host.run_until(stop.event.is_set)
            if stop.received and any(p.state in ("running", "stopped")
                                     for p in host.processes()):
                host.shutdown()
        if finish is not None:
            finish(host)
    return host, proc


def _readable_stdin() -> bool:
    try:
        return os.isatty(0) is False and os.fstat(0) is not None
    except OSError:
        return False


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run_command(args)
    except SimprocError as exc:
        print(f"simproc: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError, TypeError) as exc:
        print(f"simproc: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
