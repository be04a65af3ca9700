"""recsys_utils.retrieval's chapter-3 plumbing: what the towers read (TowerData,
sample_histories, tower_batches), the like-with-like serving benchmark and the results
table, against values worked out by hand or brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recsys_utils import retrieval as R
from recsys_utils.batching import minibatch_indices


def _train():
    # user 0 bought 5, 6, 7; user 2 bought 3 and 4; user 1 bought 8; 9 items, 4 users
    return pd.DataFrame({"user_id": [2, 0, 0, 1, 2, 0], "item_id": [3, 5, 6, 8, 4, 7]})


def _data(history_len=2):
    user_codes = np.array([[0], [1], [1], [0]])
    item_codes = np.arange(9)[:, None] % 3
    item_dense = np.linspace(0, 1, 9)[:, None]
    return R.tower_data(_train(), user_codes, item_codes, item_dense, history_len)


def test_tower_data_by_hand():
    data = _data()
    assert (data.num_users, data.num_items, data.history_len) == (4, 9, 2)
    # examples sorted by user, stably (the frame's order within a user)
    np.testing.assert_array_equal(data.user_ids, [0, 0, 0, 1, 2, 2])
    np.testing.assert_array_equal(data.item_ids, [5, 6, 7, 8, 3, 4])
    # serving: every training item, padded with 9; user 3 has none
    np.testing.assert_array_equal(
        data.serve_history, [[5, 6, 7], [8, 9, 9], [3, 4, 9], [9, 9, 9]]
    )
    # log q with smoothing 1: counts + 1 over 6 + 9
    expected = np.log(np.array([1, 1, 1, 2, 2, 2, 2, 2, 2]) / 15.0)
    np.testing.assert_allclose(data.log_q, expected, rtol=1e-6)
    assert data.item_dense.dtype == np.float32 and data.item_codes.shape == (9, 1)
    assert "4 users" in repr(data) and "6 training examples" in repr(data)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(user_codes=np.array([[0.5], [1.0], [1.0], [0.0]])), "user_codes"),
        (dict(item_codes=-np.ones((9, 1), dtype=int)), "item_codes"),
        (dict(item_dense=np.zeros((8, 1))), "item_dense"),
        (dict(item_dense=np.full((9, 1), np.nan)), "item_dense"),
        (dict(train=_train().rename(columns={"item_id": "movie"})), "item_id"),
        (dict(train=_train().assign(item_id=[3, 5, 6, 9, 4, 7])), "item_id"),
        (dict(train=_train().iloc[:0]), "non-empty"),
        (dict(history_len=0), "history_len"),
    ],
)
def test_tower_data_refuses_bad_input(change, message):
    args = dict(
        train=_train(),
        user_codes=np.array([[0], [1], [1], [0]]),
        item_codes=np.zeros((9, 1), dtype=int),
        item_dense=np.zeros((9, 1)),
        history_len=2,
    )
    args.update(change)
    with pytest.raises(ValueError, match=message):
        R.tower_data(**args)


def test_sample_histories_holds_the_users_other_items():
    data = _data(history_len=2)
    h = R.sample_histories(data, seed=0, epoch=0)
    assert h.shape == (6, 2) and h.dtype == np.int64
    own = {0: {5, 6, 7}, 1: {8}, 2: {3, 4}}
    for user, item, row in zip(data.user_ids, data.item_ids, h):
        real = row[row != 9]
        # never the example's own item, only the user's other items, as many as fit
        assert item not in real and set(real) <= own[user] - {item}
        assert len(real) == min(2, len(own[user]) - 1) == len(set(real))
    np.testing.assert_array_equal(h[3], [9, 9])  # user 1 has no other item


def test_sample_histories_is_seeded_by_seed_and_epoch():
    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        {"user_id": np.repeat(np.arange(5), 20), "item_id": rng.permutation(100)}
    )
    data = R.tower_data(train, np.zeros(5, int), np.zeros(100, int), np.zeros(100), 4)
    a = R.sample_histories(data, seed=1, epoch=2)
    np.testing.assert_array_equal(a, R.sample_histories(data, seed=1, epoch=2))
    assert not np.array_equal(a, R.sample_histories(data, seed=1, epoch=3))
    assert not np.array_equal(a, R.sample_histories(data, seed=2, epoch=2))
    # each sample is uniform over the other 19 items: over many epochs, every other
    # item of example 0's user shows up
    seen = set()
    for epoch in range(40):
        seen |= set(R.sample_histories(data, seed=0, epoch=epoch)[0])
    assert seen == set(train["item_id"][:20]) - {data.item_ids[0]}


@pytest.mark.parametrize("bad", [dict(seed=-1), dict(seed=1.5), dict(epoch=True)])
def test_sample_histories_refuses_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed|epoch"):
        R.sample_histories(_data(), **{"seed": 0, "epoch": 0, **bad})
    with pytest.raises(ValueError, match="TowerData"):
        R.sample_histories(_train(), seed=0)


def test_tower_batches_follow_minibatch_indices():
    data = _data()
    batches = list(R.tower_batches(data, 4, seed=3, epoch=1))
    history = R.sample_histories(data, seed=3, epoch=1)
    order = minibatch_indices(6, 4, seed=3, epoch=1)
    assert len(batches) == len(order) == 2
    for (users, hist, items), rows in zip(batches, order):
        np.testing.assert_array_equal(users, data.user_ids[rows])
        np.testing.assert_array_equal(items, data.item_ids[rows])
        np.testing.assert_array_equal(hist, history[rows])
    # fixed histories: those of epoch 0, whatever the epoch
    fixed = list(R.tower_batches(data, 6, seed=3, epoch=5, fresh_histories=False))
    rows = minibatch_indices(6, 6, seed=3, epoch=5)[0]
    np.testing.assert_array_equal(
        fixed[0][1], R.sample_histories(data, seed=3, epoch=0)[rows]
    )
    with pytest.raises(ValueError, match="fresh_histories"):
        list(R.tower_batches(data, 4, seed=0, epoch=0, fresh_histories="yes"))


def test_search_benchmark_is_all_faiss_and_exact_where_it_should_be():
    pytest.importorskip("faiss")
    import faiss

    rng = np.random.default_rng(0)
    items = rng.standard_normal((400, 8)).astype(np.float32)
    queries = rng.standard_normal((30, 8)).astype(np.float32)
    before = faiss.omp_get_max_threads()
    table = R.search_benchmark(
        queries, items, 10, nlist=16, nprobes=[1, 16], ef_searches=[64], repeats=2
    )
    assert faiss.omp_get_max_threads() == before  # the thread setting is restored
    assert list(table["method"]) == [
        "exact (FAISS flat)",
        "IVF-Flat",
        "IVF-Flat",
        "HNSW",
    ]
    assert list(table["value"]) == [0, 1, 16, 64]
    np.testing.assert_allclose(table["share_scanned"][:3], [1.0, 1 / 16, 1.0])
    # the flat index and IVF scanning every cell are exact; one cell of 16 is not
    assert table["recall"][0] == 1.0 and table["recall"][2] == 1.0
    assert table["recall"][1] < 1.0
    assert table["speedup"][0] == 1.0 and (table["ms_per_query"] > 0).all()
    np.testing.assert_allclose(
        table["speedup"], table["ms_per_query"][0] / table["ms_per_query"]
    )
    assert len(R.search_benchmark(queries, items, 5, nlist=4, nprobes=[2])) == 2


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(k=0), "k"),
        (dict(nlist=500), "nlist"),
        (dict(nprobes=[17]), "nprobe"),
        (dict(repeats=0), "repeats"),
        (dict(threads=1.5), "threads"),
    ],
)
def test_search_benchmark_refuses_bad_settings(bad, message):
    pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    args = dict(
        queries=rng.standard_normal((5, 4)),
        item_vectors=rng.standard_normal((100, 4)),
        k=5,
        nlist=16,
        nprobes=[1],
    )
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        R.search_benchmark(**args)


def test_build_flat_searches_every_item():
    pytest.importorskip("faiss")
    v = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype=np.float32)
    _, ids = R.build_flat(v).search(np.array([[0.0, 1.0]], dtype=np.float32), 3)
    np.testing.assert_array_equal(ids, [[1, 2, 0]])


def test_results_table_by_hand():
    # 3 users, 4 items; users 0 and 1 have a test item, user 2 none
    seen = sp.csr_matrix(np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]))
    test = sp.csr_matrix(np.array([[0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]]))
    scores = np.array(
        [[9.0, 1.0, 3.0, 2.0], [4.0, 3.0, 2.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
    )
    light = np.array([True, False, False])
    is_tail = np.array([False, False, True, True])
    table = R.results_table({"m": scores}, seen, test, light, is_tail, k=2)
    # user 0: item 0 seen, top 2 = [2, 3]: recall 1, nDCG 1; user 1: top 2 = [0, 1],
    # item 1 at rank 2: recall 1, nDCG 1 / log2(3)
    row = table.loc["m"]
    assert row["recall@2"] == pytest.approx(1.0)
    assert row["nDCG@2"] == pytest.approx((1.0 + 1.0 / np.log2(3)) / 2)
    assert row["recall@2, light users"] == pytest.approx(1.0)
    assert row["long-tail share"] == pytest.approx(2 / 4)  # [2, 3] and [0, 1]
    with pytest.raises(ValueError, match="light"):
        R.results_table({"m": scores}, seen, test, np.ones(2, bool), is_tail, k=2)
    with pytest.raises(ValueError, match="is_tail"):
        R.results_table({"m": scores}, seen, test, light, np.array([0, 0, 1, 1]), k=2)
    with pytest.raises(ValueError, match="models"):
        R.results_table({}, seen, test, light, is_tail, k=2)
