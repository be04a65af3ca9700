"""Named evaluation protocols for MovieLens-100K, each with its published figures.

A *protocol* fixes what a number on MovieLens-100K means: which ratings are held out,
what is predicted, which metric, how it is averaged. Three are named here:

* :data:`U1`: the official ``u1.base`` / ``u1.test`` split of the archive (20,000 test
  ratings); rating prediction, RMSE and MAE.
* :data:`STRATIFIED`: the split of Microsoft Recommenders' ML-100K benchmark notebook
  (``examples/06_benchmarks/movielens.ipynb``): ``python_stratified_split`` with
  ratio 0.75, seed 42 and ``filter_by="item"``, i.e. 75 % of each *movie's* ratings
  to train, drawn at random; every rating is a positive; top-10 lists over the
  catalogue minus the user's training items; nDCG@10, recall@10, precision@10 and
  MAP as Recommenders defined them when the figures were produced (2019-2021).
* :data:`TEMPORAL`: the book's per-user temporal split
  (:func:`recsys_utils.splits.temporal_split`): the last 20 % of each user's ratings,
  by time, to test; every rating a positive; recall and nDCG at 10 and 20. Nobody
  publishes on it: it has no published figures.

The published figures of each protocol, with their sources and fine print, are in
:mod:`recsys_utils.published`.

The book's own figures on MovieLens are computed by a reader who has the data: the
archive may not be redistributed, so no figure of ours is printed here. The tests run
every protocol on a generated stand-in with MovieLens' shape and structure
(``tests/movielens_standin.py``); the numbers it gives mean nothing about MovieLens.

How our metrics compare with Recommenders' ``python_evaluation`` (read in their
repository, history included; our code is written from the definitions):

* nDCG@k: the same. Binary gains; Recommenders discounts by ``1/ln(1 + rank)``, we by
  ``1/log2(1 + rank)``; the base cancels in the ratio DCG / IDCG. IDCG over
  ``min(k, |test items|)`` ranks.
* recall@k: the same, ``hits / |test items of the user|`` (not ``/ min(k, ...)``).
* precision@k: the same, ``hits / k``.
* MAP (``map@10`` here): the sum, over the hits in the top k, of the precision at the
  hit's rank, divided by ``|test items of the user|``: the ``map_at_k`` of 2019-2021
  that produced the figures (today's ``map``). Today's ``map_at_k`` divides by
  ``min(k, |test items|)`` instead: larger numbers, not comparable.
* averaging: every metric is a mean over the users with at least one test item
  (Recommenders: the users present in both the test set and the recommendations,
  which is every test user).
* candidates: we rank the whole catalogue minus the user's training items;
  Recommenders' models rank the items they saw in training. Under the benchmark's
  split every rated movie has at least one training rating, so the two coincide.
* ties: we break them by the lower item id; Recommenders by pandas' sort order.

The benchmark's split is reproduced row for row by
:func:`recsys_utils.splits.stratified_split` (the 2019-2021 ``python_stratified_split``;
since July 2022, Recommenders draws the random order differently, so today's library
gives another test set for the same seed).

Tuning never touches the test part: :meth:`Protocol.split` also carves the training
part into ``fit`` and ``valid`` by the protocol's own rule (seeded) and returns a
:class:`recsys_utils.splits.ProtocolData`, so a section tunes on ``fit``/``valid``
(:mod:`recsys_utils.tuning`), refits on ``train`` and reports once on ``test``.
MAP is :func:`recsys_utils.metrics.average_precision_at_k`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import metrics as _m
from .evaluation import evaluate_topk
from .framework import framework_name
from .published import FIGURES, Published
from .splits import ProtocolData, _random_carve, stratified_split, temporal_split
from .validation import check_int, check_number

__all__ = [
    "Protocol",
    "U1",
    "STRATIFIED",
    "TEMPORAL",
    "PROTOCOLS",
]

_NOT_REPORTED = "not reported"  # a published source gives no value for the column
_NOT_COMPUTED = "not computed"  # our results dict has no value for the column
_NOT_DEFINED = "not defined"  # our value is NaN (e.g. no user to average over)
_COLUMNS = ("user_id", "item_id", "rating", "timestamp")


# ---------------------------------------------------------------------------
# Splitting rules
# ---------------------------------------------------------------------------


def _ratings_of(ml: Any) -> pd.DataFrame:
    ratings = getattr(ml, "ratings", None)
    if not isinstance(ratings, pd.DataFrame):
        raise ValueError(
            "ml must be a recsys_utils.movielens.MovieLens (an object with a ratings "
            f"DataFrame); got {type(ml).__name__}"
        )
    missing = [c for c in _COLUMNS if c not in ratings.columns]
    if missing:
        raise ValueError(
            f"ml.ratings must have the columns {_COLUMNS}; missing {missing}"
        )
    return ratings


def _split_u1(ml: Any, seed: int, valid_frac: float):
    splits = getattr(ml, "splits", None)
    if not isinstance(splits, Mapping) or "u1" not in splits:
        raise ValueError(
            "ml.splits must hold the official 'u1' split (u1.base, u1.test); "
            f"got {sorted(splits) if isinstance(splits, Mapping) else splits!r}"
        )
    train, test = splits["u1"]
    fit, valid = _random_carve(train, "user_id", valid_frac, seed)
    return train, test, fit, valid


def _split_stratified(ml: Any, seed: int, valid_frac: float):
    train, test = stratified_split(_ratings_of(ml), ratio=0.75, by="item", seed=42)
    fit, valid = _random_carve(train, "item_id", valid_frac, seed)
    return train, test, fit, valid


def _split_temporal(ml: Any, seed: int, valid_frac: float):
    del seed  # the temporal rule has no randomness
    train, _, test = temporal_split(_ratings_of(ml), valid_frac=0.0, test_frac=0.2)
    fit, _, valid = temporal_split(train, valid_frac=0.0, test_frac=valid_frac)
    return train, test, fit, valid


# ---------------------------------------------------------------------------
# Protocols
# ---------------------------------------------------------------------------


def _parse_metric(name: str) -> tuple[str, int]:
    base, _, k = name.partition("@")
    return base, int(k)


def _resolve(model: Any, method: str) -> Any:
    """A callable, an object with ``method``, or an array (returned as is)."""
    if callable(model):
        return model
    bound = getattr(model, method, None)
    if callable(bound):
        return bound
    return model


def _fmt(value: float, decimals: int) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _NOT_DEFINED
    return round(float(value), decimals)


@dataclass(frozen=True)
class Protocol:
    """A named evaluation protocol: how to split, what to measure, who published what.

    Attributes:
        name: short name (``"u1"``, ``"stratified"``, ``"temporal"``).
        title: one line for a table caption.
        task: ``"rating"`` (RMSE, MAE of predicted stars) or ``"ranking"``
            (top-k lists over the catalogue minus the user's training items).
        k: the list length of the ranking metrics; ``None`` for the rating task.
        metrics: the metric names :meth:`evaluate` returns, in report order.
        description: the exact rule, in prose.
        published: the published figures under this protocol.
    """

    name: str
    title: str
    task: str
    k: int | None
    metrics: tuple[str, ...]
    description: str
    published: tuple[Published, ...]
    _split: Callable[..., tuple] = field(repr=False, compare=False, default=None)

    # -- splitting ---------------------------------------------------------

    def split(self, ml: Any, seed: int = 0, valid_frac: float = 0.1) -> ProtocolData:
        """The protocol's train / test parts and a seeded fit / valid carve of train.

        The test part is the protocol's own (fixed: the official file, the
        benchmark's seed 42, the temporal rule); ``seed`` and ``valid_frac`` only
        change the carve: a random per-user share of ``u1.base`` (U1), a random
        per-movie share of train (STRATIFIED, the benchmark's stratification), the
        last ``ceil(valid_frac * n)`` of each user's training ratings by time
        (TEMPORAL). The carve never touches the test part.

        Args:
            ml: a :class:`recsys_utils.movielens.MovieLens` (``ratings``,
                ``splits``, ``num_users``, ``num_items``).
            seed: seed of the fit / valid carve.
            valid_frac: share of train carved into valid, in (0, 1).

        Returns:
            a :class:`ProtocolData`.
        """
        seed = check_int(seed, "seed", low=0)
        valid_frac = check_number(
            valid_frac, "valid_frac", low=0, high=1, low_open=True, high_open=True
        )
        num_users = getattr(ml, "num_users", None)
        num_items = getattr(ml, "num_items", None)
        for name, value in (("num_users", num_users), ("num_items", num_items)):
            try:
                check_int(value, f"ml.{name}", low=1)
            except ValueError as err:
                raise ValueError(
                    f"{err} (is ml a recsys_utils.movielens.MovieLens?)"
                ) from None
        train, test, fit, valid = self._split(ml, seed, valid_frac)
        return ProtocolData(
            self.name,
            train,
            test,
            fit,
            valid,
            int(num_users),
            int(num_items),
            seed,
            valid_frac,
        )

    # -- evaluating --------------------------------------------------------

    def evaluate(self, model: Any, data: ProtocolData, on: str = "valid") -> dict:
        """Measure a model on the valid or the test part, by the protocol's rules.

        Rating task: the model is ``predict(user_ids, item_ids) -> ratings`` (a
        callable, or an object with a ``predict`` method) or an array of predictions
        aligned with the part's rows. Ranking task: the model is
        ``score(user_ids) -> (n, num_items)`` (a callable, or an object with a
        ``score`` method) or a full ``(num_users, num_items)`` score matrix; the
        items of the matching training part are excluded (``fit`` when ``on="valid"``,
        ``train`` when ``on="test"``), every rating of the part is relevant, and each
        metric is the mean over the users with at least one item in the part.

        Args:
            model: see above.
            data: this protocol's :class:`ProtocolData`.
            on: ``"valid"`` (tuning) or ``"test"`` (the one final report).

        Returns:
            ``{metric: value}`` for every name in :attr:`metrics`.
        """
        if not isinstance(data, ProtocolData):
            raise ValueError(
                f"data must be the ProtocolData of {self.name}.split(...); "
                f"got {type(data).__name__}"
            )
        if data.protocol != self.name:
            raise ValueError(
                f"data was split by the {data.protocol!r} protocol, not {self.name!r}"
            )
        if on not in ("valid", "test"):
            raise ValueError(f"on must be 'valid' or 'test'; got {on!r}")
        part = data.part(on)
        if len(part) == 0:
            raise ValueError(f"the {on} part is empty: there is nothing to evaluate")
        if self.task == "rating":
            return self._evaluate_rating(_resolve(model, "predict"), part, on)
        seen = data.csr("fit" if on == "valid" else "train")
        return self._evaluate_ranking(_resolve(model, "score"), seen, data.csr(on))

    def _evaluate_rating(self, predict: Any, part: pd.DataFrame, on: str) -> dict:
        if callable(predict):
            pred = predict(
                part["user_id"].to_numpy(np.int64), part["item_id"].to_numpy(np.int64)
            )
        else:
            pred = predict
        pred = np.asarray(pred, dtype=np.float64).reshape(-1)
        if pred.shape != (len(part),):
            raise ValueError(
                f"model must give one prediction per row of the {on} part "
                f"({len(part)} rows); got {pred.size}"
            )
        true = part["rating"].to_numpy(np.float64)
        return {"rmse": _m.rmse(true, pred), "mae": _m.mae(true, pred)}

    def _evaluate_ranking(self, score: Any, seen: sp.csr_matrix, relevant) -> dict:
        parsed = [_parse_metric(name) for name in self.metrics]
        ks = sorted({k for _, k in parsed})
        bases = tuple(sorted({b for b, _ in parsed if b != "map"}))
        result = evaluate_topk(
            score, seen, relevant, k=tuple(ks), metrics=bases or ("recall",)
        )
        out = {}
        for name, (base, k) in zip(self.metrics, parsed):
            if base == "map":
                users = result.per_user.index.to_numpy()
                ap = _m.average_precision_at_k(result.topk, relevant[users], k)
                out[name] = float(np.nanmean(ap))
            else:
                out[name] = result.means[name]
        return out

    # -- reporting ---------------------------------------------------------

    def report(
        self,
        results: Mapping[str, Mapping[str, float]],
        framework: str | None | Mapping[str, str | None] = None,
        *,
        published: bool = True,
        notes: Mapping[str, str] | None = None,
        decimals: int = 3,
    ) -> pd.DataFrame:
        """Our rows, then the published rows, in one table nobody can misread.

        The ``who`` column says whose number a row is: ``"ours (PyTorch)"``,
        ``"ours (TensorFlow)"`` or ``"ours"`` (a model without a framework, e.g.
        EASE), then ``"published: <Author Year>"``. A value a source does not report
        reads ``"not reported"``, a metric missing from our results
        ``"not computed"``, a NaN of ours ``"not defined"``: the table never shows NaN.

        Args:
            results: ``{model name: {metric: value}}``, e.g. from :meth:`evaluate`.
            framework: the framework that trained every model (``"pytorch"``,
                ``"tensorflow"``), ``None`` for framework-free models, or a dict
                ``{model name: framework or None}`` (missing names: ``None``).
            published: append the published rows.
            notes: optional ``{model name: note}`` for our rows.
            decimals: values are rounded to this many decimals.

        Returns:
            a DataFrame with columns ``who``, ``model``, the metrics, ``note``.
        """
        if not isinstance(results, Mapping) or not results:
            raise ValueError(
                "results must be a non-empty dict {model name: {metric: value}}; "
                f"got {results!r}"
            )
        decimals = check_int(decimals, "decimals", low=0)
        notes = dict(notes or {})
        unknown = sorted(set(notes) - set(results))
        if unknown:
            raise ValueError(f"notes name models that are not in results: {unknown}")
        if isinstance(framework, Mapping):
            unknown = sorted(set(framework) - set(results))
            if unknown:
                raise ValueError(
                    f"framework names models that are not in results: {unknown}"
                )
            frameworks = {name: framework.get(name) for name in results}
        else:
            frameworks = {name: framework for name in results}
        columns = list(self.metrics)
        for name, values in results.items():
            if not isinstance(values, Mapping):
                raise ValueError(
                    f"results[{name!r}] must be a dict {{metric: value}}; "
                    f"got {type(values).__name__}"
                )
            for metric, value in values.items():
                if isinstance(value, bool) or not isinstance(
                    value, (int, float, np.integer, np.floating)
                ):
                    raise ValueError(
                        f"results[{name!r}][{metric!r}] must be a number; got {value!r}"
                    )
                if metric not in columns:
                    columns.append(metric)
        rows = []
        for name, values in results.items():
            fw = frameworks[name]
            who = "ours" if fw is None else f"ours ({framework_name(fw)})"
            row = {"who": who, "model": str(name)}
            for c in columns:
                row[c] = _fmt(values[c], decimals) if c in values else _NOT_COMPUTED
            row["note"] = notes.get(name, "")
            rows.append(row)
        if published:
            for pub in self.published:
                row = {"who": pub.who, "model": pub.model}
                for c in columns:
                    value = pub.metrics.get(c)
                    row[c] = _NOT_REPORTED if value is None else _fmt(value, decimals)
                row["note"] = pub.note
                rows.append(row)
        table = pd.DataFrame(rows, columns=["who", "model", *columns, "note"])
        for c in columns:  # one dtype per column: numbers with strings stay objects
            table[c] = table[c].astype(object)
        return table


# ---------------------------------------------------------------------------
# The three protocols
# ---------------------------------------------------------------------------


U1 = Protocol(
    name="u1",
    title="MovieLens-100K, official u1 split: rating prediction",
    task="rating",
    k=None,
    metrics=("rmse", "mae"),
    description=(
        "Train on u1.base (80,000 ratings), test on u1.test (20,000 ratings), the "
        "official split shipped in the archive. Predict the stars of every test "
        "rating; RMSE and MAE over all test ratings. Tuning: a random "
        "valid_frac share of each user's u1.base ratings is held out."
    ),
    published=FIGURES["u1"],
    _split=_split_u1,
)


STRATIFIED = Protocol(
    name="stratified",
    title=(
        "MovieLens-100K, Microsoft Recommenders' benchmark split (75/25 per movie, "
        "seed 42): top-10"
    ),
    task="ranking",
    k=10,
    metrics=("ndcg@10", "recall@10", "precision@10", "map@10"),
    description=(
        "Recommenders' python_stratified_split(ratio=0.75, filter_by='item', "
        "seed=42) as it was in 2019-2021: each movie's ratings, in u.data's order, "
        "shuffled with seed 42; the first round(0.75 n) to train, the rest to test. "
        "Every rating is a positive. Each user's top 10 over the catalogue minus "
        "their training items; nDCG@10, recall@10, precision@10 and MAP (the sum of "
        "the precision at each hit's rank over the number of test items), averaged "
        "over the users with a test item. Tuning: a random valid_frac share of each "
        "movie's training ratings is held out."
    ),
    published=FIGURES["stratified"],
    _split=_split_stratified,
)

TEMPORAL = Protocol(
    name="temporal",
    title="MovieLens-100K, per-user temporal split (last 20 % to test): top-k",
    task="ranking",
    k=10,
    metrics=("recall@10", "ndcg@10", "recall@20", "ndcg@20"),
    description=(
        "recsys_utils.splits.temporal_split(ratings, valid_frac=0, test_frac=0.2): "
        "the last ceil(0.2 n) of each user's ratings by time to test. Every rating "
        "is a positive. Each user's top k over the catalogue minus their training "
        "items; recall and nDCG at 10 and 20, averaged over the users with a test "
        "item. Tuning: the last ceil(valid_frac n) of each user's training ratings "
        "are held out. No published figures: nobody reports on this split."
    ),
    published=FIGURES["temporal"],
    _split=_split_temporal,
)

#: name -> protocol
PROTOCOLS = {p.name: p for p in (U1, STRATIFIED, TEMPORAL)}
