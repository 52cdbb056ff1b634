"""A replacement vDSO: programs read the host's virtual clocks without a ptrace stop.

The machine's vDSO answers clock_gettime, gettimeofday and time in user space from the
machine's clock, so a host once hid it (AT_IGNORE) and trapped every clock read: a
stop each, ~900x a native read, and a Go runtime reads the clock ~40,000 times per
garbage collection. Instead, each program gets a vDSO of the host's own (vdso.c,
compiled here with the system C compiler on first use and cached; never a binary in
git) whose functions read the host's clock page: one file per host, mapped shared
into every program and written by the tracer whenever virtual time moves
(``ClockPage.publish``, the one function the virtual clock calls). Since the tracer
writes only while no program runs, a read returns exactly what the trapped call
would have returned at that point of the schedule, and runs stay deterministic.

At each exec the tracer maps the page and a copy of the image into the new program
(``install``: openat, two mmaps and close, run by the program from a `syscall`
instruction of the machine's vDSO while single-stepped) and points AT_SYSINFO_EHDR at
the image (getauxval(3)), where glibc (dynamic and static), musl and Go look for it.
A fork keeps both mappings: the child reads the same shared page.

Not in the image, so still trapped: CPU-time clocks (their values are per process
and change with every trapped call), clock_getres, and unknown clock ids.
"""
from __future__ import annotations

import functools
import hashlib
import mmap
import os
import shutil
import signal as _signal
import struct
import subprocess
import tempfile

from . import ptrace_ops as pt

PAGE = 4096
_HERE = os.path.dirname(os.path.abspath(__file__))
_SOURCES = ("vdso.c", "vdso.lds")
_CFLAGS = ["-O2", "-fPIC", "-shared", "-nostdlib", "-fno-stack-protector",
           "-fno-asynchronous-unwind-tables", "-fcf-protection=none", "-Wall", "-Werror",
           "-Wl,--hash-style=both", "-Wl,-soname=linux-vdso.so.1", "-Wl,--no-undefined",
           "-Wl,-z,max-page-size=4096", "-Wl,--build-id=none"]

# the clock page's layout, vdso.c's struct clock_page: seq, pad, now_ns, realtime_ns
_PAGE_FMT = "<IIqq"

# x86_64 system call numbers, mman.h and fcntl.h values
_SYS_OPENAT, _SYS_MMAP, _SYS_CLOSE, _SYS_MUNMAP = 257, 9, 3, 11
_AT_FDCWD = -100
_O_RDONLY_CLOEXEC = 0o2000000
_PROT_READ, _PROT_EXEC = 1, 4
_MAP_SHARED, _MAP_PRIVATE, _MAP_FIXED, _MAP_ANONYMOUS = 1, 2, 0x10, 0x20
_PTRACE_SINGLESTEP = 9


def _cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pytest-simproc")


@functools.lru_cache(maxsize=None)
def image() -> bytes | None:
    """The vDSO image, built from vdso.c on first use (cached by the sources' hash);
    None when no C compiler builds it: hosts then hide the vDSO and trap clock reads."""
    compiler = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("cc")
    if compiler is None:
        return None
    digest = hashlib.sha256(compiler.encode())
    for name in _SOURCES:
        with open(os.path.join(_HERE, name), "rb") as f:
            digest.update(f.read())
    name = f"vdso-{digest.hexdigest()[:16]}.so"
    for directory in (_cache_dir(), tempfile.gettempdir()):
        path = os.path.join(directory, name)
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            pass
        try:
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".vdso-")
            os.close(fd)
        except OSError:
            continue
        try:
            done = subprocess.run(
                [compiler, *_CFLAGS, "-Wl,-T," + os.path.join(_HERE, "vdso.lds"),
                 "-o", tmp, os.path.join(_HERE, "vdso.c")], capture_output=True)
            if done.returncode != 0:
                return None
            with open(tmp, "rb") as f:
                data = f.read()
            os.replace(tmp, path)
            return data
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return None


