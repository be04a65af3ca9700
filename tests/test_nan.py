"""No NaN gets in: ratings, scores, vectors and hyperparameters are checked where
they enter, with a ValueError that names the argument.

Before these checks, a NaN rating stored by ``to_csr`` made BiasesOnly and EASE score
every item NaN, and ``EASE(reg=inf)`` or ``BiasesOnly(reg_user=nan)`` trained without
complaint; the tests below would fail on that code.
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
from recsys_utils import similarity as S

_rng = np.random.default_rng(1)
_dense = (_rng.random((6, 7)) < 0.5) * _rng.integers(1, 6, (6, 7)).astype(float)
_dense[np.arange(6), np.arange(6)] = 3.0
TRAIN = sp.csr_matrix(_dense)
TEST = sp.csr_matrix((_dense == 0).astype(float))  # the items each user has not seen
MODELS = {
    "Popularity": B.Popularity,
    "BiasesOnly": B.BiasesOnly,
    "ItemKNN": B.ItemKNN,
    "UserKNN": B.UserKNN,
    "EASE": B.EASE,
    "ALSMF": lambda: MF.ALSMF(embedding_dim=2, num_iters=1),
    "ImplicitALS": lambda: MF.ImplicitALS(embedding_dim=2, num_iters=1),
}


def _with(value, position=3):
    x = TRAIN.copy()
    x.data[position] = value
    return x


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("model", list(MODELS))
def test_fit_refuses_non_finite_ratings(model, bad):
    with pytest.raises(ValueError, match=r"train.* (finite|NaN)"):
        MODELS[model]().fit(_with(bad))


def test_the_message_says_where_the_nan_is():
    x = _with(np.nan)
    coo = x.tocoo()
    row, col = coo.row[np.isnan(coo.data)][0], coo.col[np.isnan(coo.data)][0]
    with pytest.raises(ValueError, match=rf"entry \(user {row}, item {col}\) is nan"):
        B.EASE().fit(x)


@pytest.mark.parametrize("bad", [np.nan, np.inf, "good"])
def test_to_csr_refuses_bad_values(bad):
    df = pd.DataFrame(
        {"user_id": [0, 1, 2], "item_id": [0, 1, 2], "rating": [5.0, 4.0, 1.0]}
    )
    df["rating"] = df["rating"].astype(object)
    df.loc[1, "rating"] = bad
    with pytest.raises(ValueError, match=r"df\['rating'\] \(value_col\) must"):
        ru.to_csr(df, 3, 3, value_col="rating")
    # without value_col the pair is simply observed: 1.0
    assert ru.to_csr(df, 3, 3).toarray().trace() == 3.0


HYPERPARAMETERS = [
    (B.BiasesOnly, "reg_user", [np.nan, np.inf, -1.0, "5", None, True]),
    (B.BiasesOnly, "reg_item", [np.nan, np.inf, -1.0]),
    (B.BiasesOnly, "num_sweeps", [0, 2.5, True, np.nan]),
    (B.ItemKNN, "k", [0, 2.5, True, np.nan, "3"]),
    (B.ItemKNN, "shrinkage", [np.nan, np.inf, -1.0, "10"]),
    (B.ItemKNN, "centered", ["no", 1, None]),
    (B.UserKNN, "shrinkage", [np.nan, np.inf]),
    (B.EASE, "reg", [np.nan, np.inf, 0.0, -5.0, "250", None]),
    (MF.ALSMF, "reg", [np.nan, np.inf, -0.1, "0.1"]),
    (MF.ALSMF, "embedding_dim", [0, 2.0, True]),
    (MF.ALSMF, "num_iters", [0, 1.5]),
    (MF.ALSMF, "scale", [np.nan, np.inf, -1.0]),
    (MF.ALSMF, "seed", ["a", 1.5, -1]),
    (MF.ALSMF, "use_bias", ["yes"]),
    (MF.ImplicitALS, "alpha", [np.nan, np.inf, -1.0]),
    (MF.ImplicitALS, "reg", [np.nan, np.inf]),
    (MF.ImplicitALS, "seed", ["a"]),
]


@pytest.mark.parametrize(
    "cls, param, value",
    [(c, p, v) for c, p, values in HYPERPARAMETERS for v in values],
    ids=lambda x: repr(x) if not isinstance(x, type) else x.__name__,
)
def test_constructors_refuse_bad_hyperparameters(cls, param, value):
    with pytest.raises(ValueError, match=param):
        cls(**{param: value})


def test_edge_hyperparameters_that_are_valid_still_work():
    # reg = 0 is valid: one sweep fits b_i on the residuals, then b_u on what is
    # left (plain averages, by hand below)
    x = sp.csr_matrix(np.array([[3.0, 0.0], [5.0, 1.0]]))
    model = B.BiasesOnly(reg_user=0.0, reg_item=0, num_sweeps=1).fit(x)
    # global mean 3.0; residuals: item 0 -> 0 and 2, item 1 -> -2
    b_i = np.array([(0.0 + 2.0) / 2, -2.0])
    b_u = np.array([0.0 - b_i[0], ((2.0 - b_i[0]) + (-2.0 - b_i[1])) / 2])
    np.testing.assert_allclose(model.item_bias_, b_i)
    np.testing.assert_allclose(model.user_bias_, b_u)
    assert np.isfinite(
        B.ItemKNN(k=1, shrinkage=0, centered=True).fit(x).score([0])
    ).all()


TAIL = np.array([True, False])
NO_TAIL = np.zeros(7, bool)


def _xquad(scores=((1.0, 0.5),), pref=(0.5,), lam=0.5):
    return LT.xquad_rerank(list(scores), TAIL, list(pref), lam, 1, num_candidates=2)


def _objective(P=None, reg=0.1):
    P = np.ones((6, 2)) if P is None else P
    return MF.mf_objective(TRAIN, P, np.ones((7, 2)), reg=reg)


def _nan_scores(users):
    return np.full((len(users), 7), np.nan)


CASES = {
    "ARP popularity": (
        lambda: M.average_recommendation_popularity([[0, 1]], [1.0, np.nan]),
        "item_popularity",
    ),
    "head_tail_split": (lambda: M.head_tail_split([1, np.nan, 2]), "item_popularity"),
    "gini_index": (lambda: M.gini_index([1.0, np.nan]), "counts"),
    "rmse": (lambda: M.rmse([1.0], [np.nan]), "y_pred"),
    "mae": (lambda: M.mae([np.inf], [1.0]), "y_true"),
    "ndcg gains": (lambda: M.ndcg_at_k([[0, 1]], [{0: np.nan}], 2), "gains"),
    "topk_from_scores": (lambda: ru.topk_from_scores([[0, np.nan]], 1), "scores"),
    "evaluate_topk": (
        lambda: ru.evaluate_topk(_nan_scores, TRAIN, TEST, 2),
        "scores",
    ),
    "popularity_groups": (
        lambda: LT.popularity_groups([1.0, np.inf]),
        "item_popularity",
    ),
    "ipw counts": (
        lambda: LT.inverse_propensity_weights([1.0, np.nan]),
        "item_counts",
    ),
    "ipw power": (
        lambda: LT.inverse_propensity_weights([1, 2], power=np.nan),
        "power",
    ),
    "ipw max_weight": (
        lambda: LT.inverse_propensity_weights([1, 2], max_weight=np.inf),
        "max_weight",
    ),
    "group_shares": (
        lambda: LT.group_shares([0, 1], [0, 2], weights=[1.0, np.nan]),
        "weights",
    ),
    "tail preference prior": (
        lambda: LT.user_tail_preference(TRAIN, NO_TAIL, prior=np.nan),
        "prior",
    ),
    "tail preference weight": (
        lambda: LT.user_tail_preference(TRAIN, NO_TAIL, 0.5, np.inf),
        "prior_weight",
    ),
    "xquad scores": (lambda: _xquad(scores=[[1.0, np.nan]]), "scores"),
    "xquad preference": (lambda: _xquad(pref=[np.nan]), "tail_preference"),
    "xquad lam": (lambda: _xquad(lam=np.nan), "lam"),
    "subset_recall": (
        lambda: LT.subset_recall([[0, 1]], [[1]], 2, item_mask=[np.nan, 1.0]),
        "item_mask",
    ),
    "cosine_matrix": (lambda: S.cosine_matrix([[1.0, np.nan]]), "a"),
    "cosine eps": (lambda: S.cosine_matrix(np.eye(2), eps=np.inf), "eps"),
    "rescale_dimensions": (
        lambda: S.rescale_dimensions(np.eye(2), np.eye(2), [1.0, np.nan]),
        "d",
    ),
    "exact_topk": (lambda: R.exact_topk([[np.nan, 1.0]], np.eye(2), 1), "queries"),
    "mmr relevance": (
        lambda: R.mmr_rerank([0, 1], [1.0, np.nan], np.eye(2), 1),
        "relevance",
    ),
    "mmr vectors": (
        lambda: R.mmr_rerank([0, 1], [1.0, 0.5], [[np.nan, 0], [0, 1]], 1),
        "item_vectors",
    ),
    "mmr lambda_": (
        lambda: R.mmr_rerank([0, 1], [1.0, 0.5], np.eye(2), 1, lambda_=np.nan),
        "lambda_",
    ),
    "nearest_history_item": (
        lambda: R.nearest_history_item([0], [1], [[1.0, 0], [np.nan, 0]]),
        "item_vectors",
    ),
    "log_q": (lambda: R.log_q([0, 1], 3, smoothing=np.inf), "smoothing"),
    "mf_objective P": (lambda: _objective(P=np.full((6, 2), np.nan)), "P"),
    "mf_objective reg": (lambda: _objective(reg=np.nan), "reg"),
    "mf_objective shape": (lambda: _objective(P=np.ones((5, 2))), "P must have 6"),
    "init_factors": (lambda: MF.init_factors(3, 3, 2, scale=np.nan), "scale"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_nan_and_infinity_are_refused_where_they_enter(case):
    call, name = CASES[case]
    with pytest.raises(ValueError, match=name):
        call()


def test_nan_loss_stops_training_in_both_twins():
    from recsys_utils import tf as rtf
    from recsys_utils import torch as rt

    messages = []
    for twin in (rt, rtf):
        with pytest.raises(
            ValueError, match="model_step returned a non-finite loss"
        ) as e:
            twin.train(
                lambda x: float("nan"),
                [np.ones(4)],
                num_epochs=1,
                batch_size=2,
                progress=False,
            )
        messages.append(str(e.value))
    assert messages[0] == messages[1] and "epoch 1, batch 1" in messages[0]
