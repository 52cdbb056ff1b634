"""The optional C extensions; everything else is in pyproject.toml. Both are optional:
an install without a C compiler still works, through the pure-Python paths.

- trace/_ptrace.c: the stop path's ptrace requests and its turn of resume and wait
  (else ctypes and os.wait4);
- trace/_spawnc.c: a spawn's set-up in C without os.fork (else the Python fork path);
- trace/_fdlook.c: a program's descriptor looked at in one call, at each read and
  write (else a duplicate, fstat, fcntl, poll and close from Python).
"""
from setuptools import Extension, setup

setup(ext_modules=[
    Extension("pytest_simproc.trace._ptrace", ["pytest_simproc/trace/_ptrace.c"],
              optional=True),
    Extension("pytest_simproc.trace._spawnc", ["pytest_simproc/trace/_spawnc.c"],
              optional=True),
    Extension("pytest_simproc.trace._fdlook", ["pytest_simproc/trace/_fdlook.c"],
              optional=True),
])
