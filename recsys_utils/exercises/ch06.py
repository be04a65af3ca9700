"""Checks of chapter 6's exercises (sequential recommendation with a Transformer).

Students: the references below are the answers. Try the exercise first.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom, hypergeom

from ..checks import CheckResult, Hint, check_function, check_value
from ..framework import FRAMEWORKS
from ..sequential import MarkovChain
from . import register

# ---------------------------------------------------------------------------
# ch6-ex-mask-count: pairs the causal mask allows among n real positions
# ---------------------------------------------------------------------------

_LENGTH, _REAL = 8, 5


@register("ch6-ex-mask-count")
def mask_count(answer) -> CheckResult:
    n, length = _REAL, _LENGTH
    return check_value(
        answer,
        n * (n + 1) // 2,
        name="the number of allowed pairs",
        exercise="ch6-ex-mask-count",
        hints=[
            Hint(
                length * (length + 1) // 2,
                "that counts the padding positions too: a padding key is never allowed",
            ),
            Hint(n * n, "that ignores the causal mask: a query never sees a later key"),
            Hint(
                n * (n - 1) // 2,
                "a position may attend to itself (s <= t, not s < t)",
            ),
        ],
    )


# ---------------------------------------------------------------------------
# ch6-ex-mask: the (B, L, L) attention mask in NumPy
# ---------------------------------------------------------------------------


def reference_attention_mask(real: np.ndarray) -> np.ndarray:
    """Allowed (query t, key s) pairs: ``s <= t`` and key ``s`` real, ``(B, L, L)``."""
    length = real.shape[1]
    causal = np.tril(np.ones((length, length), dtype=bool))
    return causal[None, :, :] & real[:, None, :]


def _mask_inputs(rng):
    batch, length = 3, 7
    pads = rng.integers(0, length, batch)  # left padding of each row
    real = np.arange(length)[None, :] >= pads[:, None]
    return (real,)


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


@register("ch6-ex-mask")
def attention_mask(answer) -> CheckResult:
    return check_function(
        answer,
        reference_attention_mask,
        name="attention_mask",
        make_inputs=_mask_inputs,
        exercise="ch6-ex-mask",
        hints=[
            Hint(
                _no_padding,
                "padding keys must be forbidden too: combine the triangle with "
                "real[:, None, :] (the key axis)",
            ),
            Hint(
                _padding_on_queries,
                "you masked padding queries (real[:, :, None]); it is the padding "
                "keys that must get no weight: real[:, None, :]",
            ),
            Hint(
                _strict,
                "the diagonal is allowed: a position attends to its own purchase "
                "(np.tril with k=0)",
            ),
        ],
    )


# ---------------------------------------------------------------------------
# ch6-ex-loss: masked cross-entropy in the reader's framework
# ---------------------------------------------------------------------------


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def reference_masked_cross_entropy(logits, targets, pad_id) -> float:
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


def _loss_over_every_position(logits, targets, pad_id):  # padding counted
    safe = np.where(targets == pad_id, 0, targets)
    logp = _log_softmax(np.asarray(logits, dtype=np.float64))
    picked = np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
    return float(-picked.mean())


def _summed_loss(logits, targets, pad_id):  # a sum, not a mean
    real = targets != pad_id
    logp = _log_softmax(np.asarray(logits, dtype=np.float64))[real]
    return float(-logp[np.arange(len(logp)), targets[real]].sum())


def _to_framework(framework: str):
    if framework == "pytorch":
        import torch

        return lambda args: (
            torch.from_numpy(args[0]),
            torch.from_numpy(args[1]),
            args[2],
        )
    from .._seed import import_tensorflow_quietly

    tf = import_tensorflow_quietly()
    return lambda args: (tf.constant(args[0]), tf.constant(args[1]), args[2])


@register("ch6-ex-loss")
def masked_cross_entropy(answer, framework: str = "pytorch") -> CheckResult:
    if framework not in FRAMEWORKS:
        raise ValueError(
            f"framework must be one of {sorted(FRAMEWORKS)}; got {framework!r}"
        )
    return check_function(
        answer,
        reference_masked_cross_entropy,
        name="masked_cross_entropy",
        make_inputs=_loss_inputs,
        convert_inputs=_to_framework(framework),
        rtol=1e-5,
        atol=1e-6,
        exercise="ch6-ex-loss",
        hints=[
            Hint(
                _loss_over_every_position,
                "padding positions are in your mean: keep only the positions whose "
                "target is not pad_id before averaging",
            ),
            Hint(_summed_loss, "that is the sum over real positions; take the mean"),
        ],
    )


# ---------------------------------------------------------------------------
# ch6-ex-sampled-hit: the probability of a sampled hit at full rank 150
# ---------------------------------------------------------------------------

_POPULATION, _ABOVE, _DRAWS, _K = 1500, 150, 100, 10


@register("ch6-ex-sampled-hit")
def sampled_hit(answer) -> CheckResult:
    exact = hypergeom(M=_POPULATION, n=_ABOVE, N=_DRAWS)
    return check_value(
        answer,
        exact.cdf(_K - 1),
        name="P(sampled hit)",
        rtol=1e-3,
        exercise="ch6-ex-sampled-hit",
        hints=[
            Hint(
                binom(_DRAWS, _ABOVE / _POPULATION).cdf(_K - 1),
                "that is the binomial: drawing with replacement. The negatives are "
                "drawn without replacement: hypergeometric",
            ),
            Hint(
                exact.cdf(_K - 2),
                "off by one: the target is in the top 10 when at most 9 drawn items "
                "are above it (X <= 9, not X < 9)",
            ),
            Hint(
                exact.cdf(_K),
                "off by one: with 10 drawn items above it, the target is 11th",
            ),
            Hint(
                1.0 - exact.cdf(_K - 1),
                "that is the probability of a miss: at most 9 above means a hit",
            ),
        ],
    )


# ---------------------------------------------------------------------------
# ch6-ex-markov: row-normalised transition counts
# ---------------------------------------------------------------------------


def reference_transition_probabilities(sequences, num_items) -> np.ndarray:
    """Share of the transitions out of each item going to each item (rows sum to 1)."""
    counts = MarkovChain().fit(sequences, num_items).transitions_.toarray()
    out_of = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, out_of, out=np.zeros_like(counts), where=out_of > 0)


def _markov_inputs(rng):
    num_items = 6
    sequences = [rng.integers(0, num_items, rng.integers(1, 9)) for _ in range(5)]
    sequences.append(np.array([2, 3, 2, 3]))  # a repeated pair
    return sequences, num_items


def _both_directions(sequences, num_items):  # counts j -> i as well as i -> j
    counts = np.zeros((num_items, num_items))
    for seq in sequences:
        np.add.at(counts, (seq[:-1], seq[1:]), 1.0)
        np.add.at(counts, (seq[1:], seq[:-1]), 1.0)
    out_of = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, out_of, out=np.zeros_like(counts), where=out_of > 0)


def _global_share(sequences, num_items):  # divides by every transition
    counts = MarkovChain().fit(sequences, num_items).transitions_.toarray()
    return counts / max(counts.sum(), 1.0)


def _repeats_counted_once(sequences, num_items):  # fancy-index += drops repeats
    counts = np.zeros((num_items, num_items))
    for seq in sequences:
        counts[seq[:-1], seq[1:]] += 1.0
    out_of = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, out_of, out=np.zeros_like(counts), where=out_of > 0)


@register("ch6-ex-markov")
def transition_probabilities(answer) -> CheckResult:
    return check_function(
        answer,
        reference_transition_probabilities,
        name="transition_probabilities",
        make_inputs=_markov_inputs,
        exercise="ch6-ex-markov",
        hints=[
            Hint(
                _both_directions,
                "order matters: count only i -> j (seq[:-1] followed by seq[1:])",
            ),
            Hint(
                _global_share,
                "divide each row by the transitions out of that item, not by all "
                "transitions",
            ),
            Hint(
                _repeats_counted_once,
                "a pair that occurs twice in one sequence must count twice: "
                "counts[a, b] += 1 with repeated indices adds once; use np.add.at",
            ),
        ],
    )
