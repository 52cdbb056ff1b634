"""Fixtures of the example suite.

- ``programs``: the C sources of this directory compiled once per session with ``cc``
  (``programs["supervisor"]`` -> absolute path of the binary); skips clearly when there
  is no C compiler.
- ``python``: the real Python interpreter (an ELF file, never a pyenv/bash shim, which
  would talk to itself through pipes; blocking pipes are not simulated yet).
- ``bash``: the real bash.
- ``clean_env``: a small fixed environment for the programs.
- ``py_script``: spawn arguments of an ``examples/*.py`` script run by ``python``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent
START = 946684800  # the default SimHost start_time: 2000-01-01T00:00:00Z


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


@pytest.fixture(scope="session")
def programs(tmp_path_factory) -> dict[str, str]:
    """Every ``examples/*.c`` compiled into a session tmp dir: {name: path}."""
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler: `cc` is not on PATH, cannot build examples/*.c")
    outdir = tmp_path_factory.mktemp("examples-bin")
    built = {}
    for src in sorted(EXAMPLES.glob("*.c")):
        out = outdir / src.stem
        cmd = [cc, "-O1", "-Wall", "-Werror", "-o", str(out), str(src)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            pytest.fail(f"compiling {src.name} failed: {' '.join(cmd)}\n{res.stderr}",
                        pytrace=False)
        built[src.stem] = str(out)
    return built


@pytest.fixture(scope="session")
def python() -> str:
    """The real interpreter running this test session (symlinks resolved)."""
    path = os.path.realpath(sys.executable)
    if not _is_elf(path):
        pytest.skip(f"{path} is not an ELF executable")
    return path


@pytest.fixture(scope="session")
def bash() -> str:
    for cand in (shutil.which("bash"), "/bin/bash", "/usr/bin/bash"):
        if cand and _is_elf(os.path.realpath(cand)):
            return os.path.realpath(cand)
    pytest.skip("bash (an ELF executable) is not available")


@pytest.fixture(scope="session")
def clean_env() -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C", "HOME": "/"}


@pytest.fixture(scope="session")
def py_script(python):
    """How to spawn an ``examples/*.py`` script with the real interpreter:
    ``simhost.spawn(**py_script("prefork.py", "2"))``. argv[0] is the interpreter's bare
    name (found through PATH), so that the process tree stays short; ``-I`` keeps the
    user's site-packages and PYTHON* variables out and ``-S`` skips the site module
    (the scripts need the standard library only; a start-up with a third of the
    system calls). ``py_script.exe`` is that name."""
    env = {"PATH": f"{os.path.dirname(python)}:/usr/local/bin:/usr/bin:/bin",
           "LC_ALL": "C", "HOME": "/"}
    exe = os.path.basename(python)

    def make(script: str, *args: str) -> dict:
        return dict(argv=[exe, "-I", "-S", script, *args], env=env, cwd=str(EXAMPLES))
    make.exe = exe
    return make
