"""Checks of chapter 5's exercises (multimodal fusion).

Students: the references below are the answers. Try the exercise first.

The references are written in NumPy, independently of the chapter's code (loops where
the chapter vectorises), and import no deep-learning framework: a framework-specific
answer (``late_scores_pt`` / ``late_scores_tf``) is checked against the same NumPy
reference, its tensor output converted by the check.
"""

from __future__ import annotations

import numpy as np

from ..checks import CheckResult, Hint, check_function, check_value
from . import register

# ---------------------------------------------------------------------------
# ch5-ex-mask: the unmasked mean shrinks the real tokens' mean by 3/5
# ---------------------------------------------------------------------------


@register("ch5-ex-mask")
def shrink_factor(answer) -> CheckResult:
    real, padded = 3, 5  # a 3-token text padded to the batch's 5 positions
    return check_value(
        answer,
        real / padded,
        name="the shrink factor",
        rtol=1e-3,
        exercise="ch5-ex-mask",
        hints=[
            Hint(
                padded / real, "that is the inverse: the plain mean divides by 5, not 3"
            ),
            Hint(
                (padded - real) / padded,
                "that is the padding's share; the real tokens keep the rest",
            ),
            Hint(1.0, "without the mask the real tokens are divided by 5 positions"),
        ],
    )


# ---------------------------------------------------------------------------
# ch5-ex-pool: masked mean pooling and L2 normalisation
# ---------------------------------------------------------------------------


def _pool_reference(h: np.ndarray, m: np.ndarray) -> np.ndarray:
    out = np.empty((h.shape[0], h.shape[2]))
    for row in range(h.shape[0]):
        real = h[row, m[row] > 0]  # (real tokens, hidden)
        vec = real.mean(axis=0) if len(real) else np.zeros(h.shape[2])
        out[row] = vec / np.linalg.norm(vec)
    return out


def _pool_no_mask(h: np.ndarray, m: np.ndarray) -> np.ndarray:
    out = h.mean(axis=1)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _pool_not_normalised(h: np.ndarray, m: np.ndarray) -> np.ndarray:
    mask = m[:, :, None].astype(h.dtype)
    return (h * mask).sum(1) / mask.sum(1)


def _pool_inputs(rng) -> tuple[np.ndarray, np.ndarray]:
    h = rng.normal(size=(4, 6, 5))
    lengths = rng.integers(1, 7, 4)
    lengths[0] = 2  # at least one padded row, so the mask always matters
    m = (np.arange(6)[None, :] < lengths[:, None]).astype(np.int64)
    return h, m


@register("ch5-ex-pool")
def mean_pool(answer) -> CheckResult:
    return check_function(
        answer,
        _pool_reference,
        name="mean_pool_np",
        make_inputs=_pool_inputs,
        atol=1e-6,
        exercise="ch5-ex-pool",
        hints=[
            Hint(
                _pool_no_mask,
                "you averaged over padding positions too: multiply by the attention "
                "mask and divide by its sum",
            ),
            Hint(
                _pool_not_normalised,
                "the masked mean is right; now divide each row by its L2 norm",
            ),
        ],
    )


# ---------------------------------------------------------------------------
# ch5-ex-search: top-k by cosine similarity
# ---------------------------------------------------------------------------


def _search_reference(q: np.ndarray, v: np.ndarray, k: int) -> np.ndarray:
    cosine = [float(row @ q) / (np.linalg.norm(row) * np.linalg.norm(q)) for row in v]
    return np.array(sorted(range(len(v)), key=lambda i: (-cosine[i], i))[:k])


def _search_dot(q: np.ndarray, v: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(v @ q), kind="stable")[:k]


def _search_worst(q: np.ndarray, v: np.ndarray, k: int) -> np.ndarray:
    cos = (v @ q) / (np.linalg.norm(v, axis=1) * np.linalg.norm(q))
    return np.argsort(cos, kind="stable")[:k]


def _search_inputs(rng) -> tuple[np.ndarray, np.ndarray, int]:
    lengths = rng.uniform(0.2, 5.0, (30, 1))  # very different lengths
    return rng.normal(size=8), rng.normal(size=(30, 8)) * lengths, 5


@register("ch5-ex-search")
def search(answer) -> CheckResult:
    return check_function(
        answer,
        _search_reference,
        name="search",
        make_inputs=_search_inputs,
        exercise="ch5-ex-search",
        hints=[
            Hint(
                _search_dot,
                "you ranked by the raw dot product: long item vectors win. "
                "Divide by the norms to get the cosine",
            ),
            Hint(
                _search_worst,
                "you returned the least similar items: sort by minus the cosine",
            ),
        ],
    )


# ---------------------------------------------------------------------------
# ch5-ex-gate: softmax over the available modalities only
# ---------------------------------------------------------------------------


def _gate_reference(logits: np.ndarray, available: np.ndarray) -> np.ndarray:
    out = np.zeros_like(logits, dtype=float)
    for i in range(len(logits)):
        on = np.flatnonzero(available[i] > 0)
        e = np.exp(logits[i, on] - logits[i, on].max())
        out[i, on] = e / e.sum()
    return out


def _gate_unmasked(logits: np.ndarray, available: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _gate_zeroed_after(logits: np.ndarray, available: np.ndarray) -> np.ndarray:
    return _gate_unmasked(logits, available) * (available > 0)


def _gate_inputs(rng) -> tuple[np.ndarray, np.ndarray]:
    available = np.c_[rng.integers(0, 2, 10), np.ones((10, 2))]
    available[0, 0] = 0  # at least one item without its first modality
    return rng.normal(size=(10, 3)), available


@register("ch5-ex-gate")
def masked_gate(answer) -> CheckResult:
    return check_function(
        answer,
        _gate_reference,
        name="masked_gate",
        make_inputs=_gate_inputs,
        exercise="ch5-ex-gate",
        hints=[
            Hint(
                _gate_unmasked,
                "a missing modality still gets weight: set its logit to -inf (or a "
                "huge negative number) before the softmax",
            ),
            Hint(
                _gate_zeroed_after,
                "zeroing after the softmax leaves rows that no longer sum to 1: mask "
                "the logits before the softmax",
            ),
        ],
    )


# ---------------------------------------------------------------------------
# ch5-ex-late: late-fusion scores, in either framework
# ---------------------------------------------------------------------------


def _late_reference(
    user_parts: np.ndarray, item_parts: np.ndarray, late_logits: np.ndarray
) -> np.ndarray:
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


def _late_inputs(rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        rng.normal(size=(4, 3, 5)).astype(np.float32),
        rng.normal(size=(7, 3, 5)).astype(np.float32),
        rng.normal(size=3).astype(np.float32),
    )


@register("ch5-ex-late")
def late_scores(answer) -> CheckResult:
    return check_function(
        answer,
        _late_reference,
        name="late_scores",
        make_inputs=_late_inputs,
        rtol=1e-4,
        atol=1e-5,
        exercise="ch5-ex-late",
        hints=[
            Hint(
                _late_raw_logits,
                "you weighted the modalities by the raw logits: take their softmax "
                "first, so the weights are positive and sum to 1",
            ),
            Hint(
                _late_unweighted,
                "you added the three modalities' scores with equal weights: weight "
                "each by alpha = softmax(late_logits)",
            ),
        ],
    )
