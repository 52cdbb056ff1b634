"""Drop-in mode: every way the test starts a process puts it in the host (issue 13
items 3 and 5).

The inner suite is written as a real suite writes it: os.fork, Popen with preexec_fn,
start_new_session, process_group, umask, pass_fds, os.system, os.popen, posix_spawn,
os.spawn*, multiprocessing with fork (and its queue), pty.fork, a child that forks and
spawns in turn; no simproc API. It passes natively and
under ``--simproc``. Each test prints what its child saw of itself (its pid, the time,
how long its own sleep took), and the outer test checks that under ``--simproc`` these
were the host's: pids from 1000, the host's clock (2000-01-01), sleeps of exactly the
virtual length asked for.

The inner pytest runs in a process of its own: it forks.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

HOST_EPOCH = 946684800  # the host's clock starts at 2000-01-01 UTC

INNER = r"""
import asyncio
import io
import json
import multiprocessing
import os
import pty
import select
import selectors
import signal
import subprocess
import sys
import time

import pytest


def observed(name, pid, when, slept=None):
    print("OBSERVED", json.dumps([name, int(pid), float(when), slept]), flush=True)


def seen_by_shell(fd):
    # `echo $$ $(date +%s)` of a shell, read back: its pid and the time it saw
    data = b""
    while True:
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        data += chunk
    os.close(fd)
    pid, when = data.split()[-2:]
    return int(pid), int(when)


def test_fork_child_runs_and_exits():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        t0 = time.time()
        time.sleep(0.5)
        os.write(w, json.dumps([os.getpid(), t0, time.time() - t0]).encode())
        os._exit(7)
    os.close(w)
    with os.fdopen(r) as pipe:  # natively the read waits for the child
        child_pid, when, slept = json.loads(pipe.read())
    got, status = os.waitpid(pid, 0)
    assert got == pid and os.waitstatus_to_exitcode(status) == 7
    assert child_pid == pid
    observed("fork", child_pid, when, slept)


def forked_writer(delay):
    # a forked child that writes its pid and the time to a pipe after ``delay``
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        time.sleep(delay)
        os.write(w, json.dumps([os.getpid(), time.time()]).encode())
        os._exit(0)
    os.close(w)
    return pid, r


def test_select_on_a_forked_childs_pipe():
    pid, r = forked_writer(0.3)
    t0 = time.time()
    # natively the child writes after 0.3 s; in a host only if select runs the host
    readable = select.select([r], [], [], 20)[0]
    slept = time.time() - t0
    with selectors.DefaultSelector() as sel:
        sel.register(r, selectors.EVENT_READ)
        assert sel.select(20)
    child_pid, when = json.loads(os.read(r, 1000))
    os.close(r)
    assert readable == [r] and child_pid == pid
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    observed("select", child_pid, when, slept)


def test_a_forked_child_keeps_no_popen_stdout_open():
    p = subprocess.Popen(["echo", "hi"], stdout=subprocess.PIPE)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        os.read(r, 1)  # until the test lets it go
        os._exit(0)
    os.close(r)
    # the child holds no write end of p.stdout: end of file once echo ended
    assert p.stdout.read() == b"hi\n"
    assert os.waitpid(pid, os.WNOHANG) == (0, 0)
    os.close(w)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert p.wait() == 0


def test_fork_then_exec():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 9)
        os.execvp("sh", ["sh", "-c", "echo $$ $(date +%s) >&9; exit 3"])
    os.close(w)
    shell_pid, when = seen_by_shell(r)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 3
    assert shell_pid == pid
    observed("fork+exec", shell_pid, when)


def test_kill_a_forked_child():
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    os.kill(pid, signal.SIGTERM)
    got, status = os.waitpid(pid, 0)
    assert got == pid and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)


