"""Checking a recommendation's reason against the truth (chapter 8), framework-neutral.

A reason is one sentence of a small grammar whose words name reasons
(:data:`recsys_utils.marketplace.reasons.REASON_NAMES`)::

    reason     := "because" body "."
    body       := taste [ "and" complement ] | complement | fallback
    taste      := "you" "like" values
    values     := VALUE | VALUE { "," VALUE } "and" VALUE
    complement := "it" "goes" "with" "your" CATEGORY
    fallback   := "shoppers" "like" "you" "bought" "it"

``VALUE`` is a word of an attribute value (``red``, ``sporty``, ``striped``,
``leather``, ``budget``, ``bags``, ...; the price band ``mid`` is written
``mid-range``); ``CATEGORY`` a category. For example ``"because you like red , sporty
and leather and it goes with your shoes ."`` claims ``colour=red``, ``style=sporty``,
``material=leather`` and ``complement=shoes``; the fallback claims nothing.

The checker:

* :func:`claims`: the claims of a sentence, read word by word whether or not the
  sentence is grammatical (a value word is a claim; a category after ``your`` is a
  complement claim);
* :func:`is_fluent`: the sentence parses under the grammar and claims no value twice;
* :func:`reason_metrics` over many pairs: **faithfulness** (true claims / claims),
  **coverage** (true reasons claimed / true reasons), **hallucination rate** (claims
  outside the pair's facts / claims); totals over all pairs (micro averages), so a
  pair counts in proportion to its claims;
* :func:`evaluate_reasons`: all of them and the **fluency** (share of fluent
  sentences) of a list of sentences.

:func:`render` writes the grammar's sentence of a set of reasons (the training target
of chapter 8's decoder), and :data:`VOCAB`, :func:`encode`, :func:`decode` turn
sentences into token ids and back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .marketplace.reasons import ATTRIBUTE_BLOCKS, REASON_NAMES
from .marketplace.spec import (
    CATEGORIES,
    COLOURS,
    MATERIALS,
    PATTERNS,
    PRICE_BANDS,
    STYLES,
)
from .validation import check_int

__all__ = [
    "FUNCTION_WORDS",
    "VALUE_WORDS",
    "VOCAB",
    "PAD",
    "BOS",
    "FALLBACK",
    "word_of",
    "render",
    "tokenize",
    "parse",
    "is_fluent",
    "claims",
    "claim_matrix",
    "reason_metrics",
    "evaluate_reasons",
    "encode",
    "decode",
    "attribute_tokens",
]

_BLOCK_VALUES = (CATEGORIES, COLOURS, STYLES, PATTERNS, MATERIALS, PRICE_BANDS)
_WORD_OF_VALUE = {"mid": "mid-range"}  # "you like mid" would not read
#: The words of the attribute values, block by block (the order of REASON_NAMES).
VALUE_WORDS = tuple(
    _WORD_OF_VALUE.get(v, v) for values in _BLOCK_VALUES for v in values
)
#: The grammar's other words.
FUNCTION_WORDS = (
    "because",
    "you",
    "like",
    "and",
    ",",
    "it",
    "goes",
    "with",
    "your",
    "shoppers",
    "bought",
    ".",
)
PAD, BOS = "<pad>", "<bos>"
#: Every token of the grammar: padding (id 0), the start token (id 1), the function
#: words, the value words.
VOCAB = (PAD, BOS) + FUNCTION_WORDS + VALUE_WORDS
_ID = {w: i for i, w in enumerate(VOCAB)}
#: The sentence that claims nothing.
FALLBACK = "because shoppers like you bought it ."

_REASON_OF_WORD = {w: REASON_NAMES[k] for k, w in enumerate(VALUE_WORDS)}
_CATEGORY_WORDS = set(CATEGORIES)
_NUM_ATTRIBUTE = len(VALUE_WORDS)
_INDEX = {name: k for k, name in enumerate(REASON_NAMES)}


def word_of(reason: str) -> str:
    """The grammar's word of a reason: ``"colour=red"`` -> ``"red"``,
    ``"price_band=mid"`` -> ``"mid-range"``, ``"complement=shoes"`` -> ``"shoes"``.

    Raises:
        ValueError: not a name of ``REASON_NAMES``.
    """
    if reason not in _INDEX:
        raise ValueError(
            f"unknown reason {reason!r}; expected a name of REASON_NAMES such as "
            "'colour=red' or 'complement=shoes'"
        )
    value = reason.split("=", 1)[1]
    return _WORD_OF_VALUE.get(value, value)


def render(reasons: Iterable[str]) -> str:
    """The grammar's sentence of a set of reasons, values in the order of
    ``REASON_NAMES``; the fallback sentence for no reason.

    Args:
        reasons: reason names (``"colour=red"``, ``"complement=shoes"``, ...).

    Returns:
        One sentence, tokens separated by single spaces.

    Raises:
        ValueError: an unknown name, or more than one complement (the grammar holds
            one complement clause).
    """
    if isinstance(reasons, str):
        raise ValueError("reasons must be a collection of names, not one string")
    names = sorted(set(reasons), key=lambda r: _INDEX[r] if r in _INDEX else -1)
    words = [word_of(r) for r in names]  # checks every name
    values = [w for r, w in zip(names, words) if not r.startswith("complement=")]
    complements = [w for r, w in zip(names, words) if r.startswith("complement=")]
    if len(complements) > 1:
        raise ValueError(
            f"the grammar holds one complement clause; got {len(complements)}: "
            f"{complements}"
        )
    if not values and not complements:
        return FALLBACK
    parts = []
    if values:
        listed = values[0] if len(values) == 1 else " , ".join(values[:-1])
        if len(values) > 1:
            listed += " and " + values[-1]
        parts.append("you like " + listed)
    if complements:
        parts.append("it goes with your " + complements[0])
    return "because " + " and ".join(parts) + " ."


def tokenize(text: str) -> list[str]:
    """Lower-case words; ``,`` and ``.`` are tokens of their own.

    Raises:
        ValueError: ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise ValueError(f"text must be a str; got {type(text).__name__}")
    return text.lower().replace(",", " , ").replace(".", " . ").split()


