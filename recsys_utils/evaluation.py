"""Full-catalogue evaluation: interaction matrices, top-k lists and ranking metrics.

Everything here is NumPy/SciPy: it is the framework-neutral reference that the
PyTorch and TensorFlow code paths are checked against.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import metrics as _m
from .validation import as_ids, check_bool, check_finite, check_int

__all__ = [
    "to_csr",
    "topk_from_scores",
    "evaluate_topk",
    "EvalResult",
    "rating_metrics",
    "METRICS",
]


def to_csr(
    df: pd.DataFrame,
    num_users: int,
    num_items: int,
    value_col: str | None = None,
) -> sp.csr_matrix:
    """Turn an interaction frame into a users x items sparse matrix.

    Repeated (user, item) pairs are not summed: the last one in frame order wins, so
    a matrix of ratings keeps ratings in their 1-5 range and a binary matrix stays
    binary.

    Args:
        df: frame with integer columns ``user_id`` and ``item_id``.
        num_users: number of rows; every ``user_id`` must be below it.
        num_items: number of columns; every ``item_id`` must be below it.
        value_col: column holding the values (for example ``"rating"``); ``None``
            puts 1.0 for every observed pair.

    Returns:
        ``scipy.sparse.csr_matrix`` of shape ``(num_users, num_items)``, float32,
        sorted indices, no duplicates.

    Raises:
        ValueError: a missing column; an id that is not a whole number in range
            (see :func:`recsys_utils.validation.as_ids`); a value that is NaN,
            infinite or not a number.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df must be a pandas DataFrame; got {type(df).__name__}")
    num_users = check_int(num_users, "num_users", low=1)
    num_items = check_int(num_items, "num_items", low=1)
    for col in ("user_id", "item_id"):
        if col not in df.columns:
            raise ValueError(
                f"df must have a column {col!r}; it has {list(df.columns)}"
            )
    if value_col is not None and value_col not in df.columns:
        raise ValueError(
            f"value_col={value_col!r} is not a column of df: {list(df.columns)}"
        )
    users = as_ids(df["user_id"], "df['user_id']", num_users)
    items = as_ids(df["item_id"], "df['item_id']", num_items)
    values = (
        np.ones(len(df), dtype=np.float32)
        if value_col is None
        else check_finite(
            df[value_col].to_numpy(), f"df[{value_col!r}] (value_col)"
        ).astype(np.float32)
    )
    # Keep the last occurrence of each (user, item) pair.
    key = users * num_items + items
    _, last = np.unique(key[::-1], return_index=True)
    keep = len(key) - 1 - last
    mat = sp.csr_matrix(
        (values[keep], (users[keep], items[keep])), shape=(num_users, num_items)
    )
    mat.sort_indices()
    return mat


# ---------------------------------------------------------------------------
# Top-k lists
# ---------------------------------------------------------------------------


def _check_scores(scores: Any, name: str = "scores") -> np.ndarray:
    s = np.asarray(scores)
    if s.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (num_users, num_items); got shape {s.shape}"
        )
    if s.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {s.shape}")
    if not (np.issubdtype(s.dtype, np.floating) or np.issubdtype(s.dtype, np.integer)):
        raise ValueError(f"{name} must be numeric; got dtype {s.dtype}")
    if np.issubdtype(s.dtype, np.floating) and np.isnan(s).any():
        row = int(np.flatnonzero(np.isnan(s).any(axis=1))[0])
        raise ValueError(f"{name} must not contain NaN; row {row} does")
    return s