def test_popen_preexec_fn_runs_in_the_child():
    r, w = os.pipe()

    def preexec():
        os.setsid()
        os.write(w, json.dumps([os.getpid(), time.time()]).encode())

    p = subprocess.Popen(["sh", "-c", "echo $$ $(date +%s); sleep 1"], preexec_fn=preexec,
                         stdout=subprocess.PIPE)
    os.close(w)
    assert os.getsid(p.pid) == p.pid == os.getpgid(p.pid)  # it exec'd: setsid ran
    preexec_pid, when = json.loads(os.read(r, 1000))
    os.close(r)
    shell_pid, shell_when = p.stdout.read().split()
    assert p.wait() == 0
    assert preexec_pid == p.pid == int(shell_pid)
    observed("preexec_fn", preexec_pid, when)
    observed("preexec_fn program", int(shell_pid), int(shell_when))


def test_new_session_then_killpg_at_once():
    p = subprocess.Popen(["sleep", "30"], start_new_session=True)
    os.killpg(p.pid, signal.SIGTERM)  # Popen returned after the exec: the group exists
    assert p.wait() == -signal.SIGTERM
    with pytest.raises(ProcessLookupError):
        os.killpg(p.pid, signal.SIGTERM)  # gone, and never a native group of that number
    observed("start_new_session", p.pid, time.time())


def test_process_group_umask_pass_fds():
    r, w = os.pipe()
    p = subprocess.Popen(["bash", "-c", f"umask; echo $$ $(date +%s) >&{w}"], pass_fds=(w,),
                         umask=0o027, process_group=0, stdout=subprocess.PIPE, text=True)
    os.close(w)
    assert os.getpgid(p.pid) == p.pid != os.getpgid(0)
    out, _ = p.communicate()
    assert out == "0027\n" and p.returncode == 0
    shell_pid, when = seen_by_shell(r)
    assert shell_pid == p.pid
    observed("pass_fds", shell_pid, when)


def test_start_failures_are_raised_as_natively(tmp_path):
    with pytest.raises(FileNotFoundError) as missing:
        subprocess.Popen(["/nonexistent/program"], start_new_session=True)
    assert (missing.value.errno, missing.value.filename) == (2, "/nonexistent/program")
    with pytest.raises(FileNotFoundError) as no_cwd:
        subprocess.Popen(["true"], cwd=tmp_path / "gone", umask=0o22)
    assert no_cwd.value.filename == tmp_path / "gone"
    with pytest.raises(PermissionError):
        subprocess.Popen([str(tmp_path)], preexec_fn=lambda: None)

    def fails():
        raise RuntimeError("in the child")

    with pytest.raises(subprocess.SubprocessError, match="preexec_fn"):
        subprocess.Popen(["true"], preexec_fn=fails)
    with pytest.raises(FileNotFoundError) as spawn_missing:
        os.posix_spawn("/nonexistent/program", ["x"], os.environ)
    assert spawn_missing.value.filename == "/nonexistent/program"
    with pytest.raises(ChildProcessError):
        os.wait()  # each failed child was collected, as natively


def test_os_system_and_os_popen():
    assert os.waitstatus_to_exitcode(os.system("exit 3")) == 3
    with os.popen("echo $$ $(date +%s)") as out:
        shell_pid, when = out.read().split()
    observed("os.popen", int(shell_pid), int(when))


def test_posix_spawn_with_attributes_and_file_actions(tmp_path):
    log = tmp_path / "out"
    pid = os.posix_spawnp(
        "sh", ["sh", "-c", "echo $$ $(date +%s); exit 4"], dict(os.environ), setsid=True,
        file_actions=[(os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT, 0o644)])
    assert os.getsid(pid) == pid
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 4
    shell_pid, when = log.read_text().split()
    assert int(shell_pid) == pid
    observed("posix_spawn", pid, int(when))


def test_os_spawn():
    assert os.spawnvp(os.P_WAIT, "sh", ["sh", "-c", "exit 5"]) == 5
    pid = os.spawnlp(os.P_NOWAIT, "sh", "sh", "-c", "exit 6")
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 6
    observed("os.spawn", pid, time.time())


def _target(path):
    t0 = time.time()
    time.sleep(0.25)
    with open(path, "w") as f:
        json.dump([os.getpid(), t0, time.time() - t0], f)
    sys.exit(3)


