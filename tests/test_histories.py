"""recsys_utils.histories: the one purchase_histories (chapters 3 and 4) and its
order-free twin, against values worked out by hand and a slow independent loop."""

import numpy as np
import pandas as pd
import pytest

from recsys_utils.histories import Histories, profile_histories, purchase_histories

PAD = 10  # num_items: the padding id


def _frame():
    # user 0 buys 5, 7, 9 (times 1, 2, 3); user 2 buys 4 then 8 (times 5, 6);
    # user 1 buys nothing. Rows are shuffled on purpose.
    return pd.DataFrame(
        {
            "user_id": [2, 0, 0, 2, 0],
            "item_id": [8, 7, 5, 4, 9],
            "timestamp": [6, 2, 1, 5, 3],
        }
    )


def test_examples_by_hand():
    h = purchase_histories(_frame(), num_users=3, num_items=PAD, hist_len=2)
    assert isinstance(h, Histories)
    # examples: (user 0, target 7, history [pad, 5]), (0, 9, [5, 7]), (2, 8, [pad, 4])
    np.testing.assert_array_equal(h.user_ids, [0, 0, 2])
    np.testing.assert_array_equal(h.item_ids, [7, 9, 8])
    np.testing.assert_array_equal(h.history, [[PAD, 5], [5, 7], [PAD, 4]])
    np.testing.assert_array_equal(h.mask, [[False, True], [True, True], [False, True]])
    assert h.negatives.shape == (3, 0)  # num_neg = 0 by default


def test_min_history_zero_keeps_first_purchases():
    h = purchase_histories(_frame(), 3, PAD, hist_len=2, min_history=0)
    # user 0: 5 ([pad, pad]), 7 ([pad, 5]), 9 ([5, 7]); user 2: 4, 8
    np.testing.assert_array_equal(h.user_ids, [0, 0, 0, 2, 2])
    np.testing.assert_array_equal(h.item_ids, [5, 7, 9, 4, 8])
    np.testing.assert_array_equal(
        h.history, [[PAD, PAD], [PAD, 5], [5, 7], [PAD, PAD], [PAD, 4]]
    )
    two = purchase_histories(_frame(), 3, PAD, hist_len=2, min_history=2)
    np.testing.assert_array_equal(two.item_ids, [9])  # only 9 has 2 before it


def test_serving_histories_by_hand():
    h = purchase_histories(_frame(), num_users=3, num_items=PAD, hist_len=2)
    # last two purchases of user 0: 7, 9; user 1: none; user 2: 4, 8
    np.testing.assert_array_equal(h.serve_history, [[7, 9], [PAD, PAD], [4, 8]])
    np.testing.assert_array_equal(
        h.serve_mask, [[True, True], [False, False], [True, True]]
    )
    h4 = purchase_histories(_frame(), num_users=3, num_items=PAD, hist_len=4)
    np.testing.assert_array_equal(h4.serve_history[0], [PAD, 5, 7, 9])
    np.testing.assert_array_equal(h4.serve_mask[0], [False, True, True, True])


def test_one_padding_convention():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 6, 80),
            "item_id": rng.integers(0, 30, 80),
            "timestamp": rng.integers(0, 20, 80),
        }
    )
    for h in (
        purchase_histories(frame, 7, 30, hist_len=5, min_history=0),
        profile_histories(frame.drop_duplicates(["user_id", "item_id"]), 7, 30, 5),
    ):
        for hist, mask in ((h.history, h.mask), (h.serve_history, h.serve_mask)):
            np.testing.assert_array_equal(mask, hist != 30)  # pad = num_items
            # padding on the left: once a slot is real, every later slot is real
            assert (np.diff(mask.astype(int), axis=1) >= 0).all()
        assert h.serve_history.shape == (7, 5)  # one row per user, user 6 included
        assert not h.serve_mask[6].any()


def test_histories_never_contain_the_answer_or_the_future():
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        rng.integers(0, 30, (200, 3)), columns=["user_id", "item_id", "timestamp"]
    )
    h = purchase_histories(df, 30, 30, hist_len=4, min_history=0)
    order = df.sort_values(["user_id", "timestamp"], kind="stable")
    users, items = order["user_id"].to_numpy(), order["item_id"].to_numpy()
    times = order["timestamp"].to_numpy()
    np.testing.assert_array_equal(h.user_ids, users)
    np.testing.assert_array_equal(h.item_ids, items)
    for row in range(len(users)):  # slow, independent: the earlier rows of the user
        same = np.flatnonzero(users[:row] == users[row])[-4:]
        expected = np.r_[np.full(4 - len(same), 30), items[same]]
        np.testing.assert_array_equal(h.history[row], expected)
        assert (times[same] <= times[row]).all()


