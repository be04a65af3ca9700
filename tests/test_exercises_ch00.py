"""Chapter 0's exercise checks: a correct answer passes, each typical mistake gets its
hint, a stub reports "not attempted" (recsys_utils/exercises/ch00.py), the hidden cases
cover what the mistakes get wrong, and the chapter's solutions pass.

The correct answers here are written independently of the checks' references (NDCG
with recsys_utils.metrics, which the exercise puts off limits to the student;
popularity with a loop over purchases), so a wrong reference would fail these tests.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from exercise_cases import outcome as _outcome  # noqa: I001
from exercise_cases import solution_source
from exercise_cases import stub as _stub

import recsys_utils as ru
from coursetools.grade import hidden_inputs, load_specs
from recsys_utils.checks import CORRECT, HINT, NOT_ATTEMPTED

ROOT = Path(__file__).resolve().parents[1]
SPECS, _ = load_specs(ROOT / "instructors" / "grading")
EXERCISES = ROOT / "chapters" / "00_getting_started" / "06_exercises.ipynb"


# --- ch0-ex-metrics: NDCG@k of one list --------------------------------------------


def _ndcg_by_package(ranked, relevant, k):
    return ru.ndcg_at_k(np.array([ranked]), [np.array(relevant)], k)[0]


def _ndcg_natural_log(ranked, relevant, k):  # the same ratio: log bases cancel
    gains = [1 / math.log(r + 2) for r, i in enumerate(ranked[:k]) if i in relevant]
    ideal = [1 / math.log(r + 2) for r in range(min(k, len(relevant)))]
    return sum(gains) / sum(ideal)


def _ndcg_first_hit_only(ranked, relevant, k):  # counts the first hit alone
    for r, item in enumerate(ranked[:k]):
        if item in relevant:
            return 1 / math.log2(r + 2) / _ideal(k, relevant)
    return 0.0


def _dcg(ranked, relevant, k):
    return sum(1 / math.log2(r + 2) for r, i in enumerate(ranked[:k]) if i in relevant)


def _ideal(k, relevant):
    return sum(1 / math.log2(r + 2) for r in range(min(k, len(relevant))))


def test_the_example_of_the_statement():
    ranked, relevant = [5, 1, 3, 8, 9], [3, 5, 9]
    assert _ndcg_by_package(ranked, relevant, 3) == pytest.approx(0.704, abs=5e-4)
    assert SPECS["ch0-ex-metrics"]["reference"](ranked, relevant, 3) == pytest.approx(
        _ndcg_by_package(ranked, relevant, 3)
    )


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (_ndcg_by_package, CORRECT, ""),
        (_ndcg_natural_log, CORRECT, ""),
        (_dcg, HINT, "divide by the ideal DCG"),
        (_ndcg_first_hit_only, HINT, ""),
        (_stub, NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_ndcg(capsys, answer, status, words):
    got, out = _outcome(capsys, "ch0-ex-metrics", answer)
    assert got == status and words in out


@pytest.mark.parametrize("seed", range(20))  # any grading seed
def test_ndcg_hidden_cases_cover_every_kind(seed):
    spec = SPECS["ch0-ex-metrics"]
    cases = hidden_inputs(spec, "ch0-ex-metrics", seed)
    assert len(cases) == 4
    kinds = set()
    for ranked, relevant, k in cases:
        assert len(set(ranked)) == len(ranked) >= 5 and 1 <= len(relevant) <= 8
        expected = spec["reference"](ranked, relevant, k)
        assert expected == pytest.approx(_ndcg_by_package(ranked, relevant, k))
        hit = bool(set(ranked[:k]) & set(relevant))
        kinds.add(("none" if not set(ranked) & set(relevant) else "some", hit))
        if hit and len(relevant) > k:
            kinds.add("more relevant than k")
        if hit and len(relevant) < k:
            kinds.add("fewer relevant than k")
    assert {("none", False), "more relevant than k", "fewer relevant than k"} <= kinds


# --- ch0-ex-popularity: popularity with recency ------------------------------------


def _popularity_loop(train, num_items, half_life):
    scores = [0.0] * num_items
    for item, age in zip(train["item_id"], train["age"], strict=True):
        scores[int(item)] += 2.0 ** (-float(age) / half_life)
    return np.array(scores)


LOG = pd.DataFrame(
    {"user_id": [0, 1, 1, 2], "item_id": [0, 2, 0, 2], "age": [0, 14, 7, 28]}
)


def test_popularity_on_a_log_worked_by_hand():
    # item 0: ages 0 and 7 -> 1 + 0.5; item 2: ages 14, 28 -> 0.25 + 0.0625; 1, 3: 0
    expected = [1.5, 0.0, 0.3125, 0.0]
    reference = SPECS["ch0-ex-popularity"]["reference"]
    np.testing.assert_allclose(reference(LOG, 4, 7.0), expected)
    np.testing.assert_allclose(_popularity_loop(LOG, 4, 7.0), expected)


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (_popularity_loop, CORRECT, ""),
        (
            lambda t, n, h: np.bincount(t.item_id, minlength=n).astype(float),
            HINT,
            "counts 1",
        ),
        (lambda t, n, h: _popularity_loop(t, n, h * math.log(2)), HINT, "0.69"),
        (lambda t, n, h: _popularity_loop(t, n, -h), HINT, "old purchases weigh"),
        (lambda t, n, h: _popularity_loop(t, n, h)[:-1], HINT, "shape"),
        (_stub, NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_popularity(capsys, answer, status, words):
    got, out = _outcome(capsys, "ch0-ex-popularity", answer)
    assert got == status and words in out


@pytest.mark.parametrize("seed", range(20))
def test_popularity_hidden_cases_keep_an_item_nobody_bought(seed):
    spec = SPECS["ch0-ex-popularity"]
    for train, num_items, half_life in hidden_inputs(spec, "ch0-ex-popularity", seed):
        assert set(train.columns) == {"user_id", "item_id", "age"}
        expected = spec["reference"](train, num_items, half_life)
        np.testing.assert_allclose(
            expected, _popularity_loop(train, num_items, half_life)
        )
        assert expected.shape == (num_items,) and expected[-1] == 0.0


# --- the chapter's solutions -------------------------------------------------------


@pytest.mark.parametrize(
    "label, name",
    [("ch0-ex-metrics", "ndcg_at"), ("ch0-ex-popularity", "popularity_scores")],
)
def test_the_chapters_solution_passes(capsys, label, name):
    namespace = {"np": np, "pd": pd, "ru": ru}
    exec(solution_source(EXERCISES, label), namespace)  # noqa: S102 - our notebook
    got, _ = _outcome(capsys, label, namespace[name])
    assert got == CORRECT
