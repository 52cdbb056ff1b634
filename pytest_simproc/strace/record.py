"""The record of the calls a host simulates, kept while strace logging is off.

A host stops for its simulated calls whatever the log's mode, so ``proc.strace()`` can
show them with no extra stop: ``sup.strace().contains("wait4(")`` with no
configuration. Formatting a line at every stop would cost the tracer more than the
simulation itself (a fork, a wait and their signals make half a dozen lines), and most
records are never read. So each event is kept unformatted, as a few integers in one
array: the call's number, the registers its line prints, its result, a signal's
siginfo. Lines are made only when the log is read: the events are played, in order,
into a :class:`.log.StraceLog` of the standard mode that keeps its lines in memory
(cached; a later read plays only the events since).

Only what a call's line needs from the tracee's memory must be taken at the stop, while
it is there: a call whose format reads memory (a path, a ``struct timespec``, a wait
status) has that part decoded at once, which costs a read of the tracee's memory or
two; every other call (getppid, kill, alarm ...) keeps only its registers. Texts are
interned, and a decoded part is remembered with the reads it made: the same registers
reading the same bytes again (a loop's rt_sigsuspend, a reaper's wait4) reuse the text
after the reads alone, as decoding depends on nothing else.

A call the host runs natively after looking at it ends in ``= ?``: its result would
take one more stop. Only the calls in :func:`recorded_numbers` are recorded.
"""
from __future__ import annotations

import threading
from array import array

from .format import MASK64, MEMORY_FREE_WHEN, TABLE, TAIL_DEPENDS_ON, Call, Spec, \
    begin_call, finish_call, has_exit_part, reads_memory, result_text, spec_for
from .log import StraceLog
from ..syscalls.registry import CONDITIONAL, HANDLERS, syscall_name, syscall_number

# Event kinds: the low 4 bits of an event's first word.
(_ENTER, _ENTER_TEXT, _EXIT, _EXIT_TEXT, _NORETURN, _SIGNAL, _STOPPED, _EXITED, _PROCESS,
 _THREAD, _PREEMPTED) = range(11)
_SYS_RT_SIGRETURN = 15

# The handler families whose calls the host answers or decides itself
# (pytest_simproc/syscalls/<family>.py).
_FAMILIES = ("process", "signal", "time", "timer", "resource", "thread", "sched",
             "observe")
# execve and execveat are lifecycle calls handled with the path calls (procfs.py);
# rt_sigreturn is the kernel's to carry out (the host only looks for pending signals
# after it), and its line would cost a read of the signal frame at every handler's end.
_ALSO, _NOT = ("execve", "execveat"), ("rt_sigreturn",)


def recorded_numbers(extra=()) -> frozenset:
    """The calls recorded with logging off: the families above (those the filter traps
    whatever their arguments) and ``extra`` (users' hooks, fault-injection rules)."""
    key = (len(HANDLERS), len(CONDITIONAL))  # computed once per host otherwise (~0.1 ms)
    if _FAMILY_NUMBERS.get("key") != key:
        numbers = {nr for nr, func in HANDLERS.items()
                   if func.__module__.rsplit(".", 1)[-1] in _FAMILIES and nr not in CONDITIONAL}
        numbers |= {syscall_number(name) for name in _ALSO}
        numbers -= {syscall_number(name) for name in _NOT}
        _FAMILY_NUMBERS.update(key=key, numbers=frozenset(numbers))
    return _FAMILY_NUMBERS["numbers"] | frozenset(extra) if extra else _FAMILY_NUMBERS["numbers"]


_FAMILY_NUMBERS: dict = {}
# numbers -> the tables _set_plain derives from them (read only: every record shares them)
_PLAIN_TABLES: dict[frozenset, tuple] = {}


