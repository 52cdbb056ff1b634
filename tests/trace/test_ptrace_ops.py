"""The ptrace requests of the stop path give the same answers through the C extension
(trace/_ptrace.c, when pip built it: its request() under the Python functions, and its
own functions for each request) and through the ctypes fallback."""
from __future__ import annotations

import errno
import os
import signal

import pytest

from pytest_simproc.trace import ptrace_ops as pt

def _python(request_impl):
    """The pure-Python requests, each through ``request_impl``."""
    return dict(pt.PYTHON_REQUESTS, _request=request_impl)


IMPLEMENTATIONS = [pytest.param(_python(pt._ctypes_request), id="ctypes")]
try:
    from pytest_simproc.trace import _ptrace
    IMPLEMENTATIONS.append(pytest.param(_python(_ptrace.request), id="extension-request"))
    IMPLEMENTATIONS.append(pytest.param(
        {name: getattr(_ptrace, name) for name in pt.PYTHON_REQUESTS}, id="extension"))
except ImportError:
    pass


def _use(monkeypatch, functions):
    for name, func in functions.items():
        monkeypatch.setattr(pt, name, func)


@pytest.fixture
def stopped_child():
    """A child that asked to be traced and stopped itself with SIGSTOP."""
    pid = os.fork()
    if pid == 0:
        try:
            pt.traceme()
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
            os.kill(os.getpid(), signal.SIGSTOP)
        finally:
            os._exit(7)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSTOPPED(status) and os.WSTOPSIG(status) == signal.SIGSTOP
    yield pid
    _kill_and_reap(pid)


