"""Identity and lifecycle: getpid & co, process groups and sessions, fork, wait, prctl.

Thread-creating clones are refused until the host schedules threads.
"""
from __future__ import annotations

import errno
import os
import re
import struct
from functools import partial

from ..kernel import wait as kwait
from ..kernel.errors import KernelError
from ..kernel.rlimits import RLIMIT_NPROC
from ..kernel.rusage import rusage_bytes
from ..trace.memory import in_user_space
from .time import CAP_SYS_ADMIN, capable, namespace_of_fd, setns_time, unshare_time
from . import privs
from .args import s32, u32
from . import cgroupfs, probe, procfs
from .outcome import Block, Fork, Native, scratch_copy
from .registry import handles

# sched.h
CLONE_VM = 0x00000100
CLONE_PTRACE = 0x00002000
CLONE_VFORK = 0x00004000
CLONE_PARENT = 0x00008000
CLONE_THREAD = 0x00010000
CLONE_PARENT_SETTID = 0x00100000
CLONE_CHILD_SETTID = 0x01000000
CLONE_CHILD_CLEARTID = 0x00200000
CLONE_UNTRACED = 0x00800000
CLONE_NEWTIME = 0x00000080
CLONE_PIDFD = 0x00001000
SIGCHLD = 17

WNOHANG = 1
WSTOPPED, WEXITED, WCONTINUED = 2, 4, 8
# kernel_waitid's accepted options: WNOHANG WNOWAIT WEXITED WSTOPPED WCONTINUED
# __WNOTHREAD __WCLONE __WALL
_WAITID_OPTIONS = 0x1 | 0x01000000 | 0x4 | 0x2 | 0x8 | 0x20000000 | 0x80000000 | 0x40000000
P_PID = 1
WNOWAIT_ = 0x01000000
P_PIDFD = 3


@handles("getpid")
def getpid(ctx, *_):
    return ctx.proc.pid


@handles("gettid")
def gettid(ctx, *_):
    return ctx.task.tid


@handles("getppid")
def getppid(ctx, *_):
    return ctx.proc.ppid


@handles("getpgrp")
def getpgrp(ctx, *_):
    return ctx.proc.pgid


@handles("getpgid")
def getpgid(ctx, pid, *_):
    return ctx.table.getpgid(ctx.proc.pid, s32(pid))


@handles("getsid")
def getsid(ctx, pid, *_):
    return ctx.table.getsid(ctx.proc.pid, s32(pid))


@handles("setpgid")
def setpgid(ctx, pid, pgid, *_):
    ctx.table.setpgid(ctx.proc.pid, s32(pid), s32(pgid))
    return 0


@handles("setsid")
def setsid(ctx, *_):
    return ctx.table.setsid(ctx.proc.pid)


@handles("set_tid_address")
def set_tid_address(ctx, tidptr, *_):
    # The kernel keeps clear_child_tid too; the program must learn its virtual tid
    # (glibc caches the return value as the thread's tid).
    ctx.task.clear_tid = tidptr
    return Native(on_exit=lambda c, _result: c.task.tid)


@handles("exit")
def exit_(ctx, status, *_):
    # exit(2) ends one thread; a process ends by exit_group(2), which is not trapped:
    # its native death carries the status.
    ctx.task.exits_alone = True
    return Native()


def _fork(ctx, flags, exit_signal, parent_tid_ptr, child_tid_ptr, native=None, stack=0,
          pidfd_ptr=0):
    if flags & CLONE_THREAD and not flags & CLONE_VM:
        return -errno.EINVAL  # clone(2): CLONE_THREAD needs CLONE_SIGHAND, which needs CLONE_VM
    soft_nproc = ctx.proc.rlimits[RLIMIT_NPROC][0]
    if ctx.table.process_count() >= soft_nproc:
        return -errno.EAGAIN  # fork(2): RLIMIT_NPROC reached (it counts threads too)
    # The tids are written where the program could write them, else nowhere: the
    # kernel ignores a fault there (clone(2) runs on); the writes ignore EFAULT
    fork = Fork(flags=flags, exit_signal=exit_signal,
                parent_tid_ptr=parent_tid_ptr if flags & CLONE_PARENT_SETTID else 0,
                child_tid_ptr=child_tid_ptr if flags & CLONE_CHILD_SETTID else 0,
                clear_tid_ptr=child_tid_ptr if flags & CLONE_CHILD_CLEARTID else 0,
                stack=stack, pidfd_ptr=pidfd_ptr if flags & CLONE_PIDFD else 0)
    if native is not None:
        native(fork)
    return fork


