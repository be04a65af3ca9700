"""Chapter 8: references, hidden cases, typical mistakes and rubrics (instructors only).

The format of ``EXERCISES`` and ``WRITTEN`` is described in instructors/README.md.
The references are the package's own checker (:mod:`recsys_utils.explain`) and the
chapter's own template explainer (:mod:`recsys_utils.book.ch08`), so a change there
changes what the exercises expect (run ``python instructors/publish_checks.py``).
"""

from __future__ import annotations

import functools

import numpy as np

from recsys_utils import explain
from recsys_utils.marketplace.reasons import REASON_NAMES

_METRICS = ("faithfulness", "coverage", "hallucination")
_WIDTH = len(REASON_NAMES)


# --- ch8-ex-metrics: faithfulness, coverage and hallucination rate per kind ------

#: The kinds of reason, in the order of REASON_NAMES (a name's part before "=").
KINDS = tuple(dict.fromkeys(name.split("=")[0] for name in REASON_NAMES))
_KIND_OF = np.array([KINDS.index(name.split("=")[0]) for name in REASON_NAMES])


def _per_kind(score, claimed, truth, facts):
    c, t, f = (np.asarray(x, dtype=bool) for x in (claimed, truth, facts))
    return np.array(
        [score(*(x[:, _KIND_OF == k] for x in (c, t, f))) for k in range(len(KINDS))],
        dtype=float,
    )


def _totals(c, t, f):  # section 8.1's totals on one kind's columns
    num_claims, num_true, hit = c.sum(), t.sum(), (c & t).sum()
    nan = float("nan")
    return [
        hit / num_claims if num_claims else nan,
        hit / num_true if num_true else nan,
        (c & ~f).sum() / num_claims if num_claims else nan,
    ]


def scores_by_kind_reference(claimed, truth, facts):
    return _per_kind(_totals, claimed, truth, facts)


def _claims_case(rng, num_pairs, empty_kinds=1):
    """claimed, truth, facts: bool (num_pairs, R), truth within facts, claims of
    different sizes per pair (so totals and means of per-pair ratios differ), and
    ``empty_kinds`` kinds without any claim (their faithfulness is NaN)."""
    facts = rng.random((num_pairs, _WIDTH)) < 0.3
    truth = facts & (rng.random((num_pairs, _WIDTH)) < 0.5)
    claimed = rng.random((num_pairs, _WIDTH)) < rng.uniform(0.1, 0.5, (num_pairs, 1))
    rows = np.arange(num_pairs)
    truth[rows, rng.integers(0, _WIDTH, num_pairs)] = True
    facts |= truth
    claimed[rows, rng.integers(0, _WIDTH, num_pairs)] = True
    for k in rng.choice(len(KINDS), empty_kinds, replace=False):
        claimed[:, _KIND_OF == k] = False
    return claimed, truth, facts


def _metrics_inputs(rng):
    return _claims_case(rng, 4)


def _metrics_hidden(rng):
    return _claims_case(rng, int(rng.integers(3, 13)), int(rng.integers(1, 3)))


def _macro(claimed, truth, facts):  # a mean of per-pair ratios, per kind
    def mean_ratio(c, t, f):
        with np.errstate(invalid="ignore", divide="ignore"):
            per = [
                (c & t).sum(1) / c.sum(1),
                (c & t).sum(1) / t.sum(1),
                (c & ~f).sum(1) / c.sum(1),
            ]
        return [np.nanmean(x) if np.isfinite(x).any() else np.nan for x in per]

    with np.errstate(invalid="ignore"):
        return _per_kind(mean_ratio, claimed, truth, facts)


def _not_a_reason(claimed, truth, facts):  # hallucination = claims not true reasons
    return scores_by_kind_reference(claimed, truth, truth)


def _sorted_kinds(claimed, truth, facts):  # rows in alphabetical order of kinds
    return scores_by_kind_reference(claimed, truth, facts)[np.argsort(KINDS)]


def _zero_when_empty(claimed, truth, facts):  # 0 instead of NaN for 0 / 0
    return np.nan_to_num(scores_by_kind_reference(claimed, truth, facts), nan=0.0)


# --- ch8-ex-threshold: faithfulness and coverage of the template, per min_share ---

SEED = 0
MIN_SHARES = (0.3, 0.5, 0.7)


