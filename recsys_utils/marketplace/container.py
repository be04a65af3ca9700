"""The container of a generated marketplace and its summary statistics."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..evaluation import to_csr
from ..metrics import gini_index
from .spec import ATTRIBUTE_VISIBILITY
from .truth import Truth


@dataclass
class Marketplace:
    """A generated marketplace: catalogue, images, users, interactions and truth.

    Attributes:
        items: one row per item: ``item_id, category, colour, style, pattern,
            material, price_band, brand, price, title, description``. ``pattern``
            appears only in the image, never in the text.
        images: ``uint8`` array ``(num_items, 32, 32, 3)``.
        users: ``user_id, segment, activity`` (``low``/``medium``/``high``).
        interactions: ``user_id, item_id, timestamp, event, rating``; one row per
            (user, item) pair with the furthest funnel stage reached (``view`` <
            ``click`` < ``purchase``); ``rating`` is 1-5 for purchases, NaN otherwise.
            Sorted by user then time; timestamps strictly increase within a user.
        truth: the hidden :class:`Truth`.
        cold_items: ids of the cold-start items: none of their interactions happens
            before ``cold_start_time``.
        cold_start_time: the cut-off timestamp (seconds) of the cold-start rule.
        seed: the seed used.
        size: the size name (or ``"custom"``).
        attribute_visibility: where each attribute can be seen
            (:data:`ATTRIBUTE_VISIBILITY`).
        sequential: whether the sequential signal was planted (complements follow
            purchases; see :func:`make_marketplace`).
    """

    items: pd.DataFrame
    images: np.ndarray
    users: pd.DataFrame
    interactions: pd.DataFrame
    truth: Truth
    cold_items: np.ndarray
    cold_start_time: int
    seed: int
    size: str
    attribute_visibility: dict = field(
        default_factory=lambda: dict(ATTRIBUTE_VISIBILITY)
    )
    sequential: bool = False

    @property
    def num_users(self) -> int:
        """Number of users."""
        return len(self.users)

    @property
    def num_items(self) -> int:
        """Number of items."""
        return len(self.items)

    @property
    def purchases(self) -> pd.DataFrame:
        """The purchases (explicit feedback), with their ratings."""
        df = self.interactions
        return df[df["event"] == "purchase"].reset_index(drop=True)

    def interaction_matrix(
        self, kind: str = "any", value: str | None = None
    ) -> sp.csr_matrix:
        """Users x items sparse matrix of the observed interactions.

        Args:
            kind: ``"any"`` (every event) or ``"purchase"`` (purchases only).
            value: ``None`` for 1.0 per observed pair, or ``"rating"`` (only with
                ``kind="purchase"``).

        Returns:
            ``scipy.sparse.csr_matrix`` of shape ``(num_users, num_items)``.
        """
        if kind not in ("any", "purchase"):
            raise ValueError(f"kind must be 'any' or 'purchase'; got {kind!r}")
        if value not in (None, "rating"):
            raise ValueError(f"value must be None or 'rating'; got {value!r}")
        if value == "rating" and kind != "purchase":
            raise ValueError(
                "value='rating' needs kind='purchase' (only purchases are rated)"
            )
        df = self.purchases if kind == "purchase" else self.interactions
        return to_csr(df, self.num_users, self.num_items, value_col=value)

    def describe(self) -> pd.Series:
        """Summary statistics of the observed data.

        Returns:
            ``pd.Series`` with num_users, num_items, num_interactions,
            num_purchases, density, interactions per user (mean/median/min),
            purchases per user (min), interactions per item (mean/median/min),
            share of interactions on the top 20% items, Gini of item popularity,
            share of users buying in >= 3 categories, cold-start share.
        """
        return describe_interactions(
            self.interactions,
            self.num_users,
            self.num_items,
            item_category=self.items["category"].to_numpy(),
            num_cold_items=len(self.cold_items),
        )


def describe_interactions(
    interactions: pd.DataFrame,
    num_users: int,
    num_items: int,
    item_category=None,
    num_cold_items: int | None = None,
) -> pd.Series:
    """Summary statistics of an interaction log (used by :meth:`Marketplace.describe`).

    Args:
        interactions: frame with ``user_id``, ``item_id`` and optionally ``event``.
        num_users: number of users (density denominator).
        num_items: number of items.
        item_category: optional per-item category labels, for the cross-category share.
        num_cold_items: optional number of cold-start items.

    Returns:
        ``pd.Series`` of statistics (see :meth:`Marketplace.describe`).
    """
    users = interactions["user_id"].to_numpy()
    items = interactions["item_id"].to_numpy()
    n = len(interactions)
    per_user = np.bincount(users, minlength=num_users)
    per_item = np.bincount(items, minlength=num_items)
    top = np.sort(per_item)[::-1][: max(1, int(round(0.2 * num_items)))]
    out = {
        "num_users": num_users,
        "num_items": num_items,
        "num_interactions": n,
    }
    is_purchase = None
    if "event" in interactions.columns:
        is_purchase = (interactions["event"] == "purchase").to_numpy()
        out["num_purchases"] = int(is_purchase.sum())
    out.update(
        density=n / (num_users * num_items),
        interactions_per_user_mean=per_user.mean(),
        interactions_per_user_median=float(np.median(per_user)),
        interactions_per_user_min=int(per_user.min()),
    )
    if is_purchase is not None:
        out["purchases_per_user_min"] = int(
            np.bincount(users[is_purchase], minlength=num_users).min()
        )
    out.update(
        interactions_per_item_mean=per_item.mean(),
        interactions_per_item_median=float(np.median(per_item)),
        interactions_per_item_min=int(per_item.min()),
        top20_items_share=top.sum() / max(n, 1),
        item_gini=gini_index(per_item) if n else 0.0,
    )
    if item_category is not None and is_purchase is not None:
        cats = pd.factorize(np.asarray(item_category))[0]
        pairs = np.unique(users[is_purchase] * 1000 + cats[items[is_purchase]])
        ncat = np.bincount(pairs // 1000, minlength=num_users)
        out["share_users_3plus_categories"] = float(np.mean(ncat >= 3))
    if num_cold_items is not None:
        out["cold_start_share"] = num_cold_items / num_items
    return pd.Series(out, dtype=object)
