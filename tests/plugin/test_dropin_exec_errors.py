"""Drop-in mode: a program that cannot be executed fails ``Popen`` as natively.

``Popen`` raises execve(2)'s error: FileNotFoundError (ENOENT) for a path that does not
exist or a name not in PATH, PermissionError (EACCES) for a file without execute
permission or a directory, each with the errno and the program as given (trio's suite
runs ``/dev/fd/0`` and expects PermissionError). The inner suite passes natively and
under ``--simproc``, where a program that does run is the host's.
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = r'''
import errno
import subprocess

import pytest
from dropin_helpers import observed


@pytest.mark.parametrize("program, error, code", [
    ("/nonexistent/program", FileNotFoundError, errno.ENOENT),
    ("no-such-program-in-path", FileNotFoundError, errno.ENOENT),
    ("/dev/null", PermissionError, errno.EACCES),
    ("/", PermissionError, errno.EACCES),
])
def test_what_popen_raises(program, error, code):
    with pytest.raises(error) as raised:
        subprocess.Popen([program])
    assert (raised.value.errno, raised.value.filename) == (code, program)
    p = subprocess.Popen(["true"])
    assert p.wait() == 0
    observed(program, [p.pid])
'''


def test_exec_errors_natively(observe):
    seen = observe(INNER, [], passed=4)
    assert all(1000 not in pids for pids, _, _ in seen.values())


def test_exec_errors_under_simproc(observe):
    seen = observe(INNER, ["--simproc"], passed=4)
    # the failed Popen forked first (its child, 1000, met the exec's error), as natively
    assert all(pids == [1001] for pids, _, _ in seen.values())
