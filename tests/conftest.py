"""Test-suite configuration shared by every test directory."""
import os

from hypothesis import settings

# CI runs must not depend on luck: the same examples every run.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
