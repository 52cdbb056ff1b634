"""System calls, signals and exits written the way strace 6.x prints them (x86_64).

Everything here is pure formatting: the caller hands in raw register values, a memory
reader and the (virtual) results, and gets back text. Two modes share one code path:

* standard: what ``strace -f`` shows (addresses in hex);
* deterministic (``det``): every address that is not decoded prints as ``<pointer>``,
  struct stat keeps only st_mode and st_size, and nothing else that depends on the
  machine or the run (inode numbers, devices, file times, ASLR) reaches the text.

Tables are built once at import, from the modules that already hold them where they
can be: errno names and messages (errno, os.strerror), signal names (signal), the system
call table (python-ptrace). What strace prints otherwise, or they lack, is kept here with
a comment saying why. Per call, the work is a tuple lookup and one small function per
argument; flag and signal-set strings are memoised.

Reference: strace's own sources (src/*.c, src/xlat/*.in, src/linux/x86_64/
syscallent.h); the layout of each line is that of ``strace -f -o FILE``.
"""
from __future__ import annotations

import errno
import fcntl
import ipaddress
import mmap
import os
import resource
import select
import signal
import socket
import stat
import struct
import termios
import time

import ptrace.binding.func as _ptrace_func
from ptrace.syscall.linux.x86_64 import SYSCALL_NAMES as _PTRACE_SYSCALL_NAMES
from ptrace.syscall.prototypes import SYSCALL_PROTOTYPES

__all__ = [
    "Call", "SPECS", "POINTER", "MAX_STRLEN", "ACOLUMN", "spec_for", "begin_call",
    "finish_call", "result_text", "signal_line", "exit_line", "stopped_line", "quote",
    "signame", "sigset_str", "siginfo_str", "wait_status_str", "errno_text", "aligned",
    "format_line", "SYSCALL_NUMBERS",
]

POINTER = "<pointer>"   # deterministic mode: an address that is not decoded
MAX_STRLEN = 32         # strace -s default
MAX_ELEMENTS = 32       # arrays are cut after this many elements (strace: max_strlen)
PATH_MAX = 4096
ACOLUMN = 40            # strace -a default: the column " = " is aligned to
MASK64 = (1 << 64) - 1
MAX_ERRNO = 4095
SIGCHLD_TIMES = False   # the issue's SIGCHLD example omits si_utime/si_stime

_S_I = struct.Struct("<i")
_S_Q = struct.Struct("<Q")
_S_q = struct.Struct("<q")
_S_qq = struct.Struct("<qq")
_S_QQ = struct.Struct("<QQ")
_S_ii = struct.Struct("<ii")
_S_III = struct.Struct("<iii")

# ---------------------------------------------------------------------------------
# errno: names from the errno module, messages from os.strerror (the libc's, as strace's)
# ---------------------------------------------------------------------------------
# Where errno.errorcode holds one of two aliases for a number, which one it keeps varies
# by Python version and platform; strace's errnoent.h names these.
_ERRNO_ALIASES = {11: "EAGAIN",        # not EWOULDBLOCK
                  35: "EDEADLK",       # not EDEADLOCK (errorcode's pick on 3.10-3.13)
                  95: "EOPNOTSUPP"}    # not ENOTSUP (errorcode's pick on 3.10-3.13)
_ERRNO_KEPT = {133: "EHWPOISON"}       # not in the errno module of 3.10-3.13
# Kernel-internal codes (include/linux/errno.h) that only a tracer sees: errno lacks
# them, strace names them.
_ERRNO_KERNEL = dict(enumerate(
    "ERESTARTSYS ERESTARTNOINTR ERESTARTNOHAND ENOIOCTLCMD ERESTART_RESTARTBLOCK "
    "EPROBE_DEFER EOPENSTALE".split(), 512))
_ERRNO_KERNEL.update(enumerate("EBADHANDLE ENOTSYNC EBADCOOKIE ENOTSUPP ETOOSMALL "
                               "ESERVERFAULT EBADTYPE EJUKEBOX EIOCBQUEUED "
                               "ERECALLCONFLICT".split(), 521))
ERRNO = {n: (name, os.strerror(n)) for n, name in sorted(
    {**{n: name for n, name in errno.errorcode.items() if 0 < n <= MAX_ERRNO},
     **_ERRNO_ALIASES, **_ERRNO_KEPT, **_ERRNO_KERNEL}.items())}
ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK = 512, 513, 514, 516
_RESTART_TEXT = {
    ERESTARTSYS: "? ERESTARTSYS (To be restarted if SA_RESTART is set)",
    ERESTARTNOINTR: "? ERESTARTNOINTR (To be restarted)",
    ERESTARTNOHAND: "? ERESTARTNOHAND (To be restarted if no handler)",
    ERESTART_RESTARTBLOCK: "? ERESTART_RESTARTBLOCK (Interrupted by signal)",
}
_ERR_TEXT = {}
for _n, (_name, _msg) in ERRNO.items():
    _ERR_TEXT[_n] = _RESTART_TEXT.get(_n) or f"-1 {_name} ({_msg})"


def errno_text(err: int) -> str:
    """What follows "= " for a failed call: "-1 ENOENT (No such file or directory)"."""
    text = _ERR_TEXT.get(err)
    return text if text is not None else f"-1 (errno {err})"


# ---------------------------------------------------------------------------------
# x86_64 system calls: numbers and names from python-ptrace's table, argument counts
# from its prototypes; strace's (syscallent.h) where those lack or differ from them
# ---------------------------------------------------------------------------------
_SYSCALLS_KEPT = """
283:timerfd_create:2 335:uretprobe:0 441:epoll_pwait2:6 442:mount_setattr:5
443:quotactl_fd:4 444:landlock_create_ruleset:3 445:landlock_add_rule:4
446:landlock_restrict_self:2 447:memfd_secret:1 448:process_mrelease:2 449:futex_waitv:5
450:set_mempolicy_home_node:4 451:cachestat:4 452:fchmodat2:4 453:map_shadow_stack:3
454:futex_wake:4 455:futex_wait:6 456:futex_requeue:4 457:statmount:4 458:listmount:4
459:lsm_get_self_attr:4 460:lsm_set_self_attr:4 461:lsm_list_modules:3 462:mseal:3
463:setxattrat:6 464:getxattrat:6 465:listxattrat:5 466:removexattrat:4
467:open_tree_attr:5 468:file_getattr:5 469:file_setattr:5 470:listns:4
471:rseq_slice_yield:0
"""   # python-ptrace names 283 "timerfd" and stops at 440 (clone3 is its last)
# Calls python-ptrace has no prototype for, and three whose prototype counts otherwise:
# preadv/pwritev's (pos_l, pos_h) is one offset to strace; membarrier gained cpu_id.
_NARGS_KEPT = dict((n, int(k)) for n, k in (item.split(":") for item in """
rt_sigreturn:0 modify_ldt:3 _sysctl:1 arch_prctl:2 umount2:2 iopl:1 create_module:2
get_kernel_syms:1 query_module:5 nfsservctl:3 getpmsg:5 putpmsg:5 afs_syscall:5 tuxcall:3
security:3 set_thread_area:1 get_thread_area:1 epoll_ctl_old:4 epoll_wait_old:4 vserver:5
preadv:4 pwritev:4 membarrier:3 preadv2:6 pwritev2:6 pkey_mprotect:4 pkey_alloc:2
pkey_free:1 io_pgetevents:6 rseq:4 pidfd_send_signal:4 io_uring_setup:2 io_uring_enter:6
io_uring_register:4 open_tree:3 move_mount:5 fsopen:2 fsconfig:5 fsmount:3 fspick:3
pidfd_open:2 clone3:2 close_range:3 openat2:4 pidfd_getfd:3 faccessat2:4
process_madvise:5""".split()))
# strace's NF flag: calls whose result is never an error (python-ptrace has no such mark)
_NEVER_FAIL = frozenset("getpid umask getuid getgid geteuid getegid getppid getpgrp "
                        "setfsuid setfsgid personality gettid".split())
_KEPT = {int(nr): (name, int(n)) for nr, name, n in
         (item.split(":") for item in _SYSCALLS_KEPT.split())}
SYSCALLS: dict[int, tuple[str, int, bool]] = {}
for _nr in sorted(_PTRACE_SYSCALL_NAMES.keys() | _KEPT.keys()):
    if _nr in _KEPT:
        _name, _n = _KEPT[_nr]
    elif _nr < 512:   # 512 and up are x32's numbers, another ABI
        _name = _PTRACE_SYSCALL_NAMES[_nr]
        _n = _NARGS_KEPT.get(_name)
        if _n is None:
            _n = len(SYSCALL_PROTOTYPES[_name][1])
    else:
        continue
    SYSCALLS[_nr] = (_name, _n, _name in _NEVER_FAIL)
SYSCALL_NUMBERS = {name: nr for nr, (name, _, _) in SYSCALLS.items()}


# ---------------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------------
def i32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


def i64(v: int) -> int:
    v &= MASK64
    return v - (1 << 64) if v & (1 << 63) else v


def hexval(v: int) -> str:
    """C's %#lx: "0" for zero, "0x..." otherwise."""
    return "0x%x" % v if v else "0"


def ptr(c, v: int) -> str:
    """An address strace does not decode (printaddr)."""
    if not v:
        return "NULL"
    return POINTER if c.det else "0x%x" % v


def _addr_like(c, v: int) -> str:
    """An untyped value that may be an address (fallback decoding): hex, but in
    deterministic mode anything at or above 64 KiB (the lowest mappable address)
    is hidden."""
    if c.det and v >= 0x10000:
        return POINTER
    return hexval(v)


def _octal(m: int) -> str:
    """C's %#03o: 000, 0644, 04755."""
    return ("0%o" % m).zfill(3) if m else "000"


