"""The strace log of one simulated host: per-thread files and one merged file.

Lines are assembled the way ``strace -f -o FILE`` (merged) and ``strace -ff -o FILE``
(one file per thread) write them. Both name a line's author by its thread id (tid),
which for a process's main thread is its pid: the merged log prefixes every line with
the tid, and each thread has a file of its own, ``{hostname}.{exe}.{tid}.strace``
(``strace -ff`` writes ``FILE.TID`` for every task, threads included). A
single-threaded process therefore has exactly one file, named by its pid.

A call's entry part is held back until its line can be completed; if anything else
is logged in between, the entry part is written first with `` <unfinished ...>`` and
the call later ends with ``<... name resumed>`` -- the same two-part lines strace
prints, in the same places:

* in the merged log, any other line (another thread's or process's call, signal or
  exit) cuts a pending call;
* in a thread's own file, only that thread's other lines (a signal it takes while
  blocked) cut it, as with -ff, where every other task writes elsewhere.

:meth:`StraceLog.lines` gives a whole process: its threads' lines, whole as in their
files, in the order they were written, the main thread's bare and another thread's
prefixed ``[pid TID] `` as ``strace -f`` prints a thread's lines on a terminal.

Modes: ``standard`` prints what strace prints; ``deterministic`` prefixes every line
with the virtual time of day (as ``strace -tt`` would on the virtual clock) and hides
every run-dependent value (see :mod:`.format`).

Memory stays bounded: per-thread lines are buffered in small batches and appended
to their file; :meth:`StraceLog.lines` reads the files back. A process with more than
one thread also keeps, for that, the tid of each of its lines (4 bytes a line).
"""
from __future__ import annotations

import os
import threading
from array import array

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
    """One output: the merged log or a thread's own file."""

    __slots__ = ("path", "bit", "merged", "partial", "buf", "size", "file", "calls",
                 "tid", "process", "first", "written")

    def __init__(self, path: str, bit: int, merged: bool, tid: int = 0, process=None,
                 first: int = 0):
        self.path = path
        self.bit = bit
        self.merged = merged
        self.partial: Call | None = None   # the call whose line is still open
        self.calls: list[Call] = []        # own file: this thread's calls in progress
        self.buf: list[str] = []
        self.size = 0
        self.file = None
        self.tid = tid
        self.process: _Process | None = process
        self.first = first                 # lines already in the file (a reused tid)
        self.written = 0


class _Process:
    """A process's threads' files, and the order of their lines once it has several."""

    __slots__ = ("exe", "threads", "order", "head")

    def __init__(self, exe: str):
        self.exe = exe
        self.threads: dict[int, _Stream] = {}   # tid -> own file, main thread first
        self.order: array | None = None         # tid of every line since a 2nd thread
        self.head = 0                           # the main thread's lines before that


