"""Chapter 1: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _biases(rng, m, n):
    return rng.normal(size=m), rng.normal(size=n), float(rng.uniform(1, 5))


def _loss_inputs(rng):
    R = sp.random(
        6, 5, density=0.4, random_state=int(rng.integers(1 << 30)), format="csr"
    )
    R.data = rng.integers(1, 6, R.nnz).astype(float)
    P, Q = rng.normal(size=(6, 3)), rng.normal(size=(5, 3))
    return (R, P, Q, *_biases(rng, 6, 5), 0.1)


def _loss_hidden(rng):
    m, n, k = (int(x) for x in rng.integers(3, 9, 3))
    R = sp.random(
        m, n, density=0.35, random_state=int(rng.integers(1 << 30)), format="csr"
    )
    R.data = rng.integers(1, 6, R.nnz).astype(float)
    P, Q = rng.normal(size=(m, k)), rng.normal(size=(n, k))
    return (R, P, Q, *_biases(rng, m, n), float(rng.uniform(0.05, 1)))


def _penalty(P, Q, b_u, b_i):
    return float((P**2).sum() + (Q**2).sum() + (b_u**2).sum() + (b_i**2).sum())


def observed_loss_reference(R, P, Q, b_u, b_i, mu, reg):
    R = sp.coo_matrix(R)
    pred = mu + b_u[R.row] + b_i[R.col] + np.einsum("ij,ij->i", P[R.row], Q[R.col])
    err = R.data - pred
    return 0.5 * float(err @ err) + reg * _penalty(P, Q, b_u, b_i)


def _dense_loss(R, P, Q, b_u, b_i, mu, reg):  # every cell is a target
    pred = mu + b_u[:, None] + b_i[None, :] + P @ Q.T
    return 0.5 * ((R.toarray() - pred) ** 2).sum() + reg * _penalty(P, Q, b_u, b_i)


def _biases_unpenalised(R, P, Q, b_u, b_i, mu, reg):
    return observed_loss_reference(R, P, Q, b_u, b_i, mu, reg) - reg * float(
        (b_u**2).sum() + (b_i**2).sum()
    )


def _no_half_observed(R, P, Q, b_u, b_i, mu, reg):
    half = observed_loss_reference(R, P, Q, b_u, b_i, mu, 0.0)
    return 2 * half + reg * _penalty(P, Q, b_u, b_i)


def _no_biases(R, P, Q, b_u, b_i, mu, reg):  # mf_objective's loss
    R = sp.coo_matrix(R)
    err = R.data - np.einsum("ij,ij->i", P[R.row], Q[R.col])
    return 0.5 * float(err @ err) + reg * float((P**2).sum() + (Q**2).sum())


def weights_reference(ids):
    return 1.0 / np.bincount(ids)[ids]


def confidence_reference(c, a):
    return 1.0 + a * c


def _masked_inputs(rng):
    """P, Q, R, M (float32, dense) and reg for the masked-loss exercise."""
    num_users, num_items, k = 6, 5, 3
    mask = (rng.random((num_users, num_items)) < 0.4).astype(np.float32)
    ratings = rng.integers(1, 6, (num_users, num_items)).astype(np.float32) * mask
    P = rng.normal(size=(num_users, k)).astype(np.float32)
    Q = rng.normal(size=(num_items, k)).astype(np.float32)
    return P, Q, ratings, mask, 0.1


def _masked_value(P, Q, R, M, reg):
    R = sp.coo_matrix(R * M)
    err = R.data - np.einsum("ij,ij->i", P[R.row], Q[R.col])
    return 0.5 * float(err @ err) + reg * float((P**2).sum() + (Q**2).sum())


def _value_and_grad(value, grad_p):
    """What the check compares: ``[loss, *dloss/dP]`` (the student's function is
    differentiated by its framework, recsys_utils.exercises.with_gradient)."""
    return np.concatenate([[value], np.asarray(grad_p, dtype=np.float64).ravel()])


def _l2_penalty(P, Q, reg):
    return reg * ((P**2).sum() + (Q**2).sum()), 2 * reg * P


def masked_loss_reference(P, Q, R, M, reg):
    P, Q, R, M = (np.asarray(x, dtype=np.float64) for x in (P, Q, R, M))
    err = M * (R - P @ Q.T)  # M is 0/1: M * err**2 == (M * err)**2
    return _value_and_grad(_masked_value(P, Q, R, M, reg), -err @ Q + 2 * reg * P)


def _no_mask(P, Q, R, M, reg):  # the dense mistake again
    err = R - P @ Q.T
    penalty, grad = _l2_penalty(P, Q, reg)
    return _value_and_grad(0.5 * (err**2).sum() + penalty, -err @ Q + grad)


def _no_half(P, Q, R, M, reg):
    err = M * (R - P @ Q.T)
    penalty, grad = _l2_penalty(P, Q, reg)
    return _value_and_grad((err**2).sum() + penalty, -2 * err @ Q + grad)


def _mean_not_sum(P, Q, R, M, reg):
    err, cells = M * (R - P @ Q.T), R.size
    penalty, grad = _l2_penalty(P, Q, reg)
    return _value_and_grad(0.5 * (err**2).mean() + penalty, -err @ Q / cells + grad)


def _no_penalty_gradient(P, Q, R, M, reg):  # e.g. the penalty added as a constant
    value = masked_loss_reference(P, Q, R, M, reg)
    return _value_and_grad(value[0], value[1:].reshape(P.shape) - 2 * reg * P)


EXERCISES = {
    "ch1-ex-observed-loss": {
        "kind": "function",
        "name": "observed_loss",
        "points": 2,
        "reference": observed_loss_reference,
        "inputs": _loss_inputs,
        "hidden": _loss_hidden,
        "hints": [
            (
                _dense_loss,
                "you summed over every cell: missing ratings are not zeros; "
                "use only the stored entries of R (R.tocoo())",
            ),
            (
                _biases_unpenalised,
                "the biases b_u and b_i are parameters too: the L2 penalty covers "
                "them as well as P and Q",
            ),
            (_no_half_observed, "the squared error carries a factor 1/2"),
            (
                _no_biases,
                "the prediction is mu + b_u + b_i + p_u q_i: the biases and the "
                "global mean are missing",
            ),
        ],
    },
    "ch1-ex-weights": {
        "kind": "function",
        "name": "occurrence_weights",
        "points": 2,
        "reference": weights_reference,
        "inputs": lambda rng: (rng.integers(0, 7, size=30),),
        "hidden": lambda rng: (rng.integers(0, int(rng.integers(2, 12)), size=40),),
        "hints": [
            (
                lambda ids: np.ones(len(ids)),
                "a weight of 1 per example is weight decay: heavy users would be "
                "penalized n times per epoch. Divide by how often each id occurs "
                "(np.bincount).",
            ),
            (
                lambda ids: np.bincount(ids)[ids].astype(float),
                "you returned n, not 1/n",
            ),
        ],
    },
    "ch1-ex-confidence": {
        "kind": "function",
        "name": "confidence",
        "points": 2,
        "reference": confidence_reference,
        "inputs": lambda rng: (
            rng.integers(0, 3, size=(4, 5)).astype(float),
            float(rng.uniform(1, 20)),
        ),
        "hints": [
            (
                lambda c, a: a * c,
                "unobserved cells must keep confidence 1, not 0: add 1",
            )
        ],
    },
    "ch1-ex-masked-loss": {
        "kind": "function",
        "name": "masked_loss",
        "points": 2,
        "reference": masked_loss_reference,
        "inputs": _masked_inputs,
        "tensors": True,
        "framework": "required",
        "grad_wrt": "P",  # the value and dloss/dP, by the framework's autodiff
        "rtol": 1e-4,  # float32 tensors against a float64 reference
        "atol": 1e-4,
        "hints": [
            (
                _no_mask,
                "you summed over every cell: multiply the errors by the mask M, so "
                "that only the observed ratings count",
            ),
            (_no_half, "the squared error carries a factor 1/2"),
            (
                _mean_not_sum,
                "you averaged the squared errors over all cells: the loss sums them",
            ),
            (
                _no_penalty_gradient,
                "your loss has the right value, but its gradient misses the penalty's "
                "2 reg P: compute the penalty from P itself, in your framework",
            ),
        ],
    },
}

#: The exercises a person grades: points and what earns them.
WRITTEN = {
    "ch1-ex-gradient": {
        "points": 3,
        "rubric": [
            "1 point: the gradient keeps only user u's terms, "
            "-Q_u^T (r_u - Q_u p_u) + 2 lambda p_u (the factor 2 of the penalty kept).",
            "1 point: setting it to zero gives "
            "(Q_u^T Q_u + 2 lambda I) p_u = Q_u^T r_u, a ridge regression with ridge "
            "2 lambda.",
            "1 point: the matrix is positive definite for lambda > 0 (the solution "
            "exists and is unique), or the link with ALSMF's ridge = 2 * reg.",
        ],
    },
    "ch1-ex-weight-decay": {
        "points": 3,
        "rubric": [
            "1 point: weight-decay constants chosen so that c_u N = num_users and "
            "c_i N = num_items, both schemes trained with the same settings.",
            "1 point: a table (or numbers) of validation RMSE and the mean norms of "
            "the 100 heaviest and 100 lightest users under both schemes.",
            "1 point: the conclusion that weight decay shrinks the heavy users more "
            "and the light users less than the full objective, and costs validation "
            "RMSE.",
        ],
    },
}
