"""Chapter 3: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md.
"""

from __future__ import annotations

import numpy as np

from recsys_utils.retrieval import (
    exact_topk,
    in_batch_softmax_loss,
    nearest_history_item,
)

# -- ch3-ex-loss: the in-batch softmax loss with logQ, in NumPy --


def _loss_inputs(rng):
    B, d = 6, 4
    return (
        rng.standard_normal((B, d)),
        rng.standard_normal((B, d)),
        np.log(rng.dirichlet(np.ones(B))),
        float(rng.choice([0.1, 0.5])),
    )


def _loss_hidden(rng):
    B, d = int(rng.integers(3, 10)), int(rng.integers(2, 7))
    return (
        rng.standard_normal((B, d)),
        rng.standard_normal((B, d)),
        np.log(rng.dirichlet(np.ones(B))),
        float(rng.choice([0.05, 0.2, 1.0])),
    )


def in_batch_loss_reference(user_vecs, item_vecs, log_q_batch, temperature):
    # one row per item: the batch's ids are 0..B-1 and log_q is the batch's own
    return in_batch_softmax_loss(
        user_vecs, item_vecs, np.arange(len(item_vecs)), log_q_batch, temperature
    )


def _loss_added_log_q(user_vecs, item_vecs, log_q_batch, temperature):
    return in_batch_loss_reference(user_vecs, item_vecs, -log_q_batch, temperature)


def _loss_log_q_on_rows(user_vecs, item_vecs, log_q_batch, temperature):
    logits = user_vecs @ item_vecs.T / temperature - log_q_batch[:, None]
    return float(np.mean(np.log(np.exp(logits).sum(1)) - np.diag(logits)))


def _loss_without_temperature(user_vecs, item_vecs, log_q_batch, temperature):
    return in_batch_loss_reference(user_vecs, item_vecs, log_q_batch, 1.0)


def _loss_summed(user_vecs, item_vecs, log_q_batch, temperature):
    return len(user_vecs) * in_batch_loss_reference(
        user_vecs, item_vecs, log_q_batch, temperature
    )


# -- ch3-ex-mixed: in-batch plus shared uniform negatives, in the reader's framework --


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