class StraceLog:
    """Formats and stores the system calls of every process of one host.

    ``directory`` receives ``{hostname}.{exe}.{tid}.strace`` per thread and
    ``{hostname}.strace`` (everything, each line prefixed with its tid).
    Times (``now_ns``) are virtual nanoseconds since the epoch. Events are reported by
    tid (a process's main thread's tid is its pid); :meth:`thread_started` tells which
    process a new thread belongs to, and a tid never announced is taken for a process.
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
        self._streams: dict[int, _Stream] = {}     # tid -> its own file
        self._processes: dict[int, _Process] = {}  # pid -> its threads
        self._file_lines: dict[str, int] = {}      # lines in each file created
        self._pending_bytes = 0
        self._interrupted: dict[int, str] = {}  # tid -> call cut by ERESTART_RESTARTBLOCK
        self._tid_prefix: dict[int, str] = {}   # tid -> "1000  "
        self._last_sec = -1
        self._last_hms = ""
        self._stamp_ns = -1
        self._stamp = ""
        self._closed = False
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ processes
    def process_started(self, pid: int, exe: str) -> None:
        """A new process (before its first line): opens its main thread's file."""
        with self._lock:
            process = self._processes[pid] = _Process(exe)
            self._open_stream(pid, process)

    def thread_started(self, tid: int, pid: int) -> None:
        """A new thread ``tid`` of process ``pid`` (before its first line): opens its
        file. From now on the process's lines remember which thread wrote them."""
        with self._lock:
            process = self._processes.get(pid)
            if process is None:
                self.process_started(pid, "unknown")
                process = self._processes[pid]
            if process.order is None:
                main = process.threads.get(pid)
                process.head = main.written if main is not None else 0
                process.order = array("i")
            self._open_stream(tid, process)

    def _open_stream(self, tid: int, process: _Process) -> _Stream:
        old = self._streams.get(tid)
        if old is not None:
            self._finish_stream(old)
        name = f"{_safe_name(self.hostname)}.{_safe_name(process.exe) or 'unknown'}.{tid}.strace"
        path = os.path.join(self.directory, name)
        if path not in self._file_lines:
            self._file_lines[path] = 0
            with open(path, "w", encoding="ascii"):
                pass
        stream = _Stream(path, _OWN, False, tid, process, self._file_lines[path])
        self._streams[tid] = process.threads[tid] = stream
        return stream

    def _stream(self, tid: int) -> _Stream:
        stream = self._streams.get(tid)
        if stream is None:   # never announced: log it anyway, as a process
            self.process_started(tid, "unknown")
            stream = self._streams[tid]
        return stream

    # ------------------------------------------------------------------ calls
    def syscall_entry(self, tid: int, nr: int, args, mem, now_ns: int, sp: int | None = None):
        """Thread ``tid`` starts a call: its input arguments are decoded now (``mem``
        must be readable). ``sp`` (the stack pointer) lets rt_sigreturn show the mask
        it restores. Returns the handle for the other ``syscall_*`` methods."""
        call = Call(tid, nr, args, self.det, now_ns)
        if nr == _SYS_RT_SIGRETURN:
            call.extra = sp
        elif nr == _SYS_RESTART_SYSCALL:
            call.extra = self._interrupted.pop(tid, None)
        begin_call(call, mem)
        with self._lock:
            own = self._stream(tid)
            if own.calls:
                self._exec_returned(own, now_ns)
            own.calls.append(call)
            for stream in (self._merged, own):
                if stream.partial is not None:
                    self._cut(stream)
                stream.partial = call
        return call

    def _exec_returned(self, own: _Stream, now_ns: int) -> None:
        """A thread that entered execve makes another call: the execve succeeded
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
        if call.note:
            ret += " " + call.note
        if result == -ERESTART_RESTARTBLOCK:
            self._interrupted[call.tid] = call.sc.name
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
        own = self._stream(call.tid)
        calls = own.calls
        if calls and calls[-1] is call:
            calls.pop()
        elif call in calls:
            calls.remove(call)
        for stream in (self._merged, own):
            if stream.partial is call:
                stream.partial = None
                lead = self._lead(stream, call.tid, call.t_entry)
                self._write(stream, aligned(lead + name + "(" + call.head + tail + ")", ret))
                continue
            if stream.partial is not None:
                self._cut(stream)
            if call.cut & stream.bit:
                lead = self._lead(stream, call.tid, now_ns)
                self._write(stream, aligned(lead + "<... " + name + " resumed>" + tail + ")",
                                             ret))
            else:   # never announced to this stream
                lead = self._lead(stream, call.tid, call.t_entry)
                self._write(stream, aligned(lead + name + "(" + call.head + tail + ")", ret))

    def _cut(self, stream: _Stream) -> None:
        call = stream.partial
        stream.partial = None
        call.cut |= stream.bit
        lead = self._lead(stream, call.tid, call.t_entry)
        self._write(stream, lead + call.sc.name + "(" + call.head + " <unfinished ...>")

    # ------------------------------------------------------------------ other lines
    def signal(self, tid: int, siginfo: bytes, now_ns: int) -> None:
        """A signal delivered to thread ``tid``: "--- SIGCHLD {...} ---"."""
        self._line(tid, signal_line(bytes(siginfo), self.det), now_ns)

    def stopped(self, tid: int, sig: int, now_ns: int) -> None:
        """Thread ``tid`` entered a group stop: "--- stopped by SIGSTOP ---" (strace
        prints it for every thread of the stopped process)."""
        self._line(tid, stopped_line(sig), now_ns)

    def preempted(self, tid: int, now_ns: int) -> None:
        """Thread ``tid`` spun in user code and was preempted (engine/trap.py):
        "--- preempted ---" in standard mode. Not in deterministic mode, whose bytes
        must not depend on how fast the machine ran the spin (README "The CPU model")."""
        if not self.det:
            self._line(tid, "--- preempted ---", now_ns)

    def exited(self, tid: int, code_or_signal: int, killed: bool, core: bool,
               now_ns: int) -> None:
        """Thread ``tid`` ended: "+++ exited with N +++" / "+++ killed by SIGX +++"
        (strace prints one for every thread, a process's main thread's last). Calls it
        was still in end first with "= ?", as strace shows them."""
        stream = self._streams.get(tid)
        if stream is not None:
            for call in list(stream.calls):
                self.syscall_noreturn(call, now_ns)
        self._line(tid, exit_line(code_or_signal, killed, core), now_ns)
        with self._lock:
            stream = self._streams.get(tid)
            if stream is not None:
                self._flush(stream)

    def _line(self, tid: int, text: str, now_ns: int) -> None:
        with self._lock:
            for stream in (self._merged, self._stream(tid)):
                if stream.partial is not None:
                    self._cut(stream)
                self._write(stream, self._lead(stream, tid, now_ns) + text)

    # ------------------------------------------------------------------ output
    def _lead(self, stream: _Stream, tid: int, now_ns: int) -> str:
        if stream.merged:
            lead = self._tid_prefix.get(tid)
            if lead is None:
                lead = self._tid_prefix[tid] = "%-5d " % tid
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
        stream.written += 1
        order = stream.process.order
        if order is not None:
            order.append(stream.tid)
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
        self._file_lines[stream.path] = stream.first + stream.written

    # ------------------------------------------------------------------ reading
    def lines(self, pid: int) -> list[str]:
        """That process's lines so far, without the merged log's tid prefix: for a
        single-threaded process its file; with threads, every thread's lines in the
        order they were written, another thread's than the main one's prefixed with
        ``[pid TID] ``."""
        with self._lock:
            process = self._processes.get(pid)
            if process is None:
                return []
            own = {}
            for tid, stream in process.threads.items():
                self._flush(stream)
                own[tid] = _read_lines(stream.path)[stream.first:stream.first + stream.written]
            if process.order is None:
                return own.get(pid, [])
            main = own.get(pid, [])
            merged = main[:process.head]
            taken = {tid: 0 for tid in own}
            taken[pid] = process.head
            for tid in process.order:
                index = taken[tid]
                if index < len(own[tid]):   # else its file is gone (a deleted data dir)
                    taken[tid] = index + 1
                    line = own[tid][index]
                    merged.append(line if tid == pid else _thread_line(tid, line))
            return merged

    def thread_file(self, tid: int) -> str | None:
        """The path of a thread's own file (a process's main thread: its pid)."""
        stream = self._streams.get(tid)
        return stream.path if stream is not None else None

    def merged_lines(self) -> list[str]:
        """Every line so far, each prefixed with its tid as ``strace -f -o`` does."""
        with self._lock:
            if self._merged.file is not None:
                self._merged.file.flush()
            return _read_lines(self.merged_path)

    def process_file(self, pid: int) -> str | None:
        """The path of a process's own file: its main thread's (each other thread has
        its own, see :meth:`thread_file`; :meth:`lines` reads them all)."""
        process = self._processes.get(pid)
        stream = process.threads.get(pid) if process is not None else None
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


def _thread_line(tid: int, line: str) -> str:
    """A line of thread ``tid``'s file as ``strace -f`` shows it on a terminal: with
    "[pid TID] " in front, the result column counting it (strace's " = " is the last
    one on a line: return values never contain it)."""
    prefix = "[pid %5d] " % tid
    at = line.rfind(" = ")
    if at < 0:
        return prefix + line
    return aligned(prefix + line[:at].rstrip(" "), line[at + 3:])


def _read_lines(path: str) -> list[str]:
    """The file's lines, split at "\n" only: one per line written, whatever else it
    holds (lines are counted, see StraceLog.lines)."""
    try:
        with open(path, encoding="ascii", errors="backslashreplace", newline="\n") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    return text.split("\n")[:-1] if text else []


def _safe_name(name: str) -> str:
    return str(name).replace("/", "_").replace("\0", "_")
