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

The package is split by role:

* :mod:`.spec`: the vocabulary (categories, colours, ...), the sizes and the
  generating model's parameters;
* :mod:`.items`, :mod:`.text`, :mod:`.images`, :mod:`.users`, :mod:`.events`,
  :mod:`.complements`: the generators (catalogue; titles and descriptions; product
  images; users and tastes; exposures, funnel, ratings and timestamps; the planted
  complements of the sequential signal);
* :mod:`.truth`: :class:`Truth`, the hidden ground truth;
* :mod:`.container`: :class:`Marketplace` and :func:`describe_interactions`;
* :mod:`.generate`: :func:`make_marketplace`, which runs the generators from one seed.
"""

from .container import Marketplace, describe_interactions
from .generate import make_marketplace
from .spec import (
    ATTRIBUTE_VISIBILITY,
    CATEGORIES,
    COLOURS,
    COMPLEMENTS,
    FACTOR_NAMES,
    MATERIALS,
    PATTERNS,
    PRICE_BANDS,
    SIZES,
    STYLES,
)
from .truth import Truth

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
