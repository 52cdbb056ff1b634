"""The one compiled part, trace/_spawnc.c (spawn set-up without os.fork): optional, so
an install without a C compiler still works and spawns through the Python path."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("pytest_simproc.trace._spawnc",
                             ["pytest_simproc/trace/_spawnc.c"], optional=True)])
