"""Tests of recsys_utils.longtail with values worked out by hand or by brute force."""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys_utils import longtail as lt


def test_popularity_groups_by_hand():
    # 10 items; head = 2 most popular, tail = 5 least popular, mid = the other 3
    pop = np.array([5, 50, 1, 7, 7, 0, 30, 2, 3, 9])
    groups = lt.popularity_groups(pop, head_share=0.2, tail_share=0.5)
    # ranking: 1(50), 6(30), 9(9), 3(7), 4(7), 0(5), 8(3), 7(2), 2(1), 5(0)
    expected = np.array([2, 0, 2, 1, 1, 2, 0, 2, 2, 1])
    np.testing.assert_array_equal(groups, expected)


def test_popularity_groups_ties_lower_id_first():
    groups = lt.popularity_groups(np.ones(4), head_share=0.25, tail_share=0.5)
    np.testing.assert_array_equal(groups, [0, 1, 2, 2])


def test_popularity_groups_bad_input():
    with pytest.raises(ValueError, match="tail_share"):
        lt.popularity_groups(np.ones(4), head_share=0.6, tail_share=0.6)
    with pytest.raises(ValueError, match="item_popularity"):
        lt.popularity_groups(np.array([1.0, -1.0]))


def test_group_shares():
    groups = np.array([0, 1, 2, 2])
    np.testing.assert_allclose(
        lt.group_shares([[0, 2], [3, 1]], groups), [0.25, 0.25, 0.5]
    )
    np.testing.assert_allclose(
        lt.group_shares([0, 1, 2], groups, weights=[1, 1, 2]), [0.25, 0.25, 0.5]
    )


def test_inverse_propensity_weights_by_hand():
    counts = np.array([3.0, 0.0, 1.0])
    w = lt.inverse_propensity_weights(counts, power=1.0, max_weight=None)
    raw = np.array([1.0, 4.0, 2.0])  # (n_max + 1) / (n + 1)
    expected = raw / ((3 * 1.0 + 0 * 4.0 + 1 * 2.0) / 4.0)  # mean over interactions = 1
    np.testing.assert_allclose(w, expected)
    assert np.dot(counts, w) / counts.sum() == pytest.approx(1.0)
    # clipping at 2 before the rescaling
    wc = lt.inverse_propensity_weights(counts, power=1.0, max_weight=2.0)
    np.testing.assert_allclose(wc, np.array([1.0, 2.0, 2.0]) / (5.0 / 4.0))
    # power 0: no correction
    np.testing.assert_allclose(
        lt.inverse_propensity_weights(counts, power=0.0), np.ones(3)
    )
    with pytest.raises(ValueError, match="power"):
        lt.inverse_propensity_weights(counts, power=-1.0)


def test_user_tail_preference():
    train = sp.csr_matrix(np.array([[1, 1, 0, 1], [0, 0, 0, 0], [0, 0, 2, 0]]))
    tail = np.array([False, True, True, True])
    np.testing.assert_allclose(lt.user_tail_preference(train, tail), [2 / 3, 0.0, 1.0])
    np.testing.assert_allclose(
        lt.user_tail_preference(train, tail, prior=0.5, prior_weight=1.0),
        [2.5 / 4, 0.5, 1.5 / 2],
    )


def test_subset_recall_sparse_and_lists():
    ranked = np.array([[0, 1], [2, 3]])
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 1]]))
    assert lt.subset_recall(ranked, relevant, 2) == pytest.approx((0.5 + 1.0) / 2)
    tail = np.array([False, False, True, True])
    # user 0's only tail item (2) is missed; user 1's (3) is found
    assert lt.subset_recall(ranked, relevant, 2, tail) == pytest.approx(0.5)
    assert lt.subset_recall(
        ranked, [np.array([1, 2]), np.array([0, 1])], 2, tail
    ) == pytest.approx(0.0)


def test_beyond_accuracy_keys_and_values():
    ranked = np.array([[0, 1], [0, 2]])
    out = lt.beyond_accuracy(
        ranked, np.array([10.0, 2.0, 4.0, 0.0]), np.array([False, True, True, True])
    )
    assert out["ARP"] == pytest.approx(((10 + 2) / 2 + (10 + 4) / 2) / 2)
    assert out["tail share"] == pytest.approx(0.5)
    assert out["coverage"] == pytest.approx(0.75)


def _xquad_brute(scores_row, tail, pref, lam, k, num_candidates):
    """Greedy smooth xQuAD written with plain Python loops."""
    cand = sorted(range(len(scores_row)), key=lambda i: (-scores_row[i], i))[
        :num_candidates
    ]
    cs = [scores_row[i] for i in cand]
    lo, hi = min(cs), max(cs)
    rel = {i: (scores_row[i] - lo) / (hi - lo) for i in cand}
    chosen = []
    for _ in range(k):
        best, best_val = None, -np.inf
        for i in cand:  # candidates in rank order: first maximum wins
            if i in chosen:
                continue
            if chosen:
                share_tail = sum(tail[j] for j in chosen) / len(chosen)
                cover = (1 - share_tail) if tail[i] else share_tail
            else:
                cover = 1.0
            p = pref if tail[i] else 1 - pref
            val = (1 - lam) * rel[i] + lam * p * cover
            if val > best_val:
                best, best_val = i, val
        chosen.append(best)
    return chosen


def test_xquad_matches_brute_force():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(6, 12))
    tail = rng.random(12) < 0.6
    pref = rng.random(6)
    for lam in (0.0, 0.3, 0.7, 1.0):
        got = lt.xquad_rerank(scores, tail, pref, lam, k=5, num_candidates=8)
        for u in range(6):
            assert list(got[u]) == _xquad_brute(scores[u], tail, pref[u], lam, 5, 8), (
                lam,
                u,
            )


def test_xquad_lam0_is_plain_topk_and_excludes_seen():
    scores = np.array([[0.9, 0.8, 0.1, 0.5, 0.3]])
    tail = np.array([False, False, True, True, True])
    exclude = sp.csr_matrix(np.array([[1, 0, 0, 0, 0]]))
    np.testing.assert_array_equal(
        lt.xquad_rerank(scores, tail, [0.5], 0.0, k=3, exclude=exclude), [[1, 3, 4]]
    )
    # lam = 1, P(tail) = 0.3 by hand: head, tail, head, head, tail (chapter 4's
    # exercise)
    flat = np.zeros((1, 10))
    tail10 = np.arange(10) >= 5
    got = lt.xquad_rerank(flat, tail10, [0.3], 1.0, k=5)
    np.testing.assert_array_equal(tail10[got[0]], [False, True, False, False, True])


def test_xquad_bad_input():
    with pytest.raises(ValueError, match="lam"):
        lt.xquad_rerank(np.zeros((1, 3)), np.zeros(3, bool), [0.5], 2.0, k=2)
    with pytest.raises(ValueError, match="num_candidates"):
        lt.xquad_rerank(
            np.zeros((1, 30)), np.zeros(30, bool), [0.5], 0.5, k=20, num_candidates=10
        )


def test_tradeoff_sweep():
    df = lt.tradeoff_sweep([0.0, 0.5], lambda v: {"twice": 2 * v})
    assert list(df.index) == [0.0, 0.5] and df.index.name == "lam"
    np.testing.assert_allclose(df["twice"], [0.0, 1.0])
    with pytest.raises(ValueError):
        lt.tradeoff_sweep([], lambda v: {})
