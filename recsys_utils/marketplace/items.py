"""Generation of the catalogue: categories, attributes, brands, prices, quality."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .spec import (
    _QUALITY_SD,
    CATEGORIES,
    COLOURS,
    MATERIALS,
    PATTERNS,
    PRICE_BANDS,
    STYLES,
)

_CATEGORY_SHARE = np.array([0.18, 0.12, 0.16, 0.10, 0.08, 0.08, 0.16, 0.12])
_CATEGORY_MATERIALS = {
    "tops": ("cotton", "wool", "synthetic"),
    "trousers": ("cotton", "wool", "synthetic", "leather"),
    "shoes": ("leather", "synthetic", "cotton"),
    "bags": ("leather", "synthetic", "cotton"),
    "watches": ("metal", "leather", "synthetic"),
    "headphones": ("synthetic", "metal", "leather"),
    "books": ("paper",),
    "kitchenware": ("metal", "ceramic", "wood"),
}
_CATEGORY_BASE_PRICE = np.array([25.0, 45.0, 70.0, 60.0, 120.0, 90.0, 15.0, 30.0])
_BAND_MULTIPLIER = np.array([0.55, 1.0, 2.2])
_BAND_SHARE = np.array([0.35, 0.45, 0.20])
_PATTERN_SHARE = np.array([0.5, 0.25, 0.25])
_BRANDS = (
    "Arlo",
    "Brisk",
    "Calder",
    "Dunmore",
    "Elka",
    "Fenwick",
    "Garnet",
    "Halden",
    "Ilse",
    "Jory",
    "Kestrel",
    "Lumen",
    "Marlow",
    "Norde",
    "Orla",
    "Pike",
    "Quill",
    "Rowan",
    "Sable",
    "Tamsin",
    "Umber",
    "Vale",
    "Wren",
    "Yarrow",
)


def _make_items(rng, num_items):
    cat = rng.choice(len(CATEGORIES), size=num_items, p=_CATEGORY_SHARE)
    colour = rng.integers(0, len(COLOURS), num_items)
    style = rng.integers(0, len(STYLES), num_items)
    pattern = rng.choice(len(PATTERNS), size=num_items, p=_PATTERN_SHARE)
    band = rng.choice(len(PRICE_BANDS), size=num_items, p=_BAND_SHARE)
    # material: uniform among the materials that make sense for the category
    material = np.empty(num_items, dtype=np.int64)
    u = rng.random(num_items)
    for c, name in enumerate(CATEGORIES):
        allowed = np.array([MATERIALS.index(m) for m in _CATEGORY_MATERIALS[name]])
        sel = cat == c
        material[sel] = allowed[(u[sel] * len(allowed)).astype(np.int64)]
    brand = rng.integers(0, len(_BRANDS), num_items)
    brand_quality = rng.normal(0.0, _QUALITY_SD[0], len(_BRANDS))
    quality = brand_quality[brand] + rng.normal(0.0, _QUALITY_SD[1], num_items)
    price = np.round(
        _CATEGORY_BASE_PRICE[cat]
        * _BAND_MULTIPLIER[band]
        * rng.lognormal(0.0, 0.2, num_items),
        2,
    )
    items = pd.DataFrame(
        {
            "item_id": np.arange(num_items, dtype=np.int64),
            "category": pd.Categorical.from_codes(cat, CATEGORIES),
            "colour": pd.Categorical.from_codes(colour, COLOURS),
            "style": pd.Categorical.from_codes(style, STYLES),
            "pattern": pd.Categorical.from_codes(pattern, PATTERNS),
            "material": pd.Categorical.from_codes(material, MATERIALS),
            "price_band": pd.Categorical.from_codes(band, PRICE_BANDS),
            "brand": np.asarray(_BRANDS, dtype=object)[brand],
            "price": price,
        }
    )
    codes = dict(
        category=cat,
        colour=colour,
        style=style,
        pattern=pattern,
        material=material,
        price_band=band,
        brand=brand,
    )
    return items, codes, quality
