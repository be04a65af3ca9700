"""Checks of chapter 0's exercises (the data, the protocol and the baselines).

Students: the references below are the answers. Try the exercise first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..baselines import Popularity
from ..checks import CheckResult, Hint, check_function, check_value
from ..evaluation import to_csr
from ..metrics import ndcg_at_k
from . import register


@register("ch0-ex-metrics")
def ndcg3(answer) -> CheckResult:
    expected = ndcg_at_k(np.array([[5, 1, 3, 8, 9]]), [np.array([3, 5, 9])], 3)[0]
    return check_value(
        answer,
        expected,
        name="NDCG@3",
        rtol=1e-3,
        exercise="ch0-ex-metrics",
        hints=[
            Hint(
                1.5,
                "that is the DCG: divide by the ideal DCG "
                "(all three relevant items first)",
            ),
            Hint(
                1.5 / (1 + 1 / np.log2(3)),
                "the ideal list has min(k, |T|) = 3 relevant items, not 2",
            ),
        ],
    )


def _inputs(rng):
    frame = pd.DataFrame(
        {"user_id": rng.integers(0, 5, 20), "item_id": rng.integers(0, 7, 20)}
    )
    return to_csr(frame, 5, 7), rng.integers(0, 5, 3)


def _per_user_counts(train, user_ids):  # the typical mistake: summing the wrong axis
    return np.asarray(train.sum(axis=1)).ravel()[user_ids, None] * np.ones(
        (1, train.shape[1])
    )


@register("ch0-ex-popularity")
def popularity_scores(answer) -> CheckResult:
    return check_function(
        answer,
        lambda train, user_ids: Popularity().fit(train).score(user_ids),
        name="popularity_scores",
        make_inputs=_inputs,
        exercise="ch0-ex-popularity",
        hints=[
            Hint(
                _per_user_counts,
                "you summed over items (axis=1): "
                "popularity counts users per item (axis=0)",
            )
        ],
    )
