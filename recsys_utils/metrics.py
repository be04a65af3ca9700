"""Ranking, rating and beyond-accuracy metrics, in NumPy.

Ranking metrics take ``(ranked_items, relevant, k)``:

* ``ranked_items``: int array ``(num_users, >= k)``, each row the item ids
  recommended to one user, best first, without repeats;
* ``relevant``: one entry per row of ``ranked_items``: a 1-D int array, list or set
  of relevant item ids, a dict ``{item_id: gain}`` (items with a gain > 0 count as
  relevant; :func:`ndcg_at_k` uses the gains), or a ``scipy.sparse`` matrix whose
  row ``u`` marks the relevant items of row ``u`` (nonzero = relevant);
* ``k``: a positive int, the cut-off.

They return a per-user float array. A user with no relevant item gets ``NaN`` (no
score is meaningful there): average with ``np.nanmean``.

Everything is vectorised: relevance lookups are a ``searchsorted`` over sorted
``user * M + item`` keys, never a Python loop over items.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from .validation import as_ids, check_finite, check_int, check_number

__all__ = [
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "hit_rate_at_k",
    "mrr",
    "average_precision_at_k",
    "rmse",
    "mae",
    "catalog_coverage",
    "gini_index",
    "exposure_gini",
    "average_recommendation_popularity",
    "long_tail_share",
    "head_tail_split",
]


# ---------------------------------------------------------------------------
# Validation and relevance lookup
# ---------------------------------------------------------------------------


def _in_open_unit(value: Any) -> bool:
    """``value`` is a real number strictly between 0 and 1 (not a bool, not NaN)."""
    try:
        check_number(value, "value", low=0, high=1, low_open=True, high_open=True)
    except ValueError:
        return False
    return True


def _check_ranked(ranked_items: Any, k: int | None) -> np.ndarray:
    ranked = np.asarray(ranked_items)
    if ranked.ndim != 2:
        raise ValueError(
            f"ranked_items must be a 2-D array (num_users, k); got shape {ranked.shape}"
        )
    if ranked.size == 0:
        raise ValueError(f"ranked_items must not be empty; got shape {ranked.shape}")
    if not np.issubdtype(ranked.dtype, np.integer):
        raise ValueError(
            f"ranked_items must hold integer item ids; got dtype {ranked.dtype}"
        )
    if k is not None and ranked.shape[1] < k:
        raise ValueError(
            f"ranked_items has {ranked.shape[1]} columns, fewer than k={k}"
        )
    if ranked.min() < 0:
        raise ValueError(f"ranked_items must hold item ids >= 0; got {ranked.min()}")
    ranked = ranked.astype(np.int64, copy=False)
    cut = ranked if k is None else ranked[:, :k]
    srt = np.sort(cut, axis=1)
    if np.any(srt[:, 1:] == srt[:, :-1]):
        row = int(np.flatnonzero((srt[:, 1:] == srt[:, :-1]).any(axis=1))[0])
        raise ValueError(
            f"ranked_items must not repeat an item within a row; row {row} does"
        )
    return cut


def _looks_like_mask(values: np.ndarray) -> bool:
    """A 0/1 vector with a repeated value: a dense indicator, not a set of item ids."""
    return (
        values.size > 2
        and bool(np.isin(values, (0, 1)).all())
        and len(np.unique(values)) < values.size
    )


def _relevance(
    relevant: Any, num_rows: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flatten ``relevant`` into ``(rows, items, gains)`` of its relevant entries."""
    if (
        isinstance(relevant, np.ndarray)
        and relevant.ndim == 2
        and relevant.dtype == bool
    ):
        relevant = sp.csr_matrix(relevant)  # a dense indicator (True = relevant)
    if sp.issparse(relevant):
        mat = sp.csr_matrix(relevant)
        if mat.shape[0] != num_rows:
            raise ValueError(
                f"relevant has {mat.shape[0]} rows but ranked_items has {num_rows}"
            )
        mat = mat.copy()
        mat.eliminate_zeros()
        rows = np.repeat(np.arange(num_rows, dtype=np.int64), np.diff(mat.indptr))
        items = mat.indices.astype(np.int64)
        return rows, items, np.ones(len(items))
    if (
        isinstance(relevant, (str, bytes))
        or not isinstance(relevant, Sequence)
        and not isinstance(relevant, np.ndarray)
    ):
        raise ValueError(
            "relevant must be a list (one entry per user) of item-id arrays, sets "
            "or {item_id: gain} dicts, or a sparse matrix; got "
            f"{type(relevant).__name__}"
        )
    if len(relevant) != num_rows:
        raise ValueError(
            f"relevant has {len(relevant)} entries but ranked_items has {num_rows} rows"
        )
    item_parts, gain_parts, lengths = [], [], []
    for row, entry in enumerate(relevant):  # one iteration per user, never per item
        where = f"relevant (entry {row})"
        if isinstance(entry, dict):
            its = as_ids(list(entry.keys()), f"{where}'s keys")
            gains = check_finite(list(entry.values()), f"{where}'s gains")
        else:
            its = np.asarray(
                sorted(entry) if isinstance(entry, (set, frozenset)) else entry
            ).reshape(-1)
            if its.dtype == bool:  # one user's indicator row
                its = np.flatnonzero(its)
            elif its.size and _looks_like_mask(its):
                raise ValueError(
                    f"{where} repeats 0/1 values: it looks like a dense 0/1 "
                    "indicator, not item ids. Pass a boolean array (True = "
                    "relevant), a scipy.sparse matrix, or the item ids themselves"
                )
            its = as_ids(its, where)
            gains = np.ones(len(its))
        item_parts.append(its)
        gain_parts.append(gains)
        lengths.append(len(its))
    items = np.concatenate(item_parts) if item_parts else np.zeros(0, np.int64)
    gains = np.concatenate(gain_parts) if gain_parts else np.zeros(0)
    rows = np.repeat(np.arange(num_rows, dtype=np.int64), lengths)
    if np.any(gains < 0):
        raise ValueError("relevant gains must be finite and >= 0")
    keep = gains > 0
    return rows[keep], items[keep], gains[keep]


