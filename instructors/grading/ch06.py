"""Chapter 6: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom, hypergeom

_POPULATION, _ABOVE, _DRAWS, _K = 1500, 150, 100, 10


def allowed_pairs_reference(real):
    """Per row: the (query t, key s) pairs with both positions real and ``s <= t``."""
    counts = []
    for row in np.asarray(real, dtype=bool):
        counts.append(
            sum(1 for t in range(len(row)) for s in range(t + 1) if row[t] and row[s])
        )
    return np.array(counts, dtype=np.int64)


def _pairs_padding_counted(real):  # every position of the row, padding included
    length = real.shape[1]
    return np.full(len(real), length * (length + 1) // 2, dtype=np.int64)


def _pairs_strict(real):  # s < t: a position may not see itself
    n = real.sum(axis=1).astype(np.int64)
    return n * (n - 1) // 2


def _pairs_no_causal(real):  # every real key for every real query
    n = real.sum(axis=1).astype(np.int64)
    return n * n


def _pairs_padding_queries(real):  # the chapter's mask summed: padding queries too
    length = real.shape[1]
    causal = np.tril(np.ones((length, length), dtype=bool))
    return (causal[None] & real[:, None, :]).sum(axis=(1, 2)).astype(np.int64)


def _pairs_case(rng, batch, length):
    real = rng.random((batch, length)) < 0.6  # padding anywhere
    real[0] = np.arange(length) >= 2  # left padding, as in the chapter
    real[1] = np.arange(length) < length - 2  # right padding
    real[1, 0] = False  # and a hole
    return (real,)


def _pairs_inputs(rng):
    return _pairs_case(rng, 5, 8)


def _pairs_hidden(rng):
    return _pairs_case(rng, int(rng.integers(3, 8)), int(rng.integers(4, 12)))


def attention_mask_reference(real, window):
    """Allowed (query t, key s): ``t - window < s <= t`` and key ``s`` real."""
    batch, length = real.shape
    out = np.zeros((batch, length, length), dtype=bool)
    for b in range(batch):
        for t in range(length):
            for s in range(max(0, t - window + 1), t + 1):
                out[b, t, s] = bool(real[b, s])
    return out


def _band(length, low):  # s <= t and s - t >= low
    t, s = np.arange(length)[:, None], np.arange(length)[None, :]
    return (s <= t) & (s - t >= low)


def _mask_no_window(real, window):  # the chapter's mask: causal and padding only
    length = real.shape[1]
    return np.tril(np.ones((length, length), dtype=bool))[None] & real[:, None, :]


def _mask_window_off_by_one(real, window):  # t - window <= s: window + 1 keys
    return _band(real.shape[1], -window)[None] & real[:, None, :]


def _padding_on_queries(real, window):  # masks padding queries, not padding keys
    return _band(real.shape[1], 1 - window)[None] & real[:, :, None]


def _mask_case(rng, batch, length):
    pads = rng.integers(0, length - 1, batch)  # left padding of each row
    pads[:2] = 0, 2  # a full row (the window bites), a padded one
    real = np.arange(length)[None, :] >= pads[:, None]
    return real, int(rng.integers(2, length - 1))  # 2 or more: padding keys in reach


def _mask_inputs(rng):
    return _mask_case(rng, 3, 7)


def _mask_hidden(rng):
    return _mask_case(rng, int(rng.integers(2, 6)), int(rng.integers(4, 10)))


def _log_softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def masked_cross_entropy_reference(logits, targets, pad_id, label_smoothing):
    """Mean over the real positions of the cross-entropy with the smoothed target
    ``(1 - eps) * one_hot + eps / num_items`` (the smoothing spread over all items)."""
    logp = _log_softmax(np.asarray(logits, dtype=np.float64))
    num_items = logp.shape[-1]
    losses = []
    for b, t in zip(*np.nonzero(targets != pad_id)):
        q = np.full(num_items, label_smoothing / num_items)
        q[targets[b, t]] += 1.0 - label_smoothing
        losses.append(-(q * logp[b, t]).sum())
    return float(np.mean(losses))


def _smoothed_losses(logits, targets, pad_id, eps, spread_over_others=False):
    """The per-position losses (B, L) and the real positions' mask (B, L)."""
    logp = _log_softmax(np.asarray(logits, dtype=np.float64))
    num_items = logp.shape[-1]
    real = targets != pad_id
    safe = np.where(real, targets, 0)
    picked = np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
    if spread_over_others:  # eps / (num_items - 1) on every item but the target
        rest = (logp.sum(-1) - picked) / (num_items - 1)
        return -((1 - eps) * picked + eps * rest), real
    return -((1 - eps) * picked + eps * logp.mean(-1)), real


