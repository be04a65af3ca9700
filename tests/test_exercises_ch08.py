"""Chapter 8's exercise checks: a correct answer passes, each typical mistake gets its
hint, a stub reports "not attempted" (recsys_utils/exercises/ch08.py), and the hidden
cases the grader draws are ones the reference scores.

The correct answers here are written independently of the checks' references (per
pair, with Python sets, not with recsys_utils.explain.reason_metrics), so a wrong
reference would fail these tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import recsys_utils as ru
from coursetools.grade import hidden_inputs, load_specs
from coursetools.sections import discover
from recsys_utils import explain
from recsys_utils.checks import CORRECT, HINT, NOT_ATTEMPTED
from recsys_utils.marketplace.reasons import REASON_NAMES, reason_sets

ROOT = Path(__file__).resolve().parents[1]
SPECS, WRITTEN = load_specs(ROOT / "instructors" / "grading")


from exercise_cases import outcome as _outcome  # noqa: E402
from exercise_cases import stub as _stub  # noqa: E402


def test_chapter_8_labels_are_registered_and_graded():
    assert {"ch8-ex-metrics", "ch8-ex-threshold"} <= set(ru.exercises.labels())
    assert {"ch8-ex-metrics", "ch8-ex-threshold"} <= set(SPECS)
    assert {"ch8-ex-attribution", "ch8-ex-hallucinate", "ch8-ex-tradeoff"} <= set(
        WRITTEN
    )
    (section,) = [
        s for s in discover(ROOT / "chapters") if s.chapter == 8 and s.is_exercises
    ]
    assert section.is_graded  # a student notebook is made and graded


# --- ch8-ex-metrics: faithfulness, coverage, hallucination rate per kind ---------

KINDS = (
    "category",
    "colour",
    "style",
    "pattern",
    "material",
    "price_band",
    "complement",
)


def _totals(claims, truths, known, prefix=""):
    """Totals over pairs of the claims and true reasons whose names start with
    ``prefix``, counted claim by claim on sets of names."""

    def of(names):
        return {n for n in names if n.startswith(prefix)}

    num_claims = sum(len(of(c)) for c in claims)
    true_claims = sum(len(of(c) & t) for c, t in zip(claims, truths))
    outside = sum(len(of(c) - f) for c, f in zip(claims, known))
    num_true = sum(len(of(t)) for t in truths)
    return [
        true_claims / num_claims if num_claims else np.nan,
        true_claims / num_true if num_true else np.nan,
        outside / num_claims if num_claims else np.nan,
    ]


def _sets(*matrices):
    return [reason_sets(np.asarray(m, dtype=bool)) for m in matrices]


def _by_sets(claimed, truth, facts):
    """Per kind, section 8.1's totals over pairs."""
    sets = _sets(claimed, truth, facts)
    return np.array([_totals(*sets, prefix=kind + "=") for kind in KINDS])


def _per_pair(claimed, truth, facts):  # a mean of per-pair ratios, per kind
    claims, truths, known = _sets(claimed, truth, facts)
    rows = []
    for kind in KINDS:

        def of(names, kind=kind):
            return {n for n in names if n.startswith(kind + "=")}

        faith = [len(of(c) & t) / len(of(c)) for c, t in zip(claims, truths) if of(c)]
        cover = [len(of(t) & c) / len(of(t)) for c, t in zip(claims, truths) if of(t)]
        out = [len(of(c) - f) / len(of(c)) for c, f in zip(claims, known) if of(c)]
        rows.append([np.mean(x) if x else np.nan for x in (faith, cover, out)])
    return np.array(rows)


def _not_a_reason(claimed, truth, facts):
    return _by_sets(claimed, truth, truth)


def _alphabetical(claimed, truth, facts):
    return _by_sets(claimed, truth, facts)[np.argsort(KINDS)]


def _zero_for_nan(claimed, truth, facts):
    return np.nan_to_num(_by_sets(claimed, truth, facts), nan=0.0)


def test_kinds_are_the_order_of_reason_names():
    first_seen = list(dict.fromkeys(n.split("=")[0] for n in REASON_NAMES))
    assert tuple(first_seen) == KINDS


