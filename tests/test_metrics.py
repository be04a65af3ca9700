"""Metrics: hand-worked values, independent references, properties, bad input."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sklearn.metrics import mean_absolute_error, mean_squared_error, ndcg_score

from recsys_utils import metrics as M

RANKED = np.array([[3, 1, 4, 0, 2], [0, 1, 2, 3, 4]])
RELEVANT = [np.array([1, 2]), {7}]


def test_precision_recall_hit_by_hand():
    # user 0: top-3 = [3, 1, 4], relevant {1, 2}: one hit (item 1, rank 2)
    # user 1: relevant {7} is never ranked: no hit
    np.testing.assert_allclose(M.precision_at_k(RANKED, RELEVANT, 3), [1 / 3, 0.0])
    np.testing.assert_allclose(M.recall_at_k(RANKED, RELEVANT, 3), [1 / 2, 0.0])
    np.testing.assert_allclose(M.hit_rate_at_k(RANKED, RELEVANT, 3), [1.0, 0.0])
    # at k=5 user 0 also finds item 2 (rank 5): recall 2/2, precision 2/5
    np.testing.assert_allclose(M.recall_at_k(RANKED, RELEVANT, 5), [1.0, 0.0])
    np.testing.assert_allclose(M.precision_at_k(RANKED, RELEVANT, 5), [0.4, 0.0])


def test_recall_uses_all_relevant_items():
    # 3 relevant, k = 1, one hit: the standard hits/|relevant| = 1/3
    # (not 1/min(k, 3) = 1)
    assert M.recall_at_k(np.array([[5, 6]]), [[5, 8, 9]], 1)[0] == pytest.approx(1 / 3)


def test_ndcg_binary_by_hand():
    # user 0, k=3: hit at rank 2 -> DCG = 1/log2(3); ideal has 2 hits at ranks 1, 2
    # IDCG = 1/log2(2) + 1/log2(3) = 1 + 0.6309 -> NDCG = 0.6309 / 1.6309 = 0.38685
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    np.testing.assert_allclose(M.ndcg_at_k(RANKED, RELEVANT, 3), [expected, 0.0])


def test_ndcg_graded_by_hand():
    # ranked [1, 2, 3], gains rel(2)=3, rel(1)=1: DCG = (2^1-1)/1 + (2^3-1)/log2(3)
    # ideal order [2, 1]: IDCG = 7/1 + 1/log2(3)
    dcg = 1 + 7 / math.log2(3)
    idcg = 7 + 1 / math.log2(3)
    got = M.ndcg_at_k(np.array([[1, 2, 3]]), [{2: 3, 1: 1}], 3)
    assert got[0] == pytest.approx(dcg / idcg)


def test_ndcg_matches_sklearn():
    # sklearn uses linear gains: equal to ours for binary relevance (2^1 - 1 = 1)
    rng = np.random.default_rng(0)
    num_items, k = 12, 5
    scores = rng.normal(size=(8, num_items))
    truth = (rng.random((8, num_items)) < 0.3).astype(float)
    truth[truth.sum(axis=1) == 0, 0] = 1.0
    ranked = np.argsort(-scores, axis=1)
    relevant = [np.flatnonzero(row) for row in truth]
    for u in range(8):
        want = ndcg_score(truth[u : u + 1], scores[u : u + 1], k=k)
        assert M.ndcg_at_k(ranked[u : u + 1], [relevant[u]], k)[0] == pytest.approx(
            want
        )
    # sparse relevance gives the same as lists
    np.testing.assert_allclose(
        M.ndcg_at_k(ranked, sp.csr_matrix(truth), k), M.ndcg_at_k(ranked, relevant, k)
    )


def test_mrr_by_hand():
    # user 0: first hit item 1 at rank 2 -> 1/2; user 1: none -> 0
    np.testing.assert_allclose(M.mrr(RANKED, RELEVANT), [0.5, 0.0])
    # with k=1 the hit at rank 2 is cut off
    np.testing.assert_allclose(M.mrr(RANKED, RELEVANT, k=1), [0.0, 0.0])


def test_users_without_relevant_items_are_nan():
    for fn in (M.precision_at_k, M.recall_at_k, M.ndcg_at_k, M.hit_rate_at_k, M.mrr):
        out = fn(RANKED, [[1], []], 2)
        assert not np.isnan(out[0]) and np.isnan(out[1])


def test_rmse_mae_match_sklearn():
    rng = np.random.default_rng(1)
    t, p = rng.normal(size=50), rng.normal(size=50)
    assert M.rmse(t, p) == pytest.approx(math.sqrt(mean_squared_error(t, p)))
    assert M.mae(t, p) == pytest.approx(mean_absolute_error(t, p))
    # by hand: errors (1, -1, 2) -> RMSE sqrt(6/3), MAE 4/3
    assert M.rmse([1, 2, 3], [2, 1, 5]) == pytest.approx(math.sqrt(2))
    assert M.mae([1, 2, 3], [2, 1, 5]) == pytest.approx(4 / 3)


def test_coverage_and_gini_by_hand():
    ranked = np.array([[0, 1], [0, 2]])  # items 0, 1, 2 of 5 shown
    assert M.catalog_coverage(ranked, 5) == pytest.approx(3 / 5)
    # exposure counts (2, 1, 1, 0, 0); sorted (0, 0, 1, 1, 2), n=5, sum=4
    # G = (-4*0 - 2*0 + 0*1 + 2*1 + 4*2) / (5*4) = 10/20 = 0.5
    assert M.exposure_gini(ranked, 5) == pytest.approx(0.5)
    assert M.gini_index([3, 3, 3]) == 0.0
    assert M.gini_index([0, 0, 0, 7]) == pytest.approx(3 / 4)  # max (n-1)/n
    assert M.gini_index([0, 0]) == 0.0


def test_gini_matches_mean_absolute_difference():
    # independent definition: G = sum_ij |x_i - x_j| / (2 n^2 mean)
    x = np.random.default_rng(3).random(17)
    expected = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert M.gini_index(x) == pytest.approx(expected)


def test_arp_and_long_tail_by_hand():
    ranked = np.array([[0, 1], [2, 3]])
    pop = np.array([10.0, 0.0, 4.0, 2.0])
    # user means: (10+0)/2 = 5, (4+2)/2 = 3 -> 4
    assert M.average_recommendation_popularity(ranked, pop) == pytest.approx(4.0)
    tail = np.array([False, True, False, True])
    assert M.long_tail_share(ranked, tail) == pytest.approx(2 / 4)
    assert M.long_tail_share(ranked, np.array([1, 3])) == pytest.approx(2 / 4)


def test_head_tail_split_rule():
    pop = np.array([5, 50, 5, 1, 0, 9, 3, 2, 7, 40])
    # 10 items, head_share 0.2 -> 2 head items: the two most popular (ids 1 and 9)
    tail = M.head_tail_split(pop, 0.2)
    assert list(np.flatnonzero(~tail)) == [1, 9]
    # tie between items 0 and 2 (both 5) for the 5th head slot: lower id wins
    tail = M.head_tail_split(pop, 0.5)
    assert list(np.flatnonzero(~tail)) == [0, 1, 5, 8, 9]


# --- properties ---------------------------------------------------------------


@st.composite
def ranking_case(draw):
    num_items = draw(st.integers(2, 15))
    num_users = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    ranked = np.stack([rng.permutation(num_items) for _ in range(num_users)])
    relevant = [
        rng.choice(num_items, rng.integers(1, num_items + 1), replace=False)
        for _ in range(num_users)
    ]
    return ranked, relevant, num_items


@settings(max_examples=50, deadline=None)
@given(ranking_case())
def test_metrics_in_unit_interval_and_recall_monotone(case):
    ranked, relevant, num_items = case
    previous = np.zeros(len(ranked))
    for k in range(1, num_items + 1):
        for fn in (
            M.precision_at_k,
            M.recall_at_k,
            M.ndcg_at_k,
            M.hit_rate_at_k,
            M.mrr,
        ):
            v = fn(ranked, relevant, k)
            assert np.all((v >= 0) & (v <= 1 + 1e-12))
        recall = M.recall_at_k(ranked, relevant, k)
        assert np.all(recall >= previous - 1e-12)
        previous = recall
    np.testing.assert_allclose(previous, 1.0)  # k = num_items finds everything


@settings(max_examples=50, deadline=None)
@given(ranking_case(), st.integers(1, 15))
def test_perfect_ranking_scores_one(case, k):
    ranked, relevant, num_items = case
    k = min(k, num_items)
    # put each user's relevant items first
    perfect = np.stack(
        [
            np.concatenate([rel, np.setdiff1d(np.arange(num_items), rel)])
            for rel in relevant
        ]
    )
    np.testing.assert_allclose(M.ndcg_at_k(perfect, relevant, k), 1.0)
    np.testing.assert_allclose(M.hit_rate_at_k(perfect, relevant, k), 1.0)
    np.testing.assert_allclose(M.mrr(perfect, relevant), 1.0)
    n_rel = np.array([len(r) for r in relevant])
    np.testing.assert_allclose(
        M.recall_at_k(perfect, relevant, k), np.minimum(k, n_rel) / n_rel
    )


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=30))
@example([1.5219118105658535e-192] * 5)  # equal values: rounding gave -2e-17
@example([0.0, 5e-324])  # subnormal
def test_gini_in_range(x):
    g = M.gini_index(x)
    assert 0 <= g <= (len(x) - 1) / len(x) + 1e-12


# --- bad input ------------------------------------------------------------------


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k(k):
    with pytest.raises(ValueError, match="k must be a positive int"):
        M.recall_at_k(RANKED, RELEVANT, k)


def test_too_few_columns():
    with pytest.raises(ValueError, match="fewer than k=6"):
        M.ndcg_at_k(RANKED, RELEVANT, 6)


def test_length_mismatch():
    with pytest.raises(
        ValueError, match="relevant has 1 entries but ranked_items has 2"
    ):
        M.precision_at_k(RANKED, RELEVANT[:1], 2)


def test_empty_ranked():
    with pytest.raises(ValueError, match="ranked_items must not be empty"):
        M.hit_rate_at_k(np.zeros((0, 3), dtype=int), [], 1)


def test_negative_ids():
    with pytest.raises(ValueError, match="ranked_items must hold item ids >= 0"):
        M.mrr(np.array([[-1, 2]]), [[2]])
    with pytest.raises(
        ValueError, match=r"relevant \(entry 0\) must be non-negative .*got -2"
    ):
        M.mrr(np.array([[1, 2]]), [[-2]])


def test_ids_out_of_range_for_catalogue():
    with pytest.raises(
        ValueError, match=r"ranked_items must hold item ids in \[0, 4\)"
    ):
        M.catalog_coverage(RANKED, 4)
    with pytest.raises(ValueError, match="item_popularity has only 3 items"):
        M.average_recommendation_popularity(RANKED, [1, 2, 3])


def test_repeated_items_and_float_ids():
    with pytest.raises(ValueError, match="must not repeat an item"):
        M.recall_at_k(np.array([[1, 1, 2]]), [[1]], 2)
    with pytest.raises(ValueError, match="integer item ids"):
        M.recall_at_k(np.array([[1.0, 2.0]]), [[1]], 2)


def test_bad_rating_inputs():
    with pytest.raises(ValueError, match="same shape"):
        M.rmse([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="must not be empty"):
        M.mae([], [])
    with pytest.raises(ValueError, match="y_pred must be finite"):
        M.rmse([1.0], [np.nan])


def test_bad_gini_and_head_share():
    with pytest.raises(ValueError, match="non-negative"):
        M.gini_index([1, -1])
    with pytest.raises(ValueError, match="head_share must lie in"):
        M.head_tail_split([1, 2, 3], 1.0)


def test_average_precision_by_hand():
    ranked = np.array([[3, 1, 7, 5], [0, 2, 4, 6], [1, 2, 3, 4]])
    relevant = [[1, 5, 9], [8], []]
    ap = M.average_precision_at_k(ranked, relevant, 4)
    # row 0: hits at ranks 2 and 4 -> (1/2 + 2/4) / 3; row 1: no hit; row 2: no items
    assert ap[:2] == pytest.approx([1 / 3, 0.0])
    assert np.isnan(ap[2])
    assert M.average_precision_at_k(ranked, relevant, 2)[0] == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="k"):
        M.average_precision_at_k(ranked, relevant, 0)
