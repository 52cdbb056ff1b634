"""The strace log of one simulated host: per-process files and one merged file.

Lines are assembled the way ``strace -f -o FILE`` (merged) and ``strace -ff -o FILE``
(per process) write them. A call's entry part is held back until its line can be
completed; if anything else is logged in between, the entry part is written first
with `` <unfinished ...>`` and the call later ends with ``<... name resumed>`` -- the
same two-part lines strace prints, in the same places:

* in the merged log, any other line (another process's call, signal or exit) cuts
  a pending call;
* in a process's own file, only that process's other lines cut it (as with -ff,
  where the other processes write elsewhere).

Modes: ``standard`` prints what strace prints; ``deterministic`` prefixes every line
with the virtual time of day (as ``strace -tt`` would on the virtual clock) and hides
every run-dependent value (see :mod:`.format`).

Memory stays bounded: per-process lines are buffered in small batches and appended
to their file; :meth:`StraceLog.lines` reads the file back.
"""
from __future__ import annotations

import os
import threading

from .format import Call, aligned, begin_call, exit_line, finish_call, noreturn_tail, \
    signal_line, stopped_line

MODES = ("standard", "deterministic")
NSEC = 1_000_000_000
_FLUSH_STREAM_BYTES = 64 * 1024       # one process's pending text
_FLUSH_ALL_BYTES = 4 * 1024 * 1024    # everything pending, all processes
_MERGED, _OWN = 1, 2                  # stream bits in Call.cut
ERESTART_RESTARTBLOCK = 516
_SYS_RT_SIGRETURN, _SYS_RESTART_SYSCALL = 15, 219
_SYS_EXECVE = (59, 322)   # execve, execveat


class _Stream:
    """One output: the merged log or a process's own file."""

    __slots__ = ("path", "bit", "merged", "partial", "buf", "size", "file", "calls")

    def __init__(self, path: str, bit: int, merged: bool):
        self.path = path
        self.bit = bit
        self.merged = merged
        self.partial: Call | None = None   # the call whose line is still open
        self.calls: list[Call] = []        # own file: this process's calls in progress
        self.buf: list[str] = []
        self.size = 0
        self.file = None


