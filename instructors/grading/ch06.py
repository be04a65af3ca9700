"""Chapter 6: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom, hypergeom

_LENGTH, _REAL = 8, 5
_POPULATION, _ABOVE, _DRAWS, _K = 1500, 150, 100, 10


def mask_count_reference():
    n = _REAL
    return n * (n + 1) // 2


def attention_mask_reference(real):
    """Allowed (query t, key s) pairs: ``s <= t`` and key ``s`` real, ``(B, L, L)``."""
    length = real.shape[1]
    causal = np.tril(np.ones((length, length), dtype=bool))
    return causal[None, :, :] & real[:, None, :]


def _mask_inputs(rng):
    batch, length = 3, 7
    pads = rng.integers(0, length, batch)  # left padding of each row
    real = np.arange(length)[None, :] >= pads[:, None]
    return (real,)


def _mask_hidden(rng):
    batch, length = int(rng.integers(2, 6)), int(rng.integers(3, 10))
    pads = rng.integers(0, length, batch)
    return (np.arange(length)[None, :] >= pads[:, None],)


def _no_padding(real):  # the typical mistake: the causal part only
    length = real.shape[1]
    return np.broadcast_to(
        np.tril(np.ones((length, length), dtype=bool)), (len(real), length, length)
    )


def _padding_on_queries(real):  # masks padding queries instead of padding keys
    length = real.shape[1]
    return np.tril(np.ones((length, length), dtype=bool))[None] & real[:, :, None]


def _strict(real):  # s < t: a position may not see itself
    length = real.shape[1]
    return np.tril(np.ones((length, length), dtype=bool), k=-1)[None] & real[:, None, :]


def _log_softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def masked_cross_entropy_reference(logits, targets, pad_id):
    """Mean cross-entropy over the positions whose target is not ``pad_id``."""
    real = targets != pad_id
    logp = _log_softmax(np.asarray(logits, dtype=np.float64))[real]
    return float(-logp[np.arange(len(logp)), targets[real]].mean())


def _loss_inputs(rng):
    batch, length, num_items = 3, 5, 7
    logits = rng.normal(0.0, 2.0, (batch, length, num_items)).astype(np.float32)
    targets = rng.integers(0, num_items, (batch, length))
    targets[:, : rng.integers(1, length)] = num_items  # left padding
    targets[0, -1] = rng.integers(0, num_items)  # at least one real target
    return logits, targets, num_items


def _loss_hidden(rng):
    batch, length = int(rng.integers(2, 5)), int(rng.integers(3, 8))
    num_items = int(rng.integers(4, 12))
    logits = rng.normal(0.0, 2.0, (batch, length, num_items)).astype(np.float32)
    targets = rng.integers(0, num_items, (batch, length))
    for row in range(batch):
        targets[row, : rng.integers(0, length)] = num_items
    targets[0, -1] = rng.integers(0, num_items)
    return logits, targets, num_items


def _loss_over_every_position(logits, targets, pad_id):  # padding counted
    safe = np.where(targets == pad_id, 0, targets)
    logp = _log_softmax(np.asarray(logits, dtype=np.float64))
    picked = np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
    return float(-picked.mean())


def _summed_loss(logits, targets, pad_id):  # a sum, not a mean
    real = targets != pad_id
    logp = _log_softmax(np.asarray(logits, dtype=np.float64))[real]
    return float(-logp[np.arange(len(logp)), targets[real]].sum())


def sampled_hit_reference():
    return hypergeom(M=_POPULATION, n=_ABOVE, N=_DRAWS).cdf(_K - 1)


def transition_reference(sequences, num_items):
    """Share of the transitions out of each item going to each item (rows sum to 1)."""
    counts = np.zeros((num_items, num_items))
    for seq in sequences:
        for a, b in zip(seq[:-1], seq[1:]):
            counts[a, b] += 1.0
    out_of = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, out_of, out=np.zeros_like(counts), where=out_of > 0)


def _markov_inputs(rng):
    num_items = 6
    sequences = [rng.integers(0, num_items, rng.integers(1, 9)) for _ in range(5)]
    sequences.append(np.array([2, 3, 2, 3]))  # a repeated pair
    return sequences, num_items


def _markov_hidden(rng):
    num_items = int(rng.integers(4, 10))
    sequences = [
        rng.integers(0, num_items, rng.integers(1, 12))
        for _ in range(int(rng.integers(3, 8)))
    ]
    a, b = (int(x) for x in rng.integers(0, num_items, 2))
    sequences.append(np.array([a, b, a, b, a]))
    return sequences, num_items


def _both_directions(sequences, num_items):  # counts j -> i as well as i -> j
    counts = np.zeros((num_items, num_items))
    for seq in sequences:
        np.add.at(counts, (seq[:-1], seq[1:]), 1.0)
        np.add.at(counts, (seq[1:], seq[:-1]), 1.0)
    out_of = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, out_of, out=np.zeros_like(counts), where=out_of > 0)


def _global_share(sequences, num_items):  # divides by every transition
    counts = np.zeros((num_items, num_items))
    for seq in sequences:
        np.add.at(counts, (seq[:-1], seq[1:]), 1.0)
    return counts / max(counts.sum(), 1.0)


def _repeats_counted_once(sequences, num_items):  # fancy-index += drops repeats
    counts = np.zeros((num_items, num_items))
    for seq in sequences:
        counts[seq[:-1], seq[1:]] += 1.0
    out_of = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, out_of, out=np.zeros_like(counts), where=out_of > 0)


_exact = hypergeom(M=_POPULATION, n=_ABOVE, N=_DRAWS)

EXERCISES = {
    "ch6-ex-mask-count": {
        "kind": "value",
        "name": "the number of allowed pairs",
        "points": 1,
        "reference": mask_count_reference,
        "hints": [
            (
                _LENGTH * (_LENGTH + 1) // 2,
                "that counts the padding positions too: a padding key is never allowed",
            ),
            (
                _REAL * _REAL,
                "that ignores the causal mask: a query never sees a later key",
            ),
            (
                _REAL * (_REAL - 1) // 2,
                "a position may attend to itself (s <= t, not s < t)",
            ),
        ],
    },
    "ch6-ex-mask": {
        "kind": "function",
        "name": "attention_mask",
        "points": 2,
        "reference": attention_mask_reference,
        "inputs": _mask_inputs,
        "hidden": _mask_hidden,
        "hints": [
            (
                _no_padding,
                "padding keys must be forbidden too: combine the triangle with "
                "real[:, None, :] (the key axis)",
            ),
            (
                _padding_on_queries,
                "you masked padding queries (real[:, :, None]); it is the padding "
                "keys that must get no weight: real[:, None, :]",
            ),
            (
                _strict,
                "the diagonal is allowed: a position attends to its own purchase "
                "(np.tril with k=0)",
            ),
        ],
    },
    "ch6-ex-loss": {
        "kind": "function",
        "name": "masked_cross_entropy",
        "points": 2,
        "reference": masked_cross_entropy_reference,
        "inputs": _loss_inputs,
        "hidden": _loss_hidden,
        "tensors": True,
        "framework": "pytorch",  # the check's default when no framework is passed
        "rtol": 1e-5,
        "atol": 1e-6,
        "hints": [
            (
                _loss_over_every_position,
                "padding positions are in your mean: keep only the positions whose "
                "target is not pad_id before averaging",
            ),
            (_summed_loss, "that is the sum over real positions; take the mean"),
        ],
    },
    "ch6-ex-sampled-hit": {
        "kind": "value",
        "name": "P(sampled hit)",
        "points": 1,
        "reference": sampled_hit_reference,
        "rtol": 1e-3,
        "hints": [
            (
                binom(_DRAWS, _ABOVE / _POPULATION).cdf(_K - 1),
                "that is the binomial: drawing with replacement. The negatives are "
                "drawn without replacement: hypergeometric",
            ),
            (
                _exact.cdf(_K - 2),
                "off by one: the target is in the top 10 when at most 9 drawn items "
                "are above it (X <= 9, not X < 9)",
            ),
            (
                _exact.cdf(_K),
                "off by one: with 10 drawn items above it, the target is 11th",
            ),
            (
                1.0 - _exact.cdf(_K - 1),
                "that is the probability of a miss: at most 9 above means a hit",
            ),
        ],
    },
    "ch6-ex-markov": {
        "kind": "function",
        "name": "transition_probabilities",
        "points": 2,
        "reference": transition_reference,
        "inputs": _markov_inputs,
        "hidden": _markov_hidden,
        "hints": [
            (
                _both_directions,
                "order matters: count only i -> j (seq[:-1] followed by seq[1:])",
            ),
            (
                _global_share,
                "divide each row by the transitions out of that item, not by all "
                "transitions",
            ),
            (
                _repeats_counted_once,
                "a pair that occurs twice in one sequence must count twice: "
                "counts[a, b] += 1 with repeated indices adds once; use np.add.at",
            ),
        ],
    },
}

#: The exercises a person grades: points and what earns them.
WRITTEN = {
    "ch6-ex-bag": {
        "points": 3,
        "rubric": [
            "1 point: (a) two histories with the same bag in different orders whose "
            "last purchase differs, with next purchases that differ under the truth "
            "(complements of the last item).",
            "1 point: (a) an order-blind model scores both the same, so its recall is "
            "capped below the transition oracle's, however well trained.",
            "1 point: (b) the causal mask makes the last position special (it alone "
            "attends to every purchase and carries the last item on its residual "
            "path); what is lost is how long ago the other purchases were.",
        ],
    },
}
