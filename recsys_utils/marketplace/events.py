"""Generation of the events: exposure, the view / click / purchase funnel, ratings and
timestamps (with the cold-start rule)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .spec import (
    _BLOCKS,
    _BROWSE,
    _BUY,
    _CLICK,
    _COLD_FRACTION_OF_SPAN,
    _COLD_SHARE,
    _MIN_PURCHASES,
    _OFFSETS,
    _POP_NOISE,
    _RATING_NOISE,
    _RATING_SHARES,
    _SHELF_TEMP,
    _T_SPAN,
    _T_START,
    _UTILITY_NOISE,
    _VIEW,
    _ZIPF,
    CATEGORIES,
    COLOURS,
    STYLES,
    _sigmoid,
)

_EVENTS = ("view", "click", "purchase")


def _sample_blocks(rng, logits: np.ndarray) -> np.ndarray:
    """One categorical draw per row with probabilities softmax(_SHELF_TEMP * logits)."""
    w = np.exp(_SHELF_TEMP * (logits - logits.max(axis=1, keepdims=True)))
    wc = np.cumsum(w, axis=1)
    return (wc < rng.random(len(w))[:, None] * wc[:, -1:]).sum(axis=1)


def _make_interactions(rng, spec, codes, quality, truth, activity, block: int = 20_000):
    num_users, num_items = spec.num_users, spec.num_items
    # Zipf-like exposure: popularity rank follows item quality loosely.
    order = np.argsort(
        -(quality + rng.normal(0.0, _POP_NOISE, num_items)), kind="stable"
    )
    rank = np.empty(num_items, dtype=np.int64)
    rank[order] = np.arange(num_items)
    pop = (rank + 1.0) ** -_ZIPF
    pop /= pop.sum()
    truth.item_popularity = pop
    pop_cdf = np.cumsum(pop)
    # Browsing: the user picks a (category, style, colour) "shelf" from their taste
    # and an item on that shelf by popularity. Items sorted by shelf, with the
    # cumulative popularity mass of each shelf, give inverse-CDF sampling per shelf.
    n_style, n_colour = len(STYLES), len(COLOURS)
    shelf = (codes["category"] * n_style + codes["style"]) * n_colour + codes["colour"]
    num_shelves = len(CATEGORIES) * n_style * n_colour
    by_shelf = np.argsort(shelf, kind="stable")
    shelf_cdf = np.cumsum(pop[by_shelf])
    shelf_start = np.searchsorted(shelf[by_shelf], np.arange(num_shelves), side="left")
    shelf_end = np.searchsorted(shelf[by_shelf], np.arange(num_shelves), side="right")
    cdf_before = np.concatenate([[0.0], shelf_cdf])
    lo_mass, hi_mass = cdf_before[shelf_start], cdf_before[shelf_end]

    taste = truth.user_factors[:, :-1]
    attr_cols = np.stack(
        [_OFFSETS[b] + codes[name] for b, (name, _) in enumerate(_BLOCKS)], axis=1
    )

    n_cand = np.maximum(
        3 * _MIN_PURCHASES, np.rint(spec.mean_candidates * activity / np.mean(activity))
    ).astype(np.int64)

    truth.user_exposures = n_cand
    parts = []
    for s in range(0, num_users, block):
        e = min(num_users, s + block)
        nc = n_cand[s:e]
        u = np.repeat(np.arange(s, e), nc)
        m = len(u)
        # exposure: a share 1 - _BROWSE from global popularity, _BROWSE from browsing a
        # shelf (category, style, colour) the user likes
        browse = rng.random(m) < _BROWSE
        items = _rng_choice_cdf(rng, pop_cdf, m)
        nb = int(browse.sum())
        if nb:
            ub = u[browse]
            c = _sample_blocks(rng, taste[ub, _OFFSETS[0] : _OFFSETS[1]])
            st = _sample_blocks(rng, taste[ub, _OFFSETS[2] : _OFFSETS[3]])
            co = _sample_blocks(rng, taste[ub, _OFFSETS[1] : _OFFSETS[2]])
            sh = (c * n_style + st) * n_colour + co
            ok = (
                shelf_end[sh] > shelf_start[sh]
            )  # empty shelf: keep the popularity draw
            sh = sh[ok]
            r = lo_mass[sh] + rng.random(len(sh)) * (hi_mass[sh] - lo_mass[sh])
            pos = np.clip(
                np.searchsorted(shelf_cdf, r, side="right"),
                shelf_start[sh],
                shelf_end[sh] - 1,
            )
            idx = np.flatnonzero(browse)[ok]
            items[idx] = by_shelf[pos]
        # de-duplicate (user, item) pairs, keeping the first exposure
        key = u.astype(np.int64) * num_items + items
        _, first = np.unique(key, return_index=True)
        first.sort()
        u, items = u[first], items[first]
        m = len(u)
        # utility u_ui = taste_u . attr_i + b_i + eps  (attr one-hot: a sum of gathers)
        util = taste[u[:, None], attr_cols[items]].sum(axis=1) + quality[items]
        util += rng.normal(0.0, _UTILITY_NOISE, m)
        viewed = rng.random(m) < _sigmoid(_VIEW[0] * (util - _VIEW[1]))
        click = viewed & (rng.random(m) < _sigmoid(_CLICK[0] * (util - _CLICK[1])))
        buy = click & (rng.random(m) < _sigmoid(_BUY[0] * (util - _BUY[1])))
        # every user buys at least _MIN_PURCHASES items: promote their best exposures
        nbuy = np.bincount(u - s, weights=buy, minlength=e - s)
        need = nbuy < _MIN_PURCHASES
        if need.any():
            sel = np.flatnonzero(need[u - s] & ~buy)
            # rank candidate exposures by utility within user (descending)
            o = sel[np.lexsort((-util[sel], u[sel]))]
            grp_start = np.searchsorted(u[o], u[o], side="left")
            within = np.arange(len(o)) - grp_start
            promote = o[within < (_MIN_PURCHASES - nbuy[u[o] - s])]
            buy[promote] = click[promote] = viewed[promote] = True
        keep = viewed
        ev = np.where(buy, 2, np.where(click, 1, 0))[keep].astype(np.int8)
        parts.append((u[keep], items[keep], ev, util[keep]))

    users = np.concatenate([p[0] for p in parts])
    items = np.concatenate([p[1] for p in parts])
    event = np.concatenate([p[2] for p in parts])
    util = np.concatenate([p[3] for p in parts])
    n = len(users)

    # ratings of purchases: utility + leniency + noise, cut at global quantiles
    is_buy = event == 2
    score = (
        util[is_buy]
        + truth.user_leniency[users[is_buy]]
        + rng.normal(0.0, _RATING_NOISE, int(is_buy.sum()))
    )
    cuts = np.quantile(score, np.cumsum(_RATING_SHARES)[:-1])
    rating = np.full(n, np.nan)
    rating[is_buy] = 1.0 + np.searchsorted(cuts, score, side="right")

    # timestamps: each user is active in a window of the two years
    start = rng.uniform(0, 0.85, num_users) * _T_SPAN
    length = rng.uniform(0.1, 1.0, num_users) * (_T_SPAN - start)
    t = start[users] + rng.random(n) * length[users]
    # cold-start items: none of their interactions before the cut-off
    cold_time = _T_START + int(_COLD_FRACTION_OF_SPAN * _T_SPAN)
    num_cold = max(1, int(round(_COLD_SHARE * num_items)))
    cold_items = np.sort(rng.choice(num_items, num_cold, replace=False)).astype(
        np.int64
    )
    is_cold = np.zeros(num_items, dtype=bool)
    is_cold[cold_items] = True
    cut = cold_time - _T_START
    early = is_cold[items] & (t < cut)
    # items released at the cut-off: early events move to after it (same relative place)
    t[early] = cut + t[early] / cut * (_T_SPAN - cut)
    ts = _T_START + np.floor(t).astype(np.int64)
    o = np.lexsort((ts, users))
    users, items, event, rating, ts = users[o], items[o], event[o], rating[o], ts[o]
    # strictly increasing per user: t'_j = j + cummax(t_j - j) within each user
    j = np.arange(n) - np.searchsorted(users, users, side="left")
    big = np.int64(4 * _T_SPAN + 10 * n)
    ts = np.maximum.accumulate(users * big + ts - j) - users * big + j

    df = pd.DataFrame(
        {
            "user_id": users.astype(np.int64),
            "item_id": items.astype(np.int64),
            "timestamp": ts.astype(np.int64),
            "event": pd.Categorical.from_codes(event, _EVENTS),
            "rating": rating,
        }
    )
    return df, cold_items, int(cold_time), cuts


def _rng_choice_cdf(rng, cdf: np.ndarray, n: int) -> np.ndarray:
    """Inverse-CDF sampling of ``n`` indices (with replacement)."""
    return np.minimum(
        np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1
    )
