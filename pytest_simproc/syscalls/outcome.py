"""What a handler returns: a value, or one of these.

A plain ``int`` completes the call: it becomes the return value (``-errno`` for
errors) written into rax while the native call is skipped. One ptrace stop.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


# the kernel's restart codes (include/linux/errno.h), never seen by a program: what
# strace shows for an interrupted call (Block.interrupted, engine/writeback.py)
ERESTARTSYS, ERESTARTNOHAND, ERESTART_RESTARTBLOCK = 512, 514, 516


@dataclass
class Native:
    """Let the kernel run the call for real, possibly with rewritten argument registers.

    ``on_exit(ctx, result) -> int`` (optional) sees the native result at the
    syscall-exit stop and returns the value the program gets; it costs a second stop.
    """
    regs: dict[str, int] = field(default_factory=dict)
    on_exit: Callable[[Any, int], int] | None = None
    # (address, bytes) written into the program's memory for the native call and the
    # program's bytes put back at its exit stop, as ``regs`` are
    patch: tuple[int, bytes] | None = None


@dataclass
class Block:
    """Park the calling thread; nothing runs natively meanwhile.

    ``retry(ctx)`` is called again whenever one of ``keys`` is notified and returns a new
    outcome. At ``deadline_ns`` (virtual) the call completes with ``on_timeout(ctx)``.
    A signal with a handler interrupts the call: ``restart`` says whether SA_RESTART may
    restart it (signal(7) "Interruption of system calls"), ``on_interrupt(ctx)`` lets it
    write what it must (e.g. nanosleep's remaining time) and returns the result.
    """
    keys: tuple = ()
    retry: Callable[[Any], Any] | None = None
    deadline_ns: int | None = None
    on_timeout: Callable[[Any], int] | None = None
    restart: bool = False
    on_interrupt: Callable[[Any], int] | None = None
    # what the kernel's call returns when a handler interrupts it, as strace shows it
    # before the handler runs: ERESTARTSYS for a call SA_RESTART restarts (the
    # default when ``restart``), ERESTARTNOHAND, ERESTART_RESTARTBLOCK; None: the
    # program's EINTR itself (epoll_wait(2), semop(2), sigtimedwait(2))
    interrupted: int | None = None
    # descriptors (the host's duplicates) and poll events that may end the wait
    io: list = field(default_factory=list)
    # releases what the call holds (duplicates) when the wait ends, however it ends
    cleanup: Callable[[], None] | None = None
    # ppoll/pselect6/epoll_pwait: the signal mask in force while waiting, and where
    # the program keeps it (a handler it unblocks runs as rt_sigsuspend would run it)
    sigmask: int | None = None
    sigmask_ptr: int = 0
    # a wait no descriptor can signal (a full Unix listener): asked when the host
    # re-polls descriptors, True ends the wait
    ready: Callable[[], bool] | None = None
    # ``ready`` asked after every step of the host too: the wait may end by a call the
    # host does not trap (a file lock's unlock, close(2), a holder's exit), and then
    # ends at the first stop after it, in program order
    ready_each_step: bool = False
    # epoll_wait: the targets its instance watches with EPOLLEXCLUSIVE, through which
    # one waiter per wake-up is woken (kernel/epollwake.py)
    exclusive: frozenset = frozenset()
    # False: signals stay pending until the wait ends (an injected delay, which strace
    # spends with the tracee stopped before or after its call)
    interruptible: bool = True


@dataclass
class NativePark:
    """Run natively a call that sleeps until a signal arrives (pause, rt_sigsuspend).

    The kernel keeps the thread asleep with the masks the call set; the host wakes it
    by queueing a real signal when the simulated kernel delivers one. ``mask`` is the
    blocked set while it sleeps (rt_sigsuspend's argument; None: the current mask).
    """
    mask: int | None = None


@dataclass
class Fork:
    """Let a process-creating clone run natively; the host assigns the virtual pid.

    ``parent_tid_ptr`` / ``child_tid_ptr``: CLONE_PARENT_SETTID / CLONE_CHILD_SETTID
    addresses where the kernel wrote the native tid and the host writes the virtual one.
    """
    flags: int
    exit_signal: int
    parent_tid_ptr: int = 0
    child_tid_ptr: int = 0
    clear_tid_ptr: int = 0   # CLONE_CHILD_CLEARTID: cleared and woken at thread exit
    stack: int = 0           # the child's stack pointer, when the call gives one
    pidfd_ptr: int = 0       # CLONE_PIDFD: where the kernel wrote the child's pidfd
    # How the native call differs from the program's, put back at its exit stop: the
    # native child never sends a real exit signal (the simulated kernel sends it), so
    # its parent has no signal-delivery stop to skip.
    regs: dict[str, int] = field(default_factory=dict)
    patch: tuple[int, bytes] | None = None   # (address, bytes) written in the program's memory


SYS_EVENTFD2 = 290
_RED_ZONE = 128  # x86_64 ABI: bytes below rsp the program may use without moving rsp


def scratch_copy(ctx, data: bytes) -> int:
    """Write ``data`` on the tracee's stack below the red zone, where nothing live can
    be, for a native call to read instead of the program's own bytes: the program's
    memory stays as it was (read-only too), and nothing needs putting back."""
    addr = (ctx.regs.rsp - _RED_ZONE - len(data)) & ~0xF
    ctx.mem.write(addr, data)
    return addr


def native_with_copy(ctx, reg: str, data: bytes) -> Native:
    """Run the call natively with ``reg`` pointing at a copy of ``data`` (the
    structure the program passed, as the kernel must see it)."""
    return Native(regs={reg: scratch_copy(ctx, data)})


def eventfd_in_place(flags: int, on_created) -> Native:
    """Run eventfd2(0, flags) natively instead of the trapped call (timerfd_create,
    signalfd): the host then feeds the eventfd; ``on_created(ctx, fd)`` registers it.
    The NONBLOCK and CLOEXEC flags mean the same for all three (eventfd(2))."""
    def created(ctx, fd):
        if fd >= 0:
            on_created(ctx, fd)
        return fd
    return Native(regs={"orig_rax": SYS_EVENTFD2, "rdi": 0, "rsi": flags}, on_exit=created)
