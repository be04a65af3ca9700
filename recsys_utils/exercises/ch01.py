"""Checks of chapter 1's exercises (matrix factorization and its loss).

Students: the references below are the answers. Try the exercise first.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..checks import CheckResult, Hint, check_function
from ..mf import mf_objective
from . import register, tensor_inputs


def _loss_inputs(rng):
    R = sp.random(
        6, 5, density=0.4, random_state=int(rng.integers(1 << 30)), format="csr"
    )
    R.data = rng.integers(1, 6, R.nnz).astype(float)
    return R, rng.normal(size=(6, 3)), rng.normal(size=(5, 3)), 0.1


def _dense_loss(R, P, Q, reg):  # the typical mistake: every cell is a target
    return 0.5 * ((R.toarray() - P @ Q.T) ** 2).sum() + reg * (
        (P**2).sum() + (Q**2).sum()
    )


@register("ch1-ex-observed-loss")
def observed_loss(answer) -> CheckResult:
    return check_function(
        answer,
        lambda R, P, Q, reg: mf_objective(R, P, Q, reg=reg),
        name="observed_loss",
        make_inputs=_loss_inputs,
        exercise="ch1-ex-observed-loss",
        hints=[
            Hint(
                _dense_loss,
                "you summed over every cell: missing ratings are not zeros; "
                "use only the stored entries of R (R.tocoo())",
            )
        ],
    )


@register("ch1-ex-weights")
def occurrence_weights(answer) -> CheckResult:
    return check_function(
        answer,
        lambda ids: 1.0 / np.bincount(ids)[ids],
        name="occurrence_weights",
        make_inputs=lambda rng: (rng.integers(0, 7, size=30),),
        exercise="ch1-ex-weights",
        hints=[
            Hint(
                lambda ids: np.ones(len(ids)),
                "a weight of 1 per example is weight decay: heavy users would be "
                "penalized n times per epoch. Divide by how often each id occurs "
                "(np.bincount).",
            ),
            Hint(
                lambda ids: np.bincount(ids)[ids].astype(float),
                "you returned n, not 1/n",
            ),
        ],
    )


@register("ch1-ex-confidence")
def confidence(answer) -> CheckResult:
    return check_function(
        answer,
        lambda c, a: 1.0 + a * c,
        name="confidence",
        exercise="ch1-ex-confidence",
        make_inputs=lambda rng: (
            rng.integers(0, 3, size=(4, 5)).astype(float),
            float(rng.uniform(1, 20)),
        ),
        hints=[
            Hint(
                lambda c, a: a * c,
                "unobserved cells must keep confidence 1, not 0: add 1",
            )
        ],
    )


def _masked_inputs(rng):
    """P, Q, R, M (float32, dense) and reg for the masked-loss exercise."""
    num_users, num_items, k = 6, 5, 3
    mask = (rng.random((num_users, num_items)) < 0.4).astype(np.float32)
    ratings = rng.integers(1, 6, (num_users, num_items)).astype(np.float32) * mask
    P = rng.normal(size=(num_users, k)).astype(np.float32)
    Q = rng.normal(size=(num_items, k)).astype(np.float32)
    return P, Q, ratings, mask, 0.1


def _masked_reference(P, Q, R, M, reg):
    return mf_objective(sp.csr_matrix(R * M), P, Q, reg=reg)


def _no_mask(P, Q, R, M, reg):  # the dense mistake again
    return 0.5 * ((R - P @ Q.T) ** 2).sum() + reg * ((P**2).sum() + (Q**2).sum())


def _no_half(P, Q, R, M, reg):
    return ((M * (R - P @ Q.T)) ** 2).sum() + reg * ((P**2).sum() + (Q**2).sum())


def _mean_not_sum(P, Q, R, M, reg):
    return 0.5 * ((M * (R - P @ Q.T)) ** 2).mean() + reg * ((P**2).sum() + (Q**2).sum())


@register("ch1-ex-masked-loss")
def masked_loss(answer, *, framework: str) -> CheckResult:
    return check_function(
        answer,
        _masked_reference,
        name="masked_loss",
        make_inputs=_masked_inputs,
        convert_inputs=tensor_inputs(framework),
        rtol=1e-4,  # float32 tensors against a float64 reference
        exercise="ch1-ex-masked-loss",
        hints=[
            Hint(
                _no_mask,
                "you summed over every cell: multiply the errors by the mask M, so "
                "that only the observed ratings count",
            ),
            Hint(_no_half, "the squared error carries a factor 1/2"),
            Hint(
                _mean_not_sum,
                "you averaged the squared errors over all cells: the loss sums them",
            ),
        ],
    )
