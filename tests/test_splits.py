"""Splits: disjoint, complete, deterministic, the stated per-user rules, bad input."""

import numpy as np
import pandas as pd
import pytest
from test_protocols import small_ml

from recsys_utils.splits import (
    Split,
    leave_last_out,
    random_split,
    stratified_split,
    temporal_split,
)


def assert_partition(split, df):
    assert isinstance(split, Split)
    idx = [set(part.index) for part in split]
    assert not (idx[0] & idx[1]) and not (idx[0] & idx[2]) and not (idx[1] & idx[2])
    assert sum(len(part) for part in split) == len(df)
    pd.testing.assert_frame_equal(pd.concat(split).loc[df.index], df)


def test_random_split_sizes_and_partition(interactions):
    split = random_split(interactions, valid_frac=0.1, test_frac=0.2, seed=3)
    assert_partition(split, interactions)
    # 30 rows: test round(6.0) = 6, valid round(3.0) = 3
    assert (len(split.train), len(split.valid), len(split.test)) == (21, 3, 6)
    again = random_split(interactions, valid_frac=0.1, test_frac=0.2, seed=3)
    for a, b in zip(split, again):
        pd.testing.assert_frame_equal(a, b)
    other = random_split(interactions, valid_frac=0.1, test_frac=0.2, seed=4)
    assert set(other.test.index) != set(split.test.index)


def test_temporal_split_rule(interactions):
    split = temporal_split(interactions, valid_frac=0.1, test_frac=0.2)
    assert_partition(split, interactions)
    counts = {
        p: part.groupby("user_id").size().to_dict() for p, part in zip("tvs", split)
    }
    # users with 1 and 2 rows: ceil(.2n)+ceil(.1n) = 2 leaves < 1 train -> all in train
    assert counts["t"][0] == 1 and counts["t"][1] == 2
    # user with 3 rows: 1 test, 1 valid, 1 train; user with 24: test ceil(4.8) = 5,
    # valid ceil(2.4) = 3
    assert (counts["t"][2], counts["v"][2], counts["s"][2]) == (1, 1, 1)
    assert (counts["t"][3], counts["v"][3], counts["s"][3]) == (16, 3, 5)
    # time order per user: every train row is no later than any valid row, valid <= test
    for u in (2, 3):
        t = [part.loc[part.user_id == u, "timestamp"] for part in split]
        assert t[0].max() <= t[1].min() <= t[1].max() <= t[2].min()


def test_temporal_split_ties_keep_frame_order():
    # one user, 5 rows all at the same time: the last 1 (frame order) goes to test,
    # the one before to valid (ceil(0.2 * 5) = 1 each)
    df = pd.DataFrame(
        {"user_id": [0] * 5, "item_id": [10, 11, 12, 13, 14], "timestamp": [7] * 5}
    )
    split = temporal_split(df, valid_frac=0.2, test_frac=0.2)
    assert list(split.test.item_id) == [14] and list(split.valid.item_id) == [13]
    assert list(split.train.item_id) == [10, 11, 12]


def test_leave_last_out(interactions):
    split = leave_last_out(interactions, num_valid=1, num_test=2)
    assert_partition(split, interactions)
    # users with 1, 2 and 3 rows have fewer than 1 + 2 + 1 = 4: all train
    assert set(split.test.user_id) == {3} and set(split.valid.user_id) == {3}
    assert len(split.test) == 2 and len(split.valid) == 1
    u3 = interactions[interactions.user_id == 3]
    last = u3.iloc[np.lexsort((u3.timestamp.to_numpy(),))].index[
        -2:
    ]  # stable: frame order on ties
    assert set(split.test.index) == set(last)


def test_deterministic(interactions):
    for fn in (lambda d: temporal_split(d), lambda d: leave_last_out(d)):
        for a, b in zip(fn(interactions), fn(interactions)):
            pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"valid_frac": -0.1}, "valid_frac must lie in"),
        ({"test_frac": 1.0}, "test_frac must lie in"),
        ({"valid_frac": 0.5, "test_frac": 0.5}, "valid_frac \\+ test_frac must be < 1"),
    ],
)
def test_bad_fractions(interactions, kwargs, match):
    with pytest.raises(ValueError, match=match):
        random_split(interactions, **kwargs)
    with pytest.raises(ValueError, match=match):
        temporal_split(interactions, **kwargs)


