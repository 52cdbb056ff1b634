"""kernel/epollwake.py: one waiter per exclusive target per wake-up."""
from pytest_simproc.kernel.epollwake import ExclusiveWakes

PIPE, SOCK = frozenset({("ino", 1)}), frozenset({("ino", 2)})


def test_one_waiter_per_exclusive_target_and_plain_ones_all():
    wakes = ExclusiveWakes()
    looked = [("a", PIPE, True), ("b", PIPE, True), ("c", SOCK, True), ("d", frozenset(), True),
              ("e", frozenset(), True), ("f", PIPE, False)]
    assert wakes.woken(looked) == ["a", "c", "d", "e"]


def test_the_passed_over_wait_for_the_next_wake_up():
    wakes = ExclusiveWakes()
    assert wakes.woken([("a", PIPE, True), ("b", PIPE, True), ("c", PIPE, True)]) == ["a"]
    # still ready (nobody took the data): no new wake-up
    assert wakes.woken([("b", PIPE, True), ("c", PIPE, True)]) == []
    # taken, then new data: the next in line
    assert wakes.woken([("b", PIPE, False), ("c", PIPE, False)]) == []
    assert wakes.woken([("b", PIPE, True), ("c", PIPE, True)]) == ["b"]


def test_a_new_wait_of_one_passed_over_starts_anew():
    wakes = ExclusiveWakes()
    assert wakes.woken([("a", PIPE, True), ("b", PIPE, True)]) == ["a"]
    wakes.ended("b")   # timed out, and waits again
    assert wakes.woken([("b", PIPE, True)]) == ["b"]
