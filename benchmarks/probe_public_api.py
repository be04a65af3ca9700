"""Feed bad or odd inputs to recsys_utils' public API and loader; classify each outcome.

Run from a checkout, with that checkout's package on the path:

    PYTHONPATH=$PWD .venv/bin/python benchmarks/probe_public_api.py \
        --label after --out benchmarks/api_probe.md

Each probe calls the public API as a careful user would, with one bad or odd input,
and its outcome is put in one of five classes:

* ``clear``: a ``ValueError``, ``TypeError`` or ``MovieLensUnavailable`` whose message
  names the argument (or the column, or the file) that was wrong;
* ``handled``: an odd but valid input gave the right result (checked by the probe);
* ``obscure``: any other exception (an internal ``IndexError``, a message that does
  not say which argument was wrong, a framework's graph dump...);
* ``silent``: a result came back for an input that must be refused, or a wrong
  result (NaN, truncated ids, shifted columns...) came back without complaint;
* ``loss``: a file the user placed, or a valid archive, was deleted or changed.

Only names that exist on the course's main branch are used, so that the same script
measures the code before and after a change. ``--json`` also writes the raw outcomes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

warnings.filterwarnings("ignore")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import recsys_utils as ru  # noqa: E402
from recsys_utils import baselines as B  # noqa: E402
from recsys_utils import longtail as LT  # noqa: E402
from recsys_utils import metrics as M  # noqa: E402
from recsys_utils import mf as MF  # noqa: E402
from recsys_utils import retrieval as R  # noqa: E402
from recsys_utils import similarity as S  # noqa: E402
from recsys_utils import splits as SP  # noqa: E402
from recsys_utils.movielens import (  # noqa: E402
    MovieLensUnavailable,
    load_movielens_100k,
)

CLASSES = ("clear", "handled", "obscure", "silent", "loss")
CLEAR_TYPES = (ValueError, TypeError, MovieLensUnavailable)


@dataclass
class Outcome:
    area: str
    name: str
    outcome: str
    detail: str


PROBES: list[tuple[str, str, Callable, tuple, Callable | None, Callable | None]] = []


def probe(area, name, fn, names=(), ok=None, lost=None):
    """Register a probe.

    ``fn()`` runs the call. ``names``: words one of which a clear error message must
    contain. ``ok(result) -> bool``: the input is odd but valid and this is how to
    tell a right result; ``None``: the input must be refused. ``lost()`` returns the
    user files that went missing or changed (data loss).
    """
    PROBES.append((area, name, fn, tuple(names), ok, lost))


def _short(text: str, n: int = 110) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def classify(fn, names, ok, lost) -> tuple[str, str]:
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            result = fn()
    except BaseException as err:  # noqa: BLE001 - every outcome is classified
        if isinstance(err, KeyboardInterrupt):
            raise
        gone = lost() if lost else []
        if gone:
            return "loss", f"lost {gone} ({type(err).__name__}: {_short(err)})"
        msg = str(err)
        named = any(n.lower() in msg.lower() for n in names) if names else False
        if isinstance(err, CLEAR_TYPES) and named:
            return "clear", f"{type(err).__name__}: {_short(msg)}"
        return "obscure", f"{type(err).__name__}: {_short(msg)}"
    gone = lost() if lost else []
    if gone:
        return "loss", f"lost {gone} (the call returned)"
    if ok is None:
        return "silent", f"accepted, returned {_short(repr(_summary(result)), 80)}"
    try:
        good = bool(ok(result))
    except Exception as err:  # noqa: BLE001
        return "silent", f"result not right ({type(err).__name__}: {_short(err, 60)})"
    if good:
        return "handled", "right result"
    return "silent", f"wrong result {_short(repr(_summary(result)), 80)}"


def _topk_ids(result):
    """The item ids of a top-k result: today every top-k returns ``(item_ids,
    scores)``; before the one convention, some returned the ids alone and
    ``exact_topk`` ``(scores, ids)`` (the ids are the integer array)."""
    if isinstance(result, tuple):
        return next(r for r in result if np.issubdtype(r.dtype, np.integer))
    return result


def _summary(result):
    if isinstance(result, np.ndarray):
        return f"array{result.shape} {np.array2string(result.ravel()[:4])}"
    if isinstance(result, tuple) and hasattr(result, "_fields"):
        return f"{type(result).__name__}({[len(p) for p in result]})"
    if isinstance(result, pd.DataFrame):
        return f"DataFrame{result.shape}"
    if sp.issparse(result):
        return f"sparse{result.shape} nnz={result.nnz}"
    return result


# ---------------------------------------------------------------------------
# Small data shared by the probes
# ---------------------------------------------------------------------------

RNG = np.random.default_rng(0)
NU, NI = 6, 8
DENSE = (RNG.random((NU, NI)) < 0.5) * RNG.integers(1, 6, (NU, NI))
DENSE[np.arange(NU), np.arange(NU)] = 3  # every user has a rating
TRAIN = sp.csr_matrix(DENSE.astype(np.float64))
TEST = sp.csr_matrix(((RNG.random((NU, NI)) < 0.3) & (DENSE == 0)).astype(float))
TEST[0, 7] = 1.0
TEST.eliminate_zeros()
DF = pd.DataFrame(
    {
        "user_id": [0, 0, 1, 2, 2, 3],
        "item_id": [1, 2, 0, 3, 4, 5],
        "rating": [5.0, 3.0, 4.0, 2.0, 1.0, 4.0],
        "timestamp": [1, 2, 3, 4, 5, 6],
    }
)


def df_with(**cols):
    d = DF.copy()
    for key, value in cols.items():
        d[key] = value
    return d


def fitted(cls, **kw):
    return cls(**kw).fit(TRAIN)


MODEL_CLASSES = {
    "Popularity": B.Popularity,
    "BiasesOnly": B.BiasesOnly,
    "ItemKNN": B.ItemKNN,
    "UserKNN": B.UserKNN,
    "EASE": B.EASE,
    "ALSMF": MF.ALSMF,
    "ImplicitALS": MF.ImplicitALS,
}
MODELS = {
    "Popularity": lambda: fitted(B.Popularity),
    "BiasesOnly": lambda: fitted(B.BiasesOnly),
    "ItemKNN": lambda: fitted(B.ItemKNN, k=3),
    "UserKNN": lambda: fitted(B.UserKNN, k=3),
    "EASE": lambda: fitted(B.EASE, reg=10.0),
    "ALSMF": lambda: MF.ALSMF(embedding_dim=2, num_iters=2).fit(TRAIN),
    "ImplicitALS": lambda: MF.ImplicitALS(embedding_dim=2, num_iters=2).fit(TRAIN),
}

# bad id values: (label, value, must it be refused?)
BAD_IDS = [
    ("fractional floats", [0.5, 1.7, 2.2]),
    ("negative", [-1]),
    ("NaN", [np.nan]),
    ("strings", ["a"]),
    ("numeric strings", ["1"]),
    ("booleans", [True, False]),
    ("out of range", "N"),  # replaced by the number of rows
    ("None", [None]),
]


def _ids(value, upper):
    if isinstance(value, str) and value == "N":
        return [upper]
    return value


# ---------------------------------------------------------------------------
# Ids
# ---------------------------------------------------------------------------


def register_ids():
    for label, value in BAD_IDS:
        v_u, v_i = _ids(value, NU), _ids(value, NI)
        pad_u = (list(v_u) * 6)[:6]
        pad_i = (list(v_i) * 6)[:6]
        probe(
            "ids",
            f"to_csr: user_id {label}",
            lambda p=pad_u: ru.to_csr(df_with(user_id=p), NU, NI),
            ("user_id",),
        )
        probe(
            "ids",
            f"to_csr: item_id {label}",
            lambda p=pad_i: ru.to_csr(df_with(item_id=p), NU, NI),
            ("item_id",),
        )
        probe(
            "ids",
            f"evaluate_topk: user_ids {label}",
            lambda v=v_u: ru.evaluate_topk(
                np.ones((NU, NI)), TRAIN, TEST, k=2, user_ids=v
            ),
            ("user_ids",),
        )
        for mname, make in MODELS.items():
            probe(
                "ids",
                f"{mname}.score: user_ids {label}",
                lambda make=make, v=v_u: make().score(v),
                ("user_ids",),
            )
        probe(
            "ids",
            f"BiasesOnly.predict: item_ids {label}",
            lambda v=v_i: MODELS["BiasesOnly"]().predict([0] * len(v), v),
            ("item_ids",),
        )
        probe(
            "ids",
            f"ALSMF.predict: item_ids {label}",
            lambda v=v_i: MODELS["ALSMF"]().predict([0] * len(v), v),
            ("item_ids",),
        )
        probe(
            "ids",
            f"occurrence_weights: user_ids {label}",
            lambda v=v_u: MF.occurrence_weights(v, [0] * len(v)),
            ("user_ids",),
            # no upper bound here: a large id is a valid id
            ok=(lambda r: np.allclose(r[0], 1.0)) if value == "N" else None,
        )
        probe(
            "ids",
            f"log_q: item_ids {label}",
            lambda v=v_i: R.log_q(v, NI),
            ("item_ids",),
        )
        probe(
            "ids",
            f"group_shares: items {label}",
            lambda v=v_i: LT.group_shares(v, np.zeros(NI, dtype=int)),
            ("items",),
        )
        probe(
            "ids",
            f"nearest_history_item: candidate_ids {label}",
            lambda v=v_i: R.nearest_history_item(v, [0, 1], np.eye(NI)),
            ("candidate_ids",),
        )
    # whole-number floats are unambiguous: accepting them is right, refusing is clear
    whole = [0.0, 2.0]
    probe(
        "ids",
        "to_csr: whole-number float ids",
        lambda: ru.to_csr(df_with(user_id=[0.0, 0.0, 1.0, 2.0, 2.0, 3.0]), NU, NI),
        ("user_id",),
        ok=lambda m: (m != ru.to_csr(DF, NU, NI)).nnz == 0,
    )
    for mname in ("BiasesOnly", "EASE", "ALSMF"):
        probe(
            "ids",
            f"{mname}.score: whole-number float ids",
            lambda mname=mname: MODELS[mname]().score(whole),
            ("user_ids",),
            ok=lambda s, mname=mname: np.allclose(s, MODELS[mname]().score([0, 2])),
        )
    probe(
        "ids",
        "evaluate_topk: user_ids as a pandas Series",
        lambda: ru.evaluate_topk(
            np.arange(NU * NI, dtype=float).reshape(NU, NI),
            TRAIN,
            TEST,
            k=2,
            user_ids=pd.Series([0, 1]),
        ),
        ("user_ids",),
        ok=lambda r: list(r.per_user.index) == [0, 1],
    )


# ---------------------------------------------------------------------------
# NaN and hyperparameters
# ---------------------------------------------------------------------------


def _with_value(value):
    x = TRAIN.copy()
    x.data[0] = value
    return x


def register_nan():
    probe(
        "nan",
        "to_csr: NaN rating",
        lambda: ru.to_csr(df_with(rating=[5, np.nan, 4, 2, 1, 4]), NU, NI, "rating"),
        ("rating", "value_col"),
    )
    probe(
        "nan",
        "to_csr: infinite rating",
        lambda: ru.to_csr(df_with(rating=[5, np.inf, 4, 2, 1, 4]), NU, NI, "rating"),
        ("rating", "value_col"),
    )
    probe(
        "nan",
        "to_csr: string ratings",
        lambda: ru.to_csr(df_with(rating=list("abcdef")), NU, NI, "rating"),
        ("rating", "value_col"),
    )
    for bad in (np.nan, np.inf):
        for mname in ("Popularity", "BiasesOnly", "ItemKNN", "UserKNN", "EASE"):
            cls = getattr(B, mname)
            probe(
                "nan",
                f"{mname}.fit: train with {bad}",
                lambda cls=cls, bad=bad: cls().fit(_with_value(bad)).score([0, 1]),
                ("train",),
            )
        for cls in (MF.ALSMF, MF.ImplicitALS):
            probe(
                "nan",
                f"{cls.__name__}.fit: train with {bad}",
                lambda cls=cls, bad=bad: (
                    cls(embedding_dim=2, num_iters=1).fit(_with_value(bad)).score([0])
                ),
                ("train",),
            )
    ranked = np.array([[0, 1], [2, 3]])
    probe(
        "nan",
        "average_recommendation_popularity: NaN popularity",
        lambda: M.average_recommendation_popularity(
            ranked, [1.0, np.nan, 2, 3, 4, 5, 6, 7]
        ),
        ("item_popularity",),
    )
    probe(
        "nan",
        "gini_index: NaN",
        lambda: M.gini_index([1.0, np.nan]),
        ("counts",),
    )
    probe(
        "nan",
        "head_tail_split: NaN popularity",
        lambda: M.head_tail_split([1.0, np.nan, 3.0]),
        ("item_popularity",),
    )
    probe(
        "nan",
        "rmse: NaN prediction",
        lambda: M.rmse([1.0, 2.0], [1.0, np.nan]),
        ("y_pred",),
    )
    probe(
        "nan",
        "topk_from_scores: NaN score",
        lambda: ru.topk_from_scores(np.array([[1.0, np.nan, 0.0]]), 2),
        ("scores",),
    )
    probe(
        "nan",
        "evaluate_topk: score function returning NaN",
        lambda: ru.evaluate_topk(
            lambda u: np.full((len(u), NI), np.nan), TRAIN, TEST, k=2
        ),
        ("scores",),
    )
    probe(
        "nan",
        "cosine_matrix: NaN vector",
        lambda: S.cosine_matrix(np.array([[1.0, np.nan], [0.0, 1.0]])),
        ("a", "x"),
    )
    probe(
        "nan",
        "exact_topk: NaN query",
        lambda: R.exact_topk(np.array([[np.nan, 1.0]]), np.eye(2), 1),
        ("queries",),
    )
    probe(
        "nan",
        "mmr_rerank: NaN relevance",
        lambda: R.mmr_rerank([0, 1, 2], [1.0, np.nan, 0.5], np.eye(3), 2),
        ("relevance",),
    )
    probe(
        "nan",
        "mmr_rerank: NaN item vector",
        lambda: R.mmr_rerank(
            [0, 1, 2], [1.0, 0.9, 0.5], np.array([[np.nan, 0], [1, 0], [0, 1]]), 2
        ),
        ("item_vectors",),
    )
    probe(
        "nan",
        "nearest_history_item: NaN item vector",
        lambda: R.nearest_history_item(
            [0], [1, 2], np.array([[1.0, 0], [np.nan, 0], [0, 1]])
        ),
        ("item_vectors",),
    )
    probe(
        "nan",
        "xquad_rerank: NaN score",
        lambda: LT.xquad_rerank(
            np.array([[1.0, np.nan, 0.5, 0.2]]),
            np.array([False, True, True, False]),
            [0.5],
            lam=0.5,
            k=2,
            num_candidates=4,
        ),
        ("scores",),
    )
    probe(
        "nan",
        "xquad_rerank: NaN tail_preference",
        lambda: LT.xquad_rerank(
            np.array([[1.0, 0.7, 0.5, 0.2]]),
            np.array([False, True, True, False]),
            [np.nan],
            lam=0.5,
            k=2,
            num_candidates=4,
        ),
        ("tail_preference",),
    )
    probe(
        "nan",
        "group_shares: NaN weights",
        lambda: LT.group_shares([0, 1], np.array([0, 2]), weights=[1.0, np.nan]),
        ("weights",),
    )
    probe(
        "nan",
        "mf_objective: NaN factors",
        lambda: MF.mf_objective(
            TRAIN, np.full((NU, 2), np.nan), np.ones((NI, 2)), reg=0.1
        ),
        ("P",),
    )
    probe(
        "nan",
        "rating_metrics: NaN",
        lambda: ru.rating_metrics([np.nan], [1.0]),
        ("y_pred", "pred"),
    )
    probe(
        "nan",
        "subset_recall: NaN in item_mask",
        lambda: LT.subset_recall(
            np.array([[0, 1]]), [np.array([1])], 2, item_mask=[np.nan, 1.0, 1.0]
        ),
        ("item_mask",),
    )


HYPER = {
    # (constructor, parameter): bad values (all must be refused)
    ("BiasesOnly", "reg_user"): (np.nan, np.inf, -1.0, "5", None),
    ("BiasesOnly", "reg_item"): (np.nan, np.inf, "5"),
    ("BiasesOnly", "num_sweeps"): (0, 2.5, True, np.nan),
    ("ItemKNN", "k"): (0, 2.5, True, np.nan, "3"),
    ("ItemKNN", "shrinkage"): (np.nan, np.inf, -1.0, "10"),
    ("ItemKNN", "centered"): ("no",),
    ("UserKNN", "shrinkage"): (np.nan, np.inf),
    ("UserKNN", "k"): (0, 1.5),
    ("EASE", "reg"): (np.nan, np.inf, 0.0, -5.0, "250", None),
    ("ALSMF", "reg"): (np.nan, np.inf, -0.1, "0.1"),
    ("ALSMF", "embedding_dim"): (0, 2.0, True),
    ("ALSMF", "num_iters"): (0, 1.5),
    ("ALSMF", "scale"): (np.nan, np.inf, -1.0),
    ("ALSMF", "seed"): ("a", 1.5, -1),
    ("ImplicitALS", "alpha"): (np.nan, np.inf, -1.0),
    ("ImplicitALS", "reg"): (np.nan, np.inf),
    ("ImplicitALS", "seed"): ("a",),
}


def register_hyper():
    for (cname, param), values in HYPER.items():
        cls = MODEL_CLASSES[cname]
        base = {k: v for k, v in _kw(cname).items() if k != param}
        for value in values:
            kw = dict(base, **{param: value})
            probe(
                "hyperparameters",
                f"{cname}({param}={value!r})",
                lambda cls=cls, kw=kw: cls(**kw).fit(TRAIN).score([0, 1]),
                (param,),
            )
    extra = [
        (
            "init_factors(scale=nan)",
            lambda: MF.init_factors(3, 3, 2, scale=np.nan),
            ("scale",),
        ),
        (
            "init_factors(seed='a')",
            lambda: MF.init_factors(3, 3, 2, seed="a"),
            ("seed",),
        ),
        (
            "mf_objective(reg=nan)",
            lambda: MF.mf_objective(
                TRAIN, np.ones((NU, 2)), np.ones((NI, 2)), reg=np.nan
            ),
            ("reg",),
        ),
        (
            "mf_objective(P of the wrong shape)",
            lambda: MF.mf_objective(
                TRAIN, np.ones((NU - 1, 2)), np.ones((NI, 2)), reg=0.1
            ),
            ("P",),
        ),
        (
            "inverse_propensity_weights(power=nan)",
            lambda: LT.inverse_propensity_weights([1, 2, 3], power=np.nan),
            ("power",),
        ),
        (
            "inverse_propensity_weights(max_weight=nan)",
            lambda: LT.inverse_propensity_weights([1, 2, 3], max_weight=np.nan),
            ("max_weight",),
        ),
        (
            "inverse_propensity_weights(power='1')",
            lambda: LT.inverse_propensity_weights([1, 2, 3], power="1"),
            ("power",),
        ),
        (
            "head_tail_split(head_share=nan)",
            lambda: M.head_tail_split([1, 2, 3], head_share=np.nan),
            ("head_share",),
        ),
        (
            "head_tail_split(head_share='0.2')",
            lambda: M.head_tail_split([1, 2, 3], head_share="0.2"),
            ("head_share",),
        ),
        (
            "popularity_groups(tail_share=nan)",
            lambda: LT.popularity_groups([1, 2, 3, 4], tail_share=np.nan),
            ("tail_share",),
        ),
        (
            "popularity_groups(head_share=None)",
            lambda: LT.popularity_groups([1, 2, 3, 4], head_share=None),
            ("head_share",),
        ),
        (
            "xquad_rerank(lam=nan)",
            lambda: LT.xquad_rerank(
                np.array([[1.0, 0.7, 0.5]]),
                np.array([False, True, True]),
                [0.5],
                lam=np.nan,
                k=2,
                num_candidates=3,
            ),
            ("lam",),
        ),
        (
            "mmr_rerank(lambda_=nan)",
            lambda: R.mmr_rerank(
                [0, 1, 2], [1.0, 0.9, 0.5], np.eye(3), 2, lambda_=np.nan
            ),
            ("lambda_",),
        ),
        (
            "cosine_matrix(eps=inf)",
            lambda: S.cosine_matrix(np.eye(2), eps=np.inf),
            ("eps",),
        ),
        (
            "cosine_matrix(eps='1e-8')",
            lambda: S.cosine_matrix(np.eye(2), eps="1e-8"),
            ("eps",),
        ),
        (
            "log_q(smoothing=nan)",
            lambda: R.log_q([0, 1], 3, smoothing=np.nan),
            ("smoothing",),
        ),
        (
            "log_q(smoothing=inf)",
            lambda: R.log_q([0, 1], 3, smoothing=np.inf),
            ("smoothing",),
        ),
        (
            "user_tail_preference(prior=nan)",
            lambda: LT.user_tail_preference(TRAIN, np.zeros(NI, bool), prior=np.nan),
            ("prior",),
        ),
        (
            "user_tail_preference(prior_weight=inf)",
            lambda: LT.user_tail_preference(
                TRAIN, np.zeros(NI, bool), prior=0.5, prior_weight=np.inf
            ),
            ("prior_weight",),
        ),
        (
            "evaluate_topk(k=2.0)",
            lambda: ru.evaluate_topk(np.ones((NU, NI)), TRAIN, TEST, k=2.0),
            ("k",),
        ),
        (
            "evaluate_topk(batch_size=nan)",
            lambda: ru.evaluate_topk(
                np.ones((NU, NI)), TRAIN, TEST, k=2, batch_size=np.nan
            ),
            ("batch_size",),
        ),
        (
            "topk_cosine(batch_size=0)",
            lambda: S.topk_cosine(np.eye(3), np.eye(3), 1, batch_size=0),
            ("batch_size",),
        ),
        (
            "rescale_dimensions(d=nan)",
            lambda: S.rescale_dimensions(
                np.ones((2, 2)), np.ones((2, 2)), [1.0, np.nan]
            ),
            ("d",),
        ),
        (
            "minibatch_indices(seed=1.5)",
            lambda: ru.minibatch_indices(4, 2, seed=1.5),
            ("seed",),
        ),
        ("seed_everything(nan)", lambda: ru.seed_everything(np.nan), ("seed",)),
    ]
    for name, fn, names in extra:
        probe("hyperparameters", name, fn, names)


# ---------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------


def _split_df(n_users=4, per_user=5, dup=False):
    rows = []
    t = 0
    for u in range(n_users):
        for j in range(per_user):
            t += 1
            rows.append((u, j, t))
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    if dup:  # user 0 buys item 0 again, last of all
        df.loc[len(df)] = (0, 0, t + 1)
    return df


def _no_pair_in_train_and_test(split) -> bool:
    a = set(map(tuple, split.train[["user_id", "item_id"]].to_numpy()))
    b = set(map(tuple, split.test[["user_id", "item_id"]].to_numpy()))
    c = set(map(tuple, split.valid[["user_id", "item_id"]].to_numpy()))
    return not (a & b) and not (a & c) and not (b & c)


def register_splits():
    dup = _split_df(dup=True)
    for fname, fn in (
        ("random_split", lambda d: SP.random_split(d, 0.2, 0.3, seed=1)),
        ("temporal_split", lambda d: SP.temporal_split(d, 0.0, 0.2)),
        ("leave_last_out", lambda d: SP.leave_last_out(d, 0, 1)),
    ):
        probe(
            "splits",
            f"{fname}: a repeated (user, item) pair",
            lambda fn=fn: fn(dup),
            ("duplicate", "repeated", "df"),
            ok=_no_pair_in_train_and_test,
        )
    strings = _split_df(n_users=1, per_user=11)
    strings["timestamp"] = [str(t) for t in range(1, 12)]  # '10' < '9' as strings
    for fname, fn in (
        ("temporal_split", lambda d: SP.temporal_split(d, 0.0, 0.1)),
        ("leave_last_out", lambda d: SP.leave_last_out(d, 0, 1)),
    ):
        probe(
            "splits",
            f"{fname}: string timestamps",
            lambda fn=fn: fn(strings),
            ("timestamp",),
            ok=lambda s: s.test["timestamp"].tolist() == ["11"],
        )
        nan_ts = _split_df(n_users=1, per_user=6).astype({"timestamp": float})
        nan_ts.loc[2, "timestamp"] = np.nan
        probe(
            "splits",
            f"{fname}: NaN timestamp",
            lambda fn=fn, d=nan_ts: fn(d),
            ("timestamp",),
        )
        dt = _split_df(n_users=2, per_user=5)
        dt["timestamp"] = pd.to_datetime(dt["timestamp"], unit="D")
        probe(
            "splits",
            f"{fname}: datetime64 timestamps",
            lambda fn=fn, d=dt: fn(d),
            ("timestamp",),
            ok=lambda s: sorted(s.test.index.tolist()) == [4, 9],
        )
        nan_user = _split_df(n_users=2, per_user=5).astype({"user_id": float})
        nan_user.loc[3, "user_id"] = np.nan
        probe(
            "splits",
            f"{fname}: NaN user_id",
            lambda fn=fn, d=nan_user: fn(d),
            ("user_id",),
        )
    two = _split_df(n_users=1, per_user=2)
    probe(
        "splits",
        "random_split: 2 rows, fractions 0.3 + 0.3 leave train empty",
        lambda: SP.random_split(two, 0.3, 0.3),
        ("train", "frac"),
        ok=lambda s: len(s.train) > 0 and len(s.valid) > 0 and len(s.test) > 0,
    )
    three = _split_df(n_users=1, per_user=3)
    probe(
        "splits",
        "random_split: 3 rows, test_frac=0.1 leaves test empty",
        lambda: SP.random_split(three, 0.0, 0.1),
        ("test", "frac"),
        ok=lambda s: len(s.test) > 0,
    )
    ones = _split_df(n_users=5, per_user=1)
    probe(
        "splits",
        "temporal_split: every user has 1 row (test would be empty)",
        lambda: SP.temporal_split(ones, 0.1, 0.2),
        ("test", "frac"),
        ok=lambda s: len(s.test) > 0,
    )
    probe(
        "splits",
        "leave_last_out: every user has 1 row (test would be empty)",
        lambda: SP.leave_last_out(ones, 1, 1),
        ("test", "num_test"),
        ok=lambda s: len(s.test) > 0,
    )
    base = _split_df()
    for name, kw, names in (
        ("valid_frac=nan", {"valid_frac": np.nan}, ("valid_frac",)),
        ("test_frac='0.1'", {"test_frac": "0.1"}, ("test_frac",)),
        ("test_frac=None", {"test_frac": None}, ("test_frac",)),
        ("valid_frac=True", {"valid_frac": True}, ("valid_frac",)),
    ):
        probe(
            "splits",
            f"random_split({name})",
            lambda kw=kw: SP.random_split(base, **kw),
            names,
        )
        probe(
            "splits",
            f"temporal_split({name})",
            lambda kw=kw: SP.temporal_split(base, **kw),
            names,
        )
    for name, kw in (
        ("seed='a'", {"seed": "a"}),
        ("seed=1.5", {"seed": 1.5}),
        ("seed=-1", {"seed": -1}),
    ):
        probe(
            "splits",
            f"random_split({name})",
            lambda kw=kw: SP.random_split(base, **kw),
            ("seed",),
        )
    probe(
        "splits",
        "leave_last_out(num_test=1.0)",
        lambda: SP.leave_last_out(base, num_test=1.0),
        ("num_test",),
    )
    probe(
        "splits",
        "random_split: a dict instead of a DataFrame",
        lambda: SP.random_split({"user_id": [0], "item_id": [1]}),
        ("df",),
    )
    probe(
        "splits",
        "temporal_split: a NumPy array",
        lambda: SP.temporal_split(np.zeros((3, 3))),
        ("df",),
    )


# ---------------------------------------------------------------------------
# Metrics and evaluation
# ---------------------------------------------------------------------------


def register_metrics():
    ranked = np.array([[0, 1, 2], [3, 4, 5]])
    indicator = np.zeros((2, 6), dtype=int)
    indicator[0, 1] = indicator[1, 5] = 1  # user 0 likes item 1, user 1 item 5
    want = np.array([1.0, 1.0])
    for fname in ("recall_at_k", "precision_at_k", "hit_rate_at_k", "ndcg_at_k"):
        fn = getattr(M, fname)
        probe(
            "metrics",
            f"{fname}: dense 0/1 indicator as relevant",
            lambda fn=fn: fn(ranked, indicator, 3),
            ("relevant",),
            ok=lambda r, fname=fname: np.allclose(
                r,
                {"precision_at_k": want / 3}.get(fname, want)
                if fname != "ndcg_at_k"
                else [1 / np.log2(3), 1 / np.log2(4)],
            ),
        )
        probe(
            "metrics",
            f"{fname}: boolean indicator as relevant",
            lambda fn=fn: fn(ranked, indicator.astype(bool), 3),
            ("relevant",),
            ok=lambda r, fname=fname: np.allclose(
                r,
                {"precision_at_k": want / 3}.get(fname, want)
                if fname != "ndcg_at_k"
                else [1 / np.log2(3), 1 / np.log2(4)],
            ),
        )
        for kname, k in (
            ("k=0", 0),
            ("k=2.0", 2.0),
            ("k=True", True),
            ("k=nan", np.nan),
        ):
            probe(
                "metrics",
                f"{fname}({kname})",
                lambda fn=fn, k=k: fn(ranked, [[1], [5]], k),
                ("k",),
            )
        probe(
            "metrics",
            f"{fname}: float ranked_items",
            lambda fn=fn: fn(ranked.astype(float) + 0.5, [[1], [5]], 2),
            ("ranked_items",),
        )
        probe(
            "metrics",
            f"{fname}: relevant as a string",
            lambda fn=fn: fn(ranked, "15", 2),
            ("relevant",),
        )
        probe(
            "metrics",
            f"{fname}: float relevant ids",
            lambda fn=fn: fn(ranked, [[1.5], [5.0]], 2),
            ("relevant",),
        )
    tail_ids = np.array([1, 1, 0, 0, 1, 0])  # a 0/1 mask held as ints
    probe(
        "metrics",
        "long_tail_share: int 0/1 mask",
        lambda: M.long_tail_share(ranked, tail_ids),
        ("tail_items",),
        ok=lambda r: np.isclose(r, 0.5),
    )
    probe(
        "metrics",
        "long_tail_share: float 0/1 mask",
        lambda: M.long_tail_share(ranked, tail_ids.astype(float)),
        ("tail_items",),
        ok=lambda r: np.isclose(r, 0.5),
    )
    probe(
        "metrics",
        "long_tail_share: boolean mask shorter than the catalogue",
        lambda: M.long_tail_share(ranked, np.array([True, False])),
        ("tail_items",),
    )
    probe(
        "metrics",
        "catalog_coverage: num_items smaller than an id",
        lambda: M.catalog_coverage(ranked, 4),
        ("num_items", "ranked_items"),
    )
    probe(
        "metrics",
        "catalog_coverage(num_items=6.0)",
        lambda: M.catalog_coverage(ranked, 6.0),
        ("num_items",),
    )
    probe(
        "metrics",
        "exposure_gini: negative ids",
        lambda: M.exposure_gini(np.array([[0, -1]]), 3),
        ("ranked_items",),
    )
    probe(
        "metrics",
        "gini_index: negative counts",
        lambda: M.gini_index([1.0, -1.0]),
        ("counts",),
    )
    probe(
        "metrics",
        "average_recommendation_popularity: strings",
        lambda: M.average_recommendation_popularity(ranked, list("abcdef")),
        ("item_popularity",),
    )
    probe(
        "metrics",
        "average_recommendation_popularity: 2-D popularity",
        lambda: M.average_recommendation_popularity(ranked, np.ones((6, 1))),
        ("item_popularity",),
    )
    probe(
        "metrics",
        "head_tail_split(head_share=0.3) on 5 items rounds 1.5 to 2",
        lambda: M.head_tail_split([5, 4, 3, 2, 1], head_share=0.3),
        ("head_share",),
        ok=lambda t: t.tolist() == [False, False, True, True, True],
    )
    probe(
        "metrics",
        "rmse: different shapes",
        lambda: M.rmse([1.0, 2.0], [1.0]),
        ("y_true", "y_pred"),
    )
    probe(
        "metrics",
        "mrr: ranked_items 1-D",
        lambda: M.mrr(np.array([0, 1, 2]), [[1]]),
        ("ranked_items",),
    )


def register_evaluation():
    probe(
        "evaluation",
        "evaluate_topk: dense train",
        lambda: ru.evaluate_topk(np.ones((NU, NI)), DENSE, TEST, k=2),
        ("train",),
    )
    probe(
        "evaluation",
        "evaluate_topk: score function of the wrong shape",
        lambda: ru.evaluate_topk(lambda u: np.ones((len(u), NI - 1)), TRAIN, TEST, k=2),
        ("scores",),
    )
    probe(
        "evaluation",
        "evaluate_topk: score function returning a list",
        lambda: ru.evaluate_topk(
            lambda u: np.arange(len(u) * NI, dtype=float).reshape(len(u), NI).tolist(),
            TRAIN,
            TEST,
            k=2,
        ),
        ("scores",),
        ok=lambda r: r.topk.shape[1] == 2,
    )
    probe(
        "evaluation",
        "evaluate_topk: scores not callable nor an array",
        lambda: ru.evaluate_topk("scores", TRAIN, TEST, k=2),
        ("scores",),
    )
    probe(
        "evaluation",
        "evaluate_topk(k=[])",
        lambda: ru.evaluate_topk(np.ones((NU, NI)), TRAIN, TEST, k=[]),
        ("k",),
    )
    probe(
        "evaluation",
        "evaluate_topk(metrics='recall')",
        lambda: ru.evaluate_topk(np.ones((NU, NI)), TRAIN, TEST, k=2, metrics="recall"),
        ("metrics",),
        ok=lambda r: list(r.means) == ["recall@2"],
    )
    probe(
        "evaluation",
        "evaluate_topk: 2-D user_ids",
        lambda: ru.evaluate_topk(
            np.ones((NU, NI)), TRAIN, TEST, k=2, user_ids=[[0, 1]]
        ),
        ("user_ids",),
        ok=lambda r: list(r.per_user.index) == [0, 1],
    )
    probe(
        "evaluation",
        "to_csr(num_users=2.5)",
        lambda: ru.to_csr(DF, 2.5, NI),
        ("num_users",),
    )
    probe(
        "evaluation",
        "to_csr(num_items='8')",
        lambda: ru.to_csr(DF, NU, "8"),
        ("num_items",),
    )
    probe(
        "evaluation",
        "to_csr(num_users=0)",
        lambda: ru.to_csr(DF, 0, NI),
        ("num_users", "user_id"),
    )
    probe(
        "evaluation",
        "to_csr: value_col not a column",
        lambda: ru.to_csr(DF, NU, NI, "stars"),
        ("value_col",),
    )
    probe(
        "evaluation",
        "to_csr: a dict instead of a DataFrame",
        lambda: ru.to_csr({"user_id": [0], "item_id": [0]}, NU, NI),
        ("df",),
    )
    probe(
        "evaluation",
        "to_csr: repeated pair keeps the last value",
        lambda: ru.to_csr(
            pd.DataFrame({"user_id": [0, 0], "item_id": [1, 1], "rating": [2.0, 5.0]}),
            1,
            2,
            "rating",
        ),
        ("df",),
        ok=lambda m: m.nnz == 1 and m[0, 1] == 5.0,
    )
    probe(
        "evaluation",
        "topk_from_scores: +inf score ranks first",
        lambda: ru.topk_from_scores(np.array([[0.0, np.inf, 1.0]]), 2),
        ("scores",),
        ok=lambda t: _topk_ids(t).tolist() == [[1, 2]],
    )
    probe(
        "evaluation",
        "topk_from_scores: dense exclude",
        lambda: ru.topk_from_scores(np.ones((1, 3)), 1, exclude=np.ones((1, 3))),
        ("exclude",),
    )
    probe(
        "evaluation",
        "evaluate_topk: the training matrix passed as test",
        lambda: ru.evaluate_topk(np.ones((NU, NI)), TRAIN, TRAIN, k=2),
        ("train", "test"),
    )
    probe(
        "evaluation",
        "topk_from_scores(k=nan)",
        lambda: ru.topk_from_scores(np.ones((1, 3)), np.nan),
        ("k",),
    )


# ---------------------------------------------------------------------------
# Baselines, MF and the framework-neutral helpers
# ---------------------------------------------------------------------------


def register_models():
    for mname, make in MODELS.items():
        probe(
            "models",
            f"{mname}.fit: dense matrix",
            lambda mname=mname: MODEL_CLASSES[mname](**_kw(mname)).fit(DENSE),
            ("train",),
        )
        probe(
            "models",
            f"{mname}.score before fit",
            lambda mname=mname: MODEL_CLASSES[mname](**_kw(mname)).score([0]),
            ("fit",),
        )
        probe(
            "models",
            f"{mname}.score: 2-D user_ids",
            lambda make=make: make().score(np.array([[0, 1]])),
            ("user_ids",),
            ok=lambda s: s.shape == (2, NI),
        )
        probe(
            "models",
            f"{mname}.score: a scalar user id",
            lambda make=make: make().score(np.int64(1)),
            ("user_ids",),
            ok=lambda s, make=make: np.allclose(s, make().score([1])),
        )
    probe(
        "models",
        "ImplicitALS.fit: negative strengths",
        lambda: MF.ImplicitALS(embedding_dim=2, num_iters=1).fit(_with_value(-1.0)),
        ("train",),
    )
    probe(
        "models",
        "BiasesOnly.predict: lengths differ",
        lambda: MODELS["BiasesOnly"]().predict([0, 1], [0]),
        ("item_ids",),
    )
    probe(
        "models",
        "ALSMF.predict: lengths differ",
        lambda: MODELS["ALSMF"]().predict([0, 1], [0]),
        ("item_ids", "user_ids"),
    )
    probe(
        "models",
        "occurrence_weights: lengths differ",
        lambda: MF.occurrence_weights([0, 1], [0]),
        ("user_ids", "item_ids"),
    )
    probe(
        "models",
        "Oracle(target='click')",
        lambda: B.Oracle(_FakeTruth(), target="click"),
        ("target",),
    )
    probe(
        "similarity",
        "topk_cosine(k=0)",
        lambda: S.topk_cosine(np.eye(3), np.eye(3), 0),
        ("k",),
    )
    probe(
        "similarity",
        "neighbour_overlap: float ids",
        lambda: S.neighbour_overlap(np.array([[0.5, 1]]), np.array([[0, 1]])),
        ("idx_a",),
    )
    probe(
        "similarity",
        "cosine_matrix: 1-D input",
        lambda: S.cosine_matrix(np.ones(3)),
        ("a", "x"),
    )
    probe(
        "similarity",
        "cosine_matrix: strings",
        lambda: S.cosine_matrix([["a", "b"]]),
        ("a", "x"),
    )
    probe(
        "retrieval",
        "exact_topk(k=0)",
        lambda: R.exact_topk(np.eye(2), np.eye(2), 0),
        ("k",),
    )
    probe(
        "retrieval",
        "mmr_rerank: candidate out of the catalogue",
        lambda: R.mmr_rerank([0, 9], [1.0, 0.5], np.eye(3), 1),
        ("candidate_ids",),
    )
    probe(
        "retrieval",
        "category_cap_rerank: candidate out of range",
        lambda: R.category_cap_rerank([0, 9], ["a", "b"], 1, cap=1),
        ("candidate_ids", "categories"),
    )
    probe(
        "retrieval",
        "reasons: candidate out of range",
        lambda: R.reasons([9], [0], np.eye(3), ["a", "b", "c"]),
        ("candidate_ids",),
    )
    probe(
        "retrieval",
        "recall_vs_exact: float ids",
        lambda: R.recall_vs_exact(np.array([[0.5, 1.0]]), np.array([[0, 1]])),
        ("approx_ids",),
    )
    probe(
        "retrieval",
        "recall_latency: recall of a coarse IVF search is measured",
        _recall_latency_probe,
        ("index",),
        ok=lambda r: r[0] and r[1],
    )
    probe(
        "longtail",
        "popularity_groups(head 0.25, tail 0.5) on 6 items",
        lambda: LT.popularity_groups([6, 5, 4, 3, 2, 1], 0.25, 0.5),
        ("head_share",),
        ok=lambda g: g.tolist() == [0, 0, 1, 2, 2, 2],
    )
    probe(
        "longtail",
        "user_tail_preference: tail_mask as ints",
        lambda: LT.user_tail_preference(TRAIN, np.ones(NI, dtype=int)),
        ("tail_mask",),
    )
    probe(
        "longtail",
        "subset_recall: relevant ids out of the catalogue",
        lambda: LT.subset_recall(
            np.array([[0, 1]]), [np.array([9])], 2, item_mask=np.ones(3, bool)
        ),
        ("relevant", "item_mask"),
    )
    probe(
        "longtail",
        "tradeoff_sweep: evaluate returns a number",
        lambda: LT.tradeoff_sweep([0.1], lambda v: v),
        ("evaluate",),
    )


class _FakeTruth:
    def relevance(self, user_ids):
        return np.zeros((len(user_ids), NI))


def _recall_latency_probe():
    q = np.random.default_rng(1).normal(size=(50, 8)).astype(np.float32)
    v = np.random.default_rng(2).normal(size=(400, 8)).astype(np.float32)
    index = R.build_ivf_flat(v, nlist=20)
    table = R.recall_latency(index, q, v, 10, [1], repeats=1)
    exact = _topk_ids(R.exact_topk(q, v, 10))
    R.set_search_param(index, 1)
    _, approx = index.search(q, 10)
    by_hand = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    return (
        abs(table["recall"].iloc[1] - by_hand) < 1e-12,
        table["recall"].iloc[1] < 1.0,
    )


def _kw(mname):
    return {
        "ALSMF": {"embedding_dim": 2, "num_iters": 1},
        "ImplicitALS": {"embedding_dim": 2, "num_iters": 1},
        "ItemKNN": {"k": 3},
        "UserKNN": {"k": 3},
    }.get(mname, {})


# ---------------------------------------------------------------------------
# Exercise checks
# ---------------------------------------------------------------------------


def _inputs(rng):
    return (rng.normal(size=3),)


def register_checks():
    C = ru.checks
    ref = lambda x: x * 2  # noqa: E731

    def partly_right(x):  # right on the first trial only
        return (
            x * 2
            if np.isclose(x[0], _inputs(np.random.default_rng([0, 0]))[0][0])
            else x * 3
        )

    probe(
        "checks",
        "check_function: right on 1 of 5 trials",
        lambda: C.check_function(partly_right, ref, name="f", make_inputs=_inputs),
        ("f",),
        ok=lambda r: not r.ok,
    )
    probe(
        "checks",
        "check_function: make_inputs=None",
        lambda: C.check_function(ref, ref, name="f", make_inputs=None),
        ("make_inputs",),
    )
    probe(
        "checks",
        "check_function: reference_fn not callable",
        lambda: C.check_function(ref, 3, name="f", make_inputs=_inputs),
        ("reference_fn",),
    )
    probe(
        "checks",
        "check_function: a hint that is not a Hint",
        lambda: C.check_function(
            lambda x: x * 3, ref, name="f", make_inputs=_inputs, hints=["x"]
        ),
        ("hints",),
    )
    probe(
        "checks",
        "check_function(n_trials=2.5)",
        lambda: C.check_function(ref, ref, name="f", make_inputs=_inputs, n_trials=2.5),
        ("n_trials",),
    )
    probe(
        "checks",
        "check_function(rtol=-1)",
        lambda: C.check_function(ref, ref, name="f", make_inputs=_inputs, rtol=-1),
        ("rtol",),
    )
    probe(
        "checks",
        "check_value: expected is a string",
        lambda: C.check_value(1.0, "abc", name="x"),
        ("expected",),
    )
    probe(
        "checks",
        "check_value(rtol=nan)",
        lambda: C.check_value(1.0, 1.0, name="x", rtol=np.nan),
        ("rtol",),
    )
    probe(
        "checks",
        "check_value(name=None)",
        lambda: C.check_value(1.0, 1.0, name=None),
        ("name",),
        ok=lambda r: r.ok,
    )
    probe(
        "checks",
        "check_value: a hint that is not a Hint",
        lambda: C.check_value(2.0, 1.0, name="x", hints=[2.0]),
        ("hints",),
    )
    probe(
        "checks",
        "check_value: NaN where NaN is expected",
        lambda: C.check_value([1.0, np.nan], [1.0, np.nan], name="x"),
        ("x",),
        ok=lambda r: r.ok,
    )
    probe(
        "checks",
        "assert_parity: strings",
        lambda: C.assert_parity(["a"], ["b"]),
        ("curve_a",),
    )
    probe(
        "checks",
        "assert_parity(atol=-1)",
        lambda: C.assert_parity([1.0], [1.0], atol=-1.0),
        ("atol",),
    )


# ---------------------------------------------------------------------------
# The framework twins
# ---------------------------------------------------------------------------


def register_marketplace():
    state = {}

    def truth():
        if "truth" not in state:
            state["truth"] = ru.make_marketplace(seed=0, size="tiny").truth
        return state["truth"]

    for label, value in BAD_IDS:
        if value == "N":
            value = [200]
        probe(
            "marketplace (Truth; the module is owned by chapter 6)",
            f"Truth.relevance: user_ids {label}",
            lambda v=value: truth().relevance(v),
            ("user_ids",),
        )
        probe(
            "marketplace (Truth; the module is owned by chapter 6)",
            f"Truth.purchase_probability: user_ids {label}",
            lambda v=value: truth().purchase_probability(v),
            ("user_ids",),
        )
    probe(
        "marketplace (Truth; the module is owned by chapter 6)",
        "Truth.true_topk(k=2.0)",
        lambda: truth().true_topk([0], 2.0),
        ("k",),
    )
    probe(
        "marketplace (Truth; the module is owned by chapter 6)",
        "make_marketplace(size='huge')",
        lambda: ru.make_marketplace(size="huge"),
        ("size",),
    )
    probe(
        "marketplace (Truth; the module is owned by chapter 6)",
        "make_marketplace(seed=1.5)",
        lambda: ru.make_marketplace(seed=1.5, size="tiny"),
        ("seed",),
    )


def register_text():
    from recsys_utils import text as T

    for name, fn, names in (
        (
            "encode_texts(batch_size=0)",
            lambda: T.encode_texts(["a"], batch_size=0),
            ("batch_size",),
        ),
        ("encode_texts: a single string", lambda: T.encode_texts("abc"), ("texts",)),
        (
            "encode_texts: a number among the texts",
            lambda: T.encode_texts(["a", 3]),
            ("texts",),
        ),
        ("cache_key: empty list", lambda: T.cache_key([]), ("texts",)),
        (
            "load_text_encoder(model_name='')",
            lambda: T.load_text_encoder(""),
            ("model_name",),
        ),
        (
            "mean_pooling: NumPy arrays",
            lambda: T.mean_pooling(
                np.ones((1, 2, 3), dtype=np.float32), np.ones((1, 2), dtype=np.int64)
            ),
            ("token_embeddings",),
        ),
        (
            "encode_texts(encoder=(None, None))",
            lambda: T.encode_texts(["a"], encoder=(None, None)),
            ("encoder",),
        ),
        (
            "encode_texts(encoder=<a function>)",
            lambda: T.encode_texts(["a"], encoder=T.load_text_encoder),
            ("encoder",),
        ),
    ):
        probe("text", name, fn, names)


def register_sequential():
    from recsys_utils import sequential as SQ

    nan_scores = np.array([[0.1, np.nan, 0.3, 0.2], [0.4, 0.3, 0.2, 0.1]])
    seqs = [np.array([3, 0, 2]), np.array([1, 2])]
    for name, fn, names in (
        (
            "full_ranks: NaN scores",
            lambda: SQ.full_ranks(nan_scores, [1, 0]),
            ("scores",),
        ),
        (
            "sampled_ranks: NaN scores",
            lambda: SQ.sampled_ranks(nan_scores, [1, 0], [[0, 2], [1, 2]]),
            ("scores",),
        ),
        (
            "pad_sequences(pad_id=0): a real item",
            lambda: SQ.pad_sequences(seqs, 4, 0),
            ("pad_id",),
        ),
        (
            "next_item_examples(pad_id=0): a real item",
            lambda: SQ.next_item_examples(seqs, 2, 0),
            ("pad_id",),
        ),
        ("rank_metrics([1.0, nan])", lambda: SQ.rank_metrics([1.0, np.nan]), ("nan",)),
    ):
        probe("sequential", name, fn, names)


def register_distributed():
    from recsys_utils import distributed as D

    def launch_with(env):
        folder = Path(tempfile.mkdtemp(prefix="probe-launch-"))
        script = folder / "worker.py"
        script.write_text("print('hi')\n")
        return D.launch(script, 1, framework="pytorch", env=env, timeout=60)

    probe(
        "distributed",
        "launch(env={'SEED': 1}): a number, not a string",
        lambda: launch_with({"SEED": 1}),
        ("env",),
    )


def register_twins():
    from recsys_utils import tf as rtf
    from recsys_utils import torch as rt

    U = np.random.default_rng(0).normal(size=(4, 2))
    V = np.random.default_rng(1).normal(size=(5, 2))
    for twin, mod in (("torch", rt), ("tf", rtf)):
        for label, value in BAD_IDS:
            v = _ids(value, 4)
            probe(
                "twins",
                f"{twin}.scores_for_users: user_ids {label}",
                lambda mod=mod, v=v: mod.scores_for_users(U, V, v),
                ("user_ids",),
            )
        probe(
            "twins",
            f"{twin}.scores_for_users(batch_size=0)",
            lambda mod=mod: mod.scores_for_users(U, V, [0], batch_size=0),
            ("batch_size",),
        )
        probe(
            "twins",
            f"{twin}.scores_for_users: NaN vectors",
            lambda mod=mod: mod.scores_for_users(U * np.nan, V, [0]),
            ("user_vectors",),
        )
        probe(
            "twins",
            f"{twin}.embedding: NaN table",
            lambda mod=mod: mod.embedding(np.full((2, 2), np.nan)),
            ("table",),
        )
        probe(
            "twins",
            f"{twin}.dense: bias of the wrong size",
            lambda mod=mod: mod.dense(np.ones((2, 3)), np.ones(2)),
            ("bias",),
        )
        probe(
            "twins",
            f"{twin}.train(batch_size=2.5)",
            lambda mod=mod: mod.train(
                lambda x: 0.0,
                [np.ones(4)],
                num_epochs=1,
                batch_size=2.5,
                progress=False,
            ),
            ("batch_size",),
        )
        probe(
            "twins",
            f"{twin}.train(num_epochs=nan)",
            lambda mod=mod: mod.train(
                lambda x: 0.0,
                [np.ones(4)],
                num_epochs=np.nan,
                batch_size=2,
                progress=False,
            ),
            ("num_epochs",),
        )
        probe(
            "twins",
            f"{twin}.train: model_step returns NaN",
            lambda mod=mod: mod.train(
                lambda x: float("nan"),
                [np.ones(4)],
                num_epochs=1,
                batch_size=2,
                progress=False,
            ),
            ("model_step", "loss"),
        )
        probe(
            "twins",
            f"{twin}.train: empty arrays",
            lambda mod=mod: mod.train(
                lambda x: 0.0, [np.ones(0)], num_epochs=1, batch_size=2, progress=False
            ),
            ("arrays",),
        )
        probe(
            "twins",
            f"{twin}.batches(seed=-1)",
            lambda mod=mod: list(mod.batches([np.ones(4)], 2, seed=-1)),
            ("seed",),
        )
        probe(
            "twins",
            f"{twin}.to_tensor: strings",
            lambda mod=mod: mod.to_tensor(np.array(["a", "b"])),
            ("x",),
        )
        if hasattr(mod, "train_mf"):  # removed on some branches
            for lr in (-0.1, np.nan):
                probe(
                    "twins (train_mf, owned by chapter 1)",
                    f"{twin}.train_mf(lr={lr})",
                    lambda mod=mod, lr=lr: _train_mf(mod, lr=lr),
                    ("lr",),
                )
            probe(
                "twins (train_mf, owned by chapter 1)",
                f"{twin}.train_mf: fractional user ids",
                lambda mod=mod: _train_mf(mod, users=[0.5, 1.7, 2.2]),
                ("user_ids",),
            )


def _train_mf(mod, lr=0.05, users=(0, 1, 2)):
    model = mod.MF(3, 3, 2)
    return mod.train_mf(
        model,
        list(users),
        [0, 1, 2],
        [4.0, 3.0, 5.0],
        reg=0.1,
        lr=lr,
        num_epochs=1,
        batch_size=2,
        progress=False,
    )


# ---------------------------------------------------------------------------
# The MovieLens loader
# ---------------------------------------------------------------------------

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from movielens_tiny import (  # noqa: E402
    COUNTS,
    build_zip,
    damaged_zip,
    tiny_files,
    zip_of,
)


def tiny_zip(extra=None, **overrides) -> bytes:
    return build_zip(extra, **overrides)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Home:
    """A temporary cache folder with files the user placed, checked for loss."""

    def __init__(self, zip_bytes: bytes | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="probe-ml-"))
        self.kept: dict[Path, str] = {}
        if zip_bytes is not None:
            self.place("ml-100k.zip", zip_bytes)

    def place(self, rel: str, data: bytes) -> Path:
        path = self.dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.kept[path] = _digest(path)
        return path

    def lost(self) -> list[str]:
        out = []
        for path, digest in self.kept.items():
            if not path.is_file():
                out.append(f"{path.relative_to(self.dir)} deleted")
            elif _digest(path) != digest:
                out.append(f"{path.relative_to(self.dir)} changed")
        return out


def _loads_ok(ml) -> bool:
    return len(ml.ratings) == 8 and ml.num_users == 4 and ml.num_items == 3


def register_loader():
    good = tiny_zip()

    def case(name, make_home, call, names, ok=None):
        state = {}

        def run():
            state["home"] = make_home()
            return call(state["home"])

        probe("loader", name, run, names, ok, lost=lambda: state["home"].lost())

    load = lambda h, **kw: load_movielens_100k(  # noqa: E731
        h.dir, download=False, **{"expected_counts": COUNTS, **kw}
    )
    case("hand-placed zip loads", lambda: Home(good), load, ("ml-100k",), _loads_ok)
    case(
        "checksum='abc' (malformed argument)",
        lambda: Home(good),
        lambda h: load(h, checksum="abc"),
        ("checksum",),
    )
    case(
        "checksum of 64 zeros (a wrong hash)",
        lambda: Home(good),
        lambda h: load(h, checksum="0" * 64),
        ("checksum",),
    )
    case(
        "checksum=123 (not a string)",
        lambda: Home(good),
        lambda h: load(h, checksum=123),
        ("checksum",),
    )
    case(
        "expected_counts=(1, 2) (two numbers)",
        lambda: Home(good),
        lambda h: load(h, expected_counts=(1, 2)),
        ("expected_counts",),
    )
    case(
        "expected_counts=('a', 4, 3)",
        lambda: Home(good),
        lambda h: load(h, expected_counts=("a", 4, 3)),
        ("expected_counts",),
    )
    case(
        "expected_counts=(9, 4, 3) (do not match the archive)",
        lambda: Home(good),
        lambda h: load(h, expected_counts=(9, 4, 3)),
        ("expected", "integrity"),
    )
    case(
        "expected_counts=None",
        lambda: Home(good),
        lambda h: load(h, expected_counts=None),
        ("expected_counts",),
    )
    case(
        "download='no' (not a bool)",
        lambda: Home(),
        lambda h: load_movielens_100k(h.dir, download="no", url="http://127.0.0.1:9/x"),
        ("download",),
    )
    case(
        "url=42",
        lambda: Home(),
        lambda h: load_movielens_100k(h.dir, url=42),
        ("url",),
    )
    case(
        "url='not a url'",
        lambda: Home(),
        lambda h: load_movielens_100k(h.dir, url="not a url"),
        ("url",),
    )
    case(
        "data_home is a file",
        lambda: _home_with_file("cachefile"),
        lambda h: load_movielens_100k(h.dir / "cachefile", download=False),
        ("data_home", "cachefile"),
    )

    def user_folder():
        h = Home(good)
        h.place("ml-100k/my-notes.txt", b"my own notes")
        return h

    case(
        "a folder ml-100k/ the user made, with their files",
        user_folder,
        load,
        ("ml-100k",),
        _loads_ok,
    )

    def user_extracted():
        h = Home()
        for name, body in tiny_files().items():
            h.place(f"ml-100k/{name}", body.encode("latin-1"))
        return h

    case(
        "an extracted copy the user unzipped by hand (no zip)",
        user_extracted,
        load,
        ("ml-100k",),
        _loads_ok,
    )

    def symlinked():
        h = Home(good)
        target = Path(tempfile.mkdtemp(prefix="probe-target-"))
        (target / "keep.txt").write_bytes(b"keep me")
        h.kept[target / "keep.txt"] = _digest(target / "keep.txt")
        (h.dir / "ml-100k").symlink_to(target, target_is_directory=True)
        return h

    case(
        "ml-100k/ is a symlink to another folder",
        symlinked,
        load,
        ("ml-100k",),
        _loads_ok,
    )

    def empty_folder():
        h = Home(good)
        (h.dir / "ml-100k").mkdir()
        return h

    case("an empty ml-100k/ folder", empty_folder, load, ("ml-100k",), _loads_ok)

    def file_in_the_way():
        h = Home(good)
        h.place("ml-100k", b"a file, not a folder")
        return h

    case("ml-100k is a file", file_in_the_way, load, ("ml-100k",), _loads_ok)

    bad_item = tiny_files()["u.item"].replace("|01-Jan-1995||", "|", 1)
    for name, kwargs, names in (
        ("u.item line with a missing field", {"u.item": bad_item}, ("u.item",)),
        (
            "u.user line with a missing field",
            {"u.user": tiny_files()["u.user"].replace("1|24|M|", "1|M|", 1)},
            ("u.user",),
        ),
        (
            "u.data line with 3 fields",
            {"u.data": tiny_files()["u.data"].replace("\t881250949", "", 1)},
            ("u.data",),
        ),
        (
            "u.data with a rating of 4.5",
            {"u.data": tiny_files()["u.data"].replace("\t5\t881250949", "\t4.5\t1", 1)},
            ("u.data", "rating"),
        ),
        (
            "u.data with a repeated (user, item) pair",
            {"u.data": tiny_files()["u.data"].replace("1\t2\t3", "1\t1\t3", 1)},
            ("u.data", "repeat", "duplicate"),
        ),
        (
            "u1.test with an unknown user",
            {"u1.test": "9\t1\t3\t884182806\n4\t3\t5\t881171488\n"},
            ("u1",),
        ),
        (
            "u2 base and test share rows",
            {"u2.test": "1\t1\t5\t881250949\n4\t3\t5\t881171488\n"},
            ("u2",),
        ),
        (
            "ua.base without ua.test",
            {"ua.test": None},
            ("ua",),
        ),
    ):
        files = {k: v for k, v in kwargs.items() if v is not None}
        drop = [k for k, v in kwargs.items() if v is None]

        def make(files=files, drop=drop):
            body = tiny_files(**files)
            for k in drop:
                body.pop(k)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as zf:
                for n, b in body.items():
                    zf.writestr(f"ml-100k/{n}", b.encode("latin-1"))
            return Home(buf.getvalue())

        case(name, make, load, names)
    utf8 = {n: b.encode("latin-1") for n, b in tiny_files().items()}
    utf8["u.item"] = tiny_files()["u.item"].encode("utf-8")
    case(
        "u.item saved as UTF-8 (Café, Amélie)",
        lambda: Home(zip_of(utf8)),
        load,
        ("u.item",),
        lambda ml: (
            ml.items["title"].tolist()[0] == "Café au lait (1995)"
            and "Amélie (2001)" in ml.items["title"].tolist()
        ),
    )
    case(
        "a deflated zip with corrupt data",
        lambda: Home(damaged_zip()),
        load,
        ("ml-100k.zip",),
    )
    no_item = {
        n: b.encode("latin-1") for n, b in tiny_files(**{"u.item": None}).items()
    }
    case(
        "a zip without u.item",
        lambda: Home(zip_of(no_item)),
        load,
        ("ml-100k.zip",),
    )
    case(
        "the user's zip is not a zip",
        lambda: Home(b"not a zip" * 10),
        load,
        ("zip",),
    )
    case(
        "the user's zip holds a path with '..'",
        lambda: Home(tiny_zip(extra={"../evil.txt": b"x"})),
        load,
        ("unsafe", "path"),
    )
    case(
        "a stale extraction folder of a killed process",
        lambda: _stale_home(good),
        load,
        ("ml-100k",),
        _loads_ok,
    )
    case(
        "download=False and nothing cached",
        lambda: Home(),
        lambda h: load_movielens_100k(h.dir, download=False),
        ("ml-100k.zip", "download"),
    )
    case(
        "offline download fails",
        lambda: Home(),
        lambda h: load_movielens_100k(h.dir, url="http://127.0.0.1:9/ml-100k.zip"),
        ("ml-100k.zip",),
    )
    case(
        "second load reads the verified copy",
        lambda: Home(good),
        lambda h: (load(h), load(h))[1],
        ("ml-100k",),
        _loads_ok,
    )
    case(
        "a wrong load, then a right one",
        lambda: Home(good),
        lambda h: (_swallow(lambda: load(h, expected_counts=(9, 4, 3))), load(h))[1],
        ("ml-100k",),
        _loads_ok,
    )
    for procs, rounds in ((2, 3), (4, 2)):
        for r in range(rounds):
            case(
                f"{procs} processes load at once (round {r + 1})",
                lambda: Home(good),
                lambda h, procs=procs: _concurrent(h, procs),
                ("ml-100k",),
                ok=lambda res: res == "all loaded",
            )


def _swallow(fn):
    try:
        return fn()
    except Exception as err:  # noqa: BLE001
        return err


def _home_with_file(name):
    h = Home()
    h.place(name, b"just a file")
    return h


def _stale_home(zip_bytes):
    h = Home(zip_bytes)
    stale = h.dir / ".ml-100k-extract-deadbeef" / "ml-100k"
    stale.mkdir(parents=True)
    (stale / "u.data").write_text("1\t1\t5\t1\n")
    return h


_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    home, go = Path(sys.argv[1]), Path(sys.argv[2])
    from recsys_utils.movielens import load_movielens_100k
    while not go.exists():
        time.sleep(0.005)
    try:
        ml = load_movielens_100k(home, download=False, expected_counts=(8, 4, 3))
        print("ok" if len(ml.ratings) == 8 else "wrong")
    except Exception as err:
        print("error", type(err).__name__, str(err)[:200])
    """
)