def _parse_values(tokens, i):
    """VALUE | VALUE {"," VALUE} "and" VALUE, from position i: (claims, next i)."""
    out = []
    if i >= len(tokens) or tokens[i] not in _REASON_OF_WORD:
        return None, i
    out.append(_REASON_OF_WORD[tokens[i]])
    i += 1
    if i < len(tokens) and tokens[i] == ",":  # a list of three or more
        while i < len(tokens) and tokens[i] == ",":
            if i + 1 >= len(tokens) or tokens[i + 1] not in _REASON_OF_WORD:
                return None, i
            out.append(_REASON_OF_WORD[tokens[i + 1]])
            i += 2
        if i + 1 >= len(tokens) or tokens[i] != "and":
            return None, i
        if tokens[i + 1] not in _REASON_OF_WORD:
            return None, i
        out.append(_REASON_OF_WORD[tokens[i + 1]])
        i += 2
    elif (
        i + 1 < len(tokens) and tokens[i] == "and" and tokens[i + 1] in _REASON_OF_WORD
    ):
        out.append(_REASON_OF_WORD[tokens[i + 1]])
        i += 2
    return out, i


def parse(text: str | Sequence[str]) -> frozenset[str] | None:
    """The claims of a sentence that parses under the grammar, else ``None``.

    Args:
        text: a sentence, or its tokens.

    Returns:
        The frozenset of claimed reason names (empty for the fallback sentence), or
        ``None`` when the sentence is not in the grammar or claims a value twice.
    """
    tokens = tokenize(text) if isinstance(text, str) else [str(t) for t in text]
    if len(tokens) < 3 or tokens[0] != "because" or tokens[-1] != ".":
        return None
    body = tokens[1:-1]
    if body == ["shoppers", "like", "you", "bought", "it"]:
        return frozenset()
    found: list[str] = []
    i = 0
    if body[:2] == ["you", "like"]:
        values, i = _parse_values(body, 2)
        if values is None:
            return None
        found += values
        if i == len(body):
            return _unique(found)
        if body[i] != "and":
            return None
        i += 1
    if body[i : i + 4] == ["it", "goes", "with", "your"] and len(body) == i + 5:
        if body[i + 4] in _CATEGORY_WORDS:
            return _unique(found + [f"complement={body[i + 4]}"])
    return None


