"""Test-suite configuration shared by every test directory: hypothesis profiles, and
compiling the C programs the integration and robustness tests run."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from hypothesis import settings

CFLAGS = ["-O0", "-Wall"]

# CI runs must not depend on luck: the same examples every run.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


class Builder:
    """``build("ids")`` / ``build("ids", static=True)`` -> absolute path of
    ``programs_dir/ids.c`` compiled.

    Binaries are cached for the session; dynamic and static builds live in separate
    directories so both have the program's own name as basename (the host names
    processes after it: ``simhost.ids.1000``).
    """

    def __init__(self, programs_dir: Path, outdir: Path, extra_flags: dict | None = None):
        self.programs_dir = programs_dir
        self.outdir = outdir
        self.extra_flags = extra_flags or {}
        self._cache: dict[tuple[str, bool], str] = {}
        self._static_problem: str | None = None
        self._static_checked = False
        self._lock = threading.Lock()

    def _cc(self) -> str:
        cc = shutil.which("cc")
        if cc is None:
            pytest.skip(f"no C compiler: `cc` is not on PATH, cannot build "
                        f"{self.programs_dir}/*.c")
        return cc

    def _check_static(self, cc: str) -> None:
        if self._static_checked:
            if self._static_problem:
                pytest.skip(self._static_problem)
            return
        self._static_checked = True
        src = self.outdir / "static-probe.c"
        src.write_text("int main(void) { return 0; }\n")
        res = subprocess.run([cc, "-static", "-o", str(self.outdir / "static-probe"), str(src)],
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            self._static_problem = ("static linking is unavailable (no static libc?): "
                                    f"`cc -static` failed: {res.stderr.strip()[:500]}")
            pytest.skip(self._static_problem)

    def __call__(self, name: str, static: bool = False) -> str:
        key = (name, static)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            cc = self._cc()
            src = self.programs_dir / f"{name}.c"
            if not src.is_file():
                raise FileNotFoundError(f"no test program {src}")
            if static:
                self._check_static(cc)
            outdir = self.outdir / ("static" if static else "dynamic")
            outdir.mkdir(exist_ok=True)
            out = outdir / name
            cmd = [cc, *CFLAGS, *self.extra_flags.get(name, []), *(["-static"] if static else []),
                   "-o", str(out), str(src)]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if res.returncode != 0:
                pytest.fail(f"compiling {src.name} failed: {' '.join(cmd)}\n{res.stderr}",
                            pytrace=False)
            self._cache[key] = str(out)
            return str(out)


@pytest.fixture(scope="session")
def c_programs(tmp_path_factory):
    """``c_programs(programs_dir, name, extra_flags)`` -> a Builder for that directory,
    compiling into a session tmp dir called ``name``."""
    def make(programs_dir: Path, name: str, extra_flags: dict | None = None) -> Builder:
        return Builder(programs_dir, tmp_path_factory.mktemp(name), extra_flags)
    return make


# this run's cache directory, before pytester points HOME at each test's directory
CACHE_HOME = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")


@pytest.fixture
def pytester(pytester, monkeypatch):
    """pytester, whose inner pytest runs load no hypothesis plugin: no inner suite uses
    hypothesis, but its plugin imports all of it at each run's end (its terminal summary),
    and pytest assertion-rewrites every module of a pytest11 plugin's distribution: about
    0.7 s of CPU per inner run where byte code is not cached (PYTHONDONTWRITEBYTECODE),
    a sixth of the suite's time. Set after pytester's own set-up, which unsets it.

    Their cache directory is this run's: with HOME in the test's own directory, each
    inner run under --simproc compiled the host's vDSO again (trace/vdso.py's image())."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")
    monkeypatch.setenv("XDG_CACHE_HOME", CACHE_HOME)
    return pytester
