"""``simproc run``: one program in a simulated host, from the shell (SPEC §4)."""
from __future__ import annotations

import argparse
import os
import sys

from .errors import SimprocError
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


def _expect(text: str):
    try:
        return parse_final_state(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simproc", description="Run real programs in a simulated host, in virtual time.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one program in a simulated host",
                         description="Run PROGRAM in a simulated host; exit with its status "
                                     "(128+signal when killed by one).")
    run.add_argument("--stop-time", type=_positive_seconds, default=3600, metavar="S",
                     help="virtual seconds after which survivors are shut down (3600)")
    run.add_argument("--seed", type=int, default=0, help="schedule and randomness seed (0)")
    run.add_argument("--hostname", type=_hostname, default="simhost", help="the host's name (simhost)")
    run.add_argument("--rlimit", type=_rlimit, action="append", default=[],
                     metavar="NAME=SOFT[:HARD]", help="a resource limit, e.g. NOFILE=256")
    run.add_argument("--expect", type=_expect, metavar="exited:N|signaled:SIG|running",
                     help="exit 0 when the final state matches, 1 with a message if not")
    run.add_argument("--json", metavar="FILE", help="write the final process table (- for stdout)")
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


def _exit_code(state) -> int:
    if isinstance(state, Exited):
        return state.code
    if isinstance(state, Signaled):
        return 128 + int(state.signal)
    return 0


def run_command(args) -> int:
    from .host import SimHost

    program = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not program:
        print("simproc run: no program given; usage: simproc run [OPTIONS] -- PROGRAM [ARGS...]",
              file=sys.stderr)
        return 2
    sys.stdout.flush()
    rlimits = dict(args.rlimit)
    strace = args.strace_mode if args.strace else "off"
    with SimHost(hostname=args.hostname, stop_time=args.stop_time, seed=args.seed,
                 rlimits=rlimits, strace=strace) as host:
        env = None
        if args.cov:
            from .host.measure import CONFIG_VARIABLE, run_configuration
            env = {**os.environ, CONFIG_VARIABLE: run_configuration()}
        proc = host.spawn(program, env=env,
                          stdin=sys.stdin.fileno() if _readable_stdin() else None)
        host.run()
        state = proc.exit_status
        for data, stream in ((proc.stdout, sys.stdout), (proc.stderr, sys.stderr)):
            stream.buffer.write(data)
            stream.flush()
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
    if args.expect is not None:
        if state == args.expect:
            return 0
        print(f"process '{proc.name}' exited with status {format_state(state)}; expected end "
              f"state was {format_state(args.expect)} but was {format_state(state)}",
              file=sys.stderr)
        return 1
    return _exit_code(state)


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
