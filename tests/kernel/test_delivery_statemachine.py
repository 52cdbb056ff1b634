"""Random generate/deliver/sigaction/sigprocmask sequences against a small reference
model of signal(7): the outcomes of kernel.delivery, carried out as the engine carries
them out, must leave the same pending sets, process state and handler runs."""
import copy

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pytest_simproc.kernel import ProcessTable, Signaled
from pytest_simproc.kernel import delivery as d
from pytest_simproc.kernel.sigstate import (SA_RESETHAND, PendingSignals, SigAction,
                                            SignalDispositions)

# a few of each kind: terminate, core, stop, continue, ignore by default, real-time
SIGNALS = [1, 9, 10, 11, 17, 18, 19, 20, 28, 34, 40]
TERM, CORE, STOP, IGN = {1, 10, 34, 40}, {11}, {19, 20}, {17, 28}
HANDLED = [s for s in SIGNALS if s not in (9, 19)]  # SIGKILL/SIGSTOP cannot be caught


class Thread:
    def __init__(self, index):
        self.index, self.blocked, self.pending = index, 0, PendingSignals()


class SignalModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.table = ProcessTable()
        self.runs: list[tuple[int, int, bytes]] = []
        self.ref_runs: list[tuple[int, int, bytes]] = []
        self.serial = 0
        self.start()

    def start(self):
        self.proc = self.table.spawn(["p"], "p", 0)
        self.threads = [Thread(0), Thread(1)]
        self.disp = SignalDispositions()
        # the reference model
        self.ref_state = "running"
        self.ref_pending = [dict(), dict()]   # sig -> list of siginfos
        self.ref_disp: dict[int, tuple[str, int]] = {}

    @precondition(lambda self: not self.live())
    @rule()
    def spawn_another(self):
        """Most signals kill: go on with a fresh process."""
        self.start()

    def live(self):
        return self.ref_state in ("running", "stopped")

    # ---------------------------------------------------------------- reference
    def ref_kind(self, sig):
        kind, _flags = self.ref_disp.get(sig, ("dfl", 0))
        return kind

    def ref_generate(self, sig, info, index):
        if not self.live():
            return
        if sig == 9:
            self.ref_state = "dead"
            return
        if index is None:  # first thread not blocking it, else the main thread
            index = next((t.index for t in self.threads if not t.blocked & d.bit(sig)), 0)
        pending = self.ref_pending[index]
        if sig == 18:
            for stop in (19, 20, 21, 22):
                pending.pop(stop, None)
            if self.ref_state == "stopped":
                self.ref_state = "running"
        elif sig in STOP:
            pending.pop(18, None)
            if sig == 19:
                self.ref_state = "stopped"
                return
        kind = self.ref_kind(sig)
        ignored = kind == "ign" or (kind == "dfl" and sig in IGN | {18})
        if ignored and not self.threads[index].blocked & d.bit(sig):
            return
        queue = pending.setdefault(sig, [])
        if sig >= 32 or not queue:
            queue.append(info)

    def ref_deliver(self, index):
        pending, blocked = self.ref_pending[index], self.threads[index].blocked
        for sig in sorted(pending):
            if blocked & d.bit(sig):
                continue
            info = pending[sig].pop(0)
            if not pending[sig]:
                del pending[sig]
            kind, flags = self.ref_disp.get(sig, ("dfl", 0))
            if kind == "handler":
                self.ref_runs.append((index, sig, info))
                if flags & SA_RESETHAND:
                    self.ref_disp.pop(sig)
            elif kind == "dfl" and sig in TERM | CORE:
                self.ref_state = "dead"
                return
            elif kind == "dfl" and sig in STOP:
                self.ref_state = "stopped"
                return

    # ---------------------------------------------------------------- carried out
    def blocked_of(self, thread):
        return thread.blocked

    @rule(sig=st.sampled_from(SIGNALS), directed=st.sampled_from([None, 0, 1]))
    def generate(self, sig, directed):
        self.serial += 1
        info = bytes([sig, self.serial % 256])
        self.ref_generate(sig, info, directed)
        if self.proc.state not in ("running", "stopped"):
            outcomes = d.generate(self.proc, sig, self.disp.get(sig), self.threads,
                                  self.blocked_of)
            assert outcomes == ()
            return
        thread = None if directed is None else self.threads[directed]
        for outcome in d.generate(self.proc, sig, self.disp.get(sig), self.threads,
                                  self.blocked_of, thread):
            if isinstance(outcome, d.Queue):
                outcome.thread.pending.add(sig, info)
            elif isinstance(outcome, d.CancelPending):
                for cancelled in outcome.signals:
                    outcome.thread.pending.discard(cancelled)
            elif isinstance(outcome, d.ContinueGroup):
                self.table.cont(self.proc.pid)
            elif isinstance(outcome, d.StopGroup):
                self.table.stop(self.proc.pid, outcome.sig)
            elif isinstance(outcome, d.Terminate):
                self.table.exit(self.proc.pid, Signaled(outcome.sig), 1)
            else:
                assert isinstance(outcome, d.Discard)

    @rule(index=st.sampled_from([0, 1]))
    def deliver(self, index):
        if self.proc.state != "running":
            return  # a stopped or dead process's threads do not run
        self.ref_deliver(index)
        thread = self.threads[index]
        for info, outcome in d.dequeue(thread.pending, thread.blocked, self.disp):
            if isinstance(outcome, d.RunHandler):
                assert outcome.info == info
                self.runs.append((index, outcome.sig, info))
            elif isinstance(outcome, d.Terminate):
                assert outcome.core == (outcome.sig in CORE)
                self.table.exit(self.proc.pid, Signaled(outcome.sig, core=outcome.core), 1)
                break
            elif isinstance(outcome, d.StopGroup):
                self.table.stop(self.proc.pid, outcome.sig)
                break
            else:
                assert isinstance(outcome, (d.Ignore, d.Dropped))

    @rule(data=st.data())
    def raise_handled(self, data):
        """A thread signals itself with a signal it handles, and runs on (raise(3))."""
        handled = sorted(s for s, (kind, _) in self.ref_disp.items() if kind == "handler")
        if handled and self.proc.state == "running":
            index = data.draw(st.sampled_from([0, 1]))
            self.generate(data.draw(st.sampled_from(handled)), index)
            self.deliver(index)

    @rule(sig=st.sampled_from(HANDLED), kind=st.sampled_from(["dfl", "ign", "handler"]),
          resethand=st.booleans())
    def sigaction(self, sig, kind, resethand):
        flags = SA_RESETHAND if resethand and kind == "handler" else 0
        handler = {"dfl": 0, "ign": 1, "handler": 0x401000}[kind]
        self.disp.set(sig, SigAction(handler, flags))
        if kind == "dfl":
            self.ref_disp.pop(sig, None)
        else:
            self.ref_disp[sig] = (kind, flags)

    @rule(index=st.sampled_from([0, 1]), sigs=st.sets(st.sampled_from(HANDLED)))
    def sigprocmask(self, index, sigs):
        blocked = 0
        for sig in sigs:
            blocked |= d.bit(sig)
        self.threads[index].blocked = blocked

    @invariant()
    def same_as_reference(self):
        live = self.proc.state in ("running", "stopped")
        assert self.proc.state == self.ref_state if live else self.ref_state == "dead"
        for thread, ref in zip(self.threads, self.ref_pending):
            assert thread.pending.signals() == sorted(ref)
            pending = copy.deepcopy(thread.pending)
            for sig, infos in ref.items():
                assert [pending.remove(sig) for _ in infos] == infos
        assert self.runs == self.ref_runs
        for sig in HANDLED:
            kind, flags = self.ref_disp.get(sig, ("dfl", 0))
            action = self.disp.get(sig)
            assert (action.is_default, action.is_ignore, action.flags) == (
                kind == "dfl", kind == "ign", flags)


SignalModel.TestCase.settings = settings(max_examples=150, stateful_step_count=40,
                                         deadline=None)
TestSignalModel = SignalModel.TestCase
