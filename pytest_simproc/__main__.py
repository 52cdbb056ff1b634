"""``python -m pytest_simproc`` is the ``simproc`` command."""
import sys

from .cli import main

sys.exit(main())