def test_multiprocessing_fork(tmp_path):
    ctx = multiprocessing.get_context("fork")
    p = ctx.Process(target=_target, args=(str(tmp_path / "seen"),))
    p.start()
    p.join()
    assert p.exitcode == 3
    pid, when, slept = json.loads((tmp_path / "seen").read_text())
    assert pid == p.pid
    observed("multiprocessing", pid, when, slept)


def test_multiprocessing_join_with_a_timeout():
    ctx = multiprocessing.get_context("fork")
    quick = ctx.Process(target=time.sleep, args=(0.2,))
    slow = ctx.Process(target=time.sleep, args=(30,))
    quick.start()
    slow.start()
    quick.join(timeout=20)
    slow.join(timeout=0.5)
    assert quick.exitcode == 0 and slow.is_alive()
    slow.terminate()
    slow.join()
    assert slow.exitcode == -signal.SIGTERM
    observed("multiprocessing join", slow.pid, time.time())


def _put(queue):
    queue.put((os.getpid(), time.time()))


def test_multiprocessing_queue():
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=_put, args=(queue,))
    p.start()
    pid, when = queue.get()  # waits for the child, as natively
    p.join()
    assert pid == p.pid and p.exitcode == 0
    observed("multiprocessing queue", pid, when)


def _loop_sleeper(queue):
    async def main():
        t0 = time.monotonic()
        await asyncio.sleep(0.3)  # a timer of the child's event loop
        return time.monotonic() - t0
    queue.put((os.getpid(), time.time(), asyncio.run(main())))


def test_multiprocessing_child_with_an_event_loop():
    # circus's plugin tests run a plugin's tornado loop in a forked Process
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=_loop_sleeper, args=(queue,))
    p.start()
    pid, when, slept = queue.get()
    p.join()
    assert pid == p.pid and p.exitcode == 0
    observed("multiprocessing asyncio", pid, when, slept)


def test_a_forked_child_forks_and_spawns():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        grandchild = os.fork()
        if grandchild == 0:
            os._exit(4)
        status = os.waitpid(grandchild, 0)[1]
        out = subprocess.run(["sh", "-c", "echo $$ $(date +%s)"], preexec_fn=os.setsid,
                             capture_output=True, text=True).stdout
        os.write(w, json.dumps([grandchild, os.waitstatus_to_exitcode(status), out]).encode())
        os._exit(0)
    os.close(w)
    grandchild, code, out = json.loads(os.read(r, 1000))
    os.close(r)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    assert code == 4 and grandchild != pid
    with pytest.raises(ChildProcessError):
        os.waitpid(grandchild, 0)  # not the test's child
    shell_pid, when = out.split()
    observed("grandchild's program", int(shell_pid), int(when))


def test_pty_fork():
    pid, master = pty.fork()
    if pid == 0:
        os.write(1, json.dumps([os.getpid(), os.getsid(0), time.time()]).encode())
        os._exit(0)
    data = b""
    while True:
        try:
            chunk = os.read(master, 1024)
        except OSError:  # EIO: the child's side of the pty is closed
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    child_pid, sid, when = json.loads(data)
    assert child_pid == sid == pid  # the child leads a session of its own
    observed("pty.fork", child_pid, when)


def test_pty_fork_read_through_io_open():
    # ptyprocess's way: the master in a BufferedRWPair of two io.open'ed FileIOs
    pid, master = pty.fork()
    if pid == 0:
        line = sys.stdin.readline()
        time.sleep(0.4)
        os.write(1, json.dumps([os.getpid(), time.time(), line]).encode())
        os._exit(0)
    pair = io.BufferedRWPair(io.open(master, "rb", buffering=0),
                             io.open(master, "wb", buffering=0, closefd=False))
    t0 = time.time()
    pair.write(b"hello\n")
    pair.flush()
    data = b""
    while True:
        try:
            chunk = pair.read1(1024)  # natively waits for the child's write
        except OSError:  # EIO: the child's side of the pty is closed
            break
        if not chunk:
            break
        data += chunk
    slept = time.time() - t0
    pair.close()
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    child_pid, when, line = json.loads(data[data.index(b"["):])
    assert child_pid == pid and line == "hello\n"
    observed("pty io.open", child_pid, when, slept)


