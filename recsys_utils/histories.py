"""Purchase histories as model inputs: one function, one padding convention.

A model that reads a shopper's history (chapter 3's pooled history in the user tower,
chapter 4's attention over the history) needs, for every training purchase, the
purchases before it, and, for serving, each shopper's latest purchases. Both come
from :func:`purchase_histories` (time order) or :func:`profile_histories` (no order:
for splits whose held-out items are random), as one :class:`Histories`.

**The padding convention** (the same as :func:`recsys_utils.sequential.pad_sequences`
with ``pad_id=num_items``): a history row holds at most ``hist_len`` item ids,
right-aligned (the most recent purchase in the last column), and the slots on the left
that no purchase fills hold ``num_items``, an id no item has: the padding row of an
embedding table of ``num_items + 1`` rows. The boolean ``mask`` (``True`` = a real
purchase) says the same thing, for models that mask rather than look up a padding
row; ``mask == (history != num_items)`` always.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from .validation import as_ids, check_frame, check_int

__all__ = ["Histories", "purchase_histories", "profile_histories"]


class Histories(NamedTuple):
    """Training examples with their histories, and each user's serving history.

    Padding: see the module docstring (``num_items``, on the left).

    Attributes:
        user_ids: ``(n,)`` int64, the user of each training example.
        item_ids: ``(n,)`` int64, the item of each example (the positive).
        history: ``(n, hist_len)`` int64, the example's history, padded.
        mask: ``(n, hist_len)`` bool, ``True`` = a real slot of ``history``.
        negatives: ``(n, num_neg)`` int64, items drawn uniformly from the catalogue
            for each example (``num_neg = 0``: shape ``(n, 0)``).
        serve_history: ``(num_users, hist_len)`` int64, each user's history at
            serving time, padded (a user without rows: all padding).
        serve_mask: ``(num_users, hist_len)`` bool, ``True`` = a real slot.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    history: np.ndarray
    mask: np.ndarray
    negatives: np.ndarray
    serve_history: np.ndarray
    serve_mask: np.ndarray


def _check_frame(
    df: Any, columns: tuple[str, ...], num_users: int, num_items: int
) -> pd.DataFrame:
    check_frame(df, columns)
    as_ids(df["user_id"], "df['user_id']", num_users)
    as_ids(df["item_id"], "df['item_id']", num_items)
    return df