class StraceLog:
    """Formats and stores the system calls of every process of one host.

    ``directory`` receives ``{hostname}.{exe}.{pid}.strace`` per process and
    ``{hostname}.strace`` (all processes, each line prefixed with the pid).
    Times (``now_ns``) are virtual nanoseconds since the epoch.
    """

    def __init__(self, mode: str = "standard", directory=".", hostname: str = "simhost",
                 start_ns: int = 946684800 * NSEC):
        if mode not in MODES:
            raise ValueError(f"strace mode must be one of {MODES}, not {mode!r}")
        self.mode = mode
        self.det = mode == "deterministic"
        self.directory = os.fspath(directory)
        self.hostname = hostname
        self.start_ns = int(start_ns)
        os.makedirs(self.directory, exist_ok=True)
        self.merged_path = os.path.join(self.directory, f"{_safe_name(hostname)}.strace")
        self._merged = _Stream(self.merged_path, _MERGED, True)
        self._merged.file = open(self.merged_path, "w", encoding="ascii",
                                 errors="backslashreplace", buffering=1 << 16)
        self._streams: dict[int, _Stream] = {}
        self._created: set[str] = set()
        self._pending_bytes = 0
        self._interrupted: dict[int, str] = {}  # pid -> call cut by ERESTART_RESTARTBLOCK
        self._pid_prefix: dict[int, str] = {}   # pid -> "1000  "
        self._last_sec = -1
        self._last_hms = ""
        self._stamp_ns = -1
        self._stamp = ""
        self._closed = False
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ processes
    def process_started(self, pid: int, exe: str) -> None:
        """A new process (before its first line): opens its own file."""
        with self._lock:
            old = self._streams.get(pid)
            if old is not None:
                self._finish_stream(old)
            self._streams[pid] = self._new_stream(pid, exe)

    def _new_stream(self, pid: int, exe: str) -> _Stream:
        name = f"{_safe_name(self.hostname)}.{_safe_name(exe) or 'unknown'}.{pid}.strace"
        path = os.path.join(self.directory, name)
        if path not in self._created:
            self._created.add(path)
            with open(path, "w", encoding="ascii"):
                pass
        return _Stream(path, _OWN, False)

    def _stream(self, pid: int) -> _Stream:
        stream = self._streams.get(pid)
        if stream is None:   # never announced: log it anyway
            stream = self._streams[pid] = self._new_stream(pid, "unknown")
        return stream

    # ------------------------------------------------------------------ calls
    def syscall_entry(self, pid: int, nr: int, args, mem, now_ns: int, sp: int | None = None):
        """A call starts: its input arguments are decoded now (``mem`` must be
        readable). ``sp`` (the stack pointer) lets rt_sigreturn show the mask it
        restores. Returns the handle for the other ``syscall_*`` methods."""
        call = Call(pid, nr, args, self.det, now_ns)
        if nr == _SYS_RT_SIGRETURN:
            call.extra = sp
        elif nr == _SYS_RESTART_SYSCALL:
            call.extra = self._interrupted.pop(pid, None)
        begin_call(call, mem)
        with self._lock:
            own = self._stream(pid)
            if own.calls:
                self._exec_returned(own, now_ns)
            own.calls.append(call)
            for stream in (self._merged, own):
                if stream.partial is not None:
                    self._cut(stream)
                stream.partial = call
        return call

    def _exec_returned(self, own: _Stream, now_ns: int) -> None:
        """A process that entered execve makes another call: the execve succeeded
        (a failure comes back through its exit stop), so it ends with "= 0" now if
        its exit was not logged."""
        for call in [c for c in own.calls if c.nr in _SYS_EXECVE]:
            tail, ret = finish_call(call, 0, None)
            self._end_call(call, tail, ret, now_ns)

    def syscall_unfinished(self, call: Call, now_ns: int) -> None:
        """The call blocks. Nothing is written now: the entry part goes out as
        "<unfinished ...>" only if another line is logged before the call ends."""

    def syscall_exit(self, call: Call, result: int, mem, now_ns: int) -> None:
        """The call returns ``result`` (negative errno on failure): outputs are
        decoded from ``mem`` and the line (or its resumed part) is written."""
        if call.state:
            return
        tail, ret = finish_call(call, result, mem)
        if result == -ERESTART_RESTARTBLOCK:
            self._interrupted[call.pid] = call.sc.name
        with self._lock:
            self._end_call(call, tail, ret, now_ns)

    def syscall_noreturn(self, call: Call, now_ns: int) -> None:
        """exit/exit_group (or a call its process died in): "= ?"."""
        if call.state:
            return
        tail = noreturn_tail(call)
        with self._lock:
            self._end_call(call, tail, "?", now_ns)

    def _end_call(self, call: Call, tail: str, ret: str, now_ns: int) -> None:
        name = call.sc.name
        own = self._stream(call.pid)
        calls = own.calls
        if calls and calls[-1] is call:
            calls.pop()
        elif call in calls:
            calls.remove(call)
        for stream in (self._merged, own):
            if stream.partial is call:
                stream.partial = None
                lead = self._lead(stream, call.pid, call.t_entry)
                self._write(stream, aligned(lead + name + "(" + call.head + tail + ")", ret))
                continue
            if stream.partial is not None:
                self._cut(stream)
            if call.cut & stream.bit:
                lead = self._lead(stream, call.pid, now_ns)
                self._write(stream, aligned(lead + "<... " + name + " resumed>" + tail + ")",
                                             ret))
            else:   # never announced to this stream
                lead = self._lead(stream, call.pid, call.t_entry)
                self._write(stream, aligned(lead + name + "(" + call.head + tail + ")", ret))

    def _cut(self, stream: _Stream) -> None:
        call = stream.partial
        stream.partial = None
        call.cut |= stream.bit
        lead = self._lead(stream, call.pid, call.t_entry)
        self._write(stream, lead + call.sc.name + "(" + call.head + " <unfinished ...>")

    # ------------------------------------------------------------------ other lines
    def signal(self, pid: int, siginfo: bytes, now_ns: int) -> None:
        """A signal delivered to the process: "--- SIGCHLD {...} ---"."""
        self._line(pid, signal_line(bytes(siginfo), self.det), now_ns)

    def stopped(self, pid: int, sig: int, now_ns: int) -> None:
        """The process entered a group stop: "--- stopped by SIGSTOP ---"."""
        self._line(pid, stopped_line(sig), now_ns)

    def exited(self, pid: int, code_or_signal: int, killed: bool, core: bool,
               now_ns: int) -> None:
        """The process ended: "+++ exited with N +++" / "+++ killed by SIGX +++".
        Calls it was still in end first with "= ?", as strace shows them."""
        stream = self._streams.get(pid)
        if stream is not None:
            for call in list(stream.calls):
                self.syscall_noreturn(call, now_ns)
        self._line(pid, exit_line(code_or_signal, killed, core), now_ns)
        with self._lock:
            stream = self._streams.get(pid)
            if stream is not None:
                self._flush(stream)

    def _line(self, pid: int, text: str, now_ns: int) -> None:
        with self._lock:
            for stream in (self._merged, self._stream(pid)):
                if stream.partial is not None:
                    self._cut(stream)
                self._write(stream, self._lead(stream, pid, now_ns) + text)

    # ------------------------------------------------------------------ output
    def _lead(self, stream: _Stream, pid: int, now_ns: int) -> str:
        if stream.merged:
            lead = self._pid_prefix.get(pid)
            if lead is None:
                lead = self._pid_prefix[pid] = "%-5d " % pid
        else:
            lead = ""
        if self.det:
            if now_ns != self._stamp_ns:
                sec, ns = divmod(now_ns, NSEC)
                if sec != self._last_sec:
                    self._last_sec = sec
                    self._last_hms = "%02d:%02d:%02d" % ((sec // 3600) % 24, (sec // 60) % 60,
                                                         sec % 60)
                self._stamp_ns = now_ns
                self._stamp = "%s.%06d " % (self._last_hms, ns // 1000)
            lead += self._stamp
        return lead

    def _write(self, stream: _Stream, line: str) -> None:
        if stream.merged:
            if stream.file is not None:
                stream.file.write(line + "\n")
            return
        stream.buf.append(line + "\n")
        n = len(line) + 1
        stream.size += n
        self._pending_bytes += n
        if stream.size >= _FLUSH_STREAM_BYTES:
            self._flush(stream)
        elif self._pending_bytes >= _FLUSH_ALL_BYTES:
            self._flush_all()

    def _flush(self, stream: _Stream) -> None:
        if stream.buf:
            with open(stream.path, "a", encoding="ascii", errors="backslashreplace") as f:
                f.write("".join(stream.buf))
            self._pending_bytes -= stream.size
            stream.buf = []
            stream.size = 0

    def _flush_all(self) -> None:
        for stream in self._streams.values():
            self._flush(stream)
        if self._merged.file is not None:
            self._merged.file.flush()

    def _finish_stream(self, stream: _Stream) -> None:
        if stream.partial is not None:
            self._cut(stream)
        self._flush(stream)

    # ------------------------------------------------------------------ reading
    def lines(self, pid: int) -> list[str]:
        """That process's lines so far (no pid prefix)."""
        with self._lock:
            stream = self._streams.get(pid)
            if stream is None:
                return []
            self._flush(stream)
            return _read_lines(stream.path)

    def merged_lines(self) -> list[str]:
        """Every line so far, each prefixed with its pid as ``strace -f -o`` does."""
        with self._lock:
            if self._merged.file is not None:
                self._merged.file.flush()
            return _read_lines(self.merged_path)

    def process_file(self, pid: int) -> str | None:
        """The path of a process's own file."""
        stream = self._streams.get(pid)
        return stream.path if stream is not None else None

    def close(self) -> None:
        """Write out everything; calls still in progress end as "<unfinished ...>"."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._merged.partial is not None:
                self._cut(self._merged)
            for stream in self._streams.values():
                self._finish_stream(stream)
            if self._merged.file is not None:
                self._merged.file.close()
                self._merged.file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="ascii", errors="backslashreplace") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def _safe_name(name: str) -> str:
    return str(name).replace("/", "_").replace("\0", "_")