def _unique(found: list[str]) -> frozenset[str] | None:
    return frozenset(found) if len(set(found)) == len(found) else None


def is_fluent(text: str | Sequence[str]) -> bool:
    """Whether the sentence parses under the grammar and claims no value twice."""
    return parse(text) is not None


def claims(text: str | Sequence[str]) -> frozenset[str]:
    """Every claim of a sentence, grammatical or not.

    A value word is an attribute claim (``red`` -> ``colour=red``); a category word
    right after ``your`` is a complement claim (``your shoes`` ->
    ``complement=shoes``). Other words claim nothing.

    Args:
        text: a sentence, or its tokens.

    Returns:
        The frozenset of claimed reason names.
    """
    tokens = tokenize(text) if isinstance(text, str) else [str(t) for t in text]
    found = set()
    for i, tok in enumerate(tokens):
        if tok not in _REASON_OF_WORD:
            continue
        if tok in _CATEGORY_WORDS and i > 0 and tokens[i - 1] == "your":
            found.add(f"complement={tok}")
        else:
            found.add(_REASON_OF_WORD[tok])
    return frozenset(found)


def claim_matrix(texts: Sequence[str]) -> np.ndarray:
    """The claims of many sentences as a bool matrix ``(n, len(REASON_NAMES))``.

    Raises:
        ValueError: ``texts`` is a single string, or holds something else than
            strings or token lists.
    """
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of sentences, not one string")
    out = np.zeros((len(texts), len(REASON_NAMES)), dtype=bool)
    for row, text in enumerate(texts):
        for name in claims(text):
            out[row, _INDEX[name]] = True
    return out


def _bool_matrix(x, name: str, shape=None) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.shape[1] != len(REASON_NAMES):
        raise ValueError(
            f"{name} must be a bool matrix (n, {len(REASON_NAMES)}), one column per "
            f"reason name; got shape {arr.shape}"
        )
    if shape is not None and arr.shape != shape:
        raise ValueError(
            f"{name} must have the shape of claims {shape}; got {arr.shape}"
        )
    if arr.dtype != bool and not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must hold booleans (or 0/1)")
    return arr.astype(bool)


def reason_metrics(claimed, truth, facts) -> dict[str, float]:
    """Faithfulness, coverage and hallucination rate of claims against the truth.

    Args:
        claimed: bool ``(n, R)``: the claims of each pair's reason.
        truth: bool ``(n, R)``: the pair's true reasons
            (:func:`~recsys_utils.marketplace.reasons.true_reasons`).
        facts: bool ``(n, R)``: what is true of the pair
            (:func:`~recsys_utils.marketplace.reasons.known_facts`).

    Returns:
        ``{"faithfulness", "coverage", "hallucination", "claims per reason"}``:
        true claims / claims, true reasons claimed / true reasons, claims outside the
        facts / claims (each NaN when its denominator is 0), and the mean number of
        claims per pair.

    Raises:
        ValueError: matrices of different shapes or widths.
    """
    c = _bool_matrix(claimed, "claimed")
    t = _bool_matrix(truth, "truth", c.shape)
    f = _bool_matrix(facts, "facts", c.shape)
    num_claims, num_true = int(c.sum()), int(t.sum())
    hit = int((c & t).sum())
    nan = float("nan")
    return {
        "faithfulness": hit / num_claims if num_claims else nan,
        "coverage": hit / num_true if num_true else nan,
        "hallucination": int((c & ~f).sum()) / num_claims if num_claims else nan,
        "claims per reason": num_claims / len(c) if len(c) else nan,
    }


