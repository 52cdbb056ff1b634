"""Errors raised by the simulated kernel.

Every kernel operation that Linux would fail with an errno raises ``KernelError``
carrying that errno; the system-call layer turns it into ``-errno`` for the tracee.
Keeping one exception type (rather than one class per errno) lets handlers catch
kernel failures in a single place without losing the precise errno.
"""

from __future__ import annotations

import errno as _errno
import os

__all__ = ["KernelError", "errno_name"]


def errno_name(value: int) -> str:
    """Symbolic name of an errno value (``ESRCH``), or ``E<n>`` if unknown."""
    return _errno.errorcode.get(value, f"E{value}")


class KernelError(Exception):
    """A system call failed with ``errno``; ``str()`` reads ``"ESRCH: no such process 4242"``."""

    def __init__(self, errno_value: int, message: str = "") -> None:
        self.errno = int(errno_value)
        # Without a message, fall back to the C library's text so str() is never bare.
        self.message = message or os.strerror(self.errno).lower()
        super().__init__(self.errno, self.message)

    @property
    def name(self) -> str:
        """The symbolic errno name, e.g. ``"EPERM"``."""
        return errno_name(self.errno)

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"

    def __repr__(self) -> str:
        return f"KernelError({self.name}, {self.message!r})"
