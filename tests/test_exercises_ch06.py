"""Chapter 6's exercise checks: each reference passes, each typical mistake gets its
own hint, a stub reports "not attempted"; the loss exercise in both frameworks."""

from __future__ import annotations

import numpy as np
import pytest
from exercise_cases import instructor
from scipy.stats import hypergeom

import recsys_utils as ru
from recsys_utils.checks import CORRECT, HINT, NOT_ATTEMPTED

ch06 = instructor("ch06")


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


def test_allowed_pairs_reference_by_hand():
    real = np.array(
        [
            [False, False, False, True, True, True, True, True],  # the statement's row
            [True, False, True, True, False, False, False, False],  # padding anywhere
            [False] * 8,
        ]
    )
    # n(n + 1) / 2 for n = 5, 3, 0, wherever the padding sits
    np.testing.assert_array_equal(ch06.allowed_pairs_reference(real), [15, 6, 0])


def test_allowed_pairs_check(capsys):
    def from_the_mask(real):  # count the real queries' rows of a (B, L, L) mask
        length = real.shape[1]
        causal = np.tril(np.ones((length, length), dtype=bool))
        allowed = causal[None] & real[:, None, :] & real[:, :, None]
        return allowed.sum(axis=(1, 2))

    assert _status("ch6-ex-mask-count", from_the_mask) == CORRECT
    assert _status("ch6-ex-mask-count", _stub) == NOT_ATTEMPTED
    for wrong, words in (
        (lambda r: np.full(len(r), r.shape[1] * (r.shape[1] + 1) // 2), "padding"),
        (lambda r: r.sum(1) ** 2, "causal"),
        (lambda r: r.sum(1) * (r.sum(1) - 1) // 2, "itself"),
        (ch06._pairs_padding_queries, "padding queries"),
    ):
        capsys.readouterr()
        assert _status("ch6-ex-mask-count", wrong) == HINT
        assert words in capsys.readouterr().out


def test_attention_mask_reference_by_hand():
    real = np.array([[False, True, True, True]])
    # window 2: query t sees keys t - 1 and t, and key 0 is padding
    expected = np.array(
        [
            [
                [False, False, False, False],
                [False, True, False, False],
                [False, True, True, False],
                [False, False, True, True],
            ]
        ]
    )
    np.testing.assert_array_equal(ch06.attention_mask_reference(real, 2), expected)


def test_attention_mask_without_a_window_bite_is_the_chapters():
    real = np.arange(6)[None, :] >= np.array([[0], [2], [5]])
    np.testing.assert_array_equal(
        ch06.attention_mask_reference(real, 6), ch06._mask_no_window(real, 6)
    )


def test_attention_mask_check(capsys):
    def mine(real, window):
        length = real.shape[1]
        allowed = np.zeros((len(real), length, length), dtype=bool)
        for b in range(len(real)):
            for t in range(length):
                for s in range(t + 1):
                    allowed[b, t, s] = real[b, s] and t - s < window
        return allowed

    assert _status("ch6-ex-mask", mine) == CORRECT
    assert _status("ch6-ex-mask", _stub) == NOT_ATTEMPTED
    for wrong, words in (
        (lambda real, window: mine(real, real.shape[1]), "chapter's mask"),
        (lambda real, window: mine(real, window + 1), "off by one"),
        (ch06._padding_on_queries, "padding queries"),
    ):
        capsys.readouterr()
        assert _status("ch6-ex-mask", wrong) == HINT
        assert words in capsys.readouterr().out


def test_masked_cross_entropy_reference_by_hand():
    # two real positions with uniform logits over 4 items: each loss is log 4,
    # whatever the smoothing
    logits = np.zeros((1, 3, 4), dtype=np.float32)
    targets = np.array([[4, 1, 2]])
    for eps in (0.0, 0.3):
        assert ch06.masked_cross_entropy_reference(
            logits, targets, 4, eps
        ) == pytest.approx(np.log(4))
    # one confident right answer (logit 10 on the target) and one uniform
    logits[0, 1, 1] = 10.0
    log_z = np.log(np.exp(10) + 3)
    smoothed = 0.7 * (log_z - 10) + 0.3 * (log_z - 10 / 4)  # eps = 0.3 over 4 items
    assert ch06.masked_cross_entropy_reference(logits, targets, 4, 0.3) == (
        pytest.approx((smoothed + np.log(4)) / 2)
    )


def test_masked_cross_entropy_reference_matches_pytorchs_smoothing():
    torch = pytest.importorskip("torch")
    logits, targets, pad_id, eps = ch06._loss_inputs(np.random.default_rng(5))
    real = targets != pad_id
    expected = torch.nn.functional.cross_entropy(
        torch.from_numpy(logits[real]).double(),
        torch.from_numpy(targets[real]),
        label_smoothing=eps,
    )
    assert ch06.masked_cross_entropy_reference(
        logits, targets, pad_id, eps
    ) == pytest.approx(float(expected), rel=1e-12)


def _torch_answers():
    torch = pytest.importorskip("torch")

    def losses(logits, targets, pad_id, eps, others=False):  # (B, L) and real
        logp = torch.log_softmax(logits, dim=-1)
        num_items = logits.shape[-1]
        safe = torch.where(targets == pad_id, 0, targets)
        picked = logp.gather(-1, safe[..., None])[..., 0]
        if others:
            rest = (logp.sum(-1) - picked) / (num_items - 1)
        else:
            rest = logp.mean(-1)
        return -((1 - eps) * picked + eps * rest), targets != pad_id

    def right(logits, targets, pad_id, eps):
        out, real = losses(logits, targets, pad_id, eps)
        return out[real].mean()

    def every_position(logits, targets, pad_id, eps):
        return losses(logits, targets, pad_id, eps)[0].mean()

    def summed(logits, targets, pad_id, eps):
        out, real = losses(logits, targets, pad_id, eps)
        return out[real].sum()

    def others(logits, targets, pad_id, eps):
        out, real = losses(logits, targets, pad_id, eps, others=True)
        return out[real].mean()

    def ignored(logits, targets, pad_id, eps):
        real = targets != pad_id
        return torch.nn.functional.cross_entropy(logits[real], targets[real])

    return right, every_position, summed, others, ignored


def _tf_answers():
    tf = pytest.importorskip("tensorflow")

    def right(logits, targets, pad_id, eps):  # Keras' own smoothing, for the test
        real = targets != pad_id
        num_items = logits.shape[-1]
        loss = tf.keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=eps
        )
        one_hot = tf.one_hot(tf.boolean_mask(targets, real), num_items)
        return loss(one_hot, tf.boolean_mask(logits, real))

    def every_position(logits, targets, pad_id, eps):
        safe = tf.where(targets == pad_id, tf.zeros_like(targets), targets)
        return right(logits, safe, -1, eps)

    def summed(logits, targets, pad_id, eps):
        real = tf.cast(targets != pad_id, tf.float32)
        return right(logits, targets, pad_id, eps) * tf.reduce_sum(real)

    def others(logits, targets, pad_id, eps):
        num_items = logits.shape[-1]
        return right(logits, targets, pad_id, eps * num_items / (num_items - 1))

    def ignored(logits, targets, pad_id, eps):
        return right(logits, targets, pad_id, 0.0)

    return right, every_position, summed, others, ignored


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow"])
def test_masked_cross_entropy_check(framework, capsys):
    answers = _torch_answers() if framework == "pytorch" else _tf_answers()
    right, *wrong = answers
    assert _status("ch6-ex-loss", right, framework=framework) == CORRECT
    assert _status("ch6-ex-loss", _stub, framework=framework) == NOT_ATTEMPTED
    words = (
        "padding positions are in your mean",
        "take the mean",
        "num_items - 1 other items",
        "label_smoothing is ignored",
    )
    for answer, expected in zip(wrong, words, strict=True):
        capsys.readouterr()
        assert _status("ch6-ex-loss", answer, framework=framework) == HINT
        assert expected in capsys.readouterr().out


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
    np.testing.assert_allclose(ch06.transition_reference(sequences, 3, 0.0), expected)
    # alpha = 1: row 0 (0, 2, 0) + 1 over 5, row 1 (1, 0, 1) + 1 over 5, row 2 stays
    smoothed = np.array([[1, 3, 1], [2, 1, 2], [0, 0, 0]]) / 5
    np.testing.assert_allclose(ch06.transition_reference(sequences, 3, 1.0), smoothed)


def test_transition_probabilities_check(capsys):
    def mine(sequences, num_items, alpha):
        counts = np.zeros((num_items, num_items))
        for seq in sequences:
            for a, b in zip(seq[:-1], seq[1:]):
                counts[a, b] += 1
        out = np.zeros_like(counts)
        for i in np.flatnonzero(counts.sum(axis=1)):
            out[i] = (counts[i] + alpha) / (counts[i] + alpha).sum()
        return out

    assert _status("ch6-ex-markov", mine) == CORRECT
    assert _status("ch6-ex-markov", _stub) == NOT_ATTEMPTED

    def empty_rows_smoothed(sequences, num_items, alpha):
        counts = mine(sequences, num_items, 0.0) * 0
        for seq in sequences:
            np.add.at(counts, (seq[:-1], seq[1:]), 1.0)
        return (counts + alpha) / (counts + alpha).sum(axis=1, keepdims=True)

    for wrong, words in (
        (empty_rows_smoothed, "row of zeros"),
        (lambda s, n, a: mine(s, n, 0.0), "alpha is ignored"),
        (ch06._both_directions, "order matters"),
        (ch06._global_share, "not by the total"),
        (ch06._repeats_counted_once, "np.add.at"),
    ):
        capsys.readouterr()
        assert _status("ch6-ex-markov", wrong) == HINT
        assert words in capsys.readouterr().out
