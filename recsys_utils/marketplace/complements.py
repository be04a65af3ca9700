"""The sequential signal (``make_marketplace(..., sequential=True)``): complements
planted after purchases."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .spec import (
    _COMPLEMENT_DELAY,
    _COMPLEMENT_TEMP,
    _FOLLOW,
    _RATING_NOISE,
    _T_SPAN,
    _T_START,
    _UTILITY_NOISE,
    CATEGORIES,
    COMPLEMENTS,
    STYLES,
)


def _strictly_increasing(users: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Timestamps made strictly increasing within each user (rows sorted by user, time).

    ``t'_j = j + cummax(t_j - j)`` within a user: ties and equal times move forward by
    the fewest seconds that keep the order.
    """
    n = len(users)
    j = np.arange(n) - np.searchsorted(users, users, side="left")
    big = np.int64(4 * _T_SPAN + 10 * n)  # larger than any within-user difference
    shifted = users * big + (ts - _T_START) - j
    return np.maximum.accumulate(shifted) - users * big + j + _T_START


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Whether each of ``keys`` is in the sorted array ``sorted_keys``."""
    if not len(sorted_keys):
        return np.zeros(keys.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def _plant_complements(rng, df, codes, truth, cold_items, cold_time, rating_cuts):
    """Replace purchases by complements of the purchase before (see make_marketplace).

    Walks every shopper's purchases in time order, all shoppers at once, one position
    at a time. At position t >= 1, with probability _FOLLOW the purchase becomes a
    complement of the (possibly replaced) purchase at t - 1: a category drawn from
    COMPLEMENTS, then an item of that category in the same style, by the Gumbel-max
    trick on _COMPLEMENT_TEMP * r_uj over the items the shopper may still buy: not
    one of their purchases so far, nor one of the purchases planned at later
    positions (a replaced purchase is no longer planned), nor, before the cold-start
    time, a cold item. A shelf with no such item plants nothing. The replaced
    purchase's row takes the complement's item, time and rating; a view or click of
    the complement is superseded by its purchase.
    """
    num_items = truth.num_items
    n_style = len(STYLES)
    category, style = codes["category"], codes["style"]
    cat_index = {name: c for c, name in enumerate(CATEGORIES)}
    comp = np.array([[cat_index[c] for c in COMPLEMENTS[name]] for name in CATEGORIES])
    matrix = np.zeros((len(CATEGORIES), len(CATEGORIES)))
    for c, targets in enumerate(comp):
        matrix[c, targets] += 1.0 / len(targets)
    # shelves (category, style) as padded item lists: (num_shelves, max_shelf_size)
    shelf_of = category * n_style + style
    num_shelves = len(CATEGORIES) * n_style
    members = [np.flatnonzero(shelf_of == s) for s in range(num_shelves)]
    width = max(1, max(len(m) for m in members))
    shelf_items = np.full((num_shelves, width), -1, dtype=np.int64)
    for s, m in enumerate(members):
        shelf_items[s, : len(m)] = m
    is_cold = np.zeros(num_items, dtype=bool)
    is_cold[cold_items] = True

    buy = np.flatnonzero((df["event"] == "purchase").to_numpy())  # sorted by user, time
    users = df["user_id"].to_numpy()[buy]
    items = df["item_id"].to_numpy()[buy].copy()
    times = df["timestamp"].to_numpy()[buy].copy()
    original_times = times.copy()
    position = np.arange(len(buy)) - np.searchsorted(users, users, side="left")
    # what each shopper has bought or is going to buy is never drawn as a complement:
    # sorted keys user * num_items + item of the planned purchases, minus those
    # replaced so far (freed), plus the complements planted so far
    planned = np.sort(users * num_items + items)
    freed = np.zeros(0, dtype=np.int64)
    added = np.zeros(0, dtype=np.int64)
    planted = np.zeros(len(buy), dtype=bool)
    previous_item = np.full(len(buy), -1, dtype=np.int64)
    replaced_item = np.full(len(buy), -1, dtype=np.int64)
    taste = truth.user_factors
    factors = truth.item_factors
    by_position = np.argsort(position, kind="stable")  # rows of position 0, 1, ...
    bounds = np.searchsorted(position[by_position], np.arange(position.max() + 2))
    for t in range(1, len(bounds) - 1):
        rows = by_position[bounds[t] : bounds[t + 1]]
        follow = rows[rng.random(len(rows)) < _FOLLOW]
        if not len(follow):
            continue
        prev = items[follow - 1]
        choice = rng.integers(0, comp.shape[1], len(follow))
        shelf = comp[category[prev], choice] * n_style + style[prev]
        cand = shelf_items[shelf]  # (f, width), -1 = padding
        valid = cand >= 0
        safe = np.where(valid, cand, 0)
        u = users[follow]
        delay = np.maximum(1.0, rng.exponential(_COMPLEMENT_DELAY, len(follow)))
        gap = original_times[follow] - times[follow - 1]
        new_time = times[follow - 1] + np.minimum(
            np.floor(delay).astype(np.int64), np.maximum(1, gap // 2)
        )
        keys = u[:, None] * num_items + safe
        owned = (_contains(planned, keys) & ~_contains(freed, keys)) | _contains(
            added, keys
        )
        valid &= ~owned
        valid &= ~(is_cold[safe] & (new_time[:, None] < cold_time))
        rel = np.einsum("fd,fwd->fw", taste[u], factors[safe])  # r_uj on the shelf
        gumbel = rng.gumbel(size=cand.shape)
        logit = np.where(valid, _COMPLEMENT_TEMP * rel + gumbel, -np.inf)
        ok = valid.any(axis=1)
        pick = cand[np.arange(len(follow)), np.argmax(logit, axis=1)]
        follow, prev, pick, new_time, u = (
            follow[ok],
            prev[ok],
            pick[ok],
            new_time[ok],
            u[ok],
        )
        replaced_item[follow] = items[follow]
        items[follow] = pick
        times[follow] = new_time
        planted[follow] = True
        previous_item[follow] = prev
        freed = np.sort(np.concatenate([freed, u * num_items + replaced_item[follow]]))
        added = np.sort(np.concatenate([added, u * num_items + pick]))

    # ratings of the planted purchases: utility + leniency + noise, the same cuts
    pu, pi = users[planted], items[planted]
    util = (taste[pu] * factors[pi]).sum(axis=1) + rng.normal(
        0.0, _UTILITY_NOISE, len(pu)
    )
    score = util + truth.user_leniency[pu] + rng.normal(0.0, _RATING_NOISE, len(pu))
    planted_rating = 1.0 + np.searchsorted(rating_cuts, score, side="right")

    out = df.copy()
    rows = buy[planted]
    out.loc[rows, "item_id"] = items[planted]
    out.loc[rows, "timestamp"] = times[planted]
    out.loc[rows, "rating"] = planted_rating
    # a view or click of a planted complement is superseded by its purchase
    planted_keys = pu * num_items + pi
    all_keys = out["user_id"].to_numpy() * num_items + out["item_id"].to_numpy()
    superseded = (
        np.isin(all_keys, planted_keys) & (out["event"] != "purchase").to_numpy()
    )
    out = out[~superseded]
    out = out.sort_values(["user_id", "timestamp"], kind="stable").reset_index(
        drop=True
    )
    out["timestamp"] = _strictly_increasing(
        out["user_id"].to_numpy(), out["timestamp"].to_numpy()
    ).astype(np.int64)

    planted_frame = pd.DataFrame(
        {
            "user_id": pu.astype(np.int64),
            "item_id": pi.astype(np.int64),
            "previous_item_id": previous_item[planted],
            "replaced_item_id": replaced_item[planted],
        }
    ).merge(out[["user_id", "item_id", "timestamp"]], on=["user_id", "item_id"])
    truth.follow_probability = _FOLLOW
    truth.complement_temperature = _COMPLEMENT_TEMP
    truth.complement_matrix = matrix
    truth.complements = planted_frame
    return out
