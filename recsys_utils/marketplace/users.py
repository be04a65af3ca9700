"""Generation of the users: segments, tastes, rating leniency, activity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .spec import _BLOCK_SCALE, _BLOCKS, _OFFSETS, _TASTE_RANK

_SEGMENTS = ("athletic", "office", "outdoorsy", "retro", "relaxed", "thrifty")
# Favourite style of each segment (index into STYLES); "thrifty" has none but loves
# budget.
_SEGMENT_STYLE = (0, 1, 3, 4, 2, -1)


def _make_users(rng, num_users):
    num_seg = len(_SEGMENTS)
    segment = rng.integers(0, num_seg, num_users)
    d = int(_OFFSETS[-1])
    proto = rng.normal(0.0, 1.0, (num_seg, d))
    for s, st in enumerate(_SEGMENT_STYLE):
        if st >= 0:
            proto[s, _OFFSETS[2] + st] += 1.8
    thrifty = _SEGMENTS.index("thrifty")
    proto[thrifty, _OFFSETS[5] : _OFFSETS[6]] += np.array([1.8, 0.0, -1.5])
    # individual part: low rank (_TASTE_RANK directions shared by everyone), so the
    # whole taste matrix has rank <= num_segments + _TASTE_RANK: what MF assumes.
    mix = rng.normal(0.0, 1.0, (_TASTE_RANK, d)) / np.sqrt(_TASTE_RANK)
    z = rng.normal(0.0, 1.0, (num_users, _TASTE_RANK))
    taste = 0.75 * proto[segment] + 0.9 * (z @ mix)
    for b, (name, _) in enumerate(_BLOCKS):
        taste[:, _OFFSETS[b] : _OFFSETS[b + 1]] *= _BLOCK_SCALE[name]
    leniency = rng.normal(0.0, 0.35, num_users)
    activity = rng.lognormal(0.0, 0.6, num_users)
    q = np.quantile(activity, [1 / 3, 2 / 3])
    level = np.digitize(activity, q)
    users = pd.DataFrame(
        {
            "user_id": np.arange(num_users, dtype=np.int64),
            "segment": pd.Categorical.from_codes(segment, _SEGMENTS),
            "activity": pd.Categorical.from_codes(level, ("low", "medium", "high")),
        }
    )
    return users, taste, leniency, activity
