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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .evaluation import topk_from_scores
from .validation import as_ids, check_bool, check_finite, check_int, check_number

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


# ---------------------------------------------------------------------------
# What the two towers read (chapter 3, "What the towers read")
# ---------------------------------------------------------------------------

__all__ += ["TowerData", "tower_data", "sample_histories"]


@dataclass(frozen=True, repr=False)
class TowerData:
    """Everything chapter 3's two towers read, as NumPy arrays.

    Features are tables indexed by id; training examples are one row per
    interaction (a purchase, a rating). A training example's history is a sample of
    the same user's *other* training items (:func:`sample_histories`, fresh every
    epoch); a user's serving history is every training item. Histories are padded
    with ``num_items``, an id no item has (the all-zero padding row of the history
    table). Build it with :func:`tower_data`.

    Attributes:
        user_codes: ``(num_users, num_user_features)`` int64 categorical user
            features (codes ``0..cardinality-1``).
        item_codes: ``(num_items, num_item_features)`` int64 categorical item
            attributes.
        item_dense: ``(num_items, num_dense)`` float32 numeric item attributes.
        user_ids: ``(n,)`` int64, the user of each training example, sorted.
        item_ids: ``(n,)`` int64, its positive item.
        history_len: items sampled into a training example's history.
        serve_history: ``(num_users, longest)`` int64, every training item of each
            user (the serving history), padded at the end.
        log_q: ``(num_items,)`` float32, log of each item's share of the training
            examples (:func:`log_q`).
    """

    user_codes: np.ndarray
    item_codes: np.ndarray
    item_dense: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    history_len: int
    serve_history: np.ndarray
    log_q: np.ndarray

    @property
    def num_users(self) -> int:
        return len(self.user_codes)

    @property
    def num_items(self) -> int:
        return len(self.item_codes)

    def __repr__(self) -> str:
        return (
            f"TowerData({self.num_users} users x {self.user_codes.shape[1]} features, "
            f"{self.num_items} items x {self.item_codes.shape[1]} attributes + "
            f"{self.item_dense.shape[1]} numbers; {len(self.item_ids)} training "
            f"examples, histories of {self.history_len}, serving histories of up to "
            f"{self.serve_history.shape[1]})"
        )


