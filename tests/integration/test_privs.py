"""no_new_privs as the program set it (syscalls/privs.py), against the same program run
natively (tests/programs/privs.c). The host's own filter takes the bit natively: a
program read 1 from its start and could install a filter without CAP_SYS_ADMIN."""
from __future__ import annotations

import os

import pytest

from .conftest import same_as_native

PRIVS_EXPECTED = b"""\
get 0
start status NoNewPrivs:\t0
get arg -1 EINVAL
set 0 -1 EINVAL
set arg3 -1 EINVAL
prctl filter bad address -1 EFAULT
prctl filter empty -1 EINVAL
prctl filter -1 EACCES
seccomp bad flags -1 EINVAL
seccomp filter -1 EACCES
set 0
get 1
set status NoNewPrivs:\t1
child get 1
exec get 1
exec status NoNewPrivs:\t1
child exited 0
prctl filter 0
seccomp filter 0
"""


def _own_no_new_privs() -> bool:
    with open("/proc/self/status") as f:
        return "NoNewPrivs:\t1\n" in f.read()


@pytest.mark.skipif(os.geteuid() != 0 or _own_no_new_privs(),
                    reason="the program drops CAP_SYS_ADMIN from root's capabilities, "
                    "and starts without no_new_privs")
def test_no_new_privs_and_seccomp_filters(build):
    same_as_native([build("privs")], PRIVS_EXPECTED)
