"""Processes and threads coming and going: spawn, a clone's child adopted into the model,
exec, one thread's exit, a process's end (its kernel outcome: SIGCHLD, reparenting,
pdeath signals, orphaned groups) and the native death that completes it."""
from __future__ import annotations

import os
import signal as _signal

from ..kernel import Exited, Signaled
from ..kernel import exits, rusage
from ..kernel.errors import KernelError
from ..kernel.rlimits import native_rlimits
from ..kernel.signals import default_action
from ..kernel.sigstate import SignalDispositions
from ..syscalls.thread import futex_key
from ..syscalls.time import publish_namespace
from ..trace import ptrace_ops as pt
from ..trace.execpatch import patch_auxv
from ..trace.memory import TraceeMemory
from ..trace.vdso import TraceeGone, install as install_vdso
from ..trace.spawn import SpawnFailed, spawn_traced
from .records import ProcInfo, Task, syscall_args
from .writeback import put_back

SIGKILL = _signal.SIGKILL
CLONE_VM = 0x100
CLONE_NEWTIME = 0x80   # clone3(2) only: the low byte of clone(2)'s flags is CSIGNAL
CLONE_PARENT = 0x8000
CLONE_THREAD = 0x10000
CLONE_SETTLS = 0x80000


class Lifecycle:
    """Birth, exec and death of simulated processes and their native tasks."""

    def spawn(self, path, argv, env, cwd, fds, rlimits=None, startup=False) -> object:
        """``startup``: the program pays its start-up as one a host's process execs
        does (``_on_exec``), unless it is the host's first."""
        limits = dict(self.table.default_rlimits)
        limits.update(rlimits or {})
        native_limits = native_rlimits(limits)
        proc = self.table.spawn(list(argv), os.path.basename(argv[0]), self.clock.now_ns,
                                rlimits=rlimits)
        execve_call = []
        if self.strace is not None:
            self.strace.process_started(proc.pid, proc.exe)

            def on_execve(native):
                regs = pt.getregs(native)
                mem = TraceeMemory(native)
                try:
                    execve_call.append(self.strace.syscall_entry(
                        proc.pid, regs.orig_rax, syscall_args(regs), mem, self.clock.now_ns))
                finally:
                    mem.close()
        else:
            on_execve = None
        try:
            native = spawn_traced(path, argv, env, cwd, fds, self._filter, self._cpu,
                                  native_limits, on_execve)
        except BaseException:
            self.table.forget_spawn(proc.pid)
            raise
        info = ProcInfo(native, SignalDispositions())
        self.info[proc.pid] = info
        task = self._add_task(native, proc, info)
        task.stop = "event"  # at its exec event
        self.sched.add(task)  # (before _on_exec, whose start-up charge parks it)
        self._on_exec(task, spawned=not startup or len(self.info) == 1, argv=proc.argv)
        if execve_call:
            self.strace.syscall_exit(execve_call[0], 0, task.mem, self.clock.now_ns)
        return proc

    def adopt(self, native: int, actions: dict) -> object:
        """A process made outside the host joins it as a program of the host: the test
        process's fork, with the signal ``actions`` it has natively. Attached here (it
        stops at the attach's SIGSTOP, which its first resume discards), it is
        simulated from its next trapped call on: it installs the filter itself."""
        argv = _read_cmdline(native)
        proc = self.table.spawn(argv, os.path.basename(argv[0]) if argv else "?",
                                self.clock.now_ns)
        try:
            pt.attach(native)
            while True:
                _, status = pt.wait_task(native)
                if not os.WIFSTOPPED(status):
                    raise SpawnFailed(f"process {native} ended before it joined the host")
                if os.WSTOPSIG(status) == _signal.SIGSTOP:
                    break
                pt.cont(native, os.WSTOPSIG(status))  # a signal of its own: delivered
            pt.setoptions(native, pt.TRACER_OPTIONS)
        except BaseException:
            self.table.forget_spawn(proc.pid)
            raise
        if self._cpu is not None:
            os.sched_setaffinity(native, {self._cpu})
        info = ProcInfo(native, SignalDispositions(actions))
        self.info[proc.pid] = info
        task = self._add_task(native, proc, info)
        if self.strace is not None:
            self.strace.process_started(proc.pid, proc.exe)
        task.stop = "initial"  # resumed without its SIGSTOP by the scheduler
        self.sched.add(task)
        return proc

    def _add_task(self, native: int, proc, info: ProcInfo) -> Task:
        task = Task(native, proc, info.native)
        self.tasks[native] = task
        self.tasks_by_tid[task.tid] = task
        info.tasks.append(task)
        self.alive += 1
        return task

    def _on_vfork(self, task: Task) -> None:
        """PTRACE_EVENT_VFORK: vfork(2)'s parent sleeps natively until the child execs or
        exits, and its exit stop comes only then: the child is adopted now."""
        fork = task.fork
        vpid = task.fork_child = self._adopt_child(task, pt.geteventmsg(task.native), fork)
        pt.syscall(task.native)  # on to the syscall-exit stop, to write the virtual pid
        if vpid > 0 and not fork.flags & CLONE_THREAD:
            self.info[vpid].vfork_parent = task
            task.expect_stop = False
            self.sched.park(task, keys=(("vfork", vpid),))

    def _adopt_child(self, task: Task, child_native: int, fork) -> int:
        """The native clone made ``child_native`` (traced through CLONE_PTRACE, stopped
        or about to stop with its SIGSTOP): enter it into the model. Returns its virtual
        pid (tid for a thread), or -errno when the model refuses it, which then kills it."""
        if fork.flags & CLONE_THREAD:
            return self._adopt_thread(task, child_native, fork)
        parent = task.proc
        # clone(2) CLONE_PARENT: the child is the caller's sibling, and ends with the
        # caller's own exit signal to their parent
        clone_parent = bool(fork.flags & CLONE_PARENT)
        try:
            child = self.table.fork(parent.pid, self.clock.now_ns, clone_parent=clone_parent)
        except KernelError as exc:
            # The model refuses (no free pid): undo the native fork, fail the call.
            os.kill(child_native, SIGKILL)
            self._stash.pop(child_native, None)
            self._native_unreaped.add(child_native)
            return -exc.errno
        parent_info = self.info[parent.pid]
        if not fork.flags & CLONE_VM:  # fork(2) copies the memory map: the parent's time
            self._charge_cpu(parent, parent_info, rusage.FORK_SYSTEM_NS,
                             rusage.FORK_SYSTEM_NS)
        info = ProcInfo(child_native, parent_info.dispositions.copy(),
                        parent_info.exit_signal if clone_parent else fork.exit_signal)
        self.info[child.pid] = info
        if self.timerfds or self.signalfds or self.pidfds:
            self._inherit_fd_objects(parent.pid, child.pid)
        child_task = self._add_task(child_native, child, info)
        image = self.vdso_images.get(parent.pid)
        if image is not None:
            self.vdso_images[child.pid] = image
        self.uts.fork(parent.pid, child.pid)
        if (self.timens.active or fork.flags & CLONE_NEWTIME) and self.timens.fork(
                parent.pid, child.pid, shares_memory=bool(fork.flags & CLONE_VM),
                new=bool(fork.flags & CLONE_NEWTIME)):
            # stopped before its first instruction (CLONE_PTRACE's SIGSTOP)
            publish_namespace(self, child.pid, child_task)
        if self.strace is not None:
            self.strace.process_started(child.pid, child.exe)
        child_task.child_tid_ptr = fork.child_tid_ptr
        child_task.clear_tid = fork.clear_tid_ptr  # its only thread's, as for a thread
        # The child starts with the parent's registers and (without CLONE_VM) a copy of
        # its memory, rewritten for the native clone: put the program's back at its
        # first stop.
        self._await_first_stop(task, child_task, fork, copies_memory=not fork.flags & CLONE_VM)
        return child.pid

    def _adopt_thread(self, task: Task, native: int, fork) -> int:
        """clone(CLONE_THREAD): a new task in the same process, with a tid from the
        shared pid counter (clone(2))."""
        proc = task.proc
        info = self.info[proc.pid]
        thread = Task(native, proc, info.native)
        thread.tid = self.table.allocate_tid()
        thread.child_tid_ptr = fork.child_tid_ptr
        thread.clear_tid = fork.clear_tid_ptr
        self.tasks[native] = thread
        self.tasks_by_tid[thread.tid] = thread
        info.tasks.append(thread)
        if self.strace is not None:
            self.strace.thread_started(thread.tid, proc.pid)
        self.alive += 1
        self._await_first_stop(task, thread, fork, copies_memory=False)
        return thread.tid

    def _await_first_stop(self, parent: Task, child: Task, fork, copies_memory: bool) -> None:
        child.awaiting_initial = True
        if parent.saved_regs:
            if fork.stack or fork.flags & CLONE_SETTLS:
                child.saved_regs = dict(parent.saved_regs)  # put back into its own
            else:
                # clone(2) without a new stack or TLS: the child's registers are its
                # parent's at the call, with 0 in rax (as the native clone left them
                # but for the rewritten ones); set without reading them.
                regs = pt.Registers.from_buffer_copy(parent.regs)
                for name, original in parent.saved_regs.items():
                    setattr(regs, name, original)
                regs.rax = 0
                child.first_regs = pt.reg_mask(parent.saved_regs), regs
        if parent.saved_mem is not None and copies_memory:
            child.saved_mem = parent.saved_mem
        child.expect_stop = True
        self.sched.add(child)
        for status in self._stash.pop(child.native, ()):
            self._dispatch(child.native, status)

    def _on_first_stop(self, task: Task) -> None:
        """A new child's first stop (its SIGSTOP): what the native clone changed is
        put back, and its tid written where clone(2) was asked to."""
        native = task.native
        task.awaiting_initial = False
        if task.first_regs is not None:
            pt.putregs(native, *task.first_regs)
            task.first_regs = None
        if task.saved_regs:
            regs = pt.getregs(native)
            pt.putregs(native, put_back(task, regs), regs)
        elif task.saved_mem is not None:
            put_back(task, None)
        if task.child_tid_ptr:
            task.mem.put_i32(task.child_tid_ptr, task.tid)
        task.stop = "initial"

    def _on_exec(self, task: Task, spawned: bool = False, argv=None) -> None:
        """PTRACE_EVENT_EXEC: the new program is loaded. One a host's process execs
        costs its start-up's CPU time, and the clock shows it before the program runs
        (a shell's `sleep 1 && touch F` touches F after 1 s and two start-ups, as on a
        machine), and so does one drop-in mode spawns past the host's first (``spawn``'s
        ``startup``: a test's tmux client gives the pane's shell its start-up, as
        natively); one the host's user spawns starts at the instant it is spawned at.
        ``argv``: the program's, when known (a spawn's: what /proc/N/cmdline reads)."""
        if not spawned:
            self._charge_start(task)
        task.mem.reopen()
        # a translated execve's path and registers were the old program's: no exit
        # stop comes (resumed with PTRACE_CONT) and nothing is put back
        task.native_call = task.saved_regs = task.saved_mem = None
        regs = pt.getregs(task.native)
        vdso = None
        if self.vdso_wanted():
            def vdso():
                image = install_vdso(task.native, task.mem, self.clock_page, regs)
                self.vdso_images[task.proc.pid] = image
                return image
        died = None
        try:
            patch_auxv(task.mem, regs.rsp, self.random_bytes, vdso)
        except TraceeGone as gone:  # killed from outside while its vDSO was mapped
            died = gone.status
        if argv is None:
            argv = _read_cmdline(task.native)
        exe = os.path.basename(argv[0]) if argv else task.proc.exe
        self.table.exec(task.proc.pid, argv, exe)
        self.info[task.proc.pid].dispositions.reset_for_exec()
        self.timers.exec(task.proc.pid)
        if self.timens.active:
            # execve(2) enters the namespace for children (time_namespaces(7))
            self.timens.exec(task.proc.pid)
            if self.timens.of(task.proc.pid) is not self.timens.root and died is None:
                publish_namespace(self, task.proc.pid, task)
        self._release_vfork_parent(task.proc.pid)
        if died is not None:
            task.stop = None
            self._dispatch(task.native, died)

    def _release_vfork_parent(self, pid: int) -> None:
        info = self.info.get(pid)
        if info is not None and info.vfork_parent is not None:
            info.vfork_parent = None
            for woken in self.sched.notify(("vfork", pid)):
                woken.expect_stop = True

    def _exit_one_thread(self, task: Task, status: int) -> None:
        """exit(2) while other threads of the process live: the thread ends in the model
        now, and natively as it resumes. A thread group leader's native death is only
        reported once the whole group has ended (wait(2)), so nothing waits for it."""
        others = [t for t in self.info[task.proc.pid].tasks if t is not task and not t.exiting]
        if type(exits.thread_end(task.proc, True, bool(others))) is not exits.EndThread:
            return  # the process ends with it, at its native death
        self._thread_exited(task, Exited(status & 0xFF))
        if task.native == task.tgid_native:
            self._dying.discard(task)
        task.stop = None
        task.native_call = None
        pt.cont(task.native)

    def _thread_exited(self, task: Task, state) -> None:
        """One thread of a process that goes on ends (exit(2), not exit_group(2)):
        CLONE_CHILD_CLEARTID clears the tid word and wakes one futex waiter on it
        (set_tid_address(2)), which is how pthread_join learns of it."""
        if self.strace is not None and task.tid != task.proc.pid:
            # strace reports the main thread's end only with its process's (a thread
            # group leader's exit is reported last, wait(2) "delay_group_leader")
            self._log_task_end(task, state)
        if task.clear_tid:
            try:
                task.mem.write(task.clear_tid, b"\0\0\0\0")
            except OSError:
                pass
            # set_tid_address(2): futex(clear_child_tid, FUTEX_WAKE, 1, ...), without
            # FUTEX_PRIVATE_FLAG (glibc's pthread_join waits with a shared op too).
            key = futex_key(task, task.clear_tid, private=False)
            for waiter in self.futexes.wake(key, 1):
                self.futex_woken(waiter)
        if task.tid != task.proc.pid:
            self.table.release_tid(task.tid)
        self._retire(task)

    def _process_exited(self, proc, state) -> None:
        pid = proc.pid
        info = self.info[pid]
        parent_info = self.info.get(proc.ppid)
        autoreap = exits.reaped_at_exit(proc.ppid, parent_info and parent_info.dispositions)
        result = self.table.exit(pid, state, self.clock.now_ns, parent_autoreaps=autoreap)
        self.timers.exit(pid)
        self.timens.exit(pid)
        self.uts.exit(pid)
        self.vdso_images.pop(pid, None)
        if self.strace is not None:
            self._log_process_end(pid, info, state)
        for t in info.tasks:
            self._retire(t)
        if info.vfork_parent is not None:
            self._release_vfork_parent(pid)
        self._notify(("child", result.parent_pid))
        if result.new_parent_of:
            for new_parent in dict.fromkeys(result.new_parent_of.values()):
                self._notify(("child", new_parent))
        for send in exits.exit_signals(self.table, result, state, info.exit_signal):
            self._post_signal(send.pid, send.sig, send.info)
        for observer in self.exit_observers:
            observer(proc, state)

    def terminate(self, proc, state) -> None:
        """End a process by a signal's default action: the model first, then natively."""
        info = self.info[proc.pid]
        self._process_exited(proc, state)
        try:
            os.kill(info.native, SIGKILL)
        except ProcessLookupError:
            pass

    def _retire(self, task: Task) -> None:
        """The task will never be scheduled again (its process ended)."""
        if not task.exiting:
            task.exiting = True
            self.alive -= 1
        task.expect_stop = False
        if task.block is not None:
            self._end_block(task)
        self.sched.remove(task)
        if self.tasks_by_tid.get(task.tid) is task:
            del self.tasks_by_tid[task.tid]
        if not task.gone:
            self._dying.add(task)

    def _on_native_death(self, task: Task, status: int) -> None:
        task.gone = True
        self._dying.discard(task)
        task.stop = None
        task.expect_stop = False
        proc = task.proc
        info = self.info[proc.pid]
        maxrss = pt.died_maxrss(task.native)
        if maxrss > info.maxrss_kb:
            info.maxrss_kb = maxrss
        # The simulated end of the thread or process comes with its native death
        # (there is no separate exit event: one stop less per process), once its
        # descriptors are closed; a process ends with the status of whichever thread's
        # death comes first (all carry the group's).
        if task.exiting:
            end = None
        else:
            others = len(info.tasks) > 1 and any(
                t is not task and not t.exiting for t in info.tasks)
            end = exits.thread_end(
                proc, task.exits_alone or _killed_by_exec(task, info, status), others)
        if type(end) is exits.EndThread:
            self._thread_exited(task, _final_state(status))   # (retires the task)
        elif end is not None:
            self._process_exited(proc, _final_state(status))  # (retires its tasks)
        else:
            self._retire(task)
        self.tasks.pop(task.native, None)
        task.mem.close()
        self._release_native(task.native)
        # Nothing looks at a dead task again (readers of a process's tasks skip the
        # exiting ones): reference counting frees it now, rather than the process's
        # record keeping it, and the collector walking it, for the rest of the run.
        info.tasks.remove(task)
        task.ctx = None   # its last call's context refers back to it

    def _release_native(self, native: int) -> None:
        """The native task is dead and reaped (every native process of the host is the
        tracer's own child, and the wait that reported its death reaped it): its pidfd
        has proved what it had to."""
        pidfd = self._pidfds.pop(native, None)
        if pidfd is not None:
            pidfd.close()