def _loss_over_every_position(logits, targets, pad_id, label_smoothing):
    losses, _ = _smoothed_losses(logits, targets, pad_id, label_smoothing)
    return float(losses.mean())


def _summed_loss(logits, targets, pad_id, label_smoothing):
    losses, real = _smoothed_losses(logits, targets, pad_id, label_smoothing)
    return float(losses[real].sum())


def _smoothing_over_others(logits, targets, pad_id, label_smoothing):
    losses, real = _smoothed_losses(
        logits, targets, pad_id, label_smoothing, spread_over_others=True
    )
    return float(losses[real].mean())


def _loss_unsmoothed(logits, targets, pad_id, label_smoothing):
    losses, real = _smoothed_losses(logits, targets, pad_id, 0.0)
    return float(losses[real].mean())


def _loss_case(rng, batch, length, num_items):
    logits = rng.normal(0.0, 2.0, (batch, length, num_items)).astype(np.float32)
    targets = rng.integers(0, num_items, (batch, length))
    for row in range(batch):
        targets[row, : rng.integers(0, length)] = num_items  # left padding
    targets[0, : length - 1] = num_items  # a row with one real target
    targets[1, -1] = rng.integers(0, num_items)
    label_smoothing = float(rng.choice([0.05, 0.1, 0.2, 0.4]))
    return logits, targets, num_items, label_smoothing


def _loss_inputs(rng):
    return _loss_case(rng, 3, 5, 7)


def _loss_hidden(rng):
    batch, length = int(rng.integers(2, 5)), int(rng.integers(3, 8))
    return _loss_case(rng, batch, length, int(rng.integers(4, 12)))


def sampled_hit_reference():
    return hypergeom(M=_POPULATION, n=_ABOVE, N=_DRAWS).cdf(_K - 1)


def transition_reference(sequences, num_items, alpha):
    """Row i: the transitions out of item i, each cell plus ``alpha``, normalised;
    a row without any transition out stays zero."""
    counts = np.zeros((num_items, num_items))
    for seq in sequences:
        for a, b in zip(seq[:-1], seq[1:]):
            counts[a, b] += 1.0
    out = np.zeros((num_items, num_items))
    for i in range(num_items):
        if counts[i].sum() > 0:
            out[i] = (counts[i] + alpha) / (counts[i].sum() + alpha * num_items)
    return out


def _smooth_rows(counts, alpha, every_row=False):
    has_out = counts.sum(axis=1, keepdims=True) > 0
    smoothed = counts + alpha * (has_out | every_row)
    total = smoothed.sum(axis=1, keepdims=True)
    return np.divide(smoothed, total, out=np.zeros_like(smoothed), where=total > 0)


def _transition_counts(sequences, num_items):
    counts = np.zeros((num_items, num_items))
    for seq in sequences:
        np.add.at(counts, (seq[:-1], seq[1:]), 1.0)
    return counts


def _both_directions(sequences, num_items, alpha):  # counts j -> i as well as i -> j
    counts = _transition_counts(sequences, num_items)
    return _smooth_rows(counts + counts.T, alpha)


