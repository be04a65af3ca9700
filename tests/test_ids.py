"""Ids are whole numbers in range, everywhere.

Every public function that takes user or item ids refuses a fractional float (NumPy
would truncate 1.7 to 1), NaN, a negative id (NumPy would count it from the end), an
id beyond the range, booleans (NumPy would read them as a mask), strings and None,
with a ValueError that names the argument and, for range errors, the valid range.
Whole-number floats (what pandas gives after a merge) give the same result as ints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import recsys_utils as ru
from recsys_utils import baselines as B
from recsys_utils import longtail as LT
from recsys_utils import metrics as M
from recsys_utils import mf as MF
from recsys_utils import retrieval as R

NU, NI = 5, 6
_rng = np.random.default_rng(0)
_dense = (_rng.random((NU, NI)) < 0.5) * _rng.integers(1, 6, (NU, NI))
_dense[np.arange(NU), np.arange(NU)] = 4
TRAIN = sp.csr_matrix(_dense.astype(float))
TEST = sp.csr_matrix((_dense == 0).astype(float))
DF = pd.DataFrame(
    {"user_id": [0, 1, 2, 3], "item_id": [1, 2, 3, 5], "rating": [5.0, 3, 4, 1]}
)
VECTORS = _rng.normal(size=(NI, 3))

# name -> (function of the ids, argument name the message must hold, upper bound)
ENTRY_POINTS = {
    "to_csr user_id": (
        lambda ids: ru.to_csr(_df_with("user_id", ids), NU, NI),
        "user_id",
        NU,
    ),
    "to_csr item_id": (
        lambda ids: ru.to_csr(_df_with("item_id", ids), NU, NI),
        "item_id",
        NI,
    ),
    "evaluate_topk": (
        lambda ids: ru.evaluate_topk(
            np.arange(NU * NI, dtype=float).reshape(NU, NI), TRAIN, TEST, 2, ids
        ),
        "user_ids",
        NU,
    ),
    **{
        f"{cls.__name__}.score": (
            lambda ids, cls=cls: _fit(cls).score(ids),
            "user_ids",
            NU,
        )
        for cls in (
            B.Popularity,
            B.BiasesOnly,
            B.ItemKNN,
            B.UserKNN,
            B.EASE,
            MF.ALSMF,
            MF.ImplicitALS,
        )
    },
    "BiasesOnly.predict item_ids": (
        lambda ids: _fit(B.BiasesOnly).predict([0] * len(ids), ids),
        "item_ids",
        NI,
    ),
    "ALSMF.predict user_ids": (
        lambda ids: _fit(MF.ALSMF).predict(ids, [0] * len(ids)),
        "user_ids",
        NU,
    ),
    "ALSMF.predict item_ids": (
        lambda ids: _fit(MF.ALSMF).predict([0] * len(ids), ids),
        "item_ids",
        NI,
    ),
    "log_q": (lambda ids: R.log_q(ids, NI), "item_ids", NI),
    "group_shares": (
        lambda ids: LT.group_shares(ids, np.zeros(NI, dtype=int)),
        "items",
        NI,
    ),
    "mmr_rerank": (
        lambda ids: R.mmr_rerank(ids, np.ones(len(ids)), VECTORS, 1),
        "candidate_ids",
        NI,
    ),
    "category_cap_rerank": (
        lambda ids: R.category_cap_rerank(ids, list("aabbcc"), 1, cap=1),
        "candidate_ids",
        NI,
    ),
    "nearest_history_item candidate_ids": (
        lambda ids: R.nearest_history_item(ids, [0, 1], VECTORS),
        "candidate_ids",
        NI,
    ),
    "nearest_history_item history_ids": (
        lambda ids: R.nearest_history_item([0], ids, VECTORS),
        "history_ids",
        NI,
    ),
    "recall_at_k relevant": (
        lambda ids: M.recall_at_k(np.array([[0, 1]]), [ids], 2),
        "relevant",
        None,
    ),
    "subset_recall relevant": (
        lambda ids: LT.subset_recall(
            np.array([[0, 1]]), [ids], 2, item_mask=np.ones(NI, bool)
        ),
        "relevant",
        NI,
    ),
    "long_tail_share tail_items": (
        lambda ids: M.long_tail_share(np.array([[0, 1]]), ids),
        "tail_items",
        None,
    ),
    "occurrence_weights": (
        lambda ids: MF.occurrence_weights(ids, [0] * len(ids)),
        "user_ids",
        None,
    ),
}

BAD = {
    "fractional": [0.5, 1.7],
    "NaN": [np.nan],
    "infinite": [np.inf],
    "negative": [-1],
    "booleans": [True, False],
    "strings": ["a"],
    "numeric strings": ["1"],
    "None": [None],
}


def _df_with(col, ids):
    ids = list(ids)
    df = DF.iloc[: len(ids)].copy() if len(ids) <= len(DF) else DF.copy()
    df = pd.concat([df] * (len(ids) // len(df) + 1)).iloc[: len(ids)]
    df[col] = pd.Series(ids, index=df.index, dtype=object)
    return df


_FITTED = {}


def _fit(cls):
    if cls not in _FITTED:
        kw = (
            {"embedding_dim": 2, "num_iters": 2}
            if cls.__module__.endswith("mf")
            else {}
        )
        _FITTED[cls] = cls(**kw).fit(TRAIN)
    return _FITTED[cls]


# where a boolean vector is documented to be a mask, it is read as one (see
# test_boolean_masks_where_documented)
MASKS = {
    ("recall_at_k relevant", "booleans"),
    ("long_tail_share tail_items", "booleans"),
}


@pytest.mark.parametrize(
    "entry, kind",
    [(e, k) for e in ENTRY_POINTS for k in BAD if (e, k) not in MASKS],
)
def test_bad_ids_are_refused_naming_the_argument(entry, kind):
    fn, name, _ = ENTRY_POINTS[entry]
    with pytest.raises(ValueError, match=name) as info:
        fn(BAD[kind])
    assert "must" in str(info.value)


@pytest.mark.parametrize(
    "entry", [e for e, (_, _, upper) in ENTRY_POINTS.items() if upper is not None]
)
def test_out_of_range_ids_name_the_range(entry):
    fn, name, upper = ENTRY_POINTS[entry]
    with pytest.raises(ValueError, match=rf"{name}.* \[0, {upper}\); got {upper}"):
        fn([0, upper])


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_whole_number_floats_give_the_int_result(entry):
    fn, _, _ = ENTRY_POINTS[entry]
    ints, floats = fn([0, 2]), fn([0.0, 2.0])
    for a, b in zip(_flat(ints), _flat(floats)):
        np.testing.assert_array_equal(a, b)


def _flat(result):
    if isinstance(result, tuple):
        return [np.asarray(r) for r in result]
    if sp.issparse(result):
        return [result.toarray()]
    if isinstance(result, ru.EvalResult):
        return [result.topk, result.per_user.to_numpy()]
    return [np.asarray(result)]


def test_boolean_masks_where_documented():
    ranked = np.array([[0, 1, 2]])
    # relevant as one boolean row: items 1 and 3 relevant; item 1 found at rank 2
    assert M.recall_at_k(ranked, [[False, True, False, True]], 3) == [0.5]
    # tail_items as a boolean mask: items 0 and 2 are tail: 2 of 3 slots
    assert M.long_tail_share(ranked, np.array([True, False, True])) == 2 / 3


def test_negative_id_is_not_the_last_row():
    """The bug the check prevents: NumPy reads -1 as the last user."""
    model = _fit(MF.ALSMF)
    assert np.isfinite(model.score([NU - 1])).all()
    with pytest.raises(ValueError, match="never negative"):
        model.score([-1])


def test_truth_uses_the_same_id_check():
    truth = ru.make_marketplace(seed=0, size="tiny").truth
    for bad in ([0.5], [-1], [True], [truth.num_users]):
        with pytest.raises(ValueError, match="user_ids must"):
            truth.relevance(bad)
    np.testing.assert_array_equal(truth.relevance([1.0]), truth.relevance([1]))
