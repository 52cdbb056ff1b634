"""A replacement vDSO: programs read the host's virtual clocks without a ptrace stop.

The machine's vDSO answers clock_gettime, gettimeofday and time in user space from the
machine's clock, so a host once hid it (AT_IGNORE) and trapped every clock read: a
stop each, ~900x a native read, and a Go runtime reads the clock ~40,000 times per
garbage collection. Instead, each program gets a vDSO of the host's own (vdso.c,
compiled here with the system C compiler on first use and cached; never a binary in
git) whose functions read the host's clock page: one file per host (kept for the
process's next host once this one closed, _PagePool), mapped shared into every
program and written by the tracer whenever virtual time moves
(``ClockPage.publish``, the one function the virtual clock calls). Since the tracer
writes only while no program runs, a read returns exactly what the trapped call
would have returned at that point of the schedule, and runs stay deterministic.

At each exec the tracer maps the page and a copy of the image into the new program
(``install``: vdso.c's simproc_map_stub, copied over the program's entry point, runs
openat, two mmaps and close and stops at an int3; the entry's code is put back) and
points AT_SYSINFO_EHDR at the image (getauxval(3)), where glibc (dynamic and static),
musl and Go look for it.
A fork keeps both mappings: the child reads the same shared page.

Time namespaces (kernel/timens.py) need no page of their own: the page holds the root
namespace's clocks, and each process's private copy of the image holds its own
namespace's offsets, which the tracer writes when the process enters a namespace
(``write_offsets``) and the image's clock_gettime adds. One shared page stays the one
thing written when time moves, and a process never reads another namespace's time.

Not in the image, so still trapped: CPU-time clocks (their values are per process
and change with every trapped call), clock_getres, and unknown clock ids.
"""
from __future__ import annotations

import atexit
import ctypes
import functools
import hashlib
import mmap
import os
import secrets
import shutil
import signal as _signal
import struct
import subprocess
import sys
import tempfile
import threading

from . import ptrace_ops as pt

PAGE = 4096
_HERE = os.path.dirname(os.path.abspath(__file__))
_SOURCES = ("vdso.c", "vdso.lds")
_CFLAGS = ["-O2", "-fPIC", "-shared", "-nostdlib", "-fno-stack-protector",
           "-fno-asynchronous-unwind-tables", "-fcf-protection=none", "-Wall", "-Werror",
           "-Wl,--hash-style=both", "-Wl,-soname=linux-vdso.so.1", "-Wl,--no-undefined",
           "-Wl,-z,max-page-size=4096", "-Wl,--build-id=none"]

# the clock page's layout, vdso.c's struct clock_page: seq, pad, now_ns, realtime_ns,
# tai_ns, raw_ns
_PAGE_FMT = "<IIqqqq"



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
    """A host's clock page: a file, mapped shared by the tracer (read-write) and by every
    program of the host (read-only). ``take_page`` gives a host one of the process's
    pool."""

    def __init__(self, directory: str, image_bytes: bytes, name: str = ".clock-page"):
        self.image = image_bytes
        self.stub = _function(image_bytes, "simproc_map_stub")
        self.offsets_at = _symbol(image_bytes, "simproc_timens")[0]
        self.path = os.path.join(directory, name)
        try:  # a data dir used before: its page is read-only to its owner too
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
        try:
            os.ftruncate(fd, PAGE)
            self._map = _SharedPage(fd)
            self._inode = os.fstat(fd).st_ino
        finally:
            os.close(fd)
        self._seq = 0
        self.pool = None        # the _PagePool it came from
        self.unmapped = False   # set by its host once no program of it lives: reusable

    def publish(self, now_ns: int, realtime_ns: int, raw_ns: int | None = None) -> None:
        """Write the virtual clocks' values: ``now_ns`` CLOCK_MONOTONIC's (the time
        since the host's boot, kernel/clock.py VirtualClock), ``realtime_ns`` the
        date, ``raw_ns`` CLOCK_MONOTONIC_RAW's, which the NTP discipline's slew sets
        apart (ClockRate; CLOCK_MONOTONIC's when None); the sequence word is odd
        meanwhile."""
        self._write((8, struct.pack("<qq", now_ns, realtime_ns)),
                    (32, struct.pack("<q", now_ns if raw_ns is None else raw_ns)))

    def publish_tai(self, tai_ns: int) -> None:
        """Write how far CLOCK_TAI runs ahead of CLOCK_REALTIME."""
        self._write((24, struct.pack("<q", tai_ns)))

    def _write(self, *parts: tuple[int, bytes]) -> None:
        m = self._map.buffer
        self._seq += 1
        struct.pack_into("<I", m, 0, self._seq)
        for at, data in parts:
            m[at:at + len(data)] = data
        self._seq += 1
        struct.pack_into("<I", m, 0, self._seq)

    def read(self) -> tuple[int, int]:
        """(now_ns, realtime_ns) as a program would read them."""
        _, _, now, real, _, _ = struct.unpack_from(_PAGE_FMT, self._map.buffer, 0)
        return now, real

    def close(self) -> None:
        """Unmapped; a pool's page goes back to the pool when no program maps it any
        more and its file is still the one mapped, else its file goes."""
        if self.pool is not None and self.unmapped and self.pool.put(self):
            return
        self._map.close()
        if self.pool is not None:
            self.pool.forget(self)

    def _reset(self) -> None:
        """Back as a new file is: every clock zero (the sequence word goes on)."""
        self._map.buffer[4:] = bytes(PAGE - 4)
        self.unmapped = False

    def _same_file(self) -> bool:
        try:
            return os.stat(self.path).st_ino == self._inode
        except OSError:
            return False


