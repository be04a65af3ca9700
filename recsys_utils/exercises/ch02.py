"""Checks of chapter 2's exercises (cosine similarity and collaborative filtering).

Students: the references below are the answers. Try the exercise first.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..baselines import _center_rows
from ..checks import CheckResult, Hint, check_function, check_value
from ..similarity import cosine_matrix, topk_cosine
from . import register

# The worked example of the chapter ("Cosine similarity by hand and in code").
_U = np.array([0.2, 0.5, 0.8])
_V1 = np.array([0.1, 0.6, 0.7])


@register("ch2-ex-euclid")
def euclid(answer) -> CheckResult:
    cos = float(cosine_matrix(_U[None], _V1[None])[0, 0])
    return check_value(
        answer,
        2.0 - 2.0 * cos,
        name="dist_sq",
        # the printed cosine has 4 decimals: 2 - 2 * 0.9840 is within 1e-4
        rtol=0.0,
        atol=2e-4,
        exercise="ch2-ex-euclid",
        hints=[
            Hint(
                2.0 - cos,
                "the expansion has two cross terms: -2 a.b, so the result is 2 - 2 cos",
            ),
            Hint(
                1.0 - cos,
                "each unit vector contributes a.a = 1: the constant is 1 + 1 = 2",
            ),
            Hint(
                float(((_U - _V1) ** 2).sum()),
                "that is the distance of u and v1 themselves: the identity holds for "
                "the normalised vectors u/|u| and v1/|v1|",
            ),
        ],
    )


def _framework_tools(framework: str):
    """The ``to_tensor`` of the framework's twin, imported only when asked for."""
    if framework == "pytorch":
        from .. import torch as twin
    elif framework == "tensorflow":
        from .. import tf as twin
    else:
        raise ValueError(
            f"framework must be 'pytorch' or 'tensorflow'; got {framework!r}"
        )
    return twin.to_tensor


def _cosine_inputs(rng):
    P = rng.normal(size=(4, 3))
    P[1] = 0.0  # a zero row
    return P, rng.normal(size=(5, 3)), 1e-8


def _only_q_normalised(P, Q, eps):
    return P @ (Q / np.linalg.norm(Q, axis=1, keepdims=True)).T


@register("ch2-ex-cosine")
def cosine_scores(answer, framework: str = "pytorch") -> CheckResult:
    """The framework exercise: ``answer(P, Q, eps)`` on float32 tensors."""
    to_tensor = _framework_tools(framework)
    return check_function(
        answer,
        lambda P, Q, eps: cosine_matrix(P, Q, eps),
        name=f"cosine_scores_{'pt' if framework == 'pytorch' else 'tf'}",
        make_inputs=_cosine_inputs,
        convert_inputs=lambda inputs: (
            to_tensor(inputs[0]),
            to_tensor(inputs[1]),
            inputs[2],
        ),
        # float32 tensors against a float64 reference
        rtol=1e-5,
        atol=1e-6,
        exercise="ch2-ex-cosine",
        hints=[
            Hint(
                lambda P, Q, eps: -cosine_matrix(P, Q, eps),
                "your values have the wrong sign: did you use "
                "keras.losses.cosine_similarity? It is a loss, -cos.",
            ),
            Hint(
                lambda P, Q, eps: P @ Q.T,
                "that is the dot product: divide each row by its norm first.",
            ),
            Hint(
                _only_q_normalised,
                "normalise the rows of P too, not only those of Q.",
            ),
        ],
    )


def _center_reference(X):
    return _center_rows(sp.csr_matrix(X)).toarray()


def _ratings_inputs(rng):
    X = (rng.random((6, 5)) < 0.5) * rng.integers(1, 6, (6, 5)).astype(float)
    X[0] = 0.0  # a user without ratings
    return (X,)


def _mean_over_all_items(X):
    return np.where(X != 0, X - X.mean(axis=1, keepdims=True), 0.0)


def _centres_unrated_too(X):
    counts = (X != 0).sum(axis=1, keepdims=True)
    means = np.divide(
        X.sum(axis=1, keepdims=True),
        counts,
        out=np.zeros((X.shape[0], 1)),
        where=counts > 0,
    )
    return X - means


@register("ch2-ex-center")
def center_observed(answer) -> CheckResult:
    return check_function(
        answer,
        _center_reference,
        name="center_observed",
        make_inputs=_ratings_inputs,
        exercise="ch2-ex-center",
        hints=[
            Hint(
                _mean_over_all_items,
                "the mean must be over the RATED items only: the zeros are missing "
                "ratings, not ratings of 0.",
            ),
            Hint(
                _centres_unrated_too,
                "leave the unrated entries at 0: only rated entries are centred.",
            ),
        ],
    )


def _neighbours_reference(Q, k):
    return topk_cosine(Q, Q, k, exclude_self=True)[0]


def _with_self(Q, k):
    return topk_cosine(Q, Q, k)[0]


def _increasing(Q, k):
    q_hat = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    sims = q_hat @ q_hat.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(sims, axis=1)[:, :k]  # increasing: itself, then the least similar


@register("ch2-ex-neighbours")
def item_neighbours(answer) -> CheckResult:
    return check_function(
        answer,
        _neighbours_reference,
        name="item_neighbours",
        make_inputs=lambda rng: (rng.normal(size=(12, 4)), 3),
        exercise="ch2-ex-neighbours",
        hints=[
            Hint(
                _with_self,
                "each item's first neighbour is itself (cosine 1): exclude the "
                "diagonal.",
            ),
            Hint(
                _increasing,
                "you sorted in increasing order: the most similar items have the "
                "LARGEST cosine.",
            ),
        ],
    )


def _norms_inputs(rng):
    return rng.uniform(0.5, 3.0, size=6), rng.uniform(0.5, 3.0, size=6)


@register("ch2-ex-balance")
def optimal_scale(answer) -> CheckResult:
    return check_function(
        answer,
        lambda a, b: np.sqrt(b / a),
        name="optimal_scale",
        make_inputs=_norms_inputs,
        exercise="ch2-ex-balance",
        hints=[
            Hint(
                lambda a, b: b / a,
                "that is d_k squared (t = b_k / a_k): take the square root.",
            ),
            Hint(
                lambda a, b: np.sqrt(a / b),
                "upside down: d_k multiplies P's column (norm a_k), so a long P column "
                "needs a SMALL d_k.",
            ),
            Hint(
                lambda a, b: np.ones_like(a),
                "d_k = 1 is optimal only when a_k = b_k; the exercise asks for any "
                "column norms.",
            ),
        ],
    )