def test_negatives_are_seeded_and_in_the_catalogue():
    a = purchase_histories(_frame(), 3, PAD, num_neg=4, seed=1).negatives
    b = purchase_histories(_frame(), 3, PAD, num_neg=4, seed=1).negatives
    c = purchase_histories(_frame(), 3, PAD, num_neg=4, seed=2).negatives
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 4) and a.min() >= 0 and a.max() < PAD
    # the rule: np.random.default_rng(seed).integers(0, num_items, (n, num_neg))
    np.testing.assert_array_equal(a, np.random.default_rng(1).integers(0, PAD, (3, 4)))
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hist_len": 0}, "hist_len must be a positive int"),
        ({"num_neg": -1}, "num_neg must be a non-negative int"),
        ({"min_history": -1}, "min_history must be a non-negative int"),
        ({"num_items": 9}, r"item_id'\] must lie in \[0, 9\); got 9"),
        ({"num_users": 2}, r"user_id'\] must lie in \[0, 2\); got 2"),
        ({"seed": 1.5}, "seed must be a non-negative int"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"num_users": 3, "num_items": PAD, **kwargs}
    with pytest.raises(ValueError, match=match):
        purchase_histories(_frame(), **args)


def test_bad_frame():
    with pytest.raises(ValueError, match="missing \\['timestamp'\\]"):
        purchase_histories(_frame().drop(columns="timestamp"), 3, PAD)
    with pytest.raises(ValueError, match="DataFrame"):
        purchase_histories(np.zeros((3, 3)), 3, PAD)
    with pytest.raises(ValueError, match="df must not be empty"):
        purchase_histories(_frame().iloc[:0], 3, PAD)
    with pytest.raises(ValueError, match="not a whole number"):
        purchase_histories(_frame().assign(item_id=[8, 7, 5.5, 4, 9]), 3, PAD)


# --- profile_histories ---------------------------------------------------------------


def test_profile_histories_by_hand():
    # user 0 owns 4, 5, 6; user 2 owns 7; hist_len 5 (more than anyone owns)
    df = pd.DataFrame({"user_id": [0, 2, 0, 0], "item_id": [4, 7, 5, 6]})
    h = profile_histories(df, num_users=3, num_items=9, hist_len=5)
    np.testing.assert_array_equal(h.user_ids, [0, 0, 0, 2])
    for row in range(4):
        own = set(df.loc[df.user_id == h.user_ids[row], "item_id"]) - {h.item_ids[row]}
        kept = h.history[row][h.mask[row]]
        assert set(kept) == own and len(kept) == len(own)  # all the others, once
        assert (h.history[row][: 5 - len(own)] == 9).all()  # padding on the left
    assert sorted(h.serve_history[0][2:]) == [4, 5, 6]
    assert (h.serve_history[0][:2] == 9).all()
    assert (h.serve_history[1] == 9).all()  # user 1 has nothing
    np.testing.assert_array_equal(h.serve_history[2], [9, 9, 9, 9, 7])
    np.testing.assert_array_equal(h.history[3], [9] * 5)  # user 2's only item


def test_profile_histories_sample_is_uniform_and_excludes_the_example():
    # one user with 6 items, hist_len 2: over many seeds each other item is drawn
    # with probability 2/5 for the example of item 0
    df = pd.DataFrame({"user_id": [0] * 6, "item_id": np.arange(6)})
    counts = np.zeros(6)
    for seed in range(2000):
        h = profile_histories(df, 1, 6, hist_len=2, seed=seed)
        row = h.history[h.item_ids == 0][0]
        assert 0 not in row and len(set(row)) == 2
        counts[row] += 1
    np.testing.assert_allclose(counts[1:] / 2000, 0.4, atol=0.04)
    assert counts[0] == 0


def test_profile_histories_is_seeded():
    df = pd.DataFrame({"user_id": [0, 0, 1, 1, 1], "item_id": [1, 2, 3, 4, 0]})
    a = profile_histories(df, 2, 5, hist_len=2, num_neg=3, seed=3)
    b = profile_histories(df, 2, 5, hist_len=2, num_neg=3, seed=3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert a.negatives.shape == (5, 3)


@pytest.mark.parametrize(
    "df, kwargs, match",
    [
        (pd.DataFrame({"user_id": [], "item_id": []}), {}, "must not be empty"),
        (pd.DataFrame({"user_id": [0], "item_id": [9]}), {}, "item_id"),
        (pd.DataFrame({"user_id": [0]}), {}, "item_id"),
        (pd.DataFrame({"user_id": [0], "item_id": [1]}), {"hist_len": 0}, "hist_len"),
    ],
)
def test_profile_histories_rejects_bad_input(df, kwargs, match):
    with pytest.raises(ValueError, match=match):
        profile_histories(df, num_users=2, num_items=9, **kwargs)
