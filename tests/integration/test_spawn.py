"""The two ways a program is started (trace/spawn.py): the C path (a clone(CLONE_VM)
child running trace/_spawnc.c) must leave a program exactly where the fork path
(os.fork and Python in the child) does, and fail with the same errors."""
from __future__ import annotations

import os
import resource
import shutil
import signal
import struct
import subprocess

import pytest

from pytest_simproc import SimHost, SpawnError
from pytest_simproc.trace import spawn
from pytest_simproc.trace.seccomp import PreparedFilter

C_PATH = pytest.mark.skipif(spawn._spawnc is None,
                            reason="trace/_spawnc.c was not built (no C compiler at install)")
TRUE = shutil.which("true") or "/bin/true"
SECCOMP_RET_TRACE = 0x7FF00000
SECCOMP_RET_ALLOW = 0x7FFF0000


def _filter(action: int) -> PreparedFilter:
    return PreparedFilter(struct.pack("<HBBI", 0x06, 0, 0, action))  # BPF_RET | BPF_K


@pytest.fixture
def count_c_spawns(monkeypatch):
    """The children the C path started (it falls back silently otherwise)."""
    calls = []
    real = spawn._spawnc.spawn

    def counted(*args):
        calls.append(real(*args))
        return calls[-1]
    monkeypatch.setattr(spawn._spawnc, "spawn", counted)
    return calls


def _by_both_paths(monkeypatch, run):
    """``run()`` with the C path, then with the fork path."""
    first = run()
    monkeypatch.setattr(spawn, "_spawnc", None)
    return first, run()


@C_PATH
def test_a_program_starts_the_same_by_either_path(build, tmp_path, monkeypatch,
                                                  count_c_spawns):
    program = build("startstate")
    (tmp_path / "in").write_bytes(b"input")
    # The test's own dispositions: an ignored signal stays ignored across exec, a
    # handled one does not (signal(7)); Python ignores SIGPIPE and SIGXFSZ itself.
    old = signal.signal(signal.SIGUSR2, signal.SIG_IGN), signal.signal(signal.SIGUSR1,
                                                                       lambda *a: None)
    try:
        # what this process ignores now: SIGUSR2, Python's SIGPIPE and SIGXFSZ, and what
        # the launcher made it ignore (a background job of a shell ignores SIGINT and
        # SIGQUIT); the spawn puts SIGPIPE and SIGXFSZ back to their defaults
        with open("/proc/self/status") as status:
            ignored = int(next(line for line in status if line.startswith("SigIgn:"))
                          .split()[1], 16)
        ignored &= ~(1 << (signal.SIGPIPE - 1) | 1 << (signal.SIGXFSZ - 1))

        def run():
            with open(tmp_path / "in", "rb") as stdin, SimHost() as host:
                p = host.spawn([program, "x"], cwd=str(tmp_path), stdin=stdin,
                               rlimits={"NOFILE": (100, 200)})
                host.run()
                assert (p.returncode, p.stderr) == (0, b"")
                return p.stdout.decode()
        by_c, by_fork = _by_both_paths(monkeypatch, run)
    finally:
        signal.signal(signal.SIGUSR2, old[0])
        signal.signal(signal.SIGUSR1, old[1])
    assert len(count_c_spawns) == 1

    def comparable(text):  # SigQ counts the machine's queued signals for the user
        return [line for line in text.splitlines() if not line.startswith("SigQ")]
    assert comparable(by_c) == comparable(by_fork)
    lines = comparable(by_c)
    assert "persona 0x40000" in lines                      # ADDR_NO_RANDOMIZE
    assert "SigBlk:\t0000000000000000" in lines
    assert ignored & 1 << (signal.SIGUSR2 - 1)
    assert f"SigIgn:\t{ignored:016x}" in lines
    # the host's filter is in; no_new_privs, which the spawn set for it, reads as the
    # test's own bit, as a program the test started natively has it (syscalls/privs.py)
    with open("/proc/self/status") as status:
        own_bit = next(line for line in status if line.startswith("NoNewPrivs:")).strip()
    assert "Seccomp:\t2" in lines and own_bit in lines
    assert [line.split()[1] for line in lines if line.startswith("fd ")] == ["0", "1", "2"]
    assert f"cwd {tmp_path}" in lines and f"argv0 {program}" in lines
    assert f"execfn {program}" in lines
    nofile = next(line for line in lines if line.startswith("Max open files"))
    assert nofile.split()[3:5] == ["100", "200"]
    cpus = next(line for line in lines if line.startswith("Cpus_allowed_list"))
    assert cpus.split()[1].isdigit()                       # pinned to one CPU


def _messages(monkeypatch, tmp_path, **kwargs):
    """str(SpawnFailed) of spawn_traced(**kwargs) by the C path, then the fork path."""
    args = dict(path=TRUE, argv=["true"], env={"PATH": "/bin"}, cwd=None,
                fds=(0, 1, 2), prepared=_filter(SECCOMP_RET_TRACE), cpu=None, rlimits={})
    args.update(kwargs)

    def run():
        with pytest.raises(spawn.SpawnFailed) as info:
            spawn.spawn_traced(**args)
        return str(info.value)
    return _by_both_paths(monkeypatch, run)


def _script(tmp_path, name, text, mode=0o755):
    path = tmp_path / name
    path.write_text(text)
    path.chmod(mode)
    return str(path)


