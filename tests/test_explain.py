"""The reason checker of chapter 8: grammar, claims, metrics, encode/decode."""

from __future__ import annotations

import numpy as np
import pytest

from recsys_utils import explain
from recsys_utils.marketplace.reasons import REASON_NAMES


def _row(*names):
    out = np.zeros((1, len(REASON_NAMES)), dtype=bool)
    for name in names:
        out[0, REASON_NAMES.index(name)] = True
    return out


def test_render_parse_round_trip():
    reasons = {"colour=red", "style=sporty", "material=leather", "complement=shoes"}
    text = explain.render(reasons)
    assert text == (
        "because you like red , sporty and leather and it goes with your shoes ."
    )
    assert explain.parse(text) == frozenset(reasons)
    assert explain.render([]) == explain.FALLBACK
    assert explain.parse(explain.FALLBACK) == frozenset()


def test_fluency_rejects_broken_and_repeated_sentences():
    assert explain.is_fluent("because you like red and sporty .")
    assert not explain.is_fluent("because you like red red .")
    assert not explain.is_fluent("because you like red and red .")  # a claim twice
    assert not explain.is_fluent("you like red .")
    assert not explain.is_fluent("because it goes with your red .")


def test_claims_are_read_from_unfluent_text_too():
    assert explain.claims("red because your shoes") == {
        "colour=red",
        "complement=shoes",
    }
    assert explain.claims("because you like shoes .") == {"category=shoes"}


def test_metrics_count_true_false_and_hallucinated_claims():
    text = ["because you like red and sporty and it goes with your shoes ."]
    truth = _row("colour=red", "pattern=plain")
    facts = _row("colour=red", "style=sporty", "pattern=plain", "complement=shoes")
    m = explain.evaluate_reasons(text, truth, facts)
    assert m["faithfulness"] == pytest.approx(1 / 3)
    assert m["coverage"] == pytest.approx(1 / 2)
    assert m["hallucination"] == 0.0
    assert m["fluency"] == 1.0
    m = explain.evaluate_reasons(["because you like blue ."], truth, facts)
    assert m["faithfulness"] == 0.0 and m["hallucination"] == 1.0


def test_encode_decode_round_trip_and_clear_errors():
    texts = [explain.render({"colour=red"}), explain.FALLBACK]
    ids = explain.encode(texts, 12)
    assert explain.decode(ids) == texts
    with pytest.raises(ValueError, match="outside VOCAB"):
        explain.encode(["because you like magenta ."], 12)
    with pytest.raises(ValueError, match="max_len"):
        explain.encode(texts, 3)
    with pytest.raises(ValueError, match="one column per reason"):
        explain.reason_metrics(np.zeros((1, 3), bool), _row(), _row())
    with pytest.raises(ValueError, match="unknown reason"):
        explain.render(["colour=magenta"])
