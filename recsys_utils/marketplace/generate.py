"""The generator: one seed, five random streams (items, images, users, events, text),
a sixth for the optional sequential signal."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..validation import check_bool, check_int
from .complements import _plant_complements
from .container import Marketplace
from .events import _make_interactions
from .images import _make_images
from .items import _make_items
from .spec import _BLOCKS, _MIN_PURCHASES, _OFFSETS, FACTOR_NAMES, SIZES
from .text import _add_text
from .truth import Truth
from .users import _make_users


def make_marketplace(
    seed: int = 0, size: str = "classroom", *, sequential: bool = False, **overrides
) -> Marketplace:
    """Generate the synthetic marketplace.

    Args:
        seed: seed of ``np.random.default_rng``; the same seed gives byte-identical
            frames and images.
        size: ``"tiny"`` (200 users, 150 items, for tests), ``"classroom"``
            (2,500 users, 1,500 items, about 157,000 interactions of which about
            89,000 purchases) or ``"large"``
            (100,000 users, 20,000 items, ~5M interactions).
        sequential: plant the sequential signal (chapter 6). Each purchase after a
            shopper's first is, with probability ``rho = 0.5``, replaced by a
            *complement* of the purchase before it: an item in the same style, in a
            complementary category (:data:`COMPLEMENTS`), chosen with probability
            proportional to ``exp(1.5 r_uj)`` among the items the shopper has not
            bought, and bought shortly after (an exponential delay with a mean of
            one day, always before the replaced purchase's time). The truth gains
            :meth:`Truth.complement_probability`, :meth:`Truth.next_item_probability`
            and the planted events ``truth.complements``. ``False`` (the default)
            leaves the data byte-identical to a marketplace made without it.
        **overrides: ``num_users`` and/or ``num_items`` (ints >= 10) to override
            the size's numbers; ``mean_candidates`` (exposed items per user).

    Returns:
        a :class:`Marketplace`.
    """
    sequential = check_bool(sequential, "sequential")
    if not isinstance(size, str) or size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}; got {size!r}")
    seed = check_int(seed, "seed", low=0)
    unknown = set(overrides) - {"num_users", "num_items", "mean_candidates"}
    if unknown:
        raise ValueError(
            f"unknown keyword(s) {sorted(unknown)}; allowed: num_users, num_items, "
            "mean_candidates"
        )
    spec = dataclasses.replace(SIZES[size], **overrides)
    for name in ("num_users", "num_items"):
        check_int(getattr(spec, name), name, low=10)
    if not spec.mean_candidates >= 2 * _MIN_PURCHASES:
        raise ValueError(
            f"mean_candidates must be >= {2 * _MIN_PURCHASES}; "
            f"got {spec.mean_candidates}"
        )
    size_name = size if not overrides else "custom"

    root = np.random.SeedSequence(int(seed))
    s_items, s_images, s_users, s_inter, s_text = root.spawn(5)
    items, item_codes, quality = _make_items(
        np.random.default_rng(s_items), spec.num_items
    )
    _add_text(items, item_codes, np.random.default_rng(s_text))
    images = _make_images(item_codes, np.random.default_rng(s_images))
    users, taste, leniency, activity = _make_users(
        np.random.default_rng(s_users), spec.num_users
    )

    num_factors = int(_OFFSETS[-1]) + 1
    item_factors = np.zeros((spec.num_items, num_factors))
    rows = np.arange(spec.num_items)
    for b, (name, _) in enumerate(_BLOCKS):
        item_factors[rows, _OFFSETS[b] + item_codes[name]] = 1.0
    item_factors[:, -1] = quality
    user_factors = np.concatenate([taste, np.ones((spec.num_users, 1))], axis=1)
    truth = Truth(user_factors, item_factors, FACTOR_NAMES, leniency)

    interactions, cold_items, cold_time, rating_cuts = _make_interactions(
        np.random.default_rng(s_inter), spec, item_codes, quality, truth, activity
    )  # also fills truth.item_popularity and truth.user_exposures
    if sequential:
        # a sixth stream: the five above are the same with or without it
        (s_seq,) = root.spawn(1)
        interactions = _plant_complements(
            np.random.default_rng(s_seq),
            interactions,
            item_codes,
            truth,
            cold_items,
            cold_time,
            rating_cuts,
        )  # also fills truth's sequential fields
    return Marketplace(
        items=items,
        images=images,
        users=users,
        interactions=interactions,
        truth=truth,
        cold_items=cold_items,
        cold_start_time=cold_time,
        seed=int(seed),
        size=size_name,
        sequential=bool(sequential),
    )