# The native clone differs from the program's in a few flags, and the program's
# registers and memory are put back at the exit stop (parent) and first stop (child):
# - CLONE_PTRACE, without CLONE_UNTRACED: the child is traced from its start, with a
#   SIGSTOP pending (clone(2)), and the tracer learns its native pid from the parent's
#   return value at the exit stop. The tracer does not ask for fork/clone events
#   (ptrace_ops.TRACER_OPTIONS): they would cost the parent one more stop. A program's
#   CLONE_UNTRACED would start a child no tracer sees.
# - CLONE_PARENT (new processes): the native child is the tracer's own child, not its
#   simulated parent's. Tracees never wait natively (wait4 is simulated), so children
#   of theirs would stay native zombies until they die, and a long-lived supervisor
#   would exhaust the machine's pids; the tracer reaps its own children at their death.
# - no exit signal: the simulated kernel sends SIGCHLD; a real one would cost a stop.
def _native_clone_flags(flags: int) -> int:
    native = (flags & ~(CSIGNAL | CLONE_UNTRACED)) | CLONE_PTRACE
    return native if flags & CLONE_THREAD else native | CLONE_PARENT


def _clone_without_signal(flags):
    """fork(2)/vfork(2) run as the equivalent clone(2)."""
    def rewrite(fork):
        fork.regs = {"orig_rax": SYS_CLONE, "rdi": _native_clone_flags(flags), "rsi": 0,
                     "rdx": 0, "r10": 0, "r8": 0}
    return rewrite


@handles("fork")
def fork(ctx, *_):
    return _fork(ctx, 0, SIGCHLD, 0, 0, _clone_without_signal(0))


@handles("vfork")
def vfork(ctx, *_):
    return _fork(ctx, CLONE_VM | CLONE_VFORK, SIGCHLD, 0, 0,
                 _clone_without_signal(CLONE_VM | CLONE_VFORK))


@handles("clone")
def clone(ctx, flags, stack, parent_tid, child_tid, _tls, *_):
    # x86_64 argument order: flags, stack, parent_tid, child_tid, tls (clone(2) NOTES)
    def rewrite(fork):
        fork.regs = {"rdi": _native_clone_flags(flags)}
    # clone(2): CLONE_PIDFD stores the pidfd where parent_tid points
    return _fork(ctx, flags & ~CSIGNAL, flags & CSIGNAL, parent_tid, child_tid, rewrite,
                 stack=stack, pidfd_ptr=parent_tid)


@handles("clone3")
def clone3(ctx, args_ptr, size, *_):
    if size > 4096:
        return -errno.E2BIG  # clone(2): larger than a page
    if size < 64:
        return -errno.EINVAL
    raw = ctx.mem.read(args_ptr, size)
    flags, _pidfd, child_tid, parent_tid, exit_signal, stack = struct.unpack_from("<6Q", raw)
    # clone(2) EINVAL: an exit signal that is none (the native call is given none), or
    # one for a thread or a CLONE_PARENT child; E2BIG: bytes set past the known struct
    if any(raw[_CLONE_ARGS_SIZE:]):
        return -errno.E2BIG
    if exit_signal & ~CSIGNAL or exit_signal > 64 or \
            exit_signal and flags & (CLONE_THREAD | CLONE_PARENT):
        return -errno.EINVAL
    if flags & CLONE_NEWTIME:
        # the child in a new time namespace: the host's (syscalls/time.py)
        if flags & CLONE_THREAD:
            return _refuse_time_namespace(ctx)
        if not capable(ctx, CAP_SYS_ADMIN):
            return -errno.EPERM

    def rewrite(fork):
        # the native call reads a copy of struct clone_args (flags at 0, exit_signal
        # at 32): the program's stays as it was
        native = struct.pack("<5Q", _native_clone_flags(flags) & ~CLONE_NEWTIME, _pidfd,
                             child_tid, parent_tid, 0) + raw[40:]
        fork.regs = {"rdi": scratch_copy(ctx, native)}
    return _fork(ctx, flags, exit_signal, parent_tid, child_tid, rewrite, stack=stack,
                 pidfd_ptr=_pidfd)


def _refuse_time_namespace(ctx) -> int:
    """A thread made in a new time namespace (clone3 CLONE_THREAD | CLONE_NEWTIME) is
    refused (EINVAL) and reported: the host keeps namespaces per process."""
    ctx.engine.refuse(ctx, "time namespaces: a thread in a namespace of its own")
    return -errno.EINVAL


@handles("unshare")
def unshare(ctx, flags, *_):
    if not flags & CLONE_NEWTIME:
        return Native()
    # time_namespaces(7): the host's own; the other flags the kernel's
    if not capable(ctx, CAP_SYS_ADMIN):
        return -errno.EPERM
    others = flags & ~CLONE_NEWTIME
    if not others:
        return unshare_time(ctx)
    return Native(regs={"rdi": others},
                  on_exit=lambda c, result: result if result < 0 else unshare_time(c))