def _right_aligned(
    items: np.ndarray, start: np.ndarray, end: np.ndarray, hist_len: int, pad: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows holding ``items[max(start, end - hist_len) : end]``, right-aligned.

    Args:
        items: the item of every row of the sorted frame.
        start, end: per output row, the slice of ``items`` it may hold.
        hist_len: columns.
        pad: the padding id.

    Returns:
        ``(history, mask)``, both ``(len(start), hist_len)``.
    """
    window = end[:, None] - hist_len + np.arange(hist_len)  # (rows, hist_len)
    mask = window >= start[:, None]
    safe = window.clip(0, max(len(items) - 1, 0))
    history = np.where(mask, items[safe] if len(items) else pad, pad)
    return history.astype(np.int64), mask


def _negatives(num_items: int, n: int, num_neg: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, num_items, (n, num_neg)).astype(np.int64)


def purchase_histories(
    df: pd.DataFrame,
    num_users: int,
    num_items: int,
    hist_len: int = 20,
    *,
    min_history: int = 1,
    num_neg: int = 0,
    seed: int = 0,
) -> Histories:
    """Each purchase with the purchases before it, and each user's latest purchases.

    Rows are sorted by user, then ``timestamp`` (stable: equal timestamps keep the
    frame's order). The purchase at position ``t`` of a user's sequence is a
    training example whose history is the up to ``hist_len`` purchases at
    positions ``t - hist_len .. t - 1``: the model never sees the answer, or the
    future, among its inputs. Purchases with fewer than ``min_history`` earlier
    purchases give no example (``min_history=1``, the default, drops each user's
    first purchase, whose history would be empty: attention over an empty history
    is 0/0; a mean-pooled history can take ``min_history=0``). At serving time a
    user's history is their last ``hist_len`` purchases. Padding: ``num_items``, on
    the left (see the module docstring). With ``num_neg > 0`` every example also
    gets ``num_neg`` negatives drawn uniformly from the catalogue
    (``np.random.default_rng(seed).integers``; a simplification: a negative may be
    an item the user bought). Taught in chapter 3 ("Features of the two towers")
    and chapter 4 ("Attention over the history").

    Args:
        df: purchases with columns ``user_id``, ``item_id``, ``timestamp``.
        num_users: users in the catalogue; ``user_id`` in ``[0, num_users)``.
        num_items: items in the catalogue; ``item_id`` in ``[0, num_items)``; also
            the padding id.
        hist_len: the longest history, >= 1.
        min_history: the fewest earlier purchases an example needs, >= 0.
        num_neg: negatives per example, >= 0.
        seed: seed of the negatives.

    Returns:
        a :class:`Histories`; examples grouped by user, in time order.

    Raises:
        ValueError: a missing column, an empty frame, an id out of range or not a
            whole number, a bad ``hist_len``, ``min_history``, ``num_neg`` or
            ``seed``.
    """
    num_users = check_int(num_users, "num_users", low=1)
    num_items = check_int(num_items, "num_items", low=1)
    hist_len = check_int(hist_len, "hist_len", low=1)
    min_history = check_int(min_history, "min_history", low=0)
    num_neg = check_int(num_neg, "num_neg", low=0)
    seed = check_int(seed, "seed", low=0)
    df = _check_frame(df, ("user_id", "item_id", "timestamp"), num_users, num_items)
    seq = df.sort_values(["user_id", "timestamp"], kind="stable")
    users = as_ids(seq["user_id"], "df['user_id']", num_users)  # (N,) by user, time
    items = as_ids(seq["item_id"], "df['item_id']", num_items)
    first = np.searchsorted(users, users)  # (N,) row of each user's first purchase
    row = np.arange(len(items))
    history, mask = _right_aligned(items, first, row, hist_len, num_items)
    keep = row - first >= min_history
    all_users = np.arange(num_users)
    serve_history, serve_mask = _right_aligned(
        items,
        np.searchsorted(users, all_users),
        np.searchsorted(users, all_users, side="right"),
        hist_len,
        num_items,
    )
    return Histories(
        users[keep],
        items[keep],
        history[keep],
        mask[keep],
        _negatives(num_items, int(keep.sum()), num_neg, seed),
        serve_history,
        serve_mask,
    )


def profile_histories(
    df: pd.DataFrame,
    num_users: int,
    num_items: int,
    hist_len: int = 100,
    *,
    num_neg: int = 0,
    seed: int = 0,
) -> Histories:
    """A random sample of each user's *other* items per example, and of all of them.

    The order-free twin of :func:`purchase_histories`, for splits whose held-out
    items are random rather than the latest (a per-user or per-item random split):
    there "the purchases before it" would ignore most of what the user is known to
    like. Each user's items are shuffled (seeded); the history of the example at
    position ``p`` of the shuffle is the next ``min(hist_len, n - 1)`` items of the
    shuffle, cyclically: a uniformly random subset of the user's other items, never
    the example's own item. At serving time a user's history is the first
    ``min(hist_len, n)`` items of their shuffle. Padding: ``num_items``, on the left,
    as in :func:`purchase_histories`. Every row gives an example (a user with one
    item: an all-padding history). Taught in chapter 3 ("MovieLens-100K").

    Args:
        df: training rows with columns ``user_id`` and ``item_id``; a user should
            not repeat an item.
        num_users: users in the catalogue; ``user_id`` in ``[0, num_users)``.
        num_items: items in the catalogue; ``item_id`` in ``[0, num_items)``; also
            the padding id.
        hist_len: items kept per history, >= 1.
        num_neg: negatives per example, >= 0 (drawn as in
            :func:`purchase_histories`, after the shuffles).
        seed: seed of the shuffles and of the negatives.

    Returns:
        a :class:`Histories`; examples grouped by user, shuffled within a user.

    Raises:
        ValueError: a missing column, an empty frame, an id out of range or not a
            whole number, a bad ``hist_len``, ``num_neg`` or ``seed``.
    """
    num_users = check_int(num_users, "num_users", low=1)
    num_items = check_int(num_items, "num_items", low=1)
    hist_len = check_int(hist_len, "hist_len", low=1)
    num_neg = check_int(num_neg, "num_neg", low=0)
    seed = check_int(seed, "seed", low=0)
    df = _check_frame(df, ("user_id", "item_id"), num_users, num_items)
    users = as_ids(df["user_id"], "df['user_id']", num_users)
    items = as_ids(df["item_id"], "df['item_id']", num_items)
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(users)), users))  # by user, shuffled within
    users, items = users[order], items[order]
    first = np.searchsorted(users, np.arange(num_users), side="left")
    count = np.searchsorted(users, np.arange(num_users), side="right") - first
    start, n = first[users], count[users]  # per example: its user's block
    position = np.arange(len(users)) - start
    real = np.minimum(n - 1, hist_len)  # (N,) real slots of each example
    slots = np.arange(hist_len)[None, :] - (hist_len - real)[:, None]  # (N, hist_len)
    mask = slots >= 0  # the real slots are the last `real` ones
    nxt = start[:, None] + (position[:, None] + 1 + slots.clip(0)) % n[:, None]
    history = np.where(mask, items[nxt] if len(items) else num_items, num_items)
    # serving: the first min(hist_len, count) items of the user's shuffle
    serve_history, serve_mask = _right_aligned(
        items, first, first + np.minimum(count, hist_len), hist_len, num_items
    )
    negatives = rng.integers(0, num_items, (len(users), num_neg)).astype(np.int64)
    return Histories(
        users,
        items,
        history.astype(np.int64),
        mask,
        negatives,
        serve_history,
        serve_mask,
    )
