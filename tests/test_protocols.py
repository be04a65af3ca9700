"""Protocols: the splits' rules, the metrics against hand-worked and independent
values, the report's labels (the published figures: test_published.py; the grid
search: test_tuning.py; the stratified split: test_splits.py)."""

import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from recsys_utils import protocols as P
from recsys_utils import splits as S

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------
# A small MovieLens-shaped data set (the protocols only read these attributes)
# ---------------------------------------------------------------------------


def small_ml(num_users=40, num_items=30, seed=0):
    """Users with 5 to 24 ratings on distinct items, times with ties, a u1 split."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(num_users):
        n = int(rng.integers(5, 25))
        for i in rng.choice(num_items, n, replace=False):
            rows.append(
                (u, int(i), float(rng.integers(1, 6)), int(rng.integers(0, 50)))
            )
    ratings = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "timestamp"])
    ratings = ratings.sample(frac=1.0, random_state=1).reset_index(drop=True)
    test = ratings.index[: len(ratings) // 5]  # u1: the first fifth in file order
    u1 = (ratings.drop(index=test), ratings.loc[test])
    return SimpleNamespace(
        ratings=ratings, splits={"u1": u1}, num_users=num_users, num_items=num_items
    )


@pytest.fixture(scope="module")
def ml():
    return small_ml()


def assert_partition(parts, whole):
    idx = [set(p.index) for p in parts]
    assert not set.intersection(*idx)
    assert sum(len(p) for p in parts) == len(whole)
    pd.testing.assert_frame_equal(pd.concat(parts).loc[whole.index], whole)


# ---------------------------------------------------------------------------
# Protocol splits
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["u1", "stratified", "temporal"])
def test_split_parts_are_disjoint_and_complete(ml, name):
    data = P.PROTOCOLS[name].split(ml, seed=0, valid_frac=0.1)
    assert data.protocol == name
    assert (data.num_users, data.num_items) == (40, 30)
    assert_partition(
        [data.train, data.test],
        ml.ratings.loc[sorted(set(data.train.index) | set(data.test.index))],
    )
    assert_partition([data.fit, data.valid], data.train)
    assert not set(data.valid.index) & set(data.test.index)
    assert not set(data.fit.index) & set(data.test.index)
    assert len(data.valid) > 0 and len(data.test) > 0
    if name != "u1":  # u1's parts come from its files; the others cover u.data
        assert len(data.train) + len(data.test) == len(ml.ratings)


def test_u1_uses_the_official_files_and_carves_per_user(ml):
    data = P.U1.split(ml, seed=0, valid_frac=0.2)
    pd.testing.assert_frame_equal(data.train, ml.splits["u1"][0])
    pd.testing.assert_frame_equal(data.test, ml.splits["u1"][1])
    n = data.train.groupby("user_id").size()
    fit = data.fit.groupby("user_id").size().reindex(n.index, fill_value=0)
    assert (fit == np.rint(0.8 * n).astype(int)).all()


def test_stratified_protocol_is_the_benchmark_split(ml):
    data = P.STRATIFIED.split(ml, seed=5)
    train, test = S.stratified_split(ml.ratings, 0.75, by="item", seed=42)
    pd.testing.assert_frame_equal(data.train, train)
    pd.testing.assert_frame_equal(data.test, test)
    # per movie: round(0.75 n) in train, then round(0.9 m) of those in fit
    n = ml.ratings.groupby("item_id").size()
    m = data.train.groupby("item_id").size().reindex(n.index, fill_value=0)
    assert (m == np.rint(0.75 * n).astype(int)).all()
    fit = data.fit.groupby("item_id").size().reindex(n.index, fill_value=0)
    assert (fit == np.rint(0.9 * m).astype(int)).all()


def test_temporal_protocol_holds_out_each_users_last_fifth(ml):
    data = P.TEMPORAL.split(ml, valid_frac=0.25)
    n = ml.ratings.groupby("user_id").size()
    t = data.test.groupby("user_id").size().reindex(n.index, fill_value=0)
    assert (t == np.ceil(0.2 * n - 1e-9).astype(int)).all()
    m = n - t
    v = data.valid.groupby("user_id").size().reindex(n.index, fill_value=0)
    assert (v == np.ceil(0.25 * m - 1e-9).astype(int)).all()
    for u in n.index:  # fit <= valid <= test in time, per user
        times = [p.loc[p.user_id == u, "timestamp"] for p in (data.fit, data.valid)]
        last = data.test.loc[data.test.user_id == u, "timestamp"]
        assert times[0].max() <= times[1].min() and times[1].max() <= last.min()


@pytest.mark.parametrize("name", ["u1", "stratified"])
def test_carve_is_seeded_and_leaves_test_alone(ml, name):
    p = P.PROTOCOLS[name]
    a, b, c = p.split(ml, seed=1), p.split(ml, seed=1), p.split(ml, seed=2)
    pd.testing.assert_frame_equal(a.valid, b.valid)
    assert set(a.valid.index) != set(c.valid.index)
    pd.testing.assert_frame_equal(a.test, c.test)
    pd.testing.assert_frame_equal(a.train, c.train)


def test_temporal_carve_has_no_randomness(ml):
    a, b = P.TEMPORAL.split(ml, seed=1), P.TEMPORAL.split(ml, seed=2)
    pd.testing.assert_frame_equal(a.valid, b.valid)


def test_csr_of_each_part(ml):
    data = P.STRATIFIED.split(ml)
    for part in ("train", "test", "fit", "valid"):
        mat = data.csr(part)
        frame = getattr(data, part)
        assert mat.shape == (40, 30) and mat.nnz == len(frame)
        assert set(np.unique(mat.data)) == {1.0}
    stars = data.csr("test", "rating")
    row = data.test.iloc[0]
    assert stars[int(row.user_id), int(row.item_id)] == row.rating
    with pytest.raises(ValueError, match="part must be one of"):
        data.csr("everything")
    assert re.search(r"stratified: train=\d", repr(data))


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"seed": -2}, "seed"),
        ({"valid_frac": 0.0}, "valid_frac"),
        ({"valid_frac": 1.0}, "valid_frac"),
    ],
)
def test_split_rejects_bad_arguments(ml, kwargs, word):
    with pytest.raises(ValueError, match=word):
        P.STRATIFIED.split(ml, **kwargs)


def test_split_rejects_what_is_not_movielens(ml):
    with pytest.raises(ValueError, match="ratings"):
        P.STRATIFIED.split(SimpleNamespace(num_users=3, num_items=3))
    with pytest.raises(ValueError, match="num_users"):
        P.TEMPORAL.split(SimpleNamespace(ratings=ml.ratings))
    no_u1 = SimpleNamespace(**{**vars(ml), "splits": {}})
    with pytest.raises(ValueError, match="u1"):
        P.U1.split(no_u1)


# ---------------------------------------------------------------------------
# Evaluation: hand-worked values
# ---------------------------------------------------------------------------


def tiny(protocol, fit, valid, test, num_users=2, num_items=6):
    """A ProtocolData with the given (user, item, rating) rows."""

    def frame(rows):
        return pd.DataFrame(
            [(u, i, r, 0) for u, i, r in rows],
            columns=["user_id", "item_id", "rating", "timestamp"],
        )

    fit, valid, test = frame(fit), frame(valid), frame(test)
    valid.index += len(fit)
    test.index += len(fit) + len(valid)
    return S.ProtocolData(
        protocol,
        pd.concat([fit, valid]),
        test,
        fit,
        valid,
        num_users,
        num_items,
        0,
        0.1,
    )


def test_rating_evaluation_by_hand():
    data = tiny("u1", [(0, 0, 4.0)], [(0, 1, 3.0), (1, 2, 5.0)], [(1, 3, 1.0)])
    # valid: errors +1 and -2 -> RMSE sqrt(5/2), MAE 1.5
    expected = {"rmse": math.sqrt(2.5), "mae": 1.5}
    assert P.U1.evaluate(np.array([4.0, 3.0]), data) == pytest.approx(expected)
    assert P.U1.evaluate(lambda u, i: np.array([4.0, 3.0]), data) == pytest.approx(
        expected
    )

    class Model:
        def predict(self, user_ids, item_ids):
            return 3.0 + user_ids - 0.5 * item_ids  # 3.5 and 3.0 on valid

    # valid: errors +0.5 and -2 -> RMSE sqrt(4.25/2), MAE 1.25
    got = P.U1.evaluate(Model(), data, on="valid")
    assert got == pytest.approx({"rmse": math.sqrt(2.125), "mae": 1.25})
    # test: one rating of 1, prediction 3 + 1 - 1.5 = 2.5
    assert P.U1.evaluate(Model(), data, on="test") == pytest.approx(
        {"rmse": 1.5, "mae": 1.5}
    )


def test_rating_evaluation_rejects_misaligned_predictions():
    data = tiny("u1", [(0, 0, 4.0)], [(0, 1, 3.0), (1, 2, 5.0)], [(1, 3, 1.0)])
    with pytest.raises(ValueError, match="one prediction per row"):
        P.U1.evaluate(np.array([4.0, 3.0, 1.0]), data)
    with pytest.raises(ValueError, match="finite"):
        P.U1.evaluate(np.array([4.0, np.nan]), data)


def test_ranking_evaluation_by_hand():
    # user 0: fit {0}, valid {1, 3}; user 1: fit {2}, valid {5}; test: user 0 {4}
    data = tiny(
        "stratified",
        [(0, 0, 5.0), (1, 2, 4.0)],
        [(0, 1, 3.0), (0, 3, 1.0), (1, 5, 2.0)],
        [(0, 4, 4.0)],
        num_items=12,
    )
    # scores descending with the item id, except item 0 (seen, excluded) on top
    scores = np.tile(-np.arange(12.0), (2, 1))
    scores[:, 0] = 100.0
    # valid, user 0: list 1,2,3,4,...,10 -> hits at ranks 1 and 3
    #   nDCG = (1 + 1/2) / (1 + 1/log2 3); recall 2/2; precision 2/10;
    #   AP = (1/1 + 2/3) / 2
    # user 1 (seen 2): list 0,1,3,4,5,... -> hit (item 5) at rank 5
    #   nDCG = (1/log2 6) / 1; recall 1; precision 1/10; AP = (1/5) / 1
    ndcg0 = 1.5 / (1 + 1 / math.log2(3))
    ndcg1 = 1 / math.log2(6)
    expected = {
        "ndcg@10": (ndcg0 + ndcg1) / 2,
        "recall@10": 1.0,
        "precision@10": (0.2 + 0.1) / 2,
        "map@10": ((1 + 2 / 3) / 2 + 0.2) / 2,
    }
    got = P.STRATIFIED.evaluate(scores, data, on="valid")
    assert list(got) == list(P.STRATIFIED.metrics)
    assert got == pytest.approx(expected)
    # test: only user 0; train (fit + valid) = {0, 1, 3} excluded -> 2,4,... hit at 2
    got = P.STRATIFIED.evaluate(lambda users: scores[users], data, on="test")
    assert got == pytest.approx(
        {
            "ndcg@10": 1 / math.log2(3),
            "recall@10": 1.0,
            "precision@10": 0.1,
            "map@10": 0.5,
        }
    )


def test_temporal_metrics_at_10_and_20():
    data = tiny(
        "temporal",
        [(0, 0, 5.0)],
        [(0, 15, 3.0)],
        [(0, 1, 4.0)],
        num_users=1,
        num_items=30,
    )
    scores = -np.arange(30.0)[None, :]  # list 0 (seen), 1, 2, ...: item 15 at rank 15
    got = P.TEMPORAL.evaluate(scores, data, on="valid")
    assert got == pytest.approx(
        {
            "recall@10": 0.0,
            "ndcg@10": 0.0,
            "recall@20": 1.0,
            "ndcg@20": 1 / math.log2(16),
        }
    )


def test_evaluate_rejects_wrong_arguments(ml):
    data = P.STRATIFIED.split(ml)
    with pytest.raises(ValueError, match="on must be"):
        P.STRATIFIED.evaluate(np.zeros((40, 30)), data, on="train")
    with pytest.raises(ValueError, match="split by the 'stratified' protocol"):
        P.TEMPORAL.evaluate(np.zeros((40, 30)), data)
    with pytest.raises(ValueError, match="ProtocolData"):
        P.STRATIFIED.evaluate(np.zeros((40, 30)), {"train": data.train})


def recommenders_style_metrics(test, top, k):
    """nDCG (natural log), recall, precision and the 2019-2021 MAP, from a long frame
    of hits, written from the definitions in pandas (not our code path)."""
    users = sorted(test.user_id.unique())
    hits = top.merge(test[["user_id", "item_id"]], on=["user_id", "item_id"])
    actual = test.groupby("user_id").size()
    out = {"ndcg": 0.0, "recall": 0.0, "precision": 0.0, "map": 0.0}
    for u in users:
        h = hits[hits.user_id == u].sort_values("rank")
        dcg = (1 / np.log(1 + h["rank"])).sum()
        idcg = (1 / np.log(1 + np.arange(1, min(actual[u], k) + 1))).sum()
        out["ndcg"] += dcg / idcg
        out["recall"] += len(h) / actual[u]
        out["precision"] += len(h) / k
        out["map"] += (np.arange(1, len(h) + 1) / h["rank"]).sum() / actual[u]
    return {key: value / len(users) for key, value in out.items()}


def test_ranking_metrics_match_an_independent_implementation(ml):
    data = P.STRATIFIED.split(ml)
    scores = np.random.default_rng(3).normal(size=(40, 30))
    got = P.STRATIFIED.evaluate(scores, data, on="test")
    masked = scores.copy()
    masked[data.train.user_id, data.train.item_id] = -np.inf
    order = np.argsort(-masked, axis=1, kind="stable")[:, :10]
    top = pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(40), 10),
            "item_id": order.ravel(),
            "rank": np.tile(np.arange(1, 11), 40),
        }
    )
    ref = recommenders_style_metrics(data.test, top, 10)
    assert got == pytest.approx(
        {
            "ndcg@10": ref["ndcg"],
            "recall@10": ref["recall"],
            "precision@10": ref["precision"],
            "map@10": ref["map"],
        }
    )


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def test_report_labels_rows_and_never_shows_nan():
    results = {
        "EASE": {"ndcg@10": 0.41234, "recall@10": 0.2, "hit_rate@10": 0.9},
        "two-tower": {"ndcg@10": float("nan"), "recall@10": 0.19},
    }
    table = P.STRATIFIED.report(
        results, framework={"two-tower": "pytorch"}, notes={"EASE": "reg 250"}
    )
    assert list(table.columns) == [
        "who",
        "model",
        "ndcg@10",
        "recall@10",
        "precision@10",
        "map@10",
        "hit_rate@10",
        "note",
    ]
    assert table["who"].tolist()[:2] == ["ours", "ours (PyTorch)"]
    assert all(w.startswith("published: ") for w in table["who"][2:])
    assert len(table) == 2 + len(P.STRATIFIED.published)
    ease = table.iloc[0]
    assert ease["ndcg@10"] == 0.412 and ease["precision@10"] == "not computed"
    assert ease["note"] == "reg 250"
    assert table.iloc[1]["ndcg@10"] == "not defined"
    bivae = table[table.model == "BiVAE"].iloc[0]
    assert bivae["who"] == "published: Recommenders README"
    assert bivae["ndcg@10"] == 0.475 and bivae["hit_rate@10"] == "not reported"
    assert not table.isna().any().any()
    assert "nan" not in table.to_string().lower()


def test_report_framework_for_all_and_without_published():
    table = P.U1.report(
        {"MF": {"rmse": 0.91, "mae": 0.72}}, framework="tensorflow", published=False
    )
    assert table["who"].tolist() == ["ours (TensorFlow)"]
    table = P.U1.report({"MF": {"rmse": 0.9}}, decimals=1)
    assert table.iloc[0]["rmse"] == 0.9 and table.iloc[0]["mae"] == "not computed"
    gcmc = table[table.model == "GC-MC"].iloc[0]
    assert gcmc["who"] == "published: Berg et al. 2017"
    assert gcmc["mae"] == "not reported"


@pytest.mark.parametrize(
    "results, kwargs, word",
    [
        ({}, {}, "results"),
        ({"a": 0.5}, {}, "results\\['a'\\]"),
        ({"a": {"rmse": "low"}}, {}, "must be a number"),
        ({"a": {"rmse": 1.0}}, {"framework": "jax"}, "value"),
        ({"a": {"rmse": 1.0}}, {"framework": {"b": "pytorch"}}, "framework names"),
        ({"a": {"rmse": 1.0}}, {"notes": {"b": "x"}}, "notes name"),
        ({"a": {"rmse": 1.0}}, {"decimals": -1}, "decimals"),
    ],
)
def test_report_rejects_bad_input(results, kwargs, word):
    with pytest.raises(ValueError, match=word):
        P.U1.report(results, **kwargs)
