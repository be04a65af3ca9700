"""The synthetic marketplace: the course's default data, with a known ground truth.

:func:`make_marketplace` generates it from a seed by a stated model, so chapters can
compare what a model learns from *observed* interactions with what is *true*. The
generating equations are documented in ``book/data.md``; the short version:

* items have attributes: ``category``, ``colour``, ``style`` (in text and image),
  ``material``, ``price_band``, ``brand`` (text only) and ``pattern`` (image only);
* each user has a taste vector over the one-hot attributes (a segment prototype
  plus an individual part); the true utility is
  ``u_ui = taste_u . attr_i + b_i + eps_ui`` where ``b_i`` is an item quality term
  (partly the brand's quality, visible only through the text);
* items are *exposed* with a Zipf-like popularity (plus browsing in the user's
  favourite categories), an exposed item is viewed, clicked, purchased with
  probabilities increasing in ``u_ui``; purchases carry a 1-5 rating from the
  utility plus a per-user leniency and noise;
* optionally (``make_marketplace(..., sequential=True)``) purchases follow each other:
  after a purchase, the next one is, with probability ``follow_probability``, a
  *complement* of it (same style, a complementary category) bought within a short
  time. Its truth is ``Truth.complement_probability`` and
  ``Truth.next_item_probability``. Off by default, so every other chapter's data
  stay byte-identical.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .evaluation import to_csr
from .metrics import gini_index

__all__ = [
    "Marketplace",
    "Truth",
    "make_marketplace",
    "describe_interactions",
    "SIZES",
    "CATEGORIES",
    "COLOURS",
    "STYLES",
    "PATTERNS",
    "MATERIALS",
    "PRICE_BANDS",
    "ATTRIBUTE_VISIBILITY",
    "FACTOR_NAMES",
    "COMPLEMENTS",
]
# ---------------------------------------------------------------------------
# Vocabulary of the marketplace
# ---------------------------------------------------------------------------

CATEGORIES = (
    "tops",
    "trousers",
    "shoes",
    "bags",
    "watches",
    "headphones",
    "books",
    "kitchenware",
)
COLOURS = ("red", "blue", "green", "black", "white", "yellow", "pink", "grey")
STYLES = ("sporty", "formal", "casual", "outdoor", "vintage")
PATTERNS = ("plain", "striped", "dotted")  # visible ONLY in the image
MATERIALS = (
    "cotton",
    "leather",
    "wool",
    "synthetic",
    "metal",
    "paper",
    "ceramic",
    "wood",
)  # visible ONLY in the text
PRICE_BANDS = ("budget", "mid", "premium")  # visible ONLY in the text (and the price)

#: Where each attribute can be seen by a model that reads the catalogue.
ATTRIBUTE_VISIBILITY = {
    "category": "text and image",
    "colour": "text and image",
    "style": "text",
    "pattern": "image only",
    "material": "text only",
    "price_band": "text only (and the price)",
    "brand": "text only",
}

_CATEGORY_SHARE = np.array([0.18, 0.12, 0.16, 0.10, 0.08, 0.08, 0.16, 0.12])
_CATEGORY_MATERIALS = {
    "tops": ("cotton", "wool", "synthetic"),
    "trousers": ("cotton", "wool", "synthetic", "leather"),
    "shoes": ("leather", "synthetic", "cotton"),
    "bags": ("leather", "synthetic", "cotton"),
    "watches": ("metal", "leather", "synthetic"),
    "headphones": ("synthetic", "metal", "leather"),
    "books": ("paper",),
    "kitchenware": ("metal", "ceramic", "wood"),
}
_CATEGORY_BASE_PRICE = np.array([25.0, 45.0, 70.0, 60.0, 120.0, 90.0, 15.0, 30.0])
_BAND_MULTIPLIER = np.array([0.55, 1.0, 2.2])
_BAND_SHARE = np.array([0.35, 0.45, 0.20])
_PATTERN_SHARE = np.array([0.5, 0.25, 0.25])
_BRANDS = (
    "Arlo",
    "Brisk",
    "Calder",
    "Dunmore",
    "Elka",
    "Fenwick",
    "Garnet",
    "Halden",
    "Ilse",
    "Jory",
    "Kestrel",
    "Lumen",
    "Marlow",
    "Norde",
    "Orla",
    "Pike",
    "Quill",
    "Rowan",
    "Sable",
    "Tamsin",
    "Umber",
    "Vale",
    "Wren",
    "Yarrow",
)
_SEGMENTS = ("athletic", "office", "outdoorsy", "retro", "relaxed", "thrifty")
# Favourite style of each segment (index into STYLES); "thrifty" has none but loves
# budget.
_SEGMENT_STYLE = (0, 1, 3, 4, 2, -1)

_COLOUR_RGB = np.array(
    [
        [200, 30, 40],
        [30, 70, 190],
        [40, 150, 60],
        [25, 25, 30],
        [245, 245, 240],
        [235, 200, 30],
        [235, 120, 170],
        [130, 130, 135],
    ],
    dtype=np.float32,
)

# Synonyms: a bag-of-words model sees "crimson" and "red" as unrelated words, a
# pretrained sentence encoder does not.
_COLOUR_WORDS = (
    ("red", "crimson", "scarlet", "cherry"),
    ("blue", "navy", "cobalt", "azure"),
    ("green", "olive", "emerald", "forest green"),
    ("black", "jet black", "ebony", "charcoal"),
    ("white", "ivory", "snow white", "cream"),
    ("yellow", "mustard", "lemon", "golden"),
    ("pink", "rose", "blush", "fuchsia"),
    ("grey", "gray", "slate", "ash"),
)
_STYLE_WORDS = (
    ("sporty", "athletic", "running", "training", "performance"),
    ("formal", "elegant", "dressy", "business", "smart"),
    ("casual", "everyday", "relaxed", "laid-back", "easy-going"),
    ("outdoor", "trail", "hiking", "rugged", "all-weather"),
    ("vintage", "retro", "classic", "old-school", "heritage"),
)
_STYLE_USE = (
    ("the gym", "running", "training sessions", "your workouts"),
    ("the office", "formal occasions", "business meetings", "evening events"),
    ("everyday wear", "weekends", "lazy Sundays", "daily life"),
    ("the trail", "hiking", "the great outdoors", "mountain walks"),
    ("a retro look", "lovers of classic design", "an old-school feel", "collectors"),
)
_CATEGORY_NOUNS = (
    ("top", "t-shirt", "shirt", "tee", "blouse"),
    ("trousers", "pants", "chinos", "slacks"),
    ("shoes", "sneakers", "trainers", "runners", "footwear"),
    ("bag", "backpack", "tote", "satchel", "holdall"),
    ("watch", "wristwatch", "timepiece", "chronograph"),
    ("headphones", "earphones", "headset", "cans"),
    ("book", "novel", "paperback", "hardback"),
    ("mug", "saucepan", "cookware", "kitchen set", "pot"),
)
_MATERIAL_WORDS = (
    ("cotton", "organic cotton", "soft cotton"),
    ("leather", "genuine leather", "full-grain leather"),
    ("wool", "merino", "knitted wool"),
    ("synthetic", "polyester", "nylon"),
    ("metal", "stainless steel", "aluminium"),
    ("paper", "recycled paper", "quality paper"),
    ("ceramic", "stoneware", "porcelain"),
    ("wood", "oak", "timber"),
)
_BAND_WORDS = (
    ("budget", "affordable", "great-value", "bargain"),
    ("mid-range", "reasonably priced", "fairly priced"),
    ("premium", "luxury", "high-end", "designer"),
)


@dataclass(frozen=True)
class _SizeSpec:
    num_users: int
    num_items: int
    mean_candidates: float  # mean number of exposed candidates per user


#: Named sizes: ``tiny`` for tests, ``classroom`` for chapters, ``large`` for
#: benchmarks.
SIZES = {
    "tiny": _SizeSpec(num_users=200, num_items=150, mean_candidates=60.0),
    "classroom": _SizeSpec(num_users=2500, num_items=1500, mean_candidates=130.0),
    "large": _SizeSpec(num_users=100_000, num_items=20_000, mean_candidates=80.0),
}

# Attribute blocks of the one-hot item vector, in this order.
_BLOCKS = (
    ("category", len(CATEGORIES)),
    ("colour", len(COLOURS)),
    ("style", len(STYLES)),
    ("pattern", len(PATTERNS)),
    ("material", len(MATERIALS)),
    ("price_band", len(PRICE_BANDS)),
)
# Scale of each user's taste block (how much each attribute matters).
_BLOCK_SCALE = {
    "category": 0.5,
    "colour": 0.85,
    "style": 1.0,
    "pattern": 0.7,
    "material": 0.6,
    "price_band": 0.6,
}
_OFFSETS = np.cumsum([0] + [n for _, n in _BLOCKS])
FACTOR_NAMES = tuple(
    f"{name}={v}"
    for (name, _), values in zip(
        _BLOCKS, (CATEGORIES, COLOURS, STYLES, PATTERNS, MATERIALS, PRICE_BANDS)
    )
    for v in values
) + ("item_quality",)

_T_START = 1_672_531_200  # 2023-01-01 00:00:00 UTC
_T_SPAN = 730 * 86_400  # two years
_COLD_SHARE = 0.07
_COLD_FRACTION_OF_SPAN = 0.8
_MIN_PURCHASES = 5
# Funnel of the generating model (see book/data.md): exposure ~ popularity^_ZIPF
# (a share _BROWSE of the draws browse a shelf -- category, style, colour -- the
# user likes), then
# P(view) = sigmoid(a (u - t)) for (a, t) = _VIEW,
# P(click | view) = sigmoid(_CLICK ...), P(purchase | click) = sigmoid(_BUY ...).
_ZIPF = 1.0
_TASTE_RANK = 4
_SHELF_TEMP = 1.5
_QUALITY_SD = (0.5, 0.6)  # item quality b_i = brand part + item part
_POP_NOISE = 0.3  # popularity rank follows b_i + N(0, _POP_NOISE^2)
_BROWSE = 0.5
_VIEW = (2.0, 0.5)
_CLICK = (2.0, 1.8)
_BUY = (2.0, 2.0)
_UTILITY_NOISE = 0.3
_RATING_NOISE = 0.25
_RATING_SHARES = np.array([0.06, 0.11, 0.27, 0.34, 0.22])  # like MovieLens-100K

#: The sequential signal (``make_marketplace(..., sequential=True)``): after a purchase
#: in a category, a planted complement is bought in one of these categories, each with
#: equal probability, in the same style as the purchase it follows.
COMPLEMENTS = {
    "tops": ("trousers", "shoes"),
    "trousers": ("tops", "shoes"),
    "shoes": ("trousers", "bags"),
    "bags": ("shoes", "watches"),
    "watches": ("bags", "headphones"),
    "headphones": ("watches", "books"),
    "books": ("headphones", "kitchenware"),
    "kitchenware": ("books", "bags"),
}
_FOLLOW = 0.5  # P(a purchase after the first is a complement of the one before)
_COMPLEMENT_TEMP = 1.5  # complement j chosen with P proportional to exp(1.5 r_uj)
_COMPLEMENT_DELAY = 86_400.0  # mean delay (s) of a complement after its trigger


# ---------------------------------------------------------------------------
# Ground truth
# ---------------------------------------------------------------------------


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

    def true_topk(self, user_ids, k: int, exclude=None) -> np.ndarray:
        """The ``k`` truly best items of each user, best first.

        Args:
            user_ids: user ids (int array-like).
            k: list length, ``1 <= k <= num_items``.
            exclude: optional items to leave out: a sparse or dense
                ``(num_users, num_items)`` matrix (non-zero = excluded, rows are
                indexed by ``user_ids``) or a boolean array of shape
                ``(len(user_ids), num_items)``.

        Returns:
            int64 array ``(len(user_ids), k)`` of item ids sorted by decreasing
            true relevance (ties broken by item id).
        """
        users = _as_ids("user_ids", user_ids, self.num_users)
        if not isinstance(k, (int, np.integer)) or not 1 <= k <= self.num_items:
            raise ValueError(
                f"k must be an integer in [1, {self.num_items}]; got {k!r}"
            )
        rel = self.relevance(users)
        if exclude is not None:
            mask = _exclusion_mask(exclude, users, self.num_users, self.num_items)
            rel = np.where(mask, -np.inf, rel)
        order = np.argsort(-rel, axis=1, kind="stable")
        return order[:, :k].astype(np.int64)

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
    from .validation import as_ids  # the package's one id check

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


# ---------------------------------------------------------------------------
# The marketplace
# ---------------------------------------------------------------------------


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


def _rng_choice_cdf(rng, cdf: np.ndarray, n: int) -> np.ndarray:
    """Inverse-CDF sampling of ``n`` indices (with replacement)."""
    return np.minimum(
        np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1
    )


def make_marketplace(
    seed: int = 0, size: str = "classroom", *, sequential: bool = False, **overrides
) -> Marketplace:
    """Generate the synthetic marketplace.

    Args:
        seed: seed of ``np.random.default_rng``; the same seed gives byte-identical
            frames and images.
        size: ``"tiny"`` (200 users, 150 items, for tests), ``"classroom"``
            (2,500 users, 1,500 items, about 157,000 interactions of which about
            89,000 purchases) or ``"large"``
            (100,000 users, 20,000 items, ~5M interactions).
        sequential: plant the sequential signal (chapter 6). Each purchase after a
            shopper's first is, with probability ``rho = 0.5``, replaced by a
            *complement* of the purchase before it: an item in the same style, in a
            complementary category (:data:`COMPLEMENTS`), chosen with probability
            proportional to ``exp(1.5 r_uj)`` among the items the shopper has not
            bought, and bought shortly after (an exponential delay with a mean of
            one day, always before the replaced purchase's time). The truth gains
            :meth:`Truth.complement_probability`, :meth:`Truth.next_item_probability`
            and the planted events ``truth.complements``. ``False`` (the default)
            leaves the data byte-identical to a marketplace made without it.
        **overrides: ``num_users`` and/or ``num_items`` (ints >= 10) to override
            the size's numbers; ``mean_candidates`` (exposed items per user).

    Returns:
        a :class:`Marketplace`.
    """
    if not isinstance(sequential, (bool, np.bool_)):
        raise ValueError(f"sequential must be True or False; got {sequential!r}")
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}; got {size!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    unknown = set(overrides) - {"num_users", "num_items", "mean_candidates"}
    if unknown:
        raise ValueError(
            f"unknown keyword(s) {sorted(unknown)}; allowed: num_users, num_items, "
            "mean_candidates"
        )
    spec = dataclasses.replace(SIZES[size], **overrides)
    for name in ("num_users", "num_items"):
        v = getattr(spec, name)
        if not isinstance(v, (int, np.integer)) or v < 10:
            raise ValueError(f"{name} must be an integer >= 10; got {v!r}")
    if not spec.mean_candidates >= 2 * _MIN_PURCHASES:
        raise ValueError(
            f"mean_candidates must be >= {2 * _MIN_PURCHASES}; "
            f"got {spec.mean_candidates}"
        )
    size_name = size if not overrides else "custom"

    root = np.random.SeedSequence(int(seed))
    s_items, s_images, s_users, s_inter, s_text = root.spawn(5)
    items, item_codes, quality = _make_items(
        np.random.default_rng(s_items), spec.num_items
    )
    _add_text(items, item_codes, np.random.default_rng(s_text))
    images = _make_images(item_codes, np.random.default_rng(s_images))
    users, taste, leniency, activity = _make_users(
        np.random.default_rng(s_users), spec.num_users
    )

    num_factors = int(_OFFSETS[-1]) + 1
    item_factors = np.zeros((spec.num_items, num_factors))
    rows = np.arange(spec.num_items)
    for b, (name, _) in enumerate(_BLOCKS):
        item_factors[rows, _OFFSETS[b] + item_codes[name]] = 1.0
    item_factors[:, -1] = quality
    user_factors = np.concatenate([taste, np.ones((spec.num_users, 1))], axis=1)
    truth = Truth(user_factors, item_factors, FACTOR_NAMES, leniency)

    interactions, cold_items, cold_time, rating_cuts = _make_interactions(
        np.random.default_rng(s_inter), spec, item_codes, quality, truth, activity
    )  # also fills truth.item_popularity and truth.user_exposures
    if sequential:
        # a sixth stream: the five above are the same with or without it
        (s_seq,) = root.spawn(1)
        interactions = _plant_complements(
            np.random.default_rng(s_seq),
            interactions,
            item_codes,
            truth,
            cold_items,
            cold_time,
            rating_cuts,
        )  # also fills truth's sequential fields
    return Marketplace(
        items=items,
        images=images,
        users=users,
        interactions=interactions,
        truth=truth,
        cold_items=cold_items,
        cold_start_time=cold_time,
        seed=int(seed),
        size=size_name,
        sequential=bool(sequential),
    )


def _make_items(rng, num_items):
    cat = rng.choice(len(CATEGORIES), size=num_items, p=_CATEGORY_SHARE)
    colour = rng.integers(0, len(COLOURS), num_items)
    style = rng.integers(0, len(STYLES), num_items)
    pattern = rng.choice(len(PATTERNS), size=num_items, p=_PATTERN_SHARE)
    band = rng.choice(len(PRICE_BANDS), size=num_items, p=_BAND_SHARE)
    # material: uniform among the materials that make sense for the category
    material = np.empty(num_items, dtype=np.int64)
    u = rng.random(num_items)
    for c, name in enumerate(CATEGORIES):
        allowed = np.array([MATERIALS.index(m) for m in _CATEGORY_MATERIALS[name]])
        sel = cat == c
        material[sel] = allowed[(u[sel] * len(allowed)).astype(np.int64)]
    brand = rng.integers(0, len(_BRANDS), num_items)
    brand_quality = rng.normal(0.0, _QUALITY_SD[0], len(_BRANDS))
    quality = brand_quality[brand] + rng.normal(0.0, _QUALITY_SD[1], num_items)
    price = np.round(
        _CATEGORY_BASE_PRICE[cat]
        * _BAND_MULTIPLIER[band]
        * rng.lognormal(0.0, 0.2, num_items),
        2,
    )
    items = pd.DataFrame(
        {
            "item_id": np.arange(num_items, dtype=np.int64),
            "category": pd.Categorical.from_codes(cat, CATEGORIES),
            "colour": pd.Categorical.from_codes(colour, COLOURS),
            "style": pd.Categorical.from_codes(style, STYLES),
            "pattern": pd.Categorical.from_codes(pattern, PATTERNS),
            "material": pd.Categorical.from_codes(material, MATERIALS),
            "price_band": pd.Categorical.from_codes(band, PRICE_BANDS),
            "brand": np.asarray(_BRANDS, dtype=object)[brand],
            "price": price,
        }
    )
    codes = dict(
        category=cat,
        colour=colour,
        style=style,
        pattern=pattern,
        material=material,
        price_band=band,
        brand=brand,
    )
    return items, codes, quality


def _pick(rng, table, index):
    """Pick, for each row, a random synonym from ``table[index[row]]`` (vectorised)."""
    counts = np.array([len(t) for t in table])
    flat = np.array([w for t in table for w in t], dtype=object)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    j = (rng.random(len(index)) * counts[index]).astype(np.int64)
    return flat[starts[index] + j]


def _cap(words: np.ndarray) -> np.ndarray:
    s = pd.Series(words, dtype=object)
    return (s.str[:1].str.upper() + s.str[1:]).to_numpy(dtype=object)


def _article(words: np.ndarray) -> np.ndarray:
    first = pd.Series(words, dtype=object).str[:1].str.lower().to_numpy(dtype=object)
    return np.where(np.isin(first, list("aeiou")), "An", "A").astype(object)


def _add_text(items, codes, rng):
    n = len(items)
    colour = _pick(rng, _COLOUR_WORDS, codes["colour"])
    style = _pick(rng, _STYLE_WORDS, codes["style"])
    noun = _pick(rng, _CATEGORY_NOUNS, codes["category"])
    use = _pick(rng, _STYLE_USE, codes["style"])
    material = _pick(rng, _MATERIAL_WORDS, codes["material"])
    band = _pick(rng, _BAND_WORDS, codes["price_band"])
    brand = np.asarray(_BRANDS, dtype=object)[codes["brand"]]
    colour2 = _pick(rng, _COLOUR_WORDS, codes["colour"])
    titles = np.stack(
        [
            _cap(colour + " " + style + " " + noun),  # "Crimson trail runners"
            brand + " " + style + " " + noun + " in " + colour,
            _cap(style + " " + colour + " " + noun),
            brand + " " + colour + " " + noun + " for " + use,
        ]
    )
    t = rng.integers(0, titles.shape[0], n)
    title = titles[t, np.arange(n)]
    descriptions = np.stack(
        [
            _cap(
                band
                + " "
                + colour2
                + " "
                + noun
                + " made of "
                + material
                + ", ideal for "
                + use
            )
            + ". By "
            + brand
            + ".",
            _article(band)
            + " "
            + band
            + " "
            + material
            + " "
            + noun
            + " from "
            + brand
            + " in "
            + colour2
            + ", made for "
            + use
            + ".",
            brand
            + " presents "
            + np.char.lower(_article(colour2).astype(str)).astype(object)
            + " "
            + colour2
            + " "
            + noun
            + " for "
            + use
            + ": "
            + material
            + ", "
            + band
            + ".",
        ]
    )
    d = rng.integers(0, descriptions.shape[0], n)
    items["title"] = pd.array(title, dtype=object)
    items["description"] = pd.array(descriptions[d, np.arange(n)], dtype=object)


# --- images -----------------------------------------------------------------

_IMG = 32
_SHIFTS = np.arange(-2, 3)


def _category_masks() -> np.ndarray:
    """Boolean silhouettes ``(num_categories, 32, 32)`` drawn by coordinate geometry."""
    y, x = np.mgrid[0:_IMG, 0:_IMG].astype(np.float32)
    m = np.zeros((len(CATEGORIES), _IMG, _IMG), dtype=bool)
    # tops: body + sleeves (a T)
    m[0] = ((x >= 10) & (x <= 21) & (y >= 8) & (y <= 27)) | (
        (y >= 8) & (y <= 14) & (x >= 3) & (x <= 28)
    )
    # trousers: waistband + two legs
    m[1] = ((y >= 4) & (y <= 9) & (x >= 9) & (x <= 22)) | (
        (y > 9) & (y <= 29) & (((x >= 9) & (x <= 14)) | ((x >= 17) & (x <= 22)))
    )
    # shoes: sole + upper with a rounded toe
    m[2] = (
        ((y >= 20) & (y <= 24) & (x >= 3) & (x <= 28))
        | ((y >= 12) & (y < 20) & (x >= 3) & (x <= 13))
        | (((x - 14) ** 2 / 140 + (y - 20) ** 2 / 40) <= 1) & (y < 20) & (x >= 13)
    )
    # bags: body + handle ring
    ring = np.hypot(x - 15.5, y - 11)
    m[3] = ((y >= 12) & (y <= 27) & (x >= 6) & (x <= 25)) | (
        (ring >= 5) & (ring <= 7) & (y < 12)
    )
    # watches: round face + straps
    m[4] = (np.hypot(x - 15.5, y - 15.5) <= 7) | (
        (x >= 12) & (x <= 19) & ((y <= 9) | (y >= 22)) & (y >= 1) & (y <= 30)
    )
    # headphones: head band arc + two ear cups
    arc = np.hypot(x - 15.5, y - 17)
    m[5] = ((arc >= 10) & (arc <= 12.5) & (y <= 17)) | (
        (y >= 16) & (y <= 26) & (((x >= 2) & (x <= 8)) | ((x >= 23) & (x <= 29)))
    )
    # books: cover with a spine notch
    m[6] = ((x >= 8) & (x <= 24) & (y >= 4) & (y <= 28)) & ~((x == 11) & (y >= 4))
    # kitchenware: a mug with a handle
    handle = np.hypot(x - 22, y - 16)
    m[7] = ((x >= 6) & (x <= 20) & (y >= 8) & (y <= 27)) | (
        (handle >= 3) & (handle <= 5.5) & (x > 20)
    )
    return m


def _pattern_masks() -> np.ndarray:
    """Pattern darkening masks ``(num_patterns, 32, 32)`` in [0, 1]."""
    y, x = np.mgrid[0:_IMG, 0:_IMG]
    p = np.zeros((len(PATTERNS), _IMG, _IMG), dtype=np.float32)
    p[1] = ((y // 2) % 2 == 0).astype(np.float32)  # horizontal stripes
    p[2] = (np.hypot((x % 6) - 2.5, (y % 6) - 2.5) <= 1.3).astype(np.float32)  # dots
    return p


def _make_images(codes, rng, chunk: int = 4096) -> np.ndarray:
    n = len(codes["category"])
    cat_masks = _category_masks()
    ns = len(_SHIFTS)
    # all shifted silhouettes, precomputed once: (num_categories * ns * ns, 32, 32)
    shifted = (
        np.stack(
            [
                np.roll(cat_masks, (dy, dx), axis=(1, 2))
                for dy in _SHIFTS
                for dx in _SHIFTS
            ],
            axis=1,
        )
        .reshape(-1, _IMG, _IMG)
        .astype(np.float32)
    )
    pat = _pattern_masks()
    shift = rng.integers(0, ns * ns, n)
    shade = rng.uniform(0.85, 1.1, (n, 1, 1, 1)).astype(np.float32)
    bg = rng.uniform(225, 250, (n, 1, 1, 1)).astype(np.float32)
    out = np.empty((n, _IMG, _IMG, 3), dtype=np.uint8)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        mask = shifted[codes["category"][s:e] * ns * ns + shift[s:e]][
            ..., None
        ]  # (b,32,32,1)
        darken = 1.0 - 0.55 * pat[codes["pattern"][s:e]][..., None]
        rgb = _COLOUR_RGB[codes["colour"][s:e]][:, None, None, :] * shade[s:e]
        # light colours get darker patterns so stripes/dots stay visible on white items
        fg = rgb * darken + (1 - darken) * 0.0
        img = mask * fg + (1 - mask) * bg[s:e]
        img += rng.normal(0.0, 6.0, img.shape).astype(np.float32)
        out[s:e] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out


# --- users ------------------------------------------------------------------


def _make_users(rng, num_users):
    num_seg = len(_SEGMENTS)
    segment = rng.integers(0, num_seg, num_users)
    d = int(_OFFSETS[-1])
    proto = rng.normal(0.0, 1.0, (num_seg, d))
    for s, st in enumerate(_SEGMENT_STYLE):
        if st >= 0:
            proto[s, _OFFSETS[2] + st] += 1.8
    thrifty = _SEGMENTS.index("thrifty")
    proto[thrifty, _OFFSETS[5] : _OFFSETS[6]] += np.array([1.8, 0.0, -1.5])
    # individual part: low rank (_TASTE_RANK directions shared by everyone), so the
    # whole taste matrix has rank <= num_segments + _TASTE_RANK: what MF assumes.
    mix = rng.normal(0.0, 1.0, (_TASTE_RANK, d)) / np.sqrt(_TASTE_RANK)
    z = rng.normal(0.0, 1.0, (num_users, _TASTE_RANK))
    taste = 0.75 * proto[segment] + 0.9 * (z @ mix)
    for b, (name, _) in enumerate(_BLOCKS):
        taste[:, _OFFSETS[b] : _OFFSETS[b + 1]] *= _BLOCK_SCALE[name]
    leniency = rng.normal(0.0, 0.35, num_users)
    activity = rng.lognormal(0.0, 0.6, num_users)
    q = np.quantile(activity, [1 / 3, 2 / 3])
    level = np.digitize(activity, q)
    users = pd.DataFrame(
        {
            "user_id": np.arange(num_users, dtype=np.int64),
            "segment": pd.Categorical.from_codes(segment, _SEGMENTS),
            "activity": pd.Categorical.from_codes(level, ("low", "medium", "high")),
        }
    )
    return users, taste, leniency, activity


# --- interactions -------------------------------------------------------------

_EVENTS = ("view", "click", "purchase")


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _sample_blocks(rng, logits: np.ndarray) -> np.ndarray:
    """One categorical draw per row with probabilities softmax(_SHELF_TEMP * logits)."""
    w = np.exp(_SHELF_TEMP * (logits - logits.max(axis=1, keepdims=True)))
    wc = np.cumsum(w, axis=1)
    return (wc < rng.random(len(w))[:, None] * wc[:, -1:]).sum(axis=1)


def _make_interactions(rng, spec, codes, quality, truth, activity, block: int = 20_000):
    num_users, num_items = spec.num_users, spec.num_items
    # Zipf-like exposure: popularity rank follows item quality loosely.
    order = np.argsort(
        -(quality + rng.normal(0.0, _POP_NOISE, num_items)), kind="stable"
    )
    rank = np.empty(num_items, dtype=np.int64)
    rank[order] = np.arange(num_items)
    pop = (rank + 1.0) ** -_ZIPF
    pop /= pop.sum()
    truth.item_popularity = pop
    pop_cdf = np.cumsum(pop)
    # Browsing: the user picks a (category, style, colour) "shelf" from their taste
    # and an item on that shelf by popularity. Items sorted by shelf, with the
    # cumulative popularity mass of each shelf, give inverse-CDF sampling per shelf.
    n_style, n_colour = len(STYLES), len(COLOURS)
    shelf = (codes["category"] * n_style + codes["style"]) * n_colour + codes["colour"]
    num_shelves = len(CATEGORIES) * n_style * n_colour
    by_shelf = np.argsort(shelf, kind="stable")
    shelf_cdf = np.cumsum(pop[by_shelf])
    shelf_start = np.searchsorted(shelf[by_shelf], np.arange(num_shelves), side="left")
    shelf_end = np.searchsorted(shelf[by_shelf], np.arange(num_shelves), side="right")
    cdf_before = np.concatenate([[0.0], shelf_cdf])
    lo_mass, hi_mass = cdf_before[shelf_start], cdf_before[shelf_end]

    taste = truth.user_factors[:, :-1]
    attr_cols = np.stack(
        [_OFFSETS[b] + codes[name] for b, (name, _) in enumerate(_BLOCKS)], axis=1
    )

    n_cand = np.maximum(
        3 * _MIN_PURCHASES, np.rint(spec.mean_candidates * activity / np.mean(activity))
    ).astype(np.int64)

    truth.user_exposures = n_cand
    parts = []
    for s in range(0, num_users, block):
        e = min(num_users, s + block)
        nc = n_cand[s:e]
        u = np.repeat(np.arange(s, e), nc)
        m = len(u)
        # exposure: a share 1 - _BROWSE from global popularity, _BROWSE from browsing a
        # shelf (category, style, colour) the user likes
        browse = rng.random(m) < _BROWSE
        items = _rng_choice_cdf(rng, pop_cdf, m)
        nb = int(browse.sum())
        if nb:
            ub = u[browse]
            c = _sample_blocks(rng, taste[ub, _OFFSETS[0] : _OFFSETS[1]])
            st = _sample_blocks(rng, taste[ub, _OFFSETS[2] : _OFFSETS[3]])
            co = _sample_blocks(rng, taste[ub, _OFFSETS[1] : _OFFSETS[2]])
            sh = (c * n_style + st) * n_colour + co
            ok = (
                shelf_end[sh] > shelf_start[sh]
            )  # empty shelf: keep the popularity draw
            sh = sh[ok]
            r = lo_mass[sh] + rng.random(len(sh)) * (hi_mass[sh] - lo_mass[sh])
            pos = np.clip(
                np.searchsorted(shelf_cdf, r, side="right"),
                shelf_start[sh],
                shelf_end[sh] - 1,
            )
            idx = np.flatnonzero(browse)[ok]
            items[idx] = by_shelf[pos]
        # de-duplicate (user, item) pairs, keeping the first exposure
        key = u.astype(np.int64) * num_items + items
        _, first = np.unique(key, return_index=True)
        first.sort()
        u, items = u[first], items[first]
        m = len(u)
        # utility u_ui = taste_u . attr_i + b_i + eps  (attr one-hot: a sum of gathers)
        util = taste[u[:, None], attr_cols[items]].sum(axis=1) + quality[items]
        util += rng.normal(0.0, _UTILITY_NOISE, m)
        viewed = rng.random(m) < _sigmoid(_VIEW[0] * (util - _VIEW[1]))
        click = viewed & (rng.random(m) < _sigmoid(_CLICK[0] * (util - _CLICK[1])))
        buy = click & (rng.random(m) < _sigmoid(_BUY[0] * (util - _BUY[1])))
        # every user buys at least _MIN_PURCHASES items: promote their best exposures
        nbuy = np.bincount(u - s, weights=buy, minlength=e - s)
        need = nbuy < _MIN_PURCHASES
        if need.any():
            sel = np.flatnonzero(need[u - s] & ~buy)
            # rank candidate exposures by utility within user (descending)
            o = sel[np.lexsort((-util[sel], u[sel]))]
            grp_start = np.searchsorted(u[o], u[o], side="left")
            within = np.arange(len(o)) - grp_start
            promote = o[within < (_MIN_PURCHASES - nbuy[u[o] - s])]
            buy[promote] = click[promote] = viewed[promote] = True
        keep = viewed
        ev = np.where(buy, 2, np.where(click, 1, 0))[keep].astype(np.int8)
        parts.append((u[keep], items[keep], ev, util[keep]))

    users = np.concatenate([p[0] for p in parts])
    items = np.concatenate([p[1] for p in parts])
    event = np.concatenate([p[2] for p in parts])
    util = np.concatenate([p[3] for p in parts])
    n = len(users)

    # ratings of purchases: utility + leniency + noise, cut at global quantiles
    is_buy = event == 2
    score = (
        util[is_buy]
        + truth.user_leniency[users[is_buy]]
        + rng.normal(0.0, _RATING_NOISE, int(is_buy.sum()))
    )
    cuts = np.quantile(score, np.cumsum(_RATING_SHARES)[:-1])
    rating = np.full(n, np.nan)
    rating[is_buy] = 1.0 + np.searchsorted(cuts, score, side="right")

    # timestamps: each user is active in a window of the two years
    start = rng.uniform(0, 0.85, num_users) * _T_SPAN
    length = rng.uniform(0.1, 1.0, num_users) * (_T_SPAN - start)
    t = start[users] + rng.random(n) * length[users]
    # cold-start items: none of their interactions before the cut-off
    cold_time = _T_START + int(_COLD_FRACTION_OF_SPAN * _T_SPAN)
    num_cold = max(1, int(round(_COLD_SHARE * num_items)))
    cold_items = np.sort(rng.choice(num_items, num_cold, replace=False)).astype(
        np.int64
    )
    is_cold = np.zeros(num_items, dtype=bool)
    is_cold[cold_items] = True
    cut = cold_time - _T_START
    early = is_cold[items] & (t < cut)
    # items released at the cut-off: early events move to after it (same relative place)
    t[early] = cut + t[early] / cut * (_T_SPAN - cut)
    ts = _T_START + np.floor(t).astype(np.int64)
    o = np.lexsort((ts, users))
    users, items, event, rating, ts = users[o], items[o], event[o], rating[o], ts[o]
    # strictly increasing per user: t'_j = j + cummax(t_j - j) within each user
    j = np.arange(n) - np.searchsorted(users, users, side="left")
    big = np.int64(4 * _T_SPAN + 10 * n)
    ts = np.maximum.accumulate(users * big + ts - j) - users * big + j

    df = pd.DataFrame(
        {
            "user_id": users.astype(np.int64),
            "item_id": items.astype(np.int64),
            "timestamp": ts.astype(np.int64),
            "event": pd.Categorical.from_codes(event, _EVENTS),
            "rating": rating,
        }
    )
    return df, cold_items, int(cold_time), cuts


# --- the sequential signal ------------------------------------------------------


def _strictly_increasing(users: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Timestamps made strictly increasing within each user (rows sorted by user, time).

    ``t'_j = j + cummax(t_j - j)`` within a user: ties and equal times move forward by
    the fewest seconds that keep the order.
    """
    n = len(users)
    j = np.arange(n) - np.searchsorted(users, users, side="left")
    big = np.int64(4 * _T_SPAN + 10 * n)  # larger than any within-user difference
    shifted = users * big + (ts - _T_START) - j
    return np.maximum.accumulate(shifted) - users * big + j + _T_START


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Whether each of ``keys`` is in the sorted array ``sorted_keys``."""
    if not len(sorted_keys):
        return np.zeros(keys.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def _plant_complements(rng, df, codes, truth, cold_items, cold_time, rating_cuts):
    """Replace purchases by complements of the purchase before (see make_marketplace).

    Walks every shopper's purchases in time order, all shoppers at once, one position
    at a time. At position t >= 1, with probability _FOLLOW the purchase becomes a
    complement of the (possibly replaced) purchase at t - 1: a category drawn from
    COMPLEMENTS, then an item of that category in the same style, by the Gumbel-max
    trick on _COMPLEMENT_TEMP * r_uj over the items the shopper may still buy: not
    one of their purchases so far, nor one of the purchases planned at later
    positions (a replaced purchase is no longer planned), nor, before the cold-start
    time, a cold item. A shelf with no such item plants nothing. The replaced
    purchase's row takes the complement's item, time and rating; a view or click of
    the complement is superseded by its purchase.
    """
    num_items = truth.num_items
    n_style = len(STYLES)
    category, style = codes["category"], codes["style"]
    cat_index = {name: c for c, name in enumerate(CATEGORIES)}
    comp = np.array([[cat_index[c] for c in COMPLEMENTS[name]] for name in CATEGORIES])
    matrix = np.zeros((len(CATEGORIES), len(CATEGORIES)))
    for c, targets in enumerate(comp):
        matrix[c, targets] += 1.0 / len(targets)
    # shelves (category, style) as padded item lists: (num_shelves, max_shelf_size)
    shelf_of = category * n_style + style
    num_shelves = len(CATEGORIES) * n_style
    members = [np.flatnonzero(shelf_of == s) for s in range(num_shelves)]
    width = max(1, max(len(m) for m in members))
    shelf_items = np.full((num_shelves, width), -1, dtype=np.int64)
    for s, m in enumerate(members):
        shelf_items[s, : len(m)] = m
    is_cold = np.zeros(num_items, dtype=bool)
    is_cold[cold_items] = True

    buy = np.flatnonzero((df["event"] == "purchase").to_numpy())  # sorted by user, time
    users = df["user_id"].to_numpy()[buy]
    items = df["item_id"].to_numpy()[buy].copy()
    times = df["timestamp"].to_numpy()[buy].copy()
    original_times = times.copy()
    position = np.arange(len(buy)) - np.searchsorted(users, users, side="left")
    # what each shopper has bought or is going to buy is never drawn as a complement:
    # sorted keys user * num_items + item of the planned purchases, minus those
    # replaced so far (freed), plus the complements planted so far
    planned = np.sort(users * num_items + items)
    freed = np.zeros(0, dtype=np.int64)
    added = np.zeros(0, dtype=np.int64)
    planted = np.zeros(len(buy), dtype=bool)
    previous_item = np.full(len(buy), -1, dtype=np.int64)
    replaced_item = np.full(len(buy), -1, dtype=np.int64)
    taste = truth.user_factors
    factors = truth.item_factors
    by_position = np.argsort(position, kind="stable")  # rows of position 0, 1, ...
    bounds = np.searchsorted(position[by_position], np.arange(position.max() + 2))
    for t in range(1, len(bounds) - 1):
        rows = by_position[bounds[t] : bounds[t + 1]]
        follow = rows[rng.random(len(rows)) < _FOLLOW]
        if not len(follow):
            continue
        prev = items[follow - 1]
        choice = rng.integers(0, comp.shape[1], len(follow))
        shelf = comp[category[prev], choice] * n_style + style[prev]
        cand = shelf_items[shelf]  # (f, width), -1 = padding
        valid = cand >= 0
        safe = np.where(valid, cand, 0)
        u = users[follow]
        delay = np.maximum(1.0, rng.exponential(_COMPLEMENT_DELAY, len(follow)))
        gap = original_times[follow] - times[follow - 1]
        new_time = times[follow - 1] + np.minimum(
            np.floor(delay).astype(np.int64), np.maximum(1, gap // 2)
        )
        keys = u[:, None] * num_items + safe
        owned = (_contains(planned, keys) & ~_contains(freed, keys)) | _contains(
            added, keys
        )
        valid &= ~owned
        valid &= ~(is_cold[safe] & (new_time[:, None] < cold_time))
        rel = np.einsum("fd,fwd->fw", taste[u], factors[safe])  # r_uj on the shelf
        gumbel = rng.gumbel(size=cand.shape)
        logit = np.where(valid, _COMPLEMENT_TEMP * rel + gumbel, -np.inf)
        ok = valid.any(axis=1)
        pick = cand[np.arange(len(follow)), np.argmax(logit, axis=1)]
        follow, prev, pick, new_time, u = (
            follow[ok],
            prev[ok],
            pick[ok],
            new_time[ok],
            u[ok],
        )
        replaced_item[follow] = items[follow]
        items[follow] = pick
        times[follow] = new_time
        planted[follow] = True
        previous_item[follow] = prev
        freed = np.sort(np.concatenate([freed, u * num_items + replaced_item[follow]]))
        added = np.sort(np.concatenate([added, u * num_items + pick]))

    # ratings of the planted purchases: utility + leniency + noise, the same cuts
    pu, pi = users[planted], items[planted]
    util = (taste[pu] * factors[pi]).sum(axis=1) + rng.normal(
        0.0, _UTILITY_NOISE, len(pu)
    )
    score = util + truth.user_leniency[pu] + rng.normal(0.0, _RATING_NOISE, len(pu))
    planted_rating = 1.0 + np.searchsorted(rating_cuts, score, side="right")

    out = df.copy()
    rows = buy[planted]
    out.loc[rows, "item_id"] = items[planted]
    out.loc[rows, "timestamp"] = times[planted]
    out.loc[rows, "rating"] = planted_rating
    # a view or click of a planted complement is superseded by its purchase
    planted_keys = pu * num_items + pi
    all_keys = out["user_id"].to_numpy() * num_items + out["item_id"].to_numpy()
    superseded = (
        np.isin(all_keys, planted_keys) & (out["event"] != "purchase").to_numpy()
    )
    out = out[~superseded]
    out = out.sort_values(["user_id", "timestamp"], kind="stable").reset_index(
        drop=True
    )
    out["timestamp"] = _strictly_increasing(
        out["user_id"].to_numpy(), out["timestamp"].to_numpy()
    ).astype(np.int64)

    planted_frame = pd.DataFrame(
        {
            "user_id": pu.astype(np.int64),
            "item_id": pi.astype(np.int64),
            "previous_item_id": previous_item[planted],
            "replaced_item_id": replaced_item[planted],
        }
    ).merge(out[["user_id", "item_id", "timestamp"]], on=["user_id", "item_id"])
    truth.follow_probability = _FOLLOW
    truth.complement_temperature = _COMPLEMENT_TEMP
    truth.complement_matrix = matrix
    truth.complements = planted_frame
    return out
