"""Checks of chapter 3's exercises (two-tower retrieval).

Students: the references below are the answers. Try the exercise first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..checks import CheckResult, Hint, check_function, check_value
from ..retrieval import exact_topk, in_batch_softmax_loss, nearest_history_item
from . import register

# ---------------------------------------------------------------------------
# ch3-ex-loss: the in-batch softmax loss with logQ, in NumPy
# ---------------------------------------------------------------------------


def _loss_inputs(rng):
    B, d = 6, 4
    return (
        rng.standard_normal((B, d)),
        rng.standard_normal((B, d)),
        np.log(rng.dirichlet(np.ones(B))),
        float(rng.choice([0.1, 0.5])),
    )


def _loss_reference(user_vecs, item_vecs, log_q_batch, temperature):
    # one row per item: the batch's ids are 0..B-1 and log_q is the batch's own
    return in_batch_softmax_loss(
        user_vecs, item_vecs, np.arange(len(item_vecs)), log_q_batch, temperature
    )


def _loss_added_log_q(user_vecs, item_vecs, log_q_batch, temperature):
    return _loss_reference(user_vecs, item_vecs, -log_q_batch, temperature)


def _loss_log_q_on_rows(user_vecs, item_vecs, log_q_batch, temperature):
    logits = user_vecs @ item_vecs.T / temperature - log_q_batch[:, None]
    return float(np.mean(np.log(np.exp(logits).sum(1)) - np.diag(logits)))


def _loss_without_temperature(user_vecs, item_vecs, log_q_batch, temperature):
    return _loss_reference(user_vecs, item_vecs, log_q_batch, 1.0)


def _loss_summed(user_vecs, item_vecs, log_q_batch, temperature):
    return len(user_vecs) * _loss_reference(
        user_vecs, item_vecs, log_q_batch, temperature
    )


@register("ch3-ex-loss")
def in_batch_loss(answer) -> CheckResult:
    return check_function(
        answer,
        _loss_reference,
        name="my_in_batch_loss",
        make_inputs=_loss_inputs,
        rtol=1e-6,
        exercise="ch3-ex-loss",
        hints=[
            Hint(
                _loss_added_log_q,
                "you added log q: the correction SUBTRACTS log q_j from each logit "
                "(popular items get a lower logit).",
            ),
            Hint(
                _loss_log_q_on_rows,
                "log q belongs to the columns (the candidate items): broadcast it as "
                "log_q_batch[None, :], not down the rows.",
            ),
            Hint(
                _loss_without_temperature,
                "divide the scores by the temperature before subtracting log q.",
            ),
            Hint(
                _loss_summed,
                "the loss is the MEAN cross-entropy over the B rows, not the sum.",
            ),
        ],
    )


# ---------------------------------------------------------------------------
# ch3-ex-mixed: in-batch plus shared uniform negatives, in the reader's framework
# ---------------------------------------------------------------------------


def _mixed_inputs(rng):
    B, M, d = 5, 3, 4
    return (
        rng.standard_normal((B, d)).astype(np.float32),  # user_vecs
        rng.standard_normal((B, d)).astype(np.float32),  # item_vecs (positives)
        rng.standard_normal((M, d)).astype(np.float32),  # neg_vecs (shared)
        np.log(rng.dirichlet(np.ones(B))).astype(np.float32),  # log_q_batch
        np.full(M, np.log(M / 50.0), dtype=np.float32),  # log_q_neg: 50 items
        float(rng.choice([0.1, 0.5])),
    )


def _mixed_logits(user_vecs, item_vecs, neg_vecs, log_q_batch, log_q_neg, tau):
    u = np.asarray(user_vecs, np.float64)
    batch = u @ np.asarray(item_vecs, np.float64).T / tau - log_q_batch[None, :]
    uniform = u @ np.asarray(neg_vecs, np.float64).T / tau - log_q_neg[None, :]
    return np.concatenate([batch, uniform], axis=1)  # (B, B + M)


def _cross_entropy_diag(logits):
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return float(np.mean(log_norm - np.diag(logits)))


def mixed_negatives_reference(
    user_vecs, item_vecs, neg_vecs, log_q_batch, log_q_neg, temperature
):
    """The reference of ch3-ex-mixed (float64 NumPy)."""
    return _cross_entropy_diag(
        _mixed_logits(
            user_vecs, item_vecs, neg_vecs, log_q_batch, log_q_neg, temperature
        )
    )


def _mixed_uncorrected_negatives(u, v, n, log_q_batch, log_q_neg, tau):
    return mixed_negatives_reference(u, v, n, log_q_batch, 0.0 * log_q_neg, tau)


def _mixed_only_uniform(u, v, n, log_q_batch, log_q_neg, tau):
    # the positive against the uniform negatives only: the batch's other items dropped
    logits = _mixed_logits(u, v, n, log_q_batch, log_q_neg, tau)
    B = len(u)
    keep = np.c_[np.diag(logits[:, :B])[:, None], logits[:, B:]]
    top = keep.max(axis=1, keepdims=True)
    return float(
        np.mean(top[:, 0] + np.log(np.exp(keep - top).sum(axis=1)) - keep[:, 0])
    )


def _mixed_no_batch_correction(u, v, n, log_q_batch, log_q_neg, tau):
    return mixed_negatives_reference(u, v, n, 0.0 * log_q_batch, log_q_neg, tau)


@register("ch3-ex-mixed")
def mixed_negatives(answer) -> CheckResult:
    return check_function(
        answer,
        mixed_negatives_reference,
        name="mixed_negatives_loss",
        make_inputs=_mixed_inputs,
        rtol=1e-4,  # the reader computes in float32
        atol=1e-5,
        exercise="ch3-ex-mixed",
        hints=[
            Hint(
                _mixed_uncorrected_negatives,
                "the uniform negatives need their own correction too: subtract "
                "log_q_neg from their logits.",
            ),
            Hint(
                _mixed_only_uniform,
                "keep the in-batch negatives: each row's candidates are the B items of "
                "the batch AND the M uniform items (logits of shape (B, B + M)).",
            ),
            Hint(
                _mixed_no_batch_correction,
                "the batch's columns still need the logQ correction: subtract "
                "log_q_batch from them.",
            ),
        ],
    )


# ---------------------------------------------------------------------------
# ch3-ex-topk: exact top-k with argpartition
# ---------------------------------------------------------------------------


def _unsorted_topk(queries, item_vectors, k):  # the typical mistake: argpartition only
    return np.argpartition(-(queries @ item_vectors.T), k - 1, axis=1)[:, :k]


def _ascending_topk(queries, item_vectors, k):  # sorted, but worst first
    return exact_topk(queries, item_vectors, k)[0][:, ::-1]


def _topk_inputs(rng):
    # a long list (k = 300 of 1,000): NumPy's argpartition happens to return short
    # lists already sorted, which would hide the unsorted-result mistake
    return (
        rng.standard_normal((5, 8)).astype(np.float32),
        rng.standard_normal((1000, 8)).astype(np.float32),
        int(rng.choice([250, 300, 400])),
    )


@register("ch3-ex-topk")
def exact_top_k(answer) -> CheckResult:
    return check_function(
        answer,
        lambda q, v, k: exact_topk(q, v, k)[0],
        name="my_exact_topk",
        make_inputs=_topk_inputs,
        exercise="ch3-ex-topk",
        hints=[
            Hint(
                _unsorted_topk,
                "argpartition finds the k best but leaves them unordered: sort those "
                "k by score (descending) before returning them.",
            ),
            Hint(
                _ascending_topk,
                "your list is in increasing order of score: the best item comes first.",
            ),
        ],
    )


# ---------------------------------------------------------------------------
# ch3-ex-reason: reasons by cosine, not by dot product
# ---------------------------------------------------------------------------


def _by_dot(candidate_ids, history_ids, item_vectors):  # the typical mistake
    scores = item_vectors[candidate_ids] @ item_vectors[history_ids].T
    return history_ids[np.argmax(scores, axis=1)]


def _reason_inputs(rng):
    vecs = rng.standard_normal((40, 6)) * rng.uniform(0.2, 5.0, (40, 1))  # norms vary
    ids = rng.permutation(40)
    return ids[:8], ids[8:20], vecs


@register("ch3-ex-reason")
def nearest_history(answer) -> CheckResult:
    return check_function(
        answer,
        lambda c, h, v: nearest_history_item(c, h, v)[0],
        name="my_nearest_history",
        make_inputs=_reason_inputs,
        exercise="ch3-ex-reason",
        hints=[
            Hint(
                _by_dot,
                "a dot product favours history items with long vectors: normalise the "
                "vectors (cosine) before comparing.",
            )
        ],
    )


# ---------------------------------------------------------------------------
# ch3-ex-nprobe: read the serving table
# ---------------------------------------------------------------------------


@register("ch3-ex-nprobe")
def smallest_nprobe(answer, *, table: pd.DataFrame) -> CheckResult:
    """The check needs the chapter's IVF table: ``check(..., table=ivf_big)``.

    ``table`` is indexed by ``nprobe`` and has a ``recall`` column.
    """
    if not isinstance(table, pd.DataFrame) or "recall" not in table.columns:
        raise ValueError(
            "table must be the chapter's IVF table (index nprobe, a 'recall' column); "
            f"got {type(table).__name__}"
        )
    reached = table.index[table["recall"] >= 0.9]
    if len(reached) == 0:
        raise ValueError("no nprobe of the table reaches a recall of 0.9")
    return check_value(
        answer,
        int(reached.min()),
        name="the smallest nprobe with recall >= 0.9",
        exercise="ch3-ex-nprobe",
        hints=[
            Hint(
                int(table.index.max()),
                "nprobe = nlist scans every cell: look for the SMALLEST setting that "
                "reaches 0.9.",
            ),
            Hint(
                lambda a: np.asarray(a).size == 1 and 0 < float(a) < 1,
                "nprobe counts cells (an integer); it is not a recall.",
            ),
        ],
    )