@handles("setns")
def setns(ctx, fd, nstype, *_):
    nstype = u32(nstype)
    if nstype & ~CLONE_NEWTIME:
        return Native()  # another kind asked for: the kernel checks the descriptor
    pid = ctx.engine.pidfd_target(ctx.task, s32(fd)) if ctx.engine.pidfds else None
    if pid is not None:
        if nstype != CLONE_NEWTIME:
            return Native()
        if ctx.table.get(pid) is None or pid not in ctx.engine.info:
            return -errno.ESRCH
        return setns_time(ctx, ctx.engine.timens.of(pid))
    ns = namespace_of_fd(ctx, s32(fd))
    if ns is None:
        return Native()  # another kind of namespace, or EBADF: the kernel's answer
    return setns_time(ctx, ns)


SYS_CLONE = 56
CSIGNAL = 0xFF   # clone(2): the exit signal in the low byte of the flags
_CLONE_ARGS_SIZE = 88  # struct clone_args up to cgroup (CLONE_ARGS_SIZE_VER2)


def _write_rusage(ctx, ptr, event):
    if ptr:
        ctx.mem.write(ptr, rusage_bytes(ctx.engine.waited_usage(event)))


@handles("wait4")
def wait4(ctx, pid, status_ptr, options, rusage_ptr, *_):
    return _wait4_attempt(ctx.proc.pid, s32(pid), status_ptr, u32(options), rusage_ptr, ctx)


def _wait4_attempt(caller, pid, status_ptr, options, rusage_ptr, ctx):
    event = kwait.wait4(ctx.table, caller, pid, options)
    if event is None:
        if options & WNOHANG:
            return 0
        # a partial, not a closure naming itself: that would be a reference cycle
        # per blocking wait, left to the garbage collector
        return Block(keys=(("child", caller),), restart=True,
                     retry=partial(_wait4_attempt, caller, pid, status_ptr, options,
                                   rusage_ptr))
    if not options & WNOWAIT_:
        ctx.engine.child_event_consumed(caller, event)
    # wait4(2): the child is reaped before the status and usage are written, so
    # a bad pointer loses them (EFAULT) as in the kernel
    if status_ptr:
        ctx.mem.write_i32(status_ptr, event.status)
    _write_rusage(ctx, rusage_ptr, event)
    return event.pid


def _write_siginfo(ctx, ptr, event):
    """The fields of siginfo_t the kernel's waitid writes, and only those, also when
    nothing was waited for (zeros): si_signo, si_errno, si_code, then si_pid, si_uid,
    si_status (sigaction(2))."""
    if not in_user_space(ptr, 128):
        raise OSError(errno.EFAULT, "siginfo outside user space")
    signo, code, pid, uid, status = (SIGCHLD, event.si_code, event.pid, event.uid,
                                     event.si_status) if event else (0, 0, 0, 0, 0)
    ctx.mem.write(ptr, struct.pack("<iii", signo, 0, code))
    ctx.mem.write(ptr + 16, struct.pack("<iii", pid, uid, status))


@handles("waitid")
def waitid(ctx, idtype, ident, infop, options, rusage_ptr, *_):
    # As the kernel's waitid, whatever the outcome (an error too) the siginfo is then
    # written when infop is given, and a bad infop makes it EFAULT.
    idtype, ident, options = u32(idtype), s32(ident), u32(options)
    caller = ctx.proc.pid

    def finish(ctx, result, event=None):
        if infop:
            _write_siginfo(ctx, infop, event)
        return result

    nothing_waited = 0  # the result when nothing is to be waited for and WNOHANG is set
    if idtype == P_PIDFD and ident >= 0 and not options & ~_WAITID_OPTIONS and \
            options & (WEXITED | WSTOPPED | WCONTINUED):
        # waitid(2): P_PIDFD waits for the process the pidfd refers to
        target = ctx.engine.pidfd_target(ctx.task, ident)
        if target is None:
            return finish(ctx, -errno.EBADF)
        looked = probe.look(ctx.engine, ctx.task, ident, 0)
        if not options & WNOHANG and looked >= 0 and looked & probe.NONBLOCKING:
            # waitid(2): a pidfd opened with PIDFD_NONBLOCK (O_NONBLOCK) fails
            # with EAGAIN where the wait would block
            options |= WNOHANG
            nothing_waited = -errno.EAGAIN
        idtype, ident = P_PID, target

    def attempt(ctx):
        try:
            event = kwait.waitid(ctx.table, caller, idtype, ident, options)
        except KernelError as exc:
            return finish(ctx, -exc.errno)
        if event is None:
            if options & WNOHANG:
                return finish(ctx, nothing_waited)
            return Block(keys=(("child", caller),), retry=attempt, restart=True)
        if not options & WNOWAIT_:
            ctx.engine.child_event_consumed(caller, event)
        _write_rusage(ctx, rusage_ptr, event)
        return finish(ctx, 0, event)

    return attempt(ctx)


