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

Published figures, exactly as their sources print them (bib keys of
``book/references.bib``):

* on ``u1`` (RMSE): GC-MC 0.910 (``berg2017gcmc``, u1 split, no side features);
  GLocal-K 0.889 (``han2021glocalk``; its hyperparameters and stopping epoch were
  selected on the test set); Surprise's SVD 0.934 and SVD++ 0.919, MAE 0.737 and
  0.721 (``hug2022surprise``, Surprise's README: the mean over a 5-fold
  cross-validation of the whole data set with default parameters, *not* the u1
  split).
* on the Recommenders benchmark (nDCG@10 / recall@10 / precision@10 / MAP): BiVAE
  0.475 / 0.219 / 0.412 / 0.146 and BPR 0.442 / 0.213 / 0.388 / 0.132 (benchmark
  notebook run of April 2021, README table ``recommenders2021readme``); LightGCN
  0.408 / 0.191 / 0.353 / 0.117 (the same run, ``recommenders2021benchmark``: the
  README's LightGCN row, 0.420 / 0.144, is the *MovieLens-1M* row of an earlier run of
  that notebook, commit 14225ce, and is not used); NCF 0.396 / 0.181 / 0.347 / 0.108
  (benchmark notebook run of April 2019, README); SAR 0.382 / 0.176 / 0.331 / 0.111
  (README; from the SAR quick-start notebook, whose split is stratified per *user*,
  ``filter_by="user"``, same ratio and seed: a slightly different test set).

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

The benchmark's split is reproduced row for row: the 2019-2021
``python_stratified_split`` shuffled each movie's ratings (in ``u.data``'s order) with
``DataFrame.sample(frac=1, random_state=42)`` and kept the first ``round(0.75 n)`` for
training (Python's ``round``: halves to even). :func:`stratified_split` does the same
with NumPy (``RandomState(42).permutation(n)``), vectorised. Since July 2022,
Recommenders draws the random order differently, so today's library gives another
test set for the same seed.

Tuning never touches the test part: :meth:`Protocol.split` also carves the training
part into ``fit`` and ``valid`` by the protocol's own rule (seeded), so a section
tunes on ``fit``/``valid``, refits on ``train`` and reports once on ``test``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import metrics as _m
from .evaluation import evaluate_topk, to_csr
from .framework import framework_name
from .splits import temporal_split

__all__ = [
    "Published",
    "Protocol",
    "ProtocolData",
    "U1",
    "STRATIFIED",
    "TEMPORAL",
    "PROTOCOLS",
    "CITATIONS",
    "stratified_split",
    "average_precision_at_k",
    "grid_search",
]

#: bib key -> how a published row is labelled in :meth:`Protocol.report`.
CITATIONS = {
    "berg2017gcmc": "Berg et al. 2017",
    "han2021glocalk": "Han et al. 2021",
    "hug2022surprise": "Surprise README",
    "recommenders2021readme": "Recommenders README",
    "recommenders2021benchmark": "Recommenders benchmark",
    "kang2018self": "Kang and McAuley 2018",  # recsys_utils.sequential.LEAVE_LAST_OUT
}

_PARTS = ("train", "test", "fit", "valid")
_COLUMNS = ("user_id", "item_id", "rating", "timestamp")
_NOT_REPORTED = "not reported"  # a published source gives no value for the column
_NOT_COMPUTED = "not computed"  # our results dict has no value for the column
_NOT_DEFINED = "not defined"  # our value is NaN (e.g. no user to average over)


# ---------------------------------------------------------------------------
# Published figures
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """A figure somebody published under a protocol.

    Attributes:
        model: the model's name as the source prints it (``"GC-MC"``).
        metrics: ``{metric: value}`` with the protocol's metric names
            (``{"rmse": 0.910}``), rounded as the source rounds them.
        source: the bib key in ``book/references.bib``.
        note: what a reader must know to compare (the exact split, a caveat).
    """

    model: str
    metrics: Mapping[str, float]
    source: str
    note: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))

    @property
    def who(self) -> str:
        """The label of the row in a report: ``"published: <Author Year>"``."""
        return f"published: {CITATIONS.get(self.source, self.source)}"


# ---------------------------------------------------------------------------
# Splitting rules
# ---------------------------------------------------------------------------