FAILURES = {  # id: (spawn_traced arguments, given tmp_path; the fork path's message)
    "missing-program": (lambda d: {"path": str(d / "nope")},
                        "FileNotFoundError: [Errno 2] No such file or directory: '{d}/nope'"),
    "not-executable": (lambda d: {"path": _script(d, "plain", "echo\n", 0o644)},
                       "PermissionError: [Errno 13] Permission denied: '{d}/plain'"),
    "directory": (lambda d: {"path": str(d)},
                  "PermissionError: [Errno 13] Permission denied: '{d}'"),
    "exec-format": (lambda d: {"path": _script(d, "garbage", "\x01\x02\x03\n")},
                    "OSError: [Errno 8] Exec format error: '{d}/garbage'"),
    "missing-interpreter": (lambda d: {"path": _script(d, "s", "#!/no/such/sh\n")},
                            "FileNotFoundError: [Errno 2] No such file or directory: "
                            "'{d}/s'"),
    "cwd-missing": (lambda d: {"cwd": str(d / "gone")},
                    "FileNotFoundError: [Errno 2] No such file or directory: '{d}/gone'"),
    "cwd-not-a-directory": (lambda d: {"cwd": _script(d, "f", "")},
                            "NotADirectoryError: [Errno 20] Not a directory: '{d}/f'"),
    "closed-descriptor": (lambda d: {"fds": (99999, 1, 2)},
                          "OSError: [Errno 9] Bad file descriptor"),
    "soft-above-hard": (lambda d: {"rlimits": {resource.RLIMIT_NOFILE: (10, 5)}},
                        "ValueError: current limit exceeds maximum limit"),
    "nofile-above-nr_open": (lambda d: {"rlimits": {resource.RLIMIT_NOFILE: (1 << 40,
                                                                          1 << 40)}},
                             "ValueError: not allowed to raise maximum limit"),
    "empty-argv": (lambda d: {"argv": []},
                   "ValueError: execve: argv must not be empty"),
    "bad-env-name": (lambda d: {"env": {"A=B": "x"}},
                     "ValueError: illegal environment variable name"),
}


@C_PATH
@pytest.mark.parametrize("case", FAILURES, ids=list(FAILURES))
def test_spawn_fails_with_the_fork_paths_error(case, tmp_path, monkeypatch, count_c_spawns):
    make_args, expected = FAILURES[case]
    by_c, by_fork = _messages(monkeypatch, tmp_path, **make_args(tmp_path))
    assert by_fork == expected.format(d=tmp_path)
    assert by_c == by_fork
    # what os.execve refuses before any system call is left to the fork path
    assert len(count_c_spawns) == (0 if case in ("empty-argv", "bad-env-name") else 1)


@C_PATH
def test_exec_errors_reach_the_host_user_as_before(tmp_path, monkeypatch, count_c_spawns):
    script = _script(tmp_path, "s", "#!/no/such/sh\n")

    def run():
        with SimHost() as host, pytest.raises(SpawnError) as info:
            host.spawn([script])
        return str(info.value)
    by_c, by_fork = _by_both_paths(monkeypatch, run)
    assert by_c == by_fork == (f"cannot start {script}: FileNotFoundError: [Errno 2] "
                               f"No such file or directory: '{script}'")
    assert len(count_c_spawns) == 1


@C_PATH
def test_an_error_at_the_execve_stop_ends_the_child(count_c_spawns):
    """The child runs in the test's memory until it execs: an error in the tracer
    before then kills and reaps it before that memory is given back."""
    class Stop(Exception):
        pass

    def on_execve(pid):
        raise Stop

    with pytest.raises(Stop):
        spawn.spawn_traced(TRUE, ["true"], {}, None, (0, 1, 2),
                           _filter(SECCOMP_RET_TRACE), on_execve=on_execve)
    (launch,) = count_c_spawns
    assert not spawn._never_released
    with pytest.raises(ChildProcessError):  # reaped already
        os.waitpid(launch.pid, os.WNOHANG)


@C_PATH
def test_a_started_program_is_stopped_at_its_exec_event(count_c_spawns):
    pid = spawn.spawn_traced(TRUE, ["true"], {}, None, (0, 1, 2),
                             _filter(SECCOMP_RET_ALLOW))
    try:
        with open(f"/proc/{pid}/stat") as f:
            assert f.read().rsplit(")", 1)[1].split()[0] == "t"  # tracing stop
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert f.read() == b"true\0"
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert len(count_c_spawns) == 1


def test_a_stream_sent_elsewhere_gets_no_file_in_the_data_dir(tmp_path):
    """Only captured streams are files of the data dir (drop-in spawns send both to the
    test's descriptors: two files made, renamed and removed for nothing)."""
    with open(tmp_path / "out", "wb") as out, SimHost() as host:
        p = host.spawn(["sh", "-c", "echo out; echo err >&2"], stdout=out,
                       stderr=subprocess.STDOUT)
        q = host.spawn(["sh", "-c", "echo err >&2"], stdout=out)
        host.run()
        assert (p.stdout_path, p.stderr_path, p.stdout, p.stderr) == (None, None, b"", b"")
        assert q.stdout_path is None and q.stderr == b"err\n"
        # the host's own files (its vDSO's clock page, /dev/urandom stand-ins) are dotted
        visible = [name for name in os.listdir(host.data_dir) if not name.startswith(".")]
        assert sorted(visible) == [f"simhost.sh.{q.pid}.stderr"]
    assert (tmp_path / "out").read_bytes() == b"out\nerr\n"
