"""Cosine similarity helpers, framework-neutral (NumPy).

Taught in chapter 2 ("Cosine similarity by hand and in code", "Speed", "When cosine
lies"). The PyTorch and TensorFlow versions in the chapter are checked against these.

Convention for zero vectors: a row is divided by ``max(||x||, eps)``, so a zero vector
stays zero and its cosine with anything is 0 (not NaN). PyTorch's
``torch.nn.functional.cosine_similarity`` clamps each norm the same way; Keras'
``l2_normalize`` divides by ``sqrt(max(||x||^2, eps))``.
"""

from __future__ import annotations

import numpy as np

from .evaluation import topk_from_scores
from .validation import as_ids, check_finite, check_int, check_number

__all__ = [
    "normalize_rows",
    "cosine_matrix",
    "topk_cosine",
    "rescale_dimensions",
    "neighbour_overlap",
]


def _check_2d(name: str, x) -> np.ndarray:
    arr = check_finite(x, name)  # numbers only, no NaN or infinity
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (rows are vectors); got shape {arr.shape}"
        )
    return arr


def _check_eps(eps) -> float:
    return check_number(eps, "eps", low=0, low_open=True)


def normalize_rows(x, eps: float = 1e-8) -> np.ndarray:
    """Scale every row to unit length; zero rows stay zero.

    Args:
        x: ``(n, d)`` array.
        eps: lower bound of the norm in the division (> 0).

    Returns:
        float64 ``(n, d)`` array ``x_r / max(||x_r||, eps)``.
    """
    x = _check_2d("x", x)
    eps = _check_eps(eps)
    norms = np.linalg.norm(x, axis=1, keepdims=True)  # (n, 1)
    return x / np.maximum(norms, eps)


def cosine_matrix(a, b=None, eps: float = 1e-8) -> np.ndarray:
    """All pairwise cosine similarities between the rows of ``a`` and of ``b``.

    ``cos(a_i, b_j) = a_i . b_j / (max(||a_i||, eps) * max(||b_j||, eps))``.

    Args:
        a: ``(n, d)`` array.
        b: ``(m, d)`` array; ``None`` means ``b = a``.
        eps: lower bound of each norm (> 0): a zero vector has cosine 0 with everything.

    Returns:
        float64 ``(n, m)`` array with values in [-1, 1].
    """
    a_hat = normalize_rows(a, eps)
    b_hat = a_hat if b is None else normalize_rows(b, eps)
    if a_hat.shape[1] != b_hat.shape[1]:
        raise ValueError(
            "a and b must have the same number of columns; got "
            f"{a_hat.shape[1]} and {b_hat.shape[1]}"
        )
    return np.clip(a_hat @ b_hat.T, -1.0, 1.0)


def topk_cosine(
    queries,
    items,
    k: int,
    *,
    exclude_self: bool = False,
    eps: float = 1e-8,
    batch_size: int = 4096,
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` items most cosine-similar to each query: normalise, one product, top k.

    Args:
        queries: ``(n, d)`` array (users, or items when looking for item neighbours).
        items: ``(m, d)`` array.
        k: neighbours per query, ``1 <= k <= m`` (``m - 1`` with ``exclude_self``).
        exclude_self: queries ARE the items (same order): leave query ``r`` out of its
            own list.
        eps: see :func:`cosine_matrix`.
        batch_size: queries per matrix product (bounds the memory to batch x m).

    Returns:
        ``(item_ids, similarities)``, int64 and float64 arrays ``(n, k)``, best
        first; ties broken by the lower item id (the rule of
        :func:`recsys_utils.evaluation.topk_from_scores`).
    """
    q_hat = normalize_rows(queries, eps)
    i_hat = normalize_rows(items, eps)
    n, m = q_hat.shape[0], i_hat.shape[0]
    if q_hat.shape[1] != i_hat.shape[1]:
        raise ValueError(
            "queries and items must have the same number of columns; got "
            f"{q_hat.shape[1]} and {i_hat.shape[1]}"
        )
    if exclude_self and n != m:
        raise ValueError(
            f"exclude_self needs queries and items of the same length; got {n} and {m}"
        )
    k = check_int(k, "k", low=1, high=m - 1 if exclude_self else m)
    batch_size = check_int(batch_size, "batch_size", low=1)
    item_ids = np.empty((n, k), dtype=np.int64)
    sims = np.empty((n, k))
    for start in range(0, n, batch_size):
        s = q_hat[start : start + batch_size] @ i_hat.T  # (batch, m): one product
        if exclude_self:
            rows = np.arange(s.shape[0])
            s[rows, start + rows] = -np.inf
        # the package's one top-k rule: best first, ties by the lower item id
        ids, top = topk_from_scores(s, k)
        item_ids[start : start + batch_size] = ids
        sims[start : start + batch_size] = top
    return item_ids, sims


def rescale_dimensions(P, Q, d) -> tuple[np.ndarray, np.ndarray]:
    """Rescale each latent dimension: ``(P D, Q D^-1)`` with ``D = diag(d)``.

    The dot products ``P Q^T`` do not change; cosines between rows of ``Q`` do.

    Args:
        P: ``(num_users, embedding_dim)`` user factors.
        Q: ``(num_items, embedding_dim)`` item factors.
        d: ``(embedding_dim,)`` non-zero scale of each dimension.

    Returns:
        ``(P * d, Q / d)``.
    """
    P, Q = _check_2d("P", P), _check_2d("Q", Q)
    d = check_finite(d, "d")
    if d.shape != (P.shape[1],) or Q.shape[1] != P.shape[1]:
        raise ValueError(
            f"d must have shape ({P.shape[1]},) and Q {P.shape[1]} columns; got "
            f"{d.shape}, {Q.shape}"
        )
    if np.any(d == 0):
        raise ValueError("d must hold finite non-zero scales")
    return P * d, Q / d


def neighbour_overlap(idx_a, idx_b) -> np.ndarray:
    """Share of each row's neighbours that two neighbour lists have in common.

    Args:
        idx_a: ``(n, k)`` int array of neighbour ids.
        idx_b: ``(n, k)`` int array of neighbour ids.

    Returns:
        ``(n,)`` float array: ``|set(a_r) & set(b_r)| / k``.
    """
    a, b = np.asarray(idx_a), np.asarray(idx_b)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(
            "idx_a and idx_b must be 2-D with the same shape; got "
            f"{a.shape} and {b.shape}"
        )
    a = as_ids(a, "idx_a", flatten=True).reshape(a.shape)
    b = as_ids(b, "idx_b", flatten=True).reshape(b.shape)
    # (n, k, k) comparison: fine for the small k of neighbour lists
    common = (a[:, :, None] == b[:, None, :]).any(axis=2).sum(axis=1)
    return common / a.shape[1]
