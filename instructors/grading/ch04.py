"""Chapter 4: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from recsys_utils.longtail import inverse_propensity_weights


def _xquad(p, steps, *, ties_to_tail=False, first_inverted=False, update=True):
    """xQuAD with lambda = 1 over {head, tail}: 1 = a tail pick, 0 = a head pick.

    The gains are compared in exact arithmetic (``Fraction``), so a tie (x = p) is a
    tie whatever the float rounding. The keyword arguments are the typical mistakes.
    """
    p = Fraction(float(p))
    picks: list[int] = []
    for step in range(int(steps)):
        if picks and update:
            x = Fraction(sum(picks), len(picks))  # tail share of the list so far
            tail_gain, head_gain = p * (1 - x), (1 - p) * x
        else:  # the empty list: both coverage terms are 1
            tail_gain, head_gain = p, 1 - p
        tail = tail_gain >= head_gain if ties_to_tail else tail_gain > head_gain
        if step == 0 and first_inverted:
            tail = not tail
        picks.append(int(tail))  # ties: the head item ranks first
    return np.array(picks, dtype=float)


def xquad_reference(p, steps):
    return _xquad(p, steps)


def _xquad_no_update(p, steps):  # the coverage never changes: one pick repeated
    return _xquad(p, steps, update=False)


def _xquad_first_inverted(p, steps):
    return _xquad(p, steps, first_inverted=True)


def _xquad_ties_to_tail(p, steps):
    return _xquad(p, steps, ties_to_tail=True)


#: shares whose ties (x = p) fall within 12 picks and are exact in binary floats
_DYADIC = [0.25, 0.375, 0.5, 0.625, 0.75]


def _xquad_inputs(rng):
    p = float(rng.choice([0.3, *_DYADIC])) if rng.random() < 0.7 else rng.uniform()
    # p = 0.3 would tie at x = 3/10 after 10 picks, a tie that float rounding decides
    # (0.3 is not 3/10 in binary): stop before it
    return float(p), int(rng.integers(6, 10 if p == 0.3 else 13))


def _xquad_hidden(rng):
    if rng.random() < 0.75:  # a dyadic share ties within 8 picks: go past it
        return float(rng.choice(_DYADIC)), int(rng.integers(9, 13))
    return float(rng.uniform(0.02, 0.98)), int(rng.integers(1, 13))


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


def _ks(rng, length):
    return np.sort(rng.choice(np.arange(1, length + 1), int(rng.integers(2, 5)), False))


def _recall_inputs(rng):
    topk = np.stack([rng.permutation(30)[:10] for _ in range(20)])
    true_top = np.stack([rng.permutation(30)[:8] for _ in range(20)])
    # a quarter of the items in the tail: some users have no tail item in true_top
    return topk, true_top, rng.random(30) < 0.25, _ks(rng, 10)


def _recall_hidden(rng):
    n = int(rng.integers(25, 50))
    topk = np.stack([rng.permutation(n)[:12] for _ in range(15)])
    true_top = np.stack([rng.permutation(n)[:9] for _ in range(15)])
    return topk, true_top, rng.random(n) < 0.2, _ks(rng, 12)


def _tail_recalls(topk, true_top, tail_mask, k):
    """Per user: (hits among the long-tail true top items, their number)."""
    relevant = tail_mask[true_top]  # (users, m): which true top items are tail
    found = (true_top[:, :, None] == topk[:, None, :k]).any(axis=2)  # (users, m)
    return (relevant & found).sum(axis=1), relevant.sum(axis=1)


def _recall_at(topk, true_top, tail_mask, k):
    hits, count = _tail_recalls(topk, true_top, tail_mask, k)
    has = count > 0
    return float(np.mean(hits[has] / count[has]))


def true_tail_recall_reference(topk, true_top, tail_mask, ks):
    return np.array([_recall_at(topk, true_top, tail_mask, int(k)) for k in ks])


def _recall_all_true_top(topk, true_top, tail_mask, ks):  # the tail mask ignored
    everything = np.ones_like(tail_mask, dtype=bool)
    return true_tail_recall_reference(topk, true_top, everything, ks)


def _recall_whole_list(topk, true_top, tail_mask, ks):  # the same value for every k
    whole = _recall_at(topk, true_top, tail_mask, topk.shape[1])
    return np.full(len(ks), whole)


def _recall_over_all_users(topk, true_top, tail_mask, ks):  # users without tail: 0
    out = []
    for k in ks:
        hits, count = _tail_recalls(topk, true_top, tail_mask, int(k))
        out.append(np.mean(np.where(count > 0, hits / np.maximum(count, 1), 0.0)))
    return np.array(out)


def _ipw_raw(counts, power):
    return ((counts + 1.0) / (counts.max() + 1.0)) ** (-power)


def _mean_one(w, counts):  # rescaled: mean 1 over the interactions
    return w / (np.dot(counts, w) / counts.sum())


def ipw_reference(counts, power, max_weight):
    w = _mean_one(_ipw_raw(counts, power), counts)
    return _mean_one(np.minimum(w, max_weight), counts)  # one clip-and-rescale pass


def _ipw_unscaled(counts, power, max_weight):  # no rescaling at all
    return np.minimum(_ipw_raw(counts, power), max_weight)


def _ipw_item_mean(counts, power, max_weight):  # mean 1 over items, not purchases
    w = _ipw_raw(counts, power)
    w = np.minimum(w / w.mean(), max_weight)
    return w / w.mean()


def _ipw_no_second_rescaling(counts, power, max_weight):
    return np.minimum(_mean_one(_ipw_raw(counts, power), counts), max_weight)


def _ipw_clip_raw(counts, power, max_weight):  # the package's order: clip, rescale
    return inverse_propensity_weights(counts, power, max_weight=max_weight)


def _ipw_max_weight(rng, counts, power):
    """A clip that binds on bought items (clipping an item nobody bought leaves the
    mean over the interactions alone): between 1 and their largest rescaled weight."""
    top = _mean_one(_ipw_raw(counts, power), counts)[counts > 0].max()
    return float(1.0 + rng.uniform(0.3, 0.7) * (top - 1.0))


def _ipw_inputs(rng):
    counts = rng.integers(0, 50, 12).astype(float)
    power = float(rng.uniform(0.4, 1.0))
    return counts, power, _ipw_max_weight(rng, counts, power)


def _ipw_hidden(rng):
    n = int(rng.integers(5, 20))
    counts = rng.integers(0, 80, n).astype(float)
    counts[0] = 0.0  # an item nobody bought: the largest weight
    power = float(rng.uniform(0.3, 1.0))
    return counts, power, _ipw_max_weight(rng, counts, power)


EXERCISES = {
    "ch4-ex-calibration": {
        "kind": "function",
        "name": "xquad_picks",
        "points": 1,
        "reference": xquad_reference,
        "inputs": _xquad_inputs,
        "hidden": _xquad_hidden,
        "hidden_trials": 8,  # a tie in most of them: ties to the tail get caught
        "rtol": 0.0,
        "atol": 0.0,
        "hints": [
            (
                _xquad_no_update,
                "your picks never change: with lambda = 1 the scores do not count, "
                "so at each step compare p (1 - x) for a tail item with (1 - p) x for "
                "a head item, where x is the tail share of the list so far",
            ),
            (
                _xquad_first_inverted,
                "only your first pick is wrong: on the empty list both coverage "
                "terms are 1, so the first pick compares p with 1 - p",
            ),
            (
                _xquad_ties_to_tail,
                "on a tie (x = p, both gains equal) the head item wins: a tail item "
                "needs a strictly larger gain",
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
        "name": "true_tail_recall_at",
        "points": 2,
        "reference": true_tail_recall_reference,
        "inputs": _recall_inputs,
        "hidden": _recall_hidden,
        "hidden_trials": 6,  # users without a tail item occur in nearly every one
        "hints": [
            (
                _recall_all_true_top,
                "this is the true recall over ALL true top items: keep only the "
                "true top items that are long-tail (relevant[tail_mask[relevant]]) "
                "before counting",
            ),
            (
                _recall_whole_list,
                "you looked at the whole list, the same for every k: for each k of "
                "ks only the first k entries of topk count",
            ),
            (
                _recall_over_all_users,
                "you averaged over every user: a user without any long-tail true top "
                "item has no tail recall; average over the users who have one",
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
            (
                _ipw_no_second_rescaling,
                "the clip lowered the mean over the interactions below 1: rescale "
                "once more after clipping",
            ),
            (
                _ipw_clip_raw,
                "you clipped the raw weights 1 / p_i: rescale first, clip the "
                "rescaled weights at max_weight, then rescale again",
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
