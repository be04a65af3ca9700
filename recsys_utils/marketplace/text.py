"""Generation of titles and descriptions, with synonyms (a bag-of-words model sees
"crimson" and "red" as unrelated words, a pretrained sentence encoder does not)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .items import _BRANDS

# Synonyms: a bag-of-words model sees "crimson" and "red" as unrelated words, a
# pretrained sentence encoder does not.
_COLOUR_WORDS = (
    ("red", "crimson", "scarlet", "cherry"),
    ("blue", "navy", "cobalt", "azure"),
    ("green", "olive", "emerald", "forest green"),
    ("black", "jet black", "ebony", "charcoal"),
    ("white", "ivory", "snow white", "cream"),
    ("yellow", "mustard", "lemon", "golden"),
    ("pink", "rose", "blush", "fuchsia"),
    ("grey", "gray", "slate", "ash"),
)
_STYLE_WORDS = (
    ("sporty", "athletic", "running", "training", "performance"),
    ("formal", "elegant", "dressy", "business", "smart"),
    ("casual", "everyday", "relaxed", "laid-back", "easy-going"),
    ("outdoor", "trail", "hiking", "rugged", "all-weather"),
    ("vintage", "retro", "classic", "old-school", "heritage"),
)
_STYLE_USE = (
    ("the gym", "running", "training sessions", "your workouts"),
    ("the office", "formal occasions", "business meetings", "evening events"),
    ("everyday wear", "weekends", "lazy Sundays", "daily life"),
    ("the trail", "hiking", "the great outdoors", "mountain walks"),
    ("a retro look", "lovers of classic design", "an old-school feel", "collectors"),
)
_CATEGORY_NOUNS = (
    ("top", "t-shirt", "shirt", "tee", "blouse"),
    ("trousers", "pants", "chinos", "slacks"),
    ("shoes", "sneakers", "trainers", "runners", "footwear"),
    ("bag", "backpack", "tote", "satchel", "holdall"),
    ("watch", "wristwatch", "timepiece", "chronograph"),
    ("headphones", "earphones", "headset", "cans"),
    ("book", "novel", "paperback", "hardback"),
    ("mug", "saucepan", "cookware", "kitchen set", "pot"),
)
_MATERIAL_WORDS = (
    ("cotton", "organic cotton", "soft cotton"),
    ("leather", "genuine leather", "full-grain leather"),
    ("wool", "merino", "knitted wool"),
    ("synthetic", "polyester", "nylon"),
    ("metal", "stainless steel", "aluminium"),
    ("paper", "recycled paper", "quality paper"),
    ("ceramic", "stoneware", "porcelain"),
    ("wood", "oak", "timber"),
)
_BAND_WORDS = (
    ("budget", "affordable", "great-value", "bargain"),
    ("mid-range", "reasonably priced", "fairly priced"),
    ("premium", "luxury", "high-end", "designer"),
)


def _pick(rng, table, index):
    """Pick, for each row, a random synonym from ``table[index[row]]`` (vectorised)."""
    counts = np.array([len(t) for t in table])
    flat = np.array([w for t in table for w in t], dtype=object)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    j = (rng.random(len(index)) * counts[index]).astype(np.int64)
    return flat[starts[index] + j]


def _cap(words: np.ndarray) -> np.ndarray:
    s = pd.Series(words, dtype=object)
    return (s.str[:1].str.upper() + s.str[1:]).to_numpy(dtype=object)


def _article(words: np.ndarray) -> np.ndarray:
    first = pd.Series(words, dtype=object).str[:1].str.lower().to_numpy(dtype=object)
    return np.where(np.isin(first, list("aeiou")), "An", "A").astype(object)


def _add_text(items, codes, rng):
    n = len(items)
    colour = _pick(rng, _COLOUR_WORDS, codes["colour"])
    style = _pick(rng, _STYLE_WORDS, codes["style"])
    noun = _pick(rng, _CATEGORY_NOUNS, codes["category"])
    use = _pick(rng, _STYLE_USE, codes["style"])
    material = _pick(rng, _MATERIAL_WORDS, codes["material"])
    band = _pick(rng, _BAND_WORDS, codes["price_band"])
    brand = np.asarray(_BRANDS, dtype=object)[codes["brand"]]
    colour2 = _pick(rng, _COLOUR_WORDS, codes["colour"])
    titles = np.stack(
        [
            _cap(colour + " " + style + " " + noun),  # "Crimson trail runners"
            brand + " " + style + " " + noun + " in " + colour,
            _cap(style + " " + colour + " " + noun),
            brand + " " + colour + " " + noun + " for " + use,
        ]
    )
    t = rng.integers(0, titles.shape[0], n)
    title = titles[t, np.arange(n)]
    descriptions = np.stack(
        [
            _cap(
                band
                + " "
                + colour2
                + " "
                + noun
                + " made of "
                + material
                + ", ideal for "
                + use
            )
            + ". By "
            + brand
            + ".",
            _article(band)
            + " "
            + band
            + " "
            + material
            + " "
            + noun
            + " from "
            + brand
            + " in "
            + colour2
            + ", made for "
            + use
            + ".",
            brand
            + " presents "
            + np.char.lower(_article(colour2).astype(str)).astype(object)
            + " "
            + colour2
            + " "
            + noun
            + " for "
            + use
            + ": "
            + material
            + ", "
            + band
            + ".",
        ]
    )
    d = rng.integers(0, descriptions.shape[0], n)
    items["title"] = pd.array(title, dtype=object)
    items["description"] = pd.array(descriptions[d, np.arange(n)], dtype=object)
