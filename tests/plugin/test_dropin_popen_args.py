"""Drop-in mode: Popen's arguments mean what they mean natively (CPython's
test_subprocess checks each): ``preexec_fn``'s ``os.putenv`` reaches the program when
``env`` is None, ``close_fds=False`` passes the test's inheritable descriptors,
``restore_signals=False`` leaves SIGPIPE ignored as Python set it, ``pass_fds`` with
``close_fds=False`` warns, an extra group past gid_t is a ValueError, a path-like
command line with ``shell=True`` a TypeError, and a
KeyboardInterrupt in ``wait`` gets Popen's short second wait (a test patches ``_wait``).
The inner suite passes natively and under ``--simproc``, where its programs are the
host's (pids from 1000) and their waits virtual.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = """
import json
import os
import signal
import subprocess
import time
from unittest import mock

import pytest


def observed(name, pids, elapsed):
    print("OBSERVED", json.dumps([name, pids, round(elapsed, 2)]))


def test_preexec_fn_sets_the_programs_environment():
    t0 = time.time()
    p = subprocess.Popen(["sh", "-c", "sleep 1; echo $FRUIT"], stdout=subprocess.PIPE,
                         preexec_fn=lambda: os.putenv("FRUIT", "apple"))
    assert p.communicate()[0] == b"apple\\n"
    observed("preexec", [p.pid], time.time() - t0)


def test_close_fds_false_passes_inheritable_descriptors():
    r, w = os.pipe()
    os.set_inheritable(w, True)
    p = subprocess.Popen(["sh", "-c", f"echo hi >&{w}"], close_fds=False)
    assert p.wait() == 0
    os.close(w)
    assert os.read(r, 100) == b"hi\\n"
    os.close(r)
    with pytest.warns(RuntimeWarning, match="pass_fds overriding close_fds"):
        q = subprocess.Popen(["true"], pass_fds=(0,), close_fds=False)
    q.wait()
    observed("close_fds", [p.pid, q.pid], 0)


def ignored(restore_signals):
    status = subprocess.check_output(["cat", "/proc/self/status"],
                                     restore_signals=restore_signals)
    line = next(l for l in status.splitlines() if l.startswith(b"SigIgn:"))
    return int(line.split()[1], 16)


def test_restore_signals_false_keeps_sigpipe_ignored():
    pipe = 1 << (signal.SIGPIPE - 1)
    assert ignored(False) & pipe and not ignored(True) & pipe


def test_an_extra_group_past_gid_t_is_a_value_error():
    with pytest.raises(ValueError):
        subprocess.check_call(["true"], extra_groups=[2**64])


def test_a_path_like_command_line_with_shell_is_a_type_error():
    import pathlib
    with pytest.raises(TypeError):
        subprocess.run(pathlib.Path("/bin/true"), shell=True)
    assert subprocess.run(pathlib.Path("/bin/true")).returncode == 0


def test_a_keyboard_interrupt_in_wait_waits_a_little_more():
    p = subprocess.Popen(["sleep", "5"])
    with mock.patch.object(subprocess.Popen, "_wait", side_effect=KeyboardInterrupt) as w:
        with pytest.raises(KeyboardInterrupt):
            p.wait()
    assert w.call_args_list == [mock.call(timeout=None), mock.call(timeout=0.25)]
    p.kill()
    assert p.wait() == -signal.SIGKILL
"""


def _seen(observed, args) -> dict:
    return {name: (pids, elapsed)
            for name, pids, elapsed in observed(INNER, args, passed=6)}


def test_natively(observed):
    assert _seen(observed, [])["preexec"][1] >= 1.0


def test_under_simproc_in_the_host(observed):
    assert _seen(observed, ["--simproc"]) == {
        "preexec": ([1000], 1.0), "close_fds": ([1000, 1001], 0)}
