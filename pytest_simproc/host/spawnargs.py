"""What ``SimHost.spawn`` is given: argv, environment, working directory, program.

Each is checked and normalized in the test's process, before a file or process is
created, so that a mistake is a TypeError / ValueError / ProgramNotFoundError naming the
argument instead of a failed exec inside the host.
"""
from __future__ import annotations

import os
import shutil

from ..errors import ProgramNotFoundError
from .options import _check_path, _short


def _check_argv(argv) -> list[str]:
    from collections.abc import Iterable, Mapping, Set as AbstractSet
    if (isinstance(argv, (str, bytes, bytearray, os.PathLike, Mapping, AbstractSet))
            or not isinstance(argv, Iterable)):
        raise TypeError(f"argv must be a non-empty list of strings, not {_short(argv)}")
    result = []
    for i, arg in enumerate(argv):
        if isinstance(arg, os.PathLike):
            arg = os.fspath(arg)
        if isinstance(arg, bytes):
            arg = os.fsdecode(arg)
        if not isinstance(arg, str):
            raise TypeError(f"argv[{i}] must be a str, not {_short(arg)} "
                            f"(argv={_short(argv)})")
        if "\0" in arg:
            raise ValueError(f"argv[{i}] must not contain a NUL byte: {_short(arg)}")
        result.append(arg)
    if not result:
        raise ValueError("argv must be a non-empty list of strings, not empty")
    return result


def _inherited_environment() -> dict:
    """The test process's environment minus what pytest and pytest-xdist add to it for
    themselves (PYTEST_CURRENT_TEST changes with every test and phase; xdist workers get
    PYTEST_XDIST_* and COLUMNS/LINES): a program's results must not depend on which
    worker ran the test."""
    env = dict(os.environ)
    xdist_worker = "PYTEST_XDIST_WORKER" in env
    for name in list(env):
        if name == "PYTEST_CURRENT_TEST" or name.startswith("PYTEST_XDIST_"):
            del env[name]
        elif xdist_worker and name in ("COLUMNS", "LINES"):
            del env[name]
    return env


def _check_env(env) -> dict[str, str]:
    from collections.abc import Mapping
    if env is None:
        return _inherited_environment()
    if not isinstance(env, Mapping):
        raise TypeError(f"env must be a mapping of str to str (or None), not {_short(env)}")
    result = {}
    for key, value in env.items():
        if isinstance(key, bytes):
            key = os.fsdecode(key)
        if not isinstance(key, str):
            raise TypeError(f"env: variable name {_short(key)} must be a str")
        if not key or "=" in key or "\0" in key:
            raise ValueError(f"env: bad variable name {_short(key)} (must be non-empty, "
                             f"without '=' or NUL)")
        if isinstance(value, bytes):
            value = os.fsdecode(value)
        if not isinstance(value, str):
            raise TypeError(f"env: the value of {_short(key)} must be a str, "
                            f"not {_short(value)}")
        if "\0" in value:
            raise ValueError(f"env: the value of {_short(key)} must not contain a NUL "
                             f"byte: {_short(value)}")
        result[key] = value
    return result


def _check_cwd(cwd) -> "str | None":
    if cwd is None:
        return None
    path = _check_path("cwd", cwd)
    if not os.path.isdir(path):
        what = "is not a directory" if os.path.exists(path) else "does not exist"
        raise ValueError(f"cwd {_short(path)} {what}")
    return path


def _resolve_program(program: str, path_env: str, cwd) -> str:
    if not isinstance(program, str) or "\0" in program:
        raise ValueError(f"argv[0] must be a program name or path, not {_short(program)}")
    if "/" in program:
        path = program if os.path.isabs(program) or cwd is None else os.path.join(cwd, program)
        if not os.path.exists(path):
            raise ProgramNotFoundError(f"program not found: {path!r} does not exist")
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            raise ProgramNotFoundError(f"program not executable: {path!r} (check its mode: "
                                       f"chmod +x, or run it through its interpreter)")
        return os.path.abspath(path)
    found = shutil.which(program, path=path_env)
    if found is None:
        raise ProgramNotFoundError(f"program not found: {program!r} is not in PATH "
                                   f"({path_env}); give a path or fix PATH in env=")
    return found
