"""Chapter 5: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md. The references are
NumPy, written independently of the chapter's code (loops where it vectorises).
"""

from __future__ import annotations

import numpy as np


def shrink_reference(lengths, padded_length):
    """Per text: the share of the padded positions that are real tokens."""
    return np.array([n / padded_length for n in lengths], dtype=float)


def _shrink_inverse(lengths, padded_length):
    return padded_length / np.asarray(lengths, dtype=float)


def _shrink_padding_share(lengths, padded_length):
    return (padded_length - np.asarray(lengths, dtype=float)) / padded_length


def _shrink_one(lengths, padded_length):
    return np.ones(len(lengths))


def _shrink_inputs(rng):
    lengths = rng.integers(1, 12, int(rng.integers(3, 8)))
    lengths[0] = 3  # at least one padded text (the padded length is at least 12)
    return lengths, int(lengths.max()) + int(rng.integers(0, 4))


def pool_reference(h: np.ndarray, m: np.ndarray, w: np.ndarray) -> np.ndarray:
    out = np.zeros((h.shape[0], h.shape[2]))
    for row in range(h.shape[0]):
        keep = m[row] > 0
        weights = w[row, keep]  # the real tokens' weights
        if weights.sum() == 0:
            continue  # nothing to average: zeros
        vec = (weights[:, None] * h[row, keep]).sum(axis=0) / weights.sum()
        out[row] = vec / np.linalg.norm(vec)
    return out


