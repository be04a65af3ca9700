"""recsys_utils.retrieval: hand-worked values and brute-force references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recsys_utils import retrieval as R


def _vectors(seed=0, n=300, d=8, q=20):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((q, d)).astype(np.float32), rng.standard_normal(
        (n, d)
    ).astype(np.float32)


def test_log_q_by_hand():
    # items 0,0,1 among 3 items, smoothing 1: counts 3,2,1 over 6
    got = R.log_q(np.array([0, 0, 1]), 3)
    np.testing.assert_allclose(got, np.log([3 / 6, 2 / 6, 1 / 6]), rtol=1e-6)
    got = R.log_q(np.array([0, 0, 1, 2]), 3, smoothing=0.0)
    np.testing.assert_allclose(
        got, [math.log(0.5), math.log(0.25), math.log(0.25)], rtol=1e-6
    )
    with pytest.raises(ValueError, match="item_ids"):
        R.log_q(np.array([3]), 3)
    with pytest.raises(ValueError, match="num_items"):
        R.log_q(np.array([0]), 0)


def test_exact_topk_by_hand_and_brute_force():
    q = np.array([[1.0, 0.0], [0.0, 1.0]])
    v = np.array([[0.5, 0.1], [2.0, -1.0], [0.0, 3.0], [1.0, 1.0]])
    ids, scores = R.exact_topk(q, v, 2)  # (item_ids, scores), as every top-k
    np.testing.assert_array_equal(ids, [[1, 3], [2, 3]])
    np.testing.assert_allclose(scores, [[2.0, 1.0], [3.0, 1.0]])
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    # a tie at the cut: items 0 and 2 both score 1 for the query [1, 0]; the lower
    # id wins (the rule of topk_from_scores)
    ids, scores = R.exact_topk([[1.0, 0.0]], [[1.0, 5.0], [0.0, 1.0], [1.0, 0.0]], 1)
    np.testing.assert_array_equal(ids, [[0]])
    q, v = _vectors()
    ids, scores = R.exact_topk(q, v, 10)
    brute = np.argsort(-(q @ v.T), axis=1)[:, :10]
    np.testing.assert_array_equal(ids, brute)
    np.testing.assert_allclose(scores, np.take_along_axis(q @ v.T, brute, 1))
    with pytest.raises(ValueError, match="k must"):
        R.exact_topk(q, v, 0)
    with pytest.raises(ValueError, match="embedding_dim"):
        R.exact_topk(q[:, :3], v, 2)


def test_recall_vs_exact_by_hand():
    assert R.recall_vs_exact([[1, 2], [3, 4]], [[2, 1], [3, 5]]) == pytest.approx(0.75)
    assert R.recall_vs_exact([[-1, 2]], [[2, 1]]) == pytest.approx(0.5)


def test_faiss_exact_settings_return_exact_topk():
    q, v = _vectors(seed=1)
    exact, _ = R.exact_topk(q, v, 10)
    ivf = R.build_ivf_flat(v, nlist=8)
    assert R.set_search_param(ivf, 8) == "nprobe"  # every cell scanned: exact
    _, ids = ivf.search(q, 10)
    np.testing.assert_array_equal(ids, exact)
    hnsw = R.build_hnsw(v, M=16, ef_construction=200)
    assert (
        R.set_search_param(hnsw, 300) == "efSearch"
    )  # candidate list = whole catalogue
    _, ids = hnsw.search(q, 10)
    assert R.recall_vs_exact(ids, exact) == 1.0


def test_recall_latency_table():
    q, v = _vectors(seed=2)
    ivf = R.build_ivf_flat(v, nlist=16)
    table = R.recall_latency(ivf, q, v, 5, [1, 16], repeats=1)
    assert list(table["method"]) == ["exact", "IVF-Flat", "IVF-Flat"]
    assert table["recall"].iloc[0] == 1.0 and table["recall"].iloc[-1] == 1.0
    assert table["recall"].iloc[1] <= 1.0 and (table["ms_per_query"] > 0).all()
    with pytest.raises(ValueError, match="holds"):
        R.recall_latency(ivf, q, v[:10], 5, [1])


def test_mmr_by_hand():
    # items 0 and 1 identical direction, item 2 orthogonal
    v = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    rel = np.array([1.0, 0.9, 0.5])
    # lambda 1: relevance order
    np.testing.assert_array_equal(
        R.mmr_rerank([0, 1, 2], rel, v, 3, lambda_=1.0), [0, 1, 2]
    )
    # lambda 0.5: after 0, item 1 gains 0.45 - 0.5 = -0.05, item 2 gains 0.25 - 0:
    # item 2
    np.testing.assert_array_equal(
        R.mmr_rerank([0, 1, 2], rel, v, 3, lambda_=0.5), [0, 2, 1]
    )
    with pytest.raises(ValueError, match="lambda_"):
        R.mmr_rerank([0, 1], rel[:2], v, 1, lambda_=2.0)


def test_category_cap_by_hand():
    cats = np.array(["a", "a", "b", "a", "c"])
    np.testing.assert_array_equal(
        R.category_cap_rerank([0, 1, 3, 2, 4], cats, 4, cap=1), [0, 2, 4, 1]
    )
    np.testing.assert_array_equal(
        R.category_cap_rerank([0, 1, 3, 2, 4], cats, 5, cap=2), [0, 1, 2, 4, 3]
    )
    with pytest.raises(ValueError, match="repeat"):
        R.category_cap_rerank([0, 0], cats, 1, cap=1)


def test_nearest_history_and_reasons():
    v = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.1, 1.0]])
    nearest, sim = R.nearest_history_item([2, 3], [0, 1], v)
    np.testing.assert_array_equal(nearest, [0, 1])
    np.testing.assert_allclose(sim, [1 / math.sqrt(1.01)] * 2)
    titles = ["Red shoes", "Blue bag", "x", "y"]
    assert R.reasons([3, 2], [0, 1], v, titles) == [
        "because you bought Blue bag",
        "because you bought Red shoes",
    ]
