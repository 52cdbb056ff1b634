"""Drop-in mode and a test that closes its own descriptor 0 or 1 before a Popen, as
CPython's test_subprocess does (issue 15798: test_small_errpipe_write_fd; issue 32844:
test_swap_std_fds_with_one_closed). Natively the program inherits the closed
descriptor closed, and one given as stdout that took the closed number (a dup gets the
lowest free one) is still its stdout. The inner suite passes natively and under
``--simproc``, where the programs are the host's (pid 1000).
"""
from __future__ import annotations

pytest_plugins = ["pytester"]

INNER = r'''
import contextlib
import os
import subprocess
import sys

from dropin_helpers import observed

REPORT = """
import os
for fd in (0, 1):
    try:
        os.fstat(fd)
    except OSError:
        os.write(2, b"%d closed " % fd)
"""


@contextlib.contextmanager
def own_std_fds():
    """The test's 0, 1 and 2 put back afterwards, whatever it did to them."""
    saved = [os.dup(fd) for fd in range(3)]
    try:
        yield
    finally:
        for fd, copy in enumerate(saved):
            os.dup2(copy, fd)
            os.close(copy)


def test_closed_stdin_and_stdout_stay_closed():
    with own_std_fds():
        os.close(0)
        os.close(1)
        p = subprocess.Popen([sys.executable, "-c", REPORT], stderr=subprocess.PIPE)
        err = p.communicate()[1]
    assert err == b"0 closed 1 closed ", err
    observed("closed", [p.pid])


def test_stdout_given_where_the_test_closed_its_own(tmp_path):
    with open(tmp_path / "out", "w+b") as out, own_std_fds():
        os.dup2(out.fileno(), 0)
        os.close(1)
        p = subprocess.Popen([sys.executable, "-c", "import os; os.write(1, b'to 1')"],
                             stdout=0)
        assert p.wait() == 0
        out.seek(0)
        assert out.read() == b"to 1"
    observed("given", [p.pid])
'''


def test_natively(observe):
    seen = observe(INNER, [], passed=2)
    assert all(1000 not in pids for pids, _, _ in seen.values())


def test_under_simproc(observe, virtual):
    seen = observe(INNER, ["--simproc"], passed=2)
    assert virtual(seen) == {"closed": ([1000], []), "given": ([1000], [])}
