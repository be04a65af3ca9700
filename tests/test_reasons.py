"""The true reasons of a (shopper, item) pair, from the generator's hidden state."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from recsys_utils.marketplace import (
    CATEGORIES,
    COLOURS,
    COMPLEMENTS,
    STYLES,
    make_marketplace,
)
from recsys_utils.marketplace.reasons import (
    ATTRIBUTE_BLOCKS,
    MIN_GAIN,
    REASON_NAMES,
    attribute_codes,
    known_facts,
    reason_sets,
    true_reasons,
)


@pytest.fixture(scope="module")
def seq():
    return make_marketplace(seed=0, size="tiny", sequential=True)


@pytest.fixture(scope="module")
def plain():
    return make_marketplace(seed=0, size="tiny")


def _code(mk, block, value):
    return list(mk.items[block].cat.categories).index(value)


def _find(mk, **attrs):
    """The first item with the given attribute values."""
    items = mk.items
    mask = np.ones(len(items), dtype=bool)
    for block, value in attrs.items():
        mask &= (items[block] == value).to_numpy()
    hits = np.flatnonzero(mask)
    assert len(hits), f"no item with {attrs} in the tiny marketplace"
    return int(hits[0])


def _history(mk, *items, length=4):
    row = [mk.num_items] * (length - len(items)) + list(items)
    return np.array([row])


def _independent_reasons(mk, user, item, last, min_gain=MIN_GAIN):
    """One pair, by the factor names of the truth (not the module's offsets)."""
    names = mk.truth.factor_names
    taste, attrs = mk.truth.user_factors[user], mk.truth.item_factors[item]
    found = set()
    for block in ATTRIBUTE_BLOCKS:
        cols = [k for k, n in enumerate(names) if n.startswith(block + "=")]
        own = [k for k in cols if attrs[k] == 1.0]
        assert len(own) == 1
        gain = taste[own[0]] - taste[cols].mean()
        if gain >= min_gain:
            found.add(names[own[0]])
    if mk.sequential:
        row_i, row_l = mk.items.loc[item], mk.items.loc[last]
        if row_i.category in COMPLEMENTS[row_l.category] and row_i.style == row_l.style:
            found.add(f"complement={row_l.category}")
    return found


def test_names_cover_every_value_and_category():
    assert len(REASON_NAMES) == 8 + 8 + 5 + 3 + 8 + 3 + 8
    assert REASON_NAMES[:2] == ("category=tops", "category=trousers")
    assert "colour=red" in REASON_NAMES and "price_band=mid" in REASON_NAMES
    assert REASON_NAMES[-8:] == tuple(f"complement={c}" for c in CATEGORIES)
    assert len(set(REASON_NAMES)) == len(REASON_NAMES)


def test_agrees_with_an_independent_reading_of_the_truth(seq):
    rng = np.random.default_rng(0)
    users = rng.integers(0, seq.num_users, 60)
    items = rng.integers(0, seq.num_items, 60)
    last = rng.integers(0, seq.num_items, 60)
    hist = np.stack(
        [[seq.num_items, int(a), int(b)] for a, b in zip(items[::-1], last)]
    )
    got = reason_sets(true_reasons(seq, users, items, hist))
    for k in range(60):
        want = _independent_reasons(seq, users[k], items[k], last[k])
        assert got[k] == want, k
    assert any(any(r.startswith("complement=") for r in s) for s in got)


def test_a_hand_set_taste():
    mk = copy.deepcopy(make_marketplace(seed=0, size="tiny", sequential=True))
    names = mk.truth.factor_names
    taste = np.zeros(mk.truth.user_factors.shape[1])
    taste[names.index("colour=red")] = 1.0  # gain 1 - 1/8 = 0.875: a reason
    taste[names.index("style=sporty")] = 0.6  # gain 0.6 - 0.6/5 = 0.48: not one
    taste[names.index("material=leather")] = 0.6  # gain 0.6 - 0.6/8 = 0.525: a reason
    mk.truth.user_factors[0] = taste
    red_sporty = _find(mk, colour="red", style="sporty")
    row = true_reasons(mk, [0], [red_sporty], _history(mk, red_sporty))[0]
    chosen = {REASON_NAMES[k] for k in np.flatnonzero(row)}
    assert "colour=red" in chosen and "style=sporty" not in chosen
    assert true_reasons(mk, [0], [red_sporty], _history(mk, red_sporty), min_gain=0.45)[
        0, REASON_NAMES.index("style=sporty")
    ]
    blue = _find(mk, colour="blue")
    assert not true_reasons(mk, [0], [blue], _history(mk, blue))[0, :16].any()
    leather = _find(mk, material="leather")
    assert true_reasons(mk, [0], [leather], _history(mk, leather))[
        0, REASON_NAMES.index("material=leather")
    ]


def test_a_complement_of_the_last_purchase_only(seq):
    shoes = _find(seq, category="shoes", style="casual")
    bag_same = _find(seq, category="bags", style="casual")  # bags go with shoes
    bag_other = _find(seq, category="bags", style="formal")
    book = _find(seq, category="books", style="casual")  # books do not
    col = REASON_NAMES.index("complement=shoes")
    hist = np.repeat(_history(seq, shoes), 3, axis=0)
    got = true_reasons(seq, [0, 0, 0], [bag_same, bag_other, book], hist)
    assert got[:, col].tolist() == [True, False, False]
    assert got[:, -8:].sum() == 1
    # the same shoes, but not the LAST purchase: no complement reason
    earlier = _history(seq, shoes, book)
    assert not true_reasons(seq, [0], [bag_same], earlier)[0, -8:].any()


def test_no_complement_without_the_sequential_signal(plain):
    shoes = _find(plain, category="shoes", style="casual")
    bag = _find(plain, category="bags", style="casual")
    assert not true_reasons(plain, [0], [bag], _history(plain, shoes))[0, -8:].any()
    # known facts do not depend on the signal: the bag goes with the shoes bought
    assert known_facts(plain, [bag], _history(plain, shoes))[
        0, REASON_NAMES.index("complement=shoes")
    ]


def test_known_facts(seq):
    items = np.arange(seq.num_items)
    hist = np.full((seq.num_items, 3), seq.num_items)
    hist[:, -1] = items[::-1]
    facts = known_facts(seq, items, hist)
    codes = attribute_codes(seq)
    assert facts[:, :35].sum(axis=1).tolist() == [6] * seq.num_items
    item = 7
    for b, block in enumerate(ATTRIBUTE_BLOCKS):
        value = seq.items.loc[item, block]
        assert facts[item, REASON_NAMES.index(f"{block}={value}")]
        assert codes[item, b] == _code(seq, block, value)
    bought = seq.items.loc[items[::-1][item], "category"]
    mine = seq.items.loc[item, "category"]
    expected = {f"complement={bought}"} if mine in COMPLEMENTS[bought] else set()
    assert {REASON_NAMES[k] for k in np.flatnonzero(facts[item, 35:]) + 35} == expected


def test_every_true_reason_is_a_fact(seq):
    rng = np.random.default_rng(1)
    n = 200
    users, items = rng.integers(0, seq.num_users, n), rng.integers(0, seq.num_items, n)
    hist = rng.integers(0, seq.num_items + 1, (n, 5))
    hist[:, -1] = rng.integers(0, seq.num_items, n)
    truth = true_reasons(seq, users, items, hist)
    assert truth.any() and not (truth & ~known_facts(seq, items, hist)).any()


def test_colour_and_style_vocabularies_are_the_generator_s(seq):
    assert list(seq.items["colour"].cat.categories) == list(COLOURS)
    assert list(seq.items["style"].cat.categories) == list(STYLES)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"user_ids": [0, 1]}, "one entry per pair"),
        ({"history": np.array([[0, 150]])}, "padded on the LEFT"),
        ({"history": np.array([0, 1])}, "2-D array"),
        ({"history": np.array([[0, 151]])}, "history"),
        ({"item_ids": [150]}, "item_ids"),
        ({"min_gain": -1.0}, "min_gain"),
    ],
)
def test_bad_input_is_named(seq, kwargs, message):
    args = {
        "user_ids": [0],
        "item_ids": [3],
        "history": np.array([[150, 4]]),
    } | kwargs
    with pytest.raises(ValueError, match=message):
        true_reasons(seq, **args)


def test_reason_sets_checks_its_width():
    assert reason_sets(np.zeros((2, len(REASON_NAMES)), bool)) == [frozenset()] * 2
    with pytest.raises(ValueError, match="one column per reason"):
        reason_sets(np.zeros((2, 3), bool))
