"""The optional C extension (pytest_simproc/trace/_ptrace.c); everything else is in
pyproject.toml. A failed build leaves the pure-Python (ctypes) path."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("pytest_simproc.trace._ptrace",
                             ["pytest_simproc/trace/_ptrace.c"], optional=True)])