def test_pipe_read_through_open():
    pid, r = forked_writer(0.2)
    t0 = time.time()
    with open(r, "rb") as pipe:  # natively waits for the child's write and its end
        child_pid, when = json.loads(pipe.read())
    slept = time.time() - t0
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    observed("pipe open", child_pid, when, slept)
"""

HOSTILE = r"""
import json
import os
import subprocess

CASES = [
    dict(pass_fds=(-1,)), dict(pass_fds=(10**6,)), dict(pass_fds=(2**40,)),
    dict(pass_fds=("x",)), dict(process_group=-5), dict(process_group=999999),
    dict(process_group=2**40), dict(umask=2**40), dict(umask=-7), dict(user=-5),
    dict(user=2**40), dict(group=-5), dict(extra_groups=[-1]), dict(user="no-such-user"),
    dict(cwd=""), dict(cwd="/nonexistent"), dict(executable="/nonexistent"),
    dict(preexec_fn=lambda: os._exit(3)), dict(preexec_fn=lambda: os.setpgid(0, 999999)),
]


def test_hostile_popen_arguments():
    seen = []
    for kwargs in CASES:
        try:
            p = subprocess.Popen(["true"], **kwargs)
        except BaseException as exc:
            seen.append([type(exc).__name__, getattr(exc, "errno", None),
                         getattr(exc, "filename", None)])
        else:
            seen.append(["started", p.wait()])
    print("OBSERVED", json.dumps(seen))
"""


def test_hostile_popen_arguments_fail_as_natively(observed):
    """Bad pass_fds, groups, ids, umasks, working directories and preexec_fns give the
    exceptions (type, errno, file name) or exit statuses they give natively."""
    native, in_host = (observed(HOSTILE, args, passed=1, timeout=600)
                       for args in ([], ["--simproc"]))
    assert in_host == native


NAMES = {"fork", "fork+exec", "preexec_fn", "preexec_fn program", "start_new_session",
         "pass_fds", "os.popen", "posix_spawn", "os.spawn", "multiprocessing",
         "multiprocessing queue", "multiprocessing join", "multiprocessing asyncio",
         "grandchild's program",
         "pty.fork", "select", "pty io.open", "pipe open"}


def _run(observed, *args):
    seen = {name: (pid, when, slept) for name, pid, when, slept
            in observed(INNER, args, passed=INNER.count("\ndef test_"), timeout=600)}
    assert set(seen) == NAMES
    return seen


def test_the_suite_passes_natively(observed):
    seen = _run(observed)
    for name, (_, when, slept) in seen.items():
        assert when > HOST_EPOCH + 20 * 365 * 86400, name  # the machine's clock
        if slept is not None:  # it waited for the child (whose sleep began at the
            assert slept >= 0.15, name  # fork, a moment before the test's t0)


def test_under_simproc_every_child_is_the_hosts(observed):
    seen = _run(observed, "--simproc")
    for name, (pid, when, slept) in seen.items():
        assert 1000 <= pid < 1100, (name, pid)
        assert HOST_EPOCH <= when < HOST_EPOCH + 3600, (name, when)
    # the forked children's own sleeps took the virtual time they asked for
    assert seen["fork"][2] == pytest.approx(0.5, abs=1e-6)
    assert seen["multiprocessing"][2] == pytest.approx(0.25, abs=1e-6)
    # and so did the timer of a loop in a forked child (it counted in real time, its
    # waits in virtual time: 74 virtual seconds)
    assert seen["multiprocessing asyncio"][2] == pytest.approx(0.3, abs=0.02)
    # select ran the host until the child wrote, 0.3 virtual seconds later
    assert seen["select"][2] == pytest.approx(0.3, abs=1e-6)
    # reads through io.open'ed file objects ran the host until the child wrote
    assert seen["pty io.open"][2] == pytest.approx(0.4, abs=1e-3)
    assert seen["pipe open"][2] == pytest.approx(0.2, abs=1e-3)
