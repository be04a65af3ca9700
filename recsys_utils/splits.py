"""Seeded, named train/valid/test splits of an interaction frame.

Every split returns a :class:`Split` of three frames that never share a row; each
frame keeps the rows in their original order and with their original index, so any
row can be traced back to the input frame.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

__all__ = ["Split", "random_split", "temporal_split", "leave_last_out"]

_EPS = 1e-9  # guards ceil() against 0.1 * 30 = 3.0000000000000004


class Split(NamedTuple):
    """Three disjoint interaction frames."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame


def _check_df(df: Any, columns: tuple[str, ...]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame; got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"df must have the columns {list(columns)}; missing {missing}")
    if len(df) == 0:
        raise ValueError("df must not be empty")


def _check_fracs(valid_frac: Any, test_frac: Any) -> tuple[float, float]:
    for name, value in (("valid_frac", valid_frac), ("test_frac", test_frac)):
        if isinstance(value, bool) or not isinstance(
            value, (int, float, np.floating, np.integer)
        ):
            raise ValueError(f"{name} must be a number in [0, 1); got {value!r}")
        if not 0 <= value < 1:
            raise ValueError(f"{name} must lie in [0, 1); got {value!r}")
    if valid_frac + test_frac >= 1:
        raise ValueError(
            f"valid_frac + test_frac must be < 1 (train needs rows); got {valid_frac} + {test_frac}"
        )
    return float(valid_frac), float(test_frac)


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative int; got {value!r}")
    return int(value)


def _make_split(df: pd.DataFrame, part: np.ndarray) -> Split:
    """``part[i]`` in {0 train, 1 valid, 2 test} for row ``i`` (positional)."""
    return Split(*(df.iloc[np.flatnonzero(part == p)] for p in range(3)))


def random_split(
    df: pd.DataFrame, valid_frac: float = 0.1, test_frac: float = 0.1, seed: int = 0
) -> Split:
    """Random split of the rows, ignoring users and time.

    ``round(test_frac * n)`` rows chosen at random go to test, ``round(valid_frac * n)``
    others to valid, the rest to train. The permutation comes from
    ``np.random.default_rng(seed)``.

    Args:
        df: interaction frame with columns ``user_id`` and ``item_id``.
        valid_frac: share of rows in valid, in [0, 1).
        test_frac: share of rows in test, in [0, 1); ``valid_frac + test_frac < 1``.
        seed: seed of the permutation.

    Returns:
        ``Split(train, valid, test)``.
    """
    _check_df(df, ("user_id", "item_id"))
    valid_frac, test_frac = _check_fracs(valid_frac, test_frac)
    n = len(df)
    num_test = int(np.floor(test_frac * n + 0.5))
    num_valid = int(np.floor(valid_frac * n + 0.5))
    perm = np.random.default_rng(seed).permutation(n)
    part = np.zeros(n, dtype=np.int8)
    part[perm[:num_test]] = 2
    part[perm[num_test : num_test + num_valid]] = 1
    return _make_split(df, part)


def _per_user_tail(
    df: pd.DataFrame, num_valid: np.ndarray, num_test: np.ndarray, by_user: np.ndarray
) -> Split:
    """Assign each user's last ``num_test`` rows (by time) to test, the ``num_valid`` before to valid.

    ``num_valid`` and ``num_test`` are per-row counts (the values of the row's user).
    """
    times = df["timestamp"].to_numpy()
    order = np.lexsort((times, by_user))  # stable: timestamp ties keep frame order
    u_sorted = by_user[order]
    start = np.searchsorted(u_sorted, u_sorted, side="left")
    end = np.searchsorted(u_sorted, u_sorted, side="right")
    from_end = (
        (end - start) - 1 - (np.arange(len(order)) - start)
    )  # 0 = the user's last row
    nt, nv = num_test[order], num_valid[order]
    part_sorted = np.where(from_end < nt, 2, np.where(from_end < nt + nv, 1, 0)).astype(
        np.int8
    )
    part = np.empty(len(order), dtype=np.int8)
    part[order] = part_sorted
    return _make_split(df, part)


def _user_codes(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(df["user_id"], sort=True)
    counts = np.bincount(codes, minlength=len(uniques))
    return codes.astype(np.int64), counts[codes]


def temporal_split(
    df: pd.DataFrame, valid_frac: float = 0.1, test_frac: float = 0.1
) -> Split:
    """Per-user temporal split: each user's latest interactions are held out.

    Rule, for a user with ``n`` interactions sorted by ``timestamp`` (ties keep the
    frame order): ``n_test = ceil(test_frac * n)`` and ``n_valid = ceil(valid_frac * n)``
    (0 when the fraction is 0). The last ``n_test`` go to test, the ``n_valid`` before
    them to valid, the rest to train. A user for whom this would leave no train row
    (``n - n_test - n_valid < 1``) keeps all interactions in train. Example with the
    defaults: 10 interactions -> 8/1/1; 3 -> 1/1/1; 2 -> 2/0/0.

    Args:
        df: frame with columns ``user_id``, ``item_id`` and ``timestamp``.
        valid_frac: share of each user's interactions in valid, in [0, 1).
        test_frac: share in test, in [0, 1); ``valid_frac + test_frac < 1``.

    Returns:
        ``Split(train, valid, test)``.
    """
    _check_df(df, ("user_id", "item_id", "timestamp"))
    valid_frac, test_frac = _check_fracs(valid_frac, test_frac)
    codes, n = _user_codes(df)
    nt = np.ceil(test_frac * n - _EPS).astype(np.int64)
    nv = np.ceil(valid_frac * n - _EPS).astype(np.int64)
    too_few = n - nt - nv < 1
    nt[too_few] = 0
    nv[too_few] = 0
    return _per_user_tail(df, nv, nt, codes)


def leave_last_out(df: pd.DataFrame, num_valid: int = 1, num_test: int = 1) -> Split:
    """Leave-last-out: each user's last ``num_test`` interactions to test.

    Sorted by ``timestamp`` per user (ties keep the frame order), the last ``num_test``
    rows go to test and the ``num_valid`` before them to valid. A user with fewer than
    ``num_valid + num_test + 1`` interactions keeps all of them in train.

    Args:
        df: frame with columns ``user_id``, ``item_id`` and ``timestamp``.
        num_valid: interactions per user in valid (>= 0).
        num_test: interactions per user in test (>= 0).

    Returns:
        ``Split(train, valid, test)``.
    """
    _check_df(df, ("user_id", "item_id", "timestamp"))
    num_valid = _check_count("num_valid", num_valid)
    num_test = _check_count("num_test", num_test)
    codes, n = _user_codes(df)
    enough = n >= num_valid + num_test + 1
    nt = np.where(enough, num_test, 0)
    nv = np.where(enough, num_valid, 0)
    return _per_user_tail(df, nv, nt, codes)
