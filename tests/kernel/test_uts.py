"""UTS namespaces (kernel/uts.py): names copied at a namespace's first sight, kept per
namespace, inherited by fork, and forgotten when nobody is in a namespace any more
(the kernel reuses its inode number: LTP's setns02 makes two in turn), without a tracee."""
from __future__ import annotations

import errno

import pytest

from pytest_simproc.kernel.errors import KernelError
from pytest_simproc.kernel.uts import DOMAINNAME, HOSTNAME, UtsNamespaces

ROOT, A = (4, 1), (4, 2)


def test_the_machines_names_are_the_hosts_and_cannot_be_changed():
    uts = UtsNamespaces("simhost", ROOT)
    assert uts.names(1000, ROOT) == ("simhost", "(none)")
    with pytest.raises(KernelError) as exc:
        uts.set(1000, ROOT, HOSTNAME, "other")
    assert exc.value.errno == errno.EPERM


def test_a_new_namespace_is_a_copy_its_children_share():
    uts = UtsNamespaces("simhost", ROOT)
    uts.set(1001, A, HOSTNAME, "inner")
    uts.set(1001, A, DOMAINNAME, "dom")
    uts.fork(1001, 1002)
    assert uts.names(1002, A) == ("inner", "dom")
    assert uts.names(1000, ROOT) == ("simhost", "(none)")
    assert uts.names(1001, ROOT) == ("simhost", "(none)")   # setns(2) back
    assert uts.names(1002, A) == ("inner", "dom")           # still in it


def test_a_namespace_nobody_is_in_is_forgotten_so_a_reused_number_starts_afresh():
    uts = UtsNamespaces("simhost", ROOT)
    uts.set(1001, A, HOSTNAME, "first")
    assert uts.names(1001, ROOT) == ("simhost", "(none)")   # left it: it is gone
    assert uts.names(1002, A) == ("simhost", "(none)")      # same inode, a new copy
    uts.set(1002, A, HOSTNAME, "second")
    uts.exit(1002)
    assert uts.names(1003, A) == ("simhost", "(none)")
