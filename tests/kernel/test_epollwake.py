"""kernel/epollwake.py: one waiter per exclusive target per wake-up."""
from pytest_simproc.kernel.epollwake import woken

PIPE, SOCK = frozenset({("ino", 1)}), frozenset({("ino", 2)})
EDGES = {("ino", 1), ("ino", 2)}


def test_one_waiter_per_exclusive_target_and_plain_ones_all():
    looked = [("a", PIPE, True), ("b", PIPE, True), ("c", SOCK, True), ("d", frozenset(), True),
              ("e", frozenset(), True), ("f", PIPE, False)]
    assert woken(looked, EDGES) == ["a", "c", "d", "e"]


def test_the_passed_over_wait_for_the_next_wake_up_of_their_target():
    assert woken([("a", PIPE, True), ("b", PIPE, True), ("c", PIPE, True)], EDGES) == ["a"]
    # still ready (nobody took the data), no new wake-up: nobody
    assert woken([("b", PIPE, True), ("c", PIPE, True)], set()) == []
    # a wake-up of another target: nobody either
    assert woken([("b", PIPE, True), ("c", PIPE, True)], {("ino", 2)}) == []
    # the next wake-up, though no look saw the data taken in between: the next in line
    assert woken([("b", PIPE, True), ("c", PIPE, True)], {("ino", 1)}) == ["b"]