def _concurrent(home: Home, procs: int) -> str:
    go = home.dir.parent / f"{home.dir.name}.go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(home.dir), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(procs)
    ]
    time.sleep(4.0)  # let every worker import and wait at the start line
    go.touch()
    outs = [w.communicate(timeout=300) for w in workers]
    go.unlink()
    lines = [
        o.strip().splitlines()[-1] if o.strip() else f"no output: {e[-200:]}"
        for o, e in outs
    ]
    if all(line == "ok" for line in lines):
        return "all loaded"
    bad = [line for line in lines if line != "ok"]
    raise RuntimeError(f"{len(bad)} of {procs} loads failed: {bad[0]}")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def run(label: str) -> list[Outcome]:
    for register in (
        register_ids,
        register_nan,
        register_hyper,
        register_splits,
        register_metrics,
        register_evaluation,
        register_models,
        register_checks,
        register_twins,
        register_marketplace,
        register_text,
        register_sequential,
        register_distributed,
        register_loader,
    ):
        register()
    out = []
    for area, name, fn, names, ok, lost in PROBES:
        outcome, detail = classify(fn, names, ok, lost)
        out.append(Outcome(area, name, outcome, detail))
    return out


def _table(outcomes: list[Outcome], areas: list[str]) -> pd.DataFrame:
    table = pd.DataFrame(
        [
            [sum(o.outcome == c for o in outcomes if o.area == a) for c in CLASSES]
            for a in areas
        ],
        index=areas,
        columns=CLASSES,
    )
    table.loc["total"] = table.sum()
    return table


