"""Plumbing for sequential recommendation (chapter 6): sequences, a Markov baseline,
and next-item evaluation with sampled negatives.

Everything here is NumPy/SciPy, framework-neutral: the chapter's Transformers
(PyTorch and TensorFlow) read the padded arrays built here, and every model, neural
or not, is ranked by the same rules.

* :func:`sequences_from_log`, :func:`pad_sequences`, :func:`next_item_examples`: the
  purchase log as per-user sequences, left-padded windows, and (input, target) rows
  for next-item training;
* :class:`MarkovChain`: the first-order item-to-next-item baseline;
* :func:`sample_negatives`, :func:`sampled_ranks`, :func:`full_ranks`,
  :func:`rank_metrics`: the target's rank among sampled negatives (as the SASRec paper
  evaluates) or among the whole catalogue, and HitRate@k / NDCG@k from the ranks;
* :data:`LEAVE_LAST_OUT`: MovieLens-100K's next-item protocol (a
  :class:`recsys_utils.protocols.Protocol`), with the SASRec paper's published figures.

Ties are broken the way :func:`recsys_utils.evaluation.topk_from_scores` breaks them:
among equal scores the lower item id ranks first, so the sampled and the full ranks
follow one rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .validation import check_finite, check_int

__all__ = [
    "sequences_from_log",
    "pad_sequences",
    "next_item_examples",
    "MarkovChain",
    "sample_negatives",
    "sampled_ranks",
    "full_ranks",
    "rank_metrics",
    "LEAVE_LAST_OUT",
]


def _check_sequences(sequences: Any) -> list[np.ndarray]:
    if isinstance(sequences, np.ndarray) and sequences.dtype != object:
        raise ValueError(
            "sequences must be a list of 1-D int arrays (one per user); got an array "
            f"of shape {sequences.shape}"
        )
    out = []
    for u, seq in enumerate(sequences):
        arr = np.asarray(seq)
        if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
            raise ValueError(
                f"sequences[{u}] must be a 1-D array of integer item ids; got "
                f"{arr.dtype} of shape {arr.shape}"
            )
        if arr.size and arr.min() < 0:
            raise ValueError(f"sequences[{u}] holds a negative item id")
        out.append(arr.astype(np.int64))
    return out


def sequences_from_log(df: pd.DataFrame, num_users: int) -> list[np.ndarray]:
    """Each user's items in time order: the log as sequences.

    Args:
        df: frame with columns ``user_id``, ``item_id`` and ``timestamp``; ties in
            time keep the frame's order.
        num_users: number of users; user ``u`` gets ``sequences[u]`` (empty when the
            user has no row).

    Returns:
        List of ``num_users`` int64 arrays of item ids, oldest first.
    """
    for col in ("user_id", "item_id", "timestamp"):
        if col not in df.columns:
            raise ValueError(
                f"df must have a column {col!r}; it has {list(df.columns)}"
            )
    num_users = check_int(num_users, "num_users", low=1)
    users = df["user_id"].to_numpy(dtype=np.int64)
    if users.size and (users.min() < 0 or users.max() >= num_users):
        raise ValueError(
            f"user_id must lie in [0, {num_users}); got {users.min()}..{users.max()}"
        )
    order = np.lexsort((df["timestamp"].to_numpy(), users))  # stable within ties
    items = df["item_id"].to_numpy(dtype=np.int64)[order]
    bounds = np.searchsorted(users[order], np.arange(num_users + 1))
    return [items[bounds[u] : bounds[u + 1]] for u in range(num_users)]


def _check_pad_id(pad_id: Any, seqs: list[np.ndarray]) -> int:
    """The padding id: an int no item of the sequences has (above every item id)."""
    pad_id = check_int(pad_id, "pad_id", low=0)
    top = max((int(s.max()) for s in seqs if s.size), default=-1)
    if pad_id <= top:
        holder = next(
            (u for u, s in enumerate(seqs) if s.size and (s == pad_id).any()), None
        )
        what = (
            f"sequences[{holder}] holds item {pad_id}"
            if holder is not None
            else f"it lies among the item ids of the sequences (up to {top})"
        )
        raise ValueError(
            f"pad_id={pad_id} is a real item id ({what}): padding would be "
            "indistinguishable from that item. Use an id no item has: num_items, "
            f"the book's convention (here at least {top + 1})"
        )
    return pad_id


def pad_sequences(
    sequences: Sequence[np.ndarray], max_len: int, pad_id: int
) -> np.ndarray:
    """The last ``max_len`` items of each sequence, left-padded with ``pad_id``.

    Left padding puts every user's most recent item in the last column, so a learned
    position embedding means "how long ago", as in SASRec.

    Args:
        sequences: list of 1-D int arrays (oldest first).
        max_len: number of columns (positive int).
        pad_id: the padding id: an id no item has, larger than every item id of
            the sequences (the book's convention: ``num_items``).

    Returns:
        int64 array ``(len(sequences), max_len)``.

    Raises:
        ValueError: a ``pad_id`` that is an item id of the sequences (or below the
            largest one: padding would be indistinguishable from a real item), a
            bad ``max_len``, sequences that are not 1-D integer arrays.
    """
    seqs = _check_sequences(sequences)
    max_len = check_int(max_len, "max_len", low=1)
    pad_id = _check_pad_id(pad_id, seqs)
    out = np.full((len(seqs), max_len), pad_id, dtype=np.int64)
    for row, seq in enumerate(seqs):
        tail = seq[-max_len:]
        if len(tail):
            out[row, max_len - len(tail) :] = tail
    return out


def next_item_examples(
    sequences: Sequence[np.ndarray], max_len: int, pad_id: int
) -> tuple[np.ndarray, np.ndarray]:
    """Next-item training rows: at every position, the target is the next item.

    A sequence ``s_1..s_n`` gives the inputs ``s_1..s_{n-1}`` and the targets
    ``s_2..s_n``, cut from the end into windows of ``max_len`` positions (the most
    recent window first, each window left-padded with ``pad_id`` in both arrays).
    Sequences with fewer than 2 items give no row. Each window is its own context:
    the first position of an older window does not see the window before it.

    Args:
        sequences: list of 1-D int arrays (oldest first).
        max_len: positions per row (positive int).
        pad_id: padding id for inputs and targets (masked out of the loss): an id
            no item has, larger than every item id (``num_items``).

    Returns:
        ``(inputs, targets)``, two int64 arrays ``(num_rows, max_len)``; rows follow
        the users' order, most recent window first within a user.

    Raises:
        ValueError: a ``pad_id`` that is a real item id (see :func:`pad_sequences`),
            a bad ``max_len``, no sequence with 2 items or more.
    """
    seqs = _check_sequences(sequences)
    max_len = check_int(max_len, "max_len", low=1)
    pad_id = _check_pad_id(pad_id, seqs)
    inputs, targets = [], []
    for seq in seqs:
        x, y = seq[:-1], seq[1:]
        for end in range(len(x), 0, -max_len):
            start = max(0, end - max_len)
            row_x = np.full(max_len, pad_id, dtype=np.int64)
            row_y = np.full(max_len, pad_id, dtype=np.int64)
            row_x[max_len - (end - start) :] = x[start:end]
            row_y[max_len - (end - start) :] = y[start:end]
            inputs.append(row_x)
            targets.append(row_y)
    if not inputs:
        raise ValueError("no sequence has 2 or more items: there is nothing to predict")
    return np.stack(inputs), np.stack(targets)


class MarkovChain:
    """First-order Markov baseline: the next item is scored by transition counts.

    ``fit`` counts, over every sequence, how often item ``j`` directly follows item
    ``i``. ``score(previous_item_ids)`` returns the counts of the row of each previous
    item, plus ``popularity_j / (max popularity + 1)``, a number below 1 that breaks
    ties (among the many items never seen after ``i``) by popularity without ever
    overturning a count.
    """

    def fit(self, sequences: Sequence[np.ndarray], num_items: int) -> MarkovChain:
        """Count the transitions ``i -> j`` and the items' frequencies.

        Args:
            sequences: list of 1-D int arrays of item ids (oldest first).
            num_items: catalogue size; every id must be below it.

        Returns:
            ``self``, with ``transitions_`` (a ``(num_items, num_items)`` CSR matrix
            of counts) and ``popularity_`` (occurrences of each item).
        """
        seqs = _check_sequences(sequences)
        num_items = check_int(num_items, "num_items", low=1)
        flat = np.concatenate(seqs) if seqs else np.zeros(0, dtype=np.int64)
        if flat.size and flat.max() >= num_items:
            raise ValueError(
                f"item ids must lie in [0, {num_items}); got up to {flat.max()}"
            )
        prev = np.concatenate([s[:-1] for s in seqs]) if seqs else flat
        nxt = np.concatenate([s[1:] for s in seqs]) if seqs else flat
        self.num_items = num_items
        self.transitions_ = sp.csr_matrix(
            (np.ones(len(prev), dtype=np.float64), (prev, nxt)),
            shape=(num_items, num_items),
        )  # duplicates are summed: counts
        self.popularity_ = np.bincount(flat, minlength=num_items).astype(np.float64)
        return self

    def score(self, previous_item_ids: Any) -> np.ndarray:
        """Scores of every item as the next one after each given item.

        Args:
            previous_item_ids: int array-like, each user's last item.

        Returns:
            ``(len(previous_item_ids), num_items)`` float array: counts plus the
            popularity tie-break.
        """
        if not hasattr(self, "transitions_"):
            raise ValueError("call fit(sequences, num_items) before score")
        prev = np.asarray(previous_item_ids).reshape(-1)
        if prev.size and (
            not np.issubdtype(prev.dtype, np.integer)
            or prev.min() < 0
            or prev.max() >= self.num_items
        ):
            raise ValueError(
                f"previous_item_ids must be integer ids in [0, {self.num_items})"
            )
        tie_break = self.popularity_ / (self.popularity_.max() + 1.0)
        return self.transitions_[prev].toarray() + tie_break[None, :]


def _check_targets(target_items: Any, n: int | None, num_items: int) -> np.ndarray:
    t = np.asarray(target_items).reshape(-1)
    if t.size and not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"target_items must be integer ids; got dtype {t.dtype}")
    if n is not None and len(t) != n:
        raise ValueError(f"target_items must hold {n} ids (one per row); got {len(t)}")
    if t.size and (t.min() < 0 or t.max() >= num_items):
        raise ValueError(f"target_items must lie in [0, {num_items})")
    return t.astype(np.int64)


def _dense_exclusion(exclude: Any, shape: tuple[int, int]) -> np.ndarray:
    if exclude is None:
        return np.zeros(shape, dtype=bool)
    if sp.issparse(exclude):
        ex = sp.csr_matrix(exclude)
        if ex.shape != shape:
            raise ValueError(f"exclude must have shape {shape}; got {ex.shape}")
        return ex.toarray() != 0
    arr = np.asarray(exclude)
    if arr.shape != shape:
        raise ValueError(f"exclude must have shape {shape}; got {arr.shape}")
    return arr.astype(bool)


def sample_negatives(
    target_items: Any,
    exclude: Any,
    num_negatives: int = 100,
    seed: int = 0,
) -> np.ndarray:
    """Draw, for each row, negatives uniformly among the items it may be shown.

    The SASRec protocol: for each user, ``num_negatives`` items drawn uniformly
    without replacement among the items that are neither the target nor in the
    user's history. Draw once and rank every model against the same negatives.

    Args:
        target_items: ``(n,)`` int array, the held-out item of each row.
        exclude: ``(n, num_items)`` sparse or boolean matrix of each row's history
            (non-zero = never a negative).
        num_negatives: negatives per row (positive int, at most the number of
            allowed items of every row).
        seed: seed of ``np.random.default_rng``.

    Returns:
        int64 array ``(n, num_negatives)`` of item ids, none of them the target or
        excluded.
    """
    num_negatives = check_int(num_negatives, "num_negatives", low=1)
    if exclude is None or not hasattr(exclude, "shape") or len(exclude.shape) != 2:
        raise ValueError("exclude must be a (n, num_items) sparse or boolean matrix")
    n, num_items = exclude.shape
    targets = _check_targets(target_items, n, num_items)
    banned = _dense_exclusion(exclude, (n, num_items))
    banned[np.arange(n), targets] = True
    allowed = (~banned).sum(axis=1)
    if n and allowed.min() < num_negatives:
        raise ValueError(
            f"num_negatives={num_negatives} is more than the {allowed.min()} items "
            f"row {int(np.argmin(allowed))} may be shown"
        )
    rng = np.random.default_rng(seed)
    # uniform keys, banned items pushed to the end: the first num_negatives of a
    # row's order are a uniform sample without replacement of its allowed items
    keys = rng.random((n, num_items)) + banned
    return np.argsort(keys, axis=1, kind="stable")[:, :num_negatives].astype(np.int64)


def _ranks_among(scores_target, target, cand_scores, cand_ids, banned=None):
    """0-based rank of the target among candidates (lower id first on ties)."""
    higher = cand_scores > scores_target[:, None]
    tied_before = (cand_scores == scores_target[:, None]) & (cand_ids < target[:, None])
    above = higher | tied_before
    if banned is not None:
        above &= ~banned
    return above.sum(axis=1).astype(np.int64)


def _check_rank_scores(scores: Any) -> np.ndarray:
    """A 2-D float score array without NaN: a NaN compares false with everything, so
    a NaN target would count nobody above it and get rank 0 (a perfect hit)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D (n, num_items); got shape {s.shape}")
    nan = np.isnan(s)
    if nan.any():
        row, col = (int(x[0]) for x in np.nonzero(nan))
        raise ValueError(
            f"scores must not contain NaN; row {row} has NaN at item {col} "
            f"({int(nan.sum())} NaN in all): a NaN ranks nowhere, and a NaN target "
            "would look ranked first. Check the model that produced the scores"
        )
    return s


def sampled_ranks(scores: Any, target_items: Any, negatives: Any) -> np.ndarray:
    """Rank of each target among its sampled negatives (0 = ranked first).

    Args:
        scores: ``(n, num_items)`` score array, higher is better.
        target_items: ``(n,)`` int array of held-out items.
        negatives: ``(n, num_negatives)`` int array from :func:`sample_negatives`.

    Returns:
        int64 array ``(n,)``: the number of negatives ranked above the target (a
        negative with an equal score ranks above it when its id is lower).

    Raises:
        ValueError: NaN in ``scores`` (the message names the row and the item), a
            score array that is not 2-D, targets or negatives out of range.
    """
    s = _check_rank_scores(scores)
    n, num_items = s.shape
    targets = _check_targets(target_items, n, num_items)
    neg = np.asarray(negatives)
    if neg.ndim != 2 or neg.shape[0] != n or not np.issubdtype(neg.dtype, np.integer):
        raise ValueError(
            f"negatives must be an int array with {n} rows; got {neg.dtype} {neg.shape}"
        )
    if neg.size and (neg.min() < 0 or neg.max() >= num_items):
        raise ValueError(f"negatives must lie in [0, {num_items})")
    rows = np.arange(n)
    return _ranks_among(
        s[rows, targets], targets, np.take_along_axis(s, neg, axis=1), neg
    )


def full_ranks(scores: Any, target_items: Any, exclude: Any = None) -> np.ndarray:
    """Rank of each target among the whole catalogue (0 = ranked first).

    Excluded items (the user's history) are not candidates; the ranking rule is
    that of :func:`recsys_utils.evaluation.topk_from_scores`, so ``rank < k`` exactly
    when the target is in the top-k list.

    Args:
        scores: ``(n, num_items)`` score array, higher is better.
        target_items: ``(n,)`` int array of held-out items.
        exclude: optional ``(n, num_items)`` sparse or boolean matrix of items that
            are not candidates (the target itself is never excluded).

    Returns:
        int64 array ``(n,)``.

    Raises:
        ValueError: NaN in ``scores`` (the message names the row and the item), a
            score array that is not 2-D, targets out of range, a bad ``exclude``.
    """
    s = _check_rank_scores(scores)
    n, num_items = s.shape
    targets = _check_targets(target_items, n, num_items)
    banned = _dense_exclusion(exclude, (n, num_items))
    banned[np.arange(n), targets] = False
    scores_target = s[np.arange(n), targets]
    return _ranks_among(scores_target, targets, s, np.arange(num_items), banned)


def rank_metrics(ranks: Any, k: int = 10) -> dict[str, float]:
    """HitRate@k and NDCG@k of single held-out items from their 0-based ranks.

    With one relevant item, HitRate@k = Recall@k = ``1[rank < k]`` and
    NDCG@k = ``1 / log2(rank + 2)`` when ``rank < k``, else 0.

    Args:
        ranks: int array ``(n,)`` of 0-based ranks.
        k: cut-off (positive int).

    Returns:
        ``{"hit_rate@k": mean, "ndcg@k": mean}``.

    Raises:
        ValueError: an empty or non-1-D ``ranks``, a NaN, infinite, fractional or
            negative rank (the message names the value and its position).
    """
    k = check_int(k, "k", low=1)
    r = np.asarray(ranks)
    if r.ndim != 1 or r.size == 0:
        raise ValueError(
            f"ranks must be a non-empty 1-D array of 0-based ranks; got shape {r.shape}"
        )
    if not np.issubdtype(r.dtype, np.integer):
        r = check_finite(r, "ranks")  # names a NaN or an infinity and its position
        frac = r != np.floor(r)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise ValueError(
                f"ranks must be whole numbers (0-based ranks); got {r[i]!r} at "
                f"position {i}"
            )
        r = r.astype(np.int64)
    if r.min() < 0:
        i = int(np.argmin(r))
        raise ValueError(f"ranks must be >= 0; got {r[i]} at position {i}")
    hit = r < k
    ndcg = np.where(hit, 1.0 / np.log2(r + 2.0), 0.0)
    return {f"hit_rate@{k}": float(hit.mean()), f"ndcg@{k}": float(ndcg.mean())}


# ---------------------------------------------------------------------------
# MovieLens-100K: the next-item protocol
# ---------------------------------------------------------------------------


def _split_leave_last_out(ml: Any, seed: int, valid_frac: float):
    """Leave-last-out by timestamp: test = each user's last rating, valid = the one
    before it; train = the rest plus valid, fit = the rest. No randomness, and
    ``valid_frac`` is not used: one rating per user is held out at each level."""
    del seed, valid_frac
    from .splits import leave_last_out

    ratings = ml.ratings[["user_id", "item_id", "rating", "timestamp"]]
    parts = leave_last_out(ratings, num_valid=1, num_test=1)
    train = pd.concat([parts.train, parts.valid]).sort_values(
        ["user_id", "timestamp"], kind="stable"
    )
    return (
        train.reset_index(drop=True),
        parts.test.reset_index(drop=True),
        parts.train.reset_index(drop=True),
        parts.valid.reset_index(drop=True),
    )


def _leave_last_out_protocol():
    from .protocols import Protocol
    from .published import FIGURES

    return Protocol(
        name="leave-last-out",
        title="MovieLens-100K, leave-last-out by time: the next rating, full ranking",
        task="ranking",
        k=10,
        metrics=("recall@10", "ndcg@10"),
        description=(
            "recsys_utils.splits.leave_last_out(ratings, num_valid=1, num_test=1): "
            "each user's ratings sorted by timestamp (ties keep the file's order); "
            "the last one to test, the one before it to valid (train = fit + "
            "valid). Every rating is an interaction. Each user's top 10 over the "
            "catalogue minus their training items; with one held-out item, "
            "recall@10 is the hit rate. The published SASRec figures are sampled "
            "metrics (100 negatives) on MovieLens-1M: not comparable."
        ),
        published=FIGURES["leave-last-out"],
        _split=_split_leave_last_out,
    )


#: MovieLens-100K's next-item protocol (chapter 6): leave-last-out by timestamp,
#: full-catalogue ranking; ``LEAVE_LAST_OUT.split(ml)`` gives fit / valid / train /
#: test, ``evaluate`` and ``report`` work as for the protocols of
#: :mod:`recsys_utils.protocols`.
LEAVE_LAST_OUT = _leave_last_out_protocol()