def _rlim(v: int) -> str:
    if v == MASK64:
        return "RLIM64_INFINITY"
    if v > 1024 and v % 1024 == 0:
        return "%d*1024" % (v // 1024)
    return str(v)


# ---------------------------------------------------------------------------------
# strings: C escapes, \octal as short as possible unless a digit follows
# ---------------------------------------------------------------------------------
_SAFE = bytes(c for c in range(0x20, 0x7F) if c not in (0x22, 0x5C))
_ESC: list[str] = []
_ESC3: list[str | None] = []
for _c in range(256):
    _named = {0x22: '\\"', 0x5C: "\\\\", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r",
              0x09: "\\t", 0x0B: "\\v"}.get(_c)
    if _named is not None:
        _ESC.append(_named)
        _ESC3.append(None)
    elif 0x20 <= _c < 0x7F:
        _ESC.append(chr(_c))
        _ESC3.append(None)
    else:
        _ESC.append("\\%o" % _c)
        _ESC3.append("\\%03o" % _c)


_SAFE_OR_NAMED = _SAFE + b'"\\\f\n\r\t\v'
_NAMED_TABLE = {ord(k): v for k, v in (('"', '\\"'), ("\\", "\\\\"), ("\f", "\\f"),
                                        ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"),
                                        ("\v", "\\v"))}


def quote(data: bytes) -> str:
    """A byte string as strace quotes it (without truncation)."""
    if not data.translate(None, _SAFE):
        return '"' + data.decode("ascii") + '"'
    if not data.translate(None, _SAFE_OR_NAMED):   # only \n, \t, quotes...: one pass
        return '"' + data.decode("ascii").translate(_NAMED_TABLE) + '"'
    out = ['"']
    esc, esc3 = _ESC, _ESC3
    last = len(data) - 1
    for i, ch in enumerate(data):
        long_form = esc3[ch]
        if long_form is not None and i < last and 0x30 <= data[i + 1] <= 0x37:
            out.append(long_form)
        else:
            out.append(esc[ch])
    out.append('"')
    return "".join(out)


def quote_hex(data: bytes) -> str:
    """QUOTE_FORCE_HEX (getrandom's buffer)."""
    return '"' + "".join("\\x%02x" % ch for ch in data) + '"'


def strn(c, addr: int, length: int, mem) -> str:
    """printstrn: ``length`` bytes at ``addr``, cut at MAX_STRLEN with "..."."""
    if not addr:
        return "NULL"
    if length < 0:
        return ptr(c, addr)
    data = mem.read(addr, min(length, MAX_STRLEN))
    text = quote(data)
    return text + "..." if length > MAX_STRLEN else text


def cstr(c, addr: int, mem) -> str:
    """printstr: a NUL-terminated string cut at MAX_STRLEN."""
    if not addr:
        return "NULL"
    data = mem.read_cstring(addr, MAX_STRLEN + 1)
    if len(data) > MAX_STRLEN:
        return quote(data[:MAX_STRLEN]) + "..."
    return quote(data)


def path(c, addr: int, mem) -> str:
    """printpath: a file name, up to PATH_MAX."""
    if not addr:
        return "NULL"
    data = mem.read_cstring(addr, PATH_MAX)
    if len(data) >= PATH_MAX:
        return quote(data[:PATH_MAX - 1]) + "..."
    return quote(data)


# ---------------------------------------------------------------------------------
# symbolic constants
# ---------------------------------------------------------------------------------
class Flags:
    """printflags: known bits joined with |, leftovers in hex, memoised."""

    __slots__ = ("items", "dflt", "zero", "cache", "comment")

    def __init__(self, items, dflt: str, comment: bool = True):
        self.items = tuple((v, n) for v, n in items if v)
        self.zero = next((n for v, n in items if v == 0), None)
        self.dflt = dflt
        self.comment = comment   # False: sprintflags style, unknown bits bare
        self.cache: dict[int, str] = {}

    def __call__(self, flags: int) -> str:
        text = self.cache.get(flags)
        if text is None:
            text = self._format(flags)
            if len(self.cache) < 4096:
                self.cache[flags] = text
        return text

    def _format(self, flags: int) -> str:
        if not flags:
            return self.zero or "0"
        names = []
        for v, n in self.items:
            if flags & v == v:
                names.append(n)
                flags &= ~v
                if not flags:
                    break
        if names:
            if flags:
                names.append("0x%x" % flags)
            return "|".join(names)
        if not self.comment:
            return "0x%x" % flags
        return "0x%x /* %s */" % (flags, self.dflt)


class XVal:
    """printxval: one name for one value, else hex and a "???" comment."""

    __slots__ = ("names", "dflt")

    def __init__(self, items, dflt: str):
        self.names = {}
        for v, n in items:
            self.names.setdefault(v, n)
        self.dflt = dflt

    def __call__(self, v: int) -> str:
        name = self.names.get(v)
        if name is not None:
            return name
        return "%s /* %s */" % (hexval(v & 0xFFFFFFFF if v < 0 else v), self.dflt)


def _seq(prefix: str, names: str, start: int = 0):
    return [(i, prefix + n) for i, n in enumerate(names.split(), start)]


def _consts(module, names: str, **kept):
    """(value, name) pairs in strace's order (``names``), the values from ``module``;
    ``kept`` holds those it lacks on Python 3.10 or holds otherwise. A name some other
    build of the module lacks is left out (its bit then prints in hex)."""
    items = []
    for name in names.split():
        value = kept[name] if name in kept else getattr(module, name, None)
        if value is not None:
            items.append((int(value), name))
    return items


# Values come from os, mmap, signal, time, resource, fcntl, select, socket, termios, stat
# and python-ptrace where those hold them; the tables built from lists of pairs are the
# constants no module has on 3.10: AT_*, MREMAP_*, MS_*, MCL_*, CLONE_* (os from 3.12),
# SA_*, SS_*, CPUCLOCK_*, TIMER_*, TFD_* (os from 3.13), SIGEV_*, EPOLL_CTL_*, SFD_*, IN_*,
# CLOSE_RANGE_*, PIDFD_*, RENAME_*, FALLOC_FL_*, STATX_*, FUTEX_*, ARCH_*,
# PR_*, SUID_DUMP_*, SECCOMP_*, MEMBARRIER_*, AUDIT_ARCH_*, MNT_*, MLOCK_*.


OPEN_ACCESS = XVal(_consts(os, "O_RDONLY O_WRONLY O_RDWR O_ACCMODE"), "O_???")
OPEN_FLAGS = Flags(_consts(
    os, "O_CREAT O_EXCL O_NOCTTY O_TRUNC O_APPEND O_NONBLOCK O_SYNC __O_SYNC O_DSYNC O_DIRECT "
    "O_LARGEFILE O_NOFOLLOW O_NOATIME O_CLOEXEC O_PATH O_TMPFILE __O_TMPFILE O_DIRECTORY FASYNC",
    __O_SYNC=0o4000000, __O_TMPFILE=0o20000000,   # the kernel's bits under O_SYNC, O_TMPFILE
    O_LARGEFILE=0o100000,                         # os has glibc's 0 (every file is large)
    FASYNC=os.O_ASYNC), "O_???", comment=False)   # strace's name for O_ASYNC
_O_CREAT, _O_TMPFILE = os.O_CREAT, 0o20000000
_open_cache: dict[int, str] = {}


def open_flags_str(flags: int) -> str:
    text = _open_cache.get(flags)
    if text is None:
        access = OPEN_ACCESS.names[flags & 3]
        rest = flags & ~3
        text = access + "|" + OPEN_FLAGS(rest) if rest else access
        if len(_open_cache) < 4096:
            _open_cache[flags] = text
    return text


AT_FLAGS = Flags([(0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"),
                  (0x400, "AT_SYMLINK_FOLLOW"), (0x800, "AT_NO_AUTOMOUNT"),
                  (0x1000, "AT_EMPTY_PATH"), (0x8000, "AT_RECURSIVE")], "AT_???")
FACCESSAT_FLAGS = Flags([(0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_EACCESS"),
                         (0x1000, "AT_EMPTY_PATH")], "AT_???")
ACCESS_MODES = Flags(_consts(os, "F_OK R_OK W_OK X_OK"), "?_OK")
PROT = Flags(_consts(mmap, "PROT_NONE PROT_READ PROT_WRITE PROT_EXEC PROT_SEM PROT_GROWSDOWN "
                           "PROT_GROWSUP",
                     PROT_NONE=0, PROT_SEM=8, PROT_GROWSDOWN=0x01000000,   # mmap lacks these
                     PROT_GROWSUP=0x02000000), "PROT_???")
MAP_TYPE = XVal(_consts(mmap, "MAP_SHARED MAP_PRIVATE MAP_SHARED_VALIDATE MAP_DROPPABLE",
                        MAP_SHARED_VALIDATE=3, MAP_DROPPABLE=8), "MAP_???")   # mmap lacks these
MAP_FLAGS = Flags(_consts(
    mmap, "MAP_FIXED MAP_ANONYMOUS MAP_32BIT MAP_ABOVE4G MAP_NORESERVE MAP_POPULATE MAP_NONBLOCK "
    "MAP_GROWSDOWN MAP_DENYWRITE MAP_EXECUTABLE MAP_LOCKED MAP_STACK MAP_HUGETLB MAP_SYNC "
    "MAP_UNINITIALIZED MAP_FIXED_NOREPLACE",
    # mmap on 3.10 has only MAP_ANONYMOUS, MAP_POPULATE, MAP_DENYWRITE, MAP_EXECUTABLE
    MAP_FIXED=0x10, MAP_32BIT=0x40, MAP_ABOVE4G=0x80, MAP_NORESERVE=0x4000, MAP_NONBLOCK=0x10000,
    MAP_GROWSDOWN=0x100, MAP_LOCKED=0x2000, MAP_STACK=0x20000, MAP_HUGETLB=0x40000,
    MAP_SYNC=0x80000, MAP_UNINITIALIZED=0x4000000, MAP_FIXED_NOREPLACE=0x100000), "MAP_???")
_map_cache: dict[int, str] = {}


def map_flags_str(flags: int) -> str:
    text = _map_cache.get(flags)
    if text is None:
        kind = flags & 0xF
        name = MAP_TYPE.names.get(kind)
        if name is None:    # strace prints the type as hex then the flags
            name, rest = hexval(kind), flags & ~0xF
        else:
            rest = flags & ~0xF
        text = name + "|" + MAP_FLAGS(rest) if rest else name
        if len(_map_cache) < 4096:
            _map_cache[flags] = text
    return text


MREMAP_FLAGS = Flags([(1, "MREMAP_MAYMOVE"), (2, "MREMAP_FIXED"), (4, "MREMAP_DONTUNMAP")],
                     "MREMAP_???")
MSYNC_FLAGS = Flags([(1, "MS_ASYNC"), (2, "MS_INVALIDATE"), (4, "MS_SYNC")], "MS_???")
MADVISE = XVal(_consts(
    mmap, "MADV_NORMAL MADV_RANDOM MADV_SEQUENTIAL MADV_WILLNEED MADV_DONTNEED MADV_FREE "
    "MADV_REMOVE MADV_DONTFORK MADV_DOFORK MADV_MERGEABLE MADV_UNMERGEABLE MADV_HUGEPAGE "
    "MADV_NOHUGEPAGE MADV_DONTDUMP MADV_DODUMP MADV_WIPEONFORK MADV_KEEPONFORK MADV_COLD "
    "MADV_PAGEOUT MADV_POPULATE_READ MADV_POPULATE_WRITE MADV_DONTNEED_LOCKED MADV_COLLAPSE "
    "MADV_HWPOISON MADV_SOFT_OFFLINE",
    MADV_WIPEONFORK=18, MADV_KEEPONFORK=19, MADV_COLD=20,   # mmap lacks these
    MADV_PAGEOUT=21, MADV_POPULATE_READ=22, MADV_POPULATE_WRITE=23, MADV_DONTNEED_LOCKED=24,
    MADV_COLLAPSE=25, MADV_SOFT_OFFLINE=101), "MADV_???")
MLOCKALL = Flags([(1, "MCL_CURRENT"), (2, "MCL_FUTURE"), (4, "MCL_ONFAULT")], "MCL_???")
CLONE_FLAGS = Flags([
    (0x100, "CLONE_VM"), (0x200, "CLONE_FS"), (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"), (0x1000, "CLONE_PIDFD"), (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"), (0x8000, "CLONE_PARENT"), (0x10000, "CLONE_THREAD"),
    (0x20000, "CLONE_NEWNS"), (0x40000, "CLONE_SYSVSEM"), (0x80000, "CLONE_SETTLS"),
    (0x100000, "CLONE_PARENT_SETTID"), (0x200000, "CLONE_CHILD_CLEARTID"),
    (0x800000, "CLONE_UNTRACED"), (0x1000000, "CLONE_CHILD_SETTID"),
    (0x2000000, "CLONE_NEWCGROUP"), (0x4000000, "CLONE_NEWUTS"),
    (0x8000000, "CLONE_NEWIPC"), (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"), (0x40000000, "CLONE_NEWNET"), (0x80000000, "CLONE_IO"),
    # clone3_flags
    (0x80, "CLONE_NEWTIME"), (0x100000000, "CLONE_CLEAR_SIGHAND"),
    (0x200000000, "CLONE_INTO_CGROUP"),
], "CLONE_???")
CLONE_PIDFD, CLONE_SETTLS, CLONE_PARENT_SETTID = 0x1000, 0x80000, 0x100000
CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID = 0x200000, 0x1000000
WAIT_OPTIONS = Flags(_consts(os, "WNOHANG WEXITED WSTOPPED WCONTINUED WNOWAIT __WCLONE __WALL "
                                 "__WNOTHREAD",
                             __WCLONE=0x80000000, __WALL=0x40000000,   # kernel-only, not in os
                             __WNOTHREAD=0x20000000), "W???")
WAITID_TYPES = XVal(_consts(os, "P_ALL P_PID P_PGID P_PIDFD"), "P_???")
SIGPROCMASK_HOW = XVal(_consts(signal, "SIG_BLOCK SIG_UNBLOCK SIG_SETMASK"), "SIG_???")
SA_RESTORER = 0x04000000
SA_FLAGS = Flags([(0x04000000, "SA_RESTORER"), (0x08000000, "SA_ONSTACK"),
                  (0x10000000, "SA_RESTART"), (0x20000000, "SA_INTERRUPT"),
                  (0x40000000, "SA_NODEFER"), (0x80000000, "SA_RESETHAND"),
                  (4, "SA_SIGINFO"), (1, "SA_NOCLDSTOP"), (2, "SA_NOCLDWAIT")], "SA_???")
SS_FLAGS = Flags([(1, "SS_ONSTACK"), (2, "SS_DISABLE"), (1 << 31, "SS_AUTODISARM")], "SS_???")
CLOCKS = XVal(_consts(time, "CLOCK_REALTIME CLOCK_MONOTONIC CLOCK_PROCESS_CPUTIME_ID "
                          "CLOCK_THREAD_CPUTIME_ID CLOCK_MONOTONIC_RAW CLOCK_REALTIME_COARSE "
                          "CLOCK_MONOTONIC_COARSE CLOCK_BOOTTIME CLOCK_REALTIME_ALARM "
                          "CLOCK_BOOTTIME_ALARM CLOCK_SGI_CYCLE CLOCK_TAI",
                          CLOCK_REALTIME_COARSE=5, CLOCK_MONOTONIC_COARSE=6,   # time lacks these
                          CLOCK_REALTIME_ALARM=8, CLOCK_BOOTTIME_ALARM=9, CLOCK_SGI_CYCLE=10),
              "CLOCK_???")
CPUCLOCKS = XVal([(0, "CPUCLOCK_PROF"), (1, "CPUCLOCK_VIRT"), (2, "CPUCLOCK_SCHED")],
                 "CPUCLOCK_???")
TIMER_FLAGS = Flags([(1, "TIMER_ABSTIME")], "TIMER_???")
TFD_TIMER_FLAGS = Flags([(1, "TFD_TIMER_ABSTIME"), (2, "TFD_TIMER_CANCEL_ON_SET")],
                        "TFD_TIMER_???")
TFD_FLAGS = Flags([(0o2000000, "TFD_CLOEXEC"), (0o4000, "TFD_NONBLOCK")], "TFD_???")
ITIMERS = XVal(_consts(signal, "ITIMER_REAL ITIMER_VIRTUAL ITIMER_PROF"), "ITIMER_???")
SIGEV_NOTIFY = XVal([(0, "SIGEV_SIGNAL"), (1, "SIGEV_NONE"), (2, "SIGEV_THREAD"),
                     (4, "SIGEV_THREAD_ID")], "SIGEV_???")
RLIMITS = XVal(_consts(resource, "RLIMIT_CPU RLIMIT_FSIZE RLIMIT_DATA RLIMIT_STACK RLIMIT_CORE "
                            "RLIMIT_RSS RLIMIT_NPROC RLIMIT_NOFILE RLIMIT_MEMLOCK RLIMIT_AS "
                            "RLIMIT_LOCKS RLIMIT_SIGPENDING RLIMIT_MSGQUEUE RLIMIT_NICE "
                            "RLIMIT_RTPRIO RLIMIT_RTTIME",
                            RLIMIT_LOCKS=10), "RLIMIT_???")   # resource lacks RLIMIT_LOCKS
RUSAGE_WHO = XVal(_consts(resource, "RUSAGE_SELF RUSAGE_CHILDREN RUSAGE_THREAD",
                          # resource's -1, as the 32 bits xv() looks up
                          RUSAGE_CHILDREN=resource.RUSAGE_CHILDREN & 0xFFFFFFFF), "RUSAGE_???")
PRIO_WHICH = XVal(_consts(os, "PRIO_PROCESS PRIO_PGRP PRIO_USER"), "PRIO_???")
SCHED_POLICIES = XVal(_consts(os, "SCHED_OTHER SCHED_FIFO SCHED_RR SCHED_BATCH SCHED_IDLE "
                                   "SCHED_DEADLINE", SCHED_DEADLINE=6)   # os lacks it
                      + [(os.SCHED_RESET_ON_FORK, "SCHED_OTHER|SCHED_RESET_ON_FORK")],
                      "SCHED_???")
WHENCE = XVal(_consts(os, "SEEK_SET SEEK_CUR SEEK_END SEEK_DATA SEEK_HOLE"), "SEEK_???")
FCNTL_CMDS = XVal(_consts(
    fcntl, "F_DUPFD F_GETFD F_SETFD F_GETFL F_SETFL F_GETLK F_SETLK F_SETLKW F_SETOWN F_GETOWN "
    "F_SETSIG F_GETSIG F_SETOWN_EX F_GETOWN_EX F_GETOWNER_UIDS F_OFD_GETLK F_OFD_SETLK "
    "F_OFD_SETLKW F_SETLEASE F_GETLEASE F_NOTIFY F_CANCELLK F_DUPFD_CLOEXEC F_SETPIPE_SZ "
    "F_GETPIPE_SZ F_ADD_SEALS F_GET_SEALS",
    F_SETOWN_EX=15, F_GETOWN_EX=16, F_GETOWNER_UIDS=17,   # fcntl lacks these on 3.10
    F_CANCELLK=1029), "F_???")
FD_FLAGS = Flags(_consts(fcntl, "FD_CLOEXEC"), "FD_???")
F_SEALS = Flags(_consts(fcntl, "F_SEAL_SEAL F_SEAL_SHRINK F_SEAL_GROW F_SEAL_WRITE "
                            "F_SEAL_FUTURE_WRITE",
                            F_SEAL_FUTURE_WRITE=16), "F_SEAL_???")   # fcntl has it from 3.13
LOCK_OPS = Flags(_consts(fcntl, "LOCK_SH LOCK_EX LOCK_UN LOCK_NB"), "LOCK_???")
POLL_EVENTS = Flags(_consts(select, "POLLIN POLLPRI POLLOUT POLLERR POLLHUP POLLNVAL POLLRDNORM "
                                 "POLLRDBAND POLLWRNORM POLLWRBAND POLLMSG POLLREMOVE POLLRDHUP",
                                 POLLREMOVE=0x1000), "POLL???")   # select lacks POLLREMOVE
EPOLL_EVENTS = Flags(_consts(
    select, "EPOLLIN EPOLLPRI EPOLLOUT EPOLLERR EPOLLHUP EPOLLNVAL EPOLLRDNORM EPOLLRDBAND "
    "EPOLLWRNORM EPOLLWRBAND EPOLLMSG EPOLLRDHUP EPOLLEXCLUSIVE EPOLLWAKEUP EPOLLONESHOT EPOLLET",
    EPOLLNVAL=0x20, EPOLLWAKEUP=0x20000000), "EPOLL???")   # select lacks these two
EPOLL_CTL = XVal([(1, "EPOLL_CTL_ADD"), (2, "EPOLL_CTL_DEL"), (3, "EPOLL_CTL_MOD")],
                 "EPOLL_CTL_???")
EPOLL_FLAGS = Flags(_consts(select, "EPOLL_CLOEXEC"), "EPOLL_???")
EFD_FLAGS = Flags(_consts(os, "EFD_SEMAPHORE EFD_CLOEXEC EFD_NONBLOCK"), "EFD_???")
SFD_FLAGS = Flags([(0o2000000, "SFD_CLOEXEC"), (0o4000, "SFD_NONBLOCK")], "SFD_???")
IN_INIT_FLAGS = Flags([(0o2000000, "IN_CLOEXEC"), (0o4000, "IN_NONBLOCK")], "IN_???")
MFD_FLAGS = Flags(_consts(os, "MFD_CLOEXEC MFD_ALLOW_SEALING MFD_HUGETLB MFD_NOEXEC_SEAL MFD_EXEC",
                          MFD_NOEXEC_SEAL=8, MFD_EXEC=16), "MFD_???")   # os lacks these two
CLOSE_RANGE_FLAGS = Flags([(2, "CLOSE_RANGE_UNSHARE"), (4, "CLOSE_RANGE_CLOEXEC")],
                          "CLOSE_RANGE_???")
PIDFD_FLAGS = Flags([(0o4000, "PIDFD_NONBLOCK"), (1, "PIDFD_THREAD")], "PIDFD_???")
GRND_FLAGS = Flags(_consts(os, "GRND_NONBLOCK GRND_RANDOM GRND_INSECURE",
                           GRND_INSECURE=4), "GRND_???")   # os lacks GRND_INSECURE
RENAME_FLAGS = Flags([(1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT")],
                     "RENAME_???")
FALLOC_FLAGS = Flags([(1, "FALLOC_FL_KEEP_SIZE"), (2, "FALLOC_FL_PUNCH_HOLE"),
                      (4, "FALLOC_FL_NO_HIDE_STALE"), (8, "FALLOC_FL_COLLAPSE_RANGE"),
                      (16, "FALLOC_FL_ZERO_RANGE"), (32, "FALLOC_FL_INSERT_RANGE"),
                      (64, "FALLOC_FL_UNSHARE_RANGE")], "FALLOC_FL_???")
FADVISE = XVal(_consts(os, "POSIX_FADV_NORMAL POSIX_FADV_RANDOM POSIX_FADV_SEQUENTIAL "
                          "POSIX_FADV_WILLNEED POSIX_FADV_DONTNEED POSIX_FADV_NOREUSE"),
               "POSIX_FADV_???")
STATX_MASK = Flags([(0xFFF, "STATX_ALL"), (0x7FF, "STATX_BASIC_STATS"), (0x1, "STATX_TYPE"),
                    (0x2, "STATX_MODE"), (0x4, "STATX_NLINK"), (0x8, "STATX_UID"),
                    (0x10, "STATX_GID"), (0x20, "STATX_ATIME"), (0x40, "STATX_MTIME"),
                    (0x80, "STATX_CTIME"), (0x100, "STATX_INO"), (0x200, "STATX_SIZE"),
                    (0x400, "STATX_BLOCKS"), (0x800, "STATX_BTIME"), (0x1000, "STATX_MNT_ID"),
                    (0x2000, "STATX_DIOALIGN"), (0x4000, "STATX_MNT_ID_UNIQUE"),
                    (0x8000, "STATX_SUBVOL"), (0x10000, "STATX_WRITE_ATOMIC")], "STATX_???")
STATX_SYNC = XVal([(0, "AT_STATX_SYNC_AS_STAT"), (0x2000, "AT_STATX_FORCE_SYNC"),
                   (0x4000, "AT_STATX_DONT_SYNC"), (0x6000, "AT_STATX_SYNC_TYPE")],
                  "AT_STATX_???")
STATX_ATTRS = Flags([(0x4, "STATX_ATTR_COMPRESSED"), (0x10, "STATX_ATTR_IMMUTABLE"),
                     (0x20, "STATX_ATTR_APPEND"), (0x40, "STATX_ATTR_NODUMP"),
                     (0x800, "STATX_ATTR_ENCRYPTED"), (0x1000, "STATX_ATTR_AUTOMOUNT"),
                     (0x2000, "STATX_ATTR_MOUNT_ROOT"), (0x100000, "STATX_ATTR_VERITY"),
                     (0x200000, "STATX_ATTR_DAX")], "STATX_ATTR_???")
MODE_TYPES = {getattr(stat, n): n for n in
              "S_IFSOCK S_IFLNK S_IFREG S_IFBLK S_IFDIR S_IFCHR S_IFIFO".split()}
_S_IFMT = stat.S_IFMT(0o177777)   # the file type bits
ADDRESS_FAMILIES = XVal(_consts(
    socket, "AF_UNSPEC AF_UNIX AF_INET AF_AX25 AF_IPX AF_APPLETALK AF_NETROM AF_BRIDGE AF_ATMPVC "
    "AF_X25 AF_INET6 AF_ROSE AF_DECnet AF_NETBEUI AF_SECURITY AF_KEY AF_NETLINK AF_PACKET AF_ASH "
    "AF_ECONET AF_ATMSVC AF_RDS AF_SNA AF_IRDA AF_PPPOX AF_WANPIPE AF_LLC AF_IB AF_MPLS AF_CAN "
    "AF_TIPC AF_BLUETOOTH AF_IUCV AF_RXRPC AF_ISDN AF_PHONET AF_IEEE802154 AF_CAIF AF_ALG AF_NFC "
    "AF_VSOCK AF_KCM AF_QIPCRTR AF_SMC AF_XDP AF_MCTP",
    AF_IB=27, AF_MPLS=28, AF_BLUETOOTH=31, AF_IUCV=32, AF_RXRPC=33,   # socket lacks these
    AF_ISDN=34, AF_PHONET=35, AF_IEEE802154=36, AF_CAIF=37, AF_NFC=39, AF_KCM=41, AF_SMC=43,
    AF_XDP=44, AF_MCTP=45), "AF_???")
SOCK_TYPES = XVal(_consts(socket, "SOCK_STREAM SOCK_DGRAM SOCK_RAW SOCK_RDM SOCK_SEQPACKET "
                                "SOCK_DCCP SOCK_PACKET",
                          SOCK_DCCP=6, SOCK_PACKET=10), "SOCK_???")   # not in socket
SOCK_FLAGS = Flags(_consts(socket, "SOCK_CLOEXEC SOCK_NONBLOCK"), "SOCK_???")
INET_PROTOCOLS = XVal(_consts(socket, "IPPROTO_IP IPPROTO_ICMP IPPROTO_IGMP IPPROTO_IPIP "
                                    "IPPROTO_TCP IPPROTO_UDP IPPROTO_IPV6 IPPROTO_GRE "
                                    "IPPROTO_ICMPV6 IPPROTO_SCTP IPPROTO_UDPLITE IPPROTO_RAW "
                                    "IPPROTO_MPTCP"), "IPPROTO_???")
MSG_FLAGS = Flags(_consts(
    socket, "MSG_OOB MSG_PEEK MSG_DONTROUTE MSG_CTRUNC MSG_PROBE MSG_TRUNC MSG_DONTWAIT MSG_EOR "
    "MSG_WAITALL MSG_FIN MSG_SYN MSG_CONFIRM MSG_RST MSG_ERRQUEUE MSG_NOSIGNAL MSG_MORE "
    "MSG_WAITFORONE MSG_BATCH MSG_ZEROCOPY MSG_FASTOPEN MSG_CMSG_CLOEXEC",
    MSG_PROBE=0x10, MSG_FIN=0x200, MSG_SYN=0x400, MSG_RST=0x1000,   # socket lacks these
    MSG_WAITFORONE=0x10000, MSG_BATCH=0x40000, MSG_ZEROCOPY=0x4000000), "MSG_???")
SHUTDOWN_HOW = XVal(_consts(socket, "SHUT_RD SHUT_WR SHUT_RDWR"), "SHUT_???")
SOCKET_LEVELS = XVal(_consts(socket, "SOL_IP SOL_SOCKET SOL_TCP SOL_UDP SOL_IPV6 SOL_ICMPV6 "
                                   "SOL_RAW SOL_PACKET SOL_NETLINK",
                                   SOL_IPV6=41, SOL_ICMPV6=58, SOL_RAW=255,   # not in socket
                                   SOL_PACKET=263, SOL_NETLINK=270), "SOL_???")
SOL_SOCKET_OPTS = XVal(_consts(
    socket, "SO_DEBUG SO_REUSEADDR SO_TYPE SO_ERROR SO_DONTROUTE SO_BROADCAST SO_SNDBUF SO_RCVBUF "
    "SO_KEEPALIVE SO_OOBINLINE SO_NO_CHECK SO_PRIORITY SO_LINGER SO_BSDCOMPAT SO_REUSEPORT "
    "SO_PASSCRED SO_PEERCRED SO_RCVLOWAT SO_SNDLOWAT SO_RCVTIMEO_OLD SO_SNDTIMEO_OLD "
    "SO_SNDBUFFORCE SO_RCVBUFFORCE SO_PROTOCOL SO_DOMAIN",
    SO_NO_CHECK=11, SO_BSDCOMPAT=14, SO_SNDBUFFORCE=32, SO_RCVBUFFORCE=33,   # not in socket
    # strace's names for x86_64's SO_RCVTIMEO, SO_SNDTIMEO
    SO_RCVTIMEO_OLD=socket.SO_RCVTIMEO, SO_SNDTIMEO_OLD=socket.SO_SNDTIMEO),
    "SO_???")
TCP_OPTS = XVal(_consts(socket, "TCP_NODELAY TCP_MAXSEG TCP_CORK TCP_KEEPIDLE TCP_KEEPINTVL "
                              "TCP_KEEPCNT"), "TCP_???")
FUTEX_CMDS = XVal(_seq("FUTEX_", "WAIT WAKE FD REQUEUE CMP_REQUEUE WAKE_OP LOCK_PI "
                       "UNLOCK_PI TRYLOCK_PI WAIT_BITSET WAKE_BITSET WAIT_REQUEUE_PI "
                       "CMP_REQUEUE_PI LOCK_PI2"), "FUTEX_???")
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
ARCH_PRCTL = XVal([(0x1001, "ARCH_SET_GS"), (0x1002, "ARCH_SET_FS"), (0x1003, "ARCH_GET_FS"),
                   (0x1004, "ARCH_GET_GS"), (0x1011, "ARCH_GET_CPUID"),
                   (0x1012, "ARCH_SET_CPUID"), (0x1021, "ARCH_GET_XCOMP_SUPP"),
                   (0x1022, "ARCH_GET_XCOMP_PERM"), (0x1023, "ARCH_REQ_XCOMP_PERM"),
                   (0x2001, "ARCH_MAP_VDSO_X32"), (0x2002, "ARCH_MAP_VDSO_32"),
                   (0x2003, "ARCH_MAP_VDSO_64"), (0x4001, "ARCH_GET_UNTAG_MASK"),
                   (0x4002, "ARCH_ENABLE_TAGGED_ADDR"), (0x4003, "ARCH_GET_MAX_TAG_BITS"),
                   (0x4004, "ARCH_FORCE_TAGGED_SVA"), (0x5001, "ARCH_SHSTK_ENABLE"),
                   (0x5002, "ARCH_SHSTK_DISABLE"), (0x5003, "ARCH_SHSTK_LOCK"),
                   (0x5004, "ARCH_SHSTK_UNLOCK"), (0x5005, "ARCH_SHSTK_STATUS")],
                  "ARCH_???")
PRCTL_OPTIONS = XVal([
    (1, "PR_SET_PDEATHSIG"), (2, "PR_GET_PDEATHSIG"), (3, "PR_GET_DUMPABLE"),
    (4, "PR_SET_DUMPABLE"), (5, "PR_GET_UNALIGN"), (6, "PR_SET_UNALIGN"),
    (7, "PR_GET_KEEPCAPS"), (8, "PR_SET_KEEPCAPS"), (9, "PR_GET_FPEMU"),
    (10, "PR_SET_FPEMU"), (11, "PR_GET_FPEXC"), (12, "PR_SET_FPEXC"), (13, "PR_GET_TIMING"),
    (14, "PR_SET_TIMING"), (15, "PR_SET_NAME"), (16, "PR_GET_NAME"), (19, "PR_GET_ENDIAN"),
    (20, "PR_SET_ENDIAN"), (21, "PR_GET_SECCOMP"), (22, "PR_SET_SECCOMP"),
    (23, "PR_CAPBSET_READ"), (24, "PR_CAPBSET_DROP"), (25, "PR_GET_TSC"),
    (26, "PR_SET_TSC"), (27, "PR_GET_SECUREBITS"), (28, "PR_SET_SECUREBITS"),
    (29, "PR_SET_TIMERSLACK"), (30, "PR_GET_TIMERSLACK"),
    (31, "PR_TASK_PERF_EVENTS_DISABLE"), (32, "PR_TASK_PERF_EVENTS_ENABLE"),
    (33, "PR_MCE_KILL"), (34, "PR_MCE_KILL_GET"), (35, "PR_SET_MM"),
    (36, "PR_SET_CHILD_SUBREAPER"), (37, "PR_GET_CHILD_SUBREAPER"),
    (38, "PR_SET_NO_NEW_PRIVS"), (39, "PR_GET_NO_NEW_PRIVS"), (40, "PR_GET_TID_ADDRESS"),
    (41, "PR_SET_THP_DISABLE"), (42, "PR_GET_THP_DISABLE"), (45, "PR_SET_FP_MODE"),
    (46, "PR_GET_FP_MODE"), (47, "PR_CAP_AMBIENT"), (52, "PR_GET_SPECULATION_CTRL"),
    (53, "PR_SET_SPECULATION_CTRL"), (54, "PR_PAC_RESET_KEYS"),
    (55, "PR_SET_TAGGED_ADDR_CTRL"), (56, "PR_GET_TAGGED_ADDR_CTRL"),
    (57, "PR_SET_IO_FLUSHER"), (58, "PR_GET_IO_FLUSHER"),
    (59, "PR_SET_SYSCALL_USER_DISPATCH"), (62, "PR_SCHED_CORE"), (65, "PR_SET_MDWE"),
    (66, "PR_GET_MDWE"), (67, "PR_SET_MEMORY_MERGE"), (68, "PR_GET_MEMORY_MERGE"),
    (0x41555856, "PR_GET_AUXV"), (0x53564d41, "PR_SET_VMA"), (0x59616d61, "PR_SET_PTRACER"),
], "PR_???")
DUMPABLE = XVal([(0, "SUID_DUMP_DISABLE"), (1, "SUID_DUMP_USER"), (2, "SUID_DUMP_ROOT")],
                "SUID_DUMP_???")
SECCOMP_MODES = XVal([(0, "SECCOMP_MODE_DISABLED"), (1, "SECCOMP_MODE_STRICT"),
                      (2, "SECCOMP_MODE_FILTER")], "SECCOMP_MODE_???")
SECCOMP_OPS = XVal([(0, "SECCOMP_SET_MODE_STRICT"), (1, "SECCOMP_SET_MODE_FILTER"),
                    (2, "SECCOMP_GET_ACTION_AVAIL"), (3, "SECCOMP_GET_NOTIF_SIZES")],
                   "SECCOMP_???")
PTRACE_REQUESTS = XVal(_consts(
    _ptrace_func, "PTRACE_TRACEME PTRACE_PEEKTEXT PTRACE_PEEKDATA PTRACE_PEEKUSER PTRACE_POKETEXT "
    "PTRACE_POKEDATA PTRACE_POKEUSER PTRACE_CONT PTRACE_KILL PTRACE_SINGLESTEP PTRACE_GETREGS "
    "PTRACE_SETREGS PTRACE_ATTACH PTRACE_DETACH PTRACE_SYSCALL PTRACE_SETOPTIONS "
    "PTRACE_GETEVENTMSG PTRACE_GETSIGINFO PTRACE_SETSIGINFO PTRACE_SEIZE PTRACE_INTERRUPT "
    "PTRACE_LISTEN", PTRACE_SEIZE=0x4206, PTRACE_INTERRUPT=0x4207,   # python-ptrace lacks these
    PTRACE_LISTEN=0x4208), "PTRACE_???")
MEMBARRIER_CMDS = XVal([(0, "MEMBARRIER_CMD_QUERY"), (1, "MEMBARRIER_CMD_GLOBAL"),
                        (2, "MEMBARRIER_CMD_GLOBAL_EXPEDITED"),
                        (4, "MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED"),
                        (8, "MEMBARRIER_CMD_PRIVATE_EXPEDITED"),
                        (16, "MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED")],
                       "MEMBARRIER_CMD_???")
IOCTLS = XVal(_consts(
    termios, "TCGETS TCSETS TCSETSW TCSETSF TCSBRK TCXONC TCFLSH TIOCSCTTY TIOCGPGRP TIOCSPGRP "
    "TIOCOUTQ TIOCGWINSZ TIOCSWINSZ FIONREAD FIONBIO TIOCNOTTY TIOCGSID FIONCLEX FIOCLEX FIOASYNC "
    "TIOCGPTN TIOCSPTLCK TCGETS2 TIOCGPTPEER",
    TIOCGSID=0x5429, TIOCGPTN=0x80045430, TIOCSPTLCK=0x40045431,   # termios lacks these
    TCGETS2=0x802C542A, TIOCGPTPEER=0x5441), "_IOC_???")
AUDIT_ARCH = XVal([(0xC000003E, "AUDIT_ARCH_X86_64"), (0x40000003, "AUDIT_ARCH_I386")],
                  "AUDIT_ARCH_???")
XATTR_FLAGS = Flags(_consts(os, "XATTR_CREATE XATTR_REPLACE"), "XATTR_???")
UMOUNT_FLAGS = Flags([(1, "MNT_FORCE"), (2, "MNT_DETACH"), (4, "MNT_EXPIRE"),
                      (8, "UMOUNT_NOFOLLOW")], "MNT_???")
MLOCK2_FLAGS = Flags([(1, "MLOCK_ONFAULT")], "MLOCK_???")
SPLICE_FLAGS = Flags(_consts(os, "SPLICE_F_MOVE SPLICE_F_NONBLOCK SPLICE_F_MORE SPLICE_F_GIFT",
                             SPLICE_F_GIFT=8), "SPLICE_F_???")   # os lacks SPLICE_F_GIFT

# ---------------------------------------------------------------------------------
# signals
# ---------------------------------------------------------------------------------
# signal.Signals up to 31 (where aliases share a number, e.g. SIGIOT, SIGCLD, SIGPOLL,
# the enum keeps the name that sorts first, strace's too); kept: SIGSTKFLT, absent before
# Python 3.11, and 32, the kernel's SIGRTMIN (Python's SIGRTMIN is glibc's, 34).
_SIGNAMES = {16: "SIGSTKFLT", 32: "SIGRTMIN",
             **{s.value: s.name for s in signal.Signals if 0 < s.value < 32}}
SIGNAMES = ["0"] + [_SIGNAMES[n] for n in range(1, 33)]
_MASK_NAMES = [""] + [n[3:] for n in SIGNAMES[1:]] + ["RT_%d" % i for i in range(1, 33)]
SIGCHLD, SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV, SIGIO, SIGSYS = (int(s) for s in (
    signal.SIGCHLD, signal.SIGILL, signal.SIGTRAP, signal.SIGBUS, signal.SIGFPE, signal.SIGSEGV,
    signal.SIGIO, signal.SIGSYS))


def signame(sig: int) -> str:
    """strace's sprintsigname: SIGUSR1, SIGRTMIN, SIGRT_2; other numbers in decimal."""
    if 0 < sig <= 32:
        return SIGNAMES[sig]
    if 32 < sig <= 64:
        return "SIGRT_%d" % (sig - 32)
    return str(sig)


_sigset_cache: dict[tuple[int, int], str] = {}


def sigset_str(mask: int, nbytes: int = 8) -> str:
    """A signal set as strace prints it: [CHLD USR1], or ~[...] when 2/3 are set."""
    key = (mask, nbytes)
    text = _sigset_cache.get(key)
    if text is not None:
        return text
    words = (min(nbytes, 8) + 3) // 4
    bits = words * 32
    m = mask & ((1 << bits) - 1)
    prefix = "["
    if bin(m).count("1") >= bits * 2 // 3:
        m = ~m & ((1 << bits) - 1)
        prefix = "~["
    names = []
    i = 1
    while m:
        if m & 1:
            names.append(_MASK_NAMES[i])
        m >>= 1
        i += 1
    text = prefix + " ".join(names) + "]"
    if len(_sigset_cache) < 4096:
        _sigset_cache[key] = text
    return text


SI_CODES = {0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER",
            -3: "SI_MESGQ", -4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL",
            -7: "SI_DETHREAD", -60: "SI_ASYNCNL"}
SI_SIGNAL_CODES = {
    SIGCHLD: dict(_consts(os, "CLD_EXITED CLD_KILLED CLD_DUMPED CLD_TRAPPED CLD_STOPPED "
                          "CLD_CONTINUED")),
    SIGSEGV: {1: "SEGV_MAPERR", 2: "SEGV_ACCERR", 3: "SEGV_BNDERR", 4: "SEGV_PKUERR",
              10: "SEGV_CPERR"},
    SIGBUS: {1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR", 4: "BUS_MCEERR_AR",
             5: "BUS_MCEERR_AO"},
    SIGILL: {1: "ILL_ILLOPC", 2: "ILL_ILLOPN", 3: "ILL_ILLADR", 4: "ILL_ILLTRP",
             5: "ILL_PRVOPC", 6: "ILL_PRVREG", 7: "ILL_COPROC", 8: "ILL_BADSTK"},
    SIGFPE: {1: "FPE_INTDIV", 2: "FPE_INTOVF", 3: "FPE_FLTDIV", 4: "FPE_FLTOVF",
             5: "FPE_FLTUND", 6: "FPE_FLTRES", 7: "FPE_FLTINV", 8: "FPE_FLTSUB",
             14: "FPE_FLTUNK", 15: "FPE_CONDTRAP"},
    SIGTRAP: {1: "TRAP_BRKPT", 2: "TRAP_TRACE", 3: "TRAP_BRANCH", 4: "TRAP_HWBKPT",
              5: "TRAP_UNK", 6: "TRAP_PERF"},
    SIGIO: {1: "POLL_IN", 2: "POLL_OUT", 3: "POLL_MSG", 4: "POLL_ERR", 5: "POLL_PRI",
            6: "POLL_HUP"},
    SIGSYS: {1: "SYS_SECCOMP", 2: "SYS_USER_DISPATCH"},
}
CLD_EXITED = os.CLD_EXITED


def _sigval(det: bool, value: int, prefix: str) -> str:
    v = value & MASK64
    if det and v >= 0x100000000:
        return "%sint=%s, %sptr=%s" % (prefix, POINTER, prefix, POINTER)
    return "%sint=%d, %sptr=%s" % (prefix, i32(v), prefix, "0x%x" % v if v else "NULL")


def siginfo_str(data: bytes, det: bool = False) -> str:
    """A siginfo_t (x86_64 layout) as strace prints it."""
    if len(data) < 48:
        data = data + bytes(48 - len(data))
    signo, err, code = _S_III.unpack_from(data, 0)
    if not signo:
        return "{}"
    names = SI_CODES.get(code)
    if names is None:
        names = SI_SIGNAL_CODES.get(signo, {}).get(code)
    parts = ["si_signo=" + signame(signo),
             "si_code=" + (names if names is not None else hexval(code & 0xFFFFFFFF))]
    if err:
        parts.append("si_errno=" + ERRNO.get(err, (str(err),))[0])
    pid, uid = _S_ii.unpack_from(data, 16)
    source = "si_pid=%d, si_uid=%d" % (pid, uid & 0xFFFFFFFF)
    value = _S_Q.unpack_from(data, 24)[0]
    if code <= 0:
        if code == 0 or code == -6:
            parts.append(source)
        elif code == -2:
            parts.append("si_timerid=%s, si_overrun=%d" % (hexval(pid & 0xFFFFFFFF), uid))
            parts.append(_sigval(det, value, "si_"))
        elif code == -5:
            parts.append("si_band=%d, si_fd=%d" % (_S_q.unpack_from(data, 16)[0],
                                                   _S_I.unpack_from(data, 24)[0]))
        else:
            parts.append(source)
            if value:
                parts.append(_sigval(det, value, "si_"))
    elif signo == SIGCHLD:
        status = _S_I.unpack_from(data, 24)[0]
        parts.append(source)
        parts.append("si_status=" + (str(status) if code == CLD_EXITED else signame(status)))
        if SIGCHLD_TIMES:
            utime, stime = _S_qq.unpack_from(data, 32)
            parts.append("si_utime=%d, si_stime=%d" % (utime, stime))
    elif signo in (SIGILL, SIGFPE, SIGBUS, SIGSEGV, SIGTRAP):
        addr = _S_Q.unpack_from(data, 16)[0]
        parts.append("si_addr=" + (("NULL" if not addr else POINTER) if det
                                   else ("0x%x" % addr if addr else "NULL")))
    elif signo == SIGIO:
        if 1 <= code <= 6:
            parts.append("si_band=%d, si_fd=%d" % (_S_q.unpack_from(data, 16)[0],
                                                   _S_I.unpack_from(data, 24)[0]))
    elif signo == SIGSYS:
        addr = _S_Q.unpack_from(data, 16)[0]
        nr, arch = struct.unpack_from("<iI", data, 24)
        entry = SYSCALLS.get(nr)
        parts.append("si_call_addr=%s, si_syscall=%s, si_arch=%s" % (
            ("NULL" if not addr else POINTER) if det else ("0x%x" % addr if addr else "NULL"),
            "__NR_" + entry[0] if entry else str(nr), AUDIT_ARCH(arch)))
    else:
        if pid or uid:
            parts.append(source)
        if value:
            parts.append(_sigval(det, value, "si_"))
    return "{" + ", ".join(parts) + "}"


PTRACE_EVENTS = {v: n for v, n in _consts(
    _ptrace_func, "PTRACE_EVENT_FORK PTRACE_EVENT_VFORK PTRACE_EVENT_CLONE PTRACE_EVENT_EXEC "
    "PTRACE_EVENT_VFORK_DONE PTRACE_EVENT_EXIT PTRACE_EVENT_SECCOMP PTRACE_EVENT_STOP",
    PTRACE_EVENT_SECCOMP=7, PTRACE_EVENT_STOP=128)}   # python-ptrace lacks these two


def wait_status_str(status: int) -> str:
    """print_wait_status: [{WIFEXITED(s) && WEXITSTATUS(s) == 3}]."""
    status &= 0xFFFFFFFF
    low7 = status & 0x7F
    if status & 0xFF == 0x7F:
        sig = (status >> 8) & 0xFF
        text = "{WIFSTOPPED(s) && WSTOPSIG(s) == %s%s}" % (
            signame(sig & 0x7F), " | 0x80" if sig & 0x80 else "")
        status &= ~((sig << 8) | 0x7F)
    elif low7 and low7 != 0x7F:
        text = "{WIFSIGNALED(s) && WTERMSIG(s) == %s%s}" % (
            signame(low7), " && WCOREDUMP(s)" if status & 0x80 else "")
        status &= ~(low7 | 0x80)
    elif not low7:
        code = (status >> 8) & 0xFF
        text = "{WIFEXITED(s) && WEXITSTATUS(s) == %d}" % code
        status &= ~(code << 8)
    elif status == 0xFFFF:
        text, status = "{WIFCONTINUED(s)}", 0
    else:
        return "[0x%x]" % status
    if status:
        event = status >> 16
        if event:
            text += "|%s<<16" % PTRACE_EVENTS.get(event, "0x%x /* PTRACE_EVENT_??? */" % event)
            status &= 0xFFFF
        if status:
            text += "|0x%x" % status
    return "[" + text + "]"


# ---------------------------------------------------------------------------------
# structures
# ---------------------------------------------------------------------------------
def timespec_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    sec, nsec = _S_qq.unpack(mem.read(addr, 16))
    return "{tv_sec=%d, tv_nsec=%d}" % (sec, nsec)


def timeval_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    sec, usec = _S_qq.unpack(mem.read(addr, 16))
    return "{tv_sec=%d, tv_usec=%d}" % (sec, usec)


def itimerval_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    a, b, d, e = struct.unpack("<qqqq", mem.read(addr, 32))
    return ("{it_interval={tv_sec=%d, tv_usec=%d}, it_value={tv_sec=%d, tv_usec=%d}}"
            % (a, b, d, e))


def itimerspec_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    a, b, d, e = struct.unpack("<qqqq", mem.read(addr, 32))
    return ("{it_interval={tv_sec=%d, tv_nsec=%d}, it_value={tv_sec=%d, tv_nsec=%d}}"
            % (a, b, d, e))


def rlimit_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    cur, mx = _S_QQ.unpack(mem.read(addr, 16))
    return "{rlim_cur=%s, rlim_max=%s}" % (_rlim(cur), _rlim(mx))


def rusage_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    a, b, d, e = struct.unpack("<qqqq", mem.read(addr, 32))
    return ("{ru_utime={tv_sec=%d, tv_usec=%d}, ru_stime={tv_sec=%d, tv_usec=%d}, ...}"
            % (a, b, d, e))


def symbolic_mode(mode: int) -> str:
    kind = MODE_TYPES.get(mode & _S_IFMT) if mode & _S_IFMT else ""
    if kind is None:
        return _octal(mode)
    return "%s%s%s%s%s%s" % (kind, "|" if kind else "",
                             "S_ISUID|" if mode & stat.S_ISUID else "",
                             "S_ISGID|" if mode & stat.S_ISGID else "",
                             "S_ISVTX|" if mode & stat.S_ISVTX else "", _octal(mode & 0o777))


def _makedev(dev: int) -> str:
    major = ((dev >> 8) & 0xFFF) | ((dev >> 32) & ~0xFFF)
    minor = (dev & 0xFF) | ((dev >> 12) & ~0xFF)
    return "makedev(%s, %s)" % (hexval(major), hexval(minor))


def stat_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    data = mem.read(addr, 56)
    mode = struct.unpack_from("<I", data, 24)[0]
    rdev, size = struct.unpack_from("<Qq", data, 40)
    if not c.det and (mode & _S_IFMT) in (stat.S_IFCHR, stat.S_IFBLK):
        return "{st_mode=%s, st_rdev=%s, ...}" % (symbolic_mode(mode), _makedev(rdev))
    return "{st_mode=%s, st_size=%d, ...}" % (symbolic_mode(mode), size)


def statx_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    data = mem.read(addr, 48)
    mask = struct.unpack_from("<I", data, 0)[0]
    attrs = struct.unpack_from("<Q", data, 8)[0]
    mode = struct.unpack_from("<H", data, 28)[0]
    size = struct.unpack_from("<Q", data, 40)[0]
    if c.det:
        return "{stx_mode=%s, stx_size=%d, ...}" % (symbolic_mode(mode), size)
    return ("{stx_mask=%s, stx_attributes=%s, stx_mode=%s, stx_size=%d, ...}"
            % (STATX_MASK(mask), STATX_ATTRS(attrs), symbolic_mode(mode), size))


def statfs_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    data = mem.read(addr, 120)
    ftype, bsize, blocks, bfree, bavail, files, ffree = struct.unpack_from("<qqQQQQQ", data, 0)
    if c.det:
        return "{f_type=0x%x, f_bsize=%d, ...}" % (ftype, bsize)
    return ("{f_type=0x%x, f_bsize=%d, f_blocks=%d, f_bfree=%d, f_bavail=%d, f_files=%d, "
            "f_ffree=%d, ...}" % (ftype, bsize, blocks, bfree, bavail, files, ffree))


def utsname_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    data = mem.read(addr, 130)
    sysname = data[:65].split(b"\0", 1)[0]
    nodename = data[65:130].split(b"\0", 1)[0]
    return "{sysname=%s, nodename=%s, ...}" % (quote(sysname), quote(nodename))


def sigaction_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    handler, flags, restorer, mask = struct.unpack("<QQQQ", mem.read(addr, 32))
    if handler == 0:
        h = "SIG_DFL"
    elif handler == 1:
        h = "SIG_IGN"
    elif handler == MASK64:
        h = "SIG_ERR"
    else:
        h = POINTER if c.det else "0x%x" % handler
    text = "{sa_handler=%s, sa_mask=%s, sa_flags=%s" % (h, sigset_str(mask), SA_FLAGS(flags))
    if flags & SA_RESTORER:
        text += ", sa_restorer=" + ptr(c, restorer)
    return text + "}"


def stack_t_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    sp, flags, size = struct.unpack("<Qi4xQ", mem.read(addr, 24))
    return "{ss_sp=%s, ss_flags=%s, ss_size=%d}" % (ptr(c, sp), SS_FLAGS(flags & 0xFFFFFFFF),
                                                    size)


def sigevent_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    data = mem.read(addr, 32)
    value = _S_Q.unpack_from(data, 0)[0]
    signo, notify = _S_ii.unpack_from(data, 8)
    text = "{sigev_value={%s}, sigev_signo=%s, sigev_notify=%s" % (
        _sigval(c.det, value, "sival_"), signame(signo), SIGEV_NOTIFY(notify))
    if notify == 4:
        text += ", sigev_notify_thread_id=%d" % _S_I.unpack_from(data, 16)[0]
    elif notify == 2:
        func, attrs = _S_QQ.unpack_from(data, 16)
        text += ", sigev_notify_function=%s, sigev_notify_attributes=%s" % (
            ptr(c, func), ptr(c, attrs))
    return text + "}"


def tms_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    return ("{tms_utime=%d, tms_stime=%d, tms_cutime=%d, tms_cstime=%d}"
            % struct.unpack("<qqqq", mem.read(addr, 32)))


def timezone_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    return "{tz_minuteswest=%d, tz_dsttime=%d}" % _S_ii.unpack(mem.read(addr, 8))


def sysinfo_at(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    if c.det:   # every field describes the real machine
        return "{...}"
    data = mem.read(addr, 112)
    up, l1, l2, l3, tram, fram, sram, bram, tswap, fswap = struct.unpack_from("<q9Q", data, 0)
    procs = struct.unpack_from("<H", data, 80)[0]
    thigh, fhigh = _S_QQ.unpack_from(data, 88)
    unit = struct.unpack_from("<I", data, 104)[0]
    return ("{uptime=%d, loads=[%d, %d, %d], totalram=%d, freeram=%d, sharedram=%d, "
            "bufferram=%d, totalswap=%d, freeswap=%d, procs=%d, totalhigh=%d, freehigh=%d, "
            "mem_unit=%d}" % (up, l1, l2, l3, tram, fram, sram, bram, tswap, fswap, procs,
                              thigh, fhigh, unit))


def sockaddr_str(c, addr: int, length: int, mem) -> str:
    if not addr:
        return "NULL"
    if length <= 0:
        return ptr(c, addr)
    data = mem.read(addr, min(length, 128))
    if len(data) < 2:
        return ptr(c, addr)
    family = struct.unpack_from("<H", data, 0)[0]
    fam = "sa_family=" + ADDRESS_FAMILIES(family)
    if family == 1:
        sun = data[2:]
        if sun[:1] == b"\0" and len(sun) > 1:
            return "{%s, sun_path=@%s}" % (fam, quote(sun[1:].split(b"\0", 1)[0]))
        if not sun:
            return "{%s}" % fam
        return "{%s, sun_path=%s}" % (fam, quote(sun.split(b"\0", 1)[0]))
    if family == 2 and len(data) >= 8:
        port = struct.unpack_from(">H", data, 2)[0]
        return '{%s, sin_port=htons(%d), sin_addr=inet_addr("%d.%d.%d.%d")}' % (
            fam, port, *data[4:8])
    if family == 10 and len(data) >= 28:
        port, flow = struct.unpack_from(">HI", data, 2)
        scope = struct.unpack_from("<I", data, 24)[0]
        return ('{%s, sin6_port=htons(%d), sin6_flowinfo=htonl(%d), inet_pton(AF_INET6, "%s", '
                '&sin6_addr), sin6_scope_id=%d}' % (fam, port, flow,
                                                    ipaddress.IPv6Address(data[8:24]), scope))
    if family == 16 and len(data) >= 12:
        pid, groups = struct.unpack_from("<II", data, 4)
        return "{%s, nl_pid=%d, nl_groups=%08x}" % (fam, pid, groups)
    return "{%s, sa_data=%s}" % (fam, quote(data[2:]))


def iovec_str(c, addr: int, count: int, mem, data_size: int = -1) -> str:
    """An iovec array; ``data_size`` bounds the bytes shown (readv: the result)."""
    if not addr:
        return "NULL"
    if count <= 0:
        return "[]"
    n = min(count, MAX_ELEMENTS)
    raw = mem.read(addr, 16 * n)
    out = []
    for i in range(n):
        base, length = _S_QQ.unpack_from(raw, 16 * i)
        if data_size >= 0:
            shown = min(length, data_size)
            data_size -= shown
        else:
            shown = length
        out.append("{iov_base=%s, iov_len=%d}" % (strn(c, base, shown, mem) if base else
                                                  "NULL", length))
    if count > n:
        out.append("...")
    return "[" + ", ".join(out) + "]"


def msghdr_str(c, addr: int, mem, data_size: int = -1) -> str:
    if not addr:
        return "NULL"
    name, namelen, iov, iovlen, control, controllen, flags = struct.unpack(
        "<QI4xQQQQi4x", mem.read(addr, 56))
    parts = ["msg_name=" + (sockaddr_str(c, name, namelen, mem) if name else "NULL"),
             "msg_namelen=%d" % namelen,
             "msg_iov=" + iovec_str(c, iov, iovlen, mem, data_size),
             "msg_iovlen=%d" % iovlen]
    if controllen:
        parts.append("msg_control=" + ptr(c, control))
    parts.append("msg_controllen=%d" % controllen)
    parts.append("msg_flags=" + MSG_FLAGS(flags & 0xFFFFFFFF))
    return "{" + ", ".join(parts) + "}"


def pollfds_str(c, addr: int, count: int, mem, revents: bool) -> str:
    if not addr:
        return "NULL"
    n = min(count, MAX_ELEMENTS)
    raw = mem.read(addr, 8 * n)
    out = []
    for i in range(n):
        fd, events, rev = struct.unpack_from("<ihh", raw, 8 * i)
        if revents:
            if rev:
                out.append("{fd=%d, revents=%s}" % (fd, POLL_EVENTS(rev & 0xFFFF)))
        else:
            out.append("{fd=%d, events=%s}" % (fd, POLL_EVENTS(events & 0xFFFF)))
    if count > n and not revents:
        out.append("...")
    return "[" + ", ".join(out) + "]"


SEM_FLAGS = Flags(((0o4000, "IPC_NOWAIT"), (0o10000, "SEM_UNDO")), "???")


def SEMBUFS_IN(c, v, mem):
    """semop(2)'s array of struct sembuf (sem_num, sem_op, sem_flg), nsops long."""
    if not v:
        return "NULL"
    count = c.args[2] & 0xFFFFFFFF
    n = min(count, MAX_ELEMENTS)
    raw = mem.read(v, 6 * n)
    out = ["{sem_num=%d, sem_op=%d, sem_flg=%s}" % (num, op, SEM_FLAGS(flg & 0xFFFF))
           for num, op, flg in struct.iter_unpack("<Hhh", raw)]
    if count > n:
        out.append("...")
    return "[" + ", ".join(out) + "]"


def epoll_event_str(c, raw: bytes, off: int) -> str:
    events, data = struct.unpack_from("<IQ", raw, off)
    if c.det and data >= 0x100000000:
        d = "{u32=%s, u64=%s}" % (POINTER, POINTER)
    else:
        d = "{u32=%d, u64=%d}" % (data & 0xFFFFFFFF, data)
    return "{events=%s, data=%s}" % (EPOLL_EVENTS(events), d)


def fdset_str(c, addr: int, nfds: int, mem) -> str:
    if not addr:
        return "NULL"
    if nfds <= 0:
        return "[]"
    size = (((nfds + 7) // 8) + 7) & ~7
    bits = int.from_bytes(mem.read(addr, size), "little")
    fds = [str(i) for i in range(nfds) if bits >> i & 1]
    return "[" + " ".join(fds) + "]"


def cpumask_str(c, addr: int, size: int, mem) -> str:
    if not addr:
        return "NULL"
    bits = int.from_bytes(mem.read(addr, min(size, 1024)), "little")
    cpus = []
    i = 0
    while bits:
        if bits & 1:
            cpus.append(str(i))
        bits >>= 1
        i += 1
    return "[" + " ".join(cpus) + "]"


def _pointer_words(mem, addr: int, limit: int):
    """The 8-byte words of a NULL-terminated pointer array, read in chunks (one
    pread per 64 words); yields None where memory ends."""
    n = 0
    while n < limit:
        try:
            chunk = mem.read(addr + 8 * n, 512)
        except OSError:
            try:   # near the end of a mapping: word by word
                chunk = mem.read(addr + 8 * n, 8)
            except OSError:
                yield None
                return
        for (word,) in struct.iter_unpack("<Q", chunk):
            yield word
            if not word:
                return
            n += 1


def argv_str(c, addr: int, mem) -> str:
    if not addr:
        return "NULL"
    out = []
    for n, word in enumerate(_pointer_words(mem, addr, MAX_ELEMENTS + 1)):
        if word is None:
            if n == 0:
                return ptr(c, addr)
            out.append("...")
            break
        if not word:
            break
        if n >= MAX_ELEMENTS:
            out.append("...")
            break
        try:
            out.append(cstr(c, word, mem))
        except OSError:
            out.append(ptr(c, word))
    return "[" + ", ".join(out) + "]"


def envp_str(c, addr: int, mem) -> str:
    """printargc: the address and a count, "0x7ffd... /* 20 vars */"."""
    if not addr:
        return "NULL"
    n = 0
    for word in _pointer_words(mem, addr, 1 << 16):
        if word is None:
            if n == 0:
                return ptr(c, addr)
            break
        if not word:
            break
        n += 1
    return "%s /* %d var%s */" % (ptr(c, addr), n, "" if n == 1 else "s")


def int_at(c, addr: int, mem, unsigned: bool = False) -> str:
    if not addr:
        return "NULL"
    v = _S_I.unpack(mem.read(addr, 4))[0]
    return "[%d]" % (v & 0xFFFFFFFF if unsigned else v)


# ---------------------------------------------------------------------------------
# argument decoders: f(call, raw_value, mem) -> str (None leaves the argument out)
# ---------------------------------------------------------------------------------
def D(c, v, mem):
    return str(i32(v))


def LD(c, v, mem):
    return str(i64(v))


def U(c, v, mem):
    return str(v)


def UI(c, v, mem):
    return str(v & 0xFFFFFFFF)


def X(c, v, mem):
    return hexval(v)


def XI(c, v, mem):
    return hexval(v & 0xFFFFFFFF)


def XA(c, v, mem):
    """An untyped word (fallback): hex, hidden in deterministic mode when large."""
    return _addr_like(c, v)


FD = D
PID = D


def UID(c, v, mem):
    v &= 0xFFFFFFFF
    return "-1" if v == 0xFFFFFFFF else str(v)


def DIRFD(c, v, mem):
    v = i32(v)
    return "AT_FDCWD" if v == -100 else str(v)


def PTR(c, v, mem):
    return ptr(c, v)


def PATH(c, v, mem):
    return path(c, v, mem)


def STR(c, v, mem):
    return cstr(c, v, mem)


def SIG(c, v, mem):
    return signame(i32(v))


def MODE(c, v, mem):
    return _octal(v & 0xFFFFFFFF)


def SMODE(c, v, mem):
    return symbolic_mode(v & 0xFFFFFFFF)


def OFLAGS(c, v, mem):
    return open_flags_str(v & 0xFFFFFFFF)


def fl(table, width=32):
    mask = (1 << width) - 1

    def dec(c, v, mem):
        return table(v & mask)
    dec.memory_free = True
    return dec


def xv(table):
    def dec(c, v, mem):
        return table(v & 0xFFFFFFFF)
    dec.memory_free = True
    return dec


def CLOCKID(c, v, mem):
    clk = i32(v)
    if clk >= 0:
        return CLOCKS(clk)
    if clk & 7 == 3:
        return "FD_TO_CLOCKID(%d)" % ((~clk) >> 3)
    return "%s(%d, %s)" % ("MAKE_THREAD_CPUCLOCK" if clk & 4 else "MAKE_PROCESS_CPUCLOCK",
                           ~clk >> 3, CPUCLOCKS(clk & 3))


# Decoders that never read the tracee's memory: a call decoded only by them (and by
# results of the same kind) prints the same text from its registers alone, whenever
# it is formatted (record.py formats such calls only when the log is read).
for _dec in (D, LD, U, UI, X, XI, XA, UID, DIRFD, PTR, SIG, MODE, SMODE, OFLAGS, CLOCKID):
    _dec.memory_free = True


def buf_arg(index):
    """An input buffer whose length is argument ``index`` (write)."""
    def dec(c, v, mem):
        return strn(c, v, c.args[index], mem)
    return dec


def BUF_RESULT(c, v, mem):
    """An output buffer filled up to the result (read)."""
    return strn(c, v, c.result, mem)


def HEXBUF_RESULT(c, v, mem):
    if not v:
        return "NULL"
    n = c.result
    data = mem.read(v, min(n, MAX_STRLEN))
    return quote_hex(data) + ("..." if n > MAX_STRLEN else "")


def timespec_arg(c, v, mem):
    return timespec_at(c, v, mem)


def timeval_arg(c, v, mem):
    return timeval_at(c, v, mem)


def sigset_arg(size_index):
    def dec(c, v, mem):
        if not v:
            return "NULL"
        size = c.args[size_index]
        if size < 4 or size > 8:
            return ptr(c, v)
        return sigset_str(int.from_bytes(mem.read(v, size), "little"), size)
    return dec


def STAT(c, v, mem):
    return stat_at(c, v, mem)


def RLIMIT(c, v, mem):
    return rlimit_at(c, v, mem)


def RUSAGE(c, v, mem):
    return rusage_at(c, v, mem)


def SIGINFO(c, v, mem):
    if not v:
        return "NULL"
    return siginfo_str(mem.read(v, 48), c.det)


def INT_PTR(c, v, mem):
    return int_at(c, v, mem)


def UINT_PTR(c, v, mem):
    return int_at(c, v, mem, unsigned=True)


def LONG_PTR(c, v, mem):
    if not v:
        return "NULL"
    return "[%d]" % _S_q.unpack(mem.read(v, 8))[0]


def PTR_PTR(c, v, mem):
    if not v:
        return "NULL"
    return "[%s]" % ptr(c, _S_Q.unpack(mem.read(v, 8))[0])


def INT_PAIR(c, v, mem):
    if not v:
        return "NULL"
    return "[%d, %d]" % _S_ii.unpack(mem.read(v, 8))


def mode_if_create(flags_index):
    def dec(c, v, mem):
        if c.args[flags_index] & (_O_CREAT | _O_TMPFILE):
            return _octal(v & 0xFFFFFFFF)
        return None
    return dec


def ARGV(c, v, mem):
    return argv_str(c, v, mem)


def ENVP(c, v, mem):
    return envp_str(c, v, mem)


def iov_arg(count_index, result_bounded=False):
    def dec(c, v, mem):
        return iovec_str(c, v, i32(c.args[count_index]), mem,
                         c.result if result_bounded else -1)
    return dec


def sockaddr_arg(len_index):
    def dec(c, v, mem):
        return sockaddr_str(c, v, i32(c.args[len_index]), mem)
    return dec


def sockaddr_out(lenptr_index):
    def dec(c, v, mem):
        if not v:
            return "NULL"
        lp = c.args[lenptr_index]
        length = _S_I.unpack(mem.read(lp, 4))[0] if lp else 0
        return sockaddr_str(c, v, length, mem)
    return dec


def socklen_inout(c, v, mem):
    """An in/out socklen_t: [110 => 2] when the kernel changed it."""
    if not v:
        return "NULL"
    out = _S_I.unpack(mem.read(v, 4))[0]
    before = (c.extra or {}).get(("len", v))
    if before is not None and before != out:
        return "[%d => %d]" % (before, out)
    return "[%d]" % out


def _remember_socklen(c, v, mem):
    if v:
        try:
            if c.extra is None:
                c.extra = {}
            c.extra[("len", v)] = _S_I.unpack(mem.read(v, 4))[0]
        except OSError:
            pass


def MSGHDR_IN(c, v, mem):
    return msghdr_str(c, v, mem)


def MSGHDR_OUT(c, v, mem):
    return msghdr_str(c, v, mem, c.result)


def WAIT_STATUS(c, v, mem):
    if c.result == 0 or not v:
        return ptr(c, v)
    return wait_status_str(_S_I.unpack(mem.read(v, 4))[0])


def WAIT_RUSAGE(c, v, mem):
    if c.result <= 0:
        return ptr(c, v)
    return rusage_at(c, v, mem)


def NANOSLEEP_REM(c, v, mem):
    if -c.result in _RESTART_TEXT:
        return timespec_at(c, v, mem)
    return ptr(c, v)


def CLOCK_NANOSLEEP_REM(c, v, mem):
    if not c.args[1] and -c.result in _RESTART_TEXT:
        return timespec_at(c, v, mem)
    return ptr(c, v)


def POLLFDS_IN(c, v, mem):
    return pollfds_str(c, v, c.args[1] & 0xFFFFFFFF, mem, False)


def fdset_arg(c, v, mem):
    return fdset_str(c, v, i32(c.args[0]), mem)


def PSELECT_SIGMASK(c, v, mem):
    if not v:
        return "NULL"
    sset, size = _S_QQ.unpack(mem.read(v, 16))
    if sset and 4 <= size <= 8:
        mask = sigset_str(int.from_bytes(mem.read(sset, size), "little"), size)
    else:
        mask = ptr(c, sset)
    return "{sigmask=%s, sigsetsize=%d}" % (mask, size)


def EPOLL_EVENT_IN(c, v, mem):
    if not v:
        return "NULL"
    return epoll_event_str(c, mem.read(v, 12), 0)


def EPOLL_EVENTS_OUT(c, v, mem):
    if not v:
        return "NULL"
    n = c.result
    shown = min(n, MAX_ELEMENTS)
    raw = mem.read(v, 12 * shown) if shown else b""
    out = [epoll_event_str(c, raw, 12 * i) for i in range(shown)]
    if n > shown:
        out.append("...")
    return "[" + ", ".join(out) + "]"


def CPUMASK_OUT(c, v, mem):
    return cpumask_str(c, v, c.result, mem)


def cpumask_in(size_index):
    def dec(c, v, mem):
        return cpumask_str(c, v, c.args[size_index], mem)
    return dec


def GETCWD_BUF(c, v, mem):
    if not v:
        return "NULL"
    n = c.result
    if n <= 0:
        return ptr(c, v)
    return quote(mem.read(v, n).rstrip(b"\0"))


def readlink_buf(c, v, mem):
    return strn(c, v, c.result, mem)


def GETDENTS(c, v, mem):
    """Non-verbose strace: the address and the number of entries."""
    if not v:
        return "NULL"
    n, off, total = 0, 0, c.result
    if total > 0:
        raw = mem.read(v, total)
        while off + 18 <= total:
            reclen = struct.unpack_from("<H", raw, off + 16)[0]
            if reclen <= 0:
                break
            n += 1
            off += reclen
    return "%s /* %d entr%s */" % (ptr(c, v), n, "y" if n == 1 else "ies")


def TIME_T_PTR(c, v, mem):
    if not v:
        return "NULL"
    return "[%d]" % _S_q.unpack(mem.read(v, 8))[0]


def UTIMENS(c, v, mem):
    if not v:
        return "NULL"
    a, b, d, e = struct.unpack("<qqqq", mem.read(v, 32))

    def one(sec, nsec):
        if nsec == (1 << 30) - 1:
            return "UTIME_NOW"
        if nsec == (1 << 30) - 2:
            return "UTIME_OMIT"
        return "{tv_sec=%d, tv_nsec=%d}" % (sec, nsec)
    return "[%s, %s]" % (one(a, b), one(d, e))


def TIMEVAL_PAIR(c, v, mem):
    if not v:
        return "NULL"
    return "[{tv_sec=%d, tv_usec=%d}, {tv_sec=%d, tv_usec=%d}]" % struct.unpack(
        "<qqqq", mem.read(v, 32))


def GIDS_IN(c, v, mem):
    return _gid_list(c, v, i32(c.args[0]), mem)


def GIDS_OUT(c, v, mem):
    if i32(c.args[0]) == 0:
        return ptr(c, v)
    return _gid_list(c, v, c.result, mem)


def _gid_list(c, v, n, mem):
    if not v:
        return "NULL"
    if n <= 0:
        return "[]"
    shown = min(n, MAX_ELEMENTS)
    ids = struct.unpack("<%dI" % shown, mem.read(v, 4 * shown))
    out = [str(i) for i in ids] + (["..."] if n > shown else [])
    return "[" + ", ".join(out) + "]"


def OPEN_HOW(c, v, mem):
    if not v:
        return "NULL"
    flags, mode, resolve = struct.unpack("<QQQ", mem.read(v, 24))
    text = "{flags=%s" % open_flags_str(flags & 0xFFFFFFFF)
    if flags & (_O_CREAT | _O_TMPFILE):
        text += ", mode=" + _octal(mode)
    return text + ", resolve=%s}" % hexval(resolve)


def sched_param(c, v, mem):
    if not v:
        return "NULL"
    return "[%d]" % _S_I.unpack(mem.read(v, 4))[0]


def STATX_FLAGS(c, v, mem):
    v &= 0xFFFFFFFF
    sync = STATX_SYNC(v & 0x6000)
    rest = v & ~0x6000
    return sync + "|" + AT_FLAGS(rest) if rest else sync


def SETSOCKOPT_VAL(c, v, mem):
    if not v:
        return "NULL"
    if c.args[4] == 4:
        return "[%d]" % _S_I.unpack(mem.read(v, 4))[0]
    return ptr(c, v)


def GETSOCKOPT_VAL(c, v, mem):
    if not v:
        return "NULL"
    lp = c.args[4]
    length = _S_I.unpack(mem.read(lp, 4))[0] if lp else 0
    if length == 4:
        return "[%d]" % _S_I.unpack(mem.read(v, 4))[0]
    return ptr(c, v)


def SOCKOPT_NAME(c, v, mem):
    level = i32(c.args[1])
    if level == 1:
        return SOL_SOCKET_OPTS(v & 0xFFFFFFFF)
    if level == 6:
        return TCP_OPTS(v & 0xFFFFFFFF)
    return str(i32(v))


def SOCKET_TYPE(c, v, mem):
    v &= 0xFFFFFFFF
    kind = SOCK_TYPES(v & 0xF)
    rest = v & ~0xF
    return kind + "|" + SOCK_FLAGS(rest) if rest else kind


def SOCKET_PROTO(c, v, mem):
    if i32(c.args[0]) in (2, 10):
        return INET_PROTOCOLS(v & 0xFFFFFFFF)
    return str(i32(v))


def PERSONA(c, v, mem):
    v &= 0xFFFFFFFF
    if v == 0xFFFFFFFF:
        return "0xffffffff"
    base = {0: "PER_LINUX", 8: "PER_LINUX32"}.get(v & 0xFF)
    if base is None:
        return hexval(v)
    rest = v & ~0xFF
    names = []
    for bit, name in ((0x0040000, "ADDR_NO_RANDOMIZE"), (0x0200000, "FDPIC_FUNCPTRS"),
                      (0x0100000, "MMAP_PAGE_ZERO"), (0x0400000, "READ_IMPLIES_EXEC"),
                      (0x0800000, "ADDR_LIMIT_32BIT"), (0x1000000, "SHORT_INODE"),
                      (0x2000000, "WHOLE_SECONDS"), (0x4000000, "STICKY_TIMEOUTS"),
                      (0x8000000, "ADDR_LIMIT_3GB"), (0x0020000, "UNAME26"),
                      (0x0008000, "ADDR_COMPAT_LAYOUT")):
        if rest & bit:
            names.append(name)
            rest &= ~bit
    if rest:
        names.append(hexval(rest))
    return "|".join([base] + names)


# ---------------------------------------------------------------------------------
# calls decoded by hand (their arguments depend on each other)
# ---------------------------------------------------------------------------------
def _clone_enter(c, mem):
    a = c.args
    flags = a[0] & ~0xFF
    sig = a[0] & 0xFF
    if flags:
        text = CLONE_FLAGS(flags) + ("|" + signame(sig) if sig else "")
    else:
        text = signame(sig)
    c.extra = flags
    return "child_stack=%s, flags=%s" % (ptr(c, a[1]), text)


def _clone_has_exit(c):
    return bool(c.extra & (CLONE_PARENT_SETTID | CLONE_PIDFD | CLONE_CHILD_SETTID
                           | CLONE_CHILD_CLEARTID | CLONE_SETTLS))


def _clone_leave(c, mem):
    a, flags = c.args, c.extra
    out = []
    if flags & (CLONE_PARENT_SETTID | CLONE_PIDFD):
        if flags & CLONE_PARENT_SETTID and c.result > 0:
            value = "[%d]" % c.result   # the kernel stored the (virtual) child tid there
        else:
            value = _safe(INT_PTR, c, a[2], mem)
        out.append(", parent_tid=" + value)
    if flags & CLONE_SETTLS:
        out.append(", tls=" + ptr(c, a[4]))
    if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID):
        out.append(", child_tidptr=" + ptr(c, a[3]))
    return "".join(out)


def _clone3_enter(c, mem):
    addr, size = c.args[0], c.args[1]
    c.extra = 0
    if size < 64:
        return ptr(c, addr) + ", %d" % size
    try:
        flags, pidfd, ctid, ptid, esig, stack, ssize, tls = struct.unpack(
            "<8Q", mem.read(addr, 64))
    except OSError:
        return ptr(c, addr) + ", %d" % size
    parts = ["flags=" + CLONE_FLAGS(flags)]
    if flags & CLONE_PIDFD:
        parts.append("pidfd=" + ptr(c, pidfd))
    if flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID):
        parts.append("child_tid=" + ptr(c, ctid))
    if flags & CLONE_PARENT_SETTID:
        parts.append("parent_tid=" + ptr(c, ptid))
    parts.append("exit_signal=" + (signame(esig) if esig < 0x7FFFFFFF else str(esig)))
    parts.append("stack=" + ptr(c, stack))
    parts.append("stack_size=" + hexval(ssize))
    if flags & CLONE_SETTLS:
        parts.append("tls=" + ptr(c, tls))
    text = "{" + ", ".join(parts) + "}"
    if flags & (CLONE_PIDFD | CLONE_PARENT_SETTID):
        c.extra = (flags, pidfd, size)
        return text
    return text + ", %d" % size


def _clone3_has_exit(c):
    return bool(c.extra)


def _clone3_leave(c, mem):
    flags, pidfd, size = c.extra
    changed = []
    if c.result >= 0:
        if flags & CLONE_PIDFD:
            changed.append("pidfd=" + _safe(INT_PTR, c, pidfd, mem))
        if flags & CLONE_PARENT_SETTID:
            changed.append("parent_tid=[%d]" % c.result)
    return (" => {" + ", ".join(changed) + "}" if changed else "") + ", %d" % size


_IOCTL_NUMBERS = {name: v for v, name in IOCTLS.names.items()}


def _ioctls(names: str) -> set[int]:
    return {_IOCTL_NUMBERS[name] for name in names.split()}


_IOCTL_IN_INT = _ioctls("TIOCSPGRP FIONBIO TIOCSPTLCK FIOASYNC")
_IOCTL_OUT_INT = _ioctls("TIOCGPGRP FIONREAD TIOCOUTQ TIOCGSID TIOCGPTN")
_IOCTL_NO_ARG = _ioctls("FIONCLEX FIOCLEX TIOCNOTTY")
_IOCTL_INT_ARG = _ioctls("TIOCSCTTY TCSBRK")
_IOCTL_NAMED_ARG = {   # tcflow(3)'s and tcflush(3)'s actions, the whole 64 bits (strace's term.c)
    _IOCTL_NUMBERS["TCXONC"]: XVal(_consts(termios, "TCOOFF TCOON TCIOFF TCION"), "TC???"),
    _IOCTL_NUMBERS["TCFLSH"]: XVal(_consts(termios, "TCIFLUSH TCOFLUSH TCIOFLUSH"), "TC???"),
}
_IOCTL_WINSZ_OUT, _IOCTL_WINSZ_IN = _IOCTL_NUMBERS["TIOCGWINSZ"], _IOCTL_NUMBERS["TIOCSWINSZ"]


def _winsize(c, v, mem):
    if not v:
        return "NULL"
    return ("{ws_row=%d, ws_col=%d, ws_xpixel=%d, ws_ypixel=%d}"
            % struct.unpack("<HHHH", mem.read(v, 8)))


def _ioctl_enter(c, mem):
    fd, req, arg = c.args[0], c.args[1] & 0xFFFFFFFF, c.args[2]
    head = "%d, %s" % (i32(fd), IOCTLS(req))
    c.extra = False
    if req in _IOCTL_NO_ARG:
        return head
    if req in _IOCTL_IN_INT:
        return head + ", " + _safe(INT_PTR, c, arg, mem)
    if req == _IOCTL_WINSZ_IN:
        return head + ", " + _safe(_winsize, c, arg, mem)
    if req in _IOCTL_INT_ARG:
        return head + ", %d" % i32(arg)
    if req in _IOCTL_NAMED_ARG:
        return head + ", " + _IOCTL_NAMED_ARG[req](arg)
    c.extra = True
    return head + ", "


def _ioctl_has_exit(c):
    return c.extra


def _ioctl_leave(c, mem):
    req, arg = c.args[1] & 0xFFFFFFFF, c.args[2]
    if c.result < 0:
        return ptr(c, arg)
    if req in _IOCTL_OUT_INT:
        return _safe(INT_PTR, c, arg, mem)
    if req == _IOCTL_WINSZ_OUT:
        return _safe(_winsize, c, arg, mem)
    if req in IOCTLS.names:
        return ptr(c, arg)
    return _addr_like(c, arg)


_PR_SIG_IN = {1}                      # PR_SET_PDEATHSIG
_PR_SIG_OUT = {2}                     # PR_GET_PDEATHSIG
_PR_INT_OUT = {37, 5, 9, 11}          # PR_GET_CHILD_SUBREAPER, PR_GET_UNALIGN, ...
_PR_ONE_ARG = {36, 8, 29, 41, 58, 57, 14, 6, 10, 12, 26, 28}
_PR_NO_ARG = {3, 7, 13, 19, 21, 25, 27, 30, 31, 32, 34, 39, 40, 42, 46}
_PR_ALL_ARGS = {38}                   # PR_SET_NO_NEW_PRIVS prints all four


def _prctl_enter(c, mem):
    a = c.args
    opt = a[0] & 0xFFFFFFFF
    head = PRCTL_OPTIONS(opt)
    c.extra = None
    if opt in _PR_NO_ARG:
        return head
    if opt in _PR_SIG_IN:
        return head + ", " + signame(i32(a[1]))
    if opt == 15:   # PR_SET_NAME
        return head + ", " + _safe(STR, c, a[1], mem)
    if opt == 4:    # PR_SET_DUMPABLE
        return head + ", " + DUMPABLE(a[1] & 0xFFFFFFFF)
    if opt in _PR_ONE_ARG:
        return head + ", %d" % a[1]
    if opt == 22:   # PR_SET_SECCOMP
        return head + ", %s, %s" % (SECCOMP_MODES(a[1] & 0xFFFFFFFF), ptr(c, a[2]))
    if opt in (23, 24):
        return head + ", %d" % a[1]
    if opt in _PR_SIG_OUT or opt in _PR_INT_OUT or opt == 16:
        c.extra = opt
        return head + ", "
    if opt in _PR_ALL_ARGS:
        return head + ", %d, %d, %d, %d" % a[1:5]
    return head + ", " + ", ".join(_addr_like(c, v) for v in a[1:5])


def _prctl_has_exit(c):
    return c.extra is not None


def _prctl_leave(c, mem):
    opt, v = c.extra, c.args[1]
    if c.result < 0:
        return ptr(c, v)
    if opt == 16:   # PR_GET_NAME
        return quote(mem.read_cstring(v, 16))
    n = _S_I.unpack(mem.read(v, 4))[0]
    return "[%s]" % (signame(n) if opt in _PR_SIG_OUT else n)


def _arch_prctl_enter(c, mem):
    code = c.args[0] & 0xFFFFFFFF
    c.extra = code in (0x1003, 0x1004)
    head = ARCH_PRCTL(code)
    if c.extra:
        return head + ", "
    return head + ", " + ptr(c, c.args[1])


def _arch_prctl_has_exit(c):
    return c.extra


def _arch_prctl_leave(c, mem):
    if c.result < 0:
        return ptr(c, c.args[1])
    return _safe(PTR_PTR, c, c.args[1], mem)


def _futex_enter(c, mem):
    uaddr, op, val, timeout, uaddr2, val3 = c.args
    op &= 0xFFFFFFFF
    cmd = op & 127
    name = FUTEX_CMDS(cmd)
    if op & FUTEX_PRIVATE_FLAG and cmd in FUTEX_CMDS.names:
        name += "_PRIVATE"
    if op & FUTEX_CLOCK_REALTIME:
        name += "|FUTEX_CLOCK_REALTIME"
    rest = op & ~(127 | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    if rest:
        name += "|0x%x" % rest
    val &= 0xFFFFFFFF
    parts = [ptr(c, uaddr), name]
    if cmd in (0, 6, 13):           # WAIT, LOCK_PI, LOCK_PI2
        parts += [str(val), _safe(timespec_arg, c, timeout, mem)]
    elif cmd == 9:                  # WAIT_BITSET
        parts += [str(val), _safe(timespec_arg, c, timeout, mem), _bitset(val3)]
    elif cmd == 1:                  # WAKE
        parts.append(str(val))
    elif cmd == 10:                 # WAKE_BITSET
        parts += [str(val), _bitset(val3)]
    elif cmd == 3:                  # REQUEUE
        parts += [str(val), str(timeout & 0xFFFFFFFF), ptr(c, uaddr2)]
    elif cmd in (4, 12):            # CMP_REQUEUE(_PI)
        parts += [str(val), str(timeout & 0xFFFFFFFF), ptr(c, uaddr2), str(val3 & 0xFFFFFFFF)]
    elif cmd == 5:                  # WAKE_OP
        parts += [str(val), str(timeout & 0xFFFFFFFF), ptr(c, uaddr2), hexval(val3 & 0xFFFFFFFF)]
    elif cmd == 11:                 # WAIT_REQUEUE_PI
        parts += [str(val), _safe(timespec_arg, c, timeout, mem), ptr(c, uaddr2)]
    elif cmd in (7, 8):             # UNLOCK_PI, TRYLOCK_PI
        pass
    else:
        parts += [hexval(val), _addr_like(c, timeout), _addr_like(c, uaddr2), hexval(val3)]
    return ", ".join(parts)


def _bitset(v):
    v &= 0xFFFFFFFF
    return "FUTEX_BITSET_MATCH_ANY" if v == 0xFFFFFFFF else hexval(v)


def _rt_sigreturn_enter(c, mem):
    sp = c.extra
    if sp is None:
        return "{mask=?}"
    try:
        mask = _S_Q.unpack(mem.read(sp + 296, 8))[0]
    except Exception:
        return "{mask=%s}" % ptr(c, sp + 296)
    return "{mask=%s}" % sigset_str(mask)


def _restart_enter(c, mem):
    return "<... resuming interrupted %s ...>" % (c.extra or "system call")


def _fcntl_arg(c, v, mem):
    cmd = c.args[1] & 0xFFFFFFFF
    if cmd in (0, 1030, 8, 1031, 1026, 1024):      # F_DUPFD(_CLOEXEC), F_SETOWN, ...
        return str(i32(v))
    if cmd == 2:
        return FD_FLAGS(v & 0xFFFFFFFF)
    if cmd == 4:
        return open_flags_str(v & 0xFFFFFFFF)
    if cmd == 10:
        return signame(i32(v))
    if cmd == 1033:
        return F_SEALS(v & 0xFFFFFFFF)
    if cmd in (1, 3, 9, 11, 1025, 1032, 1034):      # the F_GET* with no argument
        return None
    if cmd in (5, 6, 7, 36, 37, 38):                 # struct flock
        if not v:
            return "NULL"
        ltype, whence, start, length = struct.unpack("<hh4xqq", mem.read(v, 24))
        return "{l_type=%s, l_whence=%s, l_start=%d, l_len=%d}" % (
            {0: "F_RDLCK", 1: "F_WRLCK", 2: "F_UNLCK"}.get(ltype, str(ltype)),
            WHENCE(whence & 0xFFFF), start, length)
    return _addr_like(c, v)


def _rv_fcntl(c, r, mem):
    cmd = c.args[1] & 0xFFFFFFFF
    if cmd == 1 and r:
        return "0x%x (flags %s)" % (r, FD_FLAGS(r))
    if cmd == 3:
        return "%s (flags %s)" % (hexval(r), open_flags_str(r))
    if cmd == 1034 and r:
        return "0x%x (seals %s)" % (r, F_SEALS(r))
    if cmd == 11 and r:
        return "%d (%s)" % (r, signame(r))
    return str(r)


# ---------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------
def RV_PTR(c, r, mem):
    """An address result (mmap, brk): hex, <pointer> in deterministic mode."""
    r &= MASK64
    return POINTER if c.det and r else hexval(r)


def RV_HEX(c, r, mem):
    return hexval(r & MASK64)


def RV_OCT(c, r, mem):
    return _octal(r)


def RV_UDEC(c, r, mem):
    return str(r & MASK64)


def _rv_poll(c, r, mem):
    if r == 0:
        return "0 (Timeout)"
    text = "%d (%s" % (r, _safe_call(pollfds_str, c, c.args[0], c.args[1] & 0xFFFFFFFF, mem, True))
    if c.sc.name == "ppoll" and c.args[2]:
        text += ", left " + _safe(timespec_arg, c, c.args[2], mem)
    return text + ")"


def _rv_select(c, r, mem):
    if r == 0:
        return "0 (Timeout)"
    nfds = i32(c.args[0])
    parts = []
    left = r
    for i, label in ((1, "in"), (2, "out"), (3, "except")):
        addr = c.args[i]
        if not addr or left <= 0 or nfds <= 0:
            continue
        try:
            size = (((nfds + 7) // 8) + 7) & ~7
            bits = int.from_bytes(mem.read(addr, size), "little")
        except OSError:
            continue
        fds = []
        for fd in range(nfds):
            if bits >> fd & 1:
                fds.append(str(fd))
                left -= 1
                if left == 0:
                    break
        if fds:
            parts.append("%s [%s]" % (label, " ".join(fds)))
    if c.args[4]:
        tv = timespec_arg if c.sc.name == "pselect6" else timeval_arg
        parts.append("left " + _safe(tv, c, c.args[4], mem))
    return "%d (%s)" % (r, ", ".join(parts))


def _rv_signal(c, r, mem):
    return "%d (%s)" % (r, signame(r)) if r > 0 else str(r)


for _dec in (RV_PTR, RV_HEX, RV_OCT, RV_UDEC, _rv_signal, _restart_enter):
    _dec.memory_free = True


def _safe(dec, c, v, mem):
    try:
        text = dec(c, v, mem)
    except Exception:
        return ptr(c, v)
    return text


def _safe_call(func, c, addr, *args):
    try:
        return func(c, addr, *args)
    except Exception:
        return ptr(c, addr)


# ---------------------------------------------------------------------------------
# signatures
# ---------------------------------------------------------------------------------
class Out:
    """An argument the kernel writes: decoded at exit (as an address if the call
    failed, unless ``on_error``)."""

    __slots__ = ("dec", "on_error")

    def __init__(self, dec, on_error=False):
        self.dec, self.on_error = dec, on_error


class Spec:
    __slots__ = ("name", "nargs", "decs", "outs", "on_error", "split", "rv", "nf", "enter",
                 "leave", "has_exit", "pre")

    def __init__(self, name, args=(), rv=None, nf=False, enter=None, leave=None,
                 has_exit=None, pre=None):
        self.name = name
        self.nargs = len(args)
        self.decs = tuple(a.dec if isinstance(a, Out) else a for a in args)
        self.outs = tuple(isinstance(a, Out) for a in args)
        self.on_error = tuple(isinstance(a, Out) and a.on_error for a in args)
        self.split = self.outs.index(True) if True in self.outs else self.nargs
        self.rv, self.nf, self.enter, self.leave, self.pre = rv, nf, enter, leave, pre
        if has_exit is None:
            has_exit = (lambda c: True) if self.split < self.nargs else (lambda c: False)
        self.has_exit = has_exit


SPECS: dict[str, Spec] = {}


def sc(name, *args, **kw):
    SPECS[name] = Spec(name, args, **kw)


def custom(name, enter, leave=None, has_exit=None, **kw):
    spec = SPECS[name] = Spec(name, (), enter=enter, leave=leave,
                              has_exit=has_exit or (lambda c: False), **kw)
    spec.nargs = SYSCALLS[SYSCALL_NUMBERS[name]][1]   # for the fallback if decoding fails


AT = fl(AT_FLAGS)
O = Out
OE = lambda dec: Out(dec, on_error=True)  # noqa: E731

# files and descriptors
sc("read", FD, O(BUF_RESULT), U)
sc("write", FD, buf_arg(2), U)
sc("open", PATH, OFLAGS, mode_if_create(1), rv=None)
sc("openat", DIRFD, PATH, OFLAGS, mode_if_create(2))
sc("openat2", DIRFD, PATH, OPEN_HOW, U)
sc("creat", PATH, MODE)
sc("close", FD)
sc("close_range", UI, UI, fl(CLOSE_RANGE_FLAGS))
sc("stat", PATH, O(STAT))
sc("fstat", FD, O(STAT))
sc("lstat", PATH, O(STAT))
sc("newfstatat", DIRFD, PATH, O(STAT), AT)
sc("statx", DIRFD, PATH, STATX_FLAGS, fl(STATX_MASK), O(lambda c, v, m: statx_at(c, v, m)))
sc("statfs", PATH, O(lambda c, v, m: statfs_at(c, v, m)))
sc("fstatfs", FD, O(lambda c, v, m: statfs_at(c, v, m)))
sc("lseek", FD, LD, xv(WHENCE))
sc("pread64", FD, O(BUF_RESULT), U, LD)
sc("pwrite64", FD, buf_arg(2), U, LD)
sc("readv", FD, O(iov_arg(2, True)), D)
sc("writev", FD, iov_arg(2), D)
sc("preadv", FD, O(iov_arg(2, True)), D, LD)
sc("pwritev", FD, iov_arg(2), D, LD)
sc("preadv2", FD, O(iov_arg(2, True)), D, LD, X)
sc("pwritev2", FD, iov_arg(2), D, LD, X)
sc("access", PATH, fl(ACCESS_MODES))
sc("faccessat", DIRFD, PATH, fl(ACCESS_MODES))
sc("faccessat2", DIRFD, PATH, fl(ACCESS_MODES), fl(FACCESSAT_FLAGS))
sc("pipe", O(INT_PAIR))
sc("pipe2", O(INT_PAIR), fl(OPEN_FLAGS))
sc("dup", FD)
sc("dup2", FD, FD)
sc("dup3", FD, FD, fl(OPEN_FLAGS))
sc("fcntl", FD, xv(FCNTL_CMDS), _fcntl_arg, rv=_rv_fcntl)
sc("flock", FD, fl(LOCK_OPS))
sc("fsync", FD)
sc("fdatasync", FD)
sc("syncfs", FD)
sc("sync")
sc("truncate", PATH, LD)
sc("ftruncate", FD, LD)
sc("fallocate", FD, fl(FALLOC_FLAGS), LD, LD)
sc("fadvise64", FD, LD, U, xv(FADVISE))
sc("readahead", FD, LD, U)
sc("getdents", FD, O(GETDENTS), UI)
sc("getdents64", FD, O(GETDENTS), UI)
sc("getcwd", O(GETCWD_BUF), U)
sc("chdir", PATH)
sc("fchdir", FD)
sc("chroot", PATH)
sc("rename", PATH, PATH)
sc("renameat", DIRFD, PATH, DIRFD, PATH)
sc("renameat2", DIRFD, PATH, DIRFD, PATH, fl(RENAME_FLAGS))
sc("mkdir", PATH, MODE)
sc("mkdirat", DIRFD, PATH, MODE)
sc("rmdir", PATH)
sc("link", PATH, PATH)
sc("linkat", DIRFD, PATH, DIRFD, PATH, AT)
sc("unlink", PATH)
sc("unlinkat", DIRFD, PATH, AT)
sc("symlink", PATH, PATH)
sc("symlinkat", PATH, DIRFD, PATH)
sc("readlink", PATH, O(readlink_buf), U)
sc("readlinkat", DIRFD, PATH, O(readlink_buf), U)
sc("chmod", PATH, MODE)
sc("fchmod", FD, MODE)
sc("fchmodat", DIRFD, PATH, MODE)
sc("fchmodat2", DIRFD, PATH, MODE, AT)
sc("chown", PATH, UID, UID)
sc("fchown", FD, UID, UID)
sc("lchown", PATH, UID, UID)
sc("fchownat", DIRFD, PATH, UID, UID, AT)
sc("umask", MODE, rv=RV_OCT, nf=True)
sc("mknod", PATH, SMODE, X)
sc("mknodat", DIRFD, PATH, SMODE, X)
sc("utime", PATH, PTR)
sc("utimes", PATH, TIMEVAL_PAIR)
sc("futimesat", DIRFD, PATH, TIMEVAL_PAIR)
sc("utimensat", DIRFD, PATH, UTIMENS, AT)
sc("sendfile", FD, FD, LONG_PTR, U)
sc("copy_file_range", FD, LONG_PTR, FD, LONG_PTR, U, UI)
sc("splice", FD, LONG_PTR, FD, LONG_PTR, U, fl(SPLICE_FLAGS))
sc("tee", FD, FD, U, fl(SPLICE_FLAGS))
sc("memfd_create", STR, fl(MFD_FLAGS))
sc("inotify_init")
sc("inotify_init1", fl(IN_INIT_FLAGS))
sc("inotify_add_watch", FD, PATH, XI)
sc("inotify_rm_watch", FD, D)
sc("mount", PATH, PATH, STR, X, PTR)
sc("umount2", PATH, fl(UMOUNT_FLAGS))
sc("setxattr", PATH, STR, buf_arg(3), U, fl(XATTR_FLAGS))
sc("lsetxattr", PATH, STR, buf_arg(3), U, fl(XATTR_FLAGS))
sc("fsetxattr", FD, STR, buf_arg(3), U, fl(XATTR_FLAGS))
sc("getxattr", PATH, STR, O(BUF_RESULT), U)
sc("lgetxattr", PATH, STR, O(BUF_RESULT), U)
sc("fgetxattr", FD, STR, O(BUF_RESULT), U)
sc("listxattr", PATH, O(BUF_RESULT), U)
sc("llistxattr", PATH, O(BUF_RESULT), U)
sc("flistxattr", FD, O(BUF_RESULT), U)
sc("removexattr", PATH, STR)
sc("lremovexattr", PATH, STR)
sc("fremovexattr", FD, STR)
custom("ioctl", _ioctl_enter, _ioctl_leave, _ioctl_has_exit)

# polling and events
sc("poll", POLLFDS_IN, UI, D, rv=_rv_poll)
sc("ppoll", POLLFDS_IN, UI, timespec_arg, sigset_arg(4), U, rv=_rv_poll)
sc("select", D, fdset_arg, fdset_arg, fdset_arg, timeval_arg, rv=_rv_select)
sc("pselect6", D, fdset_arg, fdset_arg, fdset_arg, timespec_arg, PSELECT_SIGMASK,
   rv=_rv_select)
sc("epoll_create", D)
sc("epoll_create1", fl(EPOLL_FLAGS))
sc("epoll_ctl", FD, xv(EPOLL_CTL), FD, EPOLL_EVENT_IN)
sc("epoll_wait", FD, O(EPOLL_EVENTS_OUT), D, D)
sc("epoll_pwait", FD, O(EPOLL_EVENTS_OUT), D, D, sigset_arg(5), U)
sc("epoll_pwait2", FD, O(EPOLL_EVENTS_OUT), D, timespec_arg, sigset_arg(5), U)
sc("eventfd", UI)
sc("eventfd2", UI, fl(EFD_FLAGS))
sc("signalfd", FD, sigset_arg(2), U)
sc("signalfd4", FD, sigset_arg(2), U, fl(SFD_FLAGS))
sc("timerfd_create", CLOCKID, fl(TFD_FLAGS))
sc("timerfd_settime", FD, fl(TFD_TIMER_FLAGS), lambda c, v, m: itimerspec_at(c, v, m),
   O(lambda c, v, m: itimerspec_at(c, v, m)))
sc("timerfd_gettime", FD, O(lambda c, v, m: itimerspec_at(c, v, m)))

# memory
sc("mmap", PTR, U, fl(PROT), lambda c, v, m: map_flags_str(v & 0xFFFFFFFF), FD, X, rv=RV_PTR)
sc("mprotect", PTR, U, fl(PROT))
sc("pkey_mprotect", PTR, U, fl(PROT), D)
sc("munmap", PTR, U)
sc("brk", PTR, rv=RV_PTR)
sc("mremap", PTR, U, U, fl(MREMAP_FLAGS), PTR, rv=RV_PTR)
sc("msync", PTR, U, fl(MSYNC_FLAGS))
sc("mincore", PTR, U, PTR)
sc("madvise", PTR, U, xv(MADVISE))
sc("mlock", PTR, U)
sc("mlock2", PTR, U, fl(MLOCK2_FLAGS))
sc("munlock", PTR, U)
sc("mlockall", fl(MLOCKALL))
sc("munlockall")
sc("shmat", D, PTR, X, rv=RV_PTR)
sc("shmdt", PTR)
sc("membarrier", xv(MEMBARRIER_CMDS), X, D)

# processes
custom("clone", _clone_enter, _clone_leave, _clone_has_exit)
custom("clone3", _clone3_enter, _clone3_leave, _clone3_has_exit)
sc("fork")
sc("vfork")
sc("execve", PATH, ARGV, ENVP)
sc("execveat", DIRFD, PATH, ARGV, ENVP, AT)
sc("exit", D)
sc("exit_group", D)
sc("wait4", PID, O(WAIT_STATUS), fl(WAIT_OPTIONS), O(WAIT_RUSAGE))
sc("waitid", xv(WAITID_TYPES), D, O(SIGINFO), fl(WAIT_OPTIONS), O(RUSAGE))
sc("kill", PID, SIG)
sc("semop", D, SEMBUFS_IN, U)
sc("semtimedop", D, SEMBUFS_IN, U, timespec_arg)
sc("tkill", PID, SIG)
sc("tgkill", PID, PID, SIG)
sc("getpid", nf=True)
sc("getppid", nf=True)
sc("gettid", nf=True)
sc("getuid", nf=True)
sc("geteuid", nf=True)
sc("getgid", nf=True)
sc("getegid", nf=True)
sc("getpgrp", nf=True)
sc("getpgid", PID)
sc("setpgid", PID, PID)
sc("getsid", PID)
sc("setsid")
sc("setuid", UID)
sc("setgid", UID)
sc("setreuid", UID, UID)
sc("setregid", UID, UID)
sc("setresuid", UID, UID, UID)
sc("setresgid", UID, UID, UID)
sc("getresuid", O(UINT_PTR), O(UINT_PTR), O(UINT_PTR))
sc("getresgid", O(UINT_PTR), O(UINT_PTR), O(UINT_PTR))
sc("setfsuid", UID, nf=True)
sc("setfsgid", UID, nf=True)
sc("getgroups", D, O(GIDS_OUT))
sc("setgroups", D, GIDS_IN)
sc("set_tid_address", PTR)
sc("set_robust_list", PTR, U)
sc("get_robust_list", PID, O(PTR_PTR), O(LONG_PTR))
sc("rseq", PTR, XI, XI, XI)
custom("prctl", _prctl_enter, _prctl_leave, _prctl_has_exit)
custom("arch_prctl", _arch_prctl_enter, _arch_prctl_leave, _arch_prctl_has_exit)
sc("personality", PERSONA, rv=RV_HEX, nf=True)
sc("uname", O(lambda c, v, m: utsname_at(c, v, m)))
sc("sethostname", buf_arg(1), U)
sc("setdomainname", buf_arg(1), U)
sc("sysinfo", O(lambda c, v, m: sysinfo_at(c, v, m)))
sc("getrandom", O(HEXBUF_RESULT), U, fl(GRND_FLAGS))
sc("getcpu", O(UINT_PTR), O(UINT_PTR), PTR)
sc("sched_yield")
sc("sched_getaffinity", PID, U, O(CPUMASK_OUT))
sc("sched_setaffinity", PID, U, cpumask_in(1))
sc("sched_getscheduler", PID)
sc("sched_setscheduler", PID, xv(SCHED_POLICIES), sched_param)
sc("sched_getparam", PID, O(sched_param))
sc("sched_setparam", PID, sched_param)
sc("sched_get_priority_max", xv(SCHED_POLICIES))
sc("sched_get_priority_min", xv(SCHED_POLICIES))
sc("sched_rr_get_interval", PID, O(timespec_arg))
sc("getpriority", xv(PRIO_WHICH), D)
sc("setpriority", xv(PRIO_WHICH), D, D)
sc("ptrace", xv(PTRACE_REQUESTS), PID, PTR, PTR)
sc("seccomp", xv(SECCOMP_OPS), XI, PTR)
sc("unshare", fl(CLONE_FLAGS, 64))
sc("setns", FD, fl(CLONE_FLAGS))
sc("pidfd_open", PID, fl(PIDFD_FLAGS))
sc("pidfd_send_signal", FD, SIG, SIGINFO, UI)
sc("pidfd_getfd", FD, FD, UI)
custom("restart_syscall", _restart_enter)
custom("futex", _futex_enter)
custom("rt_sigreturn", _rt_sigreturn_enter)

# signals
sc("rt_sigaction", SIG, lambda c, v, m: sigaction_at(c, v, m),
   O(lambda c, v, m: sigaction_at(c, v, m)), U)
sc("rt_sigprocmask", xv(SIGPROCMASK_HOW), sigset_arg(3), O(sigset_arg(3)), U)
sc("rt_sigpending", O(sigset_arg(1)), U)
sc("rt_sigsuspend", sigset_arg(1), U)
sc("rt_sigtimedwait", sigset_arg(3), O(SIGINFO), timespec_arg, U, rv=_rv_signal)
sc("rt_sigqueueinfo", PID, SIG, SIGINFO)
sc("rt_tgsigqueueinfo", PID, PID, SIG, SIGINFO)
sc("sigaltstack", lambda c, v, m: stack_t_at(c, v, m), O(lambda c, v, m: stack_t_at(c, v, m)))
sc("pause")

# time
sc("nanosleep", timespec_arg, OE(NANOSLEEP_REM))
sc("clock_nanosleep", CLOCKID, fl(TIMER_FLAGS), timespec_arg, OE(CLOCK_NANOSLEEP_REM))
sc("clock_gettime", CLOCKID, O(timespec_arg))
sc("clock_settime", CLOCKID, timespec_arg)
sc("clock_adjtime", CLOCKID, PTR)
sc("clock_getres", CLOCKID, O(timespec_arg))
sc("gettimeofday", O(timeval_arg), O(lambda c, v, m: timezone_at(c, v, m)))
sc("settimeofday", timeval_arg, lambda c, v, m: timezone_at(c, v, m))
sc("time", O(TIME_T_PTR))
sc("times", O(lambda c, v, m: tms_at(c, v, m)), rv=RV_UDEC)
sc("alarm", UI)
sc("getitimer", xv(ITIMERS), O(lambda c, v, m: itimerval_at(c, v, m)))
sc("setitimer", xv(ITIMERS), lambda c, v, m: itimerval_at(c, v, m),
   O(lambda c, v, m: itimerval_at(c, v, m)))
sc("timer_create", CLOCKID, lambda c, v, m: sigevent_at(c, v, m), O(INT_PTR))
sc("timer_settime", D, fl(TIMER_FLAGS), lambda c, v, m: itimerspec_at(c, v, m),
   O(lambda c, v, m: itimerspec_at(c, v, m)))
sc("timer_gettime", D, O(lambda c, v, m: itimerspec_at(c, v, m)))
sc("timer_getoverrun", D)
sc("timer_delete", D)

# resources
sc("getrlimit", xv(RLIMITS), O(RLIMIT))
sc("setrlimit", xv(RLIMITS), RLIMIT)
sc("prlimit64", PID, xv(RLIMITS), RLIMIT, O(RLIMIT))
sc("getrusage", xv(RUSAGE_WHO), O(RUSAGE))

# sockets
sc("socket", xv(ADDRESS_FAMILIES), SOCKET_TYPE, SOCKET_PROTO)
sc("socketpair", xv(ADDRESS_FAMILIES), SOCKET_TYPE, SOCKET_PROTO, O(INT_PAIR))
sc("connect", FD, sockaddr_arg(2), UI)
sc("bind", FD, sockaddr_arg(2), UI)
sc("listen", FD, D)
sc("accept", FD, O(sockaddr_out(2)), O(socklen_inout), pre=lambda c, m: _remember_socklen(
    c, c.args[2], m))
sc("accept4", FD, O(sockaddr_out(2)), O(socklen_inout), fl(SOCK_FLAGS),
   pre=lambda c, m: _remember_socklen(c, c.args[2], m))
sc("getsockname", FD, O(sockaddr_out(2)), O(socklen_inout),
   pre=lambda c, m: _remember_socklen(c, c.args[2], m))
sc("getpeername", FD, O(sockaddr_out(2)), O(socklen_inout),
   pre=lambda c, m: _remember_socklen(c, c.args[2], m))
sc("sendto", FD, buf_arg(2), U, fl(MSG_FLAGS), sockaddr_arg(5), UI)
sc("recvfrom", FD, O(BUF_RESULT), U, fl(MSG_FLAGS), O(sockaddr_out(5)), O(socklen_inout),
   pre=lambda c, m: _remember_socklen(c, c.args[5], m))
sc("sendmsg", FD, MSGHDR_IN, fl(MSG_FLAGS))
sc("recvmsg", FD, O(MSGHDR_OUT), fl(MSG_FLAGS))
sc("shutdown", FD, xv(SHUTDOWN_HOW))
sc("setsockopt", FD, xv(SOCKET_LEVELS), SOCKOPT_NAME, SETSOCKOPT_VAL, UI)
sc("getsockopt", FD, xv(SOCKET_LEVELS), SOCKOPT_NAME, O(GETSOCKOPT_VAL), O(socklen_inout),
   pre=lambda c, m: _remember_socklen(c, c.args[4], m))

# ---------------------------------------------------------------------------------
# fallback for the rest: python-ptrace's prototypes give the argument types
# ---------------------------------------------------------------------------------
def _fallback_decoder(ctype: str, argname: str):
    t = ctype.replace("const ", "").replace("__user ", "").strip()
    if t == "char *" and argname in ("filename", "pathname", "path", "oldname", "newname",
                                     "specialfile", "library", "dir_name", "name"):
        return PATH
    if "*" in t:
        return PTR
    if t in ("int", "pid_t", "clockid_t", "timer_t", "key_t", "mqd_t", "qid_t"):
        return D
    if t in ("unsigned int", "uid_t", "gid_t", "old_uid_t", "old_gid_t", "umode_t",
             "size_t", "u32", "__u32"):
        return U if t in ("size_t",) else UI
    if t in ("long", "loff_t", "off_t", "__kernel_old_time_t", "ssize_t"):
        return LD
    return XA


def _build_fallback(name: str, nargs: int) -> Spec:
    decs = [XA] * nargs
    proto = SYSCALL_PROTOTYPES.get(name)
    if proto is not None and len(proto[1]) == nargs:
        decs = [_fallback_decoder(t, n) for t, n in proto[1]]
    return Spec(name, decs)


TABLE: dict[int, Spec] = {}
for _nr, (_name, _nargs, _nf) in SYSCALLS.items():
    _spec = SPECS.get(_name)
    if _spec is None:
        _spec = _build_fallback(_name, _nargs)
        _spec.nf = _nf
    TABLE[_nr] = _spec


def reads_memory(spec: Spec) -> bool:
    """Whether formatting a call of ``spec`` may read the tracee's memory (at entry or
    exit); False: its registers and result are all its line needs."""
    parts = [spec.rv] + list(spec.decs)
    if spec.enter is not None:
        parts += [spec.enter, spec.leave]
    if spec.pre is not None:
        parts.append(spec.pre)
    return not all(p is None or getattr(p, "memory_free", False) for p in parts)


# Calls that read memory only with some arguments: name -> whether these registers
# spare it. clone reads parent_tid at exit only for CLONE_PARENT_SETTID (a failed
# call) and CLONE_PIDFD; fork's clone does neither.
MEMORY_FREE_WHEN = {
    "clone": lambda args: not args[0] & (CLONE_PARENT_SETTID | CLONE_PIDFD),
}


# Calls whose exit part (what follows the entry part, not the result's own text)
# depends on few of their registers and on their result only through a few cases:
# name -> (args, result) -> what it depends on. wait4's is its status, options and
# rusage pointers, shown only when it returned a pid (WAIT_STATUS, WAIT_RUSAGE); its
# pid argument is in its entry part.
TAIL_DEPENDS_ON = {
    "wait4": lambda args, result: (args[1:4], True if result > 0 else result),
}


def spec_for(nr: int) -> Spec:
    spec = TABLE.get(nr)
    if spec is None:
        spec = Spec("syscall_0x%x" % (nr & MASK64), [XA] * 6)
        if len(TABLE) < 4096:
            TABLE[nr] = spec
    return spec


# ---------------------------------------------------------------------------------
# one call
# ---------------------------------------------------------------------------------
class Call:
    """A system call in flight: what was printed at entry and, later, at exit."""

    __slots__ = ("tid", "nr", "sc", "args", "det", "t_entry", "head", "later", "result",
                 "extra", "cut", "state", "note")

    def __init__(self, tid: int, nr: int, args, det: bool, now_ns: int):
        self.tid = tid        # the calling thread (a main thread's tid is its pid)
        self.nr = nr
        self.sc = TABLE.get(nr) or spec_for(nr)
        args = tuple(args)
        if len(args) != 6:
            args = (args + (0,) * 6)[:6]
        if min(args) < 0 or max(args) > MASK64:
            args = tuple(a & MASK64 for a in args)
        self.args = args
        self.det = det
        self.t_entry = now_ns
        self.head = ""
        self.later = None
        self.result = 0
        self.extra = None
        self.cut = 0          # streams (bit mask) that showed it as "<unfinished ...>"
        self.state = 0        # 0 in progress, 1 finished
        self.note = None      # e.g. "(INJECTED)", after the result (strace -e inject=)

    @property
    def name(self) -> str:
        return self.sc.name

    def __repr__(self) -> str:
        return "<Call %d %s(%s>" % (self.tid, self.sc.name, self.head)


def begin_call(c: Call, mem) -> None:
    """Decode the input arguments: ``c.head`` is what strace prints at entry after
    "name(" (with the trailing ", " when more arguments follow at exit)."""
    spec = c.sc
    if spec.enter is not None:
        try:
            c.head = spec.enter(c, mem)
        except Exception:
            c.head = ", ".join(_addr_like(c, v) for v in c.args[:spec.nargs or 0])
        return
    if spec.pre is not None:
        try:
            spec.pre(c, mem)
        except Exception:
            pass
    args, decs, split, nargs = c.args, spec.decs, spec.split, spec.nargs
    parts = []
    for i in range(split):
        try:
            text = decs[i](c, args[i], mem)
        except Exception:
            text = ptr(c, args[i])
        if text is not None:
            parts.append(text)
    head = ", ".join(parts)
    if split < nargs:
        outs = spec.outs
        later = [None] * (nargs - split)
        for i in range(split, nargs):
            if not outs[i]:
                try:
                    later[i - split] = decs[i](c, args[i], mem)
                except Exception:
                    later[i - split] = ptr(c, args[i])
        c.later = later
        if parts:
            head += ", "
    c.head = head


def has_exit_part(c: Call) -> bool:
    """Whether strace would print more at exit (an unfinished line shows the gap)."""
    try:
        return c.sc.has_exit(c)
    except Exception:
        return False


def finish_call(c: Call, result: int, mem) -> tuple[str, str]:
    """Decode the outputs: returns (tail, ret) where the line is
    ``name(`` + head + tail + ``) = `` + ret."""
    c.result = result
    c.state = 1
    spec = c.sc
    if spec.leave is not None:
        if spec.has_exit(c):
            try:
                tail = spec.leave(c, mem)
            except Exception:
                tail = ""
        else:
            tail = ""
    elif c.later is not None:
        failed = -MAX_ERRNO <= result < 0 and not spec.nf
        args, decs, outs, on_error, split = c.args, spec.decs, spec.outs, spec.on_error, spec.split
        later = c.later
        for i in range(split, spec.nargs):
            if outs[i]:
                v = args[i]
                if failed and not on_error[i]:
                    later[i - split] = ptr(c, v)
                else:
                    try:
                        later[i - split] = decs[i](c, v, mem)
                    except Exception:
                        later[i - split] = ptr(c, v)
        tail = ", ".join(p for p in later if p is not None)
    else:
        tail = ""
    return tail, result_text(c, result, mem)


def result_text(c: Call, result: int, mem=None) -> str:
    """What follows "= "."""
    spec = c.sc
    if -MAX_ERRNO <= result < 0 and not spec.nf:
        return errno_text(-result)
    rv = spec.rv
    if rv is None:
        return str(result)
    try:
        return rv(c, result, mem)
    except Exception:
        return str(result)


def noreturn_tail(c: Call) -> str:
    """exit/exit_group/execve with no exit stop, or a call cut short by death:
    strace prints " <unfinished ...>" where exit-time arguments would have gone."""
    c.state = 1
    return " <unfinished ...>" if has_exit_part(c) else ""


def aligned(text: str, ret: str) -> str:
    """``text + " = " + ret`` with "=" at column ACOLUMN, as strace's tabto() does
    (``text`` includes any pid/time prefix: strace counts them too)."""
    n = len(text) + 1
    if n < ACOLUMN:
        return text + " " * (ACOLUMN - n + 1) + "= " + ret
    return text + " = " + ret


def format_line(call, args, result, mem, det: bool = False) -> str:
    """One complete line as ``strace -ff`` writes it (no prefix), for a call given by
    name or number: handy for tests and one-off formatting."""
    nr = SYSCALL_NUMBERS[call] if isinstance(call, str) else call
    c = Call(0, nr, args, det, 0)
    begin_call(c, mem)
    tail, ret = finish_call(c, result, mem)
    return aligned(c.sc.name + "(" + c.head + tail + ")", ret)


# ---------------------------------------------------------------------------------
# lines that are not calls
# ---------------------------------------------------------------------------------
def signal_line(siginfo: bytes, det: bool) -> str:
    signo = _S_I.unpack_from(siginfo.ljust(4, b"\0"), 0)[0]
    return "--- %s %s ---" % (signame(signo), siginfo_str(siginfo, det))


def stopped_line(sig: int) -> str:
    return "--- stopped by %s ---" % signame(sig)


def exit_line(code_or_signal: int, killed: bool, core: bool) -> str:
    if killed:
        return "+++ killed by %s %s+++" % (signame(code_or_signal),
                                          "(core dumped) " if core else "")
    return "+++ exited with %d +++" % (code_or_signal & 0xFF)