class _PagePool:
    """The clock pages of this process's closed hosts, for its next hosts.

    Making a page is a file created, sized, mapped and later unlinked (with the data
    dir it lived in, which a host then had to make even when nothing else went there):
    per drop-in test that starts a program, ~0.3 ms on an idle ext4 /tmp and
    milliseconds on a loaded one. A page goes back only once no program of its host
    lives (nothing maps it), zeroed. The files live where shared memory does (/dev/shm,
    a tmpfs), or in the temporary directory, and go at the process's exit."""

    PREFIX = "simproc-clock-"

    def __init__(self):
        self._lock = threading.Lock()
        self._idle: list[ClockPage] = []
        self._files: set[str] = set()
        self._pid = os.getpid()
        self._directory = None

    def take(self, image_bytes: bytes) -> ClockPage:
        with self._lock:
            while self._idle:
                page = self._idle.pop()
                if page.image == image_bytes:
                    page._reset()
                    return page
                self._discard(page)
            if self._directory is None:
                self._directory = _shared_memory_dir()
                atexit.register(self._remove_files)
                _remove_stale(self._directory, self.PREFIX)
        while True:
            name = f"{self.PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
            try:
                page = ClockPage(self._directory, image_bytes, name)
            except FileExistsError:
                continue
            break
        page.pool = self
        with self._lock:
            self._files.add(page.path)
        return page

    def put(self, page: ClockPage) -> bool:
        if os.getpid() != self._pid or not page._same_file():
            return False
        with self._lock:
            self._idle.append(page)
        return True

    def forget(self, page: ClockPage) -> None:
        with self._lock:
            self._discard(page)

    def _discard(self, page: ClockPage) -> None:
        if page._map.buffer is not None:
            page._map.close()
        self._files.discard(page.path)
        if os.getpid() == self._pid:
            try:
                os.unlink(page.path)
            except OSError:
                pass

    def _remove_files(self) -> None:
        if os.getpid() != self._pid:
            return  # a forked child's exit: the files are its parent's
        for path in list(self._files):
            try:
                os.unlink(path)
            except OSError:
                pass
        self._files.clear()


def _remove_stale(directory: str, prefix: str) -> None:
    """Remove the pages of processes that died without their exit handlers (killed,
    or ended by os._exit): ours (same owner) whose process is gone. A pool keeps its
    pages for its process's life, so such a death leaves one behind."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    me = os.geteuid()
    for name in names:
        pid = name[len(prefix):].partition("-")[0]
        if not name.startswith(prefix) or not pid.isdigit():
            continue
        path = os.path.join(directory, name)
        try:
            if os.stat(path).st_uid != me:
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            try:
                os.unlink(path)
            except OSError:
                pass
        except OSError:
            continue   # alive (EPERM: another user's), or the file went meanwhile


def _shared_memory_dir() -> str:
    """/dev/shm when it is a directory this process may create files in, else the
    temporary directory."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK):
        return "/dev/shm"
    return tempfile.gettempdir()


_POOL = _PagePool()


def take_page(image_bytes: bytes) -> ClockPage:
    """A clock page for a new host, from the process's pool (see _PagePool)."""
    return _POOL.take(image_bytes)


def _new_pool_in_child() -> None:
    global _POOL
    _POOL = _PagePool()   # the parent's pages are the parent's hosts'


os.register_at_fork(after_in_child=_new_pool_in_child)


class _SharedPage:
    """One page of a file mapped shared and writable, holding no descriptor.

    By hand rather than mmap.mmap: before Python 3.13 (``trackfd=False``) an mmap
    object keeps a duplicate of the file's descriptor open while it lives, and in
    drop-in mode that descriptor is the test process's: a test that counts its own
    open files (psutil's ``num_fds()``) would see one more after its first spawn.
    """

    def __init__(self, fd: int):
        if sys.version_info >= (3, 13):
            self._mmap = mmap.mmap(fd, PAGE, mmap.MAP_SHARED,
                                   mmap.PROT_READ | mmap.PROT_WRITE, trackfd=False)
            self.buffer = memoryview(self._mmap)
            return
        self._mmap = None
        addr = _libc_mmap(None, PAGE, mmap.PROT_READ | mmap.PROT_WRITE,
                          mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        self._addr = addr
        self.buffer = memoryview((ctypes.c_char * PAGE).from_address(addr)).cast("B")

    def close(self) -> None:
        if self.buffer is None:
            return
        self.buffer.release()
        self.buffer = None
        if self._mmap is not None:
            self._mmap.close()
        else:
            _libc_munmap(self._addr, PAGE)


_libc = ctypes.CDLL(None, use_errno=True)
_libc_mmap = _libc.mmap
_libc_mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc_mmap.restype = ctypes.c_void_p
_libc_munmap = _libc.munmap
_libc_munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]


