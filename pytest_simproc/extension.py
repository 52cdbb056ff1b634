"""What a user's syscall hook sees: one trapped call of one process."""
from __future__ import annotations


class SyscallCall:
    """A system call offered to ``pytest_simproc_syscall`` / ``SimHost.emulate_syscalls``."""

    __slots__ = ("name", "nr", "args", "pid", "tid", "now", "host", "_mem")

    def __init__(self, ctx, host):
        self.name = ctx.name
        self.nr = ctx.nr
        self.args = ctx.args
        self.pid = ctx.proc.pid
        self.tid = ctx.task.tid
        self.now = ctx.now_ns / 1_000_000_000
        self.host = host
        self._mem = ctx.mem

    def read(self, addr: int, size: int) -> bytes:
        return self._mem.read(addr, size)

    def read_string(self, addr: int, limit: int = 4096) -> bytes:
        return self._mem.read_cstring(addr, limit)

    def write(self, addr: int, data: bytes) -> None:
        self._mem.write(addr, data)

    def __repr__(self):
        return f"<SyscallCall {self.name} pid={self.pid} args={self.args}>"