# prctl(2) options the simulated kernel answers; every other option runs natively.
PR_SET_PDEATHSIG = 1
PR_GET_PDEATHSIG = 2
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37


@handles("prctl")
def prctl(ctx, option, arg2, arg3, arg4, arg5, *_):
    option = s32(option)
    if option in privs.OPTIONS:
        return privs.prctl(ctx, option, arg2, arg3, arg4, arg5)
    if option == PR_SET_PDEATHSIG:
        if not 0 <= arg2 <= 64:  # an unsigned long, judged whole (valid_signal)
            return -errno.EINVAL
        ctx.table.set_pdeathsig(ctx.proc.pid, arg2)
        return 0
    if option == PR_GET_PDEATHSIG:
        ctx.mem.write_i32(arg2, ctx.proc.pdeathsig)
        return 0
    if option == PR_SET_CHILD_SUBREAPER:
        ctx.table.set_subreaper(ctx.proc.pid, bool(arg2))
        return 0
    if option == PR_GET_CHILD_SUBREAPER:
        ctx.mem.write_i32(arg2, int(ctx.proc.is_subreaper))
        return 0
    return Native()


PIDFD_NONBLOCK = 0o4000


@handles("pidfd_open")
def pidfd_open(ctx, pid, flags, *_):
    pid, flags = s32(pid), u32(flags)
    if pid <= 0 or flags & ~PIDFD_NONBLOCK:
        return -errno.EINVAL
    native = ctx.engine.native_pid_of(pid)
    if native is None:
        # pidfd_open(2): ESRCH for a pid that does not exist -- in this host: processes
        # outside it cannot be named at all
        proc = ctx.table.get(pid)
        return -errno.EINVAL if proc is not None and proc.state == "zombie" else -errno.ESRCH

    def opened(c, fd):
        if fd >= 0:
            c.engine.pidfd_created(c.task, fd, pid)
        return fd

    return Native(regs={"rdi": native}, on_exit=opened)


@handles("pidfd_getfd")
def pidfd_getfd(ctx, pidfd, targetfd, flags, *_):
    """Natively: a program's pidfds name native processes of its host only (pidfd_open
    and CLONE_PIDFD are the host's). The host's init, which has no native
    process, is not the programs' to take descriptors from: EPERM, after the flags'
    EINVAL (pidfd_getfd(2))."""
    if u32(flags) == 0 and ctx.engine.pidfds and \
            ctx.engine.pidfd_target(ctx.task, s32(pidfd)) == 1:
        return -errno.EPERM
    return Native()


CAP_CHECKPOINT_RESTORE = 40  # capabilities(7)


def pid_file_write(ctx, fd: int, buf: int, count: int):
    """write(2) to a file that takes pids: /proc/sys/kernel/ns_last_pid or a cgroup's
    pid list (syscalls/cgroupfs.py); None for any other descriptor, and at once until
    a program opened one."""
    if not ctx.table.pid_files_open:
        return None
    written = ns_last_pid_write(ctx, fd, buf, count)
    return cgroupfs.cgroup_write(ctx, fd, buf, count) if written is None else written


def ns_last_pid_write(ctx, fd: int, buf: int, count: int):
    """write(2) to /proc/sys/kernel/ns_last_pid (rendered by procfs.py at its open):
    the host's pid namespace takes the value, never the machine's: the next process
    or thread gets the first free id after it (pid_namespaces(7)). EPERM without
    CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE, EINVAL for no number or one outside
    0..pid_max; a write past position 0 is ignored (sysctl's strict writes). None for
    any other descriptor."""
    if fd < 0:
        return None
    native = ctx.task.tgid_native
    try:
        link = os.readlink(b"/proc/%d/fd/%d" % (native, fd)).removesuffix(b" (deleted)")
        if link != procfs.rendered_path(ctx, procfs.NS_LAST_PID):
            return None
        with open(b"/proc/%d/fdinfo/%d" % (native, fd), "rb") as f:
            position = int(f.readline().split()[1])
            flags = int(f.readline().split()[1], 8)
    except OSError:
        return None
    if flags & os.O_ACCMODE == os.O_RDONLY or flags & os.O_PATH:
        return None  # the kernel's EBADF
    if not (capable(ctx, CAP_SYS_ADMIN) or capable(ctx, CAP_CHECKPOINT_RESTORE)):
        return -errno.EPERM
    data = ctx.mem.read(buf, count) if count else b""
    if position:
        return count
    words = data.split(b"\0", 1)[0].split()
    if not words or not re.fullmatch(rb"-?[0-9]+", words[0]):
        return -errno.EINVAL
    value = int(words[0])
    try:
        ctx.table.set_last_pid(value)
    except KernelError as exc:
        return -exc.errno
    return count
