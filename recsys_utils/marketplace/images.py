"""Generation of the 32 x 32 product images: a category silhouette in the item's
colour, with its pattern (the only place the pattern shows)."""

from __future__ import annotations

import numpy as np

from .spec import CATEGORIES, PATTERNS

_COLOUR_RGB = np.array(
    [
        [200, 30, 40],
        [30, 70, 190],
        [40, 150, 60],
        [25, 25, 30],
        [245, 245, 240],
        [235, 200, 30],
        [235, 120, 170],
        [130, 130, 135],
    ],
    dtype=np.float32,
)

_IMG = 32
_SHIFTS = np.arange(-2, 3)


def _category_masks() -> np.ndarray:
    """Boolean silhouettes ``(num_categories, 32, 32)`` drawn by coordinate geometry."""
    y, x = np.mgrid[0:_IMG, 0:_IMG].astype(np.float32)
    m = np.zeros((len(CATEGORIES), _IMG, _IMG), dtype=bool)
    # tops: body + sleeves (a T)
    m[0] = ((x >= 10) & (x <= 21) & (y >= 8) & (y <= 27)) | (
        (y >= 8) & (y <= 14) & (x >= 3) & (x <= 28)
    )
    # trousers: waistband + two legs
    m[1] = ((y >= 4) & (y <= 9) & (x >= 9) & (x <= 22)) | (
        (y > 9) & (y <= 29) & (((x >= 9) & (x <= 14)) | ((x >= 17) & (x <= 22)))
    )
    # shoes: sole + upper with a rounded toe
    m[2] = (
        ((y >= 20) & (y <= 24) & (x >= 3) & (x <= 28))
        | ((y >= 12) & (y < 20) & (x >= 3) & (x <= 13))
        | (((x - 14) ** 2 / 140 + (y - 20) ** 2 / 40) <= 1) & (y < 20) & (x >= 13)
    )
    # bags: body + handle ring
    ring = np.hypot(x - 15.5, y - 11)
    m[3] = ((y >= 12) & (y <= 27) & (x >= 6) & (x <= 25)) | (
        (ring >= 5) & (ring <= 7) & (y < 12)
    )
    # watches: round face + straps
    m[4] = (np.hypot(x - 15.5, y - 15.5) <= 7) | (
        (x >= 12) & (x <= 19) & ((y <= 9) | (y >= 22)) & (y >= 1) & (y <= 30)
    )
    # headphones: head band arc + two ear cups
    arc = np.hypot(x - 15.5, y - 17)
    m[5] = ((arc >= 10) & (arc <= 12.5) & (y <= 17)) | (
        (y >= 16) & (y <= 26) & (((x >= 2) & (x <= 8)) | ((x >= 23) & (x <= 29)))
    )
    # books: cover with a spine notch
    m[6] = ((x >= 8) & (x <= 24) & (y >= 4) & (y <= 28)) & ~((x == 11) & (y >= 4))
    # kitchenware: a mug with a handle
    handle = np.hypot(x - 22, y - 16)
    m[7] = ((x >= 6) & (x <= 20) & (y >= 8) & (y <= 27)) | (
        (handle >= 3) & (handle <= 5.5) & (x > 20)
    )
    return m


def _pattern_masks() -> np.ndarray:
    """Pattern darkening masks ``(num_patterns, 32, 32)`` in [0, 1]."""
    y, x = np.mgrid[0:_IMG, 0:_IMG]
    p = np.zeros((len(PATTERNS), _IMG, _IMG), dtype=np.float32)
    p[1] = ((y // 2) % 2 == 0).astype(np.float32)  # horizontal stripes
    p[2] = (np.hypot((x % 6) - 2.5, (y % 6) - 2.5) <= 1.3).astype(np.float32)  # dots
    return p


def _make_images(codes, rng, chunk: int = 4096) -> np.ndarray:
    n = len(codes["category"])
    cat_masks = _category_masks()
    ns = len(_SHIFTS)
    # all shifted silhouettes, precomputed once: (num_categories * ns * ns, 32, 32)
    shifted = (
        np.stack(
            [
                np.roll(cat_masks, (dy, dx), axis=(1, 2))
                for dy in _SHIFTS
                for dx in _SHIFTS
            ],
            axis=1,
        )
        .reshape(-1, _IMG, _IMG)
        .astype(np.float32)
    )
    pat = _pattern_masks()
    shift = rng.integers(0, ns * ns, n)
    shade = rng.uniform(0.85, 1.1, (n, 1, 1, 1)).astype(np.float32)
    bg = rng.uniform(225, 250, (n, 1, 1, 1)).astype(np.float32)
    out = np.empty((n, _IMG, _IMG, 3), dtype=np.uint8)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        mask = shifted[codes["category"][s:e] * ns * ns + shift[s:e]][
            ..., None
        ]  # (b,32,32,1)
        darken = 1.0 - 0.55 * pat[codes["pattern"][s:e]][..., None]
        rgb = _COLOUR_RGB[codes["colour"][s:e]][:, None, None, :] * shade[s:e]
        # light colours get darker patterns so stripes/dots stay visible on white items
        fg = rgb * darken + (1 - darken) * 0.0
        img = mask * fg + (1 - mask) * bg[s:e]
        img += rng.normal(0.0, 6.0, img.shape).astype(np.float32)
        out[s:e] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out
