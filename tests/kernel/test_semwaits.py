"""kernel/semwaits.py: which semaphore a semop waits on, as GETNCNT/GETZCNT count it."""
from pytest_simproc.kernel.semwaits import INCREASE, ZERO, SemWaits, blocking_op


def test_the_operation_that_waits_is_found_on_the_values_earlier_ones_left():
    assert blocking_op([0, 0], [(1, -1, 0)]) == (1, INCREASE)
    assert blocking_op([0, 0], [(0, 1, 0), (0, 0, 0)]) == (0, ZERO)   # 1 after the +1
    assert blocking_op([2, 0], [(0, -2, 0), (0, 0, 0), (1, -1, 0)]) == (1, INCREASE)
    assert blocking_op([1, 0], [(0, -1, 0), (1, 0, 0)]) is None


def test_counts_are_per_set_semaphore_and_kind_until_the_wait_ends():
    waits = SemWaits()
    waits.wait("a", 7, (1, INCREASE))
    waits.wait("b", 7, (1, INCREASE))
    waits.wait("c", 7, (0, ZERO))
    waits.wait("d", 8, (1, INCREASE))
    assert waits.count(7, 1, INCREASE) == 2 and waits.count(7, 0, ZERO) == 1
    assert waits.count(7, 1, ZERO) == 0
    waits.end("a")
    assert waits.count(7, 1, INCREASE) == 1
