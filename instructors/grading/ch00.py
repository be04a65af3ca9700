"""Chapter 0: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_utils.baselines import Popularity
from recsys_utils.evaluation import to_csr
from recsys_utils.metrics import ndcg_at_k


def ndcg3_reference():
    return ndcg_at_k(np.array([[5, 1, 3, 8, 9]]), [np.array([3, 5, 9])], 3)[0]


def _inputs(rng):
    frame = pd.DataFrame(
        {"user_id": rng.integers(0, 5, 20), "item_id": rng.integers(0, 7, 20)}
    )
    return to_csr(frame, 5, 7), rng.integers(0, 5, 3)


def _hidden_inputs(rng):
    num_users, num_items = int(rng.integers(4, 9)), int(rng.integers(5, 12))
    n = int(rng.integers(10, 40))
    frame = pd.DataFrame(
        {
            "user_id": rng.integers(0, num_users, n),
            "item_id": rng.integers(0, num_items, n),
        }
    )
    return to_csr(frame, num_users, num_items), rng.integers(0, num_users, 4)


def popularity_reference(train, user_ids):
    return Popularity().fit(train).score(user_ids)


def _per_user_counts(train, user_ids):  # the typical mistake: summing the wrong axis
    return np.asarray(train.sum(axis=1)).ravel()[user_ids, None] * np.ones(
        (1, train.shape[1])
    )


EXERCISES = {
    "ch0-ex-metrics": {
        "kind": "value",
        "name": "NDCG@3",
        "points": 1,
        "reference": ndcg3_reference,
        "rtol": 1e-3,
        "hints": [
            (
                1.5,
                "that is the DCG: divide by the ideal DCG "
                "(all three relevant items first)",
            ),
            (
                1.5 / (1 + 1 / np.log2(3)),
                "the ideal list has min(k, |T|) = 3 relevant items, not 2",
            ),
        ],
    },
    "ch0-ex-popularity": {
        "kind": "function",
        "name": "popularity_scores",
        "points": 2,
        "reference": popularity_reference,
        "inputs": _inputs,
        "hidden": _hidden_inputs,
        "hints": [
            (
                _per_user_counts,
                "you summed over items (axis=1): "
                "popularity counts users per item (axis=0)",
            )
        ],
    },
}
