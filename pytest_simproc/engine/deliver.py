"""Signals carried out on native threads: kill(2) and friends generate through the
kernel's rules (kernel.delivery), and its outcomes become ptrace requests: a handler
frame set up by a native tgkill whose siginfo is replaced at its delivery stop, a group
stop or continue, a termination. Signals the real kernel raises are sorted here too."""
from __future__ import annotations

import errno
import os
import signal as _signal
import struct

from ..kernel import Signaled
from ..kernel import delivery
from ..kernel.delivery import CLD_CONTINUED, CLD_STOPPED, kill_info
from ..kernel.sigstate import SI_KERNEL, SI_MESGQ, SI_TKILL, SA_RESTART, kill_targets
from ..syscalls.outcome import ERESTARTNOHAND, ERESTARTSYS, Block, Native
from ..syscalls.tty import route_native_signal
from ..trace import ptrace_ops as pt
from ..trace.procstatus import status_sets
from .decode import is_foreign_abi_trap
from .records import Task, blocked_mask
from .writeback import SYS_RT_SIGSUSPEND, eintr_after_handler

SIGCHLD = _signal.SIGCHLD
SIGSTOP = _signal.SIGSTOP
SIGCONT = _signal.SIGCONT
# Signals a thread raises against itself by faulting: they pass straight through.
SYNCHRONOUS_SIGNALS = {_signal.SIGSEGV, _signal.SIGBUS, _signal.SIGILL, _signal.SIGFPE,
                       _signal.SIGTRAP, _signal.SIGSYS, _signal.SIGPIPE, _signal.SIGXFSZ}
POLL_IN, POLL_HUP = 1, 6     # SIGIO si_codes (sigaction(2))


