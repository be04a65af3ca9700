"""Chapter 2: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md.
"""

from __future__ import annotations

import numpy as np

# The worked example of the chapter ("Cosine similarity by hand and in code").
_U = np.array([0.2, 0.5, 0.8])
_V1 = np.array([0.1, 0.6, 0.7])


def _cos(u, v):
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def euclid_reference():
    return 2.0 - 2.0 * _cos(_U, _V1)


def _cosines(P, Q, eps):
    p = P / np.maximum(np.linalg.norm(P, axis=1, keepdims=True), eps)
    q = Q / np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), eps)
    return p @ q.T


def cosine_topk_reference(P, Q, k, eps):
    return _ranked(_cosines(P, Q, eps), k)


def _cosine_inputs(rng, n=4, m=6, d=3, k=3):
    """Rows of ``Q`` of very different lengths (the dot product ranks otherwise) and
    a zero row in each of ``P`` (every cosine 0: a tie of all items, broken by the
    lower id) and ``Q`` (the guard's case)."""
    P = rng.normal(size=(n, d))
    Q = rng.normal(size=(m, d)) * rng.uniform(0.2, 5.0, size=(m, 1))
    P[rng.integers(n)] = 0.0
    Q[rng.integers(m)] = 0.0
    return P, Q, k, 1e-8


def _cosine_hidden(rng):
    n, m, d = int(rng.integers(3, 8)), int(rng.integers(4, 10)), int(rng.integers(2, 6))
    return _cosine_inputs(rng, n, m, d, k=int(rng.integers(2, m)))


def _topk_by_dot(P, Q, k, eps):
    return _ranked(P @ Q.T, k)


def _topk_increasing(P, Q, k, eps):
    return _ranked(-_cosines(P, Q, eps), k)


def _topk_ties_reversed(P, Q, k, eps):  # argsort(...)[::-1]: ties by the higher id
    return np.argsort(_cosines(P, Q, eps), axis=1, kind="stable")[:, ::-1][:, :k]


def _topk_no_guard(P, Q, k, eps):  # 0 / 0 is NaN, which sorts first
    with np.errstate(invalid="ignore"):
        p = P / np.linalg.norm(P, axis=1, keepdims=True)
        q = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    return _ranked(np.nan_to_num(p @ q.T, nan=np.inf), k)


def _shrunk_means(X, shrink):
    """Each user's sum of ratings over (number of ratings + shrink), (n, 1)."""
    counts = (X != 0).sum(axis=1, keepdims=True)
    denom = counts + shrink
    return np.divide(
        X.sum(axis=1, keepdims=True),
        denom,
        out=np.zeros((X.shape[0], 1)),
        where=denom > 0,
    )


def center_reference(X, shrink):
    return np.where(X != 0, X - _shrunk_means(X, shrink), 0.0)


def _ratings_inputs(rng):
    X = (rng.random((6, 5)) < 0.5) * rng.integers(1, 6, (6, 5)).astype(float)
    X[0] = 0.0  # a user without ratings
    X[1] = 0.0
    X[1, 2] = 5.0  # a user with one rating: the shrinkage shows most
    return X, float(rng.uniform(1.0, 5.0))


def _ratings_hidden(rng):
    n, m = int(rng.integers(4, 10)), int(rng.integers(4, 12))
    X = (rng.random((n, m)) < 0.4) * rng.integers(1, 6, (n, m)).astype(float)
    X[rng.integers(n)] = 0.0
    return X, float(rng.uniform(0.5, 10.0))


def _mean_over_all_items(X, shrink):
    return np.where(X != 0, X - X.sum(axis=1, keepdims=True) / X.shape[1], 0.0)


def _centres_unrated_too(X, shrink):
    return X - _shrunk_means(X, shrink)


def _no_shrinkage(X, shrink):  # recsys_utils.baselines._center_rows
    return center_reference(X, 0.0)


def _unit(Q):
    return Q / np.linalg.norm(Q, axis=1, keepdims=True)


def _ranked(sims, k):
    # the k largest, best first; ties by the smaller id
    return np.stack([np.lexsort((np.arange(len(row)), -row))[:k] for row in sims])


def _masked_sims(Q, exclude, self_too=True, excluded_too=True):
    sims = _unit(Q) @ _unit(Q).T
    if self_too:
        np.fill_diagonal(sims, -np.inf)
    if excluded_too:
        for i, ids in enumerate(exclude):
            sims[i, np.asarray(ids, dtype=int)] = -np.inf
    return sims


def neighbours_reference(Q, k, exclude):
    return _ranked(_masked_sims(Q, exclude), k)


def _exclude_lists(rng, n, most):
    """Per item, up to ``most`` other ids (a category's members, say); some empty."""
    out = []
    for i in range(n):
        others = np.delete(np.arange(n), i)
        size = int(rng.integers(0, most + 1))
        out.append(sorted(int(j) for j in rng.choice(others, size, replace=False)))
    return out