def test_the_hand_made_pairs_of_the_exercise():
    # the cell of section 8.5: red true, sporty a fact only, leather unclaimed,
    # shoes outside the facts
    claimed = explain.claim_matrix(
        ["because you like red and sporty .", "because it goes with your shoes ."]
    )
    truth = explain.claim_matrix(
        ["because you like red and leather .", explain.FALLBACK]
    )
    facts = truth | explain.claim_matrix(
        ["because you like sporty .", explain.FALLBACK]
    )
    nan = np.nan
    expected = {
        "category": [nan, nan, nan],
        "colour": [1, 1, 0],
        "style": [0, nan, 0],
        "material": [nan, 0, nan],
        "complement": [0, nan, 1],
    }
    got = dict(zip(KINDS, _by_sets(claimed, truth, facts)))
    for kind, row in expected.items():
        assert np.allclose(got[kind], row, equal_nan=True), kind


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (_by_sets, CORRECT, ""),
        (_per_pair, HINT, "ratio per pair"),
        (_not_a_reason, HINT, "outside the pair's facts"),
        (_alphabetical, HINT, "sorted by name"),
        (_zero_for_nan, HINT, "NaN for 0 / 0"),
        (lambda c, t, f: np.full((len(KINDS), 3), 0.5), HINT, ""),
        (_stub, NOT_ATTEMPTED, "still the stub"),
    ],
)
def test_metrics(capsys, answer, status, words):
    got, out = _outcome(capsys, "ch8-ex-metrics", answer)
    assert got == status and words in out


@pytest.mark.parametrize("seed", range(20))  # any grading seed
def test_the_hidden_cases_are_scored_by_the_reference(seed):
    spec = SPECS["ch8-ex-metrics"]
    cases = hidden_inputs(spec, "ch8-ex-metrics", seed)
    assert len(cases) == spec["hidden_trials"] >= 3
    for claimed, truth, facts in cases:
        assert claimed.shape == truth.shape == facts.shape
        assert claimed.shape[1] == len(REASON_NAMES)
        assert not (truth & ~facts).any()  # a true reason is a fact
        expected = spec["reference"](claimed, truth, facts)
        assert np.isnan(expected[:, 0]).any()  # a kind nobody claimed
        assert np.allclose(expected, _by_sets(claimed, truth, facts), equal_nan=True)
    # each typical mistake is told apart from the answer on some hidden case
    assert all(
        any(
            not np.allclose(
                fn(*case), spec["reference"](*case), atol=1e-6, equal_nan=True
            )
            for case in cases
        )
        for fn, _ in spec["hints"]
    )


def test_a_function_that_memorised_the_public_cases_fails_the_hidden_ones():
    spec = SPECS["ch8-ex-metrics"]
    public = ru.exercises.public_cases("ch8-ex-metrics")
    memo = {
        np.asarray(c["inputs"][0]).tobytes(): np.asarray(c["expected"]) for c in public
    }

    def memorised(claimed, truth, facts):
        return memo.get(np.asarray(claimed).tobytes(), np.zeros((len(KINDS), 3)))

    assert ru.exercises.check("ch8-ex-metrics", memorised).ok
    hidden = hidden_inputs(spec, "ch8-ex-metrics", 0)
    assert any(
        not np.allclose(memorised(*case), spec["reference"](*case), equal_nan=True)
        for case in hidden
    )


# --- ch8-ex-threshold: the template's trade-off, measured -------------------------


@pytest.fixture(scope="module")
def tables():
    """Faithfulness and coverage per min_share on the test, all and train pairs,
    counted on sets of names from the sentences' claims."""
    from recsys_utils.book.ch08 import reason_pairs, split_pairs, template_reasons
    from recsys_utils.marketplace import make_marketplace

    mk = make_marketplace(seed=0, size="classroom", sequential=True)
    pairs = reason_pairs(mk)
    parts = {"all": pairs, **split_pairs(pairs, mk.num_users, 0)}
    out = {}
    for name in ("test", "all", "train"):
        part = parts[name]
        rows = []
        for share in (0.3, 0.5, 0.7):
            texts = template_reasons(
                mk, part["items"], part["history"], min_share=share
            )
            claimed = explain.claim_matrix(texts)
            sets = _sets(claimed, part["truth"], part["facts"])
            faith, cover, _ = _totals(*sets)  # over every kind
            rows.append([faith, cover])
        out[name] = np.array(rows)
    return out


def test_threshold_answers(capsys, tables):
    test = tables["test"]
    # the trade-off exercise 8.3 asks about: faithfulness up, coverage down
    assert (np.diff(test[:, 0]) > 0).all() and (np.diff(test[:, 1]) < 0).all()
    for answer, status, words in [
        (test, CORRECT, ""),
        (np.round(test, 3), CORRECT, ""),  # read from the printed table
        (tables["all"], HINT, "every pair"),
        (tables["train"], HINT, "training shoppers"),
        (test[:, ::-1], HINT, "swapped the columns"),
        (test[1:], HINT, ""),  # a row missing
        (test + 0.005, HINT, ""),
        (..., NOT_ATTEMPTED, "still the stub"),
    ]:
        got, out = _outcome(capsys, "ch8-ex-threshold", answer)
        assert got == status and words in out, (status, out)
