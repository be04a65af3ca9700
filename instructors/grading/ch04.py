"""Chapter 4: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md.
"""

from __future__ import annotations

import numpy as np

from recsys_utils.longtail import inverse_propensity_weights, subset_recall


def xquad_reference(p: float = 0.3, steps: int = 5) -> np.ndarray:
    """xQuAD with lambda = 1 over {head, tail}: 1 = a tail pick, 0 = a head pick."""
    picks: list[int] = []
    for _ in range(steps):
        x = np.mean(picks) if picks else None  # tail share of the list so far
        tail_gain = p * (1.0 if x is None else 1.0 - x)
        head_gain = (1.0 - p) * (1.0 if x is None else x)
        picks.append(int(tail_gain > head_gain))  # ties: the head item ranks first
    return np.array(picks, dtype=float)


def masked_softmax_reference(logits, mask):
    """Row by row: the softmax over the real slots only, zeros on the padding."""
    out = np.zeros_like(logits, dtype=np.float64)
    for b in range(logits.shape[0]):
        real = np.flatnonzero(mask[b])
        for i in range(logits.shape[1]):
            z = logits[b, i, real] - logits[b, i, real].max()
            out[b, i, real] = np.exp(z) / np.exp(z).sum()
    return out


def _unmasked_softmax(logits, mask):  # the typical mistake: padding gets weight too
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_inputs(rng):
    mask = rng.random((3, 6)) < 0.6
    mask[:, 0] = True  # every history has at least one real slot
    logits = rng.normal(0, 3, (3, 4, 6))
    logits[0, 0, 1] = 800.0  # a large logit: exp overflows unless stabilised
    return logits, mask


def _softmax_hidden(rng):
    B, Q, L = int(rng.integers(2, 5)), int(rng.integers(1, 5)), int(rng.integers(3, 9))
    mask = rng.random((B, L)) < 0.5
    mask[np.arange(B), rng.integers(0, L, B)] = True
    logits = rng.normal(0, 3, (B, Q, L))
    logits[0, 0, 0] = 900.0
    return logits, mask


def masked_mean_reference(h, mask):
    m = mask.astype(np.float64)[:, :, None]  # (B, L, 1)
    return (h * m).sum(axis=1) / m.sum(axis=1)


def _mean_over_all_slots(h, mask):  # the typical mistake: padding counts in the mean
    return (h * mask[:, :, None]).sum(axis=1) / mask.shape[1]


def _plain_mean(h, mask):  # the other one: the mask is ignored
    return h.mean(axis=1)


def _mean_inputs(rng):
    mask = rng.random((5, 7)) < 0.5
    mask[:, -1] = True  # at least one real slot per row
    return rng.normal(size=(5, 7, 3)).astype(np.float32), mask


def _mean_hidden(rng):
    B, L, d = int(rng.integers(2, 7)), int(rng.integers(3, 9)), int(rng.integers(2, 5))
    mask = rng.random((B, L)) < 0.5
    mask[np.arange(B), rng.integers(0, L, B)] = True
    return rng.normal(size=(B, L, d)).astype(np.float32), mask


def _recall_inputs(rng):
    topk = np.stack([rng.permutation(30)[:10] for _ in range(20)])
    true_top = np.stack([rng.permutation(30)[:8] for _ in range(20)])
    return topk, true_top, rng.random(30) < 0.5, 5


def _recall_hidden(rng):
    n = int(rng.integers(25, 50))
    topk = np.stack([rng.permutation(n)[:12] for _ in range(15)])
    true_top = np.stack([rng.permutation(n)[:9] for _ in range(15)])
    return topk, true_top, rng.random(n) < 0.4, int(rng.integers(3, 10))


def true_tail_recall_reference(topk, true_top, tail_mask, k):
    return subset_recall(topk, true_top, k, tail_mask)


def _ipw_unscaled(counts, power):  # the typical mistake: no rescaling
    return ((counts + 1.0) / (counts.max() + 1.0)) ** (-power)


def _ipw_item_mean(counts, power):  # the other one: mean 1 over items, not purchases
    w = _ipw_unscaled(counts, power)
    return w / w.mean()


def _ipw_inputs(rng):
    return rng.integers(0, 50, 12).astype(float), float(rng.uniform(0.2, 1.0))


def _ipw_hidden(rng):
    n = int(rng.integers(5, 20))
    return rng.integers(0, 80, n).astype(float), float(rng.uniform(0.1, 1.0))