def test_missing_columns_and_empty(interactions):
    with pytest.raises(ValueError, match="missing \\['timestamp'\\]"):
        temporal_split(interactions.drop(columns="timestamp"))
    with pytest.raises(ValueError, match="missing \\['item_id'\\]"):
        random_split(interactions.drop(columns="item_id"))
    with pytest.raises(ValueError, match="df must not be empty"):
        leave_last_out(interactions.iloc[:0])
    with pytest.raises(ValueError, match="num_test must be a non-negative int"):
        leave_last_out(interactions, num_test=-1)


# ---------------------------------------------------------------------------
# Recommenders' stratified split
# ---------------------------------------------------------------------------


def recommenders_2021_rule(df, ratio, col, seed):
    """The 2019-2021 rule written out plainly: per group, shuffle with pandas'
    ``sample(frac=1, random_state=seed)``, first ``round(ratio * n)`` to train."""
    train_idx = []
    for _, group in df.groupby(col, sort=True):
        shuffled = group.sample(frac=1, random_state=seed)
        train_idx.extend(shuffled.index[: round(ratio * len(group))])
    train = df.loc[sorted(train_idx, key=df.index.get_loc)]
    return train, df.drop(index=train.index)


@pytest.mark.parametrize("by", ["item", "user"])
@pytest.mark.parametrize("seed", [42, 7])
def test_stratified_split_matches_the_plain_rule(by, seed):
    ml = small_ml()
    train, test = stratified_split(ml.ratings, 0.75, by=by, seed=seed)
    ref_train, ref_test = recommenders_2021_rule(ml.ratings, 0.75, f"{by}_id", seed)
    pd.testing.assert_frame_equal(train, ref_train)
    pd.testing.assert_frame_equal(test, ref_test)
    assert not set(train.index) & set(test.index)
    pd.testing.assert_frame_equal(
        pd.concat([train, test]).loc[ml.ratings.index], ml.ratings
    )


def test_stratified_split_counts_round_half_to_even():
    # one group of each size n: train keeps round(0.75 n) rows, halves to even
    sizes = [1, 2, 3, 4, 5, 6, 10, 14]
    df = pd.DataFrame(
        {
            "user_id": 0,
            "item_id": np.repeat(np.arange(len(sizes)), sizes),
        }
    )
    train, test = stratified_split(df, 0.75, by="item")
    got = train.groupby("item_id").size().reindex(range(len(sizes)), fill_value=0)
    # 0.75, 1.5, 2.25, 3, 3.75, 4.5, 7.5, 10.5 -> 1, 2, 2, 3, 4, 4, 8, 10
    assert got.tolist() == [1, 2, 2, 3, 4, 4, 8, 10]
    assert len(test) == sum(sizes) - 34


def test_stratified_split_same_size_groups_share_the_shuffle():
    # every group restarts from the seed: groups of equal size split alike
    df = pd.DataFrame({"user_id": 0, "item_id": np.repeat([0, 1], 8)})
    train, _ = stratified_split(df, 0.5, by="item", seed=3)
    pos = train.index.to_numpy() % 8
    assert sorted(pos[:4]) == sorted(pos[4:])
    assert len(train) == 8


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"ratio": 1.0}, "ratio"),
        ({"ratio": 0}, "ratio"),
        ({"by": "movie"}, "by"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_stratified_split_rejects_bad_arguments(kwargs, word):
    ml = small_ml()
    with pytest.raises(ValueError, match=word):
        stratified_split(ml.ratings, **kwargs)


def test_stratified_split_rejects_bad_frames():
    with pytest.raises(ValueError, match="df must be a pandas DataFrame"):
        stratified_split([[0, 1]])
    with pytest.raises(ValueError, match="item_id"):
        stratified_split(pd.DataFrame({"user_id": [0]}))
    with pytest.raises(ValueError, match="empty"):
        stratified_split(pd.DataFrame({"user_id": [], "item_id": []}))
