"""What the marketplace is made of: its vocabulary, sizes and the generating model's
parameters (the equations are in ``book/data.md``), shared by the generators and the
truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------------------
# Vocabulary of the marketplace
# ---------------------------------------------------------------------------

CATEGORIES = (
    "tops",
    "trousers",
    "shoes",
    "bags",
    "watches",
    "headphones",
    "books",
    "kitchenware",
)
COLOURS = ("red", "blue", "green", "black", "white", "yellow", "pink", "grey")
STYLES = ("sporty", "formal", "casual", "outdoor", "vintage")
PATTERNS = ("plain", "striped", "dotted")  # visible ONLY in the image
MATERIALS = (
    "cotton",
    "leather",
    "wool",
    "synthetic",
    "metal",
    "paper",
    "ceramic",
    "wood",
)  # visible ONLY in the text
PRICE_BANDS = ("budget", "mid", "premium")  # visible ONLY in the text (and the price)

#: Where each attribute can be seen by a model that reads the catalogue.
ATTRIBUTE_VISIBILITY = {
    "category": "text and image",
    "colour": "text and image",
    "style": "text",
    "pattern": "image only",
    "material": "text only",
    "price_band": "text only (and the price)",
    "brand": "text only",
}


@dataclass(frozen=True)
class _SizeSpec:
    num_users: int
    num_items: int
    mean_candidates: float  # mean number of exposed candidates per user


#: Named sizes: ``tiny`` for tests, ``classroom`` for chapters, ``large`` for
#: benchmarks.
SIZES = {
    "tiny": _SizeSpec(num_users=200, num_items=150, mean_candidates=60.0),
    "classroom": _SizeSpec(num_users=2500, num_items=1500, mean_candidates=130.0),
    "large": _SizeSpec(num_users=100_000, num_items=20_000, mean_candidates=80.0),
}

# Attribute blocks of the one-hot item vector, in this order.
_BLOCKS = (
    ("category", len(CATEGORIES)),
    ("colour", len(COLOURS)),
    ("style", len(STYLES)),
    ("pattern", len(PATTERNS)),
    ("material", len(MATERIALS)),
    ("price_band", len(PRICE_BANDS)),
)
# Scale of each user's taste block (how much each attribute matters).
_BLOCK_SCALE = {
    "category": 0.5,
    "colour": 0.85,
    "style": 1.0,
    "pattern": 0.7,
    "material": 0.6,
    "price_band": 0.6,
}
_OFFSETS = np.cumsum([0] + [n for _, n in _BLOCKS])
FACTOR_NAMES = tuple(
    f"{name}={v}"
    for (name, _), values in zip(
        _BLOCKS, (CATEGORIES, COLOURS, STYLES, PATTERNS, MATERIALS, PRICE_BANDS)
    )
    for v in values
) + ("item_quality",)

_T_START = 1_672_531_200  # 2023-01-01 00:00:00 UTC
_T_SPAN = 730 * 86_400  # two years
_COLD_SHARE = 0.07
_COLD_FRACTION_OF_SPAN = 0.8
_MIN_PURCHASES = 5
# Funnel of the generating model (see book/data.md): exposure ~ popularity^_ZIPF
# (a share _BROWSE of the draws browse a shelf -- category, style, colour -- the
# user likes), then
# P(view) = sigmoid(a (u - t)) for (a, t) = _VIEW,
# P(click | view) = sigmoid(_CLICK ...), P(purchase | click) = sigmoid(_BUY ...).
_ZIPF = 1.0
_TASTE_RANK = 4
_SHELF_TEMP = 1.5
_QUALITY_SD = (0.5, 0.6)  # item quality b_i = brand part + item part
_POP_NOISE = 0.3  # popularity rank follows b_i + N(0, _POP_NOISE^2)
_BROWSE = 0.5
_VIEW = (2.0, 0.5)
_CLICK = (2.0, 1.8)
_BUY = (2.0, 2.0)
_UTILITY_NOISE = 0.3
_RATING_NOISE = 0.25
_RATING_SHARES = np.array([0.06, 0.11, 0.27, 0.34, 0.22])  # like MovieLens-100K

#: The sequential signal (``make_marketplace(..., sequential=True)``): after a purchase
#: in a category, a planted complement is bought in one of these categories, each with
#: equal probability, in the same style as the purchase it follows.
COMPLEMENTS = {
    "tops": ("trousers", "shoes"),
    "trousers": ("tops", "shoes"),
    "shoes": ("trousers", "bags"),
    "bags": ("shoes", "watches"),
    "watches": ("bags", "headphones"),
    "headphones": ("watches", "books"),
    "books": ("headphones", "kitchenware"),
    "kitchenware": ("books", "bags"),
}
_FOLLOW = 0.5  # P(a purchase after the first is a complement of the one before)
_COMPLEMENT_TEMP = 1.5  # complement j chosen with P proportional to exp(1.5 r_uj)
_COMPLEMENT_DELAY = 86_400.0  # mean delay (s) of a complement after its trigger


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))