def _lookup(ranked: np.ndarray, relevant: Any) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Gain of every ranked slot (0 when not relevant) and the per-row relevance."""
    n = ranked.shape[0]
    rows, items, gains = _relevance(relevant, n)
    m = int(max(ranked.max(), items.max() if items.size else 0)) + 1
    keys = rows * m + items
    keys, first = np.unique(keys, return_index=True)  # sorted, duplicates dropped
    rows, items, gains = rows[first], items[first], gains[first]
    query = np.arange(n, dtype=np.int64)[:, None] * m + ranked  # (n, k)
    pos = np.minimum(np.searchsorted(keys, query), max(len(keys) - 1, 0))
    found = (keys[pos] == query) if len(keys) else np.zeros(query.shape, bool)
    slot_gain = np.where(found, gains[pos] if len(keys) else 0.0, 0.0)
    return slot_gain, np.bincount(rows, minlength=n), (rows, gains)


def _nan_where_empty(values: np.ndarray, num_relevant: np.ndarray) -> np.ndarray:
    values = values.astype(np.float64)
    values[num_relevant == 0] = np.nan
    return values


# ---------------------------------------------------------------------------
# Ranking metrics
# ---------------------------------------------------------------------------


def precision_at_k(ranked_items: Any, relevant: Any, k: int) -> np.ndarray:
    """Precision@k: the share of the top-k slots that hold a relevant item.

    Args:
        ranked_items: int array ``(num_users, >= k)``, best first.
        relevant: per-user relevant items (see the module docstring).
        k: cut-off, a positive int.

    Returns:
        Float array ``(num_users,)``: ``hits@k / k``; ``NaN`` for users with no
        relevant item.
    """
    k = check_int(k, "k", low=1)
    ranked = _check_ranked(ranked_items, k)
    slot_gain, num_rel, _ = _lookup(ranked, relevant)
    return _nan_where_empty((slot_gain > 0).sum(axis=1) / k, num_rel)


def recall_at_k(ranked_items: Any, relevant: Any, k: int) -> np.ndarray:
    """Recall@k: the share of a user's relevant items found in the top k.

    The standard definition ``hits@k / |relevant|`` (not ``/ min(k, |relevant|)``):
    a user with more than k relevant items cannot reach 1.

    Args:
        ranked_items: int array ``(num_users, >= k)``, best first.
        relevant: per-user relevant items (see the module docstring).
        k: cut-off, a positive int.

    Returns:
        Float array ``(num_users,)`` in [0, 1]; ``NaN`` for users with no relevant item.
    """
    k = check_int(k, "k", low=1)
    ranked = _check_ranked(ranked_items, k)
    slot_gain, num_rel, _ = _lookup(ranked, relevant)
    hits = (slot_gain > 0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _nan_where_empty(hits / num_rel, num_rel)


def hit_rate_at_k(ranked_items: Any, relevant: Any, k: int) -> np.ndarray:
    """HitRate@k: 1 if at least one relevant item is in the top k, else 0.

    Args:
        ranked_items: int array ``(num_users, >= k)``, best first.
        relevant: per-user relevant items (see the module docstring).
        k: cut-off, a positive int.

    Returns:
        Float array ``(num_users,)`` of 0/1; ``NaN`` for users with no relevant item.
    """
    k = check_int(k, "k", low=1)
    ranked = _check_ranked(ranked_items, k)
    slot_gain, num_rel, _ = _lookup(ranked, relevant)
    return _nan_where_empty((slot_gain > 0).any(axis=1), num_rel)


def ndcg_at_k(ranked_items: Any, relevant: Any, k: int) -> np.ndarray:
    """NDCG@k, binary or graded.

    With ranks ``r = 1..k`` and ``rel_r`` the relevance of the item at rank ``r``::

        DCG@k  = sum_r (2**rel_r - 1) / log2(r + 1)
        NDCG@k = DCG@k / IDCG@k

    where ``IDCG@k`` is the DCG of the user's relevant items sorted by decreasing
    relevance. With binary relevance (arrays, sets, sparse rows) ``rel_r`` is 0 or 1,
    so the gain is 1 per hit. With dicts ``{item_id: rel}`` the relevance is graded.

    Args:
        ranked_items: int array ``(num_users, >= k)``, best first.
        relevant: per-user relevant items or ``{item_id: rel}`` dicts.
        k: cut-off, a positive int.

    Returns:
        Float array ``(num_users,)`` in [0, 1]; ``NaN`` for users with no relevant item.
    """
    k = check_int(k, "k", low=1)
    ranked = _check_ranked(ranked_items, k)
    slot_rel, num_rel, (rows, rels) = _lookup(ranked, relevant)
    discount = 1.0 / np.log2(np.arange(2, k + 2))  # (k,): 1/log2(r+1), r = 1..k
    dcg = ((2.0**slot_rel - 1.0) * discount).sum(axis=1)
    # ideal DCG: each user's relevances sorted descending, the first k discounted
    order = np.lexsort((-rels, rows))
    rows_s, rels_s = rows[order], rels[order]
    rank = np.arange(len(rows_s)) - np.searchsorted(
        rows_s, rows_s, side="left"
    )  # 0-based
    top = rank < k
    idcg = np.bincount(
        rows_s[top],
        weights=(2.0 ** rels_s[top] - 1.0) * discount[rank[top]],
        minlength=len(ranked),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return _nan_where_empty(dcg / idcg, num_rel)


def mrr(ranked_items: Any, relevant: Any, k: int | None = None) -> np.ndarray:
    """Reciprocal rank of the first relevant item (MRR is its mean over users).

    Args:
        ranked_items: int array ``(num_users, L)``, best first.
        relevant: per-user relevant items (see the module docstring).
        k: look only at the first k slots (a relevant item later scores 0);
            ``None`` uses the whole list.

    Returns:
        Float array ``(num_users,)``: ``1 / rank`` of the first hit (rank starts at 1),
        0 without a hit; ``NaN`` for users with no relevant item.
    """
    if k is not None:
        k = check_int(k, "k", low=1)
    ranked = _check_ranked(ranked_items, k)
    slot_gain, num_rel, _ = _lookup(ranked, relevant)
    hit = slot_gain > 0
    first = hit.argmax(axis=1)  # 0-based position of the first hit (0 if none)
    rr = np.where(hit.any(axis=1), 1.0 / (first + 1.0), 0.0)
    return _nan_where_empty(rr, num_rel)


def average_precision_at_k(ranked_items: Any, relevant: Any, k: int) -> np.ndarray:
    """Average precision at k, normalised by the number of relevant items.

    With ``hit_r`` = 1 when the item at rank ``r`` is relevant::

        AP@k = sum_{r <= k} hit_r * (hits in the first r) / r  /  |relevant|

    This is the ``map_at_k`` of Microsoft Recommenders in 2019-2021 (the published
    MAP figures of :data:`recsys_utils.protocols.STRATIFIED`); its mean over users is
    the MAP. Today's ``map_at_k`` of Recommenders divides by
    ``min(k, |relevant|)`` instead: larger numbers, not comparable.

    Args:
        ranked_items: int array ``(num_users, >= k)``, best first.
        relevant: per-user relevant items (see the module docstring).
        k: cut-off, a positive int.

    Returns:
        Float array ``(num_users,)`` in [0, 1]; ``NaN`` for users with no relevant
        item.
    """
    k = check_int(k, "k", low=1)
    ranked = _check_ranked(ranked_items, k)
    slot_gain, num_rel, _ = _lookup(ranked, relevant)
    hit = (slot_gain > 0).astype(np.float64)
    precision_at_r = np.cumsum(hit, axis=1) / np.arange(1, k + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (hit * precision_at_r).sum(axis=1) / num_rel
    ap[num_rel == 0] = np.nan
    return ap


# ---------------------------------------------------------------------------
# Rating metrics
# ---------------------------------------------------------------------------


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = check_finite(y_true, "y_true")
    p = check_finite(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape; got {t.shape} and {p.shape}"
        )
    if t.size == 0:
        raise ValueError("y_true and y_pred must not be empty")
    return t, p


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error ``sqrt(mean((y_pred - y_true)**2))``.

    Args:
        y_true: observed ratings, any shape.
        y_pred: predictions, same shape.

    Returns:
        The RMSE as a float.
    """
    t, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((p - t) ** 2)))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error ``mean(|y_pred - y_true|)``.

    Args:
        y_true: observed ratings, any shape.
        y_pred: predictions, same shape.

    Returns:
        The MAE as a float.
    """
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(p - t)))


# ---------------------------------------------------------------------------
# Beyond accuracy
# ---------------------------------------------------------------------------


def _check_ranked_range(ranked_items: Any, num_items: int) -> np.ndarray:
    ranked = _check_ranked(ranked_items, None)
    if ranked.max() >= num_items:
        raise ValueError(
            f"ranked_items must hold item ids in [0, {num_items}); got {ranked.max()}"
        )
    return ranked


def catalog_coverage(ranked_items: Any, num_items: int) -> float:
    """Catalogue coverage: the share of all items that appear in at least one list.

    Args:
        ranked_items: int array ``(num_users, k)`` of recommended item ids.
        num_items: size of the catalogue.

    Returns:
        ``|unique(ranked_items)| / num_items``, in [0, 1].
    """
    num_items = check_int(num_items, "num_items", low=1)
    ranked = _check_ranked_range(ranked_items, num_items)
    return float(len(np.unique(ranked)) / num_items)


def gini_index(counts: Any) -> float:
    """Gini index of a non-negative vector: 0 = equal shares, near 1 = concentrated.

    With the values sorted ascending, ``x_1 <= ... <= x_n``::

        G = sum_i (2 i - n - 1) x_i / (n * sum_i x_i)

    The maximum, all the mass on one entry, is ``(n - 1) / n``. An all-zero vector
    has nothing to concentrate: its Gini is defined as 0.

    Args:
        counts: 1-D array of non-negative numbers (for example exposure counts).

    Returns:
        The Gini index as a float.
    """
    x = check_finite(counts, "counts")
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array; got shape {x.shape}")
    if np.any(x < 0):
        raise ValueError("counts must be finite and non-negative")
    if not np.any(x > 0):
        return 0.0
    # scale-free: dividing by the largest value keeps tiny (subnormal) inputs exact
    x = np.sort(x / x.max())
    n = x.size
    i = np.arange(1, n + 1)
    g = np.sum((2 * i - n - 1) * x) / (n * x.sum())
    return float(np.clip(g, 0.0, (n - 1) / n))  # rounding can step just outside


def exposure_gini(ranked_items: Any, num_items: int) -> float:
    """Gini index of how often each catalogue item is recommended.

    Items never recommended count with exposure 0, so a system that shows only a
    few items scores close to 1.

    Args:
        ranked_items: int array ``(num_users, k)`` of recommended item ids.
        num_items: size of the catalogue.

    Returns:
        ``gini_index(bincount(ranked_items, minlength=num_items))``.
    """
    num_items = check_int(num_items, "num_items", low=1)
    ranked = _check_ranked_range(ranked_items, num_items)
    return gini_index(np.bincount(ranked.ravel(), minlength=num_items))


def _check_item_vector(name: str, values: Any, ranked: np.ndarray) -> np.ndarray:
    v = np.asarray(values)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array over items; got shape {v.shape}"
        )
    if ranked.max() >= v.size:
        raise ValueError(
            f"ranked_items holds item id {ranked.max()} but {name} has only "
            f"{v.size} items"
        )
    return v


def average_recommendation_popularity(ranked_items: Any, item_popularity: Any) -> float:
    """Average recommendation popularity (ARP).

    For each user, the mean popularity of the items in their list; then the mean over
    users. Higher means the system recommends what everybody already sees.

    Args:
        ranked_items: int array ``(num_users, k)`` of recommended item ids.
        item_popularity: 1-D array ``(num_items,)``, e.g. interaction counts in train.

    Returns:
        ``mean_u mean_{i in list_u} item_popularity[i]`` as a float.
    """
    ranked = _check_ranked(ranked_items, None)
    pop = _check_item_vector(
        "item_popularity", check_finite(item_popularity, "item_popularity"), ranked
    )
    return float(pop[ranked].mean(axis=1).mean())


def long_tail_share(ranked_items: Any, tail_items: Any) -> float:
    """Share of all recommended slots filled by long-tail items.

    Args:
        ranked_items: int array ``(num_users, k)`` of recommended item ids.
        tail_items: boolean mask ``(num_items,)`` (True = tail item), e.g. from
            :func:`head_tail_split`, or an int array of tail item ids. A 0/1
            integer vector with repeats is refused: it is a mask stored as
            integers, which would otherwise be read as the ids 0 and 1.

    Returns:
        ``(# slots holding a tail item) / (num_users * k)``, in [0, 1].
    """
    ranked = _check_ranked(ranked_items, None)
    tail = np.asarray(tail_items)
    if tail.dtype == bool:
        mask = _check_item_vector("tail_items", tail, ranked)
    else:
        if tail.size and _looks_like_mask(tail.reshape(-1)):
            raise ValueError(
                "tail_items holds 0/1 values with repeats: it looks like a mask "
                "stored as numbers, not item ids. Pass a boolean mask "
                "(tail_items.astype(bool)) or the ids of the tail items"
            )
        tail = as_ids(tail, "tail_items", flatten=True)
        size = int(max(ranked.max(), tail.max() if tail.size else 0)) + 1
        mask = np.zeros(size, dtype=bool)
        mask[tail] = True
    return float(mask[ranked].mean())


def head_tail_split(item_popularity: Any, head_share: float = 0.2) -> np.ndarray:
    """Split the catalogue into a popular head and a long tail.

    Rule: the head is the ``round(head_share * num_items)`` most popular items (at
    least one); ties in popularity are broken by the lower item id. The tail is every
    other item. With ``head_share=0.2``: the top 20% of items by popularity are the
    head, the other 80% the tail.

    Args:
        item_popularity: 1-D array ``(num_items,)`` of non-negative popularity values.
        head_share: share of the catalogue in the head, in (0, 1).

    Returns:
        Boolean array ``(num_items,)``: True for tail items.
    """
    pop = check_finite(item_popularity, "item_popularity")
    if pop.ndim != 1 or pop.size == 0:
        raise ValueError(
            f"item_popularity must be a non-empty 1-D array; got shape {pop.shape}"
        )
    if not _in_open_unit(head_share):
        raise ValueError(f"head_share must lie in (0, 1); got {head_share!r}")
    num_head = max(1, int(np.floor(head_share * pop.size + 0.5)))
    order = np.argsort(
        -pop, kind="stable"
    )  # most popular first, lower id first on ties
    tail = np.ones(pop.size, dtype=bool)
    tail[order[:num_head]] = False
    return tail
