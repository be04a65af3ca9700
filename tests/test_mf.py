"""recsys_utils.mf: ALS against brute-force optima and hand-computed objectives."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_utils.mf import (
    ALSMF,
    ImplicitALS,
    init_factors,
    mf_objective,
    occurrence_weights,
)


def _ratings(seed=0, m=12, n=9, density=0.5):
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < density
    mask[np.arange(m), rng.integers(0, n, m)] = True  # every user has a rating
    mask[rng.integers(0, m, n), np.arange(n)] = True  # every item too
    R = np.where(mask, rng.integers(1, 6, (m, n)), 0).astype(float)
    return sp.csr_matrix(R), mask


def test_init_factors_shapes_and_determinism():
    a = init_factors(4, 3, 2, seed=1)
    b = init_factors(4, 3, 2, seed=1)
    assert a["P"].shape == (4, 2) and a["Q"].shape == (3, 2)
    assert a["P"].dtype == np.float32 and not a["item_bias"].any()
    np.testing.assert_array_equal(a["P"], b["P"])
    with pytest.raises(ValueError, match="embedding_dim"):
        init_factors(4, 3, 0)


def test_objective_by_hand():
    # one rating r=3, p=[1,0], q=[2,1]: error 3-2=1 -> 0.5; penalty 0.1*(1+5)=0.6.
    R = sp.csr_matrix(np.array([[3.0]]))
    value = mf_objective(R, np.array([[1.0, 0.0]]), np.array([[2.0, 1.0]]), reg=0.1)
    assert value == pytest.approx(0.5 + 0.6)
    # with biases mu=1, b_u=0.5, b_i=-0.5: prediction 3 -> no error; the penalty
    # adds 0.1 * 0.5
    value = mf_objective(
        R,
        np.array([[1.0, 0.0]]),
        np.array([[2.0, 1.0]]),
        reg=0.1,
        global_mean=1.0,
        user_bias=np.array([0.5]),
        item_bias=np.array([-0.5]),
    )
    assert value == pytest.approx(0.0 + 0.1 * (1 + 5 + 0.25 + 0.25))


@pytest.mark.parametrize("use_bias", [True, False])
def test_als_objective_never_increases(use_bias):
    R, _ = _ratings()
    model = ALSMF(embedding_dim=3, reg=0.05, num_iters=8, use_bias=use_bias).fit(R)
    obj = np.array(model.objective_)
    assert (np.diff(obj) <= 1e-9 * obj[:-1]).all()
    assert obj[-1] < 0.5 * obj[0]


def test_als_item_step_is_the_exact_minimizer():
    """After a sweep, the gradient of L w.r.t. each item's [q_i, b_i] is zero.

    (The item step is the last one of a sweep. The user step is checked against an
    independent least-squares solve in tests/test_catch_planted_bugs.py.)"""
    R, mask = _ratings(seed=3)
    reg = 0.1
    model = ALSMF(embedding_dim=2, reg=reg, num_iters=1).fit(R)
    # stationarity of the item step (the last one performed): gradient w.r.t. q_i
    # and b_i, with the final P and user biases
    dense = R.toarray()
    for i in range(R.shape[1]):
        users = np.where(mask[:, i])[0]
        err = dense[users, i] - model.predict(users, np.full(len(users), i))
        grad_q = -(err[:, None] * model.P_[users]).sum(0) + 2 * reg * model.Q_[i]
        grad_b = -err.sum() + 2 * reg * model.item_bias_[i]
        np.testing.assert_allclose(grad_q, 0, atol=1e-8)
        assert abs(grad_b) < 1e-8


def test_als_score_matches_predict():
    R, _ = _ratings()
    model = ALSMF(embedding_dim=2, num_iters=2).fit(R)
    scores = model.score([0, 3])
    np.testing.assert_allclose(scores[1, 4], model.predict([3], [4])[0])
    assert scores.shape == (2, R.shape[1])


def test_als_rejects_bad_input():
    with pytest.raises(ValueError, match="scipy.sparse"):
        ALSMF().fit(np.ones((2, 2)))
    with pytest.raises(ValueError, match="no observed"):
        ALSMF().fit(sp.csr_matrix((2, 2)))
    with pytest.raises(ValueError, match="reg"):
        ALSMF(reg=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        ALSMF(num_iters=1, embedding_dim=2).fit(_ratings()[0]).predict([0, 1], [0])


def test_implicit_als_matches_dense_weighted_least_squares():
    """One user step equals the dense closed form (Y^T C_u Y + reg I)^-1 Y^T C_u p_u."""
    R, mask = _ratings(seed=5, density=0.3)
    model = ImplicitALS(embedding_dim=3, reg=0.5, alpha=4.0, num_iters=1).fit(R)
    Y = model.item_factors_
    X = ImplicitALS._solve(R, Y, 4.0, 0.5)
    dense = R.toarray()
    for u in range(3):
        c = 1 + 4.0 * dense[u]
        p = (dense[u] > 0).astype(float)
        A = Y.T @ (c[:, None] * Y) + 0.5 * np.eye(3)
        expected = np.linalg.solve(A, Y.T @ (c * p))
        np.testing.assert_allclose(X[u], expected, rtol=1e-8, atol=1e-10)


def test_implicit_als_ranks_observed_items_higher():
    R, mask = _ratings(seed=2, m=30, n=20, density=0.2)
    model = ImplicitALS(embedding_dim=8, reg=0.1, alpha=20.0, num_iters=10).fit(R)
    scores = model.score(np.arange(R.shape[0]))
    assert scores[mask].mean() > scores[~mask].mean() + 0.3


def test_occurrence_weights_by_hand():
    # user 0 rated twice, user 1 once; item 2 rated twice, item 0 once.
    wu, wi = occurrence_weights(np.array([0, 0, 1]), np.array([2, 0, 2]))
    np.testing.assert_allclose(wu, [0.5, 0.5, 1.0])
    np.testing.assert_allclose(wi, [0.5, 1.0, 0.5])
    # Summed per row, the weights give exactly one full penalty per user and per item.
    assert wu.sum() == pytest.approx(2.0) and wi.sum() == pytest.approx(2.0)
    with pytest.raises(ValueError, match="same length"):
        occurrence_weights(np.array([0, 1]), np.array([0]))