def _mixed_hidden(rng):
    B, M, d = (int(x) for x in rng.integers(2, 8, 3))
    return (
        rng.standard_normal((B, d)).astype(np.float32),
        rng.standard_normal((B, d)).astype(np.float32),
        rng.standard_normal((M, d)).astype(np.float32),
        np.log(rng.dirichlet(np.ones(B))).astype(np.float32),
        np.log(rng.dirichlet(np.ones(M)) * M / 60.0).astype(np.float32),
        float(rng.choice([0.1, 0.25, 0.5])),
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


# -- ch3-ex-topk: exact top-k with argpartition --


def topk_reference(queries, item_vectors, k):
    return exact_topk(queries, item_vectors, k)[0]


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


def _topk_hidden(rng):
    n = int(rng.integers(600, 1200))
    return (
        rng.standard_normal((int(rng.integers(2, 6)), 8)).astype(np.float32),
        rng.standard_normal((n, 8)).astype(np.float32),
        int(rng.integers(100, 400)),
    )


# -- ch3-ex-reason: reasons by cosine, not by dot product --


def reason_reference(candidate_ids, history_ids, item_vectors):
    return nearest_history_item(candidate_ids, history_ids, item_vectors)[0]


def _by_dot(candidate_ids, history_ids, item_vectors):  # the typical mistake
    scores = item_vectors[candidate_ids] @ item_vectors[history_ids].T
    return history_ids[np.argmax(scores, axis=1)]


def _reason_inputs(rng):
    vecs = rng.standard_normal((40, 6)) * rng.uniform(0.2, 5.0, (40, 1))  # norms vary
    ids = rng.permutation(40)
    return ids[:8], ids[8:20], vecs


def _reason_hidden(rng):
    n = int(rng.integers(30, 60))
    vecs = rng.standard_normal((n, 5)) * rng.uniform(0.1, 6.0, (n, 1))
    ids = rng.permutation(n)
    return ids[:10], ids[10:25], vecs


# -- ch3-ex-nprobe: read the serving table --


def nprobe_reference(table):
    return int(table.index[table["recall"] >= 0.9].min())


EXERCISES = {
    "ch3-ex-loss": {
        "kind": "function",
        "name": "my_in_batch_loss",
        "points": 2,
        "reference": in_batch_loss_reference,
        "inputs": _loss_inputs,
        "hidden": _loss_hidden,
        "rtol": 1e-6,
        "hints": [
            (
                _loss_added_log_q,
                "you added log q: the correction SUBTRACTS log q_j from each logit "
                "(popular items get a lower logit).",
            ),
            (
                _loss_log_q_on_rows,
                "log q belongs to the columns (the candidate items): broadcast it as "
                "log_q_batch[None, :], not down the rows.",
            ),
            (
                _loss_without_temperature,
                "divide the scores by the temperature before subtracting log q.",
            ),
            (
                _loss_summed,
                "the loss is the MEAN cross-entropy over the B rows, not the sum.",
            ),
        ],
    },
    "ch3-ex-mixed": {
        "kind": "function",
        "name": "mixed_negatives_loss",
        "points": 2,
        "reference": mixed_negatives_reference,
        "inputs": _mixed_inputs,
        "hidden": _mixed_hidden,
        "rtol": 1e-4,  # the reader computes in float32
        "atol": 1e-5,
        "hints": [
            (
                _mixed_uncorrected_negatives,
                "the uniform negatives need their own correction too: subtract "
                "log_q_neg from their logits.",
            ),
            (
                _mixed_only_uniform,
                "keep the in-batch negatives: each row's candidates are the B items of "
                "the batch AND the M uniform items (logits of shape (B, B + M)).",
            ),
            (
                _mixed_no_batch_correction,
                "the batch's columns still need the logQ correction: subtract "
                "log_q_batch from them.",
            ),
        ],
    },
    "ch3-ex-topk": {
        "kind": "function",
        "name": "my_exact_topk",
        "points": 2,
        "reference": topk_reference,
        "inputs": _topk_inputs,
        "hidden": _topk_hidden,
        "public_trials": 2,  # 1,000 items each: the package stays small
        "hints": [
            (
                _unsorted_topk,
                "argpartition finds the k best but leaves them unordered: sort those "
                "k by score (descending) before returning them.",
            ),
            (
                _ascending_topk,
                "your list is in increasing order of score: the best item comes first.",
            ),
        ],
    },
    "ch3-ex-reason": {
        "kind": "function",
        "name": "my_nearest_history",
        "points": 2,
        "reference": reason_reference,
        "inputs": _reason_inputs,
        "hidden": _reason_hidden,
        "hints": [
            (
                _by_dot,
                "a dot product favours history items with long vectors: normalise the "
                "vectors (cosine) before comparing.",
            )
        ],
    },
    "ch3-ex-nprobe": {
        "kind": "table",
        "name": "the smallest nprobe with recall >= 0.9",
        "points": 1,
        "reference": nprobe_reference,
        "column": "recall",
        "threshold": 0.9,
        "setting": None,  # the table's index
        "filter": {},
        "hints": {
            "largest": "nprobe = nlist scans every cell: look for the SMALLEST setting "
            "that reaches 0.9.",
            "fraction": "nprobe counts cells (an integer); it is not a recall.",
        },
    },
}

#: The exercises a person grades: points and what earns them.
WRITTEN = {
    "ch3-ex-logq": {
        "points": 3,
        "rubric": [
            "1 point: item j appears B q_j times on average, so the expected "
            "denominator is sum_j B q_j exp(L_bj).",
            "1 point: subtracting log q_j turns each term into B exp(L_bj): the "
            "expected denominator is B times the full-catalogue sum (B cancels).",
            "1 point: without it a popular item is pushed down q_j / q_j' times more "
            "often than a tail item j', so popular items are scored too low.",
        ],
    },
}