@functools.cache
def _threshold_tables() -> dict[str, np.ndarray]:
    """(len(MIN_SHARES), 2) faithfulness and coverage of section 8.1's template on
    the held-out (test) pairs, and on other parts (typical mistakes)."""
    from recsys_utils.book.ch08 import reason_pairs, split_pairs, template_reasons
    from recsys_utils.marketplace import make_marketplace

    mk = make_marketplace(seed=SEED, size="classroom", sequential=True)
    pairs = reason_pairs(mk)
    parts = {"all": pairs, **split_pairs(pairs, mk.num_users, SEED)}
    out = {}
    for name in ("test", "all", "train"):
        part = parts[name]
        rows = []
        for share in MIN_SHARES:
            texts = template_reasons(
                mk, part["items"], part["history"], min_share=share
            )
            scores = explain.evaluate_reasons(texts, part["truth"], part["facts"])
            rows.append([scores["faithfulness"], scores["coverage"]])
        out[name] = np.array(rows)
    return out


class _Measured:
    """One of :func:`_threshold_tables`'s tables, measured when first read as an
    array (``np.asarray``): importing this module builds no marketplace, which the
    tests and the grader do many times; publishing and grading read it."""

    def __init__(self, name: str, transform=None):
        self.name, self.transform = name, transform

    def __array__(self, dtype=None, copy=None):
        table = _threshold_tables()[self.name]
        if self.transform is not None:
            table = self.transform(table)
        return np.asarray(table, dtype=dtype)


def threshold_reference():
    return _threshold_tables()["test"]


EXERCISES = {
    "ch8-ex-metrics": {
        "kind": "function",
        "name": "scores_by_kind",
        "points": 2,
        "reference": scores_by_kind_reference,
        "inputs": _metrics_inputs,
        "hidden": _metrics_hidden,
        "hints": [
            (
                _macro,
                "you averaged a ratio per pair: the chapter's metrics are totals over "
                "all pairs (true claims of a kind in all pairs / claims of that kind "
                "in all pairs), so a pair counts in proportion to its claims",
            ),
            (
                _not_a_reason,
                "a hallucination is a claim outside the pair's facts (facts), not a "
                "claim that is not a true reason: a true fact that is no reason is "
                "unfaithful, not hallucinated",
            ),
            (
                _sorted_kinds,
                "the rows follow KINDS (the order of REASON_NAMES: category, colour, "
                "style, ...), not the kinds sorted by name",
            ),
            (
                _zero_when_empty,
                "a kind without claims has no faithfulness: return NaN for 0 / 0, "
                "not 0 (a score of 0 says every claim was false)",
            ),
        ],
    },
    "ch8-ex-threshold": {
        "kind": "value",
        "name": "threshold_table",
        "points": 2,
        "reference": threshold_reference,
        # exact ratios of counts; a table copied at 3 printed decimals (off by up
        # to 5e-4) still passes, as hashed_match accepts up to 12 steps of atol
        "rtol": 0.0,
        "atol": 1e-4,
        "hints": [
            (
                _Measured("all"),
                "these are the metrics of every pair: measure on the held-out "
                "shoppers' pairs (parts['test']), as section 8.1's table does",
            ),
            (
                _Measured("train"),
                "these are the metrics of the training shoppers: measure on the "
                "held-out shoppers' pairs (parts['test'])",
            ),
            (
                _Measured("test", lambda t: t[:, ::-1]),
                "one row per min_share, columns faithfulness then coverage: you "
                "swapped the columns",
            ),
        ],
    },
}

#: The exercises a person grades: points and what earns them.
WRITTEN = {
    "ch8-ex-attribution": {
        "points": 3,
        "rubric": [
            "1 point: the attention weights of the last reason token over the 24 "
            "memory slots are read from the trained decoder (either framework).",
            "1 point: the values of the top-2 attended slots are claimed and scored "
            "with reason_metrics against the truth, with the numbers.",
            "1 point: the conclusion follows the numbers: attention is an "
            "explanation only where it is measured faithful, as chapter 4's flat "
            "weights showed.",
        ],
    },
    "ch8-ex-hallucinate": {
        "points": 2,
        "rubric": [
            "1 point: a grammatical sentence that claims only values the item has "
            "but that are not reasons for this shopper (no taste gain, or no "
            "complement planted).",
            "1 point: faithfulness catches it; the hallucination rate does not "
            "(every claim is a known fact of the pair).",
        ],
    },
    "ch8-ex-tradeoff": {
        "points": 1,
        "rubric": [
            "1 point: a lower min_share claims more values, so coverage rises and "
            "faithfulness falls (a higher one the reverse), read from the measured "
            "table; no threshold maximises both, and the choice is a shop's (wrong "
            "reasons cost trust, missing ones cost persuasion).",
        ],
    },
}
