"""recsys_utils.retrieval's training helpers (chapter 3): purchase histories and the
NumPy reference of the in-batch softmax loss, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recsys_utils.retrieval import (
    in_batch_softmax_loss,
    profile_histories,
    purchase_histories,
)


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


# --- profile_histories ---------------------------------------------------------------


def test_profile_histories_by_hand():
    # user 0 owns 4, 5, 6; user 2 owns 7; history 5 (more than anyone owns)
    df = pd.DataFrame({"user_id": [0, 2, 0, 0], "item_id": [4, 7, 5, 6]})
    users, items, others, profile = profile_histories(df, num_items=9, history=5)
    np.testing.assert_array_equal(users, [0, 0, 0, 2])
    for row in range(4):
        own = set(df.loc[df.user_id == users[row], "item_id"]) - {items[row]}
        kept = others[row][others[row] != 9]
        assert set(kept) == own and len(kept) == len(own)  # all the others, once
        assert (others[row][len(own) :] == 9).all()  # padding at the end
    assert sorted(profile[0][:3]) == [4, 5, 6] and (profile[0][3:] == 9).all()
    assert (profile[1] == 9).all()  # user 1 has nothing
    np.testing.assert_array_equal(profile[2], [7, 9, 9, 9, 9])


def test_profile_histories_sample_is_uniform_and_excludes_the_example():
    # one user with 6 items, history 2: over many seeds each other item is drawn
    # with probability 2/5 for the example of item 0
    df = pd.DataFrame({"user_id": [0] * 6, "item_id": np.arange(6)})
    counts = np.zeros(6)
    for seed in range(2000):
        _, items, others, _ = profile_histories(df, num_items=6, history=2, seed=seed)
        row = others[items == 0][0]
        assert 0 not in row and len(set(row)) == 2
        counts[row] += 1
    np.testing.assert_allclose(counts[1:] / 2000, 0.4, atol=0.04)
    assert counts[0] == 0


def test_profile_histories_is_seeded():
    df = pd.DataFrame({"user_id": [0, 0, 1, 1, 1], "item_id": [1, 2, 3, 4, 0]})
    a = profile_histories(df, num_items=5, history=2, seed=3)
    b = profile_histories(df, num_items=5, history=2, seed=3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    "df, kwargs, match",
    [
        (pd.DataFrame({"user_id": [], "item_id": []}), {}, "at least one"),
        (pd.DataFrame({"user_id": [0], "item_id": [9]}), {}, "item_id"),
        (pd.DataFrame({"user_id": [0]}), {}, "item_id"),
        (pd.DataFrame({"user_id": [0], "item_id": [1]}), {"history": 0}, "history"),
    ],
)
def test_profile_histories_rejects_bad_input(df, kwargs, match):
    with pytest.raises(ValueError, match=match):
        profile_histories(df, num_items=9, **kwargs)
