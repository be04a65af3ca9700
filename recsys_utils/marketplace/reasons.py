"""Why a shopper would buy an item: the true reasons, read from the generator's hidden
state (chapter 8).

The generator's utility is ``u_ui = taste_u . attr_i + b_i + eps`` (``book/data.md``):
each attribute value of an item adds the shopper's taste weight for that value. A
reason is *true* for a (shopper, item) pair when it is one of the causes the generator
used:

* an **attribute reason** ``"colour=red"``: the item is red and red raises this
  shopper's utility by at least ``min_gain`` over the average colour, that is
  ``taste[u, red] - mean_c taste[u, c] >= min_gain`` (the same for category, style,
  pattern, material and price band);
* a **complement reason** ``"complement=shoes"``: on a marketplace made with
  ``sequential=True``, a purchase follows the one before it as a *complement* (a
  category of :data:`COMPLEMENTS`, in the same style). The next item a shopper buys
  "goes with your shoes" when their last purchase is a pair of shoes and the item is
  in a complementary category and in the shoes' style. Without the sequential signal
  the generator plants no complement, and no complement reason is true.

:func:`known_facts` says what is true *of* the pair without being a reason (the item
is red; the shopper bought shoes and the item's category goes with shoes): a claim
outside these facts is a hallucination (:mod:`recsys_utils.explain`).

Every reason has a name in :data:`REASON_NAMES`; the functions return boolean
matrices with one column per name, in that order.
"""

from __future__ import annotations

import numpy as np

from ..validation import as_ids, check_number
from .spec import (
    _BLOCKS,
    _OFFSETS,
    CATEGORIES,
    COLOURS,
    COMPLEMENTS,
    MATERIALS,
    PATTERNS,
    PRICE_BANDS,
    STYLES,
)

__all__ = [
    "ATTRIBUTE_BLOCKS",
    "MIN_GAIN",
    "REASON_NAMES",
    "attribute_codes",
    "true_reasons",
    "known_facts",
    "reason_sets",
]

#: The attribute blocks a reason can name, in the generator's order.
ATTRIBUTE_BLOCKS = tuple(name for name, _ in _BLOCKS)
_VALUES = {
    "category": CATEGORIES,
    "colour": COLOURS,
    "style": STYLES,
    "pattern": PATTERNS,
    "material": MATERIALS,
    "price_band": PRICE_BANDS,
}
#: The smallest gain in true utility (over the attribute's average value) that makes
#: an attribute value a reason: larger than the utility noise's standard deviation
#: (0.3), about one step of the purchase funnel's slope.
MIN_GAIN = 0.5
#: Every reason's name: ``"category=tops"``, ..., ``"price_band=premium"`` (the
#: attribute reasons, block by block), then ``"complement=tops"``, ... (the item goes
#: with the shopper's last purchase, a top).
REASON_NAMES = tuple(
    f"{block}={value}" for block in ATTRIBUTE_BLOCKS for value in _VALUES[block]
) + tuple(f"complement={c}" for c in CATEGORIES)
_NUM_ATTRIBUTE_REASONS = int(_OFFSETS[len(_BLOCKS)])
_COMPLEMENT_TABLE = np.array(
    [[other in COMPLEMENTS[c] for other in CATEGORIES] for c in CATEGORIES]
)  # [c, c']: an item of category c' goes with a purchase of category c


def attribute_codes(marketplace) -> np.ndarray:
    """The value index of every item in each attribute block.

    Args:
        marketplace: a :class:`~recsys_utils.marketplace.Marketplace`.

    Returns:
        int64 array ``(num_items, 6)``: column ``b`` is the index of the item's value
        in block ``ATTRIBUTE_BLOCKS[b]`` (``0`` = the first value of
        :data:`~recsys_utils.marketplace.COLOURS` for the colour, ...).
    """
    items = marketplace.items
    return np.stack(
        [items[b].cat.codes.to_numpy().astype(np.int64) for b in ATTRIBUTE_BLOCKS],
        axis=1,
    )


def _pairs(marketplace, user_ids, item_ids, history):
    users = as_ids(user_ids, "user_ids", marketplace.num_users)
    items = as_ids(item_ids, "item_ids", marketplace.num_items)
    if len(users) != len(items):
        raise ValueError(
            "user_ids and item_ids must hold one entry per pair; got "
            f"{len(users)} users and {len(items)} items"
        )
    hist = np.asarray(history)
    if hist.ndim != 2 or hist.shape[0] != len(users):
        raise ValueError(
            f"history must be a 2-D array with one row per pair ({len(users)} rows); "
            f"got shape {hist.shape}"
        )
    pad = marketplace.num_items
    flat = as_ids(hist.reshape(-1), "history", pad + 1)  # num_items = padding
    hist = flat.reshape(hist.shape)
    if len(users) and (hist[:, -1] == pad).any():
        row = int(np.flatnonzero(hist[:, -1] == pad)[0])
        raise ValueError(
            "history must be padded on the LEFT with num_items and hold at least one "
            f"purchase per row; row {row} ends with padding"
        )
    return users, items, hist


