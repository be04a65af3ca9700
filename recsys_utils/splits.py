"""Seeded, named train/valid/test splits of an interaction frame.

Every split returns a :class:`Split` of three frames that never share a row; each
frame keeps the rows in their original order and with their original index, so any
row can be traced back to the input frame. Besides the book's three splits
(:func:`random_split`, :func:`temporal_split`, :func:`leave_last_out`), this module
holds :func:`stratified_split`, Microsoft Recommenders' benchmark split reproduced row
for row (the MovieLens protocol ``STRATIFIED`` of :mod:`recsys_utils.protocols`), and
:class:`ProtocolData`, the parts of a protocol's split (train / test and the fit /
valid carve of train used for tuning).

What every split checks first:

* a (user, item) pair that appears in several rows is refused by default
  (``duplicates="raise"``): such a pair can land in train and in test, and a model
  evaluated with its train items excluded can then never find it. Pass
  ``duplicates="last"`` to keep each pair's latest row (by ``timestamp``; the last in
  frame order for :func:`random_split`), or ``duplicates="keep"`` to split the rows as
  they are, knowingly;
* ``user_id`` and ``item_id`` hold no missing value; ``timestamp`` is numeric or a
  datetime, without NaN or NaT (strings are refused: ``"10"`` sorts before ``"9"``);
* a split that was asked for is not empty: a fraction that rounds to no row, or that
  leaves train empty, is a ``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .evaluation import to_csr
from .validation import check_frame, check_int, check_number

__all__ = [
    "Split",
    "random_split",
    "temporal_split",
    "leave_last_out",
    "DUPLICATES",
    "stratified_split",
    "ProtocolData",
]

_EPS = 1e-9  # guards ceil() against 0.1 * 30 = 3.0000000000000004
#: what the splits can do with repeated (user, item) pairs
DUPLICATES = ("raise", "last", "keep")


class Split(NamedTuple):
    """Three disjoint interaction frames."""

    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (readable in messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _check_df(df: Any, columns: tuple[str, ...]) -> None:
    check_frame(df, columns)
    for col in ("user_id", "item_id"):
        isna = df[col].isna().to_numpy()
        if isna.any():
            label = df.index[int(np.flatnonzero(isna)[0])]
            raise ValueError(
                f"df[{col!r}] must not have missing values; row {_plain(label)!r} "
                f"has {_plain(df[col].iloc[int(np.flatnonzero(isna)[0])])!r}"
            )


def _times(df: pd.DataFrame) -> np.ndarray:
    """``df["timestamp"]`` as numbers that sort in time order (datetimes as ns)."""
    col = df["timestamp"]
    isna = col.isna().to_numpy()
    if isna.any():
        pos = int(np.flatnonzero(isna)[0])
        raise ValueError(
            "df['timestamp'] must not have missing values; row "
            f"{_plain(df.index[pos])!r} has {_plain(col.iloc[pos])!r}"
        )
    if pd.api.types.is_datetime64_any_dtype(col):
        return pd.DatetimeIndex(col).asi8
    if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
        raise ValueError(
            "df['timestamp'] must be numeric (e.g. unix seconds) or datetime64; got "
            f"dtype {col.dtype} (first value {_plain(col.iloc[0])!r}). Strings sort as "
            "text "
            "('10' before '9'): convert them with pd.to_numeric or pd.to_datetime"
        )
    times = col.to_numpy()
    if np.issubdtype(times.dtype, np.floating) and not np.isfinite(times).all():
        pos = int(np.flatnonzero(~np.isfinite(times))[0])
        raise ValueError(
            f"df['timestamp'] must be finite; row {_plain(df.index[pos])!r} has "
            f"{_plain(times[pos])!r}"
        )
    return times


def _dedupe(df: pd.DataFrame, duplicates: Any, by_time: bool) -> pd.DataFrame:
    """Apply the ``duplicates`` policy to repeated (user, item) pairs."""
    if not isinstance(duplicates, str) or duplicates not in DUPLICATES:
        raise ValueError(f"duplicates must be one of {DUPLICATES}; got {duplicates!r}")
    if duplicates == "keep":
        return df
    repeated = df.duplicated(["user_id", "item_id"], keep=False).to_numpy()
    if not repeated.any():
        return df
    if duplicates == "raise":
        pos = int(np.flatnonzero(repeated)[0])
        user, item = _plain(df["user_id"].iloc[pos]), _plain(df["item_id"].iloc[pos])
        rows = df.index[
            repeated
            & (df["user_id"].to_numpy() == user)
            & (df["item_id"].to_numpy() == item)
        ]
        raise ValueError(
            f"df repeats the (user_id, item_id) pair ({user!r}, {item!r}) in rows "
            f"{[_plain(r) for r in rows[:5]]} ({int(repeated.sum())} rows are repeats "
            "in all): a "
            "repeated pair can land in train and in test. Pass duplicates='last' to "
            "keep each pair's latest row, or duplicates='keep' to split the rows as "
            "they are"
        )
    # "last": keep each pair's latest row (time, then frame order), drop the others
    position = np.arange(len(df))
    # np.lexsort sorts by its LAST key first: by time, then frame order
    keys = (position, _times(df)) if by_time else (position,)
    order = np.lexsort(keys)  # ascending: the latest row of a pair comes last
    ordered = df.iloc[order]
    keep = ~ordered.duplicated(["user_id", "item_id"], keep="last").to_numpy()
    return df.iloc[np.sort(order[keep])]


def _check_fracs(valid_frac: Any, test_frac: Any) -> tuple[float, float]:
    for name, value in (("valid_frac", valid_frac), ("test_frac", test_frac)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.floating, np.integer)
        ):
            raise ValueError(f"{name} must be a number in [0, 1); got {value!r}")
        if not 0 <= value < 1:
            raise ValueError(f"{name} must lie in [0, 1); got {value!r}")
    if valid_frac + test_frac >= 1:
        raise ValueError(
            "valid_frac + test_frac must be < 1 (train needs rows); got "
            f"{valid_frac} + {test_frac}"
        )
    return float(valid_frac), float(test_frac)


def _make_split(df: pd.DataFrame, part: np.ndarray) -> Split:
    """``part[i]`` in {0 train, 1 valid, 2 test} for row ``i`` (positional)."""
    return Split(*(df.iloc[np.flatnonzero(part == p)] for p in range(3)))


def random_split(
    df: pd.DataFrame,
    valid_frac: float = 0.1,
    test_frac: float = 0.1,
    seed: int = 0,
    duplicates: str = "raise",
) -> Split:
    """Random split of the rows, ignoring users and time.

    ``round(test_frac * n)`` rows chosen at random go to test, ``round(valid_frac * n)``
    others to valid, the rest to train. The permutation comes from
    ``np.random.default_rng(seed)``.

    Args:
        df: interaction frame with columns ``user_id`` and ``item_id``.
        valid_frac: share of rows in valid, in [0, 1).
        test_frac: share of rows in test, in [0, 1); ``valid_frac + test_frac < 1``.
        seed: seed of the permutation (a non-negative int).
        duplicates: repeated (user, item) pairs: ``"raise"`` (default), ``"last"``
            (keep the last row of each pair, in frame order) or ``"keep"``.

    Returns:
        ``Split(train, valid, test)``.

    Raises:
        ValueError: a fraction that rounds to no row although it is > 0, or that
            leaves train empty; a repeated pair with ``duplicates="raise"``.
    """
    _check_df(df, ("user_id", "item_id"))
    valid_frac, test_frac = _check_fracs(valid_frac, test_frac)
    seed = check_int(seed, "seed", low=0)
    df = _dedupe(df, duplicates, by_time=False)
    n = len(df)
    num_test = int(np.floor(test_frac * n + 0.5))
    num_valid = int(np.floor(valid_frac * n + 0.5))
    for name, frac, count in (
        ("test_frac", test_frac, num_test),
        ("valid_frac", valid_frac, num_valid),
    ):
        if frac > 0 and count == 0:
            raise ValueError(
                f"{name}={frac} of {n} rows rounds to 0 rows: that split would be "
                f"empty. Use more rows, a larger {name}, or {name}=0"
            )
    if n - num_test - num_valid < 1:
        raise ValueError(
            f"valid_frac={valid_frac} and test_frac={test_frac} of {n} rows leave no "
            "row for train"
        )
    perm = np.random.default_rng(seed).permutation(n)
    part = np.zeros(n, dtype=np.int8)
    part[perm[:num_test]] = 2
    part[perm[num_test : num_test + num_valid]] = 1
    return _make_split(df, part)


def _per_user_tail(
    df: pd.DataFrame,
    num_valid: np.ndarray,
    num_test: np.ndarray,
    by_user: np.ndarray,
    times: np.ndarray,
) -> Split:
    """Assign each user's last ``num_test`` rows (by time) to test, the ``num_valid``
    before them to valid.

    ``num_valid`` and ``num_test`` are per-row counts (the values of the row's user).
    """
    order = np.lexsort((times, by_user))  # stable: timestamp ties keep frame order
    u_sorted = by_user[order]
    start = np.searchsorted(u_sorted, u_sorted, side="left")
    end = np.searchsorted(u_sorted, u_sorted, side="right")
    # 0 = the user's last row
    from_end = (end - start) - 1 - (np.arange(len(order)) - start)
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


def _by_user_in_time(df: pd.DataFrame, duplicates: Any) -> tuple:
    """What the per-user splits share: checked timestamps (before anything else),
    the duplicates policy, then ``(df, times, user codes, rows per user)``."""
    _times(df)
    df = _dedupe(df, duplicates, by_time=True)
    codes, n = _user_codes(df)
    return df, _times(df), codes, n


def _refuse_empty(name: str, asked: bool, got: np.ndarray, rule: str) -> None:
    if asked and not got.any():
        raise ValueError(
            f"{name} would be empty: no user has enough interactions ({rule}). "
            f"Use more interactions per user, or set {name} to 0"
        )


def temporal_split(
    df: pd.DataFrame,
    valid_frac: float = 0.1,
    test_frac: float = 0.1,
    duplicates: str = "raise",
) -> Split:
    """Per-user temporal split: each user's latest interactions are held out.

    Rule, for a user with ``n`` interactions sorted by ``timestamp`` (ties keep the
    frame order): ``n_test = ceil(test_frac * n)`` and ``n_valid = ceil(valid_frac *
    n)`` (0 when the fraction is 0). The last ``n_test`` go to test, the ``n_valid``
    before them to valid, the rest to train. A user for whom this would leave no
    train row (``n - n_test - n_valid < 1``) keeps all interactions in train.
    Example with the defaults: 10 interactions -> 8/1/1; 3 -> 1/1/1; 2 -> 2/0/0.

    Args:
        df: frame with columns ``user_id``, ``item_id`` and ``timestamp`` (numeric
            or datetime64, no missing value).
        valid_frac: share of each user's interactions in valid, in [0, 1).
        test_frac: share in test, in [0, 1); ``valid_frac + test_frac < 1``.
        duplicates: repeated (user, item) pairs: ``"raise"`` (default), ``"last"``
            (keep each pair's latest row) or ``"keep"``.

    Returns:
        ``Split(train, valid, test)``.

    Raises:
        ValueError: bad timestamps; a fraction > 0 that gives no user a row in its
            split; a repeated pair with ``duplicates="raise"``.
    """
    _check_df(df, ("user_id", "item_id", "timestamp"))
    valid_frac, test_frac = _check_fracs(valid_frac, test_frac)
    df, times, codes, n = _by_user_in_time(df, duplicates)
    nt = np.ceil(test_frac * n - _EPS).astype(np.int64)
    nv = np.ceil(valid_frac * n - _EPS).astype(np.int64)
    too_few = n - nt - nv < 1
    nt[too_few] = 0
    nv[too_few] = 0
    rule = "a user needs ceil(test_frac n) + ceil(valid_frac n) + 1 interactions"
    _refuse_empty("test_frac", test_frac > 0, nt, rule)
    _refuse_empty("valid_frac", valid_frac > 0, nv, rule)
    return _per_user_tail(df, nv, nt, codes, times)


def leave_last_out(
    df: pd.DataFrame,
    num_valid: int = 1,
    num_test: int = 1,
    duplicates: str = "raise",
) -> Split:
    """Leave-last-out: each user's last ``num_test`` interactions to test.

    Sorted by ``timestamp`` per user (ties keep the frame order), the last ``num_test``
    rows go to test and the ``num_valid`` before them to valid. A user with fewer than
    ``num_valid + num_test + 1`` interactions keeps all of them in train.

    Args:
        df: frame with columns ``user_id``, ``item_id`` and ``timestamp`` (numeric
            or datetime64, no missing value).
        num_valid: interactions per user in valid (>= 0).
        num_test: interactions per user in test (>= 0).
        duplicates: repeated (user, item) pairs: ``"raise"`` (default), ``"last"``
            (keep each pair's latest row) or ``"keep"``.

    Returns:
        ``Split(train, valid, test)``.

    Raises:
        ValueError: bad timestamps; ``num_test`` (or ``num_valid``) > 0 while no
            user has ``num_valid + num_test + 1`` interactions; a repeated pair with
            ``duplicates="raise"``.
    """
    _check_df(df, ("user_id", "item_id", "timestamp"))
    num_valid = check_int(num_valid, "num_valid", low=0)
    num_test = check_int(num_test, "num_test", low=0)
    df, times, codes, n = _by_user_in_time(df, duplicates)
    enough = n >= num_valid + num_test + 1
    nt = np.where(enough, num_test, 0)
    nv = np.where(enough, num_valid, 0)
    rule = f"a user needs num_valid + num_test + 1 = {num_valid + num_test + 1}"
    _refuse_empty("num_test", num_test > 0, nt, rule)
    _refuse_empty("num_valid", num_valid > 0, nv, rule)
    return _per_user_tail(df, nv, nt, codes, times)


# ---------------------------------------------------------------------------
# Microsoft Recommenders' stratified split (the MovieLens STRATIFIED protocol)
# ---------------------------------------------------------------------------


def _round_half_even(x: np.ndarray) -> np.ndarray:
    """Python's ``round`` on floats (halves to the even neighbour), vectorised."""
    return np.rint(x).astype(np.int64)


def _position_in_group(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's 0-based position within its group (frame order) and the group size."""
    order = np.argsort(groups, kind="stable")
    g = groups[order]
    start = np.searchsorted(g, g, side="left")
    end = np.searchsorted(g, g, side="right")
    pos = np.empty(len(groups), dtype=np.int64)
    size = np.empty(len(groups), dtype=np.int64)
    pos[order] = np.arange(len(groups)) - start
    size[order] = end - start
    return pos, size


def _check_by(by: Any) -> str:
    if by not in ("user", "item"):
        raise ValueError(f"by must be 'user' or 'item'; got {by!r}")
    return f"{by}_id"


def stratified_split(
    df: pd.DataFrame, ratio: float = 0.75, by: str = "item", seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Microsoft Recommenders' stratified split (the 2019-2021 rule), row for row.

    For each group (each movie with ``by="item"``, each user with ``by="user"``) of
    ``n`` rows, taken in frame order, the rows are shuffled by
    ``np.random.RandomState(seed).permutation(n)`` (what
    ``DataFrame.sample(frac=1, random_state=seed)`` does), and the first
    ``round(ratio * n)`` of the shuffled group go to train (halves round to even:
    ``round(1.5) = 2``, ``round(4.5) = 4``), the others to test. Every group restarts
    from the same seed, as Recommenders' did. Applied to ``u.data`` in file order with
    the defaults, it gives the split of Recommenders' ML-100K benchmark.

    Args:
        df: interaction frame with columns ``user_id`` and ``item_id``.
        ratio: share of each group in train, in (0, 1).
        by: ``"item"`` (the benchmark) or ``"user"``.
        seed: seed of the per-group shuffles.

    Returns:
        ``(train, test)``: two frames partitioning ``df``, rows in frame order, the
        original index kept.
    """
    _check_df(df, ("user_id", "item_id"))
    ratio = check_number(ratio, "ratio", low=0, high=1, low_open=True, high_open=True)
    col = _check_by(by)
    seed = check_int(seed, "seed", low=0)
    pos, size = _position_in_group(pd.factorize(df[col])[0])
    shuffled = np.empty(len(df), dtype=np.int64)
    for n in np.unique(size):  # one permutation per group size, as in Recommenders
        perm = np.random.RandomState(seed).permutation(int(n))
        inverse = np.argsort(perm)  # shuffled position of the row at position w
        rows = size == n
        shuffled[rows] = inverse[pos[rows]]
    train = shuffled < _round_half_even(ratio * size)
    return df.iloc[np.flatnonzero(train)], df.iloc[np.flatnonzero(~train)]


def _random_carve(
    df: pd.DataFrame, col: str, valid_frac: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-group random carve: ``round((1 - valid_frac) n)`` rows of each group to fit.

    Each row gets a key from ``np.random.default_rng(seed).random``; within a group the
    rows with the smallest keys go to fit.
    """
    keys = np.random.default_rng(seed).random(len(df))
    groups = pd.factorize(df[col])[0]
    order = np.lexsort((keys, groups))
    g = groups[order]
    start = np.searchsorted(g, g, side="left")
    end = np.searchsorted(g, g, side="right")
    keep = (np.arange(len(df)) - start) < _round_half_even(
        (1 - valid_frac) * (end - start)
    )
    fit = np.zeros(len(df), dtype=bool)
    fit[order] = keep
    return df.iloc[np.flatnonzero(fit)], df.iloc[np.flatnonzero(~fit)]


# ---------------------------------------------------------------------------
# The data of a protocol (recsys_utils.protocols.Protocol.split)
# ---------------------------------------------------------------------------

_PARTS = ("train", "test", "fit", "valid")


@dataclass(repr=False)
class ProtocolData:
    """A protocol's split of MovieLens-100K, with the carve for tuning.

    Attributes:
        protocol: the protocol's name.
        train: the protocol's training part; the final model is fitted on it.
        test: the protocol's test part; reported once, never tuned on.
        fit: ``train`` minus ``valid``: fit candidate models on it while tuning.
        valid: carved from ``train`` by the protocol's rule; tune on it.
        num_users: users in the catalogue (943 for MovieLens-100K).
        num_items: items in the catalogue (1,682).
        seed: the seed of the fit / valid carve.
        valid_frac: the share of ``train`` carved into ``valid``.
    """

    protocol: str
    train: pd.DataFrame
    test: pd.DataFrame
    fit: pd.DataFrame
    valid: pd.DataFrame
    num_users: int
    num_items: int
    seed: int
    valid_frac: float

    def part(self, part: str) -> pd.DataFrame:
        """One part by name.

        Args:
            part: ``"train"``, ``"test"``, ``"fit"`` or ``"valid"``.

        Returns:
            the part's DataFrame.
        """
        if part not in _PARTS:
            raise ValueError(f"part must be one of {_PARTS}; got {part!r}")
        return getattr(self, part)

    def csr(self, part: str, value_col: str | None = None) -> sp.csr_matrix:
        """A part as a users x items sparse matrix (the baselines' input).

        Args:
            part: ``"train"``, ``"test"``, ``"fit"`` or ``"valid"``.
            value_col: ``None`` puts 1 for every rating (implicit feedback);
                ``"rating"`` keeps the stars.

        Returns:
            ``scipy.sparse.csr_matrix`` of shape ``(num_users, num_items)``.
        """
        return to_csr(self.part(part), self.num_users, self.num_items, value_col)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{p}={len(getattr(self, p)):,}" for p in _PARTS)
        return (
            f"ProtocolData({self.protocol}: {sizes}; {self.num_users} users, "
            f"{self.num_items} items; valid = {self.valid_frac:g} of train, "
            f"seed {self.seed})"
        )
