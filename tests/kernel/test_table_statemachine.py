"""Random sequences of process-table operations must keep the table consistent.

The rules drive fork/spawn/exit/wait/reap/setpgid/setsid/subreaper/stop/cont with a tiny
pid range so that pid wrap-around, reuse of reaped pids and exhaustion all happen; the
invariants are checked by brute force over every record, independently of the table's
own indices.
"""

import errno
from collections import Counter

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from pytest_simproc.kernel import Exited, KernelError, ProcessTable, Signaled, wait4, waitid
from pytest_simproc.kernel.wait import (
    P_ALL,
    P_PGID,
    P_PID,
    WCONTINUED,
    WEXITED,
    WNOHANG,
    WNOWAIT,
    WSTOPPED,
    WUNTRACED,
)

FIRST_PID, PID_MAX = 100, 124
index = st.integers(0, 10_000)
statuses = st.one_of(
    st.integers(0, 255).map(Exited),
    st.sampled_from([9, 11, 15, 6]).flatmap(
        lambda s: st.booleans().map(lambda core: Signaled(s, core=core))
    ),
)


class ProcessTableMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.t = ProcessTable(first_pid=FIRST_PID, pid_max=PID_MAX)
        self.now = 0

    # ----------------------------------------------------------------- helpers

    def present(self):
        """Live and zombie records found by brute force over the history (plus init)."""
        return [self.t.init] + [p for p in self.t.processes() if p.state != "reaped"]

    def alive(self, include_init=False):
        procs = [p for p in self.present() if p.is_alive]
        return procs if include_init else [p for p in procs if p.pid != 1]

    def parents(self, focus):
        """Waiters: with ``focus``, only processes that have children (else anyone)."""
        everyone = self.alive(include_init=True)
        # init's children never become zombies, so prefer other parents.
        with_children = [p for p in everyone if p.children and p.pid != 1]
        return with_children if focus and with_children else everyone

    @staticmethod
    def pick(items, i):
        return items[i % len(items)] if items else None

    def ids_in_use(self):
        used = set()
        for p in self.present():
            used.update((p.pid, p.pgid, p.sid))
        return used

    def tick(self):
        self.now += 1
        return self.now

    def assert_exhausted(self):
        assert set(range(FIRST_PID, PID_MAX)) <= self.ids_in_use()

    # ------------------------------------------------------------------- rules

    @initialize(shape=st.lists(st.integers(0, 6), min_size=2, max_size=7),
                root_subreaper=st.booleans())
    def build_tree(self, shape, root_subreaper):
        """Start from a small random tree so that grandchildren, zombies with a
        non-init parent and subreapers show up within a few steps."""
        procs = [self.t.spawn(["root"], "root", 0)]
        self.t.set_subreaper(procs[0].pid, root_subreaper)
        for parent_index in shape:
            procs.append(self.t.fork(procs[parent_index % len(procs)].pid, 0))

    @precondition(lambda self: len(self.t.init.children) < 6)
    @rule()
    def spawn(self):
        used = self.ids_in_use()
        try:
            p = self.t.spawn(["prog"], "/bin/prog", self.tick())
        except KernelError as exc:
            assert exc.errno == errno.EAGAIN
            self.assert_exhausted()
            return
        assert p.pid not in used
        assert (p.ppid, p.pgid, p.sid) == (1, 1, 1)

    @rule(i=index, from_init=st.booleans())
    def fork(self, i, from_init):
        parent = self.pick(self.alive(include_init=from_init) or [self.t.init], i)
        used = self.ids_in_use()
        try:
            child = self.t.fork(parent.pid, self.tick())
        except KernelError as exc:
            assert exc.errno == errno.EAGAIN
            self.assert_exhausted()
            return
        assert child.pid not in used
        assert (child.ppid, child.pgid, child.sid) == (parent.pid, parent.pgid, parent.sid)
        assert child.pdeathsig == 0 and not child.is_subreaper
        assert parent.children[-1] == child.pid

    @precondition(lambda self: self.alive())
    @rule(i=index, status=statuses, autoreap=st.booleans(), focus=st.booleans())
    def exit(self, i, status, autoreap, focus):
        candidates = self.alive()
        if focus:  # prefer processes whose exit leaves a zombie or orphans children
            candidates = (
                [p for p in candidates if p.ppid != 1]
                or [p for p in candidates if p.children]
                or candidates
            )
        proc = self.pick(candidates, i)
        parent = self.t.get(proc.ppid)
        children = list(proc.children)
        zombie_children = [c for c in children if self.t.get(c).is_zombie]
        # Expected reaper: nearest live subreaper ancestor, else init.
        expected_reaper, walk = 1, self.t.get(proc.ppid)
        while walk is not None and walk.pid != 1:
            if walk.is_subreaper and walk.is_alive:
                expected_reaper = walk.pid
                break
            walk = self.t.get(walk.ppid)
        deathsigs = [(c, self.t.get(c).pdeathsig) for c in children
                     if self.t.get(c).is_alive and self.t.get(c).pdeathsig]
        result = self.t.exit(proc.pid, status, self.tick(), parent_autoreaps=autoreap)
        assert result.pdeath_signals == deathsigs
        for pgid in result.orphaned_pgrps:
            members = [p for p in self.present() if p.pgid == pgid]
            assert any(p.state == "stopped" for p in members)
            for m in members:  # brute force: no link to the session outside the group
                up = self.t.get(m.ppid)
                if m.is_alive and m.pid != 1 and m.ppid != 1:  # init has no parent
                    assert up.pgid == pgid or up.sid != m.sid
        assert result.process is proc and result.parent_pid == parent.pid
        assert proc.exit_status == status and proc.end_time_ns == self.now
        assert result.reparented == children and proc.children == []
        assert result.new_parent_of == {c: expected_reaper for c in children}
        if expected_reaper == 1:
            assert set(zombie_children) <= set(result.reaped_by_init)
        if parent.pid == 1:
            assert proc.state == "reaped" and proc.reaped_by == 1
            assert proc.pid in result.reaped_by_init
        elif autoreap:
            assert proc.state == "reaped" and proc.reaped_by == parent.pid
        else:
            assert proc.is_zombie and proc.pid in parent.children

    @precondition(lambda self: self.t.zombies())
    @rule(i=index)
    def reap(self, i):
        zombie = self.pick(self.t.zombies(), i)
        parent = self.t.get(zombie.ppid)
        self.t.reap(zombie.pid, parent.pid)
        assert zombie.state == "reaped" and zombie.reaped_by == parent.pid
        assert zombie.pid not in parent.children

    def _expected_matches(self, waiter, pred):
        # Brute force over every record, not the waiter's children list.
        return [p for p in self.present() if p.ppid == waiter.pid and p.pid != 1 and pred(p)]

    def _check_event(self, event, candidates, want_exit, want_stop, want_cont, consumed):
        by_pid = {p.pid: p for p in candidates}
        assert event.pid in by_pid
        child = by_pid[event.pid]
        if event.kind in ("exited", "killed", "dumped"):
            assert want_exit
            assert child.state == ("reaped" if consumed else "zombie")
        elif event.kind == "stopped":
            assert want_stop and child.state == "stopped"
            assert child.stop_report_pending is (not consumed)
        else:
            assert event.kind == "continued" and want_cont
            assert child.continue_report_pending is (not consumed)

    @rule(i=index, focus=st.booleans(), kind=st.sampled_from(["any", "own", "pid", "group"]),
          j=index, options=st.sets(st.sampled_from([WNOHANG, WUNTRACED, WCONTINUED])))
    def do_wait4(self, i, focus, kind, j, options):
        waiter = self.pick(self.parents(focus), i)
        flags = sum(options)
        everyone = self.present()
        if kind == "any":
            sel, pred = -1, lambda p: True
        elif kind == "own":
            sel, pred = 0, (lambda g: lambda p: p.pgid == g)(waiter.pgid)
        elif kind == "pid":
            target = self.pick(waiter.children if focus and waiter.children else everyone, j)
            target = target if isinstance(target, int) else target.pid
            sel, pred = target, lambda p: p.pid == target
        else:
            group = self.pick(everyone, j).pgid
            if group == 1:
                sel, pred = -1, lambda p: True
            else:
                sel, pred = -group, lambda p: p.pgid == group
        candidates = self._expected_matches(waiter, pred)
        try:
            event = wait4(self.t, waiter.pid, sel, flags)
        except KernelError as exc:
            assert exc.errno == errno.ECHILD and candidates == []
            return
        assert candidates
        if event is not None:
            self._check_event(event, candidates, True, bool(flags & WUNTRACED),
                              bool(flags & WCONTINUED), consumed=True)
        else:
            assert not any(p.is_zombie for p in candidates)

    @rule(i=index, focus=st.booleans(), idtype=st.sampled_from([P_ALL, P_PID, P_PGID]),
          j=index,
          options=st.sets(st.sampled_from([WEXITED, WSTOPPED, WCONTINUED, WNOWAIT, WNOHANG]),
                          min_size=1))
    def do_waitid(self, i, focus, idtype, j, options):
        waiter = self.pick(self.parents(focus), i)
        flags = sum(options)
        if focus and waiter.children:
            target = self.t.get(self.pick(waiter.children, j))
        else:
            target = self.pick(self.present(), j)
        ident = {P_ALL: 0, P_PID: target.pid, P_PGID: target.pgid}[idtype]
        pred = {
            P_ALL: lambda p: True,
            P_PID: lambda p: p.pid == ident,
            P_PGID: lambda p: p.pgid == ident,
        }[idtype]
        candidates = self._expected_matches(waiter, pred)
        try:
            event = waitid(self.t, waiter.pid, idtype, ident, flags)
        except KernelError as exc:
            if not flags & (WEXITED | WSTOPPED | WCONTINUED):
                assert exc.errno == errno.EINVAL
            elif flags & WEXITED:
                assert exc.errno == errno.ECHILD and candidates == []
            else:  # without WEXITED, zombies are no children (kernel/exit.c)
                assert exc.errno == errno.ECHILD
                assert all(p.is_zombie for p in candidates)
            return
        assert candidates
        assert flags & WEXITED or not all(p.is_zombie for p in candidates)
        if event is not None:
            self._check_event(event, candidates, bool(flags & WEXITED), bool(flags & WSTOPPED),
                              bool(flags & WCONTINUED), consumed=not flags & WNOWAIT)
        elif flags & WEXITED:
            assert not any(p.is_zombie for p in candidates)

    @precondition(lambda self: self.alive())
    @rule(i=index, tsel=st.sampled_from(["self", "zero", "child", "random"]), j=index,
          gsel=st.sampled_from(["zero", "own", "existing", "random"]), k=index)
    def setpgid(self, i, tsel, j, gsel, k):
        caller = self.pick(self.alive(), i)
        everyone = self.present()
        if tsel == "self":
            pid = caller.pid
        elif tsel == "zero":
            pid = 0
        elif tsel == "child" and caller.children:
            pid = self.pick(caller.children, j)
        else:
            pid = self.pick(everyone, j).pid
        target_pid = pid or caller.pid
        if gsel == "zero":
            pgid = 0
        elif gsel == "own":
            pgid = target_pid
        elif gsel == "existing":
            pgid = self.pick(everyone, k).pgid
        else:
            pgid = FIRST_PID + k % (PID_MAX - FIRST_PID)
        before = {p.pid: p.pgid for p in everyone}
        try:
            self.t.setpgid(caller.pid, pid, pgid)
        except KernelError as exc:
            assert exc.errno in (errno.ESRCH, errno.EPERM, errno.EACCES, errno.EINVAL)
            assert {p.pid: p.pgid for p in self.present()} == before
            return
        target = self.t.get(target_pid)
        assert target.pgid == (pgid or target_pid)
        assert target is caller or target.ppid == caller.pid
        assert target.sid == caller.sid and target.sid != target.pid

    @precondition(lambda self: self.alive())
    @rule(i=index)
    def setsid(self, i):
        caller = self.pick(self.alive(), i)
        is_leader = any(p.pgid == caller.pid for p in self.present())
        try:
            sid = self.t.setsid(caller.pid)
        except KernelError as exc:
            assert exc.errno == errno.EPERM and is_leader
            return
        assert not is_leader
        assert sid == caller.pid == caller.pgid == caller.sid

    @precondition(lambda self: self.alive())
    @rule(i=index, flag=st.booleans(), focus=st.booleans())
    def subreaper(self, i, flag, focus):
        candidates = self.alive()
        if focus:  # prefer grandparents, whose flag matters when a child exits
            grand = [p for p in candidates
                     if any(self.t.get(c).children for c in p.children)]
            candidates = grand or candidates
        proc = self.pick(candidates, i)
        self.t.set_subreaper(proc.pid, flag)
        assert proc.is_subreaper is flag

    @precondition(lambda self: self.alive())
    @rule(i=index, sig=st.sampled_from([0, 9, 15]))
    def pdeathsig(self, i, sig):
        self.t.set_pdeathsig(self.pick(self.alive(), i).pid, sig)

    @precondition(lambda self: self.alive())
    @rule(i=index)
    def exec(self, i):
        proc = self.pick(self.alive(), i)
        self.t.exec(proc.pid, ["other"], "/bin/other")
        assert proc.has_execed

    @precondition(lambda self: self.alive())
    @rule(i=index, sig=st.sampled_from([19, 20, 21, 22]))
    def stop(self, i, sig):
        proc = self.pick(self.alive(), i)
        was_running = proc.state == "running"
        assert self.t.stop(proc.pid, sig) is was_running
        assert proc.state == "stopped"
        if was_running:
            assert proc.stop_report_pending and not proc.continue_report_pending

    @precondition(lambda self: self.alive())
    @rule(i=index)
    def cont(self, i):
        proc = self.pick(self.alive(), i)
        was_stopped = proc.state == "stopped"
        assert self.t.cont(proc.pid) is was_stopped
        assert proc.state == "running"
        if was_stopped:
            assert proc.continue_report_pending and not proc.stop_report_pending

    # -------------------------------------------------------------- invariants

    @invariant()
    def unique_pids(self):
        counts = Counter(p.pid for p in self.present())
        assert all(n == 1 for n in counts.values()), counts
        for p in self.present():
            assert self.t.get(p.pid) is p and self.t.lookup_any(p.pid) is p

    @invariant()
    def parent_links(self):
        for p in self.present():
            if p.pid == 1:
                continue
            parent = self.t.get(p.ppid)
            assert parent is not None and parent.is_alive, (p, parent)
            assert parent.children.count(p.pid) == 1
        for p in self.present():
            assert len(set(p.children)) == len(p.children)
            for c in p.children:
                child = self.t.get(c)
                assert child is not None and child.ppid == p.pid
            if p.is_zombie:
                assert p.children == []

    @invariant()
    def no_zombies_of_init(self):
        assert not [p for p in self.present() if p.is_zombie and p.ppid == 1]
        assert all(p.ppid != 1 for p in self.t.zombies())

    @invariant()
    def reaped_records(self):
        listed = {c for p in self.present() for c in p.children}
        for p in self.t.processes():
            if p.state == "reaped":
                assert p.reaped_by is not None and p.exit_status is not None
                assert self.t.get(p.pid) is not p
                assert p.pid not in listed or self.t.get(p.pid) is not None
            if p.state in ("zombie", "reaped"):
                assert p.end_time_ns is not None
                assert not p.stop_report_pending and not p.continue_report_pending
            else:
                assert p.exit_status is None and p.reaped_by is None
            if p.state != "stopped":
                assert not p.stop_report_pending

    @invariant()
    def history_order(self):
        records = self.t.processes()
        indices = [p.creation_index for p in records]
        assert indices == sorted(indices) and len(set(indices)) == len(indices)
        latest = {}
        for p in records:
            latest[p.pid] = p
        for pid, p in latest.items():
            assert self.t.lookup_any(pid) is p
        assert self.t.live() == [p for p in records if p.is_alive]
        assert self.t.zombies() == [p for p in records if p.is_zombie]

    @invariant()
    def groups_and_sessions(self):
        present = self.present()
        groups, sessions = {}, {}
        for p in present:
            groups.setdefault(p.pgid, []).append(p)
            sessions.setdefault(p.sid, []).append(p)
        for pgid, members in groups.items():
            assert self.t.group_exists(pgid)
            assert self.t.group_members(pgid) == members
            # A group never spans sessions.
            assert len({m.sid for m in members}) == 1
            # Its id was once a real pid, and is not reused by another process while
            # the group exists: a process with that pid is in the group's session.
            assert self.t.lookup_any(pgid) is not None
            owner = self.t.get(pgid)
            if owner is not None:
                assert owner.sid == members[0].sid
        for sid, members in sessions.items():
            assert self.t.session_exists(sid)
            assert self.t.session_members(sid) == members
            assert self.t.lookup_any(sid) is not None
            owner = self.t.get(sid)
            if owner is not None:
                assert owner.sid == sid  # a session id in use belongs to its leader
        for p in present:
            if p.sid == p.pid:
                assert p.pgid == p.pid  # a session leader never leaves its group
        for pid in range(FIRST_PID, PID_MAX):
            if pid not in groups:
                assert not self.t.group_exists(pid) and self.t.group_members(pid) == []
            if pid not in sessions:
                assert not self.t.session_exists(pid)


ProcessTableMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestProcessTableMachine = ProcessTableMachine.TestCase
