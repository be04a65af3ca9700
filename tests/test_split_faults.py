"""Splits never leak and never come back empty: repeated pairs, timestamps that do
not sort as time, missing ids, fractions that round to nothing.

Each test would fail on the splits as they were: a repeated (user, item) pair landed
in train and test (a perfect model then scores recall 0 once seen items are
excluded), '10' sorted before '9', a NaN timestamp sorted as the latest, and a tiny
frame could leave train or test empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys_utils.splits import leave_last_out, random_split, temporal_split


def frame(users=3, per_user=5, start=0):
    rows = [
        (u, j, start + u * per_user + j) for u in range(users) for j in range(per_user)
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])


def with_repeat(df):
    """User 0 buys item 0 again, after everything else."""
    out = df.copy()
    out.loc[len(out)] = (0, 0, df["timestamp"].max() + 1)
    return out


SPLITTERS = {
    "random_split": lambda df, **kw: random_split(df, 0.2, 0.2, seed=1, **kw),
    "temporal_split": lambda df, **kw: temporal_split(df, 0.0, 0.2, **kw),
    "leave_last_out": lambda df, **kw: leave_last_out(df, 0, 1, **kw),
}


def pairs(df):
    return set(zip(df["user_id"], df["item_id"]))


@pytest.mark.parametrize("name", list(SPLITTERS))
def test_repeated_pairs_are_refused_by_default(name):
    with pytest.raises(
        ValueError, match=r"repeats the \(user_id, item_id\) pair \(0, 0\)"
    ):
        SPLITTERS[name](with_repeat(frame()))


@pytest.mark.parametrize("name", list(SPLITTERS))
def test_duplicates_last_keeps_each_pairs_latest_row(name):
    df = with_repeat(frame())
    split = SPLITTERS[name](df, duplicates="last")
    kept = pd.concat(split)
    assert len(kept) == len(df) - 1
    # the first (0, 0) row (index 0) is dropped, the later one (index 15) is kept
    assert 0 not in kept.index and 15 in kept.index
    parts = [pairs(p) for p in split]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2])
    assert not (parts[1] & parts[2])


def test_duplicates_last_by_time_not_by_frame_order():
    df = pd.DataFrame(
        {"user_id": [0, 0, 0, 0], "item_id": [7, 1, 7, 2], "timestamp": [9, 2, 3, 4]}
    )  # the (0, 7) row at time 9 is the latest although it comes first
    split = temporal_split(df, 0.0, 0.3, duplicates="last")  # ceil(0.9) = 1 test row
    assert sorted(pd.concat(split).index) == [0, 1, 3]
    assert split.test.index.tolist() == [0]


@pytest.mark.parametrize("name", list(SPLITTERS))
def test_duplicates_keep_splits_the_rows_as_they_are(name):
    df = with_repeat(frame())
    split = SPLITTERS[name](df, duplicates="keep")
    assert sum(len(p) for p in split) == len(df)


def test_duplicates_policy_is_checked():
    with pytest.raises(ValueError, match="duplicates must be one of"):
        random_split(frame(), duplicates="drop")


@pytest.mark.parametrize("name", ["temporal_split", "leave_last_out"])
def test_string_timestamps_are_refused(name):
    df = frame(users=1, per_user=11)
    df["timestamp"] = df["timestamp"].astype(str)  # '10' sorts before '9'
    with pytest.raises(ValueError, match=r"df\['timestamp'\] must be numeric"):
        SPLITTERS[name](df)


@pytest.mark.parametrize("bad", [np.nan, pd.NaT])
@pytest.mark.parametrize("name", ["temporal_split", "leave_last_out"])
def test_missing_timestamps_are_refused(name, bad):
    df = frame(users=1, per_user=6)
    if bad is pd.NaT:
        df["timestamp"] = pd.to_datetime(df["timestamp"], unit="D")
    else:
        df["timestamp"] = df["timestamp"].astype(float)
    df.loc[2, "timestamp"] = bad
    with pytest.raises(
        ValueError, match=r"df\['timestamp'\] must not have missing .* row 2"
    ):
        SPLITTERS[name](df)


def test_infinite_timestamps_are_refused():
    df = frame(users=1, per_user=6).astype({"timestamp": float})
    df.loc[1, "timestamp"] = np.inf
    with pytest.raises(ValueError, match=r"df\['timestamp'\] must be finite"):
        temporal_split(df, 0.0, 0.2)


@pytest.mark.parametrize("tz", [None, "Europe/Paris"])
def test_datetime_timestamps_sort_as_time(tz):
    df = frame(users=2, per_user=5)
    when = pd.to_datetime(df["timestamp"], unit="D")
    df["timestamp"] = when.dt.tz_localize(tz) if tz else when
    df = df.iloc[::-1]  # frame order is not time order
    split = leave_last_out(df, 1, 1)
    assert sorted(split.test.index) == [4, 9] and sorted(split.valid.index) == [3, 8]


@pytest.mark.parametrize("name", list(SPLITTERS))
def test_missing_user_ids_are_refused(name):
    df = frame().astype({"user_id": float})
    df.loc[3, "user_id"] = np.nan
    with pytest.raises(
        ValueError, match=r"df\['user_id'\] must not have missing .* row 3"
    ):
        SPLITTERS[name](df)


def test_fractions_that_leave_train_empty_are_refused():
    two = frame(users=1, per_user=2)
    with pytest.raises(ValueError, match="leave no row for train"):
        random_split(two, 0.3, 0.3)


def test_fractions_that_round_to_nothing_are_refused():
    three = frame(users=1, per_user=3)
    with pytest.raises(ValueError, match=r"test_frac=0\.1 of 3 rows rounds to 0 rows"):
        random_split(three, 0.0, 0.1)
    with pytest.raises(ValueError, match=r"valid_frac=0\.1 of 3 rows rounds to 0"):
        random_split(three, 0.1, 0.4)
    # asking for nothing is fine: an empty valid when valid_frac == 0
    assert len(random_split(three, 0.0, 0.4).valid) == 0


def test_per_user_splits_that_would_be_empty_are_refused():
    ones = frame(users=5, per_user=1)
    with pytest.raises(
        ValueError, match="test_frac would be empty: no user has enough"
    ):
        temporal_split(ones, 0.0, 0.2)
    with pytest.raises(ValueError, match="num_test would be empty"):
        leave_last_out(ones, 0, 1)
    twos = frame(users=5, per_user=2)
    # leave_last_out(1, 1) needs 3 rows per user: valid and test both empty -> refused
    with pytest.raises(ValueError, match="num_test would be empty"):
        leave_last_out(twos, 1, 1)
    # a split nobody asked for may be empty
    assert len(temporal_split(twos, 0.0, 0.4).valid) == 0


@pytest.mark.parametrize("seed", ["a", 1.5, -1, True])
def test_bad_seeds_are_refused(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        random_split(frame(), seed=seed)


def test_valid_inputs_give_the_same_rows_as_before():
    """Hand-checked numbers the chapters stand on do not move."""
    df = frame(users=4, per_user=10)
    split = temporal_split(df, 0.1, 0.1)
    assert [len(p) for p in split] == [32, 4, 4]
    assert split.test.groupby("user_id")["timestamp"].max().tolist() == [9, 19, 29, 39]
    split = random_split(df, 0.1, 0.2, seed=0)
    perm = np.random.default_rng(0).permutation(40)
    assert sorted(split.test.index) == sorted(perm[:8])
    assert sorted(split.valid.index) == sorted(perm[8:12])
