"""Baselines against brute-force loop implementations on tiny data."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_utils.baselines import (
    EASE,
    BiasesOnly,
    ItemKNN,
    Oracle,
    Popularity,
    UserKNN,
)
from recsys_utils.marketplace import make_marketplace


@pytest.fixture(scope="module")
def x():
    rng = np.random.default_rng(0)
    dense = (rng.random((30, 12)) < 0.3) * rng.integers(1, 6, (30, 12))
    dense[0, :] = 0
    dense[0, 3] = 4  # a user with one interaction
    return sp.csr_matrix(dense.astype(float))


def brute_cosine(cols, shrinkage):
    n = cols.shape[1]
    sim = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            a, b = cols[:, i], cols[:, j]
            na, nb = np.sqrt((a * a).sum()), np.sqrt((b * b).sum())
            if na == 0 or nb == 0:
                continue
            co = np.sum((a != 0) & (b != 0))
            if co == 0:  # no common user: dot product 0, similarity 0
                continue
            sim[i, j] = (a @ b) / (na * nb) * co / (co + shrinkage)
    return sim


def brute_topk_columns(sim, k):
    out = np.zeros_like(sim)
    for j in range(sim.shape[1]):
        order = sorted(range(sim.shape[0]), key=lambda i: (-sim[i, j], i))[:k]
        out[order, j] = sim[order, j]
    return out


def test_popularity(x):
    m = Popularity().fit(x)
    dense = x.toarray()
    expected = [(dense[:, j] != 0).sum() for j in range(12)]
    np.testing.assert_array_equal(m.score([0, 5])[1], expected)
    assert m.score([0, 5]).shape == (2, 12)


def test_biases_match_least_squares(x):
    # with many sweeps the alternating updates reach the ridge least-squares optimum
    m = BiasesOnly(reg_user=2.0, reg_item=3.0, num_sweeps=500).fit(x)
    coo = x.tocoo()
    n_u, n_i = x.shape
    a = np.zeros((coo.nnz, n_u + n_i))
    a[np.arange(coo.nnz), coo.row] = 1
    a[np.arange(coo.nnz), n_u + coo.col] = 1
    y = coo.data - coo.data.mean()
    reg = np.diag([2.0] * n_u + [3.0] * n_i)
    sol = np.linalg.solve(a.T @ a + reg, a.T @ y)
    np.testing.assert_allclose(m.user_bias_, sol[:n_u], atol=1e-6)
    np.testing.assert_allclose(m.item_bias_, sol[n_u:], atol=1e-6)
    assert m.global_mean_ == pytest.approx(coo.data.mean())
    pred = m.predict([1, 2], [3, 4])
    assert pred[0] == pytest.approx(m.global_mean_ + sol[1] + sol[n_u + 3])
    np.testing.assert_allclose(m.score([1])[0, 3:5], m.predict([1, 1], [3, 4]))


@pytest.mark.parametrize("shrinkage", [0.0, 5.0])
@pytest.mark.parametrize("k", [3, 50])
def test_itemknn_matches_loops(x, shrinkage, k):
    m = ItemKNN(k=k, shrinkage=shrinkage).fit(x)
    dense = x.toarray()
    sim = brute_topk_columns(brute_cosine(dense, shrinkage), k)
    np.testing.assert_allclose(m.similarity_.toarray(), sim, atol=1e-12)
    users = np.array([0, 4, 29])
    expected = np.array(
        [
            [sum(dense[u, j] * sim[j, i] for j in range(12)) for i in range(12)]
            for u in users
        ]
    )
    np.testing.assert_allclose(m.score(users), expected, atol=1e-12)
    assert (np.diag(m.similarity_.toarray()) == 0).all()
    assert ((m.similarity_.toarray() != 0).sum(axis=0) <= k).all()


def test_itemknn_centered(x):
    m = ItemKNN(k=50, shrinkage=0.0, centered=True).fit(x)
    dense = x.toarray()
    centred = dense.copy()
    for u in range(dense.shape[0]):
        nz = dense[u] != 0
        if nz.any():
            centred[u, nz] -= dense[u, nz].mean()
    # centring may create exact zeros; co-counts follow the centred non-zeros only
    # when shrinkage = 0 they do not matter
    np.testing.assert_allclose(
        m.similarity_.toarray(), brute_cosine(centred, 0.0), atol=1e-12
    )


def test_userknn_matches_loops(x):
    m = UserKNN(k=4, shrinkage=2.0).fit(x)
    dense = x.toarray()
    usim = brute_topk_columns(
        brute_cosine(dense.T, 2.0), 4
    )  # column u: neighbours of u
    users = np.array([1, 7])
    np.testing.assert_allclose(m.similarity(users), usim[:, users].T, atol=1e-12)
    expected = usim[:, users].T @ dense
    np.testing.assert_allclose(m.score(users), expected, atol=1e-12)


def test_ease_matches_constrained_least_squares(x):
    reg = 7.0
    m = EASE(reg=reg).fit(x)
    dense = x.toarray()
    n = dense.shape[1]
    b = np.zeros((n, n))
    for j in range(n):
        others = [i for i in range(n) if i != j]
        a = dense[:, others]
        b[others, j] = np.linalg.solve(a.T @ a + reg * np.eye(n - 1), a.T @ dense[:, j])
    np.testing.assert_allclose(m.weights_, b, atol=1e-10)
    assert (np.diag(m.weights_) == 0).all()
    np.testing.assert_allclose(m.score([2, 3]), dense[[2, 3]] @ b, atol=1e-10)


def test_oracle_and_errors():
    mp = make_marketplace(seed=0, size="tiny")
    x = mp.interaction_matrix()
    o = Oracle(mp.truth).fit(x)
    np.testing.assert_allclose(o.score([0, 1]), mp.truth.relevance([0, 1]))
    assert Oracle(mp.truth, "purchase").fit(x).score([3]).shape == (1, mp.num_items)
    with pytest.raises(ValueError, match="target"):
        Oracle(mp.truth, "clicks")
    with pytest.raises(ValueError, match="not fitted"):
        EASE().score([0])
    with pytest.raises(ValueError, match="train_csr"):
        EASE().fit(np.ones((3, 3)))
    with pytest.raises(ValueError, match="user_ids"):
        Popularity().fit(x).score([mp.num_users])
    with pytest.raises(ValueError, match="reg"):
        EASE(reg=0)
    with pytest.raises(ValueError, match="k must be"):
        ItemKNN(k=0)
    with pytest.raises(ValueError, match="num_sweeps"):
        BiasesOnly(num_sweeps=0)


def test_learned_baselines_beat_popularity_on_marketplace():
    mp = make_marketplace(seed=0, size="tiny", num_users=400, num_items=200)
    buy = mp.purchases
    test = np.random.default_rng(0).random(len(buy)) < 0.2
    from recsys_utils.evaluation import to_csr

    tr = to_csr(buy[~test], mp.num_users, mp.num_items)
    te = to_csr(buy[test], mp.num_users, mp.num_items)
    users = np.unique(buy[test]["user_id"])

    def recall(model, k=10):
        s = model.fit(tr).score(users)
        s[tr[users].toarray() > 0] = -np.inf
        top = np.argsort(-s, axis=1)[:, :k]
        hits = np.take_along_axis(te[users].toarray(), top, 1).sum(1)
        return np.mean(hits / np.minimum(k, te[users].getnnz(axis=1)))

    pop = recall(Popularity())
    assert recall(EASE(reg=50.0)) > pop
    assert recall(ItemKNN(k=50)) > pop
    assert recall(Oracle(mp.truth, "purchase")) > recall(EASE(reg=50.0))