class CallRecord:
    """The engine's log while strace logging is off: :class:`.log.StraceLog`'s
    methods, recording instead of formatting (see the module docstring).

    ``numbers``: the system calls recorded; the engine widens it when users' hooks
    add calls. Reads (:meth:`lines`, :meth:`merged_lines`) may come from another
    thread than the tracer's: every event goes into the array in one ``extend``."""

    def __init__(self, numbers, hostname: str = "simhost"):
        self.hostname = hostname
        self.numbers = frozenset(numbers)
        self._ev = array("Q")
        self._texts: list = [None]      # interned texts and siginfo bytes, by id
        self._text_ids: dict = {}
        self._notes: dict[int, str] = {}   # "(INJECTED)" ... by entry index
        self._closed = False
        self._view: StraceLog | None = None
        self._played = 0
        self._view_calls: dict[int, Call] = {}
        self._read_lock = threading.Lock()
        self._set_plain()

    def _set_plain(self) -> None:
        """The recorded calls formatted from registers alone: nr -> (their argument
        count, their event's first word but the tid); and those that read memory only
        for their entry part (rt_sigsuspend's mask, execve's path), whose exit part
        their result gives: nr -> their argument count."""
        self._heads, self._tails = {}, {}
        tables = _PLAIN_TABLES.get(self.numbers)
        if tables is None:
            if len(_PLAIN_TABLES) > 32:
                _PLAIN_TABLES.clear()
            tables = _PLAIN_TABLES[self.numbers] = self._plain_tables()
        self._plain, self._entry_only, self._plain_when, self._exit_only = tables

    def _plain_tables(self) -> tuple:
        self._plain, self._entry_only, self._plain_when, self._exit_only = {}, {}, {}, {}
        for nr in self.numbers:
            spec = TABLE.get(nr) or spec_for(nr)
            word = _ENTER | spec.nargs << 4 | nr << 8
            if not reads_memory(spec):
                self._plain[nr] = (spec.nargs, word)
            elif spec.name in TAIL_DEPENDS_ON and _plain_entry(spec):
                self._exit_only[nr] = (spec.nargs, word, TAIL_DEPENDS_ON[spec.name])
            elif spec.name in MEMORY_FREE_WHEN:
                self._plain_when[nr] = (MEMORY_FREE_WHEN[spec.name], spec.nargs, word)
            elif (spec.enter is None and spec.pre is None and spec.split == spec.nargs
                  and getattr(spec.rv, "memory_free", spec.rv is None)):
                self._entry_only[nr] = spec.nargs
        return self._plain, self._entry_only, self._plain_when, self._exit_only

    def set_numbers(self, numbers) -> None:
        self.numbers = frozenset(numbers)
        self._set_plain()

    def recorded_names(self) -> frozenset:
        """The names of the calls this record holds (and no other)."""
        return frozenset(syscall_name(nr) for nr in self.numbers)

    def _text(self, text) -> int:
        ids = self._text_ids
        i = ids.get(text)
        if i is None:
            i = ids[text] = len(self._texts)
            self._texts.append(text)
        return i

    # ------------------------------------------------------------------ recording
    def process_started(self, pid: int, exe: str) -> None:
        self._ev.extend((_PROCESS | pid << 4, self._text(exe)))

    def thread_started(self, tid: int, pid: int) -> None:
        self._ev.extend((_THREAD | tid << 4, pid))

    def syscall_entry(self, tid: int, nr: int, args, mem, now_ns: int, sp: int | None = None):
        """The handle of the call: its event's index, with the call decoded so far for
        one whose line needs memory; None when it is not recorded."""
        ev = self._ev
        index = len(ev)
        plain = self._plain.get(nr)
        if plain is not None:
            k, word = plain
            if k:
                ev.extend((word | tid << 20,) + tuple(args[:k]))
            else:
                ev.append(word | tid << 20)
            return index
        when = self._plain_when.get(nr)
        if when is not None and when[0](args):
            ev.extend((when[2] | tid << 20,) + tuple(args[:when[1]]))
            return index
        exit_only = self._exit_only.get(nr)
        if exit_only is not None:
            args = tuple(args[:exit_only[0]])
            ev.extend((exit_only[1] | tid << 20,) + args)
            return index, nr, args
        if nr in self._entry_only:
            ev.extend((_ENTER_TEXT | nr << 8 | tid << 20,
                       self._head(nr, tuple(args[:self._entry_only[nr]]), mem)))
            return index
        if nr not in self.numbers:
            return None
        call = Call(tid, nr, args, False, now_ns)
        if nr == _SYS_RT_SIGRETURN:
            call.extra = sp
        begin_call(call, mem)
        ev.extend((_ENTER_TEXT | has_exit_part(call) << 4 | nr << 8 | tid << 20,
                   self._text(call.head)))
        return index, call

    def _head(self, nr: int, args: tuple, mem) -> int:
        """The text id of the entry part of a call that reads memory only there."""
        def decode(capture):
            call = Call(0, nr, args, False, 0)
            begin_call(call, capture)
            return call.head
        return self._remembered(self._heads, (nr, args), mem, decode)

    def _tail(self, nr: int, args: tuple, result: int, mem) -> int:
        """The text id of the exit part of a call whose entry part its registers give
        (a TAIL_DEPENDS_ON call), remembered by what it depends on."""
        def decode(capture):
            call = Call(0, nr, args, False, 0)
            begin_call(call, None)
            return finish_call(call, result, capture)[0]
        return self._remembered(self._tails, (nr, self._exit_only[nr][2](args, result)),
                                mem, decode)

    def _remembered(self, cache: dict, key, mem, decode) -> int:
        """The text id of ``decode(memory)`` for ``key``. The last decoding for the same
        key left the reads it made: if they give the same bytes again, so does the text
        (decoding depends on nothing else); else it is decoded anew."""
        known = cache.get(key)
        if known is not None:
            reads, text_id = known
            if all(_again(mem, op, addr, n) == data for op, addr, n, data in reads):
                return text_id
        capture = _Capture(mem)
        text = decode(capture)
        if len(cache) >= _HEADS_KEPT:
            cache.clear()
        cache[key] = capture.reads, self._text(text)
        return cache[key][1]

    def syscall_unfinished(self, call, now_ns: int) -> None:
        """The call blocks: nothing to record (see StraceLog.syscall_unfinished)."""

    def syscall_exit(self, handle, result: int, mem, now_ns: int) -> None:
        if type(handle) is int:
            self._ev.extend((_EXIT | handle << 4, result & MASK64))
            return
        if len(handle) == 3:
            index, nr, args = handle
            self._ev.extend((_EXIT_TEXT | index << 4, self._tail(nr, args, result, mem), 0,
                             result & MASK64))
            return
        index, call = handle
        tail, ret = finish_call(call, result, mem)
        rv = call.sc.rv
        # id 0: the result's text is made when read (it needs nothing else)
        ret_id = 0 if rv is None or getattr(rv, "memory_free", False) else self._text(ret)
        self._ev.extend((_EXIT_TEXT | index << 4, self._text(tail), ret_id, result & MASK64))

    def syscall_noreturn(self, handle, now_ns: int) -> None:
        index = handle if type(handle) is int else handle[0]
        self._ev.append(_NORETURN | index << 4)

    def note(self, handle, note: str) -> None:
        index = handle if type(handle) is int else handle[0]
        old = self._notes.get(index)
        if note not in (old or ""):
            self._notes[index] = f"{old} {note}" if old else note

    def signal(self, tid: int, siginfo: bytes, now_ns: int) -> None:
        self._ev.extend((_SIGNAL | tid << 4, self._text(bytes(siginfo))))

    def stopped(self, tid: int, sig: int, now_ns: int) -> None:
        self._ev.extend((_STOPPED | tid << 4, sig))

    def preempted(self, tid: int, now_ns: int) -> None:
        self._ev.append(_PREEMPTED | tid << 4)

    def exited(self, tid: int, code_or_signal: int, killed: bool, core: bool,
               now_ns: int) -> None:
        self._ev.extend((_EXITED | killed << 4 | core << 5 | tid << 6,
                         code_or_signal & 0xFFFFFFFF))

    def close(self) -> None:
        self._closed = True

    # ------------------------------------------------------------------ reading
    def _played_view(self) -> StraceLog:
        """The standard log of every event so far (played now, from where the last
        read stopped); closed as the engine closed the record."""
        with self._read_lock:
            view = self._view
            if view is None:
                view = self._view = StraceLog("standard", directory=None,
                                              hostname=self.hostname)
            end = len(self._ev)
            if self._played < end:
                self._play(view, end)
            if self._closed:
                view.close()
            return view

    def _play(self, view: StraceLog, end: int) -> None:
        ev, texts, calls, notes = self._ev, self._texts, self._view_calls, self._notes
        i = self._played
        while i < end:
            head = ev[i]
            kind = head & 15
            if kind == _ENTER or kind == _ENTER_TEXT:
                tid, nr = head >> 20, head >> 8 & 0xFFF
                if kind == _ENTER:
                    k = head >> 4 & 15
                    call = view.syscall_entry(tid, nr, tuple(ev[i + 1:i + 1 + k]), None, 0)
                    step = 1 + k
                else:
                    call = Call(tid, nr, (), False, 0)
                    call.sc = _decoded_spec(call.sc, bool(head >> 4 & 1))
                    call.head = texts[ev[i + 1]]
                    view.entered(call, 0)
                    step = 2
                calls[i] = call
                i += step
                continue
            if kind <= _NORETURN:
                index = head >> 4
                call = calls.pop(index, None)
                if call is None:   # ended twice: the second end is no news
                    i += (2, 4, 1)[kind - _EXIT]
                    continue
                call.note = notes.get(index)
                if kind == _EXIT:
                    view.syscall_exit(call, _signed(ev[i + 1]), None, 0)
                    i += 2
                elif kind == _EXIT_TEXT:
                    if not call.state:   # else ended already (an execve the view saw return)
                        result = _signed(ev[i + 3])
                        ret = texts[ev[i + 2]]
                        if ret is None:
                            ret = result_text(call, result, None)
                        view.returned(call, result, texts[ev[i + 1]], ret, 0)
                    i += 4
                else:
                    view.syscall_noreturn(call, 0)
                    i += 1
            elif kind == _SIGNAL:
                view.signal(head >> 4, texts[ev[i + 1]], 0)
                i += 2
            elif kind == _STOPPED:
                view.stopped(head >> 4, ev[i + 1], 0)
                i += 2
            elif kind == _EXITED:
                view.exited(head >> 6, ev[i + 1], bool(head >> 4 & 1), bool(head >> 5 & 1), 0)
                i += 2
            elif kind == _PROCESS:
                view.process_started(head >> 4, texts[ev[i + 1]])
                i += 2
            elif kind == _PREEMPTED:
                view.preempted(head >> 4, 0)
                i += 1
            else:
                view.thread_started(head >> 4, ev[i + 1])
                i += 2
        self._played = end

    def lines(self, pid: int) -> list[str]:
        """That process's lines (see StraceLog.lines), formatted now."""
        return self._played_view().lines(pid)

    def merged_lines(self) -> list[str]:
        return self._played_view().merged_lines()

    def process_file(self, pid: int) -> None:
        return None   # nothing is written to the data dir

    def thread_file(self, tid: int) -> None:
        return None

    def kept(self, processes) -> "_Kept":
        """What a closed host keeps: the record itself, formatted when read."""
        return _Kept(self, {id(p): p.pid for p in processes})


