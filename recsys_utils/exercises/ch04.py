"""Checks of chapter 4's exercises (long-tail recommendation with attention).

Students: the references below are the answers. Try the exercise first.
"""

from __future__ import annotations

import importlib

import numpy as np

from ..checks import CheckResult, Hint, check_function, check_value
from ..framework import FRAMEWORKS
from ..longtail import inverse_propensity_weights, subset_recall
from . import register

# -- xQuAD calibrates --


def _xquad_picks(p: float, steps: int) -> np.ndarray:
    """xQuAD with lambda = 1 over {head, tail}: 1 = a tail pick, 0 = a head pick."""
    picks: list[int] = []
    for _ in range(steps):
        x = np.mean(picks) if picks else None  # tail share of the list so far
        tail_gain = p * (1.0 if x is None else 1.0 - x)
        head_gain = (1.0 - p) * (1.0 if x is None else x)
        picks.append(int(tail_gain > head_gain))  # ties: the head item ranks first
    return np.array(picks, dtype=float)


@register("ch4-ex-calibration")
def xquad_picks(answer) -> CheckResult:
    return check_value(
        answer,
        _xquad_picks(0.3, 5),
        name="the first five picks (1 = tail)",
        atol=0.0,
        rtol=0.0,
        exercise="ch4-ex-calibration",
        hints=[
            Hint(
                [0, 0, 0, 0, 0],
                "with lambda = 1 the scores do not count: at each step compare "
                "p (1 - x) for a tail item with (1 - p) x for a head item, where x "
                "is the tail share of the list so far",
            ),
            Hint(
                [1, 0, 1, 0, 1],
                "on the empty list both coverage terms are 1, so the first pick "
                "compares p = 0.3 with 1 - p = 0.7",
            ),
            Hint(
                [0, 1, 0, 1, 0],
                "at step 4 the list holds 1 tail item out of 3, x = 1/3 > p: "
                "compare 0.3 * 2/3 with 0.7 * 1/3",
            ),
        ],
    )


# -- A masked softmax --


def _masked_softmax_reference(logits, mask):
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


@register("ch4-ex-masked-softmax")
def masked_softmax(answer) -> CheckResult:
    return check_function(
        answer,
        _masked_softmax_reference,
        name="masked_softmax",
        make_inputs=_softmax_inputs,
        exercise="ch4-ex-masked-softmax",
        hints=[
            Hint(
                _unmasked_softmax,
                "the padding slots still get weight: set their logits to -inf (or "
                "their exponentials to 0) before normalising, and broadcast the "
                "(B, L) mask over the candidate axis with mask[:, None, :]",
            )
        ],
    )


# -- The masked mean, in your framework --


def _masked_mean_reference(h, mask):
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


@register("ch4-ex-masked-mean")
def masked_mean(answer, framework: str | None = None) -> CheckResult:
    if framework is not None and framework not in FRAMEWORKS:
        raise ValueError(
            f"framework must be one of {FRAMEWORKS} or None; got {framework!r}"
        )
    convert = None
    if framework is not None:  # import only the framework the reader uses
        twin = importlib.import_module(
            "recsys_utils.torch" if framework == "pytorch" else "recsys_utils.tf"
        )

        def convert(inputs):
            return tuple(twin.to_tensor(x) for x in inputs)

    return check_function(
        answer,
        _masked_mean_reference,
        name="masked_mean",
        make_inputs=_mean_inputs,
        convert_inputs=convert,
        rtol=1e-5,
        atol=1e-6,
        exercise="ch4-ex-masked-mean",
        hints=[
            Hint(
                _mean_over_all_slots,
                "you divided by L, the number of slots: divide by the number of "
                "REAL slots of each row, mask.sum(1) (cast the mask to float)",
            ),
            Hint(
                _plain_mean,
                "the padding slots are in your mean: multiply h by the mask first "
                "(mask[:, :, None]) and divide by the number of real slots",
            ),
        ],
    )


# -- True tail recall --


def _recall_inputs(rng):
    topk = np.stack([rng.permutation(30)[:10] for _ in range(20)])
    true_top = np.stack([rng.permutation(30)[:8] for _ in range(20)])
    return topk, true_top, rng.random(30) < 0.5, 5


@register("ch4-ex-true-tail-recall")
def true_tail_recall(answer) -> CheckResult:
    return check_function(
        answer,
        lambda topk, true_top, tail_mask, k: subset_recall(
            topk, true_top, k, tail_mask
        ),
        name="true_tail_recall",
        make_inputs=_recall_inputs,
        exercise="ch4-ex-true-tail-recall",
        hints=[
            Hint(
                lambda topk, true_top, tail_mask, k: subset_recall(topk, true_top, k),
                "this is the true recall over ALL true top items: keep only the "
                "true top items that are long-tail (relevant[tail_mask[relevant]]) "
                "before counting",
            ),
            Hint(
                lambda topk, true_top, tail_mask, k: subset_recall(
                    topk, true_top, topk.shape[1], tail_mask
                ),
                "you looked at the whole list: only its first k entries count",
            ),
        ],
    )


# -- Inverse propensity weights --


def _ipw_unscaled(counts, power):  # the typical mistake: no rescaling
    return ((counts + 1.0) / (counts.max() + 1.0)) ** (-power)


def _ipw_item_mean(counts, power):  # the other one: mean 1 over items, not purchases
    w = _ipw_unscaled(counts, power)
    return w / w.mean()


def _ipw_inputs(rng):
    return rng.integers(0, 50, 12).astype(float), float(rng.uniform(0.2, 1.0))


@register("ch4-ex-ipw")
def ipw_weights(answer) -> CheckResult:
    return check_function(
        answer,
        lambda counts, power: inverse_propensity_weights(
            counts, power, max_weight=None
        ),
        name="ipw_weights",
        make_inputs=_ipw_inputs,
        exercise="ch4-ex-ipw",
        hints=[
            Hint(
                _ipw_unscaled,
                "right shape of the weights, wrong scale: divide by their mean "
                "over the interactions, np.dot(counts, w) / counts.sum()",
            ),
            Hint(
                _ipw_item_mean,
                "that is the mean over the ITEMS: the weights must average 1 over "
                "the interactions, sum_i n_i w_i / sum_i n_i",
            ),
        ],
    )
