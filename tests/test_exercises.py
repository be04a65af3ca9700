"""The exercise registry: labels, unknown labels, not-attempted stubs, and every check
accepting its reference answer (the references are the checks' own, so a check whose
reference disagreed with the chapter would be caught by the book build's asserts)."""

import numpy as np
import pytest

import recsys_utils as ru
from recsys_utils.checks import CHECK_MIME, CORRECT, ERROR, HINT, NOT_ATTEMPTED


def test_labels_are_registered():
    assert {"ch1-ex-observed-loss", "ch1-ex-weights", "ch1-ex-confidence"} <= set(
        ru.exercises.labels()
    )


def test_unknown_label_lists_the_known_ones():
    with pytest.raises(
        ValueError,
        match="no exercise is labelled 'nope'; known labels: .*ch1-ex-weights",
    ):
        ru.exercises.check("nope", None)


def _stub(ids):
    raise NotImplementedError("your code here")


@pytest.mark.parametrize(
    "answer, status",
    [
        (_stub, NOT_ATTEMPTED),
        (..., NOT_ATTEMPTED),
        (lambda ids: 1.0 / np.bincount(ids)[ids], CORRECT),
        (lambda ids: np.bincount(ids)[ids].astype(float), HINT),
        (lambda ids: 1 / 0, ERROR),
        (3.0, ERROR),
    ],
)
def test_outcomes(answer, status, capsys):
    result = ru.exercises.check("ch1-ex-weights", answer)
    assert result.status == status and result.ok == (status == CORRECT)
    assert result.exercise == "ch1-ex-weights"
    out = capsys.readouterr().out
    assert out.startswith(
        {CORRECT: "✅", HINT: "❌", NOT_ATTEMPTED: "⏳", ERROR: "⚠️"}[status]
    )
    if status == HINT:
        assert "you returned n, not 1/n" in out


def test_value_stub_is_not_attempted():
    assert ru.checks.check_value(..., 1.0, name="x").status == NOT_ATTEMPTED


def test_outcome_is_published_in_a_kernel(monkeypatch):
    shown = []

    class Shell:
        kernel = object()

    import IPython
    import IPython.display

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    monkeypatch.setattr(
        IPython.display, "display", lambda obj, raw=False: shown.append((obj, raw))
    )
    ru.exercises.check("ch1-ex-weights", lambda ids: 1.0 / np.bincount(ids)[ids])
    assert shown == [
        ({CHECK_MIME: {"exercise": "ch1-ex-weights", "status": CORRECT}}, True)
    ]


#: Found by the test below, not yet fixed in instructors/grading (strict: it fails
#: once the hidden cases catch the mistake, so the entry must then go).
KNOWN_GAPS: dict[str, str] = {}  # label -> why a mistake still passes


def _function_exercises():
    from exercise_cases import GRADING, instructor

    for path in sorted(GRADING.glob("ch[0-9][0-9].py")):
        exercises = instructor(path.stem).EXERCISES
        for label, exercise in sorted(exercises.items()):
            if exercise["kind"] == "function" and exercise.get("hints"):
                gap = KNOWN_GAPS.get(label)
                marks = [pytest.mark.xfail(reason=gap, strict=True)] if gap else []
                yield pytest.param(label, exercise, id=label, marks=marks)


@pytest.mark.parametrize("label, exercise", list(_function_exercises()))
def test_every_typical_mistake_fails_a_hidden_case(label, exercise):
    """A mistake the hints name must not pass the grade: for each of 20 grading seeds,
    every typical mistake differs from the reference on one hidden case at least."""
    from exercise_cases import uncaught_mistakes

    assert not uncaught_mistakes(label, exercise)
