"""recsys_utils.retrieval's training helpers (chapter 3): purchase histories and the
NumPy reference of the in-batch softmax loss, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recsys_utils.retrieval import in_batch_softmax_loss, purchase_histories


def _frame(rows):
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def test_purchase_histories_by_hand():
    # user 0 bought 5, 6, 7 (in time order, given shuffled); user 2 bought 3; user 1
    # nothing. num_items = 9 is the padding id; history = 2.
    df = _frame([(0, 7, 30), (2, 3, 5), (0, 5, 10), (0, 6, 20)])
    users, items, before, last = purchase_histories(df, num_items=9, history=2)
    np.testing.assert_array_equal(users, [0, 0, 0, 2])
    np.testing.assert_array_equal(items, [5, 6, 7, 3])
    np.testing.assert_array_equal(before, [[9, 9], [9, 5], [5, 6], [9, 9]])
    np.testing.assert_array_equal(last, [[6, 7], [9, 9], [9, 3]])


def test_purchase_histories_never_contain_the_answer_or_the_future():
    rng = np.random.default_rng(0)
    df = _frame([(int(u), int(i), int(t)) for u, i, t in rng.integers(0, 30, (200, 3))])
    users, items, before, _ = purchase_histories(df, num_items=30, history=4)
    order = df.sort_values(["user_id", "timestamp"], kind="stable")
    times = order["timestamp"].to_numpy()
    for row in range(len(users)):  # slow, independent: the earlier rows of the user
        same = np.flatnonzero(users[:row] == users[row])[-4:]
        expected = np.r_[np.full(4 - len(same), 30), items[same]]
        np.testing.assert_array_equal(before[row], expected)
        assert (times[same] <= times[row]).all()


@pytest.mark.parametrize(
    "df, kwargs, match",
    [
        (_frame([]), {}, "at least one"),
        (_frame([(0, 9, 1)]), {}, "item_id"),
        (_frame([(-1, 0, 1)]), {}, "user_id"),
        (_frame([(0, 0, 1)]), {"history": 0}, "history"),
        (pd.DataFrame({"user_id": [0], "item_id": [0]}), {}, "timestamp"),
    ],
)
def test_purchase_histories_rejects_bad_input(df, kwargs, match):
    with pytest.raises(ValueError, match=match):
        purchase_histories(df, num_items=9, **kwargs)


def test_in_batch_softmax_loss_by_hand():
    # B = 2, d = 1: u = [1, 0], v = [1, 2], temperature 1 -> logits [[1, 2], [0, 0]].
    u, v = np.array([[1.0], [0.0]]), np.array([[1.0], [2.0]])
    row0 = -(1 - math.log(math.e**1 + math.e**2))
    row1 = -(0 - math.log(2.0))
    assert in_batch_softmax_loss(u, v, [0, 1], temperature=1.0) == pytest.approx(
        (row0 + row1) / 2
    )
    # logQ: q = [0.5, 0.25] subtracts log q per column -> logits [[1.69, 3.39], ...]
    log_q = np.log([0.5, 0.25])
    l0 = np.array([1.0, 2.0]) - log_q
    l1 = np.array([0.0, 0.0]) - log_q
    expected = (
        -(l0[0] - np.log(np.exp(l0).sum())) - (l1[1] - np.log(np.exp(l1).sum()))
    ) / 2
    assert in_batch_softmax_loss(u, v, [0, 1], log_q, 1.0) == pytest.approx(expected)


def test_in_batch_softmax_loss_masks_duplicates():
    # the same item twice: each row's only candidate is its own positive -> loss 0
    u, v = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.3, 0.1], [0.3, 0.1]])
    assert in_batch_softmax_loss(u, v, [4, 4]) == pytest.approx(0.0)


def test_in_batch_softmax_loss_temperature_scales_logits():
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    ids = np.arange(5)
    assert in_batch_softmax_loss(u, v, ids, temperature=0.5) == pytest.approx(
        in_batch_softmax_loss(2 * u, v, ids, temperature=1.0)
    )


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.ones((2, 3)), np.ones((3, 3)), [0, 1]), "same non-empty shape"),
        ((np.ones((2, 3)), np.ones((2, 3)), [0]), "item_ids"),
        ((np.ones((2, 3)), np.ones((2, 3)), [0, 1], np.zeros(1)), "log_q"),
        ((np.ones((2, 3)), np.ones((2, 3)), [0, 1], None, 0.0), "temperature"),
    ],
)
def test_in_batch_softmax_loss_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        in_batch_softmax_loss(*args)
