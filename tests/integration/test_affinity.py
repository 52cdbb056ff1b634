"""CPU affinity in a host (syscalls/sched.py, misc.py): the mask a program sets is the
mask it reads back, its child inherits it, and getcpu(2), through libc (the host's
vDSO) or the raw call, names a CPU of it, as natively (tests/programs/affinity.c).
Before, a host's programs read the machine's CPUs whatever they had set, and getcpu
said CPU 0 on the highest CPU of a two-CPU machine (LTP's getcpu01)."""
from __future__ import annotations

from .conftest import same_as_native

AFFINITY_EXPECTED = b"""\
start has cpus: yes
set highest 0
reads what it set: yes
libc getcpu on it: yes
raw getcpu on it: yes
child inherits: yes
offline only -1 EINVAL
bad pointer -1 EFAULT
no such task -1 ESRCH
restore 0
reads all again: yes
"""


def test_affinity_and_getcpu_as_natively(build):
    same_as_native([build("affinity")], AFFINITY_EXPECTED)
