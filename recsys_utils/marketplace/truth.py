"""The hidden ground truth of a marketplace: true relevance, exposure, purchase and
next-item probabilities, and the true top items."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..evaluation import topk_from_scores
from ..validation import as_ids, check_int
from .spec import _BROWSE, _BUY, _CLICK, _OFFSETS, _SHELF_TEMP, _VIEW, _sigmoid


@dataclass
class Truth:
    """The hidden truth of a marketplace: ``relevance = user_factors @ item_factors.T``.

    Attributes:
        user_factors: ``(num_users, num_factors)`` taste weights; the last column is 1.
        item_factors: ``(num_items, num_factors)`` one-hot attributes; the last
            column is the item quality ``b_i``.
        factor_names: name of each factor column (``"colour=red"``, ...).
        user_leniency: ``(num_users,)`` rating offset of each user (ratings only).
        item_popularity: ``(num_items,)`` exposure weight ``pop_i`` (sums to 1).
        user_exposures: ``(num_users,)`` number of exposure draws of each user.
        follow_probability: the sequential signal's ``rho``: probability that a
            purchase after a shopper's first is a complement of the purchase before
            (``None`` when the marketplace was made without ``sequential=True``).
        complement_temperature: ``gamma``: a complement ``j`` of item ``i`` is drawn
            with probability proportional to ``exp(gamma r_uj)`` on its shelf.
        complement_matrix: ``(num_categories, num_categories)`` row-stochastic
            matrix: ``[c, c']`` is the probability that a complement of a purchase in
            category ``c`` is sought in category ``c'`` (:data:`COMPLEMENTS`).
        complements: the planted complement purchases, a frame with ``user_id``,
            ``item_id``, ``previous_item_id`` (the purchase it follows),
            ``replaced_item_id`` (the order-free purchase it replaced) and
            ``timestamp``: hidden, like the rest of the truth.
    """

    user_factors: np.ndarray
    item_factors: np.ndarray
    factor_names: tuple
    user_leniency: np.ndarray
    item_popularity: np.ndarray | None = None
    user_exposures: np.ndarray | None = None
    follow_probability: float | None = None
    complement_temperature: float | None = None
    complement_matrix: np.ndarray | None = None
    complements: pd.DataFrame | None = None

    @property
    def num_users(self) -> int:
        return self.user_factors.shape[0]

    @property
    def num_items(self) -> int:
        return self.item_factors.shape[0]

    def relevance(self, user_ids=None, item_ids=None) -> np.ndarray:
        """True expected utility ``E[u_ui] = taste_u . attr_i + b_i``.

        Args:
            user_ids: user ids (int array-like); ``None`` means all users.
            item_ids: item ids; ``None`` means the full catalogue.

        Returns:
            float64 array of shape ``(len(user_ids), len(item_ids))``.
        """
        users = _as_ids("user_ids", user_ids, self.num_users)
        items = _as_ids("item_ids", item_ids, self.num_items)
        return self.user_factors[users] @ self.item_factors[items].T

    def exposure_probability(self, user_ids=None) -> np.ndarray:
        """Probability that each item is exposed to each user at least once.

        Per draw an item is shown with probability ``q_ui = (1 - beta) pop_i +
        beta P(shelf_i | u) pop_i / pop(shelf_i)`` (shelf = category, style, colour;
        ``P(shelf | u)`` is a product of softmaxes of the user's taste), and the user
        gets ``n_u`` draws, so ``P(exposed) = 1 - (1 - q_ui)^n_u``.

        Args:
            user_ids: user ids; ``None`` means all users.

        Returns:
            ``(len(user_ids), num_items)`` float array in [0, 1].
        """
        users = _as_ids("user_ids", user_ids, self.num_users)
        pop = self.item_popularity
        f = self.item_factors
        taste = self.user_factors[users]
        shelf_p = np.ones((len(users), self.num_items))
        for b in (0, 1, 2):  # category, colour, style blocks
            lo, hi = _OFFSETS[b], _OFFSETS[b + 1]
            logits = _SHELF_TEMP * taste[:, lo:hi]
            sm = np.exp(logits - logits.max(axis=1, keepdims=True))
            sm /= sm.sum(axis=1, keepdims=True)
            shelf_p *= sm[:, np.argmax(f[:, lo:hi], axis=1)]
        key = f[:, _OFFSETS[0] : _OFFSETS[3]] @ (np.arange(_OFFSETS[3]) ** 2 + 1.0)
        _, inv = np.unique(key, return_inverse=True)
        shelf_mass = np.bincount(inv, weights=pop)[inv]
        q = (1 - _BROWSE) * pop + _BROWSE * shelf_p * pop / shelf_mass
        return 1.0 - (1.0 - q) ** self.user_exposures[users][:, None]

    def purchase_probability(self, user_ids=None) -> np.ndarray:
        """Probability of an observed purchase: exposure times the purchase funnel.

        ``P(buy) = P(exposed) * s_view(r) * s_click(r) * s_buy(r)`` at the expected
        utility ``r = relevance`` (the small utility noise and the minimum-purchase
        top-up are ignored). This is what observed data reflects: true relevance
        filtered by popularity-biased exposure.

        Args:
            user_ids: user ids; ``None`` means all users.

        Returns:
            ``(len(user_ids), num_items)`` float array in [0, 1].
        """
        r = self.relevance(user_ids)
        funnel = np.ones_like(r)
        for a, t in (_VIEW, _CLICK, _BUY):
            funnel *= _sigmoid(a * (r - t))
        return self.exposure_probability(user_ids) * funnel

    def true_topk(
        self, user_ids, k: int, exclude=None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` truly best items of each user, best first, with their relevance.

        Args:
            user_ids: user ids (int array-like).
            k: list length, ``1 <= k <= num_items``.
            exclude: optional items to leave out: a sparse or dense
                ``(num_users, num_items)`` matrix (non-zero = excluded, rows are
                indexed by ``user_ids``) or a boolean array of shape
                ``(len(user_ids), num_items)``.

        Returns:
            ``(item_ids, relevance)``: int64 and float64 arrays
            ``(len(user_ids), k)``, sorted by decreasing true relevance (ties:
            the lower item id first, the rule of
            :func:`recsys_utils.evaluation.topk_from_scores`); an excluded item
            (only when a user has fewer than ``k`` others) has relevance ``-inf``.
        """
        users = _as_ids("user_ids", user_ids, self.num_users)
        k = check_int(k, "k", low=1, high=self.num_items)
        rel = self.relevance(users)
        if exclude is not None:
            mask = _exclusion_mask(exclude, users, self.num_users, self.num_items)
            rel = np.where(mask, -np.inf, rel)
        return topk_from_scores(rel, k)

    # --- the sequential signal (make_marketplace(..., sequential=True)) -------------

    def _block_codes(self, block: int) -> np.ndarray:
        """Value index of each item in attribute block ``block`` (0 = category)."""
        lo, hi = _OFFSETS[block], _OFFSETS[block + 1]
        return np.argmax(self.item_factors[:, lo:hi], axis=1)

    def _users_and_previous(self, user_ids, previous_item_ids):
        if self.follow_probability is None:
            raise ValueError(
                "this marketplace has no sequential signal: generate it with "
                "make_marketplace(..., sequential=True)"
            )
        users = _as_ids("user_ids", user_ids, self.num_users)
        previous = _as_ids("previous_item_ids", previous_item_ids, self.num_items)
        if len(previous) != len(users):
            raise ValueError(
                "previous_item_ids must hold one item per user; got "
                f"{len(previous)} items for {len(users)} users"
            )
        return users, previous

    def complement_probability(
        self, user_ids, previous_item_ids, exclude=None
    ) -> np.ndarray:
        """``q(j | i, u)``: the probability that a planted complement of ``i`` is ``j``.

        The generator picks a complementary category ``c'`` of ``i``'s category with
        probability ``complement_matrix[c_i, c']``, then an item ``j`` of that
        category *in i's style* with probability proportional to
        ``exp(gamma r_uj)`` (``r`` = :meth:`relevance`) among the shelf's items the
        shopper may still buy. When no item of the shelf is left, no complement is
        planted, so a row may sum to less than 1.

        Args:
            user_ids: user ids (int array-like).
            previous_item_ids: the purchase each complement would follow, one per
                user (int array-like of the same length).
            exclude: optional items the shopper can no longer buy (already bought):
                a sparse or dense ``(num_users, num_items)`` matrix (non-zero =
                excluded, rows indexed by ``user_ids``) or a boolean array
                ``(len(user_ids), num_items)``. The generator excludes the
                shopper's purchases so far and those planned later.

        Returns:
            ``(len(user_ids), num_items)`` float array, rows summing to at most 1.

        Raises:
            ValueError: when the marketplace has no sequential signal, or on bad ids.
        """
        users, previous = self._users_and_previous(user_ids, previous_item_ids)
        category, style = self._block_codes(0), self._block_codes(2)
        rel = self.relevance(users)
        weight = np.exp(
            self.complement_temperature * (rel - rel.max(axis=1, keepdims=True))
        )
        if exclude is not None:
            mask = _exclusion_mask(exclude, users, self.num_users, self.num_items)
            weight = np.where(mask, 0.0, weight)
        weight = weight * (style[None, :] == style[previous][:, None])  # i's style
        num_categories = self.complement_matrix.shape[0]
        # total weight of each (row, category) shelf in i's style
        shelf = np.stack(
            [weight[:, category == c].sum(axis=1) for c in range(num_categories)],
            axis=1,
        )  # (n, num_categories)
        norm = shelf[:, category]  # (n, num_items): the shelf total of each item
        share = np.divide(weight, norm, out=np.zeros_like(weight), where=norm > 0)
        return self.complement_matrix[category[previous]][:, category] * share

    def next_item_probability(
        self, user_ids, previous_item_ids, exclude=None
    ) -> np.ndarray:
        """The transition truth: the distribution of a shopper's next purchase.

        ``P(next = j | previous = i, u) = rho q(j | i, u) + (1 - rho Q_iu) p_u(j)``
        where ``q`` is :meth:`complement_probability`, ``Q_iu`` its row total (1
        unless a shelf is empty) and ``p_u`` the order-free purchase: the shopper's
        :meth:`purchase_probability` normalised over the items they may still buy.
        The second part is an approximation (the generator draws the order-free
        purchases without replacement from the exposures); the first is exact up to
        the items excluded.

        Args:
            user_ids: user ids (int array-like).
            previous_item_ids: each shopper's last purchase (one per user).
            exclude: optional already-bought items (see
                :meth:`complement_probability`); they get probability 0.

        Returns:
            ``(len(user_ids), num_items)`` float array, rows summing to 1 (or 0
            when every item is excluded).

        Raises:
            ValueError: when the marketplace has no sequential signal, or on bad ids.
        """
        users, previous = self._users_and_previous(user_ids, previous_item_ids)
        q = self.complement_probability(users, previous, exclude=exclude)
        base = self.purchase_probability(users)
        if exclude is not None:
            mask = _exclusion_mask(exclude, users, self.num_users, self.num_items)
            base = np.where(mask, 0.0, base)
        total = base.sum(axis=1, keepdims=True)
        base = np.divide(base, total, out=np.zeros_like(base), where=total > 0)
        rho = self.follow_probability
        return rho * q + (1.0 - rho * q.sum(axis=1, keepdims=True)) * base


def _as_ids(name: str, ids, upper: int) -> np.ndarray:
    if ids is None:
        return np.arange(upper)
    return as_ids(ids, name, upper)


def _exclusion_mask(exclude, users, num_users, num_items) -> np.ndarray:
    if sp.issparse(exclude):
        if exclude.shape != (num_users, num_items):
            raise ValueError(
                f"exclude must have shape {(num_users, num_items)}; got {exclude.shape}"
            )
        return np.asarray(sp.csr_matrix(exclude)[users].toarray() != 0)
    arr = np.asarray(exclude)
    if arr.shape == (len(users), num_items):
        return arr.astype(bool)
    if arr.shape == (num_users, num_items):
        return arr[users].astype(bool)
    raise ValueError(
        "exclude must be (num_users, num_items) or (len(user_ids), num_items); "
        f"got {arr.shape}"
    )