def ipw_reference(counts, power):
    return inverse_propensity_weights(counts, power, max_weight=None)


EXERCISES = {
    "ch4-ex-calibration": {
        "kind": "value",
        "name": "the first five picks (1 = tail)",
        "points": 1,
        "reference": xquad_reference,
        "rtol": 0.0,
        "atol": 0.0,
        "hints": [
            (
                [0, 0, 0, 0, 0],
                "with lambda = 1 the scores do not count: at each step compare "
                "p (1 - x) for a tail item with (1 - p) x for a head item, where x "
                "is the tail share of the list so far",
            ),
            (
                [1, 0, 1, 0, 1],
                "on the empty list both coverage terms are 1, so the first pick "
                "compares p = 0.3 with 1 - p = 0.7",
            ),
            (
                [0, 1, 0, 1, 0],
                "at step 4 the list holds 1 tail item out of 3, x = 1/3 > p: "
                "compare 0.3 * 2/3 with 0.7 * 1/3",
            ),
        ],
    },
    "ch4-ex-masked-softmax": {
        "kind": "function",
        "name": "masked_softmax",
        "points": 2,
        "reference": masked_softmax_reference,
        "inputs": _softmax_inputs,
        "hidden": _softmax_hidden,
        "hints": [
            (
                _unmasked_softmax,
                "the padding slots still get weight: set their logits to -inf (or "
                "their exponentials to 0) before normalising, and broadcast the "
                "(B, L) mask over the candidate axis with mask[:, None, :]",
            )
        ],
    },
    "ch4-ex-masked-mean": {
        "kind": "function",
        "name": "masked_mean",
        "points": 2,
        "reference": masked_mean_reference,
        "inputs": _mean_inputs,
        "hidden": _mean_hidden,
        "tensors": True,
        "framework": None,  # without a framework the check passes NumPy arrays
        "rtol": 1e-5,
        "atol": 1e-6,
        "hints": [
            (
                _mean_over_all_slots,
                "you divided by L, the number of slots: divide by the number of "
                "REAL slots of each row, mask.sum(1) (cast the mask to float)",
            ),
            (
                _plain_mean,
                "the padding slots are in your mean: multiply h by the mask first "
                "(mask[:, :, None]) and divide by the number of real slots",
            ),
        ],
    },
    "ch4-ex-true-tail-recall": {
        "kind": "function",
        "name": "true_tail_recall",
        "points": 2,
        "reference": true_tail_recall_reference,
        "inputs": _recall_inputs,
        "hidden": _recall_hidden,
        "hints": [
            (
                lambda topk, true_top, tail_mask, k: subset_recall(topk, true_top, k),
                "this is the true recall over ALL true top items: keep only the "
                "true top items that are long-tail (relevant[tail_mask[relevant]]) "
                "before counting",
            ),
            (
                lambda topk, true_top, tail_mask, k: subset_recall(
                    topk, true_top, topk.shape[1], tail_mask
                ),
                "you looked at the whole list: only its first k entries count",
            ),
        ],
    },
    "ch4-ex-ipw": {
        "kind": "function",
        "name": "ipw_weights",
        "points": 2,
        "reference": ipw_reference,
        "inputs": _ipw_inputs,
        "hidden": _ipw_hidden,
        "hints": [
            (
                _ipw_unscaled,
                "right shape of the weights, wrong scale: divide by their mean "
                "over the interactions, np.dot(counts, w) / counts.sum()",
            ),
            (
                _ipw_item_mean,
                "that is the mean over the ITEMS: the weights must average 1 over "
                "the interactions, sum_i n_i w_i / sum_i n_i",
            ),
        ],
    },
}

#: The exercises a person grades: points and what earns them.
WRITTEN = {
    "ch4-ex-one-item": {
        "points": 3,
        "rubric": [
            "1 point: (a) with one real slot the softmax weight is 1 for every "
            "candidate, so the user vector e_h1 W_v + c_cluster(u) does not depend on "
            "the candidate.",
            "1 point: (a) the score (e_h1 W_v + c)^T e_i + b_i is a matrix-"
            "factorisation-like model; attention matters from two purchases on.",
            "1 point: (b) all logits -inf give 0/0 (NaN weights and score); two fixes "
            "among: skip such rows, an always-real empty-history slot, NaN weights "
            "replaced by zeros (the cluster prior alone).",
        ],
    },
}
