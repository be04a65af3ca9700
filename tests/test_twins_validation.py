"""The twins validate the same things the same way: a bad argument fails in PyTorch
exactly as in TensorFlow (same exception type, same message naming the argument),
before any framework code runs. Before the shared checks, the TensorFlow twin turned
strings into a string tensor that PyTorch refused, both twins truncated user id 1.9 to
1, and an out-of-range id gave "index out of range in self" in one and a graph dump in
the other."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_utils import tf as rtf  # a broken install fails here, it does not skip
from recsys_utils import torch as rt

U = np.random.default_rng(0).normal(size=(4, 3))
V = np.random.default_rng(1).normal(size=(6, 3))
X = np.arange(8, dtype=float)


def _train(mod, **kw):
    args = {"num_epochs": 1, "batch_size": 2, "progress": False, **kw}
    arrays = args.pop("arrays", [X])
    step = args.pop("step", lambda *batch: 0.0)
    return mod.train(step, arrays, **args)


CASES = {
    "scores_for_users fractional ids": (
        lambda m: m.scores_for_users(U, V, [0.5, 1.9]),
        r"user_ids must be integer ids in \[0, 4\); got 0\.5",
    ),
    "scores_for_users negative id": (
        lambda m: m.scores_for_users(U, V, [-1]),
        "never negative",
    ),
    "scores_for_users id out of range": (
        lambda m: m.scores_for_users(U, V, [4]),
        r"user_ids must lie in \[0, 4\); got 4",
    ),
    "scores_for_users NaN id": (
        lambda m: m.scores_for_users(U, V, [np.nan]),
        "user_ids must be integer ids",
    ),
    "scores_for_users string id": (
        lambda m: m.scores_for_users(U, V, ["1"]),
        "user_ids must be integer ids",
    ),
    "scores_for_users boolean ids": (
        lambda m: m.scores_for_users(U, V, [True, False]),
        "not booleans",
    ),
    "scores_for_users NaN vectors": (
        lambda m: m.scores_for_users(U * np.nan, V, [0]),
        "user_vectors holds NaN",
    ),
    "scores_for_users 1-D vectors": (
        lambda m: m.scores_for_users(U[0], V, [0]),
        "user_vectors must be a 2-D numeric array",
    ),
    "scores_for_users embedding_dim": (
        lambda m: m.scores_for_users(U, V[:, :2], [0]),
        "same embedding_dim",
    ),
    "scores_for_users batch_size 0": (
        lambda m: m.scores_for_users(U, V, [0], batch_size=0),
        "batch_size must be a positive int",
    ),
    "train batch_size 2.5": (
        lambda m: _train(m, batch_size=2.5),
        "batch_size must be a positive int",
    ),
    "train num_epochs nan": (
        lambda m: _train(m, num_epochs=np.nan),
        "num_epochs must be a positive int",
    ),
    "train empty arrays": (
        lambda m: _train(m, arrays=[np.ones(0)]),
        "arrays must not be empty",
    ),
    "train arrays of different lengths": (
        lambda m: _train(m, arrays=[X, X[:3]]),
        "arrays must all have the same length",
    ),
    "train NaN in the data": (
        lambda m: _train(m, arrays=[np.array([1.0, np.nan])]),
        r"arrays\[0\] must be finite",
    ),
    "train strings in the data": (
        lambda m: _train(m, arrays=[np.array(["a", "b"])]),
        r"arrays\[0\] must hold numbers or booleans",
    ),
    "train a scalar instead of arrays": (
        lambda m: _train(m, arrays=3.0),
        "arrays must be a sequence of arrays",
    ),
    "train NaN loss": (
        lambda m: _train(m, step=lambda *b: float("nan")),
        "model_step returned a non-finite loss",
    ),
    "train non-scalar loss": (
        lambda m: _train(m, step=lambda *b: np.ones(2)),
        "model_step must return a scalar loss",
    ),
    "batches negative seed": (
        lambda m: list(m.batches([X], 2, seed=-1)),
        "seed must be a non-negative int",
    ),
    "to_tensor strings": (
        lambda m: m.to_tensor(np.array(["a", "b"])),
        "x must hold numbers or booleans",
    ),
    "embedding NaN table": (
        lambda m: m.embedding(np.full((2, 2), np.nan)),
        "table holds NaN",
    ),
    "embedding 1-D table": (
        lambda m: m.embedding(np.ones(3)),
        "table must be a 2-D numeric array",
    ),
    "dense bias of the wrong size": (
        lambda m: m.dense(np.ones((2, 3)), np.ones(2)),
        r"bias must have shape \(3,\)",
    ),
    "parameter infinite": (
        lambda m: m.parameter(np.array([1.0, np.inf])),
        "value holds NaN or infinite",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_both_twins_fail_identically(case):
    call, match = CASES[case]
    errors = []
    for twin in (rt, rtf):
        with pytest.raises(ValueError, match=match) as info:
            call(twin)
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]


def test_valid_ids_of_every_accepted_form_score_alike():
    want = U[[1, 3]] @ V.T
    for ids in ([1, 3], np.array([1.0, 3.0]), np.array([[1], [3]]), (1, 3)):
        for twin in (rt, rtf):
            got = twin.scores_for_users(twin.to_tensor(U), twin.to_tensor(V), ids)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