def topk_from_scores(
    scores: Any, k: int, exclude: sp.spmatrix | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The k best items of each row of a score matrix, best first, with their scores.

    ``argpartition`` finds the top k in linear time, then only those k are sorted.
    Ties are broken by the lower item id, so the result is deterministic: among equal
    scores, item 3 comes before item 7. Excluded items get a score of ``-inf``; they
    appear in a list only when a row has fewer than k other items. Every top-k
    function of the package returns ``(item_ids, scores)`` in this order and breaks
    ties this way.

    Args:
        scores: float array ``(n, num_items)``, higher is better, no NaN.
        k: list length, a positive int ``<= num_items``.
        exclude: optional sparse matrix ``(n, num_items)``; its stored entries
            (e.g. the items a user saw in train) are excluded.

    Returns:
        ``(item_ids, scores)``: int64 and float64 arrays ``(n, k)``; ``scores[r, j]``
        is the score of ``item_ids[r, j]`` (``-inf`` for an excluded item).
    """
    k = check_int(k, "k", low=1)
    s = _check_scores(scores)
    n, num_items = s.shape
    if k > num_items:
        raise ValueError(f"k={k} is larger than the number of items ({num_items})")
    s = s.astype(np.float64)  # a copy: excluded entries are overwritten below
    if exclude is not None:
        if not sp.issparse(exclude):
            raise ValueError(
                f"exclude must be a scipy sparse matrix; got {type(exclude).__name__}"
            )
        if exclude.shape != s.shape:
            raise ValueError(
                f"exclude must have the shape of scores {s.shape}; got {exclude.shape}"
            )
        ex = sp.coo_matrix(exclude)
        s[ex.row, ex.col] = -np.inf
    neg = -s  # ascending order of neg = descending score
    cand = np.argpartition(neg, k - 1, axis=1)[:, :k]  # (n, k), unordered top k
    cand_neg = np.take_along_axis(neg, cand, axis=1)
    order = np.lexsort((cand, cand_neg), axis=1)  # by score, then lower id
    top = np.take_along_axis(cand, order, axis=1)
    # argpartition may pick any of several items tied with the k-th score: redo those
    # rows with a full stable sort (lower id first on ties).
    kth = cand_neg.max(axis=1)  # (n,): the k-th best (negated) score
    tied = (neg <= kth[:, None]).sum(axis=1) > k
    if tied.any():
        top[tied] = np.argsort(neg[tied], axis=1, kind="stable")[:, :k]
    top = top.astype(np.int64)
    return top, np.take_along_axis(s, top, axis=1)


# ---------------------------------------------------------------------------
# Full-catalogue evaluation
# ---------------------------------------------------------------------------

#: metric name -> per-user function ``f(ranked_items, relevant, k)``
METRICS: dict[str, Callable[..., np.ndarray]] = {
    "recall": _m.recall_at_k,
    "ndcg": _m.ndcg_at_k,
    "hit_rate": _m.hit_rate_at_k,
    "precision": _m.precision_at_k,
    "mrr": _m.mrr,
}


@dataclass
class EvalResult:
    """What :func:`evaluate_topk` measured.

    Attributes:
        per_user: DataFrame indexed by ``user_id``, one column per metric and cut-off
            (``"recall@10"``, ``"ndcg@10"``, ...).
        means: ``{column: nanmean over users}``.
        topk: int array ``(num_evaluated_users, max k)``: the ranked lists, rows in the
            order of ``per_user.index``.
        ks: the cut-offs, ascending.
    """

    per_user: pd.DataFrame
    means: dict[str, float]
    topk: np.ndarray
    ks: tuple[int, ...]

    def summary(self, name: str | None = None) -> pd.DataFrame:
        """One-row DataFrame of the means (index ``name``, default ``"mean"``).

        Args:
            name: row label, e.g. the model's name, for stacking several results.

        Returns:
            DataFrame with one row and one column per metric.
        """
        return pd.DataFrame([self.means], index=[name if name is not None else "mean"])


def _check_ks(k: Any) -> tuple[int, ...]:
    ks = k if isinstance(k, (tuple, list)) else (k,)
    if not ks:
        raise ValueError("k must be a positive int or a non-empty tuple of them")
    return tuple(sorted({check_int(x, "k", low=1) for x in ks}))


def _check_overlap(train: sp.csr_matrix, test: sp.csr_matrix, users: np.ndarray):
    """Refuse a test set that lies entirely in train; warn when part of it does.

    With seen items excluded, a test interaction that is also in train can never be
    recommended: it counts as a miss. All of them in train (the training matrix
    passed as test) would make every metric 0 without a word.
    """
    seen = sp.csr_matrix(train[users] != 0)
    held = sp.csr_matrix(test[users] != 0)
    both = held.multiply(seen)
    both.eliminate_zeros()
    n_test, n_both = held.nnz, both.nnz
    if n_both == 0:
        return
    rows = np.unique(both.nonzero()[0])
    example = f"user {int(users[rows[0]])}, item {int(both[rows[0]].indices[0])}"
    if n_both == n_test:
        raise ValueError(
            f"test overlaps train entirely: all {n_test} test interactions of the "
            f"evaluated users are also in train (e.g. {example}). With "
            "exclude_seen=True every one of them is excluded as seen and every "
            "metric would be 0. Was the training matrix passed as test? (If the "
            "overlap is meant, pass exclude_seen=False.)"
        )
    warnings.warn(
        f"{n_both} of the {n_test} test interactions of the evaluated users are also "
        f"in train ({len(rows)} users; e.g. {example}): with exclude_seen=True they "
        "are excluded as seen and count as misses. Remove them from test, or pass "
        "exclude_seen=False",
        UserWarning,
        stacklevel=3,
    )


def evaluate_topk(
    scores: np.ndarray | Callable[[np.ndarray], np.ndarray],
    train: sp.spmatrix,
    test: sp.spmatrix,
    k: int | Sequence[int] = 10,
    user_ids: Any = None,
    batch_size: int = 1024,
    metrics: Sequence[str] = ("recall", "ndcg", "hit_rate", "precision", "mrr"),
    exclude_seen: bool = True,
) -> EvalResult:
    """Rank the full catalogue for each user and measure the ranking against ``test``.

    The protocol of the whole book: every item is a candidate, except the items the
    user already has in ``train`` (``exclude_seen``); relevance is binary (a stored
    entry of ``test``). Users are scored in batches of ``batch_size``; the top-k lists
    are computed once at the largest k and cut for the smaller ones.

    Args:
        scores: a ``(num_users, num_items)`` score array, or a callable
            ``score(user_ids) -> (len(user_ids), num_items)`` (e.g. a model's
            ``score``).
        train: sparse ``(num_users, num_items)`` matrix of training interactions.
        test: sparse matrix of the same shape: the held-out relevant items.
        k: a cut-off or a tuple of cut-offs.
        user_ids: users to evaluate; ``None`` = every user with at least one test item.
        batch_size: users scored at once.
        metrics: names among ``"recall", "ndcg", "hit_rate", "precision", "mrr"``
            (``mrr@k`` looks at the first k slots); one name alone is accepted.
        exclude_seen: exclude each user's train items from their list.

    Returns:
        An :class:`EvalResult`; users without test items get ``NaN`` rows, ignored by
        the means.

    Raises:
        ValueError: a bad argument (the message names it); with ``exclude_seen``, a
            ``test`` whose interactions of the evaluated users all lie in ``train``
            (the training matrix passed as test: every metric would be 0).

    Warns:
        UserWarning: with ``exclude_seen``, some test interactions are also in
            ``train``; the message says how many (they count as misses).
    """
    ks = _check_ks(k)
    kmax = ks[-1]
    batch_size = check_int(batch_size, "batch_size", low=1)
    exclude_seen = check_bool(exclude_seen, "exclude_seen")
    if isinstance(metrics, str):  # one name: "recall" means ("recall",)
        metrics = (metrics,)
    for name, mat in (("train", train), ("test", test)):
        if not sp.issparse(mat) or mat.ndim != 2:
            raise ValueError(
                f"{name} must be a 2-D scipy sparse matrix; got {type(mat).__name__}"
            )
    if train.shape != test.shape:
        raise ValueError(
            "train and test must have the same shape; got "
            f"{train.shape} and {test.shape}"
        )
    num_users, num_items = train.shape
    if num_users == 0 or num_items == 0:
        raise ValueError(f"train must not be empty; got shape {train.shape}")
    if kmax > num_items:
        raise ValueError(f"k={kmax} is larger than the number of items ({num_items})")
    metrics = tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(
            f"metrics must be names among {list(METRICS)}; got {list(metrics)}"
        )
    train = sp.csr_matrix(train)
    test = sp.csr_matrix(test)
    if user_ids is None:
        user_ids = np.flatnonzero(np.diff(test.indptr) > 0)
        if user_ids.size == 0:
            raise ValueError("test has no interactions: there is no user to evaluate")
    else:
        user_ids = as_ids(
            user_ids, "user_ids", num_users, flatten=True, allow_empty=False
        )
    user_ids = user_ids.astype(np.int64)
    if exclude_seen:
        _check_overlap(train, test, user_ids)
    if callable(scores):
        score_fn = scores
    elif isinstance(scores, (str, bytes)):
        raise ValueError(
            "scores must be a (num_users, num_items) array or a callable "
            f"score(user_ids); got the string {scores!r}"
        )
    else:
        full = _check_scores(scores)
        if full.shape[1] != num_items:
            raise ValueError(
                f"scores has {full.shape[1]} columns but train has "
                f"num_items={num_items}"
            )
        if full.shape[0] != num_users:
            raise ValueError(
                f"scores has {full.shape[0]} rows but train has num_users={num_users}"
            )
        score_fn = full.__getitem__

    tops = []
    columns: dict[str, list[np.ndarray]] = {
        f"{m}@{kk}": [] for m in metrics for kk in ks
    }
    for start in range(0, len(user_ids), batch_size):
        batch = user_ids[start : start + batch_size]
        s = _check_scores(score_fn(batch), "scores")
        if s.shape != (len(batch), num_items):
            raise ValueError(
                f"scores for {len(batch)} users must have shape "
                f"({len(batch)}, {num_items}) (num_items of train); got {s.shape}"
            )
        top, _ = topk_from_scores(
            s, kmax, exclude=train[batch] if exclude_seen else None
        )
        relevant = test[batch]
        for m in metrics:
            for kk in ks:
                columns[f"{m}@{kk}"].append(METRICS[m](top, relevant, kk))
        tops.append(top)
    per_user = pd.DataFrame(
        {c: np.concatenate(v) for c, v in columns.items()},
        index=pd.Index(user_ids, name="user_id"),
    )
    means = {
        c: float(np.nanmean(per_user[c].to_numpy()))
        if per_user[c].notna().any()
        else float("nan")
        for c in per_user.columns
    }
    return EvalResult(per_user=per_user, means=means, topk=np.concatenate(tops), ks=ks)


def rating_metrics(pred: Any, true: Any) -> dict[str, float]:
    """RMSE and MAE of rating predictions in one call.

    Args:
        pred: predicted ratings, any shape.
        true: observed ratings, same shape.

    Returns:
        ``{"rmse": ..., "mae": ...}``.
    """
    return {"rmse": _m.rmse(true, pred), "mae": _m.mae(true, pred)}
