"""Exercise self-checks: right answers pass, typical wrong answers get their hint."""

import numpy as np
import pytest

from recsys_utils.checks import (
    CheckResult,
    Hint,
    check_function,
    check_value,
)
from recsys_utils.claims import assert_parity


def observed_loss(R, P):
    """Reference: squared error over observed (nonzero) entries only."""
    mask = R != 0
    return float(((R - P) ** 2)[mask].sum())


def dense_loss(R, P):
    """Typical mistake: the loss over every cell, unobserved ones included."""
    return float(((R - P) ** 2).sum())


def make_inputs(rng):
    R = rng.integers(0, 6, size=(4, 5)).astype(float)
    return R, rng.normal(2.5, 1.0, size=(4, 5))


def test_check_value_right_answer(capsys):
    res = check_value(np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9], name="the scores")
    assert isinstance(res, CheckResult) and res.ok and bool(res)
    assert capsys.readouterr().out.strip() == "✅ correct: the scores"


def test_check_value_hints_and_no_leak(capsys):
    expected = 0.731
    hints = [
        Hint(-expected, "check the sign of the gradient step"),
        Hint(lambda a: a > 1, "a probability cannot exceed 1"),
    ]
    res = check_value(-0.731, expected, name="p", hints=hints)
    assert not res.ok and "check the sign" in res.message
    res = check_value(1.7, expected, name="p", hints=hints)
    assert "cannot exceed 1" in res.message
    res = check_value(0.5, expected, name="p", hints=hints)  # no specific hint: generic
    assert res.message.startswith("❌ not yet: p: the values differ")
    out = capsys.readouterr().out
    assert "0.731" not in out and "❌ not yet" in out


def test_check_value_shape_nan_none():
    res = check_value(np.zeros(3), np.zeros((3, 1)), name="x")
    assert "has shape (3,), but it should have shape (3, 1)" in res.message
    res = check_value(np.array([1.0, np.nan]), [1.0, 2.0], name="x")
    assert "contains NaN" in res.message
    res = check_value(None, 1.0, name="x")
    assert "forget a `return`" in res.message
    res = check_value("abc", 1.0, name="x")
    assert "should be numeric" in res.message


def test_check_function_right_and_wrong(capsys):
    res = check_function(
        observed_loss, observed_loss, name="the MF loss", make_inputs=make_inputs
    )
    assert res.ok
    hints = [Hint(dense_loss, "only observed ratings (R != 0) enter the loss")]
    res = check_function(
        dense_loss,
        observed_loss,
        name="the MF loss",
        make_inputs=make_inputs,
        hints=hints,
    )
    assert not res.ok and "only observed ratings" in res.message
    # a different wrong answer (mean instead of sum) gets the generic hint
    res = check_function(
        lambda R, P: observed_loss(R, P) / 20,
        observed_loss,
        name="the MF loss",
        make_inputs=make_inputs,
        hints=hints,
    )
    assert "differs from the reference on 5 of 5 random inputs" in res.message
    capsys.readouterr()


def test_check_function_errors_shapes_and_conversion():
    res = check_function(
        lambda R, P: 1 / 0, observed_loss, name="f", make_inputs=make_inputs
    )
    assert "f raised ZeroDivisionError" in res.message
    res = check_function(
        lambda R, P: R, observed_loss, name="f", make_inputs=make_inputs
    )
    assert "has shape (4, 5), but it should have shape ()" in res.message
    # convert_inputs is applied to what the student function receives
    res = check_function(
        lambda R, P: observed_loss(np.asarray(R), np.asarray(P)),
        observed_loss,
        name="f",
        make_inputs=make_inputs,
        convert_inputs=lambda args: tuple(a.tolist() for a in args),
    )
    assert res.ok
    with pytest.raises(ValueError, match="n_trials must be a positive int"):
        check_function(
            observed_loss, observed_loss, name="f", make_inputs=make_inputs, n_trials=0
        )


def test_assert_parity():
    a = np.array([1.0, 2.0, 3.0])
    assert assert_parity(a, a + 1e-7, atol=1e-6, rtol=0) == pytest.approx(1e-7)
    with pytest.raises(
        AssertionError, match=r"loss: the curves differ by up to 0.1 \(at index 2"
    ):
        assert_parity(a, a + np.array([0, 0, 0.1]), atol=1e-3, rtol=0, name="loss")
    with pytest.raises(AssertionError, match="shapes differ"):
        assert_parity(a, a[:2])
    with pytest.raises(AssertionError, match="NaN"):
        assert_parity(a, np.array([1.0, np.nan, 3.0]))


def test_a_mistake_matched_as_row_sets_ignores_the_order_within_rows():
    # argpartition leaves the k best in an order that depends on the CPU: the hint
    # must fire for any order of the right set, and not for another set
    from recsys_utils.checks import ROW_SETS, judge

    expected = np.array([[4, 2, 9], [1, 7, 3]])
    stored = np.sort(expected, axis=1)  # as instructors/publish_checks.py stores it
    kwargs = dict(name="top-k", rtol=0, atol=0, wrong=[stored], messages=["sort them"])
    shuffled = np.array([[9, 4, 2], [3, 1, 7]])
    assert judge(shuffled, expected, match=[ROW_SETS], **kwargs) == (False, "sort them")
    other_set = np.array([[9, 4, 5], [3, 1, 7]])
    ok, message = judge(other_set, expected, match=[ROW_SETS], **kwargs)
    assert not ok and message != "sort them"
    # compared exactly (the default), the shuffled answer gets no hint
    assert judge(shuffled, expected, **kwargs)[1] != "sort them"
    with pytest.raises(ValueError, match="match must be None or"):
        judge(shuffled, expected, match=["sets"], **kwargs)
