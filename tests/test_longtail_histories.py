"""Tests of recsys_utils.longtail.purchase_histories, worked out by hand."""

import numpy as np
import pandas as pd
import pytest

from recsys_utils import longtail as lt


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
    h = lt.purchase_histories(_frame(), num_users=3, num_items=10, hist_len=2)
    ex = h.examples
    # examples: (user 0, target 7, history [pad, 5]), (0, 9, [5, 7]), (2, 8, [pad, 4])
    np.testing.assert_array_equal(ex["user"], [0, 0, 2])
    np.testing.assert_array_equal(ex["pos"], [7, 9, 8])
    np.testing.assert_array_equal(
        ex["mask"], [[False, True], [True, True], [False, True]]
    )
    np.testing.assert_array_equal(ex["hist"], [[0, 5], [5, 7], [0, 4]])
    assert ex["neg"].shape == (3, 4)
    assert ex["neg"].min() >= 0 and ex["neg"].max() < 10


def test_target_never_in_its_own_history():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, 5, 60),
            "item_id": rng.permutation(60),  # every purchase a different item
            "timestamp": rng.permutation(60),
        }
    )
    ex = lt.purchase_histories(frame, 5, 60, hist_len=4).examples
    assert len(ex["pos"]) == 60 - frame["user_id"].nunique()
    in_hist = (ex["hist"] == ex["pos"][:, None]) & ex["mask"]
    assert not in_hist.any()


def test_eval_histories_by_hand():
    h = lt.purchase_histories(_frame(), num_users=3, num_items=10, hist_len=2)
    # last two purchases of user 0: 7, 9; user 1: none; user 2: 4, 8
    np.testing.assert_array_equal(h.eval_hist, [[7, 9], [0, 0], [4, 8]])
    np.testing.assert_array_equal(
        h.eval_mask, [[True, True], [False, False], [True, True]]
    )
    h3 = lt.purchase_histories(_frame(), num_users=3, num_items=10, hist_len=4)
    np.testing.assert_array_equal(h3.eval_hist[0], [0, 5, 7, 9])
    np.testing.assert_array_equal(h3.eval_mask[0], [False, True, True, True])


def test_seeded_negatives():
    a = lt.purchase_histories(_frame(), 3, 10, seed=1).examples["neg"]
    b = lt.purchase_histories(_frame(), 3, 10, seed=1).examples["neg"]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hist_len": 0}, "hist_len must be an int >= 1"),
        ({"num_neg": -1}, "num_neg must be an int >= 0"),
        ({"num_items": 9}, r"item_id must lie in \[0, 9\)"),
        ({"num_users": 2}, r"user_id must lie in \[0, 2\)"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"num_users": 3, "num_items": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        lt.purchase_histories(_frame(), **args)


def test_bad_frame():
    with pytest.raises(ValueError, match="missing"):
        lt.purchase_histories(_frame().drop(columns="timestamp"), 3, 10)
    with pytest.raises(ValueError, match="DataFrame"):
        lt.purchase_histories(np.zeros((3, 3)), 3, 10)