class ClockPage:
    """A host's clock page: a file in its data directory, mapped shared by the tracer
    (read-write) and by every program of the host (read-only)."""

    def __init__(self, directory: str, image_bytes: bytes):
        self.image = image_bytes
        self.path = os.path.join(directory, ".clock-page")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o444)
        try:
            os.ftruncate(fd, PAGE)
            self._map = mmap.mmap(fd, PAGE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        self._seq = 0

    def publish(self, now_ns: int, realtime_ns: int) -> None:
        """Write the virtual clocks' values; the sequence word is odd meanwhile."""
        m = self._map
        self._seq += 1
        struct.pack_into("<I", m, 0, self._seq)
        struct.pack_into("<qq", m, 8, now_ns, realtime_ns)
        self._seq += 1
        struct.pack_into("<I", m, 0, self._seq)

    def read(self) -> tuple[int, int]:
        """(now_ns, realtime_ns) as a program would read them."""
        _, _, now, real = struct.unpack_from(_PAGE_FMT, self._map, 0)
        return now, real

    def close(self) -> None:
        self._map.close()


class TraceeGone(Exception):
    """The program died while the tracer ran calls in it; ``status`` is its wait status."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def _syscall_gadget(mem, machine_vdso: int) -> int | None:
    """An address of a `syscall` instruction the program can execute: the machine's
    vDSO has one (its fallback paths)."""
    if not machine_vdso:
        return None
    try:
        code = mem.peek(machine_vdso, 2 * PAGE)
    except OSError:
        try:
            code = mem.peek(machine_vdso, PAGE)
        except OSError:
            return None
    at = code.find(b"\x0f\x05")
    return machine_vdso + at if at >= 0 else None


class _Runner:
    """Runs system calls in a stopped program: registers set at `syscall`, one
    single step (through a seccomp stop of the call, if the filter traps it)."""

    def __init__(self, native: int, gadget: int, saved):
        self.native, self.gadget, self.saved = native, gadget, saved
        self.signals: list[int] = []  # real signals that stopped it meanwhile

    def call(self, nr: int, *args: int) -> int:
        regs = pt.copy_regs(self.saved)
        regs.rip, regs.rax, regs.orig_rax = self.gadget, nr, pt.MASK64
        for name, value in zip(("rdi", "rsi", "rdx", "r10", "r8", "r9"), args):
            setattr(regs, name, value & pt.MASK64)
        pt.setregs(self.native, regs)
        while True:
            _step(self.native)
            _, status = pt.wait_task(self.native)
            if os.WIFEXITED(status) or os.WIFSIGNALED(status):
                raise TraceeGone(status)
            sig = os.WSTOPSIG(status)
            if sig == _signal.SIGTRAP and status >> 16 == 0:
                return pt.to_signed(pt.getregs(self.native).rax)
            if sig != _signal.SIGTRAP:
                self.signals.append(sig)  # given back once the calls are done
            # a seccomp stop of the call: it runs natively as the step goes on


def _step(native: int) -> None:
    if pt._raw(_PTRACE_SINGLESTEP, native, None, 0) == -1:
        pt._fail(_PTRACE_SINGLESTEP, native)


def install(native: int, mem, page: ClockPage, machine_vdso: int) -> int | None:
    """Map ``page`` and the vDSO image into a program stopped at its exec event; the
    image's address, or None when it could not be mapped (the program then runs
    without a vDSO). The program is left stopped, its registers as they were when it
    returned from execve. Raises TraceeGone if it died meanwhile."""
    gadget = _syscall_gadget(mem, machine_vdso)
    if gadget is None:
        return None
    pt.syscall(native)  # to execve's exit stop: its result is in rax by then
    _, status = pt.wait_task(native)
    if os.WIFEXITED(status) or os.WIFSIGNALED(status):
        raise TraceeGone(status)
    saved = pt.getregs(native)
    run = _Runner(native, gadget, saved)
    size = PAGE + -(-len(page.image) // PAGE) * PAGE
    path = page.path.encode() + b"\0"
    path_at = (saved.rsp - PAGE - len(path)) & ~15  # below the stack pointer: unused
    base = None
    gone = False
    try:
        mem.poke(path_at, path)
        fd = run.call(_SYS_OPENAT, _AT_FDCWD, path_at, _O_RDONLY_CLOEXEC)
        mem.poke(path_at, bytes(len(path)))  # the host's paths must not leak into runs
        if fd < 0:
            return None
        base = run.call(_SYS_MMAP, 0, size, _PROT_READ | _PROT_EXEC,
                        _MAP_PRIVATE | _MAP_ANONYMOUS, -1, 0)
        if base < 0:
            base = None
        elif run.call(_SYS_MMAP, base, PAGE, _PROT_READ, _MAP_SHARED | _MAP_FIXED,
                      fd, 0) != base:
            run.call(_SYS_MUNMAP, base, size)
            base = None
        run.call(_SYS_CLOSE, fd)
        if base is not None:
            mem.poke(base + PAGE, page.image)
            return base + PAGE
        return None
    except TraceeGone:
        gone = True
        raise
    finally:
        if not gone:
            pt.setregs(native, saved)
            for sig in run.signals:
                pt.tgkill(native, native, sig)
