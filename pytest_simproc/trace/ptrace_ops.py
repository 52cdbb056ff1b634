"""Thin layer over python-ptrace's bindings: the few ptrace requests the tracer uses.

python-ptrace 0.9.9 lacks PTRACE_O_TRACESECCOMP / PTRACE_O_EXITKILL and raises on the
seccomp and exit events in its own event decoding, so the tracer decodes wait statuses
itself (ptrace(2) "Stopped states") and only borrows registers and requests from it.
"""
from __future__ import annotations

import ctypes
import os

from ptrace.binding import func as _pt

setoptions = _pt.ptrace_setoptions
attach = _pt.ptrace_attach   # classic semantics (PTRACE_SEIZE's differ: its children
                             # start with PTRACE_EVENT_STOP, not SIGSTOP)
traceme = _pt.ptrace_traceme
PtraceError = _pt.PtraceError
Registers = _pt.ptrace_registers_t   # python-ptrace's struct user_regs_struct

PTRACE_CONT = 7
PTRACE_SYSCALL = 24
PTRACE_GETREGS = 12
PTRACE_SETREGS = 13
PTRACE_GETEVENTMSG = 0x4201
PTRACE_GETSIGINFO = 0x4202
PTRACE_SETSIGINFO = 0x4203
SIGINFO_SIZE = 128

# The requests made at stops go to trace/_ptrace.c, a C extension pip builds from
# source (setup.py), or else straight to libc through ctypes with fixed argument types:
# python-ptrace's generic wrapper costs ~2 us a call, a third of a whole stop (measured
# with cProfile on a getppid loop), and ctypes' argument conversion most of the rest.
_libc = ctypes.CDLL(None, use_errno=True)
_raw = _libc.ptrace
_raw.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
_raw.restype = ctypes.c_long




def _ctypes_request(request: int, pid: int, addr: int, data: int) -> int:
    """ptrace(2) through ctypes, as the C extension's ``request`` behaves."""
    result = _raw(request, pid, addr or None, data)
    if result == -1:
        err = ctypes.get_errno()
        if err:
            raise OSError(err, os.strerror(err))
    return result


try:  # the C extension, when pip could build it (setup.py)
    from . import _ptrace as _c
    _request = _c.request
except ImportError:
    _c = None
    _request = _ctypes_request


_SYS_KCMP, _KCMP_FILE = 312, 0
_libc.syscall.restype = ctypes.c_long


def same_file(pid: int, fd: int, own_fd: int) -> bool:
    """Whether descriptor ``fd`` of process ``pid`` is the open file description the
    tracer holds as ``own_fd`` (kcmp(2) KCMP_FILE; ptrace access to ``pid`` suffices).
    False when ``fd`` is closed."""
    return _libc.syscall(ctypes.c_long(_SYS_KCMP), ctypes.c_long(pid),
                         ctypes.c_long(os.getpid()), ctypes.c_long(_KCMP_FILE),
                         ctypes.c_long(fd), ctypes.c_long(own_fd)) == 0


def _fail(request: int, pid: int, exc: OSError):
    raise PtraceError(f"ptrace({request}, {pid}) failed: {os.strerror(exc.errno)}",
                      errno=exc.errno, pid=pid) from None


def getregs(pid: int):
    regs = Registers()
    try:
        _request(PTRACE_GETREGS, pid, 0, _addressof(regs))
    except OSError as exc:
        _fail(PTRACE_GETREGS, pid, exc)
    return regs


PTRACE_PEEKUSER = 3
_RAX_OFFSET = Registers.rax.offset


def getrax(pid: int) -> int:
    """The stopped tracee's rax, signed (PTRACE_PEEKUSER): at a syscall-exit stop, the
    call's result, the one register the stop path needs there."""
    # (a PEEK's -1 is a value unless errno is set: glibc's ptrace clears errno when a
    # PEEK request succeeds, and _request raises only for -1 with errno set)
    try:
        value = _request(PTRACE_PEEKUSER, pid, _RAX_OFFSET, 0)
    except OSError as exc:
        _fail(PTRACE_PEEKUSER, pid, exc)
    return to_signed(value)


def copy_regs(regs):
    return Registers.from_buffer_copy(regs)


def setregs(pid: int, regs) -> None:
    try:
        _request(PTRACE_SETREGS, pid, 0, _addressof(regs))
    except OSError as exc:
        _fail(PTRACE_SETREGS, pid, exc)


