"""Drop-in mode and what libraries build on ``subprocess.Popen``: a subclass defined at
import time (sarge's ``Popen``, before any test patched anything), its overrides of
Popen's hooks, the errors of a program that cannot start, and a program a thread of
the test starts while the test sleeps. Each inner suite passes natively and under
``--simproc``.

Natively a thread's program may outlast the test's real sleep on a loaded machine: the
inner tests that sleep to let a thread act print whether it had, then wait for it, and
only under ``--simproc``, where the sleep is virtual, must it have."""
from __future__ import annotations

import re

import pytest

from .test_dropin import MODES, run_inner

pytest_plugins = ["pytester"]


def acted_in_time(result) -> list[bool]:
    """What the inner test printed after each of its sleeps: had the thread acted?"""
    return [seen == "True" for seen in re.findall(r"in time: (\w+)", result.stdout.str())]


@pytest.mark.parametrize("args", MODES)
def test_a_popen_subclass_made_at_import_runs_in_the_host(pytester, args):
    run_inner(pytester, """
        import os
        import subprocess
        import time
        import pytest

        class LoggingPopen(subprocess.Popen):  # at import: the real Popen's subclass
            calls = []

            def wait(self, timeout=None):
                LoggingPopen.calls.append(timeout)
                return super().wait(timeout)

        STDERR = -9

        class ToStderrPopen(subprocess.Popen):
            \"\"\"stdout=STDERR sends stdout into the stderr pipe, through Popen's own
            hook (sarge's `>&2`).\"\"\"

            def _get_handles(self, stdin, stdout, stderr):
                if stdout != STDERR:
                    return super()._get_handles(stdin, stdout, stderr)
                handles = list(super()._get_handles(stdin, None, stderr))
                handles[2], handles[3] = os.dup(handles[4]), os.dup(handles[5])
                return tuple(handles)

        def test_its_overrides_and_its_program():
            t0 = time.monotonic()
            p = LoggingPopen(["sh", "-c", "sleep 2; echo $$"], stdout=subprocess.PIPE)
            with pytest.raises(subprocess.TimeoutExpired):
                p.wait(1)
            out, _ = p.communicate()
            assert isinstance(p, LoggingPopen) and p.returncode == 0
            assert int(out) == p.pid and 1 in LoggingPopen.calls
            assert time.monotonic() - t0 >= 2

        @pytest.mark.virtual_time
        def test_in_virtual_time():
            p = LoggingPopen(["sleep", "30"])
            assert p.pid == 1000 and p.wait() == 0
            assert time.time() == 946684830

        def test_its_get_handles():
            p = ToStderrPopen(["sh", "-c", "echo out; sleep 0.2; echo err >&2"],
                              stdout=STDERR, stderr=subprocess.PIPE)
            assert p.stderr.read() == b"out\\nerr\\n"
            assert p.wait() == 0
            p.stdout.close()
            p.stderr.close()
            q = ToStderrPopen(["echo", "plain"], stdout=subprocess.PIPE)
            assert q.communicate() == (b"plain\\n", None)
    """, args, passed=3, skipped_natively=1)


@pytest.mark.parametrize("args", MODES)
def test_a_program_that_cannot_start_raises_popens_errors(pytester, args):
    run_inner(pytester, """
        import errno
        import subprocess
        import pytest

        @pytest.mark.parametrize("program, error, code", [
            ("no-such-program-simproc", FileNotFoundError, errno.ENOENT),
            ("/no/such/dir/program", FileNotFoundError, errno.ENOENT),
            ("/etc/passwd", PermissionError, errno.EACCES),
            ("/", PermissionError, errno.EACCES)])
        def test_errno_and_file_name(program, error, code):
            with pytest.raises(error) as info:
                subprocess.Popen([program])
            assert (info.value.errno, info.value.filename) == (code, program)
            with pytest.raises(error):
                subprocess.run([program], capture_output=True)
    """, args, passed=4)


@pytest.mark.parametrize("args", MODES)
def test_a_thread_starts_a_program_while_the_test_sleeps(pytester, args):
    result = run_inner(pytester, """
        import subprocess
        import threading
        import time

        def test_sleep_gives_the_thread_its_time():
            results = []

            def work():
                out = subprocess.run(["sh", "-c", "echo $$"], capture_output=True).stdout
                results.append(int(out))

            worker = threading.Thread(target=work)
            worker.start()
            time.sleep(1)
            print("in time:", len(results) == 1)
            worker.join()
            assert len(results) == 1
    """, [*args, "-s"], passed=1)
    in_time = acted_in_time(result)
    assert len(in_time) == 1 and (all(in_time) or not args)


@pytest.mark.parametrize("args", MODES)
def test_a_thread_starts_programs_one_after_another_while_the_test_sleeps(pytester, args):
    # Between the two the thread leaves its wait for the first and starts the second
    # within a fraction of a millisecond: the host's pause must still see it act.
    result = run_inner(pytester, """
        import subprocess
        import threading
        import time

        def test_one_after_another():
            for round in range(10):
                results = []

                def work():
                    results.append(subprocess.run(["true"]).returncode)
                    try:
                        subprocess.Popen(["no-such-program-simproc"])
                    except FileNotFoundError as exc:
                        results.append(exc.errno)

                worker = threading.Thread(target=work)
                worker.start()
                time.sleep(0.3)
                print("in time:", results == [0, 2])
                worker.join()
                assert results == [0, 2], round
    """, [*args, "-s"], passed=1)
    in_time = acted_in_time(result)
    assert len(in_time) == 10 and (all(in_time) or not args)
