"""ChaosScheduler: one legal interleaving per seed, recorded and replayable (no tracee)."""
from hypothesis import given, settings, strategies as st

from pytest_simproc.scheduler import ChaosScheduler, Scheduler


class FakeTask:
    def __init__(self, tid):
        self.tid = tid

    def __repr__(self):
        return f"T{self.tid}"


def _run(sched, tasks, steps=60, wake_every=7, blocking=True):
    """Drive a scheduler as the engine does: pick, and now and then park the picked
    task and wake a parked one, so that candidates come and go."""
    for t in tasks:
        sched.add(t)
    order = []
    parked = []
    for step in range(steps):
        task = sched.pick()
        if task is None:
            break
        order.append(task.tid)
        if blocking and step % wake_every == 3:
            sched.park(task, keys=(("k", task.tid),))
            parked.append(task)
        if parked and step % wake_every == 5:
            woken = parked.pop(0)
            sched.notify(("k", woken.tid))
    return order


def _tasks(n=3):
    return [FakeTask(1000 + i) for i in range(n)]


def test_the_same_seed_gives_the_same_interleaving():
    assert _run(ChaosScheduler(5), _tasks()) == _run(ChaosScheduler(5), _tasks())


def test_seeds_give_different_interleavings():
    orders = {tuple(_run(ChaosScheduler(seed), _tasks())) for seed in range(20)}
    assert len(orders) >= 10


def test_chaos_switches_where_the_default_keeps_running():
    # The default policy keeps a task for 64 calls: two tasks that never block run in
    # two long streaks; chaos seeds interleave them.
    default = _run(Scheduler(0), _tasks(2), steps=40, blocking=False)
    assert len(set(default[:40])) == 1
    chaotic = [_run(ChaosScheduler(s), _tasks(2), steps=40, blocking=False) for s in range(20)]
    assert any(len(set(order)) == 2 for order in chaotic)
    # and who runs first is up to the seed
    assert {order[0] for order in chaotic} == {1000, 1001}


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(2, 5))
def test_a_recorded_interleaving_replays_exactly(seed, n):
    first = ChaosScheduler(seed)
    order = _run(first, _tasks(n))
    again = ChaosScheduler(seed + 1, replay=first.decisions)  # another seed: replay rules
    assert _run(again, _tasks(n)) == order
    assert again.decisions == first.decisions


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10**6), cut=st.integers(0, 30))
def test_a_replayed_prefix_then_the_default_policy(seed, cut):
    first = ChaosScheduler(seed)
    _run(first, _tasks())
    prefix = first.decisions[:cut]
    replay = ChaosScheduler(seed, replay=prefix)
    _run(replay, _tasks())
    assert replay.decisions[:len(prefix)] == prefix
    # after the prefix, the same choices as any other run with that prefix
    other = ChaosScheduler(seed, replay=prefix)
    _run(other, _tasks())
    assert other.decisions == replay.decisions


def test_descriptions_name_the_chosen_task_and_the_others():
    sched = ChaosScheduler(3, describe=lambda t: f"{t.tid} call")
    _run(sched, _tasks(2), steps=5, blocking=False)
    assert sched.described
    chosen, others = sched.described[0]
    assert chosen == f"{sched.decisions[0]} call"
    assert others and others[0] != chosen


def test_others_runnable_ignores_the_task_itself_and_stopped_processes():
    """What a spinning task's preemption asks (engine/trap.py _preempt_due)."""
    from types import SimpleNamespace
    running, stopped = SimpleNamespace(state="running"), SimpleNamespace(state="stopped")
    a, b, c = FakeTask(1), FakeTask(2), FakeTask(3)
    a.proc, b.proc, c.proc = running, stopped, running
    sched = Scheduler(0)
    sched.add(a)
    assert not sched.others_runnable(a)
    sched.add(b)
    assert not sched.others_runnable(a)   # b's process is stopped: it cannot run
    sched.add(c)
    assert sched.others_runnable(a) and sched.others_runnable(c)