def _summary_lines(table: pd.DataFrame) -> list[str]:
    lines = ["| area | " + " | ".join(CLASSES) + " |", "|---|" + "---|" * len(CLASSES)]
    for area, row in table.iterrows():
        lines.append(f"| {area} | " + " | ".join(str(int(v)) for v in row) + " |")
    return lines


def report(
    outcomes: list[Outcome],
    label: str,
    before: list[Outcome] | None = None,
    before_label: str = "before",
) -> str:
    """The markdown report: counts per area, then every probe (with the outcome of
    ``before``, the same probes run on other code, when given)."""
    areas = list(dict.fromkeys([o.area for o in outcomes]))
    if before:
        areas += [a for a in dict.fromkeys(o.area for o in before) if a not in areas]
    table = _table(outcomes, areas)
    total = ", ".join(f"{c}: {int(table.loc['total', c])}" for c in CLASSES)
    lines = [
        "# Public API probe",
        "",
        "Written by `benchmarks/probe_public_api.py` (see its docstring for the five "
        "classes: clear error, handled correctly, obscure error, silent wrong or NaN "
        "result, data loss). Commands: the code before, from its checkout, "
        "`PYTHONPATH=<before checkout> python benchmarks/probe_public_api.py "
        "--label before --json before.json`; then the code after, "
        "`PYTHONPATH=$PWD .venv/bin/python benchmarks/probe_public_api.py "
        "--before before.json --before-label '<label>' --out "
        "benchmarks/api_probe.md`.",
        "",
        f"**{label}** (commit {_commit()}): {len(outcomes)} probes; {total}.",
        "",
    ]
    if before:
        old = _table(before, areas)
        old_total = ", ".join(f"{c}: {int(old.loc['total', c])}" for c in CLASSES)
        lines += [
            f"**{before_label}**: {len(before)} probes; {old_total}.",
            "",
            f"## {before_label}",
            "",
            *_summary_lines(old),
            "",
            f"## {label}",
            "",
        ]
    lines += _summary_lines(table)
    lines += ["", "## Every probe", ""]
    old_of = {(o.area, o.name): o.outcome for o in (before or [])}
    if before:
        lines += [
            f"| area | probe | {before_label} | {label} | what happened ({label}) |",
            "|---|---|---|---|---|",
        ]
    else:
        lines += ["| area | probe | outcome | what happened |", "|---|---|---|---|"]
    for o in outcomes:
        detail = o.detail.replace("|", "\\|")
        if before:
            was = old_of.get((o.area, o.name), "-")
            lines.append(f"| {o.area} | {o.name} | {was} | {o.outcome} | {detail} |")
        else:
            lines.append(f"| {o.area} | {o.name} | {o.outcome} | {detail} |")
    return "\n".join(lines) + "\n"


def _commit() -> str:
    try:
        here = Path(ru.__file__).resolve().parent.parent
        return (
            subprocess.run(
                ["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            or "unknown"
        )
    except Exception:  # noqa: BLE001
        return "unknown (not a git checkout)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="after")
    parser.add_argument("--out", default=None, help="markdown report to write")
    parser.add_argument("--json", default=None, help="raw outcomes to write")
    parser.add_argument(
        "--before", default=None, help="outcomes (--json) of a run on other code"
    )
    parser.add_argument("--before-label", default="before")
    args = parser.parse_args(argv)
    outcomes = run(args.label)
    before = None
    if args.before:
        before = [Outcome(**o) for o in json.loads(Path(args.before).read_text())]
    text = report(outcomes, args.label, before, args.before_label)
    if args.out:
        Path(args.out).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps([o.__dict__ for o in outcomes], indent=1))
    counts = Counter(o.outcome for o in outcomes)
    print(f"{len(outcomes)} probes: " + ", ".join(f"{c} {counts[c]}" for c in CLASSES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
