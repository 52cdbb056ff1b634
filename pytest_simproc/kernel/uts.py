"""UTS namespaces of a host (uts_namespaces(7)): the hostname and NIS domain name that
uname(2) gives and sethostname(2), setdomainname(2) set.

The host's processes start in the machine's UTS namespace, which answers with the
host's names (its hostname, domain "(none)"); they are the machine's namespace's too,
so no program changes them (EPERM). A namespace a program makes (unshare(2), clone(2)
CLONE_NEWUTS) is real but its names are kept here: a copy of those of the namespace
its maker was in, changed only by what runs in it. Namespaces are told apart by a key
the caller reads (the native /proc/TID/ns/uts file's device and inode), so setns(2)
back and forth needs nothing more. A process is remembered in the last namespace it
was seen in (a fork's child in its parent's): a key first seen is a namespace it made,
or that a clone made for it, and starts as that one's copy; a namespace is forgotten
when the last process seen in it leaves or exits (the kernel reuses its inode number). Nothing
here touches a real namespace.
"""
from __future__ import annotations

import errno

from .errors import KernelError

HOST_NAME_MAX = 64   # __NEW_UTS_LEN: the longest name sethostname(2) takes
HOSTNAME, DOMAINNAME = 0, 1


class UtsNamespaces:
    def __init__(self, hostname: str, root_key):
        self.root_key = root_key
        self._names = {root_key: [hostname, "(none)"]}
        self._in: dict[int, object] = {}   # pid -> key, once some process left the root

    def names(self, pid: int, key) -> tuple[str, str]:
        """(hostname, domainname) for process ``pid`` calling from namespace ``key``."""
        if key == self.root_key and not self._in:
            return tuple(self._names[key])
        return tuple(self._enter(pid, key))

    def set(self, pid: int, key, which: int, name: str) -> None:
        """sethostname(2) (HOSTNAME) or setdomainname(2) (DOMAINNAME), the caller's
        privilege checked: EINVAL for a name longer than HOST_NAME_MAX is the
        caller's to check first. The machine's namespace: EPERM."""
        names = self._enter(pid, key)
        if key == self.root_key:
            raise KernelError(errno.EPERM, "the machine's names are not the host's to change")
        names[which] = name

    def _enter(self, pid: int, key) -> list:
        names = self._names.get(key)
        if names is None:   # made since the process was last seen: a copy (clone(2))
            names = self._names[key] = list(self._names[self._in.get(pid, self.root_key)])
        if self._in.get(pid, self.root_key) != key:
            self._leave(pid)
            self._in[pid] = key
        return names

    def _leave(self, pid: int) -> None:
        """A namespace nobody is in is gone (the kernel soon reuses its inode number),
        unless a descriptor of it is kept open: then it starts again as a copy."""
        key = self._in.pop(pid, None)
        if key is not None and key != self.root_key and key not in self._in.values():
            self._names.pop(key, None)

    def fork(self, parent: int, child: int) -> None:
        """A child starts in its parent's namespace (a CLONE_NEWUTS one is seen new)."""
        if parent in self._in:
            self._in[child] = self._in[parent]

    def exit(self, pid: int) -> None:
        self._leave(pid)