def _kill_and_reap(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


@pytest.mark.parametrize("request_impl", IMPLEMENTATIONS)
def test_requests_at_a_stop(stopped_child, request_impl, monkeypatch):
    _use(monkeypatch, request_impl)
    regs = pt.getregs(stopped_child)
    assert regs.rip and regs.rsp
    pt.setregs(stopped_child, regs)
    assert bytes(pt.getregs(stopped_child)) == bytes(regs)
    assert pt.getsigmask(stopped_child) & (1 << (signal.SIGUSR1 - 1))
    info = pt.getsiginfo(stopped_child)
    assert int.from_bytes(info[:4], "little") == signal.SIGSTOP
    pt.setsiginfo(stopped_child, info)
    pt.cont(stopped_child, 0)  # the SIGSTOP discarded: the child runs on to its exit
    _, status = os.waitpid(stopped_child, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 7


@pytest.mark.parametrize("request_impl", IMPLEMENTATIONS)
def test_a_failed_request_is_a_ptrace_error_with_its_errno(request_impl, monkeypatch):
    _use(monkeypatch, request_impl)
    with pytest.raises(pt.PtraceError) as failed:
        pt.cont(os.getpid())  # not a tracee of ours
    assert failed.value.errno == errno.ESRCH
    with pytest.raises(pt.PtraceError) as failed:
        pt.getregs(0x7FFFFFFF)
    assert failed.value.errno == errno.ESRCH


@pytest.mark.parametrize("request_impl", IMPLEMENTATIONS)
def test_wait_reports_stops_and_a_death_with_its_maxrss(stopped_child, request_impl,
                                                         monkeypatch):
    _use(monkeypatch, request_impl)
    os.kill(stopped_child, signal.SIGUSR2)
    pt.cont(stopped_child, 0)
    native, status = pt.wait(stopped_child, pt.WALL)   # its signal-delivery-stop
    assert native == stopped_child and status == (signal.SIGUSR2 << 8 | 0x7F)
    assert pt.died_maxrss(stopped_child) == 0          # a stop keeps no usage
    pt.cont(stopped_child, 0)                           # SIGUSR2 discarded
    native, status = pt.wait(stopped_child, pt.WALL)
    assert native == stopped_child and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 7
    assert pt.died_maxrss(stopped_child) > 0            # kept by the wait that reaped it
    assert pt.died_maxrss(stopped_child) == 0           # and taken once
    with pytest.raises(ChildProcessError):
        pt.wait(stopped_child, pt.WALL)


@pytest.mark.parametrize("request_impl", IMPLEMENTATIONS)
def test_putregs_sets_the_registers_of_its_mask_only(stopped_child, request_impl,
                                                      monkeypatch):
    _use(monkeypatch, request_impl)
    before = pt.getregs(stopped_child)
    regs = pt.Registers.from_buffer_copy(before)
    regs.rdi, regs.r15, regs.rax, regs.rsi = 0x1234, 0x5678, 99, 0x9ABC
    pt.putregs(stopped_child, pt.reg_mask(("rdi", "r15", "rax")), regs)
    after = pt.getregs(stopped_child)
    assert (after.rdi, after.r15, after.rax) == (0x1234, 0x5678, 99)
    assert after.rsi == before.rsi                   # not in the mask: left as it was
    after.rdi, after.r15, after.rax = before.rdi, before.r15, before.rax
    assert bytes(after) == bytes(before)
    pt.putregs(stopped_child, pt.reg_mask(("rdi", "r15", "rax")), before)
    assert bytes(pt.getregs(stopped_child)) == bytes(before)


@pytest.mark.parametrize("request_impl", IMPLEMENTATIONS)
def test_step_resumes_waits_and_reads_a_seccomp_stops_registers(request_impl, monkeypatch):
    """step(how, pid, who, flags): the resume (with its signal in how's upper bits),
    the wait, and the registers of a seccomp stop or the result of a syscall-exit
    stop, in one call; a failed resume is a PtraceError and waits for nothing."""
    from pytest_simproc.trace.seccomp import PreparedFilter, build_filter
    from pytest_simproc.trace.spawn import spawn_traced
    _use(monkeypatch, request_impl)
    SYS_GETPPID = 110
    child = spawn_traced("/bin/sh", ["sh", "-c", "kill -USR1 $$; exit 3"], {}, None,
                         (0, 1, 2), PreparedFilter(build_filter(frozenset({SYS_GETPPID}))))
    try:
        with pytest.raises(pt.PtraceError) as failed:
            pt.step(pt.PTRACE_CONT, os.getpid(), child, pt.WALL)
        assert failed.value.errno == errno.ESRCH
        seen, how = [], pt.PTRACE_CONT
        while True:
            native, status, regs, args = pt.step(how, child, child, pt.WALL)
            assert native == child
            if status & 0xFF != 0x7F:
                break
            sig, event = status >> 8 & 0xFF, status >> 16
            if event == pt.EVENT_SECCOMP:
                assert regs is not None and regs.orig_rax == SYS_GETPPID
                assert args == pt.syscall_args(regs) and len(args) == 6
                seen.append("getppid")
                how = pt.PTRACE_SYSCALL   # on to its exit stop
            elif status == pt.SYSEXIT_STOP:
                # the exit stop's result alone: rax, signed, as PEEKUSER reads it
                assert regs is None and args == pt.getrax(child) > 0
                assert args == pt.to_signed(pt.getregs(child).rax)
                seen.append("getppid returned")
                how = pt.PTRACE_CONT
            else:
                assert regs is None and args is None
                if sig == signal.SIGUSR1:
                    seen.append("SIGUSR1")
                how = pt.PTRACE_CONT | (sig if sig != signal.SIGTRAP else 0) << 16
        assert "getppid" in seen and "getppid returned" in seen and "SIGUSR1" in seen
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGUSR1
    finally:
        _kill_and_reap(child)


@pytest.mark.parametrize("request_impl", IMPLEMENTATIONS)
def test_getrax_reads_a_negative_rax_as_a_result_not_an_error(stopped_child, request_impl,
                                                             monkeypatch):
    """PEEKUSER returns the word itself: -1 in rax (a call's -EPERM) is a value, not
    the failure ptrace's -1 would be with errno set."""
    _use(monkeypatch, request_impl)
    with pytest.raises(pt.PtraceError) as failed:   # first: errno is left set
        pt.getrax(os.getpid())
    assert failed.value.errno == errno.ESRCH
    regs = pt.getregs(stopped_child)
    saved = regs.rax
    for value in (-1, -4095, 0, 12345):
        regs.rax = value & pt.MASK64
        pt.putregs(stopped_child, pt.reg_mask(("rax",)), regs)
        assert pt.getrax(stopped_child) == value
    regs.rax = saved
    pt.putregs(stopped_child, pt.reg_mask(("rax",)), regs)