def evaluate_reasons(texts: Sequence[str], truth, facts) -> dict[str, float]:
    """:func:`reason_metrics` of the sentences' claims, and their fluency.

    Args:
        texts: one sentence per pair.
        truth: bool ``(len(texts), R)`` true reasons.
        facts: bool ``(len(texts), R)`` facts.

    Returns:
        ``{"faithfulness", "coverage", "hallucination", "fluency", "claims per
        reason"}``; fluency is the share of sentences that :func:`is_fluent`.
    """
    c = claim_matrix(texts)
    out = reason_metrics(c, truth, facts)
    fluent = [is_fluent(t) for t in texts]
    out["fluency"] = float(np.mean(fluent)) if len(fluent) else float("nan")
    return {
        k: out[k]
        for k in (
            "faithfulness",
            "coverage",
            "hallucination",
            "fluency",
            "claims per reason",
        )
    }


def encode(texts: Sequence[str], max_len: int) -> np.ndarray:
    """Sentences as token ids ``(n, max_len)``, padded on the right with 0.

    Raises:
        ValueError: a word outside :data:`VOCAB`, or a sentence longer than
            ``max_len`` (both named).
    """
    max_len = check_int(max_len, "max_len", low=1)
    if isinstance(texts, str):
        raise ValueError("texts must be a sequence of sentences, not one string")
    out = np.zeros((len(texts), max_len), dtype=np.int64)
    for row, text in enumerate(texts):
        tokens = tokenize(text)
        unknown = [t for t in tokens if t not in _ID]
        if unknown:
            raise ValueError(f"sentence {row} has words outside VOCAB: {unknown}")
        if len(tokens) > max_len:
            raise ValueError(
                f"sentence {row} has {len(tokens)} tokens; max_len is {max_len}"
            )
        out[row, : len(tokens)] = [_ID[t] for t in tokens]
    return out


def decode(ids) -> list[str]:
    """Token ids back to sentences: each row up to its first ``.`` (kept) or
    padding; the start token is skipped.

    Raises:
        ValueError: ids that are not integers in ``[0, len(VOCAB))``.
    """
    arr = np.asarray(ids)
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"ids must be a 2-D integer array; got {arr.dtype} {arr.shape}"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= len(VOCAB)):
        raise ValueError(
            f"ids must lie in [0, {len(VOCAB)}); got {arr.min()}..{arr.max()}"
        )
    out = []
    for row in arr:
        words = []
        for i in row:
            word = VOCAB[int(i)]
            if word == PAD:
                break
            if word == BOS:
                continue
            words.append(word)
            if word == ".":
                break
        out.append(" ".join(words))
    return out


def attribute_tokens(codes) -> np.ndarray:
    """The token ids of items' attribute values.

    Args:
        codes: int array ``(n, 6)`` of value indexes per attribute block
            (:func:`~recsys_utils.marketplace.reasons.attribute_codes`).

    Returns:
        int64 array ``(n, 6)`` of ids in :data:`VOCAB`.

    Raises:
        ValueError: not ``(n, 6)`` or a code out of its block's range.
    """
    arr = np.asarray(codes)
    if arr.ndim != 2 or arr.shape[1] != len(ATTRIBUTE_BLOCKS):
        raise ValueError(
            f"codes must be (n, {len(ATTRIBUTE_BLOCKS)}), one column per attribute "
            f"block; got shape {arr.shape}"
        )
    out = np.empty(arr.shape, dtype=np.int64)
    start = len(VOCAB) - _NUM_ATTRIBUTE
    offset = 0
    for b, values in enumerate(_BLOCK_VALUES):
        col = arr[:, b]
        if col.size and (col.min() < 0 or col.max() >= len(values)):
            raise ValueError(
                f"codes[:, {b}] ({ATTRIBUTE_BLOCKS[b]}) must lie in [0, {len(values)})"
            )
        out[:, b] = start + offset + col
        offset += len(values)
    return out