def _normalised(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _pool_unweighted(h, m, w):
    mask = m[:, :, None].astype(float)
    with np.errstate(all="ignore"):
        return np.nan_to_num(_normalised((h * mask).sum(1) / mask.sum(1)))


def _pool_padding_counted(h, m, w):  # the weights alone, the mask forgotten
    weights = w[:, :, None]
    with np.errstate(all="ignore"):
        return np.nan_to_num(_normalised((h * weights).sum(1) / weights.sum(1)))


def _pool_not_normalised(h, m, w):
    weights = (m * w)[:, :, None]
    total = weights.sum(1)
    with np.errstate(all="ignore"):
        return np.where(total > 0, (h * weights).sum(1) / total, 0.0)


def _pool_nan_rows(h, m, w):  # right, but 0 / 0 on a row without weight
    weights = (m * w)[:, :, None]
    with np.errstate(all="ignore"):
        return _normalised((h * weights).sum(1) / weights.sum(1))


def _pool_case(rng, batch, length, hidden):
    h = rng.normal(size=(batch, length, hidden))
    lengths = rng.integers(1, length + 1, batch)
    lengths[:2] = 2, 1  # padded rows, so the mask always matters
    m = (np.arange(length)[None, :] < lengths[:, None]).astype(np.int64)
    w = rng.uniform(0.2, 3.0, (batch, length))  # e.g. IDF, padding's too
    w[0, :2] = 0.0  # a text of stop words only: its real weights sum to 0
    return h, m, w


def _pool_inputs(rng):
    return _pool_case(rng, 4, 6, 5)


def _pool_hidden(rng):
    b, L, d = int(rng.integers(3, 7)), int(rng.integers(3, 9)), int(rng.integers(2, 7))
    return _pool_case(rng, b, L, d)


def _cosines(q, v):
    return [
        [float(row @ qi) / (np.linalg.norm(row) * np.linalg.norm(qi)) for row in v]
        for qi in q
    ]


def search_reference(q, v, k, exclude):
    out = []
    for cos, banned in zip(_cosines(q, v), exclude):
        allowed = [i for i in range(len(v)) if i not in set(banned)]
        out.append(sorted(allowed, key=lambda i: (-cos[i], i))[:k])
    return np.array(out, dtype=np.int64).reshape(len(q), k)


def _search_by(scores, v, k, exclude, reverse=False, ties_large=False):
    out = []
    for s, banned in zip(scores, exclude):
        s = np.asarray(s, dtype=float).copy()
        s[list(banned)] = -np.inf
        if ties_large:  # the stable ascending order, reversed: larger ids first
            order = np.argsort(s, kind="stable")[::-1]
        else:
            order = np.argsort(-s, kind="stable")
        top = order[:k]
        out.append(top[::-1] if reverse else top)
    return np.array(out, dtype=np.int64).reshape(len(scores), k)


def _search_dot(q, v, k, exclude):
    return _search_by(q @ v.T, v, k, exclude)


def _search_increasing(q, v, k, exclude):
    return _search_by(_cosines(q, v), v, k, exclude, reverse=True)


def _search_exclusions_kept(q, v, k, exclude):
    return _search_by(_cosines(q, v), v, k, [[] for _ in q])


def _search_ties_large(q, v, k, exclude):
    return _search_by(_cosines(q, v), v, k, exclude, ties_large=True)


def _search_case(rng, n, d, queries):
    v = rng.normal(size=(n, d)) * rng.uniform(0.2, 5.0, (n, 1))  # different lengths
    half = n // 2
    # copies of items 0-2 scaled by a power of 2: their cosines equal the originals'
    # exactly when summed in the same order (no other ties: continuous vectors)
    v[half : half + 3] = v[:3] * 2.0 ** rng.integers(1, 4, (3, 1))
    q = rng.normal(size=(queries, d))
    exclude = [
        sorted(int(i) for i in rng.choice(n, int(rng.integers(0, 4)), replace=False))
        for _ in range(queries)
    ]
    for j in range(1, queries):  # each other query excludes its best item
        best = int(np.argmax([row @ q[j] / np.linalg.norm(row) for row in v]))
        exclude[j] = sorted(set(exclude[j]) | {best})
    exclude[0] = []  # a query without exclusions
    return q, v, int(rng.integers(3, 7)), exclude


def _search_inputs(rng):
    return _search_case(rng, 24, 6, 4)


def _search_hidden(rng):
    n, d = int(rng.integers(16, 40)), int(rng.integers(3, 8))
    return _search_case(rng, n, d, int(rng.integers(2, 6)))


def gate_reference(logits, available, temperature):
    out = np.zeros_like(logits, dtype=float)
    for i in range(len(logits)):
        on = np.flatnonzero(available[i] > 0)
        if len(on) == 0:
            continue  # no modality at all: zeros
        z = logits[i, on] / temperature
        e = np.exp(z - z.max())
        out[i, on] = e / e.sum()
    return out


def _softmax_rows(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _gate_unmasked(logits, available, temperature):
    return _softmax_rows(logits / temperature)


def _gate_zeroed_after(logits, available, temperature):
    return _gate_unmasked(logits, available, temperature) * (available > 0)


def _gate_nan_rows(logits, available, temperature):  # -inf everywhere: 0 / 0
    with np.errstate(all="ignore"):
        return _softmax_rows(np.where(available > 0, logits / temperature, -np.inf))


def _gate_uniform_rows(logits, available, temperature):  # -1e9 instead of -inf
    out = gate_reference(logits, available, temperature)
    out[~(available > 0).any(axis=1)] = 1.0 / logits.shape[1]
    return out


def _gate_no_temperature(logits, available, temperature):
    return gate_reference(logits, available, 1.0)


def _gate_times_temperature(logits, available, temperature):
    return gate_reference(logits * temperature, available, 1.0)


def _gate_case(rng, n, modalities):
    available = rng.integers(0, 2, (n, modalities))
    available[0] = 0  # an item without any modality
    available[1] = 1
    available[1, 0] = 0  # an item without its first modality
    temperature = float(rng.choice([0.25, 0.5, 2.0, 3.0]))
    return rng.normal(size=(n, modalities)) * 2, available, temperature


def _gate_inputs(rng):
    return _gate_case(rng, 10, 3)


def _gate_hidden(rng):
    return _gate_case(rng, int(rng.integers(5, 15)), int(rng.integers(2, 5)))


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
        "kind": "function",
        "name": "shrink_factor",
        "points": 1,
        "reference": shrink_reference,
        "inputs": _shrink_inputs,
        "hints": [
            (
                _shrink_inverse,
                "that is the inverse: the plain mean divides the real tokens' sum by "
                "padded_length, the masked mean by the text's own length",
            ),
            (
                _shrink_padding_share,
                "that is the padding's share of the positions; the real tokens keep "
                "the rest",
            ),
            (
                _shrink_one,
                "the plain mean does not keep the masked mean's scale: it divides the "
                "real tokens' sum by every position, padding included",
            ),
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
                _pool_nan_rows,
                "a row whose real tokens all weigh 0 gives 0 / 0 = NaN: return zeros "
                "for it",
            ),
            (
                _pool_unweighted,
                "you took the plain masked mean: weight each real token by its weight "
                "and divide by the sum of the real tokens' weights",
            ),
            (
                _pool_padding_counted,
                "padding positions are in your weighted mean: multiply the weights by "
                "the attention mask first",
            ),
            (
                _pool_not_normalised,
                "the weighted masked mean is right; now divide each row by its L2 norm",
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
                _search_increasing,
                "the right items in the wrong order: best first, highest cosine first",
            ),
            (
                _search_exclusions_kept,
                "some returned items are in the query's exclude list: leave them out "
                "before taking the top k",
            ),
            (
                _search_ties_large,
                "equal cosines must be broken by the smaller item id first (a stable "
                "sort of minus the cosine, not a reversed ascending sort)",
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
                _gate_nan_rows,
                "an item with no available modality gives NaN (every logit -inf): "
                "return a row of zeros for it",
            ),
            (
                _gate_uniform_rows,
                "an item with no available modality gets equal weights: a large "
                "negative logit is not -inf when every logit of the row has it. "
                "Return a row of zeros for it",
            ),
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
            (
                _gate_no_temperature,
                "the temperature is ignored: divide the logits by it before the "
                "softmax",
            ),
            (
                _gate_times_temperature,
                "you multiplied the logits by the temperature: divide by it (a high "
                "temperature flattens the weights)",
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
