"""Chapter 3: references, hidden cases and typical mistakes (instructors only).

The format of ``EXERCISES`` is described in instructors/README.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_utils.retrieval import nearest_history_item

# -- ch3-ex-loss: the in-batch softmax loss with logQ and a margin, in NumPy --


def _loss_inputs(rng):
    B, d = 6, 4
    return (
        rng.standard_normal((B, d)),
        rng.standard_normal((B, d)),
        np.log(rng.dirichlet(np.ones(B))),
        float(rng.choice([0.1, 0.5])),
        float(rng.choice([0.25, 0.5, 1.0])),
    )


def _loss_hidden(rng):
    B, d = int(rng.integers(3, 10)), int(rng.integers(2, 7))
    return (
        rng.standard_normal((B, d)),
        rng.standard_normal((B, d)),
        np.log(rng.dirichlet(np.ones(B))),
        float(rng.choice([0.05, 0.2, 0.5])),  # never 1: the temperature must count
        float(rng.uniform(0.1, 1.0)),  # never 0: the margin must change the loss
    )


def _mean_cross_entropy(logits):
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return float(np.mean(log_norm - np.diag(logits)))


def _margin_logits(user_vecs, item_vecs, log_q_batch, temperature, margin):
    logits = user_vecs @ item_vecs.T / temperature - log_q_batch[None, :]
    return logits - margin * np.eye(len(logits))  # the positive only


def in_batch_loss_reference(user_vecs, item_vecs, log_q_batch, temperature, margin):
    return _mean_cross_entropy(
        _margin_logits(user_vecs, item_vecs, log_q_batch, temperature, margin)
    )


def _loss_margin_everywhere(user_vecs, item_vecs, log_q_batch, temperature, margin):
    # margin subtracted from every logit of the row: the softmax does not change
    logits = _margin_logits(user_vecs, item_vecs, log_q_batch, temperature, 0.0)
    return _mean_cross_entropy(logits - margin)


def _loss_margin_added(user_vecs, item_vecs, log_q_batch, temperature, margin):
    return in_batch_loss_reference(
        user_vecs, item_vecs, log_q_batch, temperature, -margin
    )


def _loss_added_log_q(user_vecs, item_vecs, log_q_batch, temperature, margin):
    return in_batch_loss_reference(
        user_vecs, item_vecs, -log_q_batch, temperature, margin
    )


def _loss_log_q_on_rows(user_vecs, item_vecs, log_q_batch, temperature, margin):
    logits = user_vecs @ item_vecs.T / temperature - log_q_batch[:, None]
    return _mean_cross_entropy(logits - margin * np.eye(len(logits)))


def _loss_without_temperature(user_vecs, item_vecs, log_q_batch, temperature, margin):
    return in_batch_loss_reference(user_vecs, item_vecs, log_q_batch, 1.0, margin)


def _loss_summed(user_vecs, item_vecs, log_q_batch, temperature, margin):
    return len(user_vecs) * in_batch_loss_reference(
        user_vecs, item_vecs, log_q_batch, temperature, margin
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


# -- ch3-ex-topk: exact top-k with argpartition, leaving out what the user bought --


def _excluded_scores(queries, item_vectors, exclude):
    scores = (queries @ item_vectors.T).astype(np.float64)
    for q, ids in enumerate(exclude):
        scores[q, np.asarray(ids, dtype=np.int64)] = -np.inf
    return scores


def _sorted_best(scores, k):
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def topk_reference(queries, item_vectors, k, exclude):
    return _sorted_best(_excluded_scores(queries, item_vectors, exclude), k)


def _unsorted_topk(queries, item_vectors, k, exclude):  # argpartition only
    scores = _excluded_scores(queries, item_vectors, exclude)
    return np.argpartition(-scores, k - 1, axis=1)[:, :k]


def _ascending_topk(queries, item_vectors, k, exclude):  # sorted, but worst first
    return topk_reference(queries, item_vectors, k, exclude)[:, ::-1]


def _topk_exclusions_kept(queries, item_vectors, k, exclude):
    return _sorted_best((queries @ item_vectors.T).astype(np.float64), k)


def _exclusions(rng, queries, item_vectors):
    """One id array per query: its best item, then others drawn at random (the
    first query's list is empty: a user who bought nothing)."""
    best = np.argmax(queries @ item_vectors.T, axis=1)
    out = [np.array([], dtype=np.int64)]
    for q in range(1, len(queries)):
        drawn = rng.choice(len(item_vectors), int(rng.integers(5, 40)), replace=False)
        out.append(np.unique(np.r_[best[q], drawn]).astype(np.int64))
    return out


def _topk_inputs(rng):
    # a long list (k = 300 of 1,000): NumPy's argpartition happens to return short
    # lists already sorted, which would hide the unsorted-result mistake
    queries = rng.standard_normal((5, 8)).astype(np.float32)
    items = rng.standard_normal((1000, 8)).astype(np.float32)
    k = int(rng.choice([250, 300, 400]))
    return queries, items, k, _exclusions(rng, queries, items)


def _topk_hidden(rng):
    n = int(rng.integers(600, 1200))
    queries = rng.standard_normal((int(rng.integers(2, 6)), 8)).astype(np.float32)
    items = rng.standard_normal((n, 8)).astype(np.float32)
    k = int(rng.integers(100, 400))
    return queries, items, k, _exclusions(rng, queries, items)


# -- ch3-ex-reason: reasons by recency-weighted cosine, not by dot product --


def _unit(vectors):
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def reason_reference(candidate_ids, history_ids, item_vectors, weights):
    v = _unit(np.asarray(item_vectors, np.float64))
    sim = v[candidate_ids] @ v[history_ids].T * np.asarray(weights)[None, :]
    return np.asarray(history_ids)[np.argmax(sim, axis=1)]


def _by_dot(candidate_ids, history_ids, item_vectors, weights):  # lengths count
    scores = item_vectors[candidate_ids] @ item_vectors[history_ids].T * weights
    return history_ids[np.argmax(scores, axis=1)]


def _reason_weights_ignored(candidate_ids, history_ids, item_vectors, weights):
    # the package's nearest_history_item: the cosine alone
    return nearest_history_item(candidate_ids, history_ids, item_vectors)[0]


def _recency(rng, n):
    """A recency weight per history item: 0.8 ** (days ago / 7), newest last."""
    days_ago = np.sort(rng.integers(0, 120, n))[::-1]
    return 0.8 ** (days_ago / 7.0)


def _reason_inputs(rng):
    vecs = rng.standard_normal((40, 6)) * rng.uniform(0.2, 5.0, (40, 1))  # norms vary
    ids = rng.permutation(40)
    return ids[:8], ids[8:20], vecs, _recency(rng, 12)


def _reason_hidden(rng):
    n = int(rng.integers(30, 60))
    vecs = rng.standard_normal((n, 5)) * rng.uniform(0.1, 6.0, (n, 1))
    ids = rng.permutation(n)
    return ids[:10], ids[10:25], vecs, _recency(rng, 15)


# -- ch3-ex-nprobe: the smallest setting of a table that reaches a target --


def _setting_table(rng):
    """A serving table drawn at grading time: the settings as the index, the measured
    column monotone in the setting or not, a share_scanned column beside it.

    The target is the measured value of a row with at least three larger values (so
    ``>`` and the largest setting give other answers), or one that no row reaches.
    Half the tables have their rows shuffled, with the second-largest setting that
    reaches the target as the first such row (so the first row in table order is
    neither the smallest nor the largest)."""
    n = int(rng.integers(5, 10))
    settings = np.sort(rng.choice(np.arange(1, 257), n, replace=False))
    measured = rng.choice(np.arange(30, 100), n, replace=False) / 100.0  # distinct
    if rng.random() < 0.5:
        measured = np.sort(measured)  # monotone in the setting
    column = str(rng.choice(["recall", "recall_at_20"]))
    if rng.random() < 0.2:
        target = float(measured.max() + 0.01)  # no row reaches it
    else:
        target = float(np.sort(measured)[int(rng.integers(0, n - 3))])
    order = np.arange(n)
    if rng.random() < 0.5:
        order = rng.permutation(n)
        reach = np.flatnonzero(measured[order] >= target)  # positions, table order
        if len(reach) >= 2:
            by_setting = reach[np.argsort(settings[order][reach])]
            second = by_setting[-2]  # second-largest reaching setting goes first
            order[[reach[0], second]] = order[[second, reach[0]]]
    table = pd.DataFrame(
        {"share_scanned": np.round(settings / 256, 4), column: measured},
        index=pd.Index(settings, name="value"),
    )
    return table.iloc[order], column, target


def smallest_setting_reference(table, column, target):
    reached = table.index[table[column] >= target]
    return int(reached.min()) if len(reached) else -1


def _largest_setting(table, column, target):
    reached = table.index[table[column] >= target]
    return int(reached.max()) if len(reached) else -1


def _first_row_setting(table, column, target):  # table order, not the smallest
    reached = table.index[table[column] >= target]
    return int(reached[0]) if len(reached) else -1


def _strictly_above_setting(table, column, target):
    reached = table.index[table[column] > target]
    return int(reached.min()) if len(reached) else -1


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
                _loss_margin_everywhere,
                "you lowered every logit of the row: the softmax does not change. "
                "Subtract the margin from the positive's logit only (column b of "
                "row b).",
            ),
            (
                _loss_margin_added,
                "you added the margin: LOWER the positive's logit by it, so the model "
                "must beat the negatives by at least the margin.",
            ),
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
        # argpartition's order depends on the CPU: that mistake is matched row by
        # row, as sets (recsys_utils.checks.ROW_SETS)
        "hint_match": [None, "row-sets", None],
        "hints": [  # the ascending list first: its rows hold the same sets too
            (
                _ascending_topk,
                "your list is in increasing order of score: the best item comes first.",
            ),
            (
                _unsorted_topk,
                "argpartition finds the k best but leaves them unordered: sort those "
                "k by score (descending) before returning them.",
            ),
            (
                _topk_exclusions_kept,
                "your list still holds items of exclude[q]: leave them out (give "
                "them a score of -inf before the top-k).",
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
            ),
            (
                _reason_weights_ignored,
                "you picked the most similar history item: multiply each cosine by "
                "the recency weight of its history item (weights[j] goes with "
                "history_ids[j]) before taking the best.",
            ),
        ],
    },
    "ch3-ex-nprobe": {
        "kind": "function",
        "name": "smallest_setting",
        "points": 1,
        "reference": smallest_setting_reference,
        "inputs": _setting_table,
        "hidden": _setting_table,
        "public_trials": 8,
        "hidden_trials": 8,
        "hints": [
            (
                _largest_setting,
                "you returned the LARGEST setting that reaches the target: the "
                "cheapest one is the smallest.",
            ),
            (
                _first_row_setting,
                "you returned the first row (in the table's order) that reaches the "
                "target, but the rows need not be sorted by setting: take the "
                "smallest index value among the rows that reach it.",
            ),
            (
                _strictly_above_setting,
                "'reaches the target' includes equality: compare with >=, not >.",
            ),
        ],
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