def _code_table(name: str, x: Any) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty 2-D array (one row per id, one column per "
            f"feature); got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.integer) or (arr.size and arr.min() < 0):
        raise ValueError(
            f"{name} must hold non-negative integer codes; got dtype {arr.dtype}"
        )
    return arr.astype(np.int64)


def tower_data(
    train: pd.DataFrame,
    user_codes: Any,
    item_codes: Any,
    item_dense: Any,
    history_len: int = 32,
) -> TowerData:
    """The two towers' inputs from the training interactions and the feature tables.

    Each training row ``(user_id, item_id)`` is an example (examples sorted by user,
    stably); its history comes from :func:`sample_histories`. A user's serving
    history is every training item, in the frame's order. ``log_q`` comes from the
    training frequencies. Taught in chapter 3 ("What the towers read").

    Args:
        train: training interactions, columns ``user_id`` and ``item_id``; a user
            should not repeat an item.
        user_codes: ``(num_users,)`` or ``(num_users, f)`` non-negative int codes.
        item_codes: ``(num_items,)`` or ``(num_items, g)`` non-negative int codes.
        item_dense: ``(num_items, h)`` finite numbers (``h`` may be 0).
        history_len: items per training history (>= 1).

    Returns:
        a :class:`TowerData`.

    Raises:
        ValueError: tables of the wrong shape or type, a missing column, ids outside
            the tables, a bad ``history_len``.
    """
    users = _code_table("user_codes", user_codes)
    items = _code_table("item_codes", item_codes)
    num_users, num_items = len(users), len(items)
    dense = check_finite(item_dense, "item_dense", dtype=np.float32)
    if dense.ndim == 1:
        dense = dense[:, None]
    if dense.ndim != 2 or dense.shape[0] != num_items:
        raise ValueError(
            f"item_dense must be a 2-D array ({num_items}, numbers), one row per item "
            f"of item_codes; got shape {dense.shape}"
        )
    history_len = check_int(history_len, "history_len", low=1, high=1 << 20)
    if not isinstance(train, pd.DataFrame) or len(train) == 0:
        raise ValueError("train must be a non-empty DataFrame of interactions")
    for col in ("user_id", "item_id"):
        if col not in train.columns:
            raise ValueError(f"train must have a column {col!r}")
    order = np.argsort(
        as_ids(train["user_id"], "train['user_id']", num_users), kind="stable"
    )
    user_ids = as_ids(train["user_id"], "train['user_id']", num_users)[order]
    item_ids = as_ids(train["item_id"], "train['item_id']", num_items)[order]
    counts = np.bincount(user_ids, minlength=num_users)
    first = np.searchsorted(user_ids, np.arange(num_users))
    column = np.arange(len(user_ids)) - first[user_ids]  # position in the user's row
    serve = np.full((num_users, counts.max()), num_items, dtype=np.int64)  # padding
    serve[user_ids, column] = item_ids
    return TowerData(
        users,
        items,
        dense.astype(np.float32),
        user_ids,
        item_ids,
        history_len,
        serve,
        log_q(item_ids, num_items),
    )


def sample_histories(data: TowerData, *, seed: int, epoch: int = 0) -> np.ndarray:
    """Every training example's history for one epoch: the user's other items.

    The history of example ``e`` (user ``u``, item ``i``) is a uniformly random
    subset of ``min(history_len, n_u - 1)`` of the user's other training items
    (never ``i`` itself, so the answer is never an input), drawn afresh for every
    ``(seed, epoch)``: a user with many items shows a different sample each epoch,
    which keeps the user tower from memorising one. Each user's items are shuffled
    by ``np.random.default_rng([seed, epoch])``; the history of the item at position
    ``p`` of the shuffle is the next items of the shuffle, cyclically. Taught in
    chapter 3 ("What the towers read").

    Args:
        data: the :class:`TowerData`.
        seed: non-negative int.
        epoch: non-negative int, mixed into the seed.

    Returns:
        int64 array ``(n, history_len)``, aligned with ``data.item_ids``; missing
        slots hold ``num_items`` (at the end of the row).
    """
    if not isinstance(data, TowerData):
        raise ValueError(f"data must be a TowerData; got {type(data).__name__}")
    for name, value in (("seed", seed), ("epoch", epoch)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be a non-negative int; got {value!r}")
        if value < 0:
            raise ValueError(f"{name} must be a non-negative int; got {value!r}")
    rng = np.random.default_rng([int(seed), int(epoch)])
    users, items = data.user_ids, data.item_ids
    order = np.lexsort((rng.random(len(users)), users))  # by user, shuffled within
    u, it = users[order], items[order]
    first = np.searchsorted(u, u, side="left")
    n = np.searchsorted(u, u, side="right") - first  # the user's number of items
    position = np.arange(len(u)) - first
    slots = np.arange(data.history_len)[None, :]  # (1, history_len)
    nxt = first[:, None] + (position[:, None] + 1 + slots) % n[:, None]
    shuffled = np.where(slots < (n - 1)[:, None], it[nxt], data.num_items)
    history = np.empty_like(shuffled)
    history[order] = shuffled  # back to the examples' order
    return history.astype(np.int64)


# ---------------------------------------------------------------------------
# Exact against approximate search, like with like (chapter 3, "Serving")
# ---------------------------------------------------------------------------

__all__ += ["build_flat", "search_benchmark"]


def build_flat(item_vectors: Any):
    """FAISS's exact inner-product index (``IndexFlatIP``): scans every item.

    The exact search in the same library, threads and memory layout as the
    approximate indexes, so that their timings compare like with like.

    Args:
        item_vectors: ``(num_items, embedding_dim)``.

    Returns:
        a ``faiss.IndexFlatIP`` holding the items (ids = row numbers).
    """
    import faiss

    v = _matrix("item_vectors", item_vectors)
    index = faiss.IndexFlatIP(v.shape[1])
    index.add(v)
    return index


def search_benchmark(
    queries: Any,
    item_vectors: Any,
    k: int,
    *,
    nlist: int,
    nprobes: Sequence[int],
    ef_searches: Sequence[int] = (),
    repeats: int = 5,
    threads: int = 1,
    seed: int = 0,
) -> pd.DataFrame:
    """Recall of the exact top-k and time per query of FAISS searches, like with like.

    Every row is a FAISS search on the same queries, with the same number of
    threads: the exact ``IndexFlatIP`` (:func:`build_flat`), IVF-Flat
    (:func:`build_ivf_flat`, ``nlist`` cells) at each ``nprobe`` and HNSW
    (:func:`build_hnsw`) at each ``efSearch``. Recall is measured against the exact
    top-k of :func:`exact_topk` (NumPy, float32). Timing: ``repeats`` rounds, each
    running every search once in turn (so a change of the machine's load hits all
    of them alike); a search's time is its best round, in milliseconds per query,
    and ``speedup`` is the exact index's time over the search's, a ratio measured
    within one process. Times depend on the machine and its load; recall does not.

    Args:
        queries: ``(num_queries, embedding_dim)`` user vectors.
        item_vectors: ``(num_items, embedding_dim)``.
        k: list length.
        nlist: IVF cells.
        nprobes: ``nprobe`` values to measure (each in ``[1, nlist]``).
        ef_searches: HNSW ``efSearch`` values (empty: no HNSW).
        repeats: timing rounds (>= 1).
        threads: FAISS threads during the measurement (restored afterwards).
        seed: seed of IVF's k-means.

    Returns:
        DataFrame with columns ``method, param, value, share_scanned, recall,
        ms_per_query, speedup``; the first row is the exact index.
    """
    import faiss

    q, v = _matrix("queries", queries), _matrix("item_vectors", item_vectors)
    k = check_int(k, "k", low=1, high=v.shape[0])
    nlist = check_int(nlist, "nlist", low=1, high=v.shape[0])
    for name, value in (("repeats", repeats), ("threads", threads)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    nprobes = [check_int(p, "nprobe", low=1, high=nlist) for p in nprobes]
    ef_searches = [check_int(e, "efSearch", low=1, high=1 << 16) for e in ef_searches]
    scores = q @ v.T  # (num_queries, num_items): the exact reference, in NumPy
    exact_ids = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # top k, any order
    flat, ivf = build_flat(v), build_ivf_flat(v, nlist, seed=seed)
    hnsw = build_hnsw(v, M=16, ef_construction=64) if ef_searches else None
    rows = [("exact (FAISS flat)", "-", 0, 1.0, flat, None)]
    rows += [("IVF-Flat", "nprobe", p, p / nlist, ivf, p) for p in nprobes]
    rows += [("HNSW", "efSearch", e, np.nan, hnsw, e) for e in ef_searches]
    saved = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(int(threads))
    try:
        best = np.full(len(rows), np.inf)
        found = [None] * len(rows)
        for _ in range(int(repeats)):
            for i, (*_, index, setting) in enumerate(rows):
                if setting is not None:
                    set_search_param(index, setting)
                start = time.perf_counter()
                found[i] = index.search(q, k)[1]
                best[i] = min(best[i], time.perf_counter() - start)
    finally:
        faiss.omp_set_num_threads(saved)
    ms = 1e3 * best / len(q)
    return pd.DataFrame(
        {
            "method": [r[0] for r in rows],
            "param": [r[1] for r in rows],
            "value": [r[2] for r in rows],
            "share_scanned": [r[3] for r in rows],
            "recall": [recall_vs_exact(ids, exact_ids) for ids in found],
            "ms_per_query": ms,
            "speedup": ms[0] / ms,
        }
    )


__all__ += ["tower_batches"]


def tower_batches(
    data: TowerData,
    batch_size: int,
    *,
    seed: int,
    epoch: int,
    fresh_histories: bool = True,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One epoch of training batches ``(user_ids, history, item_ids)``, as NumPy.

    The order is :func:`recsys_utils.batching.minibatch_indices`' for ``(seed,
    epoch)`` and the histories are :func:`sample_histories`' for the same pair (for
    ``(seed, 0)`` in every epoch when ``fresh_histories`` is ``False``), so PyTorch's
    loop and TensorFlow's ``tf.data`` pipeline, fed from here, train on the same
    batches in the same order. Taught in chapter 3 ("Training").

    Args:
        data: the :class:`TowerData`.
        batch_size: examples per batch (the last batch may be smaller).
        seed: seed of the order and the histories.
        epoch: the epoch (non-negative int).
        fresh_histories: draw new histories every epoch (``False``: the same ones).

    Yields:
        ``(user_ids (B,), history (B, history_len), item_ids (B,))`` int64 arrays.
    """
    from .batching import minibatch_indices

    check_bool(fresh_histories, "fresh_histories")
    history = sample_histories(data, seed=seed, epoch=epoch if fresh_histories else 0)
    n = len(data.item_ids)
    for rows in minibatch_indices(n, batch_size, seed=seed, epoch=epoch):
        yield data.user_ids[rows], history[rows], data.item_ids[rows]


# ---------------------------------------------------------------------------
# The results table of chapter 3 ("Evaluation on the test purchases")
# ---------------------------------------------------------------------------

__all__ += ["results_table"]


def results_table(
    models: dict,
    seen: Any,
    test: Any,
    light: Any,
    is_tail: Any,
    k: int = 20,
) -> pd.DataFrame:
    """Recall@k, nDCG@k, light users' recall@k and long-tail share, one row a model.

    Every model ranks the full catalogue for each user with a test item, the items of
    ``seen`` excluded (:func:`recsys_utils.evaluation.evaluate_topk`). "Light users"
    are those flagged in ``light``; the long-tail share is the share of the top-k
    slots held by items flagged in ``is_tail``
    (:func:`recsys_utils.metrics.long_tail_share`). Taught in chapter 3.

    Args:
        models: ``{name: score}``, each a ``score(user_ids)`` callable or a full
            ``(num_users, num_items)`` score matrix.
        seen: ``(num_users, num_items)`` sparse matrix of items to exclude.
        test: ``(num_users, num_items)`` sparse matrix of the held-out items.
        light: boolean array ``(num_users,)``, the light users.
        is_tail: boolean array ``(num_items,)``, the long-tail items.
        k: list length.

    Returns:
        DataFrame indexed by model name with columns ``recall@k``, ``nDCG@k``,
        ``recall@k, light users`` and ``long-tail share``.

    Raises:
        ValueError: no model, or ``light`` / ``is_tail`` of the wrong shape or type.
    """
    from .evaluation import evaluate_topk
    from .metrics import long_tail_share

    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict {name: scores or score fn}")
    light = np.asarray(light)
    if light.dtype != bool or light.ndim != 1 or light.shape[0] != seen.shape[0]:
        raise ValueError(
            f"light must be a boolean array with one flag per user ({seen.shape[0]}); "
            f"got dtype {light.dtype}, shape {light.shape}"
        )
    is_tail = np.asarray(is_tail)
    if is_tail.dtype != bool or is_tail.shape != (seen.shape[1],):
        raise ValueError(
            f"is_tail must be a boolean array, one flag per item ({seen.shape[1]}); "
            f"got dtype {is_tail.dtype}, shape {is_tail.shape}"
        )
    rows = {}
    for name, scores in models.items():
        res = evaluate_topk(scores, seen, test, k=k, metrics=("recall", "ndcg"))
        per_user = res.per_user
        rows[name] = {
            f"recall@{k}": res.means[f"recall@{k}"],
            f"nDCG@{k}": res.means[f"ndcg@{k}"],
            f"recall@{k}, light users": per_user.loc[
                light[per_user.index], f"recall@{k}"
            ].mean(),
            "long-tail share": long_tail_share(res.topk, is_tail),
        }
    return pd.DataFrame(rows).T
