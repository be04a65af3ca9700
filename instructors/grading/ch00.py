"""Chapter 0: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# --- ch0-ex-metrics: NDCG@k of one ranked list ------------------------------------


def _discounts(n):
    return 1 / np.log2(np.arange(2, n + 2))


def _gains(ranked, relevant, k):
    relevant = {int(i) for i in relevant}
    return np.array([1.0 if int(i) in relevant else 0.0 for i in list(ranked)[:k]])


def _dcg(ranked, relevant, k):
    gains = _gains(ranked, relevant, k)
    return float(gains @ _discounts(len(gains)))


def ndcg_reference(ranked, relevant, k):
    ideal = _discounts(min(k, len(set(relevant)))).sum()
    return _dcg(ranked, relevant, k) / ideal


def _ndcg_inputs(rng, kind=None):
    """A ranking of 5-30 distinct ids out of 60 (at least ``k``) and 1-8 relevant
    ids. ``kind`` 0: no relevant id is ranked; 1: more relevant ids than ``k``, one in
    the top ``k``; 2: fewer relevant ids than ``k``, one in the top ``k``; 3: drawn
    among the first ranked ids and a few others (often several hits); ``None``: any
    of these."""
    kind = int(rng.integers(0, 4)) if kind is None else kind
    if kind == 1:
        k = int(rng.integers(2, 6))
        size = int(rng.integers(k + 1, 9))
    elif kind == 2:
        k = int(rng.integers(4, 11))
        size = int(rng.integers(1, min(k, 9)))
    else:
        k, size = int(rng.integers(1, 11)), int(rng.integers(1, 9))
    n = int(rng.integers(max(5, k), 31))  # at least k ids are ranked
    ranked = [int(i) for i in rng.permutation(60)[:n]]
    unranked = sorted(set(range(60)) - set(ranked))
    if kind == 0:
        relevant = rng.choice(unranked, size, replace=False)
    elif kind == 3:
        pool = ranked[: min(size + 2, n)] + unranked[:3]
        relevant = rng.choice(pool, min(size, len(pool)), replace=False)
    else:
        hit = ranked[int(rng.integers(0, min(k, n)))]
        others = rng.choice([i for i in range(60) if i != hit], size - 1, False)
        relevant = [hit, *others]
    return ranked, sorted(int(i) for i in relevant), k


def _ndcg_hidden(rng, trial):  # every grading seed covers each kind of case
    return _ndcg_inputs(rng, kind=trial % 4)


def _dcg_only(ranked, relevant, k):
    return _dcg(ranked, relevant, k)


def _ideal_over_all_relevant(ranked, relevant, k):
    return _dcg(ranked, relevant, k) / _discounts(len(set(relevant))).sum()


def _ideal_over_k(ranked, relevant, k):
    return _dcg(ranked, relevant, k) / _discounts(k).sum()


# --- ch0-ex-popularity: popularity with recency ------------------------------------


def popularity_reference(train, num_items, half_life):
    weights = 0.5 ** (train["age"].to_numpy(dtype=float) / half_life)
    items = train["item_id"].to_numpy()
    return np.bincount(items, weights=weights, minlength=num_items)


def _log(rng, max_users=9, max_items=15, max_rows=50):
    """A log of purchases with their age in days; the last item is never bought
    (its score must be there, and 0)."""
    num_items = int(rng.integers(5, max_items + 1))
    n = int(rng.integers(10, max_rows + 1))
    train = pd.DataFrame(
        {
            "user_id": rng.integers(0, max_users, n),
            "item_id": rng.integers(0, num_items - 1, n),
            "age": rng.integers(0, 91, n),
        }
    )
    return train, num_items, float(rng.choice([7.0, 14.0, 30.0]))


def _popularity_hidden(rng):
    return _log(rng, max_users=20, max_items=40, max_rows=120)


def _unweighted(train, num_items, half_life):
    return np.bincount(train["item_id"].to_numpy(), minlength=num_items).astype(float)


def _exp_decay(train, num_items, half_life):
    weights = np.exp(-train["age"].to_numpy(dtype=float) / half_life)
    return np.bincount(train["item_id"], weights=weights, minlength=num_items)


def _older_weighs_more(train, num_items, half_life):
    weights = 0.5 ** (-train["age"].to_numpy(dtype=float) / half_life)
    return np.bincount(train["item_id"], weights=weights, minlength=num_items)


EXERCISES = {
    "ch0-ex-metrics": {
        "kind": "function",
        "name": "ndcg_at",
        "points": 1,
        "reference": ndcg_reference,
        "inputs": _ndcg_inputs,
        "hidden": _ndcg_hidden,
        "hints": [
            (
                _dcg_only,
                "that is the DCG: divide by the ideal DCG "
                "(the relevant items ranked first)",
            ),
            (
                _ideal_over_all_relevant,
                "the ideal list holds min(k, len(relevant)) relevant items: "
                "a list of k items cannot hold more",
            ),
            (
                _ideal_over_k,
                "the ideal list holds min(k, len(relevant)) relevant items, "
                "not k: with fewer relevant items the rest of it gains nothing",
            ),
        ],
    },
    "ch0-ex-popularity": {
        "kind": "function",
        "name": "popularity_scores",
        "points": 2,
        "reference": popularity_reference,
        "inputs": _log,
        "hidden": _popularity_hidden,
        "hints": [
            (
                _unweighted,
                "every purchase counts 1 here: weight each one by "
                "0.5 ** (age / half_life)",
            ),
            (
                _exp_decay,
                "exp(-age / half_life) halves every 0.69 half-lives: a half-life "
                "is the age at which a purchase weighs 0.5, 0.5 ** (age / half_life)",
            ),
            (
                _older_weighs_more,
                "old purchases weigh more than new ones here: the exponent is "
                "+age / half_life on a base of 0.5",
            ),
        ],
    },
}
