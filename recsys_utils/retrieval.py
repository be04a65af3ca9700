"""Serving helpers for embedding retrieval, framework-neutral (NumPy and faiss-cpu).

Taught in chapter 3 ("Serving" and "The home page"): once a two-tower model is trained,
serving needs no deep-learning framework. Item vectors are computed once; a shopper's
vector is matched against them by an exact top-k (one matrix product) or by an
approximate nearest-neighbour index (FAISS IVF-Flat or HNSW, inner product); the
candidates are re-ranked (MMR, a cap per category) and each gets a one-line reason.
``log_q`` gives the sampling-bias correction of the in-batch softmax loss.

``faiss`` is imported only inside the functions that need it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .evaluation import topk_from_scores
from .validation import as_ids, check_finite, check_int, check_number

__all__ = [
    "log_q",
    "exact_topk",
    "build_ivf_flat",
    "build_hnsw",
    "set_search_param",
    "recall_vs_exact",
    "recall_latency",
    "mmr_rerank",
    "category_cap_rerank",
    "nearest_history_item",
    "reasons",
]


def _matrix(name: str, x: Any) -> np.ndarray:
    arr = np.ascontiguousarray(check_finite(x, name, dtype=np.float32))
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{name} must be a non-empty 2-D array (n, embedding_dim); got shape "
            f"{arr.shape}"
        )
    return arr


# ---------------------------------------------------------------------------
# The sampling-bias correction
# ---------------------------------------------------------------------------


def log_q(item_ids: Any, num_items: int, smoothing: float = 1.0) -> np.ndarray:
    """Log sampling probability of each item from its frequency in the training stream.

    With in-batch negatives, item ``j`` shows up as a negative as often as it shows up
    as a positive: with probability ``q_j`` proportional to its frequency. The logQ
    correction (Yi et al. 2019) subtracts ``log q_j`` from the logit of ``j``.

    ``q_j = (count_j + smoothing) / (N + smoothing * num_items)``.

    Args:
        item_ids: 1-d int array, the item of every training example (positives).
        num_items: catalogue size; ids must lie in ``[0, num_items)``.
        smoothing: added to every count (> 0 keeps never-seen items finite).

    Returns:
        float32 array ``(num_items,)`` of ``log q_j``.
    """
    num_items = check_int(num_items, "num_items", low=1)
    ids = as_ids(item_ids, "item_ids", int(num_items), flatten=True)
    check_number(smoothing, "smoothing", low=0)
    if smoothing == 0 and ids.size == 0:
        raise ValueError(
            "smoothing must be >= 0 (and > 0 when item_ids is empty); got "
            f"{smoothing!r}"
        )
    counts = np.bincount(ids, minlength=num_items).astype(np.float64) + smoothing
    with np.errstate(divide="ignore"):
        return np.log(counts / counts.sum()).astype(np.float32)


# ---------------------------------------------------------------------------
# Exact and approximate top-k
# ---------------------------------------------------------------------------


def exact_topk(
    queries: Any, item_vectors: Any, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact maximum-inner-product top-k: one matrix product, then ``argpartition``.

    The ranking rule is :func:`recsys_utils.evaluation.topk_from_scores`' (ties: the
    lower item id first). Note the order of the result: ``(item_ids, scores)``, as
    every top-k function of the package; a FAISS ``index.search`` returns
    ``(scores, ids)``.

    Args:
        queries: ``(num_queries, embedding_dim)`` user vectors.
        item_vectors: ``(num_items, embedding_dim)`` item vectors.
        k: list length, ``1 <= k <= num_items``.

    Returns:
        ``(item_ids, scores)``: int64 and float32 arrays ``(num_queries, k)``, best
        first.
    """
    q, v = _matrix("queries", queries), _matrix("item_vectors", item_vectors)
    if q.shape[1] != v.shape[1]:
        raise ValueError(
            "queries and item_vectors must have the same embedding_dim; got "
            f"{q.shape[1]} and {v.shape[1]}"
        )
    k = check_int(k, "k", low=1, high=v.shape[0])
    item_ids, scores = topk_from_scores(q @ v.T, k)  # (num_queries, num_items) scores
    return item_ids, scores.astype(np.float32)


