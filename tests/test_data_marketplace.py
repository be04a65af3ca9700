"""The synthetic marketplace: shapes, determinism, generating-model properties."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from recsys_utils.marketplace import (
    CATEGORIES,
    PATTERNS,
    Marketplace,
    make_marketplace,
)


@pytest.fixture(scope="module")
def tiny():
    return make_marketplace(seed=0, size="tiny")


@pytest.fixture(scope="module")
def classroom():
    return make_marketplace(seed=0, size="classroom")


def fingerprint(m: Marketplace) -> str:
    h = hashlib.sha256()
    for df in (m.items, m.users, m.interactions):
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    h.update(m.images.tobytes())
    h.update(m.truth.user_factors.tobytes())
    h.update(m.cold_items.tobytes())
    return h.hexdigest()


def test_deterministic_in_process_and_across_processes(tiny):
    assert fingerprint(make_marketplace(seed=0, size="tiny")) == fingerprint(tiny)
    code = (
        "import sys; sys.path.insert(0, 'tests');"
        "from test_data_marketplace import fingerprint;"
        "from recsys_utils.marketplace import make_marketplace;"
        "print(fingerprint(make_marketplace(seed=0, size='tiny')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == fingerprint(tiny)
    assert fingerprint(make_marketplace(seed=1, size="tiny")) != fingerprint(tiny)


def test_shapes_and_columns(tiny):
    assert (tiny.num_users, tiny.num_items) == (200, 150)
    assert tiny.items["item_id"].tolist() == list(range(150))
    assert tiny.users["user_id"].tolist() == list(range(200))
    for col in [
        "category",
        "colour",
        "style",
        "pattern",
        "material",
        "price_band",
        "brand",
        "price",
        "title",
        "description",
    ]:
        assert col in tiny.items.columns
    assert len(CATEGORIES) >= 8 and set(tiny.items["category"].unique()) == set(
        CATEGORIES
    )
    assert tiny.images.shape == (150, 32, 32, 3) and tiny.images.dtype == np.uint8
    assert list(tiny.interactions.columns) == [
        "user_id",
        "item_id",
        "timestamp",
        "event",
        "rating",
    ]
    assert set(tiny.users["activity"].unique()) == {"low", "medium", "high"}


def test_bad_arguments():
    with pytest.raises(ValueError, match="size must be one of"):
        make_marketplace(size="huge")
    with pytest.raises(ValueError, match="unknown keyword"):
        make_marketplace(size="tiny", num_userz=10)
    with pytest.raises(ValueError, match="num_items must be"):
        make_marketplace(size="tiny", num_items=3)
    with pytest.raises(ValueError, match="seed"):
        make_marketplace(seed=-1, size="tiny")


def test_overrides():
    m = make_marketplace(seed=3, size="tiny", num_users=50, num_items=40)
    assert (m.num_users, m.num_items, m.size) == (50, 40, "custom")
    assert m.interactions["user_id"].max() < 50 and m.interactions["item_id"].max() < 40


def test_interaction_log_rules(tiny):
    df = tiny.interactions
    # one row per (user, item), sorted by user, strictly increasing time per user
    assert not df.duplicated(["user_id", "item_id"]).any()
    assert df["user_id"].is_monotonic_increasing
    same_user = df["user_id"].to_numpy()[1:] == df["user_id"].to_numpy()[:-1]
    assert (np.diff(df["timestamp"].to_numpy())[same_user] > 0).all()
    # ratings: 1..5 integers for purchases only
    buy = df["event"] == "purchase"
    assert df.loc[~buy, "rating"].isna().all()
    assert set(df.loc[buy, "rating"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    # every user has at least 5 purchases
    assert (
        df.loc[buy].groupby("user_id").size().reindex(range(200), fill_value=0).min()
        >= 5
    )


def test_cold_start_rule(tiny, classroom):
    for m in (tiny, classroom):
        share = len(m.cold_items) / m.num_items
        assert 0.05 <= share <= 0.10
        df = m.interactions
        on_cold = df["item_id"].isin(m.cold_items)
        assert (df.loc[on_cold, "timestamp"] >= m.cold_start_time).all()
        assert on_cold.any()  # cold items do get interactions, later


def test_text_has_synonyms_and_hides_pattern(tiny):
    text = (tiny.items["title"] + " " + tiny.items["description"]).str.lower()
    for p in PATTERNS:
        assert not text.str.contains(rf"\b{p}\b").any(), p
    # the same colour is worded in several ways
    red = text[tiny.items["colour"] == "red"]
    words = {
        w for w in ("red", "crimson", "scarlet", "cherry") if red.str.contains(w).any()
    }
    assert len(words) >= 3
    # material and brand are in the text
    row = tiny.items.iloc[0]
    assert row["brand"] in row["title"] + row["description"]


def test_images_encode_colour_category_and_pattern(tiny):
    img = tiny.images.astype(float)
    items = tiny.items
    # same colour & category & pattern -> more similar than different category
    centre = img[:, 12:20, 12:20, :].mean(axis=(1, 2))
    reds = centre[
        (items["colour"] == "red").to_numpy() & (items["pattern"] == "plain").to_numpy()
    ]
    blues = centre[
        (items["colour"] == "blue").to_numpy()
        & (items["pattern"] == "plain").to_numpy()
    ]
    assert reds[:, 0].mean() > blues[:, 0].mean() + 50
    # striped items have more vertical high-frequency energy than plain ones
    vert = np.abs(np.diff(img, axis=1)).mean(axis=(1, 2, 3))
    pat = items["pattern"].to_numpy()
    assert vert[pat == "striped"].mean() > vert[pat == "plain"].mean() + 5
    # a pure function of attributes + small noise: two plain red tops look alike
    tops = np.flatnonzero((items["category"] == "tops").to_numpy())
    assert len({tuple(np.round(img[i].mean(axis=(0, 1)) / 40)) for i in tops}) < len(
        tops
    )


def test_truth_relevance_matches_factors(tiny):
    t = tiny.truth
    users, items = np.array([0, 5, 7]), np.array([1, 2])
    expected = np.array(
        [[t.user_factors[u] @ t.item_factors[i] for i in items] for u in users]
    )
    np.testing.assert_allclose(t.relevance(users, items), expected)
    assert (t.user_factors[:, -1] == 1).all()
    # item factors are one-hot blocks + quality
    assert (t.item_factors[:, :-1].sum(axis=1) == 6).all()
    top = t.true_topk([0, 1], k=5)
    rel = t.relevance([0, 1])
    for row, u in enumerate([0, 1]):
        assert list(top[row]) == list(np.argsort(-rel[row], kind="stable")[:5])
    seen = tiny.interaction_matrix()
    top_ex = t.true_topk([0], k=5, exclude=seen)
    assert not set(top_ex[0]) & set(seen[0].indices)
    with pytest.raises(ValueError, match="k must be"):
        t.true_topk([0], k=0)
    p = t.purchase_probability([0, 1])
    assert p.shape == (2, 150) and (p >= 0).all() and (p <= 1).all()


def test_ratings_follow_utility(classroom):
    buy = classroom.purchases
    rel = (
        classroom.truth.user_factors[buy["user_id"]]
        * classroom.truth.item_factors[buy["item_id"]]
    ).sum(axis=1)
    assert np.corrcoef(rel, buy["rating"])[0, 1] > 0.5
    # purchased items are truly better than merely viewed ones
    df = classroom.interactions
    rel_all = (
        classroom.truth.user_factors[df["user_id"]]
        * classroom.truth.item_factors[df["item_id"]]
    ).sum(axis=1)
    assert (
        rel_all[(df["event"] == "purchase").to_numpy()].mean()
        > rel_all[(df["event"] == "view").to_numpy()].mean() + 0.5
    )


def test_interaction_matrix(tiny):
    x = tiny.interaction_matrix("purchase", "rating")
    buy = tiny.purchases
    assert x.shape == (200, 150) and x.nnz == len(buy)
    r = buy.iloc[0]
    assert x[r["user_id"], r["item_id"]] == r["rating"]
    assert tiny.interaction_matrix().nnz == len(tiny.interactions)
    with pytest.raises(ValueError, match="kind"):
        tiny.interaction_matrix("clicks")
    with pytest.raises(ValueError, match="rating"):
        tiny.interaction_matrix("any", "rating")


def test_classroom_statistics_look_like_real_data(classroom):
    d = classroom.describe()
    # Reference MovieLens-100K: density 6.3%, item-popularity Gini 0.63, top-20% items
    # hold 65% of ratings; e-commerce logs are sparser and more skewed.
    assert 2000 <= d["num_users"] <= 5000 and 1000 <= d["num_items"] <= 3000
    assert 50_000 <= d["num_interactions"] <= 200_000
    assert 0.005 <= d["density"] <= 0.06
    assert 0.55 <= d["item_gini"] <= 0.85
    assert 0.55 <= d["top20_items_share"] <= 0.85
    assert d["purchases_per_user_min"] >= 5
    assert d["share_users_3plus_categories"] >= 0.8
    assert 0.05 <= d["cold_start_share"] <= 0.10
    # hand check of two figures
    df = classroom.interactions
    assert d["density"] == pytest.approx(
        len(df) / (classroom.num_users * classroom.num_items)
    )
    counts = np.sort(np.bincount(df["item_id"], minlength=classroom.num_items))[::-1]
    assert d["top20_items_share"] == pytest.approx(counts[:300].sum() / len(df))


def test_tastes_cross_categories(classroom):
    # a user's taste for a colour applies to every category: the true relevance of
    # red items vs blue items is correlated across shoes and tops
    t, items = classroom.truth, classroom.items
    rel = t.relevance(np.arange(500))

    def mean_rel(cat, colour):
        sel = ((items["category"] == cat) & (items["colour"] == colour)).to_numpy()
        return rel[:, sel].mean(axis=1)

    d_shoes = mean_rel("shoes", "red") - mean_rel("shoes", "blue")
    d_tops = mean_rel("tops", "red") - mean_rel("tops", "blue")
    assert np.corrcoef(d_shoes, d_tops)[0, 1] > 0.7
