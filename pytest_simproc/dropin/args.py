"""Arguments of the patched os and signal functions, converted as CPython converts them.

A call that reaches the host must fail on a bad argument as the real function does: a
TypeError for what is not an integer, an OverflowError (ValueError for a negative
unsigned) for what does not fit the C type, then the kernel's EINVAL for a value that
fits but means nothing, such as a signal number above 64.
"""
from __future__ import annotations

import errno
import operator
import os

NSIG = 65  # signal(7): signals 1..64, and 0 to test for existence


def c_integer(value, bits: int = 32, signed: bool = True) -> int:
    value = operator.index(value)
    if not signed and value < 0:
        raise ValueError("value must be positive")
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not low <= value <= high:
        kind = ("" if signed else "unsigned ") + ("int" if bits == 32 else "ssize_t")
        raise OverflowError(f"Python int too large to convert to C {kind}")
    return value


def signal_number(sig, bits: int = 32) -> int:
    """kill(2)'s sig: EINVAL unless 0..64. os.kill takes a C ssize_t (``bits`` 64) and
    hands kill(2) its low 32 bits, as a C int."""
    sig = c_integer(sig, bits)
    sig = (sig + (1 << 31)) % (1 << 32) - (1 << 31)
    if not 0 <= sig < NSIG:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
    return sig