def _neighbours_inputs(rng):
    return rng.normal(size=(12, 4)), 3, _exclude_lists(rng, 12, 3)


def _neighbours_hidden(rng):
    n = int(rng.integers(10, 20))
    return rng.normal(size=(n, 4)), int(rng.integers(2, 6)), _exclude_lists(rng, n, 4)


def _with_self(Q, k, exclude):
    return _ranked(_masked_sims(Q, exclude, self_too=False), k)


def _exclude_ignored(Q, k, exclude):
    return _ranked(_masked_sims(Q, exclude, excluded_too=False), k)


def _increasing(Q, k, exclude):
    sims = _masked_sims(Q, exclude)
    return np.argsort(sims, axis=1)[:, :k]  # increasing: the excluded, then the least


def balance_reference(a, b):
    return np.sqrt(b / a)


def _norms_inputs(rng):
    return rng.uniform(0.5, 3.0, size=6), rng.uniform(0.5, 3.0, size=6)


EXERCISES = {
    "ch2-ex-euclid": {
        "kind": "value",
        "name": "dist_sq",
        "points": 1,
        "reference": euclid_reference,
        # the printed cosine has 4 decimals: 2 - 2 * 0.9840 is within 1e-4
        "rtol": 0.0,
        "atol": 2e-4,
        "hints": [
            (
                2.0 - _cos(_U, _V1),
                "the expansion has two cross terms: -2 a.b, so the result is 2 - 2 cos",
            ),
            (
                1.0 - _cos(_U, _V1),
                "each unit vector contributes a.a = 1: the constant is 1 + 1 = 2",
            ),
            (
                float(((_U - _V1) ** 2).sum()),
                "that is the distance of u and v1 themselves: the identity holds for "
                "the normalised vectors u/|u| and v1/|v1|",
            ),
        ],
    },
    "ch2-ex-cosine": {
        "kind": "function",
        "name": "cosine_topk",
        "points": 2,
        "reference": cosine_topk_reference,
        "inputs": _cosine_inputs,
        "hidden": _cosine_hidden,
        "tensors": True,
        "framework": "pytorch",  # the check's default when no framework is passed
        "hints": [
            (
                _topk_by_dot,
                "that ranks by the dot product, where long rows of Q win: divide "
                "each row by its (guarded) norm first.",
            ),
            (
                _topk_increasing,
                "those are the k smallest cosines: sort in decreasing order "
                "(and keras.losses.cosine_similarity is a loss, -cos).",
            ),
            (
                _topk_ties_reversed,
                "ties go to the lower id (a zero row of P ties every item at 0): "
                "reversing an increasing sort puts them the other way round; sort "
                "in decreasing order with a stable sort.",
            ),
            (
                _topk_no_guard,
                "a zero row of Q gives 0 / 0 = NaN without the guard, and NaN "
                "sorts first: divide by max(norm, eps).",
            ),
        ],
    },
    "ch2-ex-center": {
        "kind": "function",
        "name": "center_observed",
        "points": 2,
        "reference": center_reference,
        "inputs": _ratings_inputs,
        "hidden": _ratings_hidden,
        "hints": [
            (
                _mean_over_all_items,
                "the mean must be over the RATED items only: the zeros are missing "
                "ratings, not ratings of 0.",
            ),
            (
                _centres_unrated_too,
                "leave the unrated entries at 0: only rated entries are centred.",
            ),
            (
                _no_shrinkage,
                "that is the plain mean: the shrunk mean divides the sum by "
                "count + shrink, so a user with few ratings is pulled towards 0.",
            ),
        ],
    },
    "ch2-ex-neighbours": {
        "kind": "function",
        "name": "item_neighbours",
        "points": 2,
        "reference": neighbours_reference,
        "inputs": _neighbours_inputs,
        "hidden": _neighbours_hidden,
        "hints": [
            (
                _with_self,
                "each item's first neighbour is itself (cosine 1): exclude the "
                "diagonal.",
            ),
            (
                _exclude_ignored,
                "some neighbours are ids listed in exclude[i]: set their cosines "
                "to -inf too before sorting.",
            ),
            (
                _increasing,
                "you sorted in increasing order: the most similar items have the "
                "LARGEST cosine.",
            ),
        ],
    },
    "ch2-ex-balance": {
        "kind": "function",
        "name": "optimal_scale",
        "points": 2,
        "reference": balance_reference,
        "inputs": _norms_inputs,
        "hints": [
            (
                lambda a, b: b / a,
                "that is d_k squared (t = b_k / a_k): take the square root.",
            ),
            (
                lambda a, b: np.sqrt(a / b),
                "upside down: d_k multiplies P's column (norm a_k), so a long P column "
                "needs a SMALL d_k.",
            ),
            (
                lambda a, b: np.ones_like(a),
                "d_k = 1 is optimal only when a_k = b_k; the exercise asks for any "
                "column norms.",
            ),
        ],
    },
}