def _killed_by_exec(task: Task, info, status: int) -> bool:
    """execve(2) by one thread ends the process's other threads, and ptrace reports
    each one but the leader dead "as if it exited via _exit(2) with exit code 0"
    (ptrace(2), "execve(2) under ptrace"): the thread ends, not its process, whose
    exec goes on. Told by another live thread of the process whose last call was
    execve or execveat (it is still in it: its exec event comes after these deaths,
    or it is already stopped at it); only a death of exit code 0 that the thread did
    not call for, never the leader's, asks."""
    if status != 0 or task.native == task.tgid_native:
        return False
    return any(t is not task and not t.exiting and t.last_syscall in _EXEC_CALLS
               for t in info.tasks)


_EXEC_CALLS = (59, 322)   # execve, execveat (x86_64)


# Exited is immutable: one of each code serves every process's end
_EXITED = tuple(Exited(code) for code in range(256))


def _final_state(status: int):
    if status & 0x7F == 0:   # WIFEXITED (wait(2))
        return _EXITED[status >> 8 & 0xFF]
    sig = os.WTERMSIG(status)
    return Signaled(sig, core=default_action(sig) == "core")


def _read_cmdline(native: int) -> list[str]:
    """Its argv, from /proc (with os.read: a file object's open asks fstat, ioctl and
    lseek first, six calls more at every exec)."""
    try:
        fd = os.open(f"/proc/{native}/cmdline", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except OSError:
        return []
    finally:
        os.close(fd)
    return [os.fsdecode(a) for a in b"".join(chunks).split(b"\0")[:-1]]
