"""Chapter 6's exercise checks: each reference passes, each typical mistake gets its
own hint, a stub reports "not attempted"; the loss exercise in both frameworks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import hypergeom

import recsys_utils as ru
from recsys_utils.checks import CORRECT, HINT, NOT_ATTEMPTED


def _instructor(name: str):
    """A module of instructors/grading (the references stay with the instructor)."""
    path = Path(__file__).parents[1] / "instructors" / "grading" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"instructor_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ch06 = _instructor("ch06")


def _stub(*args, **kwargs):
    raise NotImplementedError("your code here")


def _status(label, answer, **context):
    return ru.exercises.check(label, answer, **context).status


def test_labels_are_registered():
    assert {
        "ch6-ex-mask-count",
        "ch6-ex-mask",
        "ch6-ex-loss",
        "ch6-ex-sampled-hit",
        "ch6-ex-markov",
    } <= set(ru.exercises.labels())


def test_mask_count(capsys):
    assert _status("ch6-ex-mask-count", 15) == CORRECT  # 5 * 6 / 2, worked by hand
    assert _status("ch6-ex-mask-count", ...) == NOT_ATTEMPTED
    for wrong, words in ((36, "padding"), (25, "causal"), (10, "itself")):
        assert _status("ch6-ex-mask-count", wrong) == HINT
        assert words in capsys.readouterr().out


def test_attention_mask_reference_by_hand():
    real = np.array([[False, True, True]])
    expected = np.array(
        [[[False, False, False], [False, True, False], [False, True, True]]]
    )
    np.testing.assert_array_equal(ch06.attention_mask_reference(real), expected)


def test_attention_mask_check(capsys):
    def mine(real):
        length = real.shape[1]
        allowed = np.zeros((len(real), length, length), dtype=bool)
        for b in range(len(real)):
            for t in range(length):
                for s in range(t + 1):
                    allowed[b, t, s] = real[b, s]
        return allowed

    assert _status("ch6-ex-mask", mine) == CORRECT
    assert _status("ch6-ex-mask", _stub) == NOT_ATTEMPTED
    for wrong, words in (
        (ch06._no_padding, "padding keys"),
        (ch06._padding_on_queries, "padding queries"),
        (ch06._strict, "diagonal"),
    ):
        capsys.readouterr()
        assert _status("ch6-ex-mask", wrong) == HINT
        assert words in capsys.readouterr().out


def test_masked_cross_entropy_reference_by_hand():
    # two real positions with uniform logits over 4 items: each loss is log 4
    logits = np.zeros((1, 3, 4), dtype=np.float32)
    targets = np.array([[4, 1, 2]])
    assert ch06.masked_cross_entropy_reference(logits, targets, 4) == pytest.approx(
        np.log(4)
    )
    # one confident right answer (logit 10 on the target) and one uniform
    logits[0, 1, 1] = 10.0
    first = -(10 - np.log(np.exp(10) + 3))
    assert ch06.masked_cross_entropy_reference(logits, targets, 4) == pytest.approx(
        (first + np.log(4)) / 2
    )


def _torch_answers():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def right(logits, targets, pad_id):
        real = targets != pad_id
        return F.cross_entropy(logits[real], targets[real])

    def every_position(logits, targets, pad_id):
        safe = torch.where(targets == pad_id, 0, targets)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), safe.reshape(-1))

    def summed(logits, targets, pad_id):
        real = targets != pad_id
        return F.cross_entropy(logits[real], targets[real], reduction="sum")

    return right, every_position, summed


def _tf_answers():
    tf = pytest.importorskip("tensorflow")

    def ce(logits, targets):
        return tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=targets, logits=logits
        )

    def right(logits, targets, pad_id):
        real = targets != pad_id
        return tf.reduce_mean(
            ce(tf.boolean_mask(logits, real), tf.boolean_mask(targets, real))
        )

    def every_position(logits, targets, pad_id):
        safe = tf.where(targets == pad_id, tf.zeros_like(targets), targets)
        return tf.reduce_mean(ce(logits, safe))

    def summed(logits, targets, pad_id):
        real = targets != pad_id
        return tf.reduce_sum(
            ce(tf.boolean_mask(logits, real), tf.boolean_mask(targets, real))
        )

    return right, every_position, summed


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_masked_cross_entropy_check(framework, capsys):
    answers = _torch_answers() if framework == "pytorch" else _tf_answers()
    right, every_position, summed = answers
    assert _status("ch6-ex-loss", right, framework=framework) == CORRECT
    assert _status("ch6-ex-loss", _stub, framework=framework) == NOT_ATTEMPTED
    capsys.readouterr()
    assert _status("ch6-ex-loss", every_position, framework=framework) == HINT
    assert "padding positions are in your mean" in capsys.readouterr().out
    assert _status("ch6-ex-loss", summed, framework=framework) == HINT
    assert "take the mean" in capsys.readouterr().out


def test_masked_cross_entropy_rejects_an_unknown_framework():
    with pytest.raises(ValueError, match="framework must be 'pytorch' or 'tensorflow'"):
        ru.exercises.check("ch6-ex-loss", _stub, framework="jax")


def test_sampled_hit(capsys):
    # the hypergeometric tail, summed by hand from its probability mass function
    mass = hypergeom(M=1500, n=150, N=100).pmf(np.arange(10))
    assert _status("ch6-ex-sampled-hit", float(mass.sum())) == CORRECT
    assert 0.4 < mass.sum() < 0.6  # a hit about half the time at full rank 150
    assert _status("ch6-ex-sampled-hit", ...) == NOT_ATTEMPTED
    from scipy.stats import binom

    capsys.readouterr()
    assert _status("ch6-ex-sampled-hit", binom(100, 0.1).cdf(9)) == HINT
    assert "with replacement" in capsys.readouterr().out
    assert _status("ch6-ex-sampled-hit", 1 - mass.sum()) == HINT
    assert "miss" in capsys.readouterr().out


def test_transition_probabilities_reference_by_hand():
    sequences = [np.array([0, 1, 0, 1]), np.array([1, 2])]
    # transitions: 0->1 twice, 1->0 once, 1->2 once; item 2 has none out
    expected = np.array([[0, 1, 0], [0.5, 0, 0.5], [0, 0, 0]])
    np.testing.assert_allclose(ch06.transition_reference(sequences, 3), expected)


def test_transition_probabilities_check(capsys):
    def mine(sequences, num_items):
        counts = np.zeros((num_items, num_items))
        for seq in sequences:
            for a, b in zip(seq[:-1], seq[1:]):
                counts[a, b] += 1
        total = counts.sum(axis=1, keepdims=True)
        return np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)

    assert _status("ch6-ex-markov", mine) == CORRECT
    assert _status("ch6-ex-markov", _stub) == NOT_ATTEMPTED
    for wrong, words in (
        (ch06._both_directions, "order matters"),
        (ch06._global_share, "not by all"),
        (ch06._repeats_counted_once, "np.add.at"),
    ):
        capsys.readouterr()
        assert _status("ch6-ex-markov", wrong) == HINT
        assert words in capsys.readouterr().out