def _signal_outsider(pid: int, sig: int) -> None:
    """A program's signal for the host's outsider (drop-in mode's test process, a
    native process under its own pid: ProcessTable.add_outsider) is a real one, but
    for a stop signal at its default disposition, which is dropped: it would stop the
    host that runs the sender (kernel.delivery.reaches_outsider)."""
    sets = status_sets(pid, pid, (b"SigCgt", b"SigIgn"))
    if delivery.reaches_outsider(sig, sets.get(b"SigCgt", 0), sets.get(b"SigIgn", 0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


class SignalDelivery:
    """Generating signals and delivering them to native threads."""

    def kill(self, caller: int, pid: int, sig: int, code: int = 0) -> int:
        """kill(2) inside the host; returns 0 or -errno."""
        targets = kill_targets(self.table, caller, pid)
        if not targets:
            return -errno.ESRCH
        if sig:
            outsider = self.table.outsider
            for proc in targets:
                if proc is outsider:
                    if caller != 1:   # SimHost.kill: the test signals itself
                        _signal_outsider(proc.pid, sig)
                    continue
                self._post_signal(proc.pid, sig, kill_info(sig, code, caller))
        return 0

    def kill_from_outside(self, pid: int, sig: int) -> int:
        """SimHost.kill: kill(2) from init, then every killed process is seen through to
        its native end before the call returns."""
        result = self.kill(1, pid, sig)
        self._collect_dying()
        return result

    def kill_thread(self, caller: int, tgid, tid: int, sig: int) -> int:
        """tkill(2)/tgkill(2): a signal for one thread."""
        task = self.tasks_by_tid.get(tid)
        refused = delivery.tkill_check(self.table, tgid, tid,
                                       task.proc.pid if task is not None else None)
        if refused is not None:
            return refused
        if sig:
            self._post_signal(task.proc.pid, sig, kill_info(sig, SI_TKILL, caller), task)
        return 0

    def queue_signal(self, caller: int, tgid: int, tid, sig: int, info: bytes) -> int:
        """rt_sigqueueinfo(2) / rt_tgsigqueueinfo(2) with the caller's siginfo."""
        task = self.tasks_by_tid.get(tid) if tid is not None else None
        info = delivery.sigqueueinfo(self.table, caller, tgid, tid, sig, info,
                                     task.proc.pid if task is not None else None)
        if isinstance(info, int):
            return info
        if sig:
            self._post_signal(tgid, sig, info, task)
        return 0

    def raise_sigpipe(self, task: Task) -> None:
        """A write to a pipe or socket with no reader: SIGPIPE for the writing thread,
        as the kernel sends it (send_sig: SI_USER from the writer itself; pipe(7))."""
        pid = task.proc.pid
        self._post_signal(pid, _signal.SIGPIPE, kill_info(_signal.SIGPIPE, 0, pid), task)

    def _post_timer_signal(self, pid: int, tid, sig: int, info) -> None:
        """A timer's signal: for the process, or for the thread a SIGEV_THREAD_ID timer
        names; lost if that thread has ended (timer_create(2))."""
        if tid is None:
            self._post_signal(pid, sig, info)
            return
        task = self.tasks_by_tid.get(tid)
        if task is not None and task.proc.pid == pid and not task.exiting:
            self._post_signal(pid, sig, info, task)

    def _cpu_limit_reached(self, pid: int, info, due) -> None:
        """RLIMIT_CPU's signal (kernel.rlimits.cpu_limit_signal) is sent."""
        sig, info.xcpu_next_ns = due
        self._post_signal(pid, sig, kill_info(sig, SI_KERNEL, 0))

    def _post_signal(self, pid: int, sig: int, info: bytes, task=None) -> None:
        """Generate ``sig`` for process ``pid`` (or one of its threads) and carry out
        what the kernel decides (kernel.delivery.generate); delivery happens at the
        target's next deterministic point."""
        proc = self.table.get(pid)
        pinfo = self.info.get(pid)
        if pinfo is None:
            return
        threads = [t for t in pinfo.tasks if not t.exiting] if task is None else ()
        outcomes = delivery.generate(proc, sig, pinfo.dispositions.get(sig), threads,
                                     blocked_mask, task)
        if not outcomes:
            return
        for outcome in outcomes:
            kind = type(outcome)
            if kind is delivery.Queue:
                task = outcome.thread
                task.pending.add(sig, info)
                if self.signalfds:
                    self.signalfd_update(pid)
            elif kind is delivery.Discard:
                task = outcome.thread
                if self.strace is not None:  # strace still sees it delivered (and ignored)
                    self.strace.signal(task.tid, info, self.clock.now_ns)
            elif kind is delivery.CancelPending:
                for cancelled in outcome.signals:
                    outcome.thread.pending.discard(cancelled)
            elif kind is delivery.ContinueGroup:
                self._continue(proc)
            elif kind is delivery.StopGroup:
                if self.strace is not None:
                    self.strace.signal(outcome.thread.tid, info, self.clock.now_ns)
                self._stop(proc, sig)
                return
            else:  # Terminate (SIGKILL)
                if self.before_kill is not None:  # e.g. coverage's save (host/measure.py)
                    self.before_kill(proc)
                self.terminate(proc, Signaled(outcome.sig))
                return
        if proc.state != "running" or not task.pending:
            return
        if ((task.block is not None and task.block[0].interruptible)
                or task.native_parked):
            self._deliver_pending(task)
        if task.block is not None:  # still parked: rt_sigtimedwait may want it
            self._notify(("signal", task.tid))

    def _deliver_pending(self, task: Task) -> None:
        """Carry out the delivery of every pending signal the thread does not block
        (kernel.delivery.dequeue): a handler frame for each before the thread runs on,
        as on any return to user mode (signal(7))."""
        pid = task.proc.pid
        for info, outcome in delivery.dequeue(task.pending, blocked_mask(task),
                                              self.info[pid].dispositions):
            if self.signalfds:
                self.signalfd_update(pid)
            kind = type(outcome)
            if kind is delivery.RunHandler:
                self._inject(task, outcome.sig, info, outcome.flags)
                continue
            if kind is delivery.Dropped:
                continue
            if self.strace is not None:
                self.strace.signal(task.tid, info, self.clock.now_ns)
            if kind is delivery.Terminate:
                self.terminate(task.proc, Signaled(outcome.sig, core=outcome.core))
                return
            if kind is delivery.StopGroup:
                self._stop(task.proc, outcome.sig)
                return

    def _inject(self, task: Task, sig: int, info: bytes, flags: int) -> None:
        """Run the program's handler: the real kernel sets up its frame for a signal
        sent natively (tgkill), whose siginfo is replaced at its delivery stop."""
        if task.block is not None and task.wake == "retry" and self._completes(task):
            pass  # the call ended with its event; the handler runs as it returns
        elif task.block is not None:
            block, ctx = self._end_block(task)
            self.sched.unpark(task)
            self.sched.add(task)
            if block.sigmask_ptr:
                # The handler must run under the call's temporary mask, which only the
                # kernel can install for it: the call becomes rt_sigsuspend(that mask),
                # which returns EINTR after the handler and restores the old mask, as
                # ppoll(2)/pselect(2)/epoll_pwait(2) do.
                task.native_call = Native(regs={"orig_rax": SYS_RT_SIGSUSPEND,
                                                "rdi": block.sigmask_ptr, "rsi": 8},
                                          on_exit=eintr_after_handler)
            elif block.restart and flags & SA_RESTART:
                task.restart_syscall = True
                self._complete(task, -ERESTARTSYS)
            else:
                result = block.on_interrupt(ctx) if block.on_interrupt else -errno.EINTR
                shown = block.interrupted or (ERESTARTSYS if block.restart else None)
                if result == -errno.EINTR and shown is not None:
                    # the kernel's return as strace shows it; the program gets EINTR
                    task.result = result
                    self._log_exit(task, -shown)
                else:
                    self._complete(task, result)
        elif task.native_parked:
            self.sched.unpark(task)
            self.sched.add(task)
            task.expect_stop = True
        task.injected.append((sig, info))
        pt.tgkill(task.tgid_native, task.native, sig)

    def _completes(self, task: Task) -> bool:
        """A parked call woken by its event (a child's exit, data) when a signal comes
        at the same instant ends with that event: the kernel's wait loops look for
        their condition before they look for a pending signal (wait(2)'s do_wait,
        pipe(7) reads), so a wait4 woken by an exit reaps the child and only then
        does the SIGCHLD handler run. True when the call completed that way."""
        block, ctx = task.block
        if block.retry is None:
            return False
        outcome = self._call(block.retry, ctx)
        if isinstance(outcome, Block):
            if outcome.cleanup is not None:
                outcome.cleanup()
            return False
        self._end_block(task)
        task.wake = None
        self.sched.unpark(task)
        self.sched.add(task)
        self._apply(task, ctx, outcome)
        return True

    def _stop(self, proc, sig: int) -> None:
        if not self.table.stop(proc.pid, sig):
            return
        if self.strace is not None:  # every thread enters the group stop
            for task in self.info[proc.pid].tasks:
                if not task.exiting:
                    self.strace.stopped(task.tid, sig, self.clock.now_ns)
        self._notify_parent_of_state(proc, CLD_STOPPED, sig)

    def _continue(self, proc) -> None:
        if not self.table.cont(proc.pid):
            return
        self._notify_parent_of_state(proc, CLD_CONTINUED, SIGCONT)

    def _notify_parent_of_state(self, proc, code: int, status: int) -> None:
        self._notify(("child", proc.ppid))
        parent_info = self.info.get(proc.ppid) if proc.ppid != 1 else None
        send = delivery.state_change_sigchld(
            proc.ppid, parent_info.dispositions.get(SIGCHLD) if parent_info else None,
            proc.pid, code, status)
        if send is not None:
            self._post_signal(send.pid, send.sig, send.info)

    def _on_signal_stop(self, task: Task, sig: int) -> None:
        native = task.native
        if task.awaiting_initial and sig == SIGSTOP:
            self._on_first_stop(task)
            return
        if sig == SIGSTOP and self._on_preempt_stop(task):
            return
        injected = next((i for i, (s, _) in enumerate(task.injected) if s == sig), None)
        if injected is not None:
            # Ours (a native SIGCHLD pending at the same time coalesced with it, so the
            # siginfo is not checked): give it the simulated kernel's siginfo. The
            # kernel picks the order among several: match by signal number.
            _, virtual_info = task.injected.pop(injected)
            pt.setsiginfo(native, virtual_info)
            task.deliver_sig = sig
            task.stop = "signal"
            if task.native_parked:  # pause()/sigsuspend() ends with the handler
                task.native_parked = False
                self._log_exit(task, -ERESTARTNOHAND)
            if self.strace is not None:
                self.strace.signal(task.tid, virtual_info, self.clock.now_ns)
            return
        info = pt.getsiginfo(native) if sig == _signal.SIGSYS else None
        if info is not None and is_foreign_abi_trap(info):
            self._refuse_foreign_call(task, info)
            pt.cont(native, 0)
            return
        if sig in SYNCHRONOUS_SIGNALS:
            info = _sent_by_itself(task, info or pt.getsiginfo(native))
            if self.strace is not None:
                self.strace.signal(task.tid, info, self.clock.now_ns)
            pt.cont(native, sig)
            return
        if sig != SIGCHLD:
            info = pt.getsiginfo(native)
            if _from_io_owner(sig, info):
                # fcntl(2) F_SETOWN: the kernel signals a descriptor's owner (a process
                # of the host, syscalls/owner.py) when I/O is possible. The simulated
                # kernel takes it over, as if it had sent it: its masks, dispositions
                # and waits (sigsuspend, sigwaitinfo) then apply as to any signal.
                self._post_signal(task.proc.pid, sig, info, task=task)
                if task.block is None and not task.native_parked and task.pending:
                    # it reached the thread on its way to user mode (dnotify's signal
                    # during the program's own rename): its handler runs before the
                    # program's next instruction, as natively (queued before the
                    # thread goes on, the kernel delivers it at once)
                    self._deliver_pending(task)
                pt.cont(native, 0)
                return
            if struct.unpack_from("<i", info, 8)[0] == SI_MESGQ:
                # mq_notify(3): the kernel signals the queue's registered process when
                # a message reaches the empty queue; the simulated kernel takes it over,
                # with the sender's virtual pid
                pt.cont(native, 0)
                self._post_signal(task.proc.pid, sig, self.mesgq_info(info), task=task)
                return
            if route_native_signal(self, task, sig, struct.unpack_from("<i", info, 8)[0]):
                pt.cont(native, 0)  # the terminal's (syscalls/tty.py)
                return
            # Not ours, not the program's own fault: someone outside sent it.
            self.external_signals.append({"pid": task.proc.pid, "signal": sig})
        # Suppressed: SIGCHLD is the simulated kernel's to send. A parked
        # pause()/sigsuspend() restarts natively and goes back to sleep.
        pt.cont(native, 0)


    def mesgq_info(self, info: bytes) -> bytes:
        """An SI_MESGQ siginfo naming the sender's native pid (si_pid, at 16): the
        sender's virtual pid instead, when it is a program of this host."""
        native = struct.unpack_from("<i", info, 16)[0]
        sender = self.tasks.get(native)
        if sender is not None:
            pid = sender.proc.pid
        else:  # it has ended since (a zombie's facts stay until it is reaped)
            pid = next((p for p, i in self.info.items() if i.native == native), None)
            if pid is None:
                return info
        return info[:16] + struct.pack("<i", pid) + info[20:]


def _sent_by_itself(task: Task, info: bytes) -> bytes:
    """A signal the kernel sends a process for its own call (SIGXFSZ, SIGPIPE: send_sig,
    SI_USER) names its native pid as the sender: the virtual one is put in its place."""
    code, pid = struct.unpack_from("<i4xi", info, 8)
    if code != 0 or pid != task.tgid_native:
        return info
    info = info[:16] + struct.pack("<i", task.proc.pid) + info[20:]
    pt.setsiginfo(task.native, info)
    return info


def _from_io_owner(sig: int, info: bytes) -> bool:
    """A signal the kernel sent to a descriptor's owner: SIGIO/SIGURG as SI_KERNEL, or
    the F_SETSIG signal with a POLL_* si_code. Nobody else can send a positive si_code
    to another process (rt_sigqueueinfo(2): EPERM)."""
    code = struct.unpack_from("<i", info, 8)[0]
    return POLL_IN <= code <= POLL_HUP or (code == SI_KERNEL and sig in (_signal.SIGIO,
                                                                         _signal.SIGURG))
