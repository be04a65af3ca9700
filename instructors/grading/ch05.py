"""Chapter 5: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md. The references are
NumPy, written independently of the chapter's code (loops where it vectorises).
"""

from __future__ import annotations

import numpy as np


def shrink_reference():
    real, padded = 3, 5  # a 3-token text padded to the batch's 5 positions
    return real / padded


def pool_reference(h: np.ndarray, m: np.ndarray) -> np.ndarray:
    out = np.empty((h.shape[0], h.shape[2]))
    for row in range(h.shape[0]):
        real = h[row, m[row] > 0]  # (real tokens, hidden)
        vec = real.mean(axis=0) if len(real) else np.zeros(h.shape[2])
        out[row] = vec / np.linalg.norm(vec)
    return out


def _pool_no_mask(h, m):
    out = h.mean(axis=1)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _pool_not_normalised(h, m):
    mask = m[:, :, None].astype(h.dtype)
    return (h * mask).sum(1) / mask.sum(1)


def _pool_inputs(rng):
    h = rng.normal(size=(4, 6, 5))
    lengths = rng.integers(1, 7, 4)
    lengths[0] = 2  # at least one padded row, so the mask always matters
    m = (np.arange(6)[None, :] < lengths[:, None]).astype(np.int64)
    return h, m


def _pool_hidden(rng):
    B, L, d = int(rng.integers(2, 7)), int(rng.integers(3, 9)), int(rng.integers(2, 7))
    h = rng.normal(size=(B, L, d))
    lengths = rng.integers(1, L + 1, B)
    lengths[0] = 1
    m = (np.arange(L)[None, :] < lengths[:, None]).astype(np.int64)
    return h, m


def search_reference(q, v, k):
    cosine = [float(row @ q) / (np.linalg.norm(row) * np.linalg.norm(q)) for row in v]
    return np.array(sorted(range(len(v)), key=lambda i: (-cosine[i], i))[:k])


def _search_dot(q, v, k):
    return np.argsort(-(v @ q), kind="stable")[:k]


def _search_worst(q, v, k):
    cos = (v @ q) / (np.linalg.norm(v, axis=1) * np.linalg.norm(q))
    return np.argsort(cos, kind="stable")[:k]


def _search_inputs(rng):
    lengths = rng.uniform(0.2, 5.0, (30, 1))  # very different lengths
    return rng.normal(size=8), rng.normal(size=(30, 8)) * lengths, 5


def _search_hidden(rng):
    n, d = int(rng.integers(20, 50)), int(rng.integers(4, 10))
    lengths = rng.uniform(0.1, 6.0, (n, 1))
    return (
        rng.normal(size=d),
        rng.normal(size=(n, d)) * lengths,
        int(rng.integers(3, 9)),
    )


def gate_reference(logits, available):
    out = np.zeros_like(logits, dtype=float)
    for i in range(len(logits)):
        on = np.flatnonzero(available[i] > 0)
        e = np.exp(logits[i, on] - logits[i, on].max())
        out[i, on] = e / e.sum()
    return out


def _gate_unmasked(logits, available):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _gate_zeroed_after(logits, available):
    return _gate_unmasked(logits, available) * (available > 0)


def _gate_inputs(rng):
    available = np.c_[rng.integers(0, 2, 10), np.ones((10, 2))]
    available[0, 0] = 0  # at least one item without its first modality
    return rng.normal(size=(10, 3)), available


def _gate_hidden(rng):
    n = int(rng.integers(5, 15))
    available = np.c_[rng.integers(0, 2, (n, 2)), np.ones((n, 1))]
    available[0, :2] = 0
    return rng.normal(size=(n, 3)) * 2, available[:, rng.permutation(3)]


def late_reference(user_parts, item_parts, late_logits):
    alpha = np.exp(late_logits - late_logits.max())
    alpha = alpha / alpha.sum()
    scores = np.zeros((len(user_parts), len(item_parts)))
    for m in range(user_parts.shape[1]):
        scores += alpha[m] * (user_parts[:, m] @ item_parts[:, m].T)
    return scores


def _late_raw_logits(user_parts, item_parts, late_logits):
    return np.einsum("bmd,imd->bi", user_parts * late_logits[:, None], item_parts)


def _late_unweighted(user_parts, item_parts, late_logits):
    return np.einsum("bmd,imd->bi", user_parts, item_parts)


def _late_inputs(rng):
    return (
        rng.normal(size=(4, 3, 5)).astype(np.float32),
        rng.normal(size=(7, 3, 5)).astype(np.float32),
        rng.normal(size=3).astype(np.float32),
    )


def _late_hidden(rng):
    b, i, d = int(rng.integers(2, 7)), int(rng.integers(3, 9)), int(rng.integers(2, 7))
    return (
        rng.normal(size=(b, 3, d)).astype(np.float32),
        rng.normal(size=(i, 3, d)).astype(np.float32),
        rng.normal(size=3).astype(np.float32),
    )


EXERCISES = {
    "ch5-ex-mask": {
        "kind": "value",
        "name": "the shrink factor",
        "points": 1,
        "reference": shrink_reference,
        "rtol": 1e-3,
        "hints": [
            (5 / 3, "that is the inverse: the plain mean divides by 5, not 3"),
            (2 / 5, "that is the padding's share; the real tokens keep the rest"),
            (1.0, "without the mask the real tokens are divided by 5 positions"),
        ],
    },
    "ch5-ex-pool": {
        "kind": "function",
        "name": "mean_pool_np",
        "points": 2,
        "reference": pool_reference,
        "inputs": _pool_inputs,
        "hidden": _pool_hidden,
        "atol": 1e-6,
        "hints": [
            (
                _pool_no_mask,
                "you averaged over padding positions too: multiply by the attention "
                "mask and divide by its sum",
            ),
            (
                _pool_not_normalised,
                "the masked mean is right; now divide each row by its L2 norm",
            ),
        ],
    },
    "ch5-ex-search": {
        "kind": "function",
        "name": "search",
        "points": 2,
        "reference": search_reference,
        "inputs": _search_inputs,
        "hidden": _search_hidden,
        "hints": [
            (
                _search_dot,
                "you ranked by the raw dot product: long item vectors win. "
                "Divide by the norms to get the cosine",
            ),
            (
                _search_worst,
                "you returned the least similar items: sort by minus the cosine",
            ),
        ],
    },
    "ch5-ex-gate": {
        "kind": "function",
        "name": "masked_gate",
        "points": 2,
        "reference": gate_reference,
        "inputs": _gate_inputs,
        "hidden": _gate_hidden,
        "hints": [
            (
                _gate_unmasked,
                "a missing modality still gets weight: set its logit to -inf (or a "
                "huge negative number) before the softmax",
            ),
            (
                _gate_zeroed_after,
                "zeroing after the softmax leaves rows that no longer sum to 1: mask "
                "the logits before the softmax",
            ),
        ],
    },
    "ch5-ex-late": {
        "kind": "function",
        "name": "late_scores",
        "points": 2,
        "reference": late_reference,
        "inputs": _late_inputs,
        "hidden": _late_hidden,
        "rtol": 1e-4,
        "atol": 1e-5,
        "hints": [
            (
                _late_raw_logits,
                "you weighted the modalities by the raw logits: take their softmax "
                "first, so the weights are positive and sum to 1",
            ),
            (
                _late_unweighted,
                "you added the three modalities' scores with equal weights: weight "
                "each by alpha = softmax(late_logits)",
            ),
        ],
    },
}