def true_reasons(
    marketplace, user_ids, item_ids, history, *, min_gain: float = MIN_GAIN
) -> np.ndarray:
    """The true reasons of each (shopper, item) pair, from the generator's state.

    Args:
        marketplace: a :class:`~recsys_utils.marketplace.Marketplace`.
        user_ids: one shopper per pair (int array-like).
        item_ids: one item per pair.
        history: ``(num_pairs, L)`` int array, the shopper's purchases before the
            item, oldest first, padded on the left with ``num_items``; its last
            column is the last purchase (every row holds at least one).
        min_gain: the smallest utility gain of an attribute reason (see the module).

    Returns:
        bool array ``(num_pairs, len(REASON_NAMES))``: ``True`` where the reason is
        one of the generator's causes for the pair.

    Raises:
        ValueError: ids out of range, lengths that differ, a history row without a
            purchase or not padded on the left, a negative ``min_gain``.
    """
    users, items, hist = _pairs(marketplace, user_ids, item_ids, history)
    min_gain = check_number(min_gain, "min_gain", low=0)
    taste = marketplace.truth.user_factors[users, :_NUM_ATTRIBUTE_REASONS]
    codes = attribute_codes(marketplace)
    out = np.zeros((len(users), len(REASON_NAMES)), dtype=bool)
    rows = np.arange(len(users))
    for b in range(len(ATTRIBUTE_BLOCKS)):
        lo, hi = int(_OFFSETS[b]), int(_OFFSETS[b + 1])
        block = taste[:, lo:hi]
        value = codes[items, b]
        gain = block[rows, value] - block.mean(axis=1)
        out[rows, lo + value] = gain >= min_gain
    if marketplace.sequential and len(users):
        last = hist[:, -1]
        category, style = codes[:, 0], codes[:, 2]
        goes = _COMPLEMENT_TABLE[category[last], category[items]] & (
            style[last] == style[items]
        )
        out[rows[goes], _NUM_ATTRIBUTE_REASONS + category[last[goes]]] = True
    return out


def known_facts(marketplace, item_ids, history) -> np.ndarray:
    """What is true *of* each (shopper, item) pair, reason or not.

    ``"colour=red"`` is a fact when the item is red; ``"complement=shoes"`` when the
    shopper's history holds a purchase of shoes and the item's category goes with
    shoes (:data:`COMPLEMENTS`). A claim outside the facts is a hallucination; every
    true reason is a fact.

    Args:
        marketplace: a :class:`~recsys_utils.marketplace.Marketplace`.
        item_ids: one item per pair (int array-like).
        history: ``(num_pairs, L)`` purchases before the item, padded on the left
            with ``num_items`` (see :func:`true_reasons`).

    Returns:
        bool array ``(num_pairs, len(REASON_NAMES))``.

    Raises:
        ValueError: ids out of range, a history of the wrong shape or without a
            purchase in a row.
    """
    items = as_ids(item_ids, "item_ids", marketplace.num_items)
    _, items, hist = _pairs(marketplace, np.zeros(len(items), np.int64), items, history)
    codes = attribute_codes(marketplace)
    out = np.zeros((len(items), len(REASON_NAMES)), dtype=bool)
    rows = np.arange(len(items))
    for b in range(len(ATTRIBUTE_BLOCKS)):
        out[rows, int(_OFFSETS[b]) + codes[items, b]] = True
    pad = marketplace.num_items
    category = np.append(codes[:, 0], -1)  # the padding has no category
    bought = np.zeros((len(items), len(CATEGORIES)), dtype=bool)
    for c in range(len(CATEGORIES)):
        bought[:, c] = (category[np.minimum(hist, pad)] == c).any(axis=1)
    goes_with = _COMPLEMENT_TABLE[:, codes[items, 0]].T  # (n, categories)
    out[:, _NUM_ATTRIBUTE_REASONS:] = bought & goes_with
    return out


def reason_sets(matrix) -> list[frozenset[str]]:
    """The names of the ``True`` columns of each row: a reason matrix as sets.

    Args:
        matrix: bool array ``(n, len(REASON_NAMES))``.

    Returns:
        A list of ``n`` frozensets of reason names.

    Raises:
        ValueError: a matrix of another width or not 2-D.
    """
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[1] != len(REASON_NAMES):
        raise ValueError(
            f"matrix must be (n, {len(REASON_NAMES)}), one column per reason name; "
            f"got shape {m.shape}"
        )
    names = np.asarray(REASON_NAMES, dtype=object)
    return [frozenset(names[row.astype(bool)]) for row in m]