def _check_frame(df: Any, name: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame; got {type(df).__name__}")
    missing = [c for c in ("user_id", "item_id") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{name} must have the columns user_id and item_id; missing {missing}"
        )
    return df


def _round_half_even(x: np.ndarray) -> np.ndarray:
    """Python's ``round`` on floats (halves to the even neighbour), vectorised."""
    return np.rint(x).astype(np.int64)


def _position_in_group(groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's 0-based position within its group (frame order) and the group size."""
    order = np.argsort(groups, kind="stable")
    g = groups[order]
    start = np.searchsorted(g, g, side="left")
    end = np.searchsorted(g, g, side="right")
    pos = np.empty(len(groups), dtype=np.int64)
    size = np.empty(len(groups), dtype=np.int64)
    pos[order] = np.arange(len(groups)) - start
    size[order] = end - start
    return pos, size


def _check_ratio(ratio: Any, name: str) -> float:
    if isinstance(ratio, bool) or not isinstance(
        ratio, (int, float, np.integer, np.floating)
    ):
        raise ValueError(f"{name} must be a number in (0, 1); got {ratio!r}")
    if not 0 < ratio < 1:
        raise ValueError(f"{name} must lie in (0, 1); got {ratio!r}")
    return float(ratio)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")
    return int(seed)


def _check_by(by: Any) -> str:
    if by not in ("user", "item"):
        raise ValueError(f"by must be 'user' or 'item'; got {by!r}")
    return f"{by}_id"


def stratified_split(
    df: pd.DataFrame, ratio: float = 0.75, by: str = "item", seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Microsoft Recommenders' stratified split (the 2019-2021 rule), row for row.

    For each group (each movie with ``by="item"``, each user with ``by="user"``) of
    ``n`` rows, taken in frame order, the rows are shuffled by
    ``np.random.RandomState(seed).permutation(n)`` (what
    ``DataFrame.sample(frac=1, random_state=seed)`` does), and the first
    ``round(ratio * n)`` of the shuffled group go to train (halves round to even:
    ``round(1.5) = 2``, ``round(4.5) = 4``), the others to test. Every group restarts
    from the same seed, as Recommenders' did. Applied to ``u.data`` in file order with
    the defaults, it gives the split of Recommenders' ML-100K benchmark.

    Args:
        df: interaction frame with columns ``user_id`` and ``item_id``.
        ratio: share of each group in train, in (0, 1).
        by: ``"item"`` (the benchmark) or ``"user"``.
        seed: seed of the per-group shuffles.

    Returns:
        ``(train, test)``: two frames partitioning ``df``, rows in frame order, the
        original index kept.
    """
    df = _check_frame(df, "df")
    ratio = _check_ratio(ratio, "ratio")
    col = _check_by(by)
    seed = _check_seed(seed)
    if len(df) == 0:
        raise ValueError("df must not be empty")
    pos, size = _position_in_group(pd.factorize(df[col])[0])
    shuffled = np.empty(len(df), dtype=np.int64)
    for n in np.unique(size):  # one permutation per group size, as in Recommenders
        perm = np.random.RandomState(seed).permutation(int(n))
        inverse = np.argsort(perm)  # shuffled position of the row at position w
        rows = size == n
        shuffled[rows] = inverse[pos[rows]]
    train = shuffled < _round_half_even(ratio * size)
    return df.iloc[np.flatnonzero(train)], df.iloc[np.flatnonzero(~train)]


def _random_carve(
    df: pd.DataFrame, col: str, valid_frac: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-group random carve: ``round((1 - valid_frac) n)`` rows of each group to fit.

    Each row gets a key from ``np.random.default_rng(seed).random``; within a group the
    rows with the smallest keys go to fit.
    """
    keys = np.random.default_rng(seed).random(len(df))
    groups = pd.factorize(df[col])[0]
    order = np.lexsort((keys, groups))
    g = groups[order]
    start = np.searchsorted(g, g, side="left")
    end = np.searchsorted(g, g, side="right")
    keep = (np.arange(len(df)) - start) < _round_half_even(
        (1 - valid_frac) * (end - start)
    )
    fit = np.zeros(len(df), dtype=bool)
    fit[order] = keep
    return df.iloc[np.flatnonzero(fit)], df.iloc[np.flatnonzero(~fit)]


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
# Data of a protocol
# ---------------------------------------------------------------------------


@dataclass(repr=False)
class ProtocolData:
    """A protocol's split of MovieLens-100K, with the carve for tuning.

    Attributes:
        protocol: the protocol's name.
        train: the protocol's training part; the final model is fitted on it.
        test: the protocol's test part; reported once, never tuned on.
        fit: ``train`` minus ``valid``: fit candidate models on it while tuning.
        valid: carved from ``train`` by the protocol's rule; tune on it.
        num_users: users in the catalogue (943 for MovieLens-100K).
        num_items: items in the catalogue (1,682).
        seed: the seed of the fit / valid carve.
        valid_frac: the share of ``train`` carved into ``valid``.
    """

    protocol: str
    train: pd.DataFrame
    test: pd.DataFrame
    fit: pd.DataFrame
    valid: pd.DataFrame
    num_users: int
    num_items: int
    seed: int
    valid_frac: float

    def part(self, part: str) -> pd.DataFrame:
        """One part by name.

        Args:
            part: ``"train"``, ``"test"``, ``"fit"`` or ``"valid"``.

        Returns:
            the part's DataFrame.
        """
        if part not in _PARTS:
            raise ValueError(f"part must be one of {_PARTS}; got {part!r}")
        return getattr(self, part)

    def csr(self, part: str, value_col: str | None = None) -> sp.csr_matrix:
        """A part as a users x items sparse matrix (the baselines' input).

        Args:
            part: ``"train"``, ``"test"``, ``"fit"`` or ``"valid"``.
            value_col: ``None`` puts 1 for every rating (implicit feedback);
                ``"rating"`` keeps the stars.

        Returns:
            ``scipy.sparse.csr_matrix`` of shape ``(num_users, num_items)``.
        """
        return to_csr(self.part(part), self.num_users, self.num_items, value_col)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{p}={len(getattr(self, p)):,}" for p in _PARTS)
        return (
            f"ProtocolData({self.protocol}: {sizes}; {self.num_users} users, "
            f"{self.num_items} items; valid = {self.valid_frac:g} of train, "
            f"seed {self.seed})"
        )


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
        seed = _check_seed(seed)
        valid_frac = _check_ratio(valid_frac, "valid_frac")
        num_users = getattr(ml, "num_users", None)
        num_items = getattr(ml, "num_items", None)
        for name, value in (("num_users", num_users), ("num_items", num_items)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(
                    f"ml.{name} must be a positive int; got {value!r} "
                    f"(is ml a recsys_utils.movielens.MovieLens?)"
                )
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
                ap = average_precision_at_k(result.topk, relevant[users], k)
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
        if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
            raise ValueError(f"decimals must be a non-negative int; got {decimals!r}")
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
# MAP as the figures' source defined it
# ---------------------------------------------------------------------------


def average_precision_at_k(ranked_items: Any, relevant: Any, k: int) -> np.ndarray:
    """Average precision at k, normalised by the number of relevant items.

    With ``hit_r`` = 1 when the item at rank ``r`` is relevant::

        AP@k = sum_{r <= k} hit_r * (hits in the first r) / r  /  |relevant|

    This is the ``map_at_k`` of Microsoft Recommenders in 2019-2021 (the published
    MAP figures of :data:`STRATIFIED`); its mean over users is the MAP.

    Args:
        ranked_items: int array ``(num_users, >= k)``, best first.
        relevant: per-user relevant items (as in :mod:`recsys_utils.metrics`).
        k: cut-off, a positive int.

    Returns:
        Float array ``(num_users,)`` in [0, 1]; ``NaN`` for users with no relevant item.
    """
    k = _m._check_k(k)
    ranked = _m._check_ranked(ranked_items, k)
    slot_gain, num_rel, _ = _m._lookup(ranked, relevant)
    hit = (slot_gain > 0).astype(np.float64)
    precision_at_r = np.cumsum(hit, axis=1) / np.arange(1, k + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (hit * precision_at_r).sum(axis=1) / num_rel
    ap[num_rel == 0] = np.nan
    return ap


# ---------------------------------------------------------------------------
# Time-boxed grid search
# ---------------------------------------------------------------------------


def grid_search(
    param_grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    objective: Callable[[dict], float],
    maximize: bool = True,
    time_budget_s: float = 30.0,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[dict, pd.DataFrame]:
    """Try parameter combinations in order, within a time budget; keep the best.

    The combinations are the product of ``param_grid``'s lists, the first name
    varying slowest (or the given list of dicts, in order). Before each trial after
    the first, the search stops if the time spent plus the longest trial so far
    would exceed ``time_budget_s``; the first trial always runs. The trials frame
    then says so: its ``status`` column reads ``"stopped: time budget"`` on the last
    trial and ``frame.attrs`` holds ``{"stopped_early": True, "tried": n,
    "total": m}``. A trial whose score is not finite (a diverged run) is recorded,
    never chosen. Ties keep the earlier combination.

    Args:
        param_grid: ``{name: [values]}`` or a list of ``{name: value}`` dicts.
        objective: ``objective(params) -> score`` (e.g. a validation metric).
        maximize: ``True`` when higher is better (nDCG), ``False`` otherwise (RMSE).
        time_budget_s: seconds the search may spend, > 0.
        clock: the clock (seconds); tests pass a fake one.

    Returns:
        ``(best_params, trials)``: the best combination as a dict, and a DataFrame
        with one row per trial run: the parameters, ``score``, ``seconds``,
        ``status``.
    """
    if isinstance(param_grid, Mapping):
        if not param_grid:
            raise ValueError("param_grid must not be empty")
        for name, values in param_grid.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise ValueError(
                    f"param_grid[{name!r}] must be a list of values; got {values!r}"
                )
            if len(values) == 0:
                raise ValueError(f"param_grid[{name!r}] must not be empty")
        names = list(param_grid)
        combos = [
            dict(zip(names, values))
            for values in itertools.product(*param_grid.values())
        ]
    elif isinstance(param_grid, Sequence) and not isinstance(param_grid, (str, bytes)):
        combos = [dict(c) for c in param_grid if isinstance(c, Mapping)]
        if not combos or len(combos) != len(param_grid):
            raise ValueError(
                "param_grid must be a dict {name: [values]} or a non-empty list of "
                f"dicts; got {param_grid!r}"
            )
    else:
        raise ValueError(
            "param_grid must be a dict {name: [values]} or a list of dicts; "
            f"got {type(param_grid).__name__}"
        )
    if not callable(objective):
        raise ValueError(f"objective must be callable; got {type(objective).__name__}")
    if isinstance(time_budget_s, bool) or not isinstance(
        time_budget_s, (int, float, np.integer, np.floating)
    ):
        raise ValueError(
            f"time_budget_s must be a positive number; got {time_budget_s!r}"
        )
    if not time_budget_s > 0:
        raise ValueError(f"time_budget_s must be > 0; got {time_budget_s!r}")

    start = clock()
    rows: list[dict] = []
    best, best_score = None, None
    longest = 0.0
    stopped = False
    for i, params in enumerate(combos):
        if i > 0 and (clock() - start) + longest > time_budget_s:
            stopped = True
            break
        t0 = clock()
        score = float(objective(dict(params)))
        seconds = clock() - t0
        longest = max(longest, seconds)
        finite = math.isfinite(score)
        rows.append(
            {
                **params,
                "score": score,
                "seconds": seconds,
                "status": "done" if finite else "score not finite",
            }
        )
        if finite and (
            best_score is None
            or (score > best_score if maximize else score < best_score)
        ):
            best, best_score = dict(params), score
    trials = pd.DataFrame(rows)
    if stopped:
        trials.loc[trials.index[-1], "status"] = "stopped: time budget"
    trials.attrs.update(
        {"stopped_early": stopped, "tried": len(rows), "total": len(combos)}
    )
    if best is None:
        raise ValueError(
            f"no trial gave a finite score (tried {len(rows)} of {len(combos)})"
        )
    return best, trials


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
    published=(
        Published(
            "GC-MC",
            {"rmse": 0.910},
            "berg2017gcmc",
            "u1 split, no side features",
        ),
        Published(
            "GLocal-K",
            {"rmse": 0.889},
            "han2021glocalk",
            "u1 split; tuned on the test set",
        ),
        Published(
            "Surprise SVD",
            {"rmse": 0.934, "mae": 0.737},
            "hug2022surprise",
            "5-fold cross-validation, not u1",
        ),
        Published(
            "Surprise SVD++",
            {"rmse": 0.919, "mae": 0.721},
            "hug2022surprise",
            "5-fold cross-validation, not u1",
        ),
    ),
    _split=_split_u1,
)


def _top10(model: str, values: tuple, source: str, note: str) -> Published:
    """A published row of the benchmark: nDCG@10, recall@10, precision@10, MAP."""
    names = ("ndcg@10", "recall@10", "precision@10", "map@10")
    return Published(model, dict(zip(names, values)), source, note)


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
    published=(
        _top10(
            "BiVAE",
            (0.475, 0.219, 0.412, 0.146),
            "recommenders2021readme",
            "benchmark run, Apr 2021; split per movie",
        ),
        _top10(
            "BPR",
            (0.442, 0.213, 0.388, 0.132),
            "recommenders2021readme",
            "benchmark run, Apr 2021; split per movie",
        ),
        _top10(
            "LightGCN",
            (0.408, 0.191, 0.353, 0.117),
            "recommenders2021benchmark",
            "benchmark run, Apr 2021; the README's 0.420 / 0.144 is ML-1M",
        ),
        _top10(
            "NCF",
            (0.396, 0.181, 0.347, 0.108),
            "recommenders2021readme",
            "benchmark run, Apr 2019; split per movie",
        ),
        _top10(
            "SAR",
            (0.382, 0.176, 0.331, 0.111),
            "recommenders2021readme",
            "SAR quick start, 2020; split per user, not per movie",
        ),
    ),
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
    published=(),
    _split=_split_temporal,
)

#: name -> protocol
PROTOCOLS = {p.name: p for p in (U1, STRATIFIED, TEMPORAL)}