class _Kept:
    """``{id(process record): lines}`` of a closed host, made when first asked."""

    def __init__(self, record: CallRecord, pids: dict[int, int]):
        self._record, self._pids = record, pids

    def get(self, key: int, default=None):
        pid = self._pids.get(key)
        return default if pid is None else self._record.lines(pid)


def _plain_entry(spec: Spec) -> bool:
    """Whether the entry part and the result's text of ``spec`` need no memory."""
    parts = [d for d, out in zip(spec.decs, spec.outs) if not out] + [spec.rv]
    return spec.enter is None and spec.pre is None and all(
        p is None or getattr(p, "memory_free", False) for p in parts)


_HEADS_KEPT = 4096   # entry parts remembered (registers and reads -> text)


class _Capture:
    """The tracee's memory, noting each read a decoder makes and what it gave."""

    __slots__ = ("mem", "reads")

    def __init__(self, mem):
        self.mem, self.reads = mem, []

    def read(self, addr: int, n: int) -> bytes:
        data = _again(self.mem, 0, addr, n)
        self.reads.append((0, addr, n, data))
        if data is None:
            raise OSError(14, "bad address")
        return data

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        data = _again(self.mem, 1, addr, limit)
        self.reads.append((1, addr, limit, data))
        if data is None:
            raise OSError(14, "bad address")
        return data


def _again(mem, op: int, addr: int, n: int):
    """A read (op 0) or a C string's (op 1); None where it fails."""
    try:
        return mem.read(addr, n) if op == 0 else mem.read_cstring(addr, n)
    except Exception:
        return None


_DECODED: dict[tuple[str, bool], Spec] = {}


def _decoded_spec(spec: Spec, has_exit: bool) -> Spec:
    """``spec`` for a call decoded at its stop: whether it prints more at exit was
    decided then (a call it returns without, "<unfinished ...>", shows it)."""
    key = (spec.name, has_exit)
    copy = _DECODED.get(key)
    if copy is None:
        copy = _DECODED[key] = Spec.__new__(Spec)
        for slot in Spec.__slots__:
            setattr(copy, slot, getattr(spec, slot))
        copy.has_exit = (lambda c: True) if has_exit else (lambda c: False)
    return copy


def _signed(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v
