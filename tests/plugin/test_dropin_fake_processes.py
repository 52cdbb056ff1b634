"""Drop-in mode beside pytest-subprocess, whose ``fp`` fixture fakes the commands a test
registers and passes the others to the Popen it found at ``subprocess.Popen``.

At registration ``fp`` puts its fake in every module global that *is* the current
``subprocess.Popen`` (``from subprocess import Popen`` names): under ``--simproc``
that is SimPopen, and drop-in's own modules named it too, so SimPopen's code then read
the fake (``object.__init__() takes exactly one argument`` at every real command), and
``os.system``, which natively forks without Popen, went to ``fp`` (not registered).
pytest-subprocess's own suite: 30 of its tests failed so. The inner suite passes
natively and under ``--simproc``.
"""
from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = r"""
import asyncio
import os
import subprocess
import time

from dropin_helpers import observed


def test_a_registered_command_and_a_real_one(fp):
    fp.register(["git", "rev-parse", "HEAD"], stdout="4f4b49a\n")
    fp.allow_unregistered(True)
    assert subprocess.check_output(["git", "rev-parse", "HEAD"], text=True) == "4f4b49a\n"
    t0 = time.monotonic()
    out = subprocess.check_output(["sh", "-c", "sleep 2; echo $$"])
    observed("real", [int(out)], time.monotonic() - t0)


def test_an_asyncio_program_not_registered(fp):
    fp.allow_unregistered(True)

    async def main():
        p = await asyncio.create_subprocess_exec("sh", "-c", "sleep 1; echo $$",
                                                 stdout=subprocess.PIPE)
        out, _ = await p.communicate()
        return int(out), p.returncode

    t0 = time.monotonic()
    pid, code = asyncio.run(main())
    assert code == 0
    observed("asyncio", [pid], time.monotonic() - t0)


def test_os_system_is_not_popen(fp):
    t0 = time.monotonic()
    assert os.system("sleep 1; exit 3") == 3 << 8
    assert not fp.calls
    observed("system", [], time.monotonic() - t0)
"""


@pytest.mark.parametrize("args", [[], ["--simproc"]], ids=["native", "simproc"])
def test_fp_fakes_its_commands_and_the_rest_run(observe, args):
    seen = observe(INNER, ["--timeout", "60", *args], passed=3)
    assert seen["real"][1][0] >= 2 and seen["asyncio"][1][0] >= 1
    assert seen["system"][1][0] >= 1
    if args:  # in the host: its pids, its virtual clock
        assert seen["real"][0][0] >= 1000 and seen["asyncio"][0][0] >= 1000
        assert [seen[name][1][0] for name in ("real", "asyncio", "system")] == [
            pytest.approx(2, abs=0.01), pytest.approx(1, abs=0.01),
            pytest.approx(1, abs=0.01)]
        assert all(946684800 <= now < 946684800 + 60 for _, _, now in seen.values())
