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
    COMPLEMENTS,
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


def _assert_log_rules(df):
    # one row per (user, item), sorted by user, strictly increasing time per user
    assert not df.duplicated(["user_id", "item_id"]).any()
    assert df["user_id"].is_monotonic_increasing
    same_user = df["user_id"].to_numpy()[1:] == df["user_id"].to_numpy()[:-1]
    assert (np.diff(df["timestamp"].to_numpy())[same_user] > 0).all()
    # ratings: 1..5 integers for purchases only
    buy = df["event"] == "purchase"
    assert df.loc[~buy, "rating"].isna().all()
    assert set(df.loc[buy, "rating"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}


def test_interaction_log_rules(tiny):
    df = tiny.interactions
    _assert_log_rules(df)
    buy = df["event"] == "purchase"
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
    top, top_rel = t.true_topk([0, 1], k=5)  # (item_ids, relevance)
    rel = t.relevance([0, 1])
    for row in range(2):
        assert list(top[row]) == list(np.argsort(-rel[row], kind="stable")[:5])
        np.testing.assert_array_equal(top_rel[row], rel[row, top[row]])
    seen = tiny.interaction_matrix()
    top_ex, _ = t.true_topk([0], k=5, exclude=seen)
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


# ---------------------------------------------------------------------------
# The sequential signal (make_marketplace(..., sequential=True), chapter 6)
# ---------------------------------------------------------------------------


def full_fingerprint(m: Marketplace) -> str:
    """A hash of everything a marketplace holds: frames (values, columns, dtypes),
    images, the truth's arrays and the scalars."""
    h = hashlib.sha256()
    for df in (m.items, m.users, m.interactions):
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
        h.update(repr(list(df.columns)).encode())
        h.update(repr([str(t) for t in df.dtypes]).encode())
    h.update(m.images.tobytes())
    t = m.truth
    for arr in (
        t.user_factors,
        t.item_factors,
        t.user_leniency,
        t.item_popularity,
        t.user_exposures,
        m.cold_items,
    ):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update(repr((m.cold_start_time, m.seed, m.size, t.factor_names)).encode())
    return h.hexdigest()


# Computed with main's make_marketplace (commit a494a6a), before the sequential option
# existed: the default marketplace must stay byte-identical, since every other
# chapter's assertions were written against it.
MAIN_FINGERPRINTS = {
    "tiny": "a3ab5c75e0809e384899b9232eb58affe425fb95f0aa26b48921d9a765625fe2",
    "classroom": "67539e120ad2631d64b9142a18fc5d44c611d376197ed748b690970cd49adec2",
}


def test_default_is_byte_identical_to_before_the_sequential_option(tiny, classroom):
    assert full_fingerprint(tiny) == MAIN_FINGERPRINTS["tiny"]
    assert full_fingerprint(classroom) == MAIN_FINGERPRINTS["classroom"]
    assert not tiny.sequential and tiny.truth.follow_probability is None
    explicit = make_marketplace(seed=0, size="tiny", sequential=False)
    assert full_fingerprint(explicit) == MAIN_FINGERPRINTS["tiny"]


@pytest.fixture(scope="module")
def seq_classroom():
    return make_marketplace(seed=0, size="classroom", sequential=True)


@pytest.fixture(scope="module")
def seq_tiny():
    return make_marketplace(seed=0, size="tiny", sequential=True)


def test_sequential_option_rejects_non_booleans():
    with pytest.raises(ValueError, match="sequential must be True or False"):
        make_marketplace(size="tiny", sequential="yes")


def test_sequential_keeps_catalogue_users_and_log_rules(seq_tiny, tiny):
    m = seq_tiny
    assert m.sequential
    # items, images and users come from the same streams as without the option
    pd.testing.assert_frame_equal(m.items, tiny.items)
    pd.testing.assert_frame_equal(m.users, tiny.users)
    np.testing.assert_array_equal(m.images, tiny.images)
    df = m.interactions
    _assert_log_rules(df)
    # replacing purchases keeps their number per user
    assert (
        m.purchases.groupby("user_id").size().to_numpy()
        == tiny.purchases.groupby("user_id").size().to_numpy()
    ).all()
    on_cold = df["item_id"].isin(m.cold_items)
    assert (df.loc[on_cold, "timestamp"] >= m.cold_start_time).all()
    # deterministic
    again = make_marketplace(seed=0, size="tiny", sequential=True)
    assert full_fingerprint(again) == full_fingerprint(m)
    pd.testing.assert_frame_equal(again.truth.complements, m.truth.complements)


def test_planted_complements_follow_the_rule(seq_classroom):
    m, items = seq_classroom, seq_classroom.items
    planted = m.truth.complements
    p = m.purchases
    # each planted purchase is the shopper's next purchase after previous_item_id
    nxt = p.groupby("user_id")["item_id"].shift(-1)
    pairs = set(zip(p["user_id"], p["item_id"], nxt))
    assert all(
        (u, prev, item) in pairs
        for u, prev, item in zip(
            planted["user_id"], planted["previous_item_id"], planted["item_id"]
        )
    )
    # same style, a complementary category
    cat, sty = items["category"].to_numpy(), items["style"].to_numpy()
    a, b = planted["previous_item_id"].to_numpy(), planted["item_id"].to_numpy()
    assert (sty[a] == sty[b]).all()
    assert all(cb in COMPLEMENTS[ca] for ca, cb in zip(cat[a], cat[b]))
    # within a short time: at most the planted delay's tail (a few days)
    prev_time = p.set_index(["user_id", "item_id"])["timestamp"]
    delay = (
        planted["timestamp"].to_numpy()
        - prev_time.loc[list(zip(planted["user_id"], a))].to_numpy()
    )
    assert (delay > 0).all() and np.median(delay) < 86_400
    # about rho of the purchases after each shopper's first are planted
    share = len(planted) / (len(p) - m.num_users)
    assert abs(share - m.truth.follow_probability) < 0.02


def test_planted_choices_follow_the_transition_truth(seq_classroom):
    m = seq_classroom
    truth = m.truth
    planted = truth.complements[truth.complements["user_id"] < 150]
    users = planted["user_id"].to_numpy()
    prev = planted["previous_item_id"].to_numpy()
    rows, picked = np.arange(len(users)), planted["item_id"].to_numpy()
    # rebuild what the generator excluded at each draw: the shopper's purchases
    # before it, the purchases planned after it (a planted slot was planned as the
    # item it replaced) and, before the cold-start time, the cold items
    p = m.purchases
    replaced = dict(
        zip(
            zip(truth.complements["user_id"], truth.complements["item_id"]),
            truth.complements["replaced_item_id"],
        )
    )
    excluded = np.zeros((len(users), m.num_items), dtype=bool)
    for row, (u, t) in enumerate(zip(users, planted["timestamp"])):
        mine = p[p["user_id"] == u]
        before = mine.loc[mine["timestamp"] < t, "item_id"].to_numpy()
        after = [
            replaced.get((u, i), i) for i in mine.loc[mine["timestamp"] > t, "item_id"]
        ]
        excluded[row, before] = True
        excluded[row, after] = True
        if t < m.cold_start_time:
            excluded[row, m.cold_items] = True
    q = truth.complement_probability(users, prev, exclude=excluded)
    chosen = q[rows, picked]
    assert (chosen > 0).all()
    # the planted items are drawn from q: the mean log q of the chosen item matches
    # its expectation -H(q) (the entropy), within a few standard errors
    logq = np.log(np.where(q > 0, q, 1.0))
    expected = (q * logq).sum(axis=1)
    spread = np.sqrt(((q * logq**2).sum(axis=1) - expected**2).sum()) / len(users)
    assert abs(np.log(chosen).mean() - expected.mean()) < 4 * spread
    # and the taste matters: chosen items are more relevant than their shelf's mean
    rel = m.truth.relevance(users)
    shelf_mean = (q > 0).astype(float)
    shelf_mean = (rel * shelf_mean).sum(axis=1) / shelf_mean.sum(axis=1)
    assert (rel[np.arange(len(users)), planted["item_id"]] - shelf_mean).mean() > 0.3


def test_complement_probability_by_hand():
    # Three categories' worth of hand-made items; the previous purchase is a sporty
    # shoe. COMPLEMENTS["shoes"] = ("trousers", "bags"), each with probability 1/2;
    # on each shelf (same style) the choice is softmax(gamma * relevance).
    from recsys_utils.marketplace import CATEGORIES, STYLES, Truth
    from recsys_utils.marketplace.spec import _OFFSETS

    def item(category, style, quality):
        f = np.zeros(int(_OFFSETS[-1]) + 1)
        f[_OFFSETS[0] + CATEGORIES.index(category)] = 1.0
        f[_OFFSETS[2] + STYLES.index(style)] = 1.0
        f[-1] = quality
        return f

    items = np.stack(
        [
            item("shoes", "sporty", 0.0),  # 0: the previous purchase
            item("bags", "sporty", 1.0),  # 1
            item("bags", "sporty", 0.0),  # 2
            item("trousers", "sporty", 0.0),  # 3: alone on its shelf
            item("bags", "formal", 5.0),  # 4: wrong style
            item("tops", "sporty", 5.0),  # 5: not a complement of shoes
        ]
    )
    users = np.zeros((1, items.shape[1]))
    users[0, -1] = 1.0  # relevance = quality
    gamma = 1.5
    matrix = np.zeros((len(CATEGORIES), len(CATEGORIES)))
    for c, name in enumerate(CATEGORIES):
        for other in COMPLEMENTS[name]:
            matrix[c, CATEGORIES.index(other)] = 0.5
    truth = Truth(
        users,
        items,
        (),
        np.zeros(1),
        item_popularity=np.full(6, 1 / 6),
        user_exposures=np.array([10]),
        follow_probability=0.5,
        complement_temperature=gamma,
        complement_matrix=matrix,
    )
    q = truth.complement_probability([0], [0])[0]
    e1, e0 = np.exp(gamma * 1.0), np.exp(gamma * 0.0)
    np.testing.assert_allclose(
        q, [0, 0.5 * e1 / (e1 + e0), 0.5 * e0 / (e1 + e0), 0.5, 0, 0], rtol=1e-12
    )
    # excluding item 1 leaves item 2 alone on the bags shelf
    ex = np.array([[False, True, False, False, False, False]])
    np.testing.assert_allclose(
        truth.complement_probability([0], [0], exclude=ex)[0], [0, 0, 0.5, 0.5, 0, 0]
    )
    # an empty shelf plants nothing: excluding items 1, 2 leaves only trousers
    ex2 = np.array([[False, True, True, False, False, False]])
    assert truth.complement_probability([0], [0], exclude=ex2)[0].sum() == 0.5
    # next_item_probability mixes in the order-free part with weight 1 - rho * Q
    nxt = truth.next_item_probability([0], [0], exclude=ex2)[0]
    base = truth.purchase_probability([0])[0] * ~ex2[0]
    np.testing.assert_allclose(
        nxt, 0.5 * np.array([0, 0, 0, 0.5, 0, 0]) + 0.75 * base / base.sum()
    )
    assert nxt.sum() == pytest.approx(1.0)


def test_transition_truth_errors(tiny, seq_tiny):
    with pytest.raises(ValueError, match="no sequential signal"):
        tiny.truth.next_item_probability([0], [0])
    with pytest.raises(ValueError, match="one item per user"):
        seq_tiny.truth.complement_probability([0, 1], [0])
    with pytest.raises(ValueError, match="previous_item_ids must lie"):
        seq_tiny.truth.next_item_probability([0], [10_000])
    p = seq_tiny.truth.next_item_probability([0, 1], [3, 4])
    assert p.shape == (2, 150)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