def build_ivf_flat(item_vectors: Any, nlist: int, *, seed: int = 0):
    """An inverted-file index (IVF-Flat) for inner-product search.

    k-means splits the items into ``nlist`` cells; a query scans only the ``nprobe``
    cells whose centroids score highest (``index.nprobe``, default 1). With
    ``nprobe == nlist`` every item is scanned: the search is exact.

    Args:
        item_vectors: ``(num_items, embedding_dim)``.
        nlist: number of cells, ``1 <= nlist <= num_items``.
        seed: seed of the k-means initialisation.

    Returns:
        a trained ``faiss.IndexIVFFlat`` holding the items (ids = row numbers).
    """
    import faiss

    v = _matrix("item_vectors", item_vectors)
    nlist = check_int(nlist, "nlist", low=1, high=v.shape[0])
    quantizer = faiss.IndexFlatIP(v.shape[1])
    index = faiss.IndexIVFFlat(quantizer, v.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = int(seed)
    index.cp.min_points_per_centroid = 1  # small catalogues: no warning, no subsampling
    index.train(v)
    index.add(v)
    return index


def build_hnsw(item_vectors: Any, M: int = 16, ef_construction: int = 40):
    """A hierarchical navigable small-world graph (HNSW) for inner-product search.

    Each item is linked to about ``M`` neighbours per layer; a query walks the graph
    greedily, keeping ``efSearch`` candidates (``index.hnsw.efSearch``): larger is more
    accurate and slower.

    Args:
        item_vectors: ``(num_items, embedding_dim)``.
        M: links per node (>= 2).
        ef_construction: candidate list size while building (>= 1).

    Returns:
        a ``faiss.IndexHNSWFlat`` holding the items (ids = row numbers).
    """
    import faiss

    v = _matrix("item_vectors", item_vectors)
    M = check_int(M, "M", low=2)
    ef_construction = check_int(ef_construction, "ef_construction", low=1)
    index = faiss.IndexHNSWFlat(v.shape[1], int(M), faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = int(ef_construction)
    index.add(v)
    return index


def set_search_param(index, value: int) -> str:
    """Set the accuracy knob of an index: ``nprobe`` (IVF) or ``efSearch`` (HNSW).

    Args:
        index: a ``faiss.IndexIVF*`` or ``faiss.IndexHNSW*``.
        value: the setting (positive int).

    Returns:
        the name of the parameter that was set.
    """
    value = check_int(value, "value", low=1)
    if hasattr(index, "nprobe"):
        index.nprobe = int(value)
        return "nprobe"
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = int(value)
        return "efSearch"
    raise ValueError(
        f"index must be an IVF or HNSW faiss index; got {type(index).__name__}"
    )


def recall_vs_exact(approx_ids: Any, exact_ids: Any) -> float:
    """Recall of the true top-k: mean share of each exact list found by the other.

    Args:
        approx_ids: ``(num_queries, k)`` ids from an approximate search (-1 = missing).
        exact_ids: ``(num_queries, k)`` ids of the exact top-k.

    Returns:
        ``mean_q |approx_q & exact_q| / k`` in [0, 1].
    """
    a, e = np.asarray(approx_ids), np.asarray(exact_ids)
    if a.ndim != 2 or a.shape != e.shape or a.size == 0:
        raise ValueError(
            "approx_ids and exact_ids must be 2-D of the same non-empty shape; got "
            f"{a.shape}, {e.shape}"
        )
    # FAISS marks a missing slot with -1; every other id must be a whole number >= 0
    missing = a == -1
    checked = as_ids(np.where(missing, 0, a), "approx_ids", flatten=True)
    a = np.where(missing, -1, checked.reshape(a.shape))
    e = as_ids(e, "exact_ids", flatten=True).reshape(e.shape)
    hits = [len(np.intersect1d(ar[ar >= 0], er)) for ar, er in zip(a, e)]
    return float(np.mean(hits) / e.shape[1])


def _time_per_query(fn, repeats: int, num_queries: int) -> tuple[Any, float]:
    """Run ``fn`` ``repeats`` times; return its output and the best ms per query."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, 1e3 * best / num_queries


def recall_latency(
    index,
    queries: Any,
    item_vectors: Any,
    k: int,
    settings: Sequence[int],
    *,
    repeats: int = 3,
) -> pd.DataFrame:
    """Recall of the exact top-k and search time per query, over an index's settings.

    The first row is the exact search itself (``exact_topk``, recall 1 by definition).
    Times are the best of ``repeats`` runs over all queries at once, in milliseconds
    per query: they depend on the machine and its load, recall does not.

    Args:
        index: a FAISS IVF or HNSW index built on ``item_vectors``.
        queries: ``(num_queries, embedding_dim)``.
        item_vectors: ``(num_items, embedding_dim)``, the vectors in ``index``.
        k: list length.
        settings: values of ``nprobe`` (IVF) or ``efSearch`` (HNSW) to try.
        repeats: timing repetitions (>= 1).

    Returns:
        DataFrame with columns ``method, param, value, recall, ms_per_query``.
    """
    q, v = _matrix("queries", queries), _matrix("item_vectors", item_vectors)
    k = check_int(k, "k", low=1, high=v.shape[0])
    repeats = check_int(repeats, "repeats", low=1)
    if index.ntotal != v.shape[0]:
        raise ValueError(
            f"index holds {index.ntotal} vectors but item_vectors has {v.shape[0]} rows"
        )
    (exact_ids, _), ms = _time_per_query(lambda: exact_topk(q, v, k), repeats, len(q))
    rows = [dict(method="exact", param="-", value=0, recall=1.0, ms_per_query=ms)]
    method = "IVF-Flat" if hasattr(index, "nprobe") else "HNSW"
    for value in settings:
        param = set_search_param(index, value)
        (_, ids), ms = _time_per_query(lambda: index.search(q, k), repeats, len(q))
        rows.append(
            dict(
                method=method,
                param=param,
                value=int(value),
                recall=recall_vs_exact(ids, exact_ids),
                ms_per_query=ms,
            )
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# Re-ranking and reasons
# ---------------------------------------------------------------------------


def _candidates(candidate_ids: Any, k: int, num_items: int) -> np.ndarray:
    c = as_ids(candidate_ids, "candidate_ids", num_items, flatten=True)
    if c.size == 0:
        raise ValueError("candidate_ids must be a non-empty 1-d array of item ids")
    if len(np.unique(c)) != len(c):
        raise ValueError("candidate_ids must not repeat an item")
    check_int(k, "k", low=1, high=len(c))
    return c


def mmr_rerank(
    candidate_ids: Any, relevance: Any, item_vectors: Any, k: int, lambda_: float = 0.7
) -> np.ndarray:
    """Maximal marginal relevance (Carbonell, Goldstein 1998): relevant, not redundant.

    Greedily picks
    ``argmax_i lambda * rel_i - (1 - lambda) * max_{j picked} sim(i, j)``, where
    ``sim`` is the cosine of the item vectors. The first pick is the most
    relevant candidate; ``lambda_ = 1`` keeps the relevance order.

    Args:
        candidate_ids: 1-d ids of the candidates (e.g. the top 100 of retrieval).
        relevance: 1-d scores of the candidates, same length.
        item_vectors: ``(num_items, d)`` vectors, indexed by item id.
        k: number of items to pick.
        lambda_: trade-off in [0, 1].

    Returns:
        int64 array of ``k`` item ids in the order picked.
    """
    vectors = _matrix("item_vectors", item_vectors)
    c = _candidates(candidate_ids, k, len(vectors))
    rel = check_finite(relevance, "relevance").reshape(-1)
    if rel.shape != c.shape:
        raise ValueError(
            f"relevance must have one score per candidate ({len(c)}); got {rel.shape}"
        )
    try:
        check_number(lambda_, "lambda_", low=0, high=1)
    except ValueError:
        raise ValueError(f"lambda_ must lie in [0, 1]; got {lambda_!r}") from None
    v = vectors.astype(np.float64)[c]
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    sim = v @ v.T  # (num_candidates, num_candidates) cosine
    picked: list[int] = []
    max_sim = np.full(len(c), -np.inf)  # max similarity to the picked items so far
    free = np.ones(len(c), dtype=bool)
    for step in range(k):
        gain = lambda_ * rel - (1.0 - lambda_) * (max_sim if step else 0.0)
        gain = np.where(free, gain, -np.inf)
        j = int(np.argmax(gain))  # ties: the earlier candidate
        picked.append(j)
        free[j] = False
        max_sim = np.maximum(max_sim, sim[j])
    return c[picked]


def category_cap_rerank(
    candidate_ids: Any, categories: Any, k: int, cap: int
) -> np.ndarray:
    """Keep the candidates' order but at most ``cap`` items per category.

    Candidates are taken in the given (relevance) order and skipped when their
    category already holds ``cap`` picks; if fewer than ``k`` survive, the skipped
    ones fill the list in their original order.

    Args:
        candidate_ids: 1-d ids, best first.
        categories: the category of every item (indexed by item id), any hashable
            labels.
        k: list length.
        cap: maximum items per category (>= 1).

    Returns:
        int64 array of ``k`` item ids.
    """
    categories = np.asarray(categories)
    if categories.ndim != 1:
        raise ValueError(
            f"categories must be 1-D, one label per item; got shape {categories.shape}"
        )
    c = _candidates(candidate_ids, k, len(categories))
    cap = check_int(cap, "cap", low=1)
    cats = categories[c]
    counts: dict[Any, int] = {}
    kept, skipped = [], []
    for item, cat in zip(c, cats):
        if counts.get(cat, 0) < cap:
            counts[cat] = counts.get(cat, 0) + 1
            kept.append(item)
        else:
            skipped.append(item)
    return np.asarray((kept + skipped)[:k], dtype=np.int64)


def nearest_history_item(
    candidate_ids: Any, history_ids: Any, item_vectors: Any
) -> tuple[np.ndarray, np.ndarray]:
    """For each candidate, the history item most similar to it (cosine of item vectors).

    Args:
        candidate_ids: 1-d ids of the recommended items.
        history_ids: 1-d ids of the items the user bought (non-empty).
        item_vectors: ``(num_items, d)``.

    Returns:
        ``(nearest, similarity)``: for every candidate the id of its closest history
        item and that cosine (ties: the earlier history item).
    """
    v = _matrix("item_vectors", item_vectors).astype(np.float64)
    c = as_ids(candidate_ids, "candidate_ids", len(v), flatten=True)
    h = as_ids(history_ids, "history_ids", len(v), flatten=True)
    if c.size == 0 or h.size == 0:
        raise ValueError("candidate_ids and history_ids must be non-empty")
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    sim = v[c] @ v[h].T  # (num_candidates, num_history)
    j = np.argmax(sim, axis=1)
    return h[j], sim[np.arange(len(c)), j]


def reasons(
    candidate_ids: Any, history_ids: Any, item_vectors: Any, titles: Sequence[str]
) -> list[str]:
    """One-line reasons "because you bought <title>" from the nearest history item.

    Args:
        candidate_ids: 1-d ids of the recommended items.
        history_ids: 1-d ids of the items the user bought.
        item_vectors: ``(num_items, d)``.
        titles: title of every item, indexed by item id.

    Returns:
        list of strings, one per candidate.
    """
    nearest, _ = nearest_history_item(candidate_ids, history_ids, item_vectors)
    titles = np.asarray(titles, dtype=object)
    if titles.ndim != 1 or len(titles) != len(np.asarray(item_vectors)):
        raise ValueError(
            "titles must hold one title per item (one per row of item_vectors, "
            f"{len(np.asarray(item_vectors))}); got shape {titles.shape}"
        )
    return [f"because you bought {titles[j]}" for j in nearest]


# ---------------------------------------------------------------------------
# The loss's NumPy reference (chapter 3, "The loss")
# ---------------------------------------------------------------------------

__all__ += ["in_batch_softmax_loss"]


def in_batch_softmax_loss(
    user_vecs: Any,
    item_vecs: Any,
    item_ids: Any,
    log_q: Any = None,
    temperature: float = 0.1,
) -> float:
    """In-batch sampled softmax loss, in float64 NumPy: the reference of both twins.

    Row ``b`` of the ``(B, B)`` logits ``L = U V^T / temperature`` scores user ``b``
    against every item of the batch; its positive is column ``b``. With ``log_q``
    (the log sampling probability of every item) each column's logit is corrected by
    ``- log q[item_ids[c]]`` (Yi et al. 2019). A column holding the same item as row
    ``b``'s positive (a duplicate in the batch) is not a negative for row ``b`` and is
    masked out. Taught in chapter 3 ("The loss").

    Args:
        user_vecs: ``(B, d)`` user vectors.
        item_vecs: ``(B, d)`` vectors of each row's positive item.
        item_ids: ``(B,)`` ids of those items (for duplicates and ``log_q``).
        log_q: ``None`` or ``(num_items,)`` log sampling probabilities.
        temperature: positive divisor of the scores.

    Returns:
        The mean cross-entropy over the ``B`` rows.

    Raises:
        ValueError: on mismatched shapes, a non-positive temperature or ids outside
            ``log_q``.
    """
    u = np.asarray(user_vecs, dtype=np.float64)
    v = np.asarray(item_vecs, dtype=np.float64)
    ids = np.asarray(item_ids).reshape(-1)
    if u.ndim != 2 or u.shape != v.shape or u.shape[0] == 0:
        raise ValueError(
            "user_vecs and item_vecs must be 2-D arrays of the same non-empty shape "
            f"(B, d); got {u.shape} and {v.shape}"
        )
    if ids.shape != (u.shape[0],) or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(
            f"item_ids must be {u.shape[0]} integer ids (one per row); got {ids.shape}"
        )
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be positive; got {temperature!r}")
    logits = u @ v.T / temperature  # (B, B): user b against the item of row c
    if log_q is not None:
        lq = np.asarray(log_q, dtype=np.float64).reshape(-1)
        if ids.min() < 0 or ids.max() >= lq.size:
            raise ValueError(f"item_ids must lie in [0, {lq.size}) to index log_q")
        logits = logits - lq[ids][None, :]  # the correction, per column
    duplicate = (ids[:, None] == ids[None, :]) & ~np.eye(len(ids), dtype=bool)
    logits[duplicate] = -np.inf  # another copy of the positive is not a negative
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return float(np.mean(log_norm - np.diag(logits)))
