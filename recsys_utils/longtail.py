"""The long tail: popularity groups, propensity weights and tail-aware re-ranking.

Framework-neutral (NumPy). Taught in chapter 4, "Long-tail recommendation with
attention": the chapter measures popularity bias with these helpers, trains with
:func:`inverse_propensity_weights` and re-ranks with :func:`xquad_rerank`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import metrics as _m
from .evaluation import _check_scores, topk_from_scores
from .validation import as_ids, check_finite, check_int, check_number

__all__ = [
    "popularity_groups",
    "GROUP_NAMES",
    "group_shares",
    "inverse_propensity_weights",
    "user_tail_preference",
    "subset_recall",
    "beyond_accuracy",
    "xquad_rerank",
    "tradeoff_sweep",
]

#: names of the codes returned by :func:`popularity_groups`
GROUP_NAMES = ("head", "mid", "tail")


def _popularity(item_popularity: Any, name: str = "item_popularity") -> np.ndarray:
    pop = check_finite(item_popularity, name)
    if pop.ndim != 1 or pop.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {pop.shape}")
    if (pop < 0).any():
        raise ValueError(f"{name} must be finite and >= 0")
    return pop


def _share(value: Any, name: str) -> float:
    """A share strictly between 0 and 1 (a finite number, not a bool)."""
    try:
        return check_number(value, name, low=0, high=1, low_open=True, high_open=True)
    except ValueError:
        raise ValueError(f"{name} must lie in (0, 1); got {value!r}") from None


def popularity_groups(
    item_popularity: Any, head_share: float = 0.2, tail_share: float = 0.5
) -> np.ndarray:
    """Split the catalogue into head, mid and tail by popularity rank.

    Rule: sort items by decreasing popularity (ties: lower item id first). The first
    ``round(head_share * num_items)`` items are the head (the same head as
    :func:`recsys_utils.metrics.head_tail_split`), the last
    ``round(tail_share * num_items)`` items are the tail, the rest the mid. With the
    defaults: top 20% head, next 30% mid, bottom 50% tail. "Long tail" in the book
    means mid + tail, i.e. everything outside the head.

    Args:
        item_popularity: ``(num_items,)`` non-negative popularity (e.g. train counts).
        head_share: share of items in the head, in (0, 1).
        tail_share: share of items in the tail, in (0, 1),
            ``head_share + tail_share <= 1``.

    Returns:
        int array ``(num_items,)``: 0 = head, 1 = mid, 2 = tail (see ``GROUP_NAMES``).
    """
    pop = _popularity(item_popularity)
    head_share = _share(head_share, "head_share")
    tail_share = _share(tail_share, "tail_share")
    if head_share + tail_share > 1:
        raise ValueError(
            "tail_share must lie in (0, 1) with head_share + tail_share <= 1; got "
            f"{tail_share!r}"
        )
    n = pop.size
    num_head = max(1, int(np.floor(head_share * n + 0.5)))
    num_tail = min(n - num_head, int(np.floor(tail_share * n + 0.5)))
    order = np.argsort(-pop, kind="stable")  # most popular first
    groups = np.ones(n, dtype=np.int64)
    groups[order[:num_head]] = 0
    if num_tail:
        groups[order[n - num_tail :]] = 2
    return groups


def group_shares(items: Any, groups: Any, weights: Any = None) -> np.ndarray:
    """Share of (weighted) items falling in each popularity group.

    Args:
        items: int array of item ids, any shape (e.g. top-k lists ``(n, k)``).
        groups: ``(num_items,)`` group codes from :func:`popularity_groups`.
        weights: optional weights, same shape as ``items`` (e.g. interaction counts).

    Returns:
        float array ``(3,)``: shares of head, mid and tail; they sum to 1.
    """
    groups = as_ids(groups, "groups")
    if groups.size and groups.max() >= len(GROUP_NAMES):
        raise ValueError(
            f"groups must hold the codes 0, 1, 2 of {GROUP_NAMES}; got {groups.max()}"
        )
    items = as_ids(items, "items", groups.size, flatten=True, allow_empty=False)
    w = (
        np.ones(items.size)
        if weights is None
        else check_finite(weights, "weights").reshape(-1)
    )
    if w.shape != items.shape or (w < 0).any() or w.sum() <= 0:
        raise ValueError(
            "weights must have the shape of items, be >= 0 and have a positive sum"
        )
    out = np.bincount(groups[items], weights=w, minlength=len(GROUP_NAMES))
    return out / out.sum()


def inverse_propensity_weights(
    item_counts: Any, power: float = 0.5, max_weight: float | None = 20.0
) -> np.ndarray:
    """Per-item inverse propensity weights for popularity-corrected training.

    The propensity of observing an interaction with item ``i`` is modelled as
    ``p_i = ((n_i + 1) / (n_max + 1)) ** power`` (popular items are seen more;
    ``power=0`` means no correction). The weight is ``1 / p_i``, clipped at
    ``max_weight``, then rescaled so that the average weight over the observed
    interactions is 1: ``sum_i n_i w_i / sum_i n_i = 1`` (the loss keeps its scale).

    Args:
        item_counts: ``(num_items,)`` non-negative interaction counts (train).
        power: strength of the correction, >= 0.
        max_weight: clip of ``1 / p_i`` before the rescaling (``None``: no clip), >= 1.

    Returns:
        float array ``(num_items,)`` of positive weights.
    """
    n = _popularity(item_counts, "item_counts")
    check_number(power, "power", low=0)
    if max_weight is not None:
        check_number(max_weight, "max_weight", low=1)
    if n.sum() <= 0:
        raise ValueError("item_counts must have a positive sum")
    w = ((n + 1.0) / (n.max() + 1.0)) ** (-power)
    if max_weight is not None:
        w = np.minimum(w, max_weight)
    return w / (np.dot(n, w) / n.sum())


def user_tail_preference(
    train: sp.spmatrix, tail_mask: Any, prior: float = 0.0, prior_weight: float = 0.0
) -> np.ndarray:
    """Each user's own share of long-tail items in their history, optionally smoothed.

    ``(#tail items of u + prior_weight * prior) / (#items of u + prior_weight)``; a
    user without history gets ``prior``.

    Args:
        train: ``(num_users, num_items)`` sparse interaction matrix (non-zero = seen).
        tail_mask: ``(num_items,)`` boolean, True for long-tail items.
        prior: share used to smooth small histories, in [0, 1].
        prior_weight: pseudo-count of the prior, >= 0.

    Returns:
        float array ``(num_users,)`` in [0, 1]: ``P(tail | u)``.
    """
    if not sp.issparse(train):
        raise ValueError(
            f"train must be a scipy sparse matrix; got {type(train).__name__}"
        )
    mask = np.asarray(tail_mask)
    if mask.dtype != bool or mask.shape != (train.shape[1],):
        raise ValueError(
            f"tail_mask must be a boolean array of shape ({train.shape[1]},)"
        )
    check_number(prior, "prior", low=0, high=1)
    check_number(prior_weight, "prior_weight", low=0)
    x = sp.csr_matrix(train, copy=True)
    x.eliminate_zeros()
    x.data[:] = 1.0
    n_tail = np.asarray(x @ mask.astype(np.float64)).ravel()
    n_all = np.diff(x.indptr).astype(np.float64)
    den = n_all + prior_weight
    return np.divide(
        n_tail + prior_weight * prior,
        den,
        out=np.full(len(den), float(prior)),
        where=den > 0,
    )


def subset_recall(
    ranked_items: Any, relevant: Any, k: int, item_mask: Any = None
) -> float:
    """Mean recall@k when only the relevant items inside ``item_mask`` count.

    With ``item_mask = tail_mask`` this is the *tail recall*: of each user's relevant
    long-tail items, the share found in the top k. Users with no relevant item in the
    mask are left out of the mean.

    Args:
        ranked_items: int array ``(num_users, >= k)``.
        relevant: per-user relevant items: a sparse matrix (non-zero = relevant) or an
            int array ``(num_users, m)`` / list of arrays (e.g. true top-m lists).
        k: cut-off.
        item_mask: optional ``(num_items,)`` boolean; ``None`` keeps every item.

    Returns:
        ``nanmean`` of the per-user recall (``nan`` if no user has a relevant item).
    """
    ranked = np.asarray(ranked_items)
    mask = None
    if item_mask is not None:
        mask = np.asarray(item_mask)
        if mask.dtype != bool or mask.ndim != 1:
            raise ValueError(
                "item_mask must be a 1-D boolean array over items; got "
                f"{mask.dtype} of shape {mask.shape}"
            )
    if sp.issparse(relevant):
        rel = sp.csr_matrix(relevant, copy=True)
        if mask is not None:
            if mask.size != rel.shape[1]:
                raise ValueError(
                    f"item_mask has {mask.size} items but relevant has {rel.shape[1]}"
                )
            rel = sp.csr_matrix(rel.multiply(mask.astype(np.float64)[None, :]))
            rel.eliminate_zeros()
    else:
        if isinstance(relevant, (str, bytes)):
            raise ValueError(f"relevant must be per-user item ids; got {relevant!r}")
        upper = None if mask is None else mask.size
        rel = [
            as_ids(r, f"relevant (entry {u})", upper, flatten=True)
            for u, r in enumerate(relevant)
        ]
        if mask is not None:
            rel = [r[mask[r]] for r in rel]
    per_user = _m.recall_at_k(ranked, rel, k)
    if np.isnan(per_user).all():
        return float("nan")
    return float(np.nanmean(per_user))


def beyond_accuracy(ranked_items: Any, item_popularity: Any, tail_mask: Any) -> dict:
    """The popularity-bias numbers of a set of top-k lists, in one dict.

    Args:
        ranked_items: int array ``(num_users, k)``.
        item_popularity: ``(num_items,)`` train popularity.
        tail_mask: ``(num_items,)`` boolean, True for long-tail items.

    Returns:
        ``{"ARP": ..., "tail share": ..., "coverage": ..., "exposure Gini": ...}`` (see
        :mod:`recsys_utils.metrics`).
    """
    pop = _popularity(item_popularity)
    return {
        "ARP": _m.average_recommendation_popularity(ranked_items, pop),
        "tail share": _m.long_tail_share(
            ranked_items, np.asarray(tail_mask, dtype=bool)
        ),
        "coverage": _m.catalog_coverage(ranked_items, pop.size),
        "exposure Gini": _m.exposure_gini(ranked_items, pop.size),
    }


def xquad_rerank(
    scores: Any,
    tail_mask: Any,
    tail_preference: Any,
    lam: float,
    k: int = 10,
    exclude: sp.spmatrix | None = None,
    num_candidates: int = 100,
) -> np.ndarray:
    """Tail-aware re-ranking with smooth xQuAD over two groups, head and long tail.

    For each user, take the ``num_candidates`` best-scored items (seen items excluded)
    and min-max scale their scores to ``rel`` in [0, 1] (best = 1, worst = 0; all 1 if
    equal). Then fill the list greedily: at each step pick the candidate ``i`` not yet
    chosen that maximises

        (1 - lam) * rel_i + lam * sum_c P(c | u) * 1[i in c] * (1 - |S ∩ c| / |S|)

    where ``c`` runs over {head, tail}, ``P(tail | u)`` is the user's own tail share
    (``tail_preference``), ``P(head | u) = 1 - P(tail | u)`` and ``S`` is the list so
    far (the coverage term is 1 while ``S`` is empty). Ties go to the better-ranked
    candidate. ``lam = 0`` returns the plain top k; a larger ``lam`` calibrates the
    list towards the user's own head/tail mix (Abdollahpouri et al., 2019).

    Args:
        scores: ``(num_users, num_items)`` float scores, higher is better.
        tail_mask: ``(num_items,)`` boolean, True for long-tail items.
        tail_preference: ``(num_users,)`` values in [0, 1], ``P(tail | u)``.
        lam: trade-off in [0, 1].
        k: list length, ``<= num_candidates``.
        exclude: optional sparse ``(num_users, num_items)`` of items to exclude.
        num_candidates: how many top-scored items are re-ranked.

    Returns:
        int64 array ``(num_users, k)`` of item ids.
    """
    s = _check_scores(scores).astype(np.float64)  # 2-D, numeric, no NaN
    n, num_items = s.shape
    mask = np.asarray(tail_mask)
    if mask.dtype != bool or mask.shape != (num_items,):
        raise ValueError(f"tail_mask must be a boolean array of shape ({num_items},)")
    pref = check_finite(tail_preference, "tail_preference").reshape(-1)
    if pref.shape != (n,) or (pref < 0).any() or (pref > 1).any():
        raise ValueError(
            f"tail_preference must have shape ({n},) with values in [0, 1]"
        )
    check_number(lam, "lam", low=0, high=1)
    k = check_int(k, "k", low=1)
    num_candidates = min(check_int(num_candidates, "num_candidates", low=1), num_items)
    if k > num_candidates:
        raise ValueError(f"k={k} must be <= num_candidates={num_candidates}")
    if (
        exclude is not None
    ):  # excluded items score -inf: they rank last (only in tiny rows)
        if not sp.issparse(exclude) or exclude.shape != s.shape:
            raise ValueError(
                f"exclude must be a scipy sparse matrix of shape {s.shape}"
            )
        ex = sp.coo_matrix(exclude)
        s = s.copy()
        s[ex.row, ex.col] = -np.inf
    cand, _ = topk_from_scores(s, num_candidates)  # (n, C), best first
    cs = np.take_along_axis(s, cand, axis=1)
    finite = np.isfinite(cs)
    lo = np.where(finite, cs, np.inf).min(axis=1, keepdims=True)
    hi = np.where(finite, cs, -np.inf).max(axis=1, keepdims=True)
    span = hi - lo
    rel = np.where(span > 0, (cs - lo) / np.where(span > 0, span, 1.0), 1.0)
    rel = np.where(finite, rel, -1.0)  # (n, C) in [0, 1]; excluded: -1
    is_tail = mask[cand]  # (n, C)
    p_c = np.where(is_tail, pref[:, None], 1.0 - pref[:, None])  # P(group of i | u)
    chosen = np.zeros_like(is_tail)
    n_tail = np.zeros(n)
    out = np.empty((n, k), dtype=np.int64)
    rows = np.arange(n)
    for step in range(k):
        if step == 0:
            not_covered = np.ones_like(rel)
        else:
            tail_cov = n_tail / step  # |S ∩ tail| / |S|, (n,)
            not_covered = np.where(is_tail, 1.0 - tail_cov[:, None], tail_cov[:, None])
        obj = (1.0 - lam) * rel + lam * p_c * not_covered
        obj = np.where(chosen, -np.inf, obj)
        best = np.argmax(obj, axis=1)  # first maximum = better-ranked candidate
        chosen[rows, best] = True
        n_tail += is_tail[rows, best]
        out[:, step] = cand[rows, best]
    return out


def tradeoff_sweep(
    knob_values: Iterable[float],
    evaluate: Callable[[float], dict],
    knob_name: str = "lam",
) -> pd.DataFrame:
    """Evaluate a model at several settings of a knob: one table row per setting.

    Args:
        knob_values: the settings, e.g. ``[0, 0.1, 0.2, ...]`` for the xQuAD ``lam``.
        evaluate: ``evaluate(value) -> {metric name: number}``.
        knob_name: name of the index column.

    Returns:
        DataFrame indexed by the knob values, one column per metric.
    """
    values = list(knob_values)
    if not values:
        raise ValueError("knob_values must not be empty")
    if not callable(evaluate):
        raise ValueError(
            f"evaluate must be a function value -> dict; got {type(evaluate).__name__}"
        )
    rows = []
    for v in values:
        row = evaluate(v)
        if not isinstance(row, dict):
            raise ValueError(
                f"evaluate must return a dict of metrics; got {type(row).__name__}"
            )
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(values, name=knob_name))