def _global_share(sequences, num_items, alpha):  # divides by every transition
    counts = _transition_counts(sequences, num_items)
    has_out = counts.sum(axis=1, keepdims=True) > 0
    smoothed = counts + alpha * has_out
    return smoothed / smoothed.sum()


def _repeats_counted_once(sequences, num_items, alpha):  # fancy-index += drops repeats
    counts = np.zeros((num_items, num_items))
    for seq in sequences:
        counts[seq[:-1], seq[1:]] += 1.0
    return _smooth_rows(counts, alpha)


def _smoothing_on_empty_rows(sequences, num_items, alpha):  # empty rows uniform
    return _smooth_rows(_transition_counts(sequences, num_items), alpha, True)


def _markov_unsmoothed(sequences, num_items, alpha):
    return _smooth_rows(_transition_counts(sequences, num_items), 0.0)


def _markov_case(rng, num_items, num_sequences, longest):
    sink = num_items - 1  # bought last only: no transition out of it
    sequences = [
        rng.integers(0, sink, rng.integers(1, longest + 1))
        for _ in range(num_sequences)
    ]
    a, b = (int(x) for x in rng.choice(sink, 2, replace=False))
    sequences.append(np.array([a, b, a, b, a]))  # a repeated pair
    sequences.append(np.array([b, sink]))
    return sequences, num_items, float(rng.choice([0.1, 0.5, 1.0]))


def _markov_inputs(rng):
    return _markov_case(rng, 6, 5, 8)


def _markov_hidden(rng):
    return _markov_case(rng, int(rng.integers(4, 10)), int(rng.integers(3, 8)), 11)


_exact = hypergeom(M=_POPULATION, n=_ABOVE, N=_DRAWS)

EXERCISES = {
    "ch6-ex-mask-count": {
        "kind": "function",
        "name": "allowed_pairs",
        "points": 1,
        "reference": allowed_pairs_reference,
        "inputs": _pairs_inputs,
        "hidden": _pairs_hidden,
        "hints": [
            (
                _pairs_padding_counted,
                "that counts the padding positions too: a pair is counted only when "
                "both its query and its key are real",
            ),
            (
                _pairs_strict,
                "a position may attend to itself (s <= t, not s < t)",
            ),
            (
                _pairs_no_causal,
                "that ignores the causal mask: a query never sees a later key",
            ),
            (
                _pairs_padding_queries,
                "you summed the chapter's mask, whose padding queries still attend to "
                "the real keys before them: count only real queries",
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
                _mask_no_window,
                "that is the chapter's mask: keys further back than the window must "
                "be forbidden too (t - window < s)",
            ),
            (
                _mask_window_off_by_one,
                "off by one: a query sees window keys, itself included "
                "(t - window < s <= t, not t - window <= s)",
            ),
            (
                _padding_on_queries,
                "you masked padding queries (real[:, :, None]); it is the padding "
                "keys that must get no weight: real[:, None, :]",
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
            (
                _smoothing_over_others,
                "you spread epsilon over the num_items - 1 other items: spread it "
                "over all num_items, the target included (epsilon / num_items each)",
            ),
            (
                _loss_unsmoothed,
                "label_smoothing is ignored: the target distribution is "
                "(1 - epsilon) on the target plus epsilon / num_items on every item",
            ),
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
                _smoothing_on_empty_rows,
                "an item with no transition out must keep a row of zeros: add alpha "
                "only to the rows that have at least one transition",
            ),
            (
                _markov_unsmoothed,
                "alpha is ignored: add it to every cell of a row with transitions, "
                "then normalise",
            ),
            (
                _both_directions,
                "order matters: count only i -> j (seq[:-1] followed by seq[1:])",
            ),
            (
                _global_share,
                "divide each row by its own total (transitions out of that item plus "
                "alpha per cell), not by the total of the whole matrix",
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