class TraceeGone(Exception):
    """The program died while the tracer ran code in it; ``status``: its wait status."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def _function(elf: bytes, name: str) -> bytes:
    """The code of function ``name`` in ``elf`` (its .symtab entry's bytes)."""
    value, length = _symbol(elf, name)
    return elf[value:value + length]  # one segment: offsets are addresses


@functools.lru_cache(maxsize=8)  # the same image for every host of the process
def _symbol(elf: bytes, name: str, table: int = 2) -> tuple[int, int]:
    """(address, size) of symbol ``name`` in ``elf``'s .symtab (``table``: the section
    type, SHT_SYMTAB; 11 for .dynsym)."""
    shoff, = struct.unpack_from("<Q", elf, 40)
    shentsize, shnum = struct.unpack_from("<HH", elf, 58)
    sections = [struct.unpack_from("<IIQQQQII", elf, shoff + i * shentsize)
                for i in range(shnum)]
    for _, sh_type, _, _, offset, size, link, _ in sections:
        if sh_type != table:
            continue
        strings = sections[link][4]
        for at in range(offset, offset + size, 24):
            st_name, _, _, _, value, length = struct.unpack_from("<IBBHQQ", elf, at)
            end = elf.index(b"\0", strings + st_name)
            if elf[strings + st_name:end] == name.encode():
                return value, length
    raise LookupError(name)


def _dynamic_symbol(elf: bytes, name: str) -> tuple[int, int]:
    """(offset from the load address, size) of ``name`` in a loaded shared object's
    .dynsym (the machine's vDSO: stripped of .symtab), ``elf`` its mapped bytes."""
    phoff, = struct.unpack_from("<Q", elf, 32)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    loads = [struct.unpack_from("<IIQQ", elf, phoff + i * phentsize)[3]
             for i in range(phnum)
             if struct.unpack_from("<I", elf, phoff + i * phentsize)[0] == 1]  # PT_LOAD
    value, size = _symbol(elf, name, 11)
    return value - min(loads, default=0), size


def write_offsets(mem, image_at: int, page: ClockPage, monotonic_ns: int,
                  boottime_ns: int) -> bool:
    """Give the program whose vDSO image is at ``image_at`` the offsets of its time
    namespace (vdso.c simproc_timens; the image is the process's own private copy).
    False when its memory could not be written."""
    try:
        mem.poke(image_at + page.offsets_at, struct.pack("<qq", monotonic_ns, boottime_ns))
    except OSError:
        return False
    return True


def install(native: int, mem, page: ClockPage, regs) -> int | None:
    """Map ``page`` and the vDSO image into a program stopped at its exec event
    (``regs``: its registers there); the image's address, or None when it could not
    be mapped (the program then runs without a vDSO). vdso.c's simproc_map_stub runs
    in the program, copied over its entry point, and ends at an int3: one stop (and
    a seccomp stop for each call the filter traps). The program is left stopped with
    its code and registers as execve left them. Raises TraceeGone if it died."""
    entry = regs.rip
    stub = page.stub
    size = PAGE + -(-len(page.image) // PAGE) * PAGE
    path = page.path.encode() + b"\0"
    path_at = (regs.rsp - 512 - len(path)) & ~15  # below the stack pointer: unused
    try:
        code = mem.peek(entry, len(stub))
        mem.poke(path_at, path)
        mem.poke(entry, stub)
    except OSError:
        return None
    call = pt.copy_regs(regs)
    call.rdi, call.rsi = path_at, size
    call.rsp = path_at - 8  # as if called: rsp + 8 aligned to 16
    pt.setregs(native, call)
    signals = []  # real signals that stopped it meanwhile, given back afterwards
    while True:
        pt.cont(native)
        _, status = pt.wait_task(native)
        if os.WIFEXITED(status) or os.WIFSIGNALED(status):
            raise TraceeGone(status)
        sig = os.WSTOPSIG(status)
        if sig == _signal.SIGTRAP and status >> 16 == 0:
            break  # the int3
        if sig != _signal.SIGTRAP:
            signals.append(sig)
        # else a seccomp stop of one of its calls: it runs natively
    base = pt.to_signed(pt.getregs(native).rax)
    mem.poke(entry, code)
    mem.poke(path_at, bytes(len(path)))  # the host's paths must not leak into runs
    regs = pt.copy_regs(regs)
    regs.rax, regs.orig_rax = 0, pt.MASK64  # execve's result; no call to restart
    pt.setregs(native, regs)
    for sig in signals:
        pt.tgkill(native, native, sig)
    if base < 0:
        return None
    mem.poke(base + PAGE, page.image)
    return base + PAGE
