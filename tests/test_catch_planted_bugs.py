"""Tests that can fail: each one catches a small, plausible bug that the older tests
let through (they were planted one at a time in recsys_utils and the suite stayed
green). The bug each test is for is named in its docstring; values are worked out by
hand or by an independent implementation, never by the code under test.

The plots (``overlay_curves``, ``product_grid``) are tested the same way in
tests/test_plotting.py, the text cache's unit length in tests/test_text.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_utils import checks as C
from recsys_utils import longtail as LT
from recsys_utils import metrics as M
from recsys_utils import retrieval as R
from recsys_utils.mf import ALSMF, init_factors

# ---------------------------------------------------------------------------
# check_function judges students' answers: partly right is not right
# ---------------------------------------------------------------------------


def _inputs(rng):
    return (rng.normal(size=4),)


def _reference(x):
    return 2.0 * x


def _right_on(trials):
    """An answer equal to the reference on the given trials only."""
    firsts = {float(_inputs(np.random.default_rng([0, t]))[0][0]) for t in trials}

    def answer(x):
        return 2.0 * x if float(x[0]) in firsts else 2.0 * x + 1e-3

    return answer


@pytest.mark.parametrize("right", [[0], [4], [0, 1, 2, 3]])
def test_an_answer_right_on_some_trials_only_is_not_correct(right, capsys):
    """Bug: check_function accepting an answer that matches on one trial."""
    result = C.check_function(
        _right_on(right), _reference, name="f", make_inputs=_inputs, n_trials=5
    )
    assert not result.ok and result.status == C.HINT
    assert f"differs from the reference on {5 - len(right)} of 5" in result.message
    capsys.readouterr()


def test_a_hint_matching_some_trials_only_is_not_shown(capsys):
    """Bug: a typical-mistake hint shown when it matches only some trials."""

    def half_wrong(x):  # the hint's mistake on trial 0 only
        first = float(_inputs(np.random.default_rng([0, 0]))[0][0])
        return 3.0 * x if float(x[0]) == first else 2.0 * x + 1.0

    result = C.check_function(
        half_wrong,
        _reference,
        name="f",
        make_inputs=_inputs,
        hints=[C.Hint(lambda x: 3.0 * x, "you multiplied by 3")],
    )
    assert "multiplied by 3" not in result.message
    assert "differs from the reference on 5 of 5" in result.message
    result = C.check_function(
        lambda x: 3.0 * x,
        _reference,
        name="f",
        make_inputs=_inputs,
        hints=[C.Hint(lambda x: 3.0 * x, "you multiplied by 3")],
    )
    assert "multiplied by 3" in result.message
    capsys.readouterr()


def test_the_right_answer_on_every_trial_is_correct(capsys):
    result = C.check_function(
        _reference, _reference, name="f", make_inputs=_inputs, n_trials=7
    )
    assert result.ok and result.status == C.CORRECT
    capsys.readouterr()


# ---------------------------------------------------------------------------
# ALS: the USER half-step is the exact ridge solution (independent solver)
# ---------------------------------------------------------------------------


def _ratings(seed=3, m=9, n=7):
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < 0.5
    mask[np.arange(m), rng.integers(0, n, m)] = True
    mask[rng.integers(0, m, n), np.arange(n)] = True
    return sp.csr_matrix(np.where(mask, rng.integers(1, 6, (m, n)), 0).astype(float))


@pytest.mark.parametrize("use_bias", [True, False])
def test_als_user_step_is_the_ridge_solution(use_bias):
    """Bug: the user half-step with the wrong regularisation (reg instead of 2 reg).

    After one sweep, P and b_user come from the user step alone, against the initial
    Q (init_factors with the model's seed) and zero item biases. Each user's [p_u, b_u]
    must minimise 1/2 sum (r - mu - b_u - p_u.q_i)^2 + reg (|p_u|^2 + b_u^2): solved
    here by least squares on the stacked system [X; sqrt(2 reg) I] w = [y; 0]."""
    R_ = _ratings()
    reg, d, seed = 0.35, 2, 4
    model = ALSMF(embedding_dim=d, reg=reg, num_iters=1, use_bias=use_bias, seed=seed)
    model.fit(R_)
    Q0 = init_factors(*R_.shape, d, scale=0.1, seed=seed)["Q"].astype(np.float64)
    mu = R_.data.mean() if use_bias else 0.0
    for u in range(R_.shape[0]):
        cols = R_.indices[R_.indptr[u] : R_.indptr[u + 1]]
        y = R_.data[R_.indptr[u] : R_.indptr[u + 1]] - mu
        X = np.hstack([Q0[cols], np.ones((len(cols), 1))]) if use_bias else Q0[cols]
        k = X.shape[1]
        A = np.vstack([X, np.sqrt(2 * reg) * np.eye(k)])
        w, *_ = np.linalg.lstsq(A, np.concatenate([y, np.zeros(k)]), rcond=None)
        np.testing.assert_allclose(model.P_[u], w[:d], rtol=1e-8, atol=1e-10)
        if use_bias:
            assert model.user_bias_[u] == pytest.approx(w[d], rel=1e-8, abs=1e-10)


# ---------------------------------------------------------------------------
# Rounding of shares that do not divide the catalogue evenly
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, share, head",
    [
        (8, 0.2, 2),  # 1.6 rounds to 2 (flooring gives 1)
        (9, 0.3, 3),  # 2.7 -> 3 (floor 2)
        (5, 0.3, 2),  # 1.5 -> 2: halves round up
        (7, 0.2, 1),  # 1.4 -> 1
        (1682, 0.2, 336),  # MovieLens: 336.4 -> 336
        (3, 0.1, 1),  # 0.3 -> 0, but the head holds at least one item
    ],
)
def test_head_tail_split_rounds_the_head_size(n, share, head):
    """Bug: flooring instead of rounding (tested before only at exact integers)."""
    pop = np.arange(n, 0, -1, dtype=float)  # item 0 most popular
    tail = M.head_tail_split(pop, head_share=share)
    assert tail.tolist() == [False] * head + [True] * (n - head)


@pytest.mark.parametrize(
    "n, head_share, tail_share, sizes",
    [
        (9, 0.3, 0.5, (3, 1, 5)),  # head 2.7 -> 3, tail 4.5 -> 5, mid the rest
        (7, 0.2, 0.5, (1, 2, 4)),  # 1.4 -> 1, 3.5 -> 4
        (8, 0.2, 0.3, (2, 4, 2)),  # 1.6 -> 2, 2.4 -> 2
        (3, 0.4, 0.5, (1, 0, 2)),  # 1.2 -> 1, 1.5 -> 2
    ],
)
def test_popularity_groups_round_each_group(n, head_share, tail_share, sizes):
    """Bug: flooring the group sizes (chapter 4's head/mid/tail stand on them)."""
    pop = np.random.default_rng(n).permutation(n).astype(float) + 1
    groups = LT.popularity_groups(pop, head_share, tail_share)
    assert tuple(np.bincount(groups, minlength=3)) == sizes
    order = np.argsort(-pop, kind="stable")  # the head is the most popular items
    assert (groups[order] == np.repeat([0, 1, 2], sizes)).all()


def test_ties_in_popularity_go_to_the_lower_id():
    tail = M.head_tail_split([5.0, 7.0, 7.0, 1.0], head_share=0.5)
    assert tail.tolist() == [True, False, False, True]
    tail = M.head_tail_split([7.0, 7.0, 7.0, 1.0], head_share=0.5)
    assert tail.tolist() == [False, False, True, True]


# ---------------------------------------------------------------------------
# recall_latency reports the recall it measured
# ---------------------------------------------------------------------------


def test_recall_latency_reports_the_measured_recall():
    """Bug: recall_latency reporting recall 1 always (tests checked shapes only)."""
    rng = np.random.default_rng(5)
    items = rng.normal(size=(600, 8)).astype(np.float32)
    queries = rng.normal(size=(40, 8)).astype(np.float32)
    index = R.build_ivf_flat(items, nlist=30, seed=0)
    table = R.recall_latency(index, queries, items, 10, [1, 30], repeats=1)
    # independent: exact top 10 by a full sort, the index's answers, set overlap
    exact = np.argsort(-(queries @ items.T), axis=1, kind="stable")[:, :10]
    index.nprobe = 1
    _, approx = index.search(queries, 10)
    by_hand = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    assert 0.0 < by_hand < 0.9  # one cell of 30 misses many true neighbours
    assert table["recall"].iloc[1] == pytest.approx(by_hand, abs=1e-12)
    assert table["recall"].iloc[2] == pytest.approx(1.0)  # every cell: exact
    assert table["value"].tolist() == [0, 1, 30]


def test_recall_vs_exact_by_hand():
    approx = np.array([[3, 1, -1], [0, 5, 6]])
    exact = np.array([[1, 2, 3], [4, 5, 6]])
    # row 0: {3, 1} of {1, 2, 3} -> 2/3; row 1: {5, 6} -> 2/3 (-1 = missing slot)
    assert R.recall_vs_exact(approx, exact) == pytest.approx(2 / 3)


# ---------------------------------------------------------------------------
# The marketplace's purchase probability includes the purchase funnel
# ---------------------------------------------------------------------------


def test_purchase_probability_is_exposure_times_the_funnel():
    """Bug: the purchase probability ignoring the funnel (tests checked ranges)."""
    import recsys_utils.marketplace as MK
    from recsys_utils.marketplace import spec

    truth = MK.make_marketplace(seed=0, size="tiny").truth
    users = np.array([0, 5, 17])
    r = truth.relevance(users)
    funnel = np.ones_like(r)
    for a, t in (spec._VIEW, spec._CLICK, spec._BUY):  # the documented funnel
        funnel = funnel / (1.0 + np.exp(-a * (r - t)))
    expected = truth.exposure_probability(users) * funnel
    np.testing.assert_allclose(truth.purchase_probability(users), expected, rtol=1e-12)
    # the funnel matters: buying is rarer than being shown, the more so the less
    # the item is liked
    ratio = truth.purchase_probability(users) / truth.exposure_probability(users)
    assert (ratio < 1).all()
    low, high = np.argmin(r[0]), np.argmax(r[0])
    assert ratio[0, low] < ratio[0, high]
