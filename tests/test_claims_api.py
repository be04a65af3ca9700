"""recsys_utils.claims: asserted claims and parity checks, with their records."""

from __future__ import annotations

import json

import numpy as np
import pytest

import recsys_utils as ru
from recsys_utils.claims import CLAIMS_MEASURE_ENV, LOG_ENV, MEASURE_ENV


def test_assert_claim_returns_the_room_left():
    assert ru.assert_claim("a beats b", 0.30 - 0.20, at_least=0.05) == pytest.approx(
        0.05
    )
    assert ru.assert_claim("changes little", 0.004, at_most=0.01) == pytest.approx(
        0.006
    )
    # with both bounds, the tighter side
    assert ru.assert_claim(
        "in a band", 0.5, at_least=0.45, at_most=0.9
    ) == pytest.approx(0.05)


def test_assert_claim_fails_with_value_and_bound():
    with pytest.raises(
        AssertionError, match=r"'a beats b' does not hold: 0.01, not at least 0.05"
    ):
        ru.assert_claim("a beats b", 0.01, at_least=0.05)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"value": 1.0}, "a bound"),
        ({"value": float("nan"), "at_least": 0}, "value"),
        ({"value": "1", "at_least": 0}, "value"),
    ],
)
def test_assert_claim_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ru.assert_claim("x", **kwargs)
    with pytest.raises(ValueError, match="name"):
        ru.assert_claim("", 1.0, at_least=0)


def test_assert_parity_gap_and_failure():
    a = np.array([1.0, 2.0, 3.0])
    assert ru.assert_parity(a, a + [0, 1e-6, 0], atol=1e-5, rtol=0) == pytest.approx(
        1e-6
    )
    with pytest.raises(AssertionError, match="at index 1: 2 vs 2.001"):
        ru.assert_parity(a, a + [0, 1e-3, 0], atol=1e-5, rtol=0, name="losses")
    with pytest.raises(AssertionError, match="shapes differ"):
        ru.assert_parity(a, a[:2], atol=1)


def test_records_go_to_the_log_and_measure_mode_does_not_raise(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(LOG_ENV, str(log))
    monkeypatch.setenv("RECSYS_NOTEBOOK", "03_two_tower/02_training.ipynb")
    ru.assert_claim("a beats b", 0.1, at_least=0.05)
    monkeypatch.setenv(MEASURE_ENV, "1")
    gap = ru.assert_parity([1.0, 2.0], [1.0, 2.5], atol=0.1, rtol=0, name="scores")
    assert gap == pytest.approx(0.5)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[0] == {
        "kind": "claim",
        "notebook": "03_two_tower/02_training.ipynb",
        "name": "a beats b",
        "value": 0.1,
        "at_least": 0.05,
        "at_most": None,
        "room": pytest.approx(0.05),
    }
    assert lines[1]["kind"] == "parity" and lines[1]["used"] == pytest.approx(5.0)


def test_claims_measure_mode_records_a_failing_claim_and_goes_on(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(LOG_ENV, str(log))
    with pytest.raises(AssertionError, match="not at least 0.5"):
        ru.assert_claim("a beats b", 0.1, at_least=0.5)
    monkeypatch.setenv(MEASURE_ENV, "1")  # the parity switch does not cover claims
    with pytest.raises(AssertionError):
        ru.assert_claim("a beats b", 0.1, at_least=0.5)
    monkeypatch.setenv(CLAIMS_MEASURE_ENV, "1")
    assert ru.assert_claim("a beats b", 0.1, at_least=0.5) == pytest.approx(-0.4)
    rooms = [json.loads(line)["room"] for line in log.read_text().splitlines()]
    assert rooms == pytest.approx([-0.4, -0.4, -0.4])
