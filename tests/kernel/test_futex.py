"""kernel/futex.py: the wait queues, a vector waiter (futex_waitv(2)) among them."""
from hypothesis import given, strategies as st

from pytest_simproc.kernel.futex import FutexTable

A, B, C = ("private", 1, 0x1000), ("private", 1, 0x1004), ("shared", 8, 1, 0)


def test_a_vector_waiter_is_woken_through_any_word_and_learns_which():
    table = FutexTable()
    table.wait_vector([A, B, C], "t1")
    table.wait(B, "t2")
    assert table.wake(B, 1) == ["t1"]           # queued first on B
    assert table.woken_result("t1") == 1
    assert table.woken_result("t1") == 0        # asked once
    assert table.waiters(A) == table.waiters(C) == 0   # off every word
    assert table.wake(B, 5) == ["t2"] and table.woken_result("t2") == 0


def test_a_word_listed_twice_answers_with_its_first_index():
    table = FutexTable()
    table.wait_vector([A, B, A], "t1")
    assert table.waiters(A) == 1
    assert table.wake(A, 1) == ["t1"] and table.woken_result("t1") == 0


def test_cancel_takes_a_vector_waiter_off_every_word():
    table = FutexTable()
    table.wait_vector([A, B], "t1")
    assert table.cancel("t1")
    assert not table.cancel("t1")
    assert table.wake(A, 1) == [] and table.wake(B, 1) == []


def test_a_waiter_put_back_stands_where_it_stood():
    table = FutexTable()
    table.wait_vector([A, B], "t1")
    table.wait(A, "t2")
    places = table.cancel("t1")
    table.wait(A, "t3")
    table.rejoin("t1", places)
    assert table.wake(A, 2) == ["t1", "t2"] and table.woken_result("t1") == 0
    assert table.waiters(B) == 0   # off every word
    assert table.wake(A, 1) == ["t3"]


def test_requeue_moves_one_word_of_a_vector_waiter():
    table = FutexTable()
    table.wait_vector([A, B], "t1")
    assert table.requeue(A, C, 0, 1) == ([], ["t1"])
    assert table.waiters(A) == 0 and table.waiters(B) == table.waiters(C) == 1
    assert table.wake(C, 1) == ["t1"] and table.woken_result("t1") == 0  # A's index
    assert table.waiters(B) == 0


@given(st.lists(st.tuples(st.sampled_from(["wait", "vector", "wake", "cancel"]),
                          st.integers(0, 3), st.lists(st.integers(0, 2), min_size=1,
                                                      max_size=4)), max_size=40))
def test_waiters_are_woken_once_and_in_queue_order(ops):
    """Against a plain model: each waiter waits on its words (a vector waiter's index
    is its first listing); a wake takes the oldest waiters of a word, each once."""
    table, model, order = FutexTable(), {}, []
    keys = [A, B, C]
    for op, who, words in ops:
        if op in ("wait", "vector") and who not in model:
            if op == "wait":
                words = words[:1]
                table.wait(keys[words[0]], who)
            else:
                table.wait_vector([keys[w] for w in words], who)
            model[who] = {w: (words.index(w) if op == "vector" else 0) for w in words}
            order.append(who)
        elif op == "cancel":
            assert bool(table.cancel(who)) == (who in model)
            if who in model:
                del model[who]
                order.remove(who)
        elif op == "wake":
            word = words[0]
            expected = [w for w in order if word in model[w]][:who]
            assert table.wake(keys[word], who) == expected
            for waiter in expected:
                assert table.woken_result(waiter) == model.pop(waiter)[word]
                order.remove(waiter)
        for word in range(3):
            assert table.waiters(keys[word]) == sum(word in m for m in model.values())