PTRACE_POKEUSER = 6
# bit i of a register mask: the 8-byte word at offset 8 * i of struct user_regs_struct
REG_BIT = {name: 1 << (getattr(Registers, name).offset // 8) for name, _ in Registers._fields_}


_masks: dict[tuple, int] = {}   # names -> mask: a few sets of names recur at every stop


def reg_mask(names) -> int:
    """The mask of the registers named (putregs)."""
    key = tuple(names)
    mask = _masks.get(key)
    if mask is None:
        mask = 0
        for name in key:
            mask |= REG_BIT[name]
        if len(_masks) < 256:
            _masks[key] = mask
    return mask


def putregs(pid: int, mask: int, regs) -> None:
    """Set the registers of ``regs`` in ``mask`` (REG_BIT), one PTRACE_POKEUSER each:
    where a stop changes one to three registers, cheaper than PTRACE_SETREGS, which
    writes all of them (measured here: 1.0 us a POKEUSER, 3.3 us a SETREGS)."""
    words = (ctypes.c_uint64 * (ctypes.sizeof(regs) // 8)).from_buffer(regs)
    bit = 0
    while mask >> bit:
        if mask >> bit & 1:
            try:
                _request(PTRACE_POKEUSER, pid, bit * 8, words[bit])
            except OSError as exc:
                _fail(PTRACE_POKEUSER, pid, exc)
        bit += 1


PTRACE_GETSIGMASK = 0x420A
_addressof = ctypes.addressof
_word = ctypes.c_uint64()
_word_addr = ctypes.addressof(_word)
_siginfo = ctypes.create_string_buffer(SIGINFO_SIZE)
_siginfo_addr = ctypes.addressof(_siginfo)


def geteventmsg(pid: int) -> int:
    """The new task's pid at a fork/clone event stop (ptrace(2) PTRACE_GETEVENTMSG)."""
    try:
        _request(PTRACE_GETEVENTMSG, pid, 0, _word_addr)
    except OSError as exc:
        _fail(PTRACE_GETEVENTMSG, pid, exc)
    return _word.value


def getsiginfo(pid: int) -> bytes:
    try:
        _request(PTRACE_GETSIGINFO, pid, 0, _siginfo_addr)
    except OSError as exc:
        _fail(PTRACE_GETSIGINFO, pid, exc)
    return _siginfo.raw


def setsiginfo(pid: int, info: bytes) -> None:
    _siginfo.raw = info[:SIGINFO_SIZE].ljust(SIGINFO_SIZE, b"\0")
    try:
        _request(PTRACE_SETSIGINFO, pid, 0, _siginfo_addr)
    except OSError as exc:
        _fail(PTRACE_SETSIGINFO, pid, exc)


def getsigmask(pid: int) -> int:
    """The thread's blocked signals (ptrace(2) PTRACE_GETSIGMASK; it must be stopped):
    one call, where /proc/PID/status costs an open, a read and a parse."""
    try:
        _request(PTRACE_GETSIGMASK, pid, 8, _word_addr)
    except OSError as exc:
        _fail(PTRACE_GETSIGMASK, pid, exc)
    return _word.value


# ptrace(2) options
O_TRACESYSGOOD = 0x01
O_TRACEFORK = 0x02
O_TRACEVFORK = 0x04
O_TRACECLONE = 0x08
O_TRACEEXEC = 0x10
O_TRACEVFORKDONE = 0x20
O_TRACEEXIT = 0x40
O_TRACESECCOMP = 0x80
O_EXITKILL = 0x100000

# events, in bits 16..23 of a SIGTRAP stop status
EVENT_FORK = 1
EVENT_VFORK = 2
EVENT_CLONE = 3
EVENT_EXEC = 4
EVENT_VFORK_DONE = 5
EVENT_EXIT = 6
EVENT_SECCOMP = 7

# No O_TRACEEXIT: a process's end is handled at its native death, one stop later
# than the exit event would be and one stop cheaper. No O_TRACEFORK / O_TRACECLONE:
# every clone is trapped and runs natively with CLONE_PTRACE, which traces the child
# without a fork event stop in the parent (syscalls/process.py). O_TRACEVFORK stays:
# a vfork's parent returns only once the child has exec'd or exited.
TRACER_OPTIONS = (O_TRACESYSGOOD | O_TRACEVFORK | O_TRACEEXEC | O_TRACESECCOMP
                  | O_EXITKILL)

WALL = 0x40000000
WNOTHREAD = 0x20000000

MASK64 = (1 << 64) - 1


def cont(pid: int, sig: int = 0) -> None:
    try:
        _request(PTRACE_CONT, pid, 0, sig)
    except OSError as exc:
        _fail(PTRACE_CONT, pid, exc)


def syscall(pid: int, sig: int = 0) -> None:
    """Resume to the next syscall-exit-stop (after a seccomp stop, that of the same call)."""
    try:
        _request(PTRACE_SYSCALL, pid, 0, sig)
    except OSError as exc:
        _fail(PTRACE_SYSCALL, pid, exc)


# ru_maxrss (KiB) of native tasks whose death a wait reported, until the tracer takes
# it (died_maxrss): every native process of a host is the tracer's child, so the wait
# that reports its death reaps it, and its rusage is the only place left to read it.
_death_maxrss: dict[int, int] = {}


def died_maxrss(native: int) -> int:
    """The high-water mark of the resident set of a native task whose death was
    reported (getrusage(2) ru_maxrss, as wait4 gave it), 0 when not known."""
    return _death_maxrss.pop(native, 0)


def wait(who: int, flags: int) -> tuple[int, int]:
    """wait4(2) of ``who`` with ``flags``, the death's ru_maxrss kept: the stop loop's
    one wait (engine/trap.py chooses who and flags once per wait)."""
    native, status, usage = os.wait4(who, flags)
    if status & 0xFF != 0x7F and native:   # a death, not a stop (wait(2))
        _death_maxrss[native] = usage.ru_maxrss
    return native, status


# the statuses of the stops whose registers step() reads: a seccomp stop and a
# syscall-exit-stop (PTRACE_O_TRACESYSGOOD)
SECCOMP_STOP = (5 | EVENT_SECCOMP << 8) << 8 | 0x7F   # SIGTRAP
SYSEXIT_STOP = (5 | 0x80) << 8 | 0x7F


def step(how: int, pid: int, who: int, flags: int):
    """The stop loop's turn: resume ``pid`` (``how``: PTRACE_CONT or PTRACE_SYSCALL, with
    the signal to pass in bits 16 and up; 0: no request), wait(who, flags), and read
    what the stop path needs first: at a seccomp stop the registers and the call's six
    arguments, (native, status, regs, args); at a syscall-exit stop the call's result,
    (native, status, None, rax); else, or when the read failed, (native, status, None,
    None)."""
    if how:
        req, sig = how & 0xFFFF, how >> 16
        (cont if req == PTRACE_CONT else syscall)(pid, sig)
    native, status = wait(who, flags)
    try:
        if status == SECCOMP_STOP:
            regs = getregs(native)
            return native, status, regs, syscall_args(regs)
        if status == SYSEXIT_STOP:
            return native, status, None, getrax(native)
    except PtraceError:
        pass
    return native, status, None, None


def syscall_args(regs) -> tuple:
    """x86_64 syscall arguments: rdi, rsi, rdx, r10, r8, r9 (syscall(2))."""
    return (regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9)


_STOP_REQUESTS = ("getregs", "setregs", "putregs", "cont", "syscall", "geteventmsg",
                  "getsiginfo", "getsigmask", "wait", "step", "getrax")
# the functions above, through _request and os.wait4 (tests/trace/test_ptrace_ops.py
# runs both sets)
PYTHON_REQUESTS = {name: globals()[name] for name in _STOP_REQUESTS}
if _c is not None and hasattr(_c, "init"):   # (not an extension built before them)
    # The stop path's requests straight from C, each raising PtraceError as the
    # functions above do: no Python frame between the engine and the request.
    _own = [name for name in _STOP_REQUESTS if hasattr(_c, name)]
    if "wait" in _own:
        _c.init(PtraceError, Registers, _death_maxrss)   # wait()'s deaths' ru_maxrss
    else:
        _c.init(PtraceError, Registers)   # (an extension built before wait())
    globals().update({name: getattr(_c, name) for name in _own})


def wait_task(native: int) -> tuple[int, int]:
    """Next event of one tracee. The kernel finds it directly, where waiting for any
    child scans every child and tracee of the thread (do_wait): with a thousand
    processes alive that scan costs more than the stop itself."""
    return wait(native, WALL)


def poll_any() -> tuple[int, int]:
    """An event of any tracee of this thread if one is pending, else (0, 0)."""
    try:
        return wait(-1, WALL | WNOTHREAD | os.WNOHANG)
    except ChildProcessError:
        return 0, 0


_waitid = os.waitid  # the real one: drop-in mode replaces os.waitid during a test
_PEEK = os.WEXITED | os.WSTOPPED | os.WNOHANG | os.WNOWAIT | WALL


def event_pending(natives) -> bool:
    """Whether one of these tracees has an event to report (waitid(2) with WNOWAIT,
    which leaves it to be waited for). From a thread other than the tracer's too: the
    tracer's tracees are its process's (no __WNOTHREAD)."""
    for native in natives:
        try:
            if _waitid(os.P_PID, native, _PEEK) is not None:
                return True
        except ChildProcessError:
            return True  # not a tracee of this process any more: the tracer's to see
    return False


def wait_any() -> tuple[int, int]:
    """Next event of any tracee of *this thread* (__WNOTHREAD keeps other threads'
    children out of it)."""
    return wait(-1, WALL | WNOTHREAD)


def to_signed(value: int) -> int:
    value &= MASK64
    return value - (1 << 64) if value >> 63 else value


def tgkill(tgid: int, tid: int, sig: int) -> None:
    """Queue a real signal on one native thread (tgkill(2))."""
    if _libc.syscall(234, tgid, tid, sig) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
